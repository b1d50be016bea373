"""Run one real `elp` command the moment GO_FILE appears, so several of them start together.
Run by tests/test_store_files.py as separate OS processes.

usage: at_once.py READY_FILE GO_FILE ELP_ARGS...
Imports the CLI, touches READY_FILE, waits for GO_FILE, runs the command; exits with its code.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from elp_tui.cli import main


def run() -> int:
    ready, go = Path(sys.argv[1]), Path(sys.argv[2])
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.001)
    return main(sys.argv[3:])


if __name__ == "__main__":
    sys.exit(run())
