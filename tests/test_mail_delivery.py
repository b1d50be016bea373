"""Email, end to end: what the portal queues arrives at a real SMTP server (aiosmtpd on 127.0.0.1,
started once per session: conftest.py `smtp_server`) exactly once, with the right headers and
text, in the organization's language; a server that is down or refuses is retried with backoff;
a recipient or subject that would inject a header never does."""

from __future__ import annotations

import datetime as dt
import json
import re
import random

import pytest

from elp_tui.config import smtp_settings
from elp_tui.mailer import SmtpTransport
from elp_tui.portal import Portal, RuleViolation, fixed_clock
from elp_tui.portal.outbox import BACKOFF_MINUTES, MAX_ATTEMPTS, SENDING_STALE
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.helpers import grant_bank, grant_seats, hand_edit, refused, store_tables

ANA = "ana@lumenfox.studio"
PRODUCT = "Quillstone Animate"
NOW = dt.datetime.combine(TODAY, dt.time(9, 0))


def deliver(portal: Portal, now: dt.datetime = NOW):
    with SmtpTransport(smtp_settings()) as transport:
        return portal.deliver_outbox(transport, now=now)


def outbox(portal: Portal) -> dict[int, dict]:
    return {int(k): v for k, v in store_tables(portal.store.path).get("outbox", {}).items()}


def by_id(portal: Portal) -> dict[int, dict]:
    return {d["id"]: d for d in outbox(portal).values()}


def add_builds(portal: Portal, product: str, versions: list[str]) -> None:
    with portal.store.transaction() as db:
        db.update("products", {"builds": [
            {"version": v, "released": f"2026-0{i + 1}-15",
             "downloads": {os_: f"https://downloads.example/{v}/{os_}" for os_ in ("windows", "linux")}}
            for i, v in enumerate(versions)]}, name=product)


def edit_mail(portal: Portal, mid: int, **fields: str) -> None:
    """Someone with the store file in an editor changes a queued message."""

    def change(data: dict) -> None:
        for doc in data["outbox"].values():
            if isinstance(doc, dict) and doc.get("id") == mid:
                doc.update(fields)

    hand_edit(portal.store.path, change)
    assert by_id(portal)[mid] | fields == by_id(portal)[mid]


def generate(portal: Portal, bank: dict, email: str, quantity: int = 1, type: str = "multiseat") -> list[dict]:
    q = portal.quote_generate(ADMIN, bank=bank["id"], type=type, months=2, quantity=quantity, start=TODAY, email=email)
    return portal.generate(ADMIN, q)


# -- each message, in English and French -----------------------------------------------------
def test_an_invitation_arrives_once_with_its_headers_and_how_to_sign_in(portal, inbox):
    portal.invite(ADMIN, ANA)
    [queued] = [m for m in by_id(portal).values() if m["to"] == ANA]
    assert queued["state"] == "queued" and queued["kind"] == "invitation"
    report = deliver(portal)
    assert report.sent == [queued["id"]] and report.error is None
    [got] = inbox.messages()
    assert got.rcpt_tos == [ANA] and got.mail_from == "elp@lumenfox.studio"
    assert got.header("To") == ANA and got.header("From") == "ELP <elp@lumenfox.studio>"
    assert got.header("Message-ID") == queued["message_id"] and got.header("Date")
    assert got.header("Subject") == f"{ADMIN} invited you to Lumenfox Studios on the Enterprise License Portal"
    assert "Lumenfox Studios" in got.body and ADMIN in got.body and "as a member" in got.body
    # The one-time enrolment code that binds their SSH key; the store keeps only its hash.
    code = re.search(r"\n    ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\r?\n", got.body).group(1)
    assert "valid until 2026-11-30" in got.body and ANA in got.body
    stored = portal.store.read().get("users", email=ANA)
    assert code.replace("-", "") not in json.dumps(stored) and stored["enrol_code"].startswith("sha256$")
    sent = by_id(portal)[queued["id"]]
    assert (sent["state"], sent["attempts"], sent["sent_at"]) == ("sent", 1, NOW.isoformat(timespec="seconds"))
    assert deliver(portal).sent == [] and len(inbox.messages()) == 1  # sent once


def test_french_organization_gets_french_emails(portal, inbox):
    portal.set_mail_language(ADMIN, "fr")
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01")
    add_builds(portal, PRODUCT, ["25.1"])
    generate(portal, bank, ANA)
    deliver(portal)
    invitation, notice = inbox.messages(ANA)
    assert invitation.header("Subject") == f"{ADMIN} vous invite à rejoindre Lumenfox Studios sur le portail de licences entreprise"
    assert invitation.body.startswith("Bonjour,") and "Vous êtes invité à recevoir des licences Quillstone Animate" in invitation.body
    assert notice.header("Subject") == "Quillstone Animate : 1 licence(s) vous sont attribuées"
    assert "ID d'activation" in notice.body and "multiposte" in notice.body and "Téléchargements" in notice.body
    for got in (invitation, notice):
        assert "Hello" not in got.body and "assigned" not in got.body
        assert got.message.get_content_charset() == "utf-8"
    assert [m["language"] for m in outbox(portal).values() if m["to"] == ANA] == ["fr", "fr"]


