"""elp outbox …, elp org language: what ELP has to send, and the language it writes in."""

from __future__ import annotations

from elp_tui.cli.console import Column, only, plain
from elp_tui.cli.session import Session
from elp_tui.config import smtp_settings
from elp_tui.i18n import _

MAIL_KEYS = ("id", "created_on", "to", "kind", "language", "subject", "state", "attempts", "last_error",
             "next_attempt_at", "sending_since", "sent_at", "message_id", "stuck")

MAIL_COLUMNS = (
    Column("id", "ID", right=True),
    Column("created_on", "QUEUED"),
    Column("to", "TO", flex=True),
    Column("kind", "KIND", drop=3),
    Column("state", "STATE", show=lambda v: v),
    Column("attempts", "TRIES", right=True, drop=2),
    Column("subject", "SUBJECT", flex=True, drop=1),
    Column("last_error", "LAST ERROR", flex=True, show=lambda v: v or ""),
)


def _state(row: dict) -> str:
    return "sending (stuck?)" if row.get("stuck") else row["state"]


def outbox_send(s: Session) -> int:
    """Queue today's reminders and deliver what is due. No SMTP server configured: the reminders
    are queued all the same (they wait with the rest), nothing is sent, and it says so."""
    settings = smtp_settings()
    reminders = s.portal.queue_reminders()
    if settings is None:
        waiting = s.portal.mail_due()
        s.console.line(_(
            "{reminders} reminder(s) queued; no SMTP server is configured, so nothing was sent: set ELP_SMTP_HOST "
            "and ELP_MAIL_FROM, or the \"smtp\" section of the config file. {n} message(s) wait in the outbox."
        ).format(reminders=reminders, n=waiting))
        return 0
    from elp_tui.mailer import SmtpTransport  # smtplib and ssl only for the command that sends

    with SmtpTransport(settings) as transport:
        report = s.portal.deliver_outbox(transport)
    s.console.line(_(
        "Sent {sent} message(s) through {server}; {retrying} to retry later, {failed} failed; {reminders} reminder(s) queued."
    ).format(sent=len(report.sent), server=plain(settings.describe()), retrying=len(report.retrying),
             failed=len(report.failed), reminders=reminders))
    if report.error:
        s.console.note(f"elp: {plain(report.error)}")
        return 1
    return 0


def outbox_list(s: Session) -> None:
    if s.user and s.user.get("role") == "vendor":  # the vendor's own mail: the requests of every organization
        rows = s.portal.vendor_outbox(s.actor, state=s.args.state)
    else:
        rows = s.portal.outbox(s.actor, state=s.args.state)
    if s.args.json:
        s.console.json([only(r, MAIL_KEYS) for r in rows])
        return
    s.console.table(MAIL_COLUMNS, [{**r, "state": _state(r)} for r in rows])


def outbox_retry(s: Session) -> None:
    retry = s.portal.vendor_retry_mail if s.user and s.user.get("role") == "vendor" else s.portal.retry_mail
    row = retry(s.actor, s.args.mail_id)
    s.console.line(_("Message {id} to {to} is queued again: the next delivery ('elp outbox send', or a running app) sends it.").format(
        id=row["id"], to=plain(row["to"])))


def org_language(s: Session) -> None:
    org = s.portal.set_mail_language(s.actor, s.args.language)
    names = {"en": _("English"), "fr": _("French")}
    if org["changed"]:
        s.console.line(_("Emails of {org} are now written in {language}.").format(org=plain(org["name"]), language=names[org["language"]]))
    else:
        s.console.line(_("Emails of {org} are already written in {language}.").format(org=plain(org["name"]), language=names[org["language"]]))
