"""A new API token, shown once (issue 14): the secret in a field the user can select and copy,
`c` to copy it to the clipboard, and how to use it. Closing the dialog is the last time ELP
shows it: the store keeps only its hash."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from elp_tui.i18n import N_, _
from elp_tui.screens.dialogs.form import Field, FormDialog
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content


class NewTokenDialog(TranslatedBindings, ModalScreen[bool]):
    """Dismisses with True once the token was copied to the clipboard, else False."""

    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    BINDINGS = [
        Binding("c", "copy", N_("Copy"), id="dialog.copy"),
        Binding("escape,enter", "close", N_("Close"), id="dialog.close"),
    ]

    def __init__(self, token: dict[str, Any]):
        super().__init__()
        self.token = token
        self.copied = False

    def compose(self) -> ComposeResult:
        name = f" ({self.token['name']})" if self.token.get("name") else ""
        with Vertical():
            yield Static(content(_("Your new API token {id}{name}").format(id=self.token["id"], name=name)),
                         classes="dialog-title")
            yield Static(content(_("Copy it now: it will not be shown again (ELP keeps only its hash). "
                                   "Anyone who has it acts as {email} through 'elp serve'.").format(
                email=self.token["email"])), classes="dialog-warning", id="token-warning")
            yield Input(value=self.token["token"], id="token-secret", select_on_focus=True)
            yield Static(content(_("Use it with: ELP_SERVER=https://HOST:8750 ELP_TOKEN=<the token> elp (the app) "
                                   "or elp licenses mine; or --server URL --token TOKEN. Revoke it here when it is "
                                   "lost or no longer used.")), classes="dialog-note", id="token-use")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Copy") + " (c)", id="copy")
                yield Button(_("Close") + " (enter)", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.token["token"])
        self.copied = True
        self.notify(_("API token {id} copied to the clipboard.").format(id=self.token["id"]), timeout=4, markup=False)

    def action_close(self) -> None:
        self.dismiss(self.copied)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.action_close()


async def new_token_flow(page: Any) -> dict[str, Any] | None:
    """A page's "new API token" command (every page offering it runs this): the name asked in a
    form, the token made for the signed-in user (a refusal said beside the name, nothing written),
    then shown once. The token made (without its secret), or None if cancelled."""

    async def submit(values: dict[str, Any]) -> Any:
        return await asyncio.to_thread(page.portal.create_token, page.me, values["name"])

    made = await page.app.push_screen_wait(FormDialog(
        _("A new API token of yours ({email})").format(email=page.me),
        [Field("name", N_("Name"), "text", required=False, placeholder=_("what it is for: ci, laptop …"))],
        submit_label=N_("Create"),
        note=_("A token lets a program or another machine act as you through 'elp serve' (ELP_TOKEN). "
               "It is shown once, on the next screen: ELP keeps only its hash."),
        submit=submit, refusal_field="name",
    ))
    if made is None:
        return None
    await page.app.push_screen_wait(NewTokenDialog(made))
    page.done(_("API token {id} created; it will not be shown again.").format(id=made["id"]))
    return {k: v for k, v in made.items() if k != "token"}