def test_license_notice_shows_every_license_and_the_allowed_downloads_only(portal, inbox):
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01")
    add_builds(portal, PRODUCT, ["25.1", "25.2"])
    portal.restrict(ADMIN, PRODUCT, ["25.2"])
    created = generate(portal, bank, ADMIN, quantity=2, type="node-lock")
    deliver(portal)
    [got] = inbox.messages(ADMIN)
    assert got.header("Subject") == "Quillstone Animate: 2 license(s) assigned to you"
    for lic in created:
        assert f"Activation ID: {lic['activation_id']}" in got.body
    assert got.body.count("Type: node-lock") == 2 and got.body.count("Computers: 1") == 2
    assert f"Valid from {TODAY} until {created[0]['expires_on']}" in got.body
    assert "https://downloads.example/25.2/windows" in got.body and "https://downloads.example/25.2/linux" in got.body
    assert "25.1" not in got.body  # restricted: not offered


def test_return_and_assign_tell_both_users(portal, inbox):
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01",
                      product_version="25.1", portable=True)
    [lic] = generate(portal, bank, ADMIN)
    portal.return_license(ADMIN, lic["activation_id"], ADMIN)
    portal.assign_license(ADMIN, lic["activation_id"], ANA)
    deliver(portal)
    subjects = {(m.rcpt_tos[0], m.header("Subject")) for m in inbox.messages()}
    aid = lic["activation_id"]
    assert (ADMIN, f"Quillstone Animate: license {aid} returned") in subjects
    assert (ANA, f"Quillstone Animate: license {aid} assigned to you") in subjects
    assert (ANA, f"{ADMIN} invited you to Lumenfox Studios on the Enterprise License Portal") in subjects
    [invite] = [m for m in inbox.messages(ANA) if "invited" in m.header("Subject")]
    assert f"You are invited to receive license {aid}." in invite.body


def test_a_credit_request_reaches_the_vendor_with_who_asked(portal, inbox):
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01")
    request = portal.request_credits(ADMIN, bank["id"], 250)
    [queued] = [m for m in outbox(portal).values() if m["kind"] == "request"]
    deliver(portal)
    [got] = inbox.messages(queued["to"])
    assert got.header("Subject") == f"Request #{request['id']}: 250 credits of Quillstone Animate for Lumenfox Studios"
    assert f"{ADMIN} of Lumenfox Studios asks for 250 more monthly term credits of Quillstone Animate" in got.body
    assert f"Asked by: {ADMIN}" in got.body and f"bank {bank['id']}" in got.body


def test_the_vendor_answer_reaches_the_admins_in_their_language(portal, inbox):
    """The vendor grants one request and declines another (portal/vendor.py): each answer reaches
    the organization's admin once, in the organization's language at the time."""
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01")
    first = portal.request_credits(ADMIN, bank["id"], 250)
    second = portal.request_credits(ADMIN, bank["id"], 40)
    portal.grant_request(VENDOR, first["id"], amount=200)
    portal.set_mail_language(ADMIN, "fr")
    portal.decline_request(VENDOR, second["id"], "budget closed")
    deliver(portal)
    granted, refused_fr = inbox.messages(ADMIN)
    assert granted.header("Subject") == f"Request #{first['id']} granted: 200 credits of Quillstone Animate"
    assert f"200 credits were added to {bank['id']}" in granted.body
    assert refused_fr.header("Subject") == f"Demande n° {second['id']} refusée : Quillstone Animate"
    assert "Motif donné : budget closed" in refused_fr.body


def test_joining_a_team_is_told(portal, inbox):
    grant_seats(portal, "Frameloop", 5)
    portal.create_team(ADMIN, "Story", "Frameloop")
    portal.team_add(ADMIN, "Story", ANA)
    deliver(portal)
    subjects = [m.header("Subject") for m in inbox.messages(ANA)]
    assert "You joined team Story (Frameloop)" in subjects
    [invite] = [m for m in inbox.messages(ANA) if "invited" in m.header("Subject")]
    assert "You are invited to join team Story." in invite.body


# -- reminders -----------------------------------------------------------------------------
def on(portal: Portal, day: dt.date) -> Portal:
    return Portal(Store(portal.store.path), fixed_clock(day), rng=random.Random(1))


