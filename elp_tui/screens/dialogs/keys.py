"""The Users page's form for an SSH public key: one pasted .pub line, checked as it is typed.

The check is the portal's own parser (`parse_public_key`): the same words as `elp keys add`.
Who may get the key, and whether it is bound already, is the portal's quote, after this form.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from elp_tui.i18n import N_, _
from elp_tui.portal.errors import PortalError
from elp_tui.portal.keys import parse_public_key
from elp_tui.screens.dialogs.form import FormInput
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import SafeDisplay, content


class PublicKeyDialog(TranslatedBindings, ModalScreen[str | None]):
    """Dismisses with the pasted text once it reads as one public key; None on cancel."""

    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    BINDINGS = [
        Binding("ctrl+s", "submit", N_("Submit"), id="dialog.submit"),
        Binding("escape", "cancel", N_("Cancel"), id="dialog.cancel"),
    ]

    def __init__(self, email: str, value: str = ""):
        super().__init__()
        self.email = email
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(content(_("Add an SSH key for {email}").format(email=self.email)), classes="dialog-title")
            yield Static(content(_(
                "Paste the one line of their public key file (for example ~/.ssh/id_ed25519.pub): "
                "'ssh-ed25519 AAAA… name@computer'. Over SSH this key then signs in as {email}, with no "
                "password. Never paste a private key.").format(email=self.email)), classes="dialog-note")
            yield FormInput(value=self.value, id="key-text", placeholder="ssh-ed25519 AAAA… ana@laptop",
                            select_on_focus=False, highlighter=SafeDisplay())
            yield Static("", id="key-check")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Cancel") + " (esc)", id="cancel")
                yield Button(_("Continue") + " (ctrl+s)", id="submit", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#key-text", Input).focus()
        if self.value:
            self._check(self.value)

    def _check(self, text: str) -> bool:
        """Say what the text reads as (the key's type and fingerprint) or what is wrong with it."""
        check = self.query_one("#key-check", Static)
        if not text.strip():
            check.update("")
            check.remove_class("-error")
            return False
        try:
            key = parse_public_key(text)
        except PortalError as exc:
            check.update(content(str(exc)))
            check.add_class("-error")
            return False
        check.update(content(f"{key.type} {key.fingerprint}" + (f" · {key.comment}" if key.comment else "")))
        check.remove_class("-error")
        return True

    @on(Input.Changed, "#key-text")
    def _typed(self, event: Input.Changed) -> None:
        self._check(event.value)

    @on(Input.Submitted, "#key-text")
    def _enter(self, event: Input.Submitted) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        text = self.query_one("#key-text", Input).value
        if not self._check(text):
            if not text.strip():
                check = self.query_one("#key-check", Static)
                check.update(content(_("Required.")))
                check.add_class("-error")
            self.query_one("#key-text", Input).focus()
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_cancel()
