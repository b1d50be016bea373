"""Outbox: the organization's email — queued, sending, sent, failed — with the last error, and a
retry action for a failed (or stuck) message."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from elp_tui.i18n import N_, _
from elp_tui.screens.base import Page
from elp_tui.widgets.commands import Command
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable

STATE_NAMES = {"queued": N_("queued"), "sending": N_("sending"), "sent": N_("sent"), "failed": N_("failed")}


def _state(row: dict[str, Any]) -> str:
    if row.get("stuck"):
        return _("stuck?")
    return _(STATE_NAMES.get(row["state"], row["state"]))


class OutboxPage(Page):
    PAGE_ID = "outbox"
    TITLE = N_("Outbox")
    ADMIN_ONLY = True

    COMMANDS = [
        Command("outbox.retry", "send-again", "retry_mail", N_("Retry"), N_("Send the selected failed or stuck message again")),
    ]

    DEFAULT_CSS = """
    OutboxPage #outbox-table { height: 1fr; min-height: 4; }
    OutboxPage #outbox-detail-box { height: auto; max-height: 10; border-top: solid $panel; }
    OutboxPage #outbox-detail { height: auto; }
    """

    COLUMNS = [
        Column("id", N_("#"), 3, "right", priority=1, fit=True),
        Column("created_on", N_("Queued"), 10),
        Column("to", N_("To"), 28, min_width=18, max_width=32, priority=1),
        Column("state_label", N_("State"), 8, priority=1),
        Column("attempts", N_("Tries"), 5, "right", priority=3),
        Column("subject", N_("Subject"), 40, min_width=20, priority=3),
        Column("last_error", N_("Last error"), 50, format=lambda v: v or "", priority=3),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: list[dict[str, Any]] | None = None  # what the page shows, once loaded

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.COLUMNS, id="outbox-table", muted=lambda r: r["state"] == "sent", sort=("id", True))
        yield self.title_widget()
        yield Static("", id="outbox-note", classes="page-note")
        yield FilterBar(self.table, id="outbox-filter")
        yield self.table
        with VerticalScroll(id="outbox-detail-box", can_focus=False):
            yield Static("", id="outbox-detail")

    # -- data --------------------------------------------------------------------------
    def fetch(self) -> list[dict[str, Any]]:
        if self.elp.is_vendor:  # the vendor's own mail: the requests of every organization
            return self.portal.vendor_outbox(self.me)
        return self.portal.outbox(self.me)

    def show_data(self, data: list[dict[str, Any]]) -> None:
        self.rows = [{**row, "state_label": _state(row)} for row in data]
        self.table.set_rows(self.rows, keep="id")
        counts = {state: sum(1 for r in data if r["state"] == state) for state in STATE_NAMES}
        if self.elp.mail_delivery is None:
            how = _("No SMTP server is configured: messages wait here (queued) until one is, or 'elp outbox send' runs where one is.")
        else:
            how = _("This session delivers through {server}.").format(server=self.elp.mail_delivery.describe())
        self.query_one("#outbox-note", Static).update(content(
            _("{queued} queued, {sending} sending, {sent} sent, {failed} failed. {how}").format(**counts, how=how)))
        self._show_detail(self.table.current_row)

    @on(RecordTable.Highlighted, "#outbox-table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_detail(event.row)

    def _show_detail(self, row: dict[str, Any] | None) -> None:
        text = ""
        if row is not None:
            lines = [f"#{row['id']} · {row['to']} · {row['subject']}",
                     _("State: {state}, {n} attempt(s)").format(state=_state(row), n=row["attempts"])]
            if row.get("sent_at"):
                lines.append(_("Sent at {at}").format(at=row["sent_at"]))
            if row.get("next_attempt_at") and row["state"] == "queued":
                lines.append(_("Next attempt not before {at}").format(at=row["next_attempt_at"]))
            if row.get("stuck"):
                lines.append(_("Its sender stopped while sending it (since {since}): it may have been delivered. "
                               "Check with the recipient, then press i to send it again.").format(since=row["sending_since"]))
            if row.get("last_error"):
                lines.append(_("Last error: {error}").format(error=row["last_error"]))
            lines += ["", row.get("body") or ""]
            text = "\n".join(lines)
        self.query_one("#outbox-detail", Static).update(content(text))

    # -- acting ------------------------------------------------------------------------
    def action_retry_mail(self) -> None:
        row = self.table.current_row
        if row is None:
            self.notify(_("Select a message first."), timeout=3, markup=False)
            return
        self._retry(row["id"])

    @work(exclusive=True, group="outbox-flow")
    async def _retry(self, mail_id: int) -> None:
        row = await self.call_portal((self.portal.vendor_retry_mail if self.elp.is_vendor else self.portal.retry_mail), self.me, mail_id)
        if row is not None:
            self.done(_("Message {id} to {to} is queued again.").format(id=row["id"], to=row["to"]))
            self.elp.deliver_mail_now()
