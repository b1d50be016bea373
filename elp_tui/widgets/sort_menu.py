"""The `o` menu of a table: which column to sort by. Enter on the column already sorted turns
the order round; the digit beside a column chooses it at once."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from elp_tui.i18n import N_, _
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content


class SortMenu(TranslatedBindings, ModalScreen[tuple[str, bool] | None]):
    """Columns as (key, translated label); dismisses with (key, descending) or None."""

    DEFAULT_CLASSES = "dialog"  # the modal frame: elp.tcss
    BINDINGS = [Binding("escape,o", "cancel", N_("Cancel"), id="sort.cancel")]

    def __init__(self, columns: list[tuple[str, str]], current: str | None, descending: bool):
        super().__init__()
        self.columns = columns
        self.current = current
        self.descending = descending

    def compose(self) -> ComposeResult:
        options = []
        for number, (key, label) in enumerate(self.columns, start=1):
            mark = ""
            if key == self.current:
                mark = "  ▼" if self.descending else "  ▲"
            digit = str(number) if number <= 9 else " "
            options.append(Option(content(f"{digit}  {label}{mark}"), id=key))
        with Vertical():
            yield Static(content(_("Sort by")), classes="dialog-title")
            yield OptionList(*options, id="sort-columns")
            yield Static(content(_("enter: sort by this column (again: reverse) · escape: cancel")), classes="dialog-note")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        keys = [key for key, _label in self.columns]
        options.highlighted = keys.index(self.current) if self.current in keys else 0
        options.focus()

    def _choose(self, key: str) -> None:
        descending = (not self.descending) if key == self.current else False
        self.dismiss((key, descending))

    def on_key(self, event) -> None:  # noqa: ANN001 - textual.events.Key
        if event.character and event.character.isdigit() and event.character != "0":
            index = int(event.character) - 1
            if index < len(self.columns):
                event.stop()
                self._choose(self.columns[index][0])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._choose(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
