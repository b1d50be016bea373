"""The `/` filter: narrows a RecordTable as you type; escape clears it.

While a filter is typed, its frame says "N of M shown" (the same words on every page), and the
table says "no rows match" when none does."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

from elp_tui.i18n import N_, _
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import SafeDisplay
from elp_tui.widgets.table import RecordTable


class FilterBar(TranslatedBindings, Input):
    DEFAULT_CSS = """
    FilterBar { height: 3; margin: 0 0 0 0; }
    """
    BINDINGS = [Binding("escape", "clear", N_("Clear filter"))]

    def __init__(self, table: RecordTable, **kwargs):
        super().__init__(placeholder=_("/ filter: type to narrow the rows, escape to clear"), classes="filter",
                         highlighter=SafeDisplay(), **kwargs)
        self.table = table

    def on_mount(self) -> None:
        self.watch(self.table, "counts", self._show_counts)

    def _show_counts(self, counts: tuple[int, int]) -> None:
        self.border_subtitle = self.counts_text(self.table.filter_text, *counts)

    @staticmethod
    def counts_text(needle: str, shown: int, total: int) -> str:
        if not needle:
            return ""
        if not shown:
            return _("no rows match")
        return _("{shown} of {total} shown").format(shown=shown, total=total)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.table.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def action_clear(self) -> None:
        if self.value:
            self.value = ""
        self.table.focus()