def test_reminders_30_and_7_days_before_each_sent_once(portal, inbox):
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-01-15")
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ANA)
    [lic] = portal.generate(ADMIN, q)  # expires 2026-12-23: 30 days from today
    deliver(portal)
    before = len(inbox.messages())
    assert portal.queue_reminders() == 2 and portal.queue_reminders() == 0
    assert on(portal, dt.date(2026, 11, 24)).queue_reminders() == 0  # the 30-day one is sent; the 7-day one not due
    deliver(portal)
    user_mail, admin_mail = (inbox.messages(ANA)[-1], inbox.messages(ADMIN)[-1])
    assert user_mail.header("Subject") == f"Your Quillstone Animate license {lic['activation_id']} expires on 2026-12-23"
    assert "in 30 days" in user_mail.body and "Ask an admin of Lumenfox Studios" in user_mail.body
    # The admins get one digest a day of the licenses that reached a reminder, not one email per license.
    assert admin_mail.header("Subject") == "1 license(s) of Lumenfox Studios reach their expiry reminder"
    assert f"{lic['activation_id']}  Quillstone Animate  {ANA}  expires on 2026-12-23 (in 30 days)" in admin_mail.body
    assert "elp licenses renew ID --months N" in admin_mail.body
    assert len(inbox.messages()) == before + 2

    day = dt.date(2026, 12, 17)  # bank: 29 days left; license: 6 days left
    later = on(portal, day)
    assert later.queue_reminders() == 3 and later.queue_reminders() == 0
    deliver(later, dt.datetime.combine(day, dt.time(8)))
    [credits] = [m for m in inbox.messages(ADMIN) if "will be lost" in m.header("Subject")]
    assert credits.header("Subject") == "99 credits of Quillstone Animate will be lost on 2027-01-15"
    assert f"Bank {bank['id']}" in credits.body and "in 29 days" in credits.body
    assert len(inbox.messages()) == before + 5
    assert on(portal, dt.date(2026, 12, 18)).queue_reminders() == 0  # every one of them: once


def test_reminder_run_with_nothing_due_writes_nothing(portal):
    from tests.helpers import file_bytes

    before = file_bytes(portal)
    assert portal.queue_reminders() == 0
    assert file_bytes(portal) == before


# -- failures: down, refused, retried, at most once -------------------------------------------
def test_server_down_keeps_mail_queued_and_it_is_delivered_once_when_back(portal, inbox, smtp_server):
    portal.invite(ADMIN, ANA)
    portal.invite(ADMIN, "bob@lumenfox.studio")
    with smtp_server.down():
        report = deliver(portal)
    assert report.sent == [] and len(report.retrying) == 2 and "cannot reach the SMTP server" in report.error
    for doc in outbox(portal).values():
        assert doc["state"] == "queued" and doc["attempts"] == 1 and "cannot reach" in doc["last_error"]
        assert doc["next_attempt_at"] == (NOW + dt.timedelta(minutes=BACKOFF_MINUTES[0])).isoformat(timespec="seconds")
    assert deliver(portal).sent == []  # the server is back, but the backoff has not passed: nothing tried
    assert inbox.messages() == []
    later = NOW + dt.timedelta(minutes=BACKOFF_MINUTES[0])
    assert len(deliver(portal, later).sent) == 2
    assert sorted(m.rcpt_tos[0] for m in inbox.messages()) == sorted([ANA, "bob@lumenfox.studio"])
    assert deliver(portal, later + dt.timedelta(hours=1)).sent == [] and len(inbox.messages()) == 2
    assert all(d["state"] == "sent" and d["attempts"] == 2 and d["last_error"] is None for d in outbox(portal).values())


def test_temporary_refusal_backs_off_then_fails_and_an_admin_retries(portal, inbox):
    portal.invite(ADMIN, ANA)
    [mid] = by_id(portal)
    inbox.refuse(ANA, "451 4.3.0 try again later")
    now = NOW
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = deliver(portal, now)
        doc = by_id(portal)[mid]
        assert doc["attempts"] == attempt and "451" in doc["last_error"]
        if attempt < MAX_ATTEMPTS:
            assert report.retrying == [mid] and doc["state"] == "queued"
            wait = dt.datetime.fromisoformat(doc["next_attempt_at"]) - now
            waits.append(wait)
            assert deliver(portal, now + wait - dt.timedelta(seconds=1)).retrying == []  # not before its time
            now += wait
        else:
            assert report.failed == [mid] and doc["state"] == "failed" and doc["next_attempt_at"] is None
    assert waits == sorted(waits) and waits[0] < waits[-1]  # backoff grows
    assert inbox.messages() == []
    assert deliver(portal, now + dt.timedelta(days=30)).sent == []  # failed: never tried again by itself
    inbox.accept_all()
    row = portal.retry_mail(ADMIN, mid)
    assert row["state"] == "queued" and row["attempts"] == 0
    assert deliver(portal, now).sent == [mid]
    assert len(inbox.messages(ANA)) == 1
    refused(portal, RuleViolation, portal.retry_mail, ADMIN, mid, match="was sent")
    assert [e["action"] for e in portal.activity(ADMIN)][0] == "mail-retry"


def test_permanent_refusal_fails_at_once(portal, inbox):
    portal.invite(ADMIN, ANA)
    portal.invite(ADMIN, "bob@lumenfox.studio")
    inbox.refuse(ANA, "550 5.1.1 no such user")
    report = deliver(portal)
    assert len(report.failed) == 1 and len(report.sent) == 1  # the other message still goes
    failed = [d for d in outbox(portal).values() if d["to"] == ANA][0]
    assert failed["state"] == "failed" and failed["attempts"] == 1 and "550" in failed["last_error"]
    assert [m.rcpt_tos for m in inbox.messages()] == [["bob@lumenfox.studio"]]


