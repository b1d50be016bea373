"""Hold the lock of a store until killed. Run by tests/test_store_files.py.

usage: lock_holder.py STORE
Prints "ready" once it holds the lock.
"""

from __future__ import annotations

import sys
import time

from elp_tui.store import Store


def main() -> None:
    with Store(sys.argv[1])._locked():
        print("ready", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main()
