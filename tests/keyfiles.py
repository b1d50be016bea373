"""SSH public keys and enrolment codes for the key tests, without an ssh-keygen run per key.

A `.pub` line is `type base64(blob) comment`; an ed25519 blob is the SSH string "ssh-ed25519"
and the SSH string of its 32 key bytes. Any 32 bytes make a well-formed public key, which is
all ELP reads (it never verifies a signature: sshd does); `ssh-keygen -lf` agrees on the
fingerprint (tests/test_keys.py checks it where ssh-keygen is installed).
"""

from __future__ import annotations

import base64
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


def invitation_codes(store_path: Any, email: str) -> list[str]:
    """The enrolment codes the invitation emails to `email` carried, oldest first (read from the
    outbox, as the invited person reads them in their mailbox)."""
    outbox = Store(store_path).tables().get("outbox", {})
    mails = sorted((m for m in outbox.values() if m["to"] == email and m.get("kind") == "invitation"), key=lambda m: m["id"])
    return [code for m in mails for code in CODE.findall(m["body"])]


def last_code(store_path: Any, email: str) -> str:
    codes = invitation_codes(store_path, email)
    assert codes, f"no invitation with a code was queued for {email}"
    return codes[-1]
