"""Run one real `elp` command that stops between its quote and its commit until told to go,
so two of them commit the same moment on quotes made from the same data. Run by
tests/test_live.py as a separate OS process.

usage: cli_racer.py READY_FILE GO_FILE ELP_ARGS...
Touches READY_FILE once the command has quoted (and, with --yes, passed its question), waits
for GO_FILE, then lets the command commit; exits with the command's code, its output as is.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from elp_tui.cli import main
from elp_tui.cli.console import Console


def run() -> int:
    ready, go = Path(sys.argv[1]), Path(sys.argv[2])
    ask = Console.confirm

    def confirm_then_wait(self: Console, yes: bool) -> None:
        ask(self, yes)
        ready.touch()
        deadline = time.monotonic() + 20
        while not go.exists():  # commit together with the other racer
            if time.monotonic() > deadline:
                sys.exit("never told to go")
            time.sleep(0.001)

    Console.confirm = confirm_then_wait  # type: ignore[method-assign]
    return main(sys.argv[3:])


if __name__ == "__main__":
    sys.exit(run())
