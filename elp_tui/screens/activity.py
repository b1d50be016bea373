"""Activity: the append-only log, newest first, filterable."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from elp_tui.i18n import N_, _
from elp_tui.portal.tokens import via_token
from elp_tui.screens.base import Page
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable


def _signed(value: Any) -> str:
    return "" if not value else f"{value:+d}"


def short_fingerprint(value: Any) -> str:
    """`SHA256:abcdefgh…`: the SSH key an entry came through, short enough for a column ('' locally);
    `token:tok-0001` for an API token."""
    if not value:
        return ""
    return str(value) if len(str(value)) <= 16 else str(value)[:15] + "…"


class ActivityPage(Page):
    PAGE_ID = "activity"
    TITLE = N_("Activity")

    COLUMNS = [
        Column("seq", N_("#"), 3, "right", priority=1, fit=True),  # as wide as the newest number
        Column("on", N_("Date"), 10, priority=1),
        Column("actor", N_("Who"), 28, min_width=16, max_width=40),
        Column("action", N_("Action"), 6, priority=1, fit=True),
        Column("target", N_("Target"), 20, min_width=12),
        Column("credits", N_("Credits"), 7, "right", _signed, priority=3),
        Column("seats", N_("Seats"), 5, "right", _signed, priority=3),
        Column("via", N_("Via key"), 16, format=short_fingerprint, priority=4),
        Column("details", N_("Details"), 70, min_width=20, priority=3),
    ]

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.COLUMNS, id="activity-table", sort=("seq", True))
        yield self.title_widget()
        yield FilterBar(self.table, id="activity-filter")
        yield self.table
        yield Static("", id="activity-detail", classes="activity-detail")
        yield Static("", id="activity-count", classes="page-note")

    DEFAULT_CSS = """
    ActivityPage .activity-detail { height: auto; max-height: 5; border-top: solid $panel; padding: 0 1; }
    """

    def on_record_table_highlighted(self, event: RecordTable.Highlighted) -> None:
        row = event.row
        text = ""
        if row is not None:
            text = f"#{row['seq']} {row['at']} · {row['actor']} · {row['action']} {row.get('target', '')}"
            if via_token(row.get("via")):
                text += "\n" + _("via API token {id}").format(id=via_token(row["via"]))
            elif row.get("via"):
                text += "\n" + _("via SSH key {fingerprint}").format(fingerprint=row["via"])
            text += f"\n{row.get('details', '')}"
        self.query_one("#activity-detail", Static).update(content(text))

    def fetch(self) -> list[dict[str, Any]]:
        return self.portal.activity(self.me)

    def show_data(self, data: list[dict[str, Any]]) -> None:
        self.table.set_rows(data, keep="seq")
        self.query_one("#activity-count", Static).update(
            content(_("{n} entries, newest first").format(n=len(data)))
        )