class RawSmtp:
    """A small SMTP server on 127.0.0.1 (a thread, plain sockets) that misbehaves on purpose:
    `data_reply`: what it answers to DATA before it hangs up (e.g. "451 ..." then gone);
    `mail_reply`: what it answers to MAIL FROM (e.g. a line longer than SMTP allows)."""

    def __init__(self, *, data_reply: str | None = None, mail_reply: str | None = None):
        import socket
        import threading

        self.data_reply, self.mail_reply = data_reply, mail_reply
        self.commands: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"220 127.0.0.1 raw test server\r\n")
                for raw in lines:
                    command = raw.decode("ascii", "replace").strip()
                    verb = command.split(" ", 1)[0].upper()
                    self.commands.append(verb)
                    if verb == "EHLO":
                        conn.sendall(b"250-127.0.0.1\r\n250 8BITMIME\r\n")
                    elif verb == "MAIL" and self.mail_reply:
                        conn.sendall(self.mail_reply.encode() + b"\r\n")
                    elif verb == "DATA" and self.data_reply:
                        conn.sendall(self.data_reply.encode() + b"\r\n")
                        break  # and hang up
                    elif verb == "QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def raw_smtp(monkeypatch):
    servers: list[RawSmtp] = []

    def start(**replies: str) -> RawSmtp:
        server = RawSmtp(**replies)
        servers.append(server)
        monkeypatch.setenv("ELP_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ELP_SMTP_PORT", str(server.port))
        monkeypatch.setenv("ELP_SMTP_TLS", "none")
        monkeypatch.setenv("ELP_MAIL_FROM", "ELP <elp@lumenfox.studio>")
        return server

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("reply, state", [("451 4.3.0 try again later", "queued"), ("554 5.6.0 not from you", "failed")])
def test_a_server_that_refuses_data_then_hangs_up_leaves_nothing_sending(portal, raw_smtp, reply, state):
    server = raw_smtp(data_reply=reply)
    portal.invite(ADMIN, ANA)
    portal.invite(ADMIN, "bob@lumenfox.studio")
    report = deliver(portal)  # each message: refused at DATA, then the server is gone
    assert report.sent == [] and reply.split(" ")[0] in report.error
    assert server.commands.count("DATA") == 2  # the second message was tried on a new connection
    docs = outbox(portal).values()
    assert sorted((d["to"], d["state"], d["attempts"]) for d in docs) == [
        (ANA, state, 1), ("bob@lumenfox.studio", state, 1)]
    assert all(reply in d["last_error"] and d["sending_since"] is None for d in docs)


def test_a_reply_line_longer_than_smtp_allows_keeps_the_message_queued(portal, raw_smtp):
    raw_smtp(mail_reply="250 " + "x" * 9000)  # longer than any SMTP line: smtplib gives up on it
    portal.invite(ADMIN, ANA)
    report = deliver(portal)
    assert report.sent == [] and "Line too long" in report.error
    [doc] = outbox(portal).values()
    assert (doc["state"], doc["attempts"], doc["sending_since"]) == ("queued", 1, None)
    assert "Line too long" in doc["last_error"] and doc["next_attempt_at"] > NOW.isoformat()


class TripsOverItsOwnFeet(SmtpTransport):
    """A transport with a bug: it connects to the real server, then fails in a way no
    DeliveryError foresaw (as a future change to the transport might)."""

    def send(self, doc: dict) -> None:
        smtp = self._smtp or self._connect()
        smtp.noop()
        raise KeyError("a bug in the transport")


def test_an_unforeseen_transport_error_puts_the_message_back_in_the_queue_with_the_error(portal, inbox):
    portal.invite(ADMIN, ANA)
    portal.invite(ADMIN, "bob@lumenfox.studio")
    with TripsOverItsOwnFeet(smtp_settings()) as transport:
        report = portal.deliver_outbox(transport, now=NOW)  # does not raise
    assert report.sent == [] and "a bug in the transport" in report.error
    docs = by_id(portal)
    assert (docs[1]["state"], docs[1]["attempts"], docs[1].get("sending_since")) == ("queued", 1, None)
    assert "unexpected error while sending: KeyError" in docs[1]["last_error"]
    assert (docs[2]["state"], docs[2]["attempts"]) == ("queued", 0)  # the run stopped: never tried
    assert deliver(portal, NOW + dt.timedelta(hours=1)).sent == [1, 2]  # the real transport, later: once each
    assert sorted(m.rcpt_tos[0] for m in inbox.messages()) == [ANA, "bob@lumenfox.studio"]


