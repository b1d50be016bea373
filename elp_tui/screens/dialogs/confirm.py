"""A confirmation: what will change, as the portal quoted it. Nothing is written before Confirm."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from elp_tui.i18n import N_, _
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content


# More credits than this in one confirmation (a year of one computer is 12) is not one stray
# Enter away: the confirmation opens on Cancel.
MANY_CREDITS = 12


def spends_many(credits: int) -> bool:
    return credits > MANY_CREDITS


class ConfirmDialog(TranslatedBindings, ModalScreen[bool]):
    """Rows of (label, value); `y` / Confirm → True, `n` / `escape` / Cancel → False."""

    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    BINDINGS = [
        Binding("y", "confirm", N_("Confirm"), id="dialog.confirm"),
        Binding("n,escape", "cancel", N_("Cancel"), id="dialog.cancel"),
    ]

    def __init__(
        self,
        title: str,
        rows: list[tuple[str, str]],
        *,
        warning: str = "",
        confirm_label: str = N_("Confirm"),
        danger: bool = False,
        careful: bool = False,
    ):
        """`danger`: destructive (a red button, focus on Cancel). `careful`: not destructive but
        not to be confirmed by a stray Enter either (it affects yourself, invites someone new,
        spends many credits): focus on Cancel; `y` or the button still confirm."""
        super().__init__()
        self.title_text = title
        self.rows = rows
        self.warning = warning
        self.confirm_label = confirm_label
        self.danger = danger
        self.careful = careful

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(content(self.title_text), classes="dialog-title")
            for label, value in self.rows:
                with Horizontal(classes="quote-row"):
                    yield Static(content(_(label)), classes="quote-label")
                    yield Static(content(value), classes="quote-value")
            if self.warning:
                yield Static(content(self.warning), classes="dialog-warning", id="dialog-warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Cancel") + " (n)", id="cancel")
                yield Button(_(self.confirm_label) + " (y)", id="confirm", variant="error" if self.danger else "primary")

    def on_mount(self) -> None:
        # A destructive change is never one stray Enter away: focus Cancel (y still confirms).
        self.query_one("#cancel" if self.danger or self.careful else "#confirm", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
