"""My Assigned Licenses (placeholder until the page lands)."""

from __future__ import annotations

from textual.app import ComposeResult

from elp_tui.i18n import N_
from elp_tui.screens.base import Page


class MyLicensesPage(Page):
    PAGE_ID = "my-licenses"
    TITLE = N_("My Assigned Licenses")
    ADMIN_ONLY = False

    def compose(self) -> ComposeResult:
        yield self.title_widget()
