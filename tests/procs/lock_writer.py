"""Invite COUNT users one commit at a time, retrying a commit the store refused.
tests/test_store_files.py runs several of these while another process removes the lock file.

usage: lock_writer.py STORE ACTOR TODAY NAME COUNT GO_FILE
Prints "ready" once the store opened, waits for GO_FILE, then prints one line per invitation
the portal reported saved.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store, StoreError


def main() -> None:
    store_path, actor, today, name, count, go = sys.argv[1:7]
    portal = Portal(Store(store_path), fixed_clock(today))
    portal.list_users(actor)
    print("ready", flush=True)
    while not Path(go).exists():  # nothing else on stdout until the test reads it all
        time.sleep(0.001)
    for n in range(int(count)):
        email = f"{name}-{n}@lumenfox.studio"
        while True:
            try:
                portal.invite(actor, email)
            except StoreError as exc:  # "Nothing was saved: try again": so it does
                print(f"refused {exc}", file=sys.stderr, flush=True)
                continue
            print(email, flush=True)
            break


if __name__ == "__main__":
    main()
