"""A long-lived session taking its turn at committing, driven through its stdin by
tests/test_journal.py: two of them alternate on one store, each through one Store opened once.

usage: turns.py STORE ACTOR BANK TODAY
Prints "ready" once it has opened the store and read it. Then, for each JSON line on stdin
`{"expect_users": [...], "expect_licenses": [...], "do": "invite"|"generate", "email": "..."}`:
reads the users and licenses as this session sees them (no reopening), then commits the change,
and prints one JSON line: which of the expected users and licenses it saw before committing,
what it created, and `snap`, the identity of the snapshot this session has open (it changes only
if the session read a new snapshot instead of catching up through the journal).
"""

from __future__ import annotations

import json
import sys

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store


def main() -> None:
    store_path, actor, bank, today = sys.argv[1:5]
    store = Store(store_path)
    portal = Portal(store, fixed_clock(today))
    portal.list_users(actor)
    print("ready", flush=True)
    for line in sys.stdin:
        turn = json.loads(line)
        users = {u["email"] for u in portal.list_users(actor)}
        licenses = {lic["activation_id"] for lic in portal.list_licenses(actor)}
        seen = {
            "saw_users": [e for e in turn["expect_users"] if e in users],
            "saw_licenses": [a for a in turn["expect_licenses"] if a in licenses],
        }
        if turn["do"] == "invite":
            created = portal.invite(actor, turn["email"])["email"]
        else:
            quote = portal.quote_generate(actor, bank=bank, type="node-lock", months=1, quantity=1, start=today, email=actor)
            created = portal.generate(actor, quote)[0]["activation_id"]
        print(json.dumps({**seen, "created": created, "snap": id(store._snap)}), flush=True)


if __name__ == "__main__":
    main()
