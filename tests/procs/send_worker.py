"""Deliver the outbox of a store to an SMTP server on 127.0.0.1, as `elp outbox send` does. Run by
tests/test_mail_processes.py as a separate OS process.

usage: send_worker.py STORE PORT GO_FILE [die-after-send]
Prints "ready", then (after GO_FILE appears) one JSON line: {"sent": [ids], "retrying": [...], "failed": [...]}.
With die-after-send it SIGKILLs itself right after the server accepted its first message, before
the outbox is told (the window the README's "Email" section describes).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from elp_tui.config import SmtpSettings
from elp_tui.mailer import SmtpTransport
from elp_tui.portal import Portal, system_clock
from elp_tui.store import Store


class DiesAfterSend(SmtpTransport):
    def send(self, message: dict) -> None:
        super().send(message)
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    store_path, port, go_file = sys.argv[1:4]
    die = sys.argv[4:5] == ["die-after-send"]
    portal = Portal(Store(store_path), system_clock)
    settings = SmtpSettings(host="127.0.0.1", port=int(port), user=None, password=None, tls="none",
                            mail_from="ELP <elp@lumenfox.studio>")
    print("ready", flush=True)
    deadline = time.monotonic() + 20
    while not Path(go_file).exists():  # start together with the other workers
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.002)
    with (DiesAfterSend if die else SmtpTransport)(settings) as transport:
        report = portal.deliver_outbox(transport)
    print(json.dumps({"sent": report.sent, "retrying": report.retrying, "failed": report.failed}), flush=True)


if __name__ == "__main__":
    main()
