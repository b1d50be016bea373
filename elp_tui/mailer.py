"""SMTP delivery of the outbox: the MIME message of an outbox document, and the transport that
sends it with the standard library (`email`, `smtplib`).

The portal decides what is due and keeps the at-most-once bookkeeping (portal/outbox.py); this
module only turns one document into a message and hands it to the server, raising
`DeliveryError` (temporary, permanent, or "cannot connect") for the portal to record.

Headers: every value in them is data (an address, a name in a subject). A recipient holding a
line break, any other control character or more than one address is refused (the message is
failed, never sent); a subject's control characters are folded into spaces; the Message-ID is
the one queued with the message (stable across attempts) or, if it is not well formed, one made
from the message number. `email.policy.SMTP` then refuses any header that would still carry a
line break.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import unicodedata
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import formatdate, parseaddr
from typing import Any

from elp_tui.config import ConfigError, SmtpSettings
from elp_tui.i18n import _
from elp_tui.portal.outbox import DeliveryError

# One plain address: no whitespace, no control character, no second address, no display name.
ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")
MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[A-Za-z0-9.-]+>")  # printable ASCII, no < > inside
TIMEOUT_S = 30.0
# Headers are not folded below RFC 5322's hard limit of 998: Python folds a subject just over 78
# characters onto a line of its own ("Subject:" CRLF " text"), which readers then show with a
# leading space. ELP's subjects are one short line; the body is wrapped by its encoding.
POLICY = SMTP.clone(max_line_length=998)
POLICY_UTF8 = SMTPUTF8.clone(max_line_length=998)


def _controls(value: str) -> bool:
    """A control, format or line-separating character (CR, LF, NUL, ESC, U+2028, U+0085 ...)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def safe_address(value: str) -> str:
    """`value` if it is one plain address that cannot break out of a header, else DeliveryError."""
    if not isinstance(value, str) or _controls(value) or not ADDRESS.fullmatch(value):
        raise DeliveryError(_("refused: {value!r} is not one plain email address (a header cannot hold it).").format(
            value=value), permanent=True)
    return value


def folded(value: str) -> str:
    """A header text on one line: every control or line-separating character becomes a space."""
    out = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in value)
    return " ".join(out.split())


def sender_address(mail_from: str) -> tuple[str, str]:
    """(the From header, the envelope sender) of ELP_MAIL_FROM, or ConfigError."""
    name, address = parseaddr(mail_from)
    if _controls(mail_from) or not address or not ADDRESS.fullmatch(address):
        raise ConfigError(_("ELP_MAIL_FROM={value!r} is not an address: give one, e.g. ELP <elp@example.com>.").format(
            value=mail_from))
    header = f"{folded(name)} <{address}>" if name else address
    return header, address


def build_message(doc: dict[str, Any], mail_from: str) -> EmailMessage:
    """The MIME message of an outbox document: plain text (UTF-8), Date, From, To, Subject, the
    stable Message-ID. A recipient that could inject a header raises DeliveryError (permanent)."""
    to = safe_address(doc["to"])
    header_from, envelope = sender_address(mail_from)
    ascii_only = to.isascii() and envelope.isascii()  # names are RFC 2047-encoded; only addresses need SMTPUTF8
    msg = EmailMessage(policy=POLICY if ascii_only else POLICY_UTF8)
    msg["From"] = header_from
    msg["To"] = to
    msg["Subject"] = folded(doc["subject"]) or "ELP"
    msg["Date"] = formatdate(localtime=True)
    message_id = doc.get("message_id") or ""
    msg["Message-ID"] = message_id if MESSAGE_ID.fullmatch(message_id) else f"<elp.{int(doc['id'])}@elp.invalid>"
    msg["Auto-Submitted"] = "auto-generated"
    body = (doc.get("body") or "").replace("\r\n", "\n").replace("\r", "\n")
    msg.set_content(body, charset="utf-8")
    return msg


def _temporary_or_permanent(code: int, text: bytes | str, what: str) -> DeliveryError:
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return DeliveryError(f"{what}: {code} {reply}".strip(), permanent=500 <= code < 600)


class SmtpTransport:
    """One connection to the SMTP server, opened at the first message and kept for the run
    (use as a context manager: it says goodbye at the end)."""

    def __init__(self, settings: SmtpSettings, timeout: float = TIMEOUT_S):
        self.settings = settings
        self.timeout = timeout
        self.header_from, self.envelope_from = sender_address(settings.mail_from)
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpTransport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            if s.tls == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            smtp.ehlo()
            if s.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(_("the SMTP server {where} refused the login of {user}: {code} {reply}").format(
                where=where, user=s.user, code=exc.smtp_code, reply=exc.smtp_error.decode("utf-8", "replace")),
                connection=True) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise DeliveryError(_("cannot reach the SMTP server {where}: {error}").format(
                where=where, error=exc.strerror if isinstance(exc, OSError) and exc.strerror else exc),
                connection=True) from None
        self._smtp = smtp
        return smtp

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """RSET after a refusal, so the next message starts clean. A server that hung up meanwhile
        is no error of this message (its refusal is what counts): the next one connects again."""
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            smtp.close()
            self._smtp = None

    def send(self, doc: dict[str, Any]) -> None:
        """Deliver one outbox document. Before the message's text reaches the server, every
        failure is certain (temporary: retried; permanent: failed). Once the text was sent, a
        broken connection leaves it unknown whether the server kept it: that is a permanent
        failure saying so (never sent twice by itself: an admin checks and retries)."""
        try:
            msg = build_message(doc, self.settings.mail_from)
            data = msg.as_bytes(policy=msg.policy)
        except (ValueError, UnicodeError, KeyError, TypeError) as exc:  # a document no message can be made of
            raise DeliveryError(_("refused: no email can be made of this message ({error}).").format(error=exc),
                                permanent=True) from None
        smtp = self._smtp or self._connect()
        to = msg["To"]
        options = [] if msg.policy is POLICY else ["SMTPUTF8"]
        if options and not smtp.has_extn("smtputf8"):
            raise DeliveryError(_("the SMTP server cannot deliver to a non-ASCII address ({to}).").format(to=to),
                                permanent=True)
        try:
            code, reply = smtp.mail(self.envelope_from, options)
            if code != 250:
                self._reset(smtp)
                raise _temporary_or_permanent(code, reply, _("sender refused"))
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                self._reset(smtp)
                raise _temporary_or_permanent(code, reply, _("recipient refused"))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._smtp = None
            raise DeliveryError(_("the SMTP server closed the connection: {error}").format(error=exc),
                                connection=True) from None
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: the text was never sent
            self._reset(smtp)
            raise _temporary_or_permanent(exc.smtp_code, exc.smtp_error, _("message refused")) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._smtp = None
            raise DeliveryError(_(
                "the connection broke while the server was receiving the message ({error}): it may have been "
                "delivered. Check with the recipient, then retry it if it did not arrive."
            ).format(error=exc), permanent=True) from None
        if code != 250:
            raise _temporary_or_permanent(code, reply, _("message refused"))