def test_a_message_left_sending_by_a_dead_sender_is_never_sent_again_by_itself(portal, inbox):
    clock = [NOW]
    sender = Portal(Store(portal.store.path), fixed_clock(TODAY), now=lambda: clock[0])
    sender.invite(ADMIN, ANA)
    [mid] = by_id(sender)
    claimed = sender._claim(NOW)  # a sender claimed it, then died before marking it (see test_mail_processes.py)
    assert claimed["state"] == "sending" and claimed["sending_since"] == NOW.isoformat(timespec="seconds")
    assert deliver(sender, NOW + dt.timedelta(days=2)).sent == [] and inbox.messages() == []
    [row] = sender.outbox(ADMIN)
    assert row["state"] == "sending" and row["stuck"] is False
    refused(sender, RuleViolation, sender.retry_mail, ADMIN, mid, match="being sent right now")
    clock[0] = NOW + SENDING_STALE + dt.timedelta(seconds=1)
    assert sender.outbox(ADMIN)[0]["stuck"] is True
    sender.retry_mail(ADMIN, mid)  # the admin checked with Ana: it never arrived
    assert deliver(sender, clock[0]).sent == [mid] and len(inbox.messages(ANA)) == 1


# -- headers that would inject -----------------------------------------------------------------
INJECTIONS = [
    "ana@lumenfox.studio\r\nBcc: evil@attacker.example",
    "ana@lumenfox.studio\nBcc: evil@attacker.example",
    "ana@lumenfox.studio\rBcc: evil@attacker.example",
    "ana@lumenfox.studio, evil@attacker.example",
    "Ana <ana@lumenfox.studio>\r\n",
    "ana@lumenfox.studio\x00",
    "ana@lumenfox.studio\u2028Bcc: evil@attacker.example",
    "ana@lumenfox.studio\x85Bcc: evil@attacker.example",
]


@pytest.mark.parametrize("to", INJECTIONS, ids=range(len(INJECTIONS)))
def test_a_recipient_that_would_inject_a_header_is_refused_and_nothing_is_sent(portal, inbox, to):
    portal.invite(ADMIN, ANA)
    [mid] = by_id(portal)
    edit_mail(portal, mid, to=to)
    report = deliver(portal)
    assert report.failed == [mid]
    doc = by_id(portal)[mid]
    assert doc["state"] == "failed" and "not one plain email address" in doc["last_error"]
    assert inbox.messages() == []


SUBJECTS = ["Hi\r\nBcc: evil@attacker.example", "Hi\nBcc: evil@attacker.example", "Hi\u2028Bcc: evil@attacker.example",
            "Hi\x1b[31m\tX", "Hi\r\n\r\nbody smuggled"]


@pytest.mark.parametrize("subject", SUBJECTS, ids=range(len(SUBJECTS)))
def test_a_subject_with_line_breaks_is_folded_into_one_header(portal, inbox, subject):
    portal.invite(ADMIN, ANA)
    [mid] = by_id(portal)
    edit_mail(portal, mid, subject=subject)
    assert deliver(portal).sent == [mid]
    [got] = inbox.messages()
    assert got.rcpt_tos == [ANA]
    assert "\n" not in got.header("Subject") and got.header("Subject").startswith("Hi ")
    assert got.message.get_all("Bcc") is None
    headers = got.raw.split(b"\r\n\r\n", 1)[0]
    assert headers.count(b"\r\nSubject:") + headers.startswith(b"Subject:") == 1
    assert b"\nBcc" not in headers and not any(line.startswith(b"body") for line in headers.split(b"\r\n"))


def test_org_names_and_users_with_line_breaks_never_reach_the_store(portal):
    """The first line of defence: what a header would show is refused when typed."""
    from elp_tui.portal import InvalidInput

    refused(portal, InvalidInput, portal.invite, ADMIN, "ana@lumenfox.studio\r\nBcc: evil@attacker.example")
    with pytest.raises(InvalidInput):
        Portal(Store(portal.store.path.with_name("other.json")), fixed_clock(TODAY)).init_organization("Evil\r\nBcc: x", "a@b.example")


