"""`?` — every key of the current page, built from the live bindings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from elp_tui.i18n import N_, _
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content

GENERAL = [
    ("ctrl+p", N_("Command palette: every page and action")),
    ("1-8", N_("Go to a page of the sidebar")),
    ("tab / shift+tab", N_("Next / previous pane")),
    ("\\", N_("Hide or show the sidebar")),
    ("/", N_("Filter the rows of this page")),
    ("escape", N_("Back, or clear the filter")),
    ("j / k", N_("Down / up in a table")),
    ("g / G", N_("First / last row")),
    ("o", N_("Sort by the next column (again: reverse); click a header to sort by it")),
    ("r", N_("Refresh this page")),
    ("?", N_("This help")),
    ("ctrl+q", N_("Quit")),
]


class HelpScreen(TranslatedBindings, ModalScreen[None]):
    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss_help", N_("Close"))]

    def __init__(self, under: Screen):
        super().__init__()
        self.under = under

    def _page_keys(self) -> list[tuple[str, str]]:
        """The page's own actions first; scrolling keys (listed above) left out."""
        from elp_tui.screens.base import Page

        seen: dict[str, tuple[int, str]] = {}
        for active in self.under.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.system or binding.action.startswith(("scroll_", "page_")):
                continue
            display = binding.key_display or self.app.get_key_display(binding)
            rank = 0 if isinstance(active.node, Page) else 1
            if binding.description not in seen or rank < seen[binding.description][0]:
                seen[binding.description] = (rank, display)
        ordered = sorted(seen.items(), key=lambda item: item[1][0])
        return [(display, description) for description, (_rank, display) in ordered]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(content(_("Keys")), classes="help-title")
            pages = len(getattr(self.app, "allowed_pages", lambda: [None] * 8)())
            for key, text in GENERAL:
                if key == "1-8":
                    key = "1" if pages == 1 else f"1-{pages}"
                yield self._row(key, _(text))
            yield Static(content(_("On this page")), classes="help-title")
            for key, text in self._page_keys():
                yield self._row(key, text)
            yield Static(content(_("The mouse works too: click the sidebar, rows, buttons and column headers.")), classes="help-title")

    @staticmethod
    def _row(key: str, text: str) -> Horizontal:
        return Horizontal(Static(content(key), classes="help-key"), Static(content(text), classes="help-text"), classes="help-row")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
