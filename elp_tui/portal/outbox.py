"""The outbox: what ELP has to send, its delivery state, reminders, the organization's mail language.

Messages are queued in the transaction of the change that causes them (PortalBase._queue). This
module delivers them, at most once:

1. **claim** one due message (state queued, its next attempt due) by setting it to "sending"
   (with `sending_since`) in a transaction, under the store's lock, BEFORE talking to the server;
   two senders at once (two app sessions, a cron job) can never claim the same message;
2. **send** it (outside the lock: the store is never held while the network is slow);
3. **mark** it "sent", or back to "queued" with `attempts`+1, `last_error` and a `next_attempt_at`
   further away each time (backoff), or "failed" after `MAX_ATTEMPTS` or a permanent refusal.

A sender killed between 1 and 3 leaves its message "sending": it is never sent again by itself
(the server may have accepted it: sending it again could deliver it twice). After
`SENDING_STALE` the Outbox page and `elp outbox list` show it as stuck, and an admin who checked
with the recipient may `retry` it.

The transport (SMTP: elp_tui/mailer.py) is given to `deliver_outbox`; the portal never imports it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from elp_tui.i18n import _
from elp_tui.models import MailState, Role, UserStatus
from elp_tui.portal import mail
from elp_tui.portal.base import (
    MAX_NAME, T_BANKS, T_LEDGER, T_LICENSES, T_ORGS, T_OUTBOX, T_USERS, T_VENDORS, PortalBase, check_text,
)
from elp_tui.portal.errors import InvalidInput, NotFound, RuleViolation
from elp_tui.portal.authority import vendor_only
from elp_tui.store.repository import Transaction, View

MAX_ATTEMPTS = 8
# Minutes to wait after the 1st, 2nd, ... failed attempt (the last one repeats): about 29 hours
# from the first attempt to the 8th, so a server down for a day loses nothing.
BACKOFF_MINUTES = (1, 5, 15, 60, 240, 720)
# A message "sending" for longer than this was left by a sender that died (or hangs): shown as stuck.
SENDING_STALE = dt.timedelta(minutes=10)
# Reminders: 30 and 7 days before a bank loses its credits, before a license expires.
REMINDER_DAYS = (30, 7)
MAIL_STATES = tuple(state.value for state in MailState)


class DeliveryError(Exception):
    """The transport could not deliver a message. `permanent`: the server refused it for good
    (e.g. unknown recipient, a header that would inject): retrying cannot help. `connection`: the
    server could not be reached at all: the other due messages would fail the same way."""

    def __init__(self, message: str, *, permanent: bool = False, connection: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.connection = connection


class Transport(Protocol):
    def send(self, message: dict[str, Any]) -> None:
        """Deliver one outbox document, or raise DeliveryError."""


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)  # failed this time, queued again with backoff
    failed: list[int] = field(default_factory=list)  # given up
    error: str | None = None  # the last error, if any


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return dt.timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def is_stuck(doc: dict[str, Any], now: dt.datetime) -> bool:
    """Left "sending" for longer than SENDING_STALE: its sender died (maybe after the server took it)."""
    since = doc.get("sending_since")
    return doc.get("state") == MailState.sending.value and (since is None or since <= _iso(now - SENDING_STALE))


def _due(doc: dict[str, Any], now_iso: str) -> bool:
    return doc["state"] == MailState.queued.value and (doc.get("next_attempt_at") or "") <= now_iso


class OutboxMixin(PortalBase):
    # -- time --------------------------------------------------------------------------------
    def _moment(self) -> dt.datetime:
        """Now, on the portal's clock (the date is the portal's today, the time the wall clock's)."""
        if self._now is not None:
            return self._now()
        return dt.datetime.combine(self.today(), dt.datetime.now().time()).replace(microsecond=0)

    # -- what admins see and do ---------------------------------------------------------------
    def _mail_row(self, doc: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        row = {k: doc.get(k) for k in ("id", "to", "subject", "kind", "language", "state", "attempts", "last_error",
                                        "next_attempt_at", "sending_since", "sent_at", "message_id", "body")}
        row["created_on"] = doc["created_on"]
        row["stuck"] = is_stuck(doc, now)
        return row

    def outbox(self, actor: str, state: str | None = None) -> list[dict[str, Any]]:
        """The organization's mail (every message its changes queued), newest first; `state`:
        only queued / sending / sent / failed ones."""
        if state is not None and state not in MAIL_STATES:
            raise InvalidInput(_("{state!r} is not a mail state: use queued, sending, sent or failed.").format(state=state))
        db = self.store.read()
        me = self._actor(db, actor)
        docs = db.find(T_OUTBOX, organization=me["organization"], **({"state": state} if state else {}))
        docs.sort(key=lambda d: d["id"], reverse=True)
        now = self._moment()
        return [self._mail_row(d, now) for d in docs]

    @staticmethod
    def _is_vendor_mail(db: View) -> Any:
        """Whether a message is the vendor's: to one of the vendor's addresses (the requests of every
        organization), or of no organization."""
        addresses = {v["email"] for v in db.all(T_VENDORS)}
        return lambda d: d["to"] in addresses or not d.get("organization")

    def _vendor_outbox_rows(self, db: View, state: str | None = None) -> list[dict[str, Any]]:
        """The vendor's mail (`_is_vendor_mail`), newest first: what a vendor's Outbox shows."""
        docs = db.find(T_OUTBOX, self._is_vendor_mail(db), **({"state": state} if state else {}))
        docs.sort(key=lambda d: d["id"], reverse=True)
        now = self._moment()
        return [self._mail_row(d, now) for d in docs]

    @vendor_only
    def vendor_outbox(self, actor: str, state: str | None = None) -> list[dict[str, Any]]:
        """The vendor's Outbox: the requests of every organization mailed to the vendor, newest first."""
        if state is not None and state not in MAIL_STATES:
            raise InvalidInput(_("{state!r} is not a mail state: use queued, sending, sent or failed.").format(state=state))
        db = self.store.read()
        self._vendor_actor(db, actor)
        return self._vendor_outbox_rows(db, state)

    @staticmethod
    def _mail_by_id(db: View, mail_id: Any) -> dict[str, Any] | None:
        text = check_text(str(mail_id).strip(), _("The message ID"), limit=MAX_NAME).lstrip("#")
        return db.get(T_OUTBOX, id=int(text)) if text.isdigit() and len(text) < 12 else None

    def _org_mail(self, db: View, me: dict[str, Any], mail_id: Any) -> dict[str, Any]:
        doc = self._mail_by_id(db, mail_id)
        if doc is None or doc.get("organization") != me["organization"]:
            raise NotFound(_("No message {id} in your organization's outbox: 'elp outbox list' shows them.").format(id=mail_id))
        return doc

    def retry_mail(self, actor: str, mail_id: Any) -> dict[str, Any]:
        """Send a message again at the next delivery: a failed one, a queued one waiting for its
        backoff, or one stuck "sending" (its sender died; it may have been delivered already:
        the admin checked). Attempts start again from zero."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            return self._retry(db, me, self._org_mail(db, me, mail_id))

    @vendor_only
    def vendor_retry_mail(self, actor: str, mail_id: Any) -> dict[str, Any]:
        """`retry_mail` for the vendor's own mail (`vendor_outbox`)."""
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            doc = self._mail_by_id(db, mail_id)
            if doc is None or not self._is_vendor_mail(db)(doc):
                raise NotFound(_("No message {id} in the vendor's outbox: 'elp outbox list' shows them.").format(id=mail_id))
            return self._retry(db, {**me, "organization": None}, doc)

    def _retry(self, db: Transaction, me: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
        now = self._moment()
        if doc["state"] == MailState.sent.value:
            raise RuleViolation(_("Message {id} was sent on {at}: there is nothing to retry.").format(
                id=doc["id"], at=doc.get("sent_at") or "?"))
        if doc["state"] == MailState.sending.value and not is_stuck(doc, now):
            raise RuleViolation(_(
                "Message {id} is being sent right now (since {since}): wait for it. If it is still "
                "'sending' after {minutes} minutes, its sender stopped and you can retry it."
            ).format(id=doc["id"], since=doc.get("sending_since"), minutes=int(SENDING_STALE.total_seconds() // 60)))
        db.update(T_OUTBOX, {"state": MailState.queued.value, "attempts": 0, "next_attempt_at": None,
                             "sending_since": None}, id=doc["id"])
        self._log(db, me["organization"], me["email"], "mail-retry", str(doc["id"]),
                  f"{doc['state']} -> queued: {doc['kind']} to {doc['to']}")
        return self._mail_row(db.get(T_OUTBOX, id=doc["id"]) or doc, now)

    def set_mail_language(self, actor: str, language: str) -> dict[str, Any]:
        """The language (en / fr) of the emails the organization's members and admins receive."""
        lang = check_text((language or "").strip().lower(), _("The language"), limit=8)
        if lang not in mail.LANGUAGES:
            raise InvalidInput(_("{lang!r} is not a mail language: use en (English) or fr (French).").format(lang=language))
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            org = db.get(T_ORGS, id=me["organization"])
            assert org is not None
            before = org.get("language") or "en"
            if before != lang:
                db.update(T_ORGS, {"language": lang}, id=org["id"])
                self._log(db, org["id"], me["email"], "mail-language", org["id"], f"emails in {before} -> {lang}")
            return {"organization": org["id"], "name": org["name"], "language": lang, "changed": before != lang}

    # -- reminders (no actor: run by the sender, `elp outbox send` or the app's worker) ----------
    def _reminders(self, db: View, queued_before: set[str]) -> list[mail.Message]:
        """Every reminder due today, whether or not it was queued before (`_queue` skips those);
        `queued_before`: the keys already in the outbox (a license is in an admin's digest the day
        its reminder to its user is new)."""
        today = self.today()
        today_iso = today.isoformat()
        messages: list[mail.Message] = []

        def threshold(expires_on: str) -> tuple[int, int] | None:
            left = (dt.date.fromisoformat(expires_on) - today).days
            if left <= 0:
                return None
            for days in sorted(REMINDER_DAYS):
                if left <= days:
                    return days, left
            return None

        orgs = {o["id"]: o for o in db.all(T_ORGS)}
        users = db.all(T_USERS)
        active = {u["email"] for u in users if u["status"] == UserStatus.active.value}
        admins: dict[str, list[str]] = {}
        for u in users:
            if u["role"] == Role.admin.value and u["status"] == UserStatus.active.value and u.get("organization"):
                admins.setdefault(u["organization"], []).append(u["email"])
        used = db.sums(T_LEDGER, "credits", by="bank")
        horizon = (today + dt.timedelta(days=max(REMINDER_DAYS))).isoformat()

        def near(doc: dict[str, Any]) -> bool:  # expires within the longest reminder's days, not yet
            return today_iso < doc["expires_on"] <= horizon

        for bank in db.find(T_BANKS, near, copy=False):
            due = threshold(bank["expires_on"])
            org = orgs.get(bank["organization"])
            if due is None or org is None:
                continue
            row = self._bank_row(bank, used.get(bank["id"], 0))  # type: ignore[attr-defined]
            if row["remaining"] <= 0:
                continue
            for to in sorted(admins.get(org["id"], [])):
                messages.append(mail.credits_expiring(org.get("language") or "en", org_id=org["id"], org=org["name"], to=to,
                                                      bank=row, days=due[0], left=due[1]))
        # Each license's user gets their own reminder; the admins get one digest a day of the
        # licenses whose reminder is new today (thousands of licenses must not be thousands of emails).
        digest: dict[str, list[tuple[dict[str, Any], int, int]]] = {}
        for lic in db.find(T_LICENSES, near, copy=False):
            if not lic.get("assignee"):
                continue
            due = threshold(lic["expires_on"])
            org = orgs.get(lic["organization"])
            if due is None or org is None:
                continue
            if mail.license_reminder_key(lic, due[0], lic["assignee"]) in queued_before:
                continue  # reminded before, with its admins
            if lic["assignee"] in active:
                messages.append(mail.license_expiring(org.get("language") or "en", org_id=org["id"], org=org["name"],
                                                      to=lic["assignee"], license=lic, days=due[0], left=due[1]))
            digest.setdefault(org["id"], []).append((lic, due[0], due[1]))
        for org_id, licenses in digest.items():
            org = orgs[org_id]
            for to in sorted(admins.get(org_id, [])):
                messages.append(mail.licenses_expiring_digest(org.get("language") or "en", org_id=org_id, org=org["name"],
                                                              to=to, day=today_iso, licenses=licenses))
        return messages

    def queue_reminders(self) -> int:
        """Queue the reminders due today that were not queued before (each is sent once: its
        Message.key); how many. Writes nothing when there are none."""
        def keys(view: View) -> set[str]:
            return {d["key"] for d in view.find(T_OUTBOX, lambda d: d.get("key") is not None, copy=False)}

        db = self.store.read()
        before = keys(db)
        if all(m.key in before for m in self._reminders(db, before)):
            return 0
        queued = 0
        with self.store.transaction() as tx:
            before = keys(tx)
            for message in self._reminders(tx, before):
                if message.key not in before:  # known here once, not looked up per message
                    self._queue(tx, message, check_key=False)
                    before.add(message.key)  # type: ignore[arg-type]
                    queued += 1
        return queued

    # -- delivery (no actor: the machine that holds the SMTP settings) -----------------------
    def mail_due(self, now: dt.datetime | None = None) -> int:
        """How many messages a delivery would try now."""
        now_iso = _iso(now or self._moment())
        db = self.store.read()
        return sum(1 for d in db.find(T_OUTBOX, state=MailState.queued.value) if _due(d, now_iso))

    def _claim(self, now: dt.datetime) -> dict[str, Any] | None:
        """The oldest due message, now "sending" (committed before anyone talks to a server);
        None when nothing is due. Under the store's lock: two senders never claim one message."""
        now_iso = _iso(now)
        if not any(_due(d, now_iso) for d in self.store.read().find(T_OUTBOX, state=MailState.queued.value)):
            return None
        with self.store.transaction() as db:
            due = [d for d in db.find(T_OUTBOX, state=MailState.queued.value) if _due(d, now_iso)]
            if not due:
                return None
            doc = min(due, key=lambda d: d["id"])
            db.update(T_OUTBOX, {"state": MailState.sending.value, "sending_since": now_iso}, id=doc["id"])
            claimed = dict(db.get(T_OUTBOX, id=doc["id"]) or doc)
            if claimed.get("enrol"):
                claimed["body"] = self._enrolment_body(db, claimed)
            return claimed

    def _enrolment_body(self, db: Transaction, doc: dict[str, Any]) -> str:
        """An invitation as it goes out: a new enrolment code for the invited member (its hash
        stored in this claim's transaction, replacing any earlier one) written into the body that
        leaves; the stored body keeps its mask. A member already active needs none."""
        user = db.get(T_USERS, email=doc["enrol"])
        if user is None or user["status"] != "invited":
            return mail.fill_enrolment(doc["body"], doc.get("language") or "en", None, None)
        code, expires = self._issue_code(db, user["email"])  # type: ignore[attr-defined]
        return mail.fill_enrolment(doc["body"], doc.get("language") or "en", code, expires.isoformat())

    def _mark_sent(self, doc: dict[str, Any], now: dt.datetime) -> None:
        with self.store.transaction() as db:
            db.update(T_OUTBOX, {"state": MailState.sent.value, "sent_at": _iso(now), "attempts": doc["attempts"] + 1,
                                 "last_error": None, "next_attempt_at": None}, id=doc["id"])

    def _mark_failed(self, docs: list[dict[str, Any]], error: str, now: dt.datetime, *, permanent: bool,
                     report: DeliveryReport) -> None:
        """One failed attempt for each of `docs` (the claimed one, and on a connection error
        every other due one): queued again after a backoff, or failed for good."""
        with self.store.transaction() as db:
            for doc in docs:
                fresh = db.get(T_OUTBOX, id=doc["id"])
                if fresh is None or fresh["state"] not in (MailState.sending.value, MailState.queued.value):
                    continue
                attempts = fresh["attempts"] + 1
                give_up = permanent or attempts >= MAX_ATTEMPTS
                db.update(T_OUTBOX, {
                    "state": (MailState.failed if give_up else MailState.queued).value,
                    "attempts": attempts,
                    "last_error": error[:500],
                    "next_attempt_at": None if give_up else _iso(now + backoff(attempts)),
                    "sending_since": None,
                }, id=doc["id"])
                (report.failed if give_up else report.retrying).append(doc["id"])
        report.error = error

    def deliver_outbox(self, transport: Transport, *, now: dt.datetime | None = None,
                       limit: int | None = None) -> DeliveryReport:
        """Deliver every due message through `transport`, one at a time: claim, send, mark (see
        the module docstring). A connection error stops the run: the due messages wait for
        their next attempt; so does an error the transport did not foresee (the message is queued
        again with it, never left "sending"). Never raises for a message that cannot be delivered."""
        report = DeliveryReport()
        while limit is None or len(report.sent) + len(report.retrying) + len(report.failed) < limit:
            moment = now or self._moment()
            doc = self._claim(moment)
            if doc is None:
                break
            try:
                transport.send(doc)
            except DeliveryError as exc:
                others: list[dict[str, Any]] = []
                if exc.connection:
                    now_iso = _iso(moment)
                    others = [d for d in self.store.read().find(T_OUTBOX, state=MailState.queued.value)
                              if _due(d, now_iso) and d["id"] != doc["id"]]
                self._mark_failed([doc, *others], str(exc), moment, permanent=exc.permanent, report=report)
                if exc.connection:
                    break
            except Exception as exc:  # noqa: BLE001 - a transport's surprise never leaves the message "sending"
                # Not a DeliveryError: the transport failed in a way it did not foresee. The
                # message goes back to the queue (retried after a backoff) with the error, and
                # the run stops: the connection is in an unknown state.
                error = _("unexpected error while sending: {error}").format(error=f"{type(exc).__name__}: {exc}")
                self._mark_failed([doc], error, moment, permanent=False, report=report)
                break
            else:
                self._mark_sent(doc, moment)
                report.sent.append(doc["id"])
        return report