# -- the command line ------------------------------------------------------------------------
@pytest.fixture
def cli(store_path, capsys, monkeypatch, tmp_path):
    """`elp --store STORE ARGS...` in-process, on the test's fixed today."""
    from elp_tui.cli import main
    from tests.helpers import Result

    monkeypatch.setenv("ELP_TODAY", TODAY.isoformat())
    monkeypatch.setenv("ELP_CONFIG", str(tmp_path / "no-settings.json"))
    monkeypatch.delenv("ELP_USER", raising=False)

    def run(*args: str, user: str | None = ADMIN) -> Result:
        code = main(["--store", str(store_path), *(["--as", user] if user else []), *args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def test_outbox_send_without_smtp_says_so_and_changes_nothing_when_no_reminder_is_due(portal, cli, monkeypatch):
    from tests.helpers import file_bytes

    for name in ("ELP_SMTP_HOST", "ELP_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    portal.invite(ADMIN, ANA)
    before = file_bytes(portal)
    result = cli("outbox", "send", user=None)
    assert result.code == 0 and "0 reminder(s) queued; no SMTP server is configured, so nothing was sent" in result.out
    assert "set ELP_SMTP_HOST" in result.out and "1 message(s) wait" in result.out
    assert file_bytes(portal) == before
    [row] = cli("outbox", "list", "--json").json()
    assert (row["to"], row["state"], row["attempts"]) == (ANA, "queued", 0)


def test_outbox_send_without_smtp_still_queues_the_days_reminders(portal, cli, monkeypatch):
    from tests.helpers import file_bytes

    for name in ("ELP_SMTP_HOST", "ELP_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2026-12-20")
    portal.invite(ADMIN, ANA)
    before = store_tables(portal.store.path)
    result = cli("outbox", "send", user=None)
    assert result.code == 0, result.err
    assert "1 reminder(s) queued; no SMTP server is configured, so nothing was sent" in result.out
    assert "2 message(s) wait" in result.out
    after = store_tables(portal.store.path)
    data = {"outbox", "_meta"}  # the store's own bookkeeping (generation, checksum) moves with any commit
    assert {k: v for k, v in after.items() if k not in data} == {k: v for k, v in before.items() if k not in data}
    new = [d for k, d in after["outbox"].items() if k not in before["outbox"]]
    assert [(d["kind"], d["to"], d["state"], d["attempts"]) for d in new] == [("credits-expiring", ADMIN, "queued", 0)]
    assert {k: after["outbox"][k] for k in before["outbox"]} == before["outbox"]  # the invitation: as it was
    again = file_bytes(portal)
    assert "0 reminder(s) queued" in cli("outbox", "send", user=None).out  # once
    assert file_bytes(portal) == again


def test_outbox_send_list_and_retry_from_the_command_line(portal, cli, inbox):
    portal.invite(ADMIN, ANA)
    portal.invite(ADMIN, "bob@lumenfox.studio")
    inbox.refuse("bob@lumenfox.studio", "550 5.1.1 no such user")
    result = cli("outbox", "send", user=None)
    assert result.code == 1, result.err
    assert "Sent 1 message(s) through smtp://127.0.0.1" in result.out and "1 failed" in result.out
    assert "550" in result.err and result.err.count("\n") == 1
    rows = {r["to"]: r for r in cli("outbox", "list", "--json").json()}
    assert rows[ANA]["state"] == "sent" and rows["bob@lumenfox.studio"]["state"] == "failed"
    assert set(rows[ANA]) >= {"id", "to", "kind", "state", "attempts", "last_error", "message_id", "sent_at"}
    assert [r["to"] for r in cli("outbox", "list", "--state", "failed", "--json").json()] == ["bob@lumenfox.studio"]
    table = cli("outbox", "list")
    assert table.code == 0 and "failed" in table.out and "550" in table.out
    inbox.accept_all()
    bob = rows["bob@lumenfox.studio"]["id"]
    retry = cli("outbox", "retry", str(bob))
    assert retry.code == 0 and "queued again" in retry.out
    result = cli("outbox", "send", user=None)
    assert result.code == 0 and "Sent 1 message(s)" in result.out
    assert len(inbox.messages("bob@lumenfox.studio")) == 1 and len(inbox.messages(ANA)) == 1
    again = cli("outbox", "retry", str(bob))
    assert again.code == 1 and "nothing to retry" in again.err
    missing = cli("outbox", "retry", "999")
    assert missing.code == 1 and "No message 999" in missing.err


def test_org_language_switches_the_emails_and_is_logged(portal, cli, inbox):
    result = cli("org", "language", "fr")
    assert result.code == 0 and "now written in French" in result.out
    assert cli("org", "language", "fr").out.strip().endswith("already written in French.")
    assert portal.activity(ADMIN)[0]["action"] == "mail-language"
    portal.invite(ADMIN, ANA)
    cli("outbox", "send", user=None)
    [got] = inbox.messages(ANA)
    assert got.body.startswith("Bonjour,")
    bad = cli("org", "language", "de")
    assert bad.code == 2  # not a choice: a malformed command line


def test_a_bad_smtp_setting_is_one_clear_line(portal, cli, inbox, monkeypatch):
    monkeypatch.setenv("ELP_SMTP_TLS", "sometimes")
    result = cli("outbox", "send", user=None)
    assert result.code == 1 and "ELP_SMTP_TLS" in result.err and result.err.count("\n") == 1


def test_login_and_a_refused_login(portal, inbox, smtp_server, monkeypatch):
    from tests.smtp_server import PASSWORD, USER

    portal.invite(ADMIN, ANA)
    monkeypatch.setenv("ELP_SMTP_USER", USER)
    monkeypatch.setenv("ELP_SMTP_PASSWORD", "wrong")
    logins = len(smtp_server.logins)
    report = deliver(portal)
    assert report.sent == [] and "refused the login of elp-sender" in report.error and "wrong" not in report.error
    assert inbox.messages() == [] and by_id(portal)[1]["state"] == "queued"
    monkeypatch.setenv("ELP_SMTP_PASSWORD", PASSWORD)
    assert deliver(portal, NOW + dt.timedelta(hours=1)).sent == [1]
    assert smtp_server.logins[logins:] == [USER] and len(inbox.messages(ANA)) == 1


def test_settings_from_the_config_file(portal, cli, inbox, smtp_server, monkeypatch, tmp_path):
    for name in ("ELP_SMTP_HOST", "ELP_SMTP_PORT", "ELP_SMTP_TLS", "ELP_MAIL_FROM"):
        monkeypatch.delenv(name)
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"theme": "nord", "smtp": {
        "host": "127.0.0.1", "port": smtp_server.port, "tls": "none", "mail_from": "Licenses <licenses@lumenfox.studio>"}}))
    monkeypatch.setenv("ELP_CONFIG", str(config))
    portal.invite(ADMIN, ANA)
    result = cli("outbox", "send", user=None)
    assert result.code == 0 and f"smtp://127.0.0.1:{smtp_server.port} (none)" in result.out
    [got] = inbox.messages(ANA)
    assert got.header("From") == "Licenses <licenses@lumenfox.studio>" and got.mail_from == "licenses@lumenfox.studio"


