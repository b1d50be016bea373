"""Generate licenses against one bank until `attempts` generates have either been created or
refused for lack of credits. Run by tests/test_processes.py as a separate OS process.

usage: generate_worker.py STORE BANK ACTOR TODAY ATTEMPTS GO_FILE
Prints one JSON line: {"created": [...activation ids], "refused": n, "stale": n}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from elp_tui.portal import Portal, RuleViolation, StaleQuote, fixed_clock
from elp_tui.store import open_store


def main() -> None:
    store_path, bank, actor, today, attempts, go_file = sys.argv[1:7]
    portal = Portal(open_store(store_path), fixed_clock(today))
    print("ready", flush=True)
    deadline = time.monotonic() + 20
    while not Path(go_file).exists():  # start together with the other workers
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.002)
    created: list[str] = []
    refused = stale = 0
    for _ in range(int(attempts)):
        for _retry in range(10_000):
            try:
                quote = portal.quote_generate(actor, bank=bank, type="node-lock", months=1, quantity=1, start=today, email=actor)
                created += [row["activation_id"] for row in portal.generate(actor, quote)]
                break
            except StaleQuote as exc:
                if exc.fresh is None and "short" in str(exc):
                    refused += 1
                    break
                stale += 1  # another process changed the bank: quote again
            except RuleViolation as exc:
                if "short" not in str(exc):
                    raise
                refused += 1
                break
        else:
            sys.exit("too many stale quotes")
    print(json.dumps({"created": created, "refused": refused, "stale": stale}), flush=True)


if __name__ == "__main__":
    main()
