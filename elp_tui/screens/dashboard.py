"""Dashboard (placeholder until the page lands)."""

from __future__ import annotations

from textual.app import ComposeResult

from elp_tui.i18n import N_
from elp_tui.screens.base import Page


class DashboardPage(Page):
    PAGE_ID = "dashboard"
    TITLE = N_("Dashboard")
    ADMIN_ONLY = True

    def compose(self) -> ComposeResult:
        yield self.title_widget()
