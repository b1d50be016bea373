"""Write to the store as fast as possible, forever: generate, renew, invite.
tests/test_processes.py kills it with SIGKILL at random moments.

usage: writer.py STORE BANK ACTOR TODAY [COMPACT_BYTES]
With COMPACT_BYTES (e.g. 2000), a commit folds the journal into a new snapshot as soon as the
journal passes that size, so most commits compact (tests/test_journal.py kills it then).
Prints "ready" once it has opened the store and is about to write, then one line per commit
that returned (reported success): "license ID", "renew ID" or "user EMAIL".
"""

from __future__ import annotations

import itertools
import os
import sys

from elp_tui.portal import Portal, StaleQuote, fixed_clock
from elp_tui.store import open_store


def report(line: str) -> None:
    """One write per line, after the commit returned."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    store_path, bank, actor, today = sys.argv[1:5]
    if len(sys.argv) > 5:
        import elp_tui.store.db
        import elp_tui.store.journal

        elp_tui.store.journal.COMPACT_BYTES = elp_tui.store.db.COMPACT_BYTES = int(sys.argv[5])
    portal = Portal(open_store(store_path), fixed_clock(today))
    portal.list_banks(actor)  # the store opens and parses before the test starts its timer
    print("ready", flush=True)
    pid = os.getpid()
    last: str | None = None
    for n in itertools.count():
        try:
            if n % 5 == 4:
                email = f"artist-{pid}-{n}@lumenfox.studio"
                portal.invite(actor, email)
                report(f"user {email}")
            elif n % 3 == 2 and last is not None:
                renewed = portal.renew(actor, portal.quote_renew(actor, last, months=1))
                report(f"renew {last} {renewed['expires_on']}")
            else:
                quote = portal.quote_generate(actor, bank=bank, type="multiseat", months=1, quantity=2, start=today, email=actor)
                last = portal.generate(actor, quote)[0]["activation_id"]
                report(f"license {last}")
        except StaleQuote:
            pass  # another writer got there first; the next round quotes afresh


if __name__ == "__main__":
    main()
