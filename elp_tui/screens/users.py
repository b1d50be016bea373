"""Users: the organization's members, their role and status; invite, change role or status, delete.

The actions mirror the portal's user action dropdown. Every change goes through a confirmation;
a refused delete (last admin, licenses still held) says why, and lists the licenses.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from elp_tui.i18n import N_, _
from elp_tui.portal import PortalError
from elp_tui.portal.errors import LicensesHeld
from elp_tui.screens.base import Page, PageAction
from elp_tui.screens.dialogs.actions import ActionMenu
from elp_tui.screens.dialogs import ConfirmDialog, Field, FormDialog
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable

ROLE_LABELS = {"admin": N_("admin"), "regular": N_("regular user")}
SHORT_ROLE_LABELS = {"admin": N_("admin"), "regular": N_("regular")}
STATUS_LABELS = {"active": N_("active"), "invited": N_("invited"), "inactive": N_("inactive")}


def role_label(role: Any) -> str:
    return _(ROLE_LABELS.get(str(role), str(role)))


def short_role_label(role: Any) -> str:
    return _(SHORT_ROLE_LABELS.get(str(role), str(role)))


def status_label(status: Any) -> str:
    return _(STATUS_LABELS.get(str(status), str(status)))


class HeldLicensesDialog(TranslatedBindings, ModalScreen[None]):
    """The refusal to delete a member who still holds licenses: the portal's message and every ID."""

    DEFAULT_CSS = """
    HeldLicensesDialog { align: center middle; }
    HeldLicensesDialog > Vertical {
        width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    HeldLicensesDialog .dialog-title { text-style: bold; color: $error; margin-bottom: 1; }
    HeldLicensesDialog .held-message { height: auto; margin-bottom: 1; }
    HeldLicensesDialog .held-heading { color: $text-muted; }
    HeldLicensesDialog VerticalScroll { height: auto; max-height: 12; border-left: tall $panel; padding-left: 1; }
    HeldLicensesDialog .held-id { height: 1; }
    HeldLicensesDialog .dialog-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    """

    BINDINGS = [Binding("escape,enter,o", "close", N_("Close"), id="dialog.close")]

    def __init__(self, email: str, message: str, activation_ids: list[str]):
        super().__init__()
        self.email = email
        self.message = message
        self.activation_ids = list(activation_ids)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(content(_("{email} cannot be deleted").format(email=self.email)), classes="dialog-title")
            yield Static(content(self.message), classes="held-message", id="held-message")
            yield Static(
                content(_("Unexpired licenses still held ({n}):").format(n=len(self.activation_ids))),
                classes="held-heading",
            )
            with VerticalScroll(id="held-ids"):
                for activation_id in self.activation_ids:
                    yield Static(content(activation_id), classes="held-id")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("OK") + " (enter)", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class UsersPage(Page):
    PAGE_ID = "users"
    TITLE = N_("Users")
    ADMIN_ONLY = True

    DEFAULT_CSS = """
    UsersPage #users-table { height: 1fr; }
    """

    COLUMNS = [
        Column("email", N_("Email"), 24),
        Column("role", N_("Role"), 8, format=short_role_label),
        Column("status", N_("Status"), 8, format=status_label),
    ]

    # `o` (sort) and `r` (refresh) are taken by the table and the screen.
    BINDINGS = [
        Binding("a", "invite", N_("Invite"), id="users.invite", tooltip=N_("Invite a user by email")),
        Binding("e", "change_role", N_("Role"), id="users.role", tooltip=N_("Make the selected user an admin or a regular user")),
        Binding("s", "change_status", N_("Status"), id="users.status", tooltip=N_("Set the selected user active or inactive")),
        Binding("x,delete", "delete_user", N_("Delete"), id="users.delete", tooltip=N_("Remove the selected user from the organization")),
    ]

    ACTIONS = [
        PageAction(N_("Invite user"), N_("Invite a user by email; they receive an invitation"), "action_invite"),
        PageAction(N_("Change role"), N_("Make the selected user an admin or a regular user"), "action_change_role"),
        PageAction(N_("Change status"), N_("Set the selected user active or inactive"), "action_change_status"),
        PageAction(N_("Delete user"), N_("Remove the selected user from the organization"), "action_delete_user"),
    ]

    def compose(self) -> ComposeResult:
        self.table = RecordTable(
            self.COLUMNS, id="users-table", flex="email", flex_max=50, muted=lambda row: row.get("status") != "active"
        )
        yield self.title_widget()
        yield FilterBar(self.table, id="users-filter")
        yield self.table
        yield Static("", id="users-count", classes="page-note")

    def fetch(self) -> list[dict[str, Any]]:
        return self.portal.list_users(self.me)

    def show_data(self, data: list[dict[str, Any]]) -> None:
        self.table.set_rows(data, keep="email")
        self.query_one("#users-count", Static).update(
            content(_("{n} users · a invite · e role · s status · x delete").format(n=len(data)))
        )

    # -- helpers -----------------------------------------------------------------------
    def _selected(self) -> dict[str, Any] | None:
        row = self.table.current_row
        if row is None:
            self.notify(_("Select a user first."), severity="warning", markup=False)
        return row

    async def _attempt(self, fn: Callable[..., Any], email: str, *args: Any) -> tuple[bool, Any]:
        """Run a portal operation on a user; a held-licenses refusal lists them, other refusals say why."""
        try:
            return True, await asyncio.to_thread(fn, self.me, email, *args)
        except LicensesHeld as exc:
            await self.app.push_screen_wait(HeldLicensesDialog(email, str(exc), exc.activation_ids))
        except PortalError as exc:
            self.elp.refuse(exc)
        return False, None

    # -- invite ------------------------------------------------------------------------
    def action_invite(self) -> None:
        self._invite_flow()

    @work(exclusive=True, group="users-flow")
    async def _invite_flow(self) -> None:
        values = await self.app.push_screen_wait(
            FormDialog(
                _("Invite a user"),
                [
                    Field("email", N_("Email"), "email", placeholder="ana@studio.com"),
                    Field(
                        "role", N_("Role"), "select", value="regular",
                        options=[(content(role_label("regular")), "regular"), (content(role_label("admin")), "admin")],
                    ),
                ],
                submit_label=N_("Continue"),
                note=_("Admins have the same permissions as the original administrator; "
                       "regular users see only their own licenses and downloads."),
            )
        )
        if not values:
            return
        done, quote = await self._attempt(self.portal.quote_invite, values["email"], values["role"])
        if not done:  # already a member, in another organization, or not an address: said before confirming
            return
        user = await self.confirm_and_commit(
            lambda q: ConfirmDialog(
                _("Invite this user?"),
                q.lines(),
                warning=_("An invitation email to {email} is queued in the outbox. "
                          "They stay invited until they first sign in with this address.").format(email=q["email"]),
                confirm_label=N_("Invite"),
            ),
            lambda q: self.portal.invite(self.me, q["email"], q["role"], q),
            quote,
        )
        if user is not None:
            self.done(_("{email} is invited: the invitation email is queued (see the Outbox page).").format(email=user["email"]))

    # -- the row's action menu (the portal's user action dropdown) --------------------
    def on_record_table_selected(self, event: RecordTable.Selected) -> None:
        event.stop()
        self._menu_flow(event.row)

    @work(exclusive=True, group="users-flow")
    async def _menu_flow(self, row: dict[str, Any]) -> None:
        admin = row["role"] == "admin"
        choices = [
            ("change_role", _("Make regular user") if admin else _("Make admin"), "e", None),
            ("change_status", _("Activate") if row["status"] == "inactive" else _("Deactivate"), "s", None),
            ("delete_user", _("Delete from the organization"), "x", None),
        ]
        chosen = await self.app.push_screen_wait(ActionMenu(row["email"], choices))
        if chosen:
            getattr(self, f"action_{chosen}")()

    # -- role --------------------------------------------------------------------------
    def action_change_role(self) -> None:
        row = self._selected()
        if row is not None:
            self._role_flow(row)

    @work(exclusive=True, group="users-flow")
    async def _role_flow(self, row: dict[str, Any]) -> None:
        new = "regular" if row["role"] == "admin" else "admin"
        # Refusals (the last admin, a change already made) come before the confirmation.
        done, quote = await self._attempt(self.portal.quote_set_role, row["email"], new)
        if not done:
            return

        def dialog(q: dict[str, Any]) -> ConfirmDialog:
            if q["role"] == "admin":
                warning = _("Admins have the same permissions as the original administrator: every page of Manage Organization.")
            else:
                warning = _("A regular user sees only their own licenses and downloads.")
            if q["yourself"]:
                warning += " " + _("This is you: you will lose access to the admin pages.")
            return ConfirmDialog(
                _("Change the role of {email}?").format(email=q["email"]),
                q.lines(),
                warning=warning,
                confirm_label=N_("Change role"),
            )

        user = await self.confirm_and_commit(dialog, lambda q: self.portal.set_role(self.me, q["email"], q["role"], q), quote)
        if user is not None:
            self.done(_("{email} is now {role}.").format(email=user["email"], role=role_label(user["role"])))
            if user["email"] == self.me:
                self.elp.identity_changed()

    # -- status ------------------------------------------------------------------------
    def action_change_status(self) -> None:
        row = self._selected()
        if row is not None:
            self._status_flow(row)

    @work(exclusive=True, group="users-flow")
    async def _status_flow(self, row: dict[str, Any]) -> None:
        new = "active" if row["status"] == "inactive" else "inactive"
        done, quote = await self._attempt(self.portal.quote_set_status, row["email"], new)
        if not done:
            return

        def dialog(q: dict[str, Any]) -> ConfirmDialog:
            if q["status"] == "inactive":
                warning = _("An inactive user cannot sign in. Their licenses and seats stay as they are.")
                if q["yourself"]:
                    warning += " " + _("This is you: you will not be able to sign in again.")
            else:
                warning = q["note"] or _("{email} can sign in again.").format(email=q["email"])
            return ConfirmDialog(
                _("Change the status of {email}?").format(email=q["email"]),
                q.lines(),
                warning=warning,
                confirm_label=N_("Change status"),
                danger=q["status"] == "inactive",
            )

        user = await self.confirm_and_commit(
            dialog, lambda q: self.portal.set_status(self.me, q["email"], new, q), quote)
        if user is not None:
            self.done(_("{email} is now {status}.").format(email=user["email"], status=status_label(user["status"])))
            if user["email"] == self.me:
                self.elp.identity_changed()

    # -- delete ------------------------------------------------------------------------
    def action_delete_user(self) -> None:
        row = self._selected()
        if row is not None:
            self._delete_flow(row)

    @work(exclusive=True, group="users-flow")
    async def _delete_flow(self, row: dict[str, Any]) -> None:
        email = row["email"]
        # Refusals (last admin, licenses still held) come before the confirmation.
        done, quote = await self._attempt(self.portal.quote_delete_user, email)
        if not done:
            return

        def dialog(q: dict[str, Any]) -> ConfirmDialog:
            return ConfirmDialog(
                _("Delete {email}?").format(email=email),
                q.lines(),
                warning=_("{email} is removed from the organization and can no longer sign in here. "
                          "This cannot be undone: to bring them back, invite them again.").format(email=email),
                confirm_label=N_("Delete"),
                danger=True,
            )

        user = await self.confirm_and_commit(dialog, lambda q: self.portal.delete_user(self.me, email, q), quote)
        if user is not None:
            self.done(_("{email} was removed from the organization.").format(email=user["email"]))