def test_mail_to_the_vendor_is_what_the_vendor_sees(portal):
    """The rows behind the vendor's Outbox (the vendor side wires `vendor_outbox(actor)` to them):
    requests of every organization, none of an organization's own mail."""
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01")
    portal.invite(ADMIN, ANA)
    portal.request_credits(ADMIN, bank["id"], 50)
    [request] = [m for m in outbox(portal).values() if m["kind"] == "request"]
    with portal.store.transaction() as db:
        db.insert("vendors", {"id": "quillstone", "name": "Quillstone", "email": request["to"], "feed": None, "products": []})
    rows = portal._vendor_outbox_rows(portal.store.read())
    assert [(r["kind"], r["to"]) for r in rows] == [("request", request["to"])]
    assert {r["kind"] for r in portal.outbox(ADMIN)} == {"invitation", "request"}  # the admins see their request too


EXPECTED_SUBJECTS = {
    "en": {"invitation": f"{ADMIN} invited you to Lumenfox Studios on the Enterprise License Portal",
           "license": "Quillstone Animate: 1 license(s) assigned to you",
           "returned": "Quillstone Animate: license {aid} returned",
           "reassigned": "Quillstone Animate: license {aid} assigned to you",
           "request": "Request #1: 40 credits of Quillstone Animate for Lumenfox Studios",
           "license-expiring": "Your Quillstone Animate license {aid} expires on 2026-12-20",
           "credits-expiring": "99 credits of Quillstone Animate will be lost on 2026-12-20"},
    "fr": {"invitation": f"{ADMIN} vous invite à rejoindre Lumenfox Studios sur le portail de licences entreprise",
           "license": "Quillstone Animate : 1 licence(s) vous sont attribuées",
           "returned": "Quillstone Animate : licence {aid} restituée",
           "reassigned": "Quillstone Animate : la licence {aid} vous est attribuée",
           "request": "Demande n° 1 : 40 crédits Quillstone Animate pour Lumenfox Studios",
           "license-expiring": "Votre licence Quillstone Animate {aid} expire le 2026-12-20",
           "credits-expiring": "99 crédits Quillstone Animate seront perdus le 2026-12-20"},
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_kind_of_message_arrives_once_with_its_headers_in_the_organization_language(portal, inbox, lang):
    if lang != "en":
        portal.set_mail_language(ADMIN, lang)
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2026-12-20",
                      product_version="25.1", portable=True)
    [lic] = generate(portal, bank, ANA)  # invitation + license; cut by the bank: expires 2026-12-20
    assert lic["expires_on"] == "2026-12-20"
    aid = lic["activation_id"]
    portal.sign_in(ANA)
    portal.return_license(ADMIN, aid, ANA)
    portal.assign_license(ADMIN, aid, ANA)
    portal.request_credits(ADMIN, bank["id"], 40)
    assert portal.queue_reminders() == 3  # the bank (to the admin), the license (to Ana and the admin)
    report = deliver(portal)
    queued = outbox(portal).values()
    assert sorted(report.sent) == sorted(d["id"] for d in queued) and report.error is None
    got = inbox.messages()
    assert len(got) == len(queued) == 8
    by_message_id = {m.header("Message-ID"): m for m in got}
    assert len(by_message_id) == 8  # each message once, under the Message-ID it was queued with
    for doc in queued:
        message = by_message_id[doc["message_id"]]
        assert message.rcpt_tos == [doc["to"]] and message.header("To") == doc["to"]
        assert message.header("From") == "ELP <elp@lumenfox.studio>" and message.header("Date")
        assert message.header("Subject") == doc["subject"] and doc["language"] == lang
        assert message.body.startswith("Hello," if lang == "en" else "Bonjour,")
    subjects = {m.header("Subject") for m in got}
    for kind, subject in EXPECTED_SUBJECTS[lang].items():
        assert subject.format(aid=aid) in subjects, (kind, subjects)
    assert deliver(portal, NOW + dt.timedelta(days=1)).sent == [] and len(inbox.messages()) == 8


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_starttls_and_tls_check_the_certificate(portal, inbox, tls_smtp_servers, monkeypatch, mode):
    from tests.smtp_server import PASSWORD, USER

    starttls, tls, certificate = tls_smtp_servers
    server = starttls if mode == "starttls" else tls
    monkeypatch.setenv("ELP_SMTP_TLS", mode)
    monkeypatch.setenv("ELP_SMTP_PORT", str(server.port))
    monkeypatch.setenv("ELP_SMTP_USER", USER)
    monkeypatch.setenv("ELP_SMTP_PASSWORD", PASSWORD)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    portal.invite(ADMIN, ANA)
    report = deliver(portal)  # a certificate nobody vouches for: refused, nothing sent
    assert report.sent == [] and "certificate verify failed" in report.error
    assert inbox.messages() == [] and by_id(portal)[1]["state"] == "queued"
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the machine trusts it
    assert deliver(portal, NOW + dt.timedelta(hours=1)).sent == [1]
    [got] = inbox.messages(ANA)
    assert got.header("Message-ID") == by_id(portal)[1]["message_id"]


