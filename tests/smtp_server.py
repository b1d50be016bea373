"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the email tests, started once per test session
(the `smtp_server` fixture in conftest.py); each test reads only what arrived since it began
(the `inbox` fixture), and may make the server refuse recipients or go down for a while."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager
import atexit
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Iterator

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
MAIL_FROM = "ELP <elp@lumenfox.studio>"
# The one account the server knows (login is optional: without it, mail is accepted too).
USER, PASSWORD = "elp-sender", "s3cret pass"


@dataclass
class Received:
    """One message as the server received it: the envelope, the raw bytes, the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def header(self, name: str) -> str:
        return str(self.message[name] or "")


class Recorder:
    """The aiosmtpd handler: keeps every message; refuses recipients when told to."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Received] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP reply ("451 ...", "550 ...")
        self.logins: list[str] = []  # every successful login, in order

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(), PASSWORD.encode())
        if ok:
            with self.lock:
                self.logins.append(USER)
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        with self.lock:
            reply = self.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 and its key, made with the openssl command (None without it).
    Trusted by ELP only when a test points SSL_CERT_FILE at it."""
    if shutil.which("openssl") is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class SmtpServer:
    """One server on its own port: plain (STARTTLS offered when given a certificate), or implicit
    TLS (`implicit_tls`). Every server of the session records into the same handler."""

    def __init__(self, handler: Recorder | None = None, *, certificate: tuple[Path, Path] | None = None,
                 implicit_tls: bool = False) -> None:
        self.handler = handler or Recorder()
        self.port = free_port()
        self.certificate = certificate
        self.implicit_tls = implicit_tls
        self._controller: Controller | None = None

    def _tls(self) -> ssl.SSLContext | None:
        if self.certificate is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*map(str, self.certificate))
        return context

    def start(self) -> None:
        # AUTH over plain text is allowed here only because it never leaves 127.0.0.1.
        tls = self._tls()
        extra = {"ssl_context": tls} if self.implicit_tls else {"tls_context": tls, "require_starttls": tls is not None}
        self._controller = Controller(self.handler, hostname=HOST, port=self.port, enable_SMTPUTF8=True,
                                      ready_timeout=10, authenticator=self.handler.authenticate,
                                      auth_require_tls=False, **extra)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @contextmanager
    def down(self) -> Iterator[None]:
        """The server is not there (connections refused) inside the block; back after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @property
    def logins(self) -> list[str]:
        with self.handler.lock:
            return list(self.handler.logins)

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)


_SESSION: "SmtpServer | None" = None


def session_server() -> SmtpServer:
    """The session's one plain server on 127.0.0.1, started on first use and stopped at exit:
    the `smtp_server` fixture and the key tests' code reader (tests/keyfiles.py) share it."""
    global _SESSION
    if _SESSION is None:
        _SESSION = SmtpServer()
        _SESSION.start()
        atexit.register(_SESSION.stop)
    return _SESSION


class Inbox:
    """What the session's server received since a test began."""

    def __init__(self, server: SmtpServer):
        self.server = server
        self.start = len(server.messages)

    def messages(self, to: str | None = None) -> list[Received]:
        got = self.server.messages[self.start:]
        return [m for m in got if to is None or to in m.rcpt_tos]

    def refuse(self, address: str, reply: str) -> None:
        with self.server.handler.lock:
            self.server.handler.refuse[address] = reply

    def accept_all(self) -> None:
        with self.server.handler.lock:
            self.server.handler.refuse.clear()


__all__ = ["SmtpServer", "Inbox", "Received", "HOST", "MAIL_FROM", "SMTPProtocol"]
