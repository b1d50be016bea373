"""Requests to the vendor as the screens show them: one table of requests and their state, used
by Manage Banks (credits), Teams (seats) and the vendor's desk (every organization's)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from elp_tui.i18n import N_, _
# The portal's names: the details and `elp banks show` name a request's state the same way.
from elp_tui.portal.names import REQUEST_STATE_NAMES as STATE_NAMES
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable



def state_label(state: Any) -> str:
    return _(STATE_NAMES.get(str(state), str(state)))


def answer_text(request: dict[str, Any]) -> str:
    """What the vendor answered, in a few words: "50 to BK-0003 on 2026-11-24", "too many", ""."""
    if request.get("state") == "granted":
        return _("{n} to {target} on {day}").format(
            n=request.get("granted"), target=request.get("granted_target") or request.get("target"),
            day=request.get("answered_on") or "")
    if request.get("state") == "declined":
        return request.get("reason") or _("no reason given")
    return _("waiting for the vendor")


def request_rows(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "answer": answer_text(r)} for r in requests]


class RequestsPanel(Vertical):
    """A heading and the requests of one kind, newest first; hidden while there are none."""

    COLUMNS = [
        Column("id", N_("#"), 3, "right", priority=1, fit=True),
        Column("on", N_("Asked on"), 10),
        Column("target", N_("For"), 9, priority=1),
        Column("product", N_("Product"), 18, min_width=12),
        Column("amount", N_("Wanted"), 6, "right", priority=1),
        Column("state", N_("State"), 9, format=state_label, priority=1),
        Column("answer", N_("Answer"), 28, min_width=16),
        Column("actor", N_("Asked by"), 24, priority=3),
    ]

    def __init__(self, kind: str, heading: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.heading = heading
        self.table = RecordTable(self.COLUMNS, id=f"{self.id or 'requests'}-table", flex="answer", flex_max=50,
                                 muted=lambda r: r.get("state") != "requested")

    def compose(self) -> ComposeResult:
        yield Static("", classes="requests-heading")
        yield self.table

    def show(self, requests: list[dict[str, Any]]) -> None:
        mine = [r for r in requests if r.get("kind") == self.kind]
        waiting = sum(1 for r in mine if r.get("state") == "requested")
        self.display = bool(mine)
        self.query_one(".requests-heading", Static).update(content(
            _("{heading}: {n} waiting for the vendor, {m} answered").format(
                heading=_(self.heading), n=waiting, m=len(mine) - waiting)
        ))
        self.table.set_rows(request_rows(mine), keep="id")
