"""`?` — every key of the current page, each once, built from the live bindings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from elp_tui.i18n import N_, _
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content

if TYPE_CHECKING:
    from elp_tui.screens.base import Page

# (shown key, what it does, the key names it stands for): the keys of every page.
GENERAL: list[tuple[str, str, tuple[str, ...]]] = [
    ("ctrl+p", N_("Command palette: every page and action"), ("ctrl+p",)),
    ("1-9", N_("Go to a page of the sidebar"), tuple("123456789")),
    ("tab / shift+tab", N_("Next / previous pane: sidebar, filter, table, second table"), ("tab", "shift+tab")),
    ("\\", N_("Hide or show the sidebar"), ("backslash",)),
    ("/", N_("Filter the rows of this page"), ("slash",)),
    ("escape", N_("Back, or clear the filter or the marks"), ("escape",)),
    ("j / k", N_("Down / up in a table or the sidebar"), ("j", "k", "down", "up")),
    ("g / G", N_("First / last row"), ("g", "G")),
    ("pgup / pgdn", N_("A page up / down"), ("pageup", "pagedown")),
    ("r", N_("Refresh this page"), ("r",)),
    ("? / f1", N_("This help"), ("question_mark", "f1")),
    ("ctrl+q", N_("Quit"), ("ctrl+q",)),
]


class HelpScreen(TranslatedBindings, ModalScreen[None]):
    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss_help", N_("Close"))]

    def __init__(self, under: Screen, page: "Page | None" = None, pages: int = 9):
        """`under`: the screen whose keys are listed; `page`: the page in view on it (None: a
        dialog); `pages`: how many pages the sidebar has (1-9 go to them)."""
        super().__init__()
        self.under = under
        self.page = page
        self.pages = pages

    def _page(self) -> "Page | None":
        return self.page

    def _page_keys(self) -> list[tuple[str, str, str]]:
        """(keys, description, command id) of the page's own actions, then of its tables; a key
        listed with every page's keys (GENERAL) is not listed again."""
        from elp_tui.screens.base import Page

        general = {key for _shown, _text, keys in GENERAL for key in keys}
        grouped: dict[tuple[int, str], tuple[int, list[str], str, str]] = {}
        for key, active in self.under.active_bindings.items():
            binding = active.binding
            if key in general or not binding.description or binding.system:
                continue
            if binding.action.startswith(("scroll_", "page_")) or binding.action in ("app.help", "app.quit"):
                continue
            rank = 0 if isinstance(active.node, Page) else 1
            where = (id(active.node), binding.action)
            _rank, keys, description, command_id = grouped.get(where, (rank, [], binding.description, binding.id or ""))
            keys.append(self.app.get_key_display(binding))
            grouped[where] = (rank, keys, description, command_id if isinstance(active.node, Page) else "")
        ordered = sorted(grouped.values(), key=lambda item: item[0])
        return [(" / ".join(dict.fromkeys(keys)), description, command_id) for _rank, keys, description, command_id in ordered]

    def _filter_text(self) -> str:
        """What `/` matches on this page: the columns of the table it narrows."""
        from elp_tui.widgets.filter import FilterBar

        page = self._page()
        bars = list(page.query(FilterBar).results()) if page is not None else []
        if not bars:
            return _("Filter: this page has nothing to filter")
        columns = ", ".join(_(column.label) for column in bars[0].table.columns)
        return _("Filter: keeps the rows where any of {columns} contains the text (any case)").format(columns=columns)

    def compose(self) -> ComposeResult:
        page = self._page()
        with VerticalScroll():
            if page is not None:
                heading = _("Help · {page}").format(page=_(page.TITLE))
            else:
                heading = _("Help")
            yield Static(content(heading), id="help-heading")
            yield Static(content(_("Keys of every page")), classes="help-title")
            pages = self.pages
            for key, text, _keys in GENERAL:
                if key == "1-9":
                    key = "1" if pages == 1 else f"1-{min(pages, 9)}"
                yield self._row(key, self._filter_text() if key == "/" else _(text))
            own = self._page_keys()
            if own:
                yield Static(content(_("On this page")), classes="help-title")
                for key, text, command_id in own:
                    yield self._row(key, text, command_id)
            yield Static(
                content(_('Your own keys: in the settings file, "keys": {example} (the ids are on the right).').format(
                    example='{"licenses.renew": "n"}')),
                classes="help-note",
            )
            yield Static(content(_("The mouse works too: click the sidebar, rows, buttons and column headers.")), classes="help-note")

    @staticmethod
    def _row(key: str, text: str, command_id: str = "") -> Horizontal:
        return Horizontal(
            Static(content(key), classes="help-key"), Static(content(text), classes="help-text"),
            Static(content(command_id), classes="help-id"), classes="help-row",
        )

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