def test_an_invitation_shows_the_ssh_line_when_the_server_says_how_to_reach_it(portal, inbox, monkeypatch):
    monkeypatch.setenv("ELP_SSH", "ssh elp@licenses.lumenfox.studio")
    portal.invite(ADMIN, ANA)
    deliver(portal)
    [got] = inbox.messages(ANA)
    assert "connect with your key" in got.body and "\n    ssh elp@licenses.lumenfox.studio\r\n" in got.body
    assert "--as" not in got.body  # the invitee is never told how to act as someone


def test_a_renewal_tells_the_user_the_new_expiry(portal, inbox):
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01")
    [lic] = generate(portal, bank, ANA)
    renewed = portal.renew(ADMIN, portal.quote_renew(ADMIN, lic["activation_id"], months=1))
    deliver(portal)
    [got] = [m for m in inbox.messages(ANA) if "renewed" in m.header("Subject")]
    assert got.header("Subject") == f"Quillstone Animate: license {lic['activation_id']} renewed until {renewed['expires_on']}"
    assert f"{ADMIN} renewed your Quillstone Animate license in Lumenfox Studios." in got.body
    assert f"until {renewed['expires_on']}" in got.body


def test_a_renewed_license_is_reminded_again_before_its_new_expiry(portal):
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01")
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ANA)
    [lic] = portal.generate(ADMIN, q)  # expires 2026-12-23: 30 days from today
    assert lic["expires_on"] == "2026-12-23"
    assert portal.queue_reminders() == 2  # to Ana and to the admin
    renewed = portal.renew(ADMIN, portal.quote_renew(ADMIN, lic["activation_id"], months=2))
    new_end = dt.date.fromisoformat(renewed["expires_on"])
    assert new_end > dt.date(2026, 12, 23) + dt.timedelta(days=30)
    assert on(portal, new_end - dt.timedelta(days=31)).queue_reminders() == 0  # not due yet
    later = on(portal, new_end - dt.timedelta(days=30))
    assert later.queue_reminders() == 2 and later.queue_reminders() == 0  # once more, once each
    reminders = [d for d in outbox(portal).values() if d["kind"] == "license-expiring"]
    assert sorted((d["to"], renewed["expires_on"] in d["body"]) for d in reminders) == [
        (ADMIN, False), (ADMIN, True), (ANA, False), (ANA, True)]


def test_an_admin_gets_one_digest_a_day_however_many_licenses_reach_a_reminder(portal):
    bank = grant_bank(portal, product=PRODUCT, credits=500, start="2026-11-01", expires_on="2027-05-01")
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=45, start=TODAY, email=ANA)
    made = portal.generate(ADMIN, q)  # 45 licenses, each expiring 2026-12-23: 30 days from today
    assert portal.queue_reminders() == 46 and portal.queue_reminders() == 0  # 45 to Ana, 1 digest to the admin
    [digest] = [d for d in outbox(portal).values() if d["to"] == ADMIN and d["kind"] == "license-expiring"]
    assert digest["subject"] == "45 license(s) of Lumenfox Studios reach their expiry reminder"
    listed = [m["activation_id"] for m in made if m["activation_id"] in digest["body"]]
    assert len(listed) == 40 and "... and 5 more: 'elp licenses list' shows them all." in digest["body"]
    # The next day nothing new: no second digest.
    assert on(portal, TODAY + dt.timedelta(days=1)).queue_reminders() == 0


def test_a_bank_whose_expiry_moves_is_reminded_again_before_its_new_expiry(portal):
    bank = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2026-12-20")
    assert portal.queue_reminders() == 1  # to the admin: 27 days left
    portal.top_up_bank(VENDOR, bank["id"], expires_on="2027-03-01")
    assert on(portal, dt.date(2027, 1, 29)).queue_reminders() == 0  # 31 days left: not due yet
    later = on(portal, dt.date(2027, 1, 30))
    assert later.queue_reminders() == 1 and later.queue_reminders() == 0
    subjects = sorted(d["subject"] for d in outbox(portal).values() if d["kind"] == "credits-expiring")
    assert subjects == ["100 credits of Quillstone Animate will be lost on 2026-12-20",
                        "100 credits of Quillstone Animate will be lost on 2027-03-01"]
