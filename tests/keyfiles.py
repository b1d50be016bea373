"""SSH public keys and enrolment codes for the key tests, without an ssh-keygen run per key.

A `.pub` line is `type base64(blob) comment`; an ed25519 blob is the SSH string "ssh-ed25519"
and the SSH string of its 32 key bytes. Any 32 bytes make a well-formed public key, which is
all ELP reads (it never verifies a signature: sshd does); `ssh-keygen -lf` agrees on the
fingerprint (tests/test_keys.py checks it where ssh-keygen is installed).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import struct
from typing import Any

from elp_tui.store import Store

CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def key_parts(seed: str) -> tuple[str, str]:
    """(type, base64 blob) of an ed25519 public key made from `seed` (the same seed, the same key)."""
    raw = hashlib.sha256(seed.encode()).digest()
    blob = _ssh_string(b"ssh-ed25519") + _ssh_string(raw)
    return "ssh-ed25519", base64.b64encode(blob).decode()


def pub_line(seed: str, comment: str | None = None) -> str:
    """One line of a .pub file, as ssh-keygen writes it."""
    key_type, blob = key_parts(seed)
    comment = f"{seed}@laptop" if comment is None else comment
    return f"{key_type} {blob}" + (f" {comment}" if comment else "")


def fingerprint(seed: str) -> str:
    """What `ssh-keygen -lf` prints for the key of `seed`."""
    blob = base64.b64decode(key_parts(seed)[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def invitation_codes(where: Any, email: str) -> list[str]:
    """The enrolment codes the invitation emails to `email` carried, oldest first, as the invited
    person reads them in their mailbox: what is queued is delivered first (a code is made as its
    email is sent: the store never holds one) through the session's real SMTP server on
    127.0.0.1, then read from the mail it received. `where`: a Portal (its clock dates the code)
    or a store path (the store's own clock)."""
    from elp_tui.config import SmtpSettings
    from elp_tui.mailer import SmtpTransport
    from elp_tui.portal import Portal
    from elp_tui.portal.clock import store_clock
    from tests.smtp_server import HOST, MAIL_FROM, session_server

    if isinstance(where, Portal):
        portal = where
    else:
        store = Store(where)
        portal = Portal(store, store_clock(store))
    server = session_server()
    settings = SmtpSettings(host=HOST, port=server.port, user=None, password=None, tls="none", mail_from=MAIL_FROM)
    with SmtpTransport(settings) as transport:
        report = portal.deliver_outbox(transport, now=dt.datetime.combine(portal.today(), dt.time(23, 59)))
    assert report.error is None, report.error
    outbox = Store(portal.store.path).tables().get("outbox", {})
    ids = [m["message_id"] for m in sorted(outbox.values(), key=lambda m: m["id"])
           if m["to"] == email and m.get("kind") == "invitation"]
    received = {m.header("Message-ID"): m.body for m in server.messages}
    return [code for message_id in ids for code in CODE.findall(received.get(message_id, ""))]


def last_code(where: Any, email: str) -> str:
    codes = invitation_codes(where, email)
    assert codes, f"no invitation with a code was queued for {email}"
    return codes[-1]
