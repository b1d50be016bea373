"""Commit to a PostgreSQL store, but stop after the commit's rows are written and before
PostgreSQL commits them: print "inside" there (the store's row lock held, the documents, change
log and generation written in the open transaction), then sleep until killed.
Run by tests/test_pg_store.py, which SIGKILLs it there.

usage: pg_lock_holder.py URL EMAIL
"""

from __future__ import annotations

import sys
import time

from elp_tui.store import open_store
from elp_tui.store.pg import PgStore


def main() -> None:
    url, email = sys.argv[1:3]
    write = PgStore._write

    def write_then_hold(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        write(self, *args, **kwargs)
        print("inside", flush=True)
        while True:
            time.sleep(1)

    PgStore._write = write_then_hold  # type: ignore[method-assign]
    store = open_store(url)
    with store.transaction() as db:
        db.insert("users", {"email": email, "organization": None, "role": "vendor", "status": "invited"})


if __name__ == "__main__":
    main()
