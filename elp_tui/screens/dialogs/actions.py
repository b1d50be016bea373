"""The row's action menu (the portal's "user action dropdown"): Enter on a row opens it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from elp_tui.i18n import N_
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content


class ActionMenu(TranslatedBindings, ModalScreen[str | None]):
    """Choices of (action id, label, key, why-not or None); dismisses with the chosen action id."""

    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="dialog.cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str, str, str | None]]):
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        options = []
        for action, label, key, why_not in self.choices:
            text = f"{key}  {label}" + (f" — {why_not}" if why_not else "")
            options.append(Option(content(text), id=action, disabled=why_not is not None))
        with Vertical():
            yield Static(content(self.title_text), classes="dialog-title")
            yield OptionList(*options, id="actions")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event) -> None:  # noqa: ANN001 - textual.events.Key
        """The key shown beside an action runs it directly, as it does on the page."""
        for action, _label, key, why_not in self.choices:
            if event.key == key and why_not is None:
                event.stop()
                self.dismiss(action)
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)

