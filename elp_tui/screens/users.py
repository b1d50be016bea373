"""Users: the organization's members, their role and status; invite, change role or status, delete.
Beside (or below) the table, the highlighted member's SSH keys: add one, revoke one, and send an
invited member a new invitation (a new enrolment code); and their API tokens (for `elp serve`):
revoke one, or make a new one of your own, shown once.

The actions mirror the portal's user action dropdown. Every change goes through a confirmation;
a refused delete (last admin, licenses still held) says why, and lists the licenses.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from elp_tui.i18n import N_, _
from elp_tui.portal import PortalError
from elp_tui.portal.errors import LicensesHeld
from elp_tui.portal.keys import ENROL_DAYS
from elp_tui.screens.activity import short_fingerprint
from elp_tui.screens.base import Page
from elp_tui.screens.details import DetailAction, show_details, user_sections
from elp_tui.widgets.commands import Command
from elp_tui.screens.dialogs.actions import ActionMenu
from elp_tui.screens.dialogs import ConfirmDialog, Field, FormDialog
from elp_tui.screens.dialogs.keys import PublicKeyDialog
from elp_tui.screens.dialogs.tokens import new_token_flow
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable
from elp_tui.portal.batches import read_batch_csv, read_batch_file
from elp_tui.portal.errors import InvalidInput
from elp_tui.screens.dialogs.batch import BatchConfirmDialog
from elp_tui.widgets.safe import plain

IMPORT_NOTE = N_(
    "One row per user: email, role (admin or regular; empty: regular), teams (several separated by ';'). "
    "A header row is allowed. The next screen shows who is new, who is already there and the rows refused, "
    "before anything is written."
)


def import_summary(quote: Any) -> str:
    members = len(quote.members)
    return _("{new} new, {members} already there, {refused} refused.").format(
        new=len(quote.new), members=members, refused=len(quote.refused))

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

    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss

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
    UsersPage #users-body { height: 1fr; layout: vertical; }
    UsersPage.-wide #users-body { layout: horizontal; }
    UsersPage #users-left { height: 1fr; min-height: 4; width: 1fr; }
    /* Below the members (narrow): the keys and tokens take what they need, each at most a few rows. */
    UsersPage #users-keys { height: auto; max-height: 60%; width: 1fr; }
    UsersPage #user-keys, UsersPage #user-tokens { height: auto; max-height: 6; }
    UsersPage.-wide #users-left, UsersPage.-wide #users-keys { height: 1fr; max-height: 100%; }
    UsersPage.-wide #users-keys { margin-left: 2; }
    UsersPage.-wide #user-keys, UsersPage.-wide #user-tokens { height: 1fr; max-height: 100%; }
    UsersPage #users-table { height: 1fr; }
    UsersPage .users-heading { height: 1; color: $accent; text-style: bold; }
    UsersPage #user-key-detail, UsersPage #user-token-detail { height: auto; max-height: 2; color: $text-muted; }
    """

    COLUMNS = [
        Column("email", N_("Email"), 24, min_width=18, priority=1),
        Column("role", N_("Role"), 8, format=short_role_label, priority=1),
        Column("status", N_("Status"), 8, format=status_label, priority=1),
    ]
    KEY_COLUMNS = [
        Column("fingerprint", N_("Fingerprint"), 16, format=short_fingerprint, priority=1),
        Column("comment", N_("Comment"), 8, format=lambda v: v or "—", priority=1),
        Column("added_on", N_("Added"), 10),
        Column("last_used_on", N_("Last used"), 10, format=lambda v: v or _("never")),
    ]
    TOKEN_COLUMNS = [
        Column("id", N_("Token"), 8, priority=1),
        Column("name", N_("Name"), 8, format=lambda v: v or "—", priority=1),
        Column("last_used_on", N_("Last used"), 10, format=lambda v: v or _("never")),
        Column("revoked_on", N_("State"), 10, format=lambda v: _("revoked") if v else _("live"), priority=1),
    ]

    COMMANDS = [
        Command("users.invite", "add", "invite", N_("Invite"), N_("Invite a user by email; they receive an invitation"),
                title=N_("Invite user")),
        Command("users.role", "admin", "change_role", N_("Role"), N_("Make the selected user an admin or a regular user"),
                title=N_("Change role")),
        Command("users.status", "status", "change_status", N_("Status"), N_("Set the selected user active or inactive"),
                title=N_("Change status")),
        Command("users.delete", "remove", "delete_user", N_("Delete"), N_("Remove the selected user from the organization"),
                title=N_("Delete user")),
        Command("users.add_key", "bind-key", "add_key", N_("Add key"),
                N_("Bind an SSH public key to the selected user: over SSH it signs in as them"), title=N_("Add SSH key")),
        Command("users.revoke_key", "revoke-key", "revoke_key", N_("Revoke key"),
                N_("Revoke one of the selected user's SSH keys"), title=N_("Revoke SSH key"), show=False),
        Command("users.new_token", "new-token", "new_token", N_("New token"),
                N_("Make a new API token of your own (for 'elp serve'), shown once"), title=N_("New API token of your own"),
                show=False),
        Command("users.revoke_token", "revoke-token", "revoke_token", N_("Revoke token"),
                N_("Revoke one of the selected user's API tokens: the server refuses it from then on"),
                title=N_("Revoke API token"), show=False),
        Command("users.reinvite", "send-again", "reinvite", N_("Reinvite"),
                N_("Send the selected invited user a new invitation with a new enrolment code"),
                title=N_("Send a new invitation"), show=False),
        Command("users.import", "import", "import_users", N_("Import"),
                N_("Invite users and add them to teams from a CSV file (email, role, teams): a preview, then one confirmation"),
                title=N_("Import users from a CSV file"), show=True),
        Command("users.details", "details", "details", N_("Details"),
                N_("The selected member's role, teams, licenses, keys and history"),
                title=N_("Member details"), show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keys_of: dict[str, list[dict[str, Any]]] = {}  # email -> that member's SSH keys
        self.tokens_of: dict[str, list[dict[str, Any]]] = {}  # email -> that member's API tokens (revoked ones too)

    def compose(self) -> ComposeResult:
        self.table = RecordTable(
            self.COLUMNS, id="users-table", flex="email", flex_max=50, muted=lambda row: row.get("status") != "active",
            sort=("email", False)
        )
        self.keys_table = RecordTable(self.KEY_COLUMNS, id="user-keys", flex="comment", flex_max=40)
        self.tokens_table = RecordTable(self.TOKEN_COLUMNS, id="user-tokens", flex="name", flex_max=40,
                                        muted=lambda row: bool(row.get("revoked_on")))
        yield self.title_widget()
        yield FilterBar(self.table, id="users-filter")
        with Vertical(id="users-body"):
            with Vertical(id="users-left"):
                yield self.table
            with Vertical(id="users-keys"):
                yield Static("", id="user-keys-heading", classes="users-heading")
                yield self.keys_table
                yield Static("", id="user-key-detail")
                yield Static("", id="user-tokens-heading", classes="users-heading")
                yield self.tokens_table
                yield Static("", id="user-token-detail")
        yield Static("", id="users-count", classes="page-note")

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= 110, "-wide")

    def fetch(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        return self.portal.list_users(self.me), self.portal.list_keys(self.me), self.portal.list_tokens(self.me)

    def show_data(self, data: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]) -> None:
        users, keys, tokens = data
        self.keys_of = {}
        for key in keys:
            self.keys_of.setdefault(key["email"], []).append(key)
        self.tokens_of = {}
        for token in tokens:
            self.tokens_of.setdefault(token["email"], []).append(token)
        self.table.set_rows(users, keep="email")
        self.query_one("#users-count", Static).update(
            content(_("{n} users · {invite} invite · {role} role · {status} status · {delete} delete").format(
                n=len(users), invite=self.key_of("invite"), role=self.key_of("change_role"),
                status=self.key_of("change_status"), delete=self.key_of("delete_user")))
        )
        self._show_keys(self.table.current_row)
        self._show_tokens(self.table.current_row)

    # -- the highlighted member's keys ---------------------------------------------------
    def _show_keys(self, user: dict[str, Any] | None) -> None:
        heading = self.query_one("#user-keys-heading", Static)
        if user is None:
            self.keys_table.set_rows([])
            heading.update(content(_("SSH keys")))
            self._show_key(None)
            return
        keys = self.keys_of.get(user["email"], [])
        self.keys_table.set_rows(keys, keep="fingerprint")
        heading.update(content(_("SSH keys of {email} ({n})").format(email=user["email"], n=len(keys))))
        self._show_key(self.keys_table.current_row, user)

    def _show_key(self, key: dict[str, Any] | None, user: dict[str, Any] | None = None) -> None:
        detail = self.query_one("#user-key-detail", Static)
        if key is not None:
            text = _("{fingerprint} · {type} · added by {email} · {key} revokes").format(
                fingerprint=key["fingerprint"], type=key["type"], email=key["added_by"], key=self.key_of("revoke_key"))
        elif user is not None and user.get("status") == "invited":
            text = _("No key yet: they enrol one with the code of their invitation ({again} sends a new one), or {add} "
                     "adds one.").format(again=self.key_of("reinvite"), add=self.key_of("add_key"))
        elif user is not None:
            text = _("No key: {add} adds the .pub line they send you.").format(add=self.key_of("add_key"))
        else:
            text = ""
        detail.update(content(text))

    # -- the highlighted member's API tokens -----------------------------------------------
    def _show_tokens(self, user: dict[str, Any] | None) -> None:
        heading = self.query_one("#user-tokens-heading", Static)
        if user is None:
            self.tokens_table.set_rows([])
            heading.update(content(_("API tokens")))
            self._show_token(None)
            return
        tokens = self.tokens_of.get(user["email"], [])
        self.tokens_table.set_rows(tokens, keep="id")
        live = sum(1 for t in tokens if not t.get("revoked_on"))
        heading.update(content(_("API tokens of {email} ({n} live)").format(email=user["email"], n=live)))
        self._show_token(self.tokens_table.current_row, user)

    def _show_token(self, token: dict[str, Any] | None, user: dict[str, Any] | None = None) -> None:
        detail = self.query_one("#user-token-detail", Static)
        if token is not None and token.get("revoked_on"):
            text = _("{id} · created {created} · revoked {revoked} by {email}").format(
                id=token["id"], created=token["created_on"], revoked=token["revoked_on"], email=token.get("revoked_by") or "?")
        elif token is not None:
            text = _("{id} · created {created} · {key} revokes it").format(
                id=token["id"], created=token["created_on"], key=self.key_of("revoke_token"))
        elif user is not None:
            text = _("No token: each member makes their own ('elp tokens create'); {key} makes one of yours.").format(
                key=self.key_of("new_token"))
        else:
            text = ""
        detail.update(content(text))

    @on(RecordTable.Highlighted, "#user-tokens")
    def _token_highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_token(event.row, self.table.current_row)

    @on(RecordTable.Selected, "#user-tokens")
    def _token_selected(self, event: RecordTable.Selected) -> None:
        event.stop()
        user = self.table.current_row
        if user is not None and event.row is not None:
            if event.row.get("revoked_on"):
                self.notify(_("Token {id} was revoked on {date}.").format(id=event.row["id"], date=event.row["revoked_on"]),
                            severity="warning", markup=False)
                return
            self._revoke_token_flow(user, event.row)

    @on(RecordTable.Highlighted, "#users-table")
    def _user_highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_keys(event.row)
        self._show_tokens(event.row)

    @on(RecordTable.Highlighted, "#user-keys")
    def _key_highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_key(event.row, self.table.current_row)

    @on(RecordTable.Selected, "#user-keys")
    def _key_selected(self, event: RecordTable.Selected) -> None:
        event.stop()
        user = self.table.current_row
        if user is not None and event.row is not None:
            self._revoke_flow(user, event.row)

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
    # -- import from a CSV file ------------------------------------------------------------
    def action_import_users(self) -> None:
        self._import_flow()

    @work(exclusive=True, group="users-flow")
    async def _import_flow(self) -> None:
        async def submit(values: dict[str, Any]) -> Any:
            name = str(values["path"]).strip()

            def quote() -> Any:
                rows = read_batch_csv(read_batch_file(name), name, "users")
                return self.portal.quote_users_import(self.me, rows)

            return await self.batch_confirm_commit(
                quote,
                lambda q: BatchConfirmDialog(
                    _("Import users from {file}?").format(file=plain(name)), q,
                    summary=import_summary(q),
                    warning=_("Each new user gets an invitation email (queued in the outbox).") if q.new else "",
                    confirm_label=N_("Import"), careful=True,
                ),
                lambda q, mode: self.portal.users_import(self.me, q, mode),
            )

        done = await self.app.push_screen_wait(FormDialog(
            _("Import users from a CSV file"),
            [Field("path", N_("CSV file"), "text", placeholder=_("e.g. ~/team.csv"))],
            submit_label=N_("Preview"), note=_(IMPORT_NOTE), submit=submit, refusal_field="path",
        ))
        if done is None:
            return
        joined = sum(1 for r in done.new + done.members if r.teams)
        message = _("Imported: {new} invited, {joined} joined teams.").format(new=len(done.new), joined=joined)
        if done.refused:
            message += " " + _("{n} refused row(s) left out.").format(n=len(done.refused))
        self.notify(plain(message), timeout=10, markup=False)
        self.reload()

    def action_invite(self) -> None:
        self._invite_flow()

    @work(exclusive=True, group="users-flow")
    async def _invite_flow(self) -> None:
        async def submit(values: dict[str, Any]) -> Any:
            # Already a member, in another organization, not an address: beside the email, before confirming.
            return await self.quote_confirm_commit(
                lambda: self.portal.quote_invite(self.me, values["email"], values["role"]),
                lambda q: ConfirmDialog(
                    _("Invite this user?"),
                    q.lines(),
                    warning=_("An invitation email to {email} is queued in the outbox. "
                              "They stay invited until they first sign in with this address.").format(email=q["email"]),
                    confirm_label=N_("Invite"),
                    careful=True,  # someone new gets an email: not one stray Enter away
                ),
                lambda q: self.portal.invite(self.me, q["email"], q["role"], q),
            )

        user = await self.app.push_screen_wait(
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
                submit=submit, refusal_field="email",
            )
        )
        if user:
            self.done(_("{email} is invited: the invitation email is queued (see the Outbox page).").format(email=user["email"]))

    # -- details (enter on a member): their actions live there ----------------------
    @on(RecordTable.Selected, "#users-table")
    def _user_selected(self, event: RecordTable.Selected) -> None:
        event.stop()
        if event.row is not None:
            self._details_flow(event.row["email"])

    def action_details(self) -> None:
        row = self._selected()
        if row is not None:
            self._details_flow(row["email"])

    @work(exclusive=True, group="users-details")
    async def _details_flow(self, email: str) -> None:
        details = await self.call_portal(self.portal.user_details, self.me, email)
        if details is None:
            return
        user, why = details["user"], details["actions"]
        actions = [
            DetailAction("role", self.key_of("change_role"),
                         N_("Make regular user") if user["role"] == "admin" else N_("Make admin"), why["role"], N_("Role")),
            DetailAction("status", self.key_of("change_status"),
                         N_("Activate") if user["status"] == "inactive" else N_("Deactivate"), why["status"], N_("Status")),
            DetailAction("delete", self.key_of("delete_user"), N_("Delete from the organization"), why["delete"],
                         N_("Delete")),
            DetailAction("add_key", self.key_of("add_key"), N_("Add an SSH key"), why["add_key"], N_("Add key")),
            DetailAction("revoke_key", self.key_of("revoke_key"), N_("Revoke an SSH key"), why["revoke_key"],
                         N_("Revoke key")),
            DetailAction("reinvite", self.key_of("reinvite"), N_("Send a new invitation"), why["reinvite"],
                         N_("Reinvite")),
        ]
        show_details(self, _("Member {email}").format(email=user["email"]), user_sections(details), actions, {
            "role": self.action_change_role, "status": self.action_change_status, "delete": self.action_delete_user,
            "add_key": self.action_add_key, "revoke_key": self.action_revoke_key, "reinvite": self.action_reinvite,
        })

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
                careful=bool(q["yourself"]),  # demoting yourself is never one stray Enter away
            )

        user = await self.confirm_and_commit(dialog, lambda q: self.portal.set_role(self.me, q["email"], q["role"], q), quote)
        if user is not None:
            self._changed_user(_("{email} is now {role}.").format(email=user["email"], role=role_label(user["role"])), user)

    def _changed_user(self, message: str, user: dict[str, Any]) -> None:
        """A change went through. Your own account: the app rebuilds what you may see (a demoted
        admin lands on My Assigned Licenses) and this admin page is not read again, which would be
        a refused admin operation written in your name."""
        if user["email"] != self.me:
            self.done(message)
            return
        self.notify(message, markup=False)
        if any(self.elp.user.get(k) != user.get(k) for k in ("role", "status")):  # the store poll may have been first
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
                careful=bool(q["yourself"]),
            )

        user = await self.confirm_and_commit(
            dialog, lambda q: self.portal.set_status(self.me, q["email"], new, q), quote)
        if user is not None:
            self._changed_user(_("{email} is now {status}.").format(email=user["email"], status=status_label(user["status"])), user)

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

    # -- SSH keys ----------------------------------------------------------------------
    def action_add_key(self) -> None:
        row = self._selected()
        if row is not None:
            self._add_key_flow(row)

    @work(exclusive=True, group="users-flow")
    async def _add_key_flow(self, row: dict[str, Any]) -> None:
        email = row["email"]
        text = await self.app.push_screen_wait(PublicKeyDialog(email))
        if not text:
            return
        # The portal refuses first (an inactive member, a key bound already): no question for nothing.
        quote = await self.call_portal(self.portal.quote_add_key, self.me, email, text)
        if quote is None:
            return
        key = await self.confirm_and_commit(
            lambda q: ConfirmDialog(
                _("Add this SSH key for {email}?").format(email=q.email),
                q.lines(),
                warning=_("Over SSH this key signs in as {email}, with no password, until it is revoked ({key}).").format(
                    email=q.email, key=self.key_of("revoke_key")),
                confirm_label=N_("Add key"),
            ),
            lambda q: self.portal.add_key(self.me, q.email, text, expected=q),
            quote,
        )
        if key is not None:
            self.done(_("Key {fingerprint} is bound to {email}.").format(fingerprint=key["fingerprint"], email=key["email"]))

    def action_revoke_key(self) -> None:
        row = self._selected()
        if row is None:
            return
        if not self.keys_of.get(row["email"]):
            self.notify(_("{email} has no SSH key to revoke.").format(email=row["email"]), severity="warning", markup=False)
            return
        # From the keys table, the key under its cursor; from the users table, ask which.
        key = self.keys_table.current_row if self.keys_table.has_focus else None
        self._revoke_flow(row, key)

    @work(exclusive=True, group="users-flow")
    async def _revoke_flow(self, row: dict[str, Any], key: dict[str, Any] | None) -> None:
        email = row["email"]
        keys = self.keys_of.get(email, [])
        if key is None and len(keys) == 1:
            key = keys[0]
        elif key is None:
            choices = [
                (k["fingerprint"],
                 _("{fingerprint} · {comment} · last used {date}").format(
                     fingerprint=short_fingerprint(k["fingerprint"]), comment=k.get("comment") or "—",
                     date=k.get("last_used_on") or _("never")),
                 str(n + 1) if n < 9 else "", None)
                for n, k in enumerate(keys)
            ]
            chosen = await self.app.push_screen_wait(ActionMenu(_("Which key of {email} to revoke?").format(email=email), choices))
            key = next((k for k in keys if k["fingerprint"] == chosen), None)
            if key is None:
                return
        rows = [
            (N_("User"), email),
            (N_("Key"), f"{key['type']} {key['fingerprint']}"),
            (N_("Comment"), key.get("comment") or "—"),
            (N_("Added"), _("{date} by {email}").format(date=key["added_on"], email=key["added_by"])),
            (N_("Last used"), key.get("last_used_on") or _("never")),
        ]
        warning = _("The key no longer signs anyone in: the next SSH connection with it is refused.")
        if self.portal.via_key == key["fingerprint"]:
            warning += " " + _("This is the key of this very session.")
        if not await self.confirmed(ConfirmDialog(_("Revoke this SSH key of {email}?").format(email=email), rows,
                                                  warning=warning, confirm_label=N_("Revoke"), danger=True)):
            return
        done = await self.call_portal(self.portal.revoke_key, self.me, key["fingerprint"])
        if done is not None:
            self.done(_("Key {fingerprint} of {email} is revoked.").format(fingerprint=done["fingerprint"], email=done["email"]))

    # -- API tokens --------------------------------------------------------------------
    def action_new_token(self) -> None:
        self._new_token_flow()

    @work(exclusive=True, group="users-flow")
    async def _new_token_flow(self) -> None:
        await new_token_flow(self)

    def action_revoke_token(self) -> None:
        row = self._selected()
        if row is None:
            return
        live = [t for t in self.tokens_of.get(row["email"], []) if not t.get("revoked_on")]
        if not live:
            self.notify(_("{email} has no live API token to revoke.").format(email=row["email"]), severity="warning",
                        markup=False)
            return
        # From the tokens table, the token under its cursor; from the users table, ask which.
        token = self.tokens_table.current_row if self.tokens_table.has_focus else None
        if token is not None and token.get("revoked_on"):
            self.notify(_("Token {id} was revoked on {date}.").format(id=token["id"], date=token["revoked_on"]),
                        severity="warning", markup=False)
            return
        self._revoke_token_flow(row, token)

    @work(exclusive=True, group="users-flow")
    async def _revoke_token_flow(self, row: dict[str, Any], token: dict[str, Any] | None) -> None:
        email = row["email"]
        live = [t for t in self.tokens_of.get(email, []) if not t.get("revoked_on")]
        if token is None and len(live) == 1:
            token = live[0]
        elif token is None:
            choices = [
                (t["id"],
                 _("{id} · {name} · last used {date}").format(
                     id=t["id"], name=t.get("name") or "—", date=t.get("last_used_on") or _("never")),
                 str(n + 1) if n < 9 else "", None)
                for n, t in enumerate(live)
            ]
            chosen = await self.app.push_screen_wait(
                ActionMenu(_("Which API token of {email} to revoke?").format(email=email), choices))
            token = next((t for t in live if t["id"] == chosen), None)
            if token is None:
                return
        rows = [
            (N_("User"), email),
            (N_("Token"), token["id"]),
            (N_("Name"), token.get("name") or "—"),
            (N_("Created"), token["created_on"]),
            (N_("Last used"), token.get("last_used_on") or _("never")),
        ]
        warning = _("The server refuses this token from then on: whatever uses it (a script, another machine) "
                    "stops working until it is given a new one.")
        if not await self.confirmed(ConfirmDialog(_("Revoke this API token of {email}?").format(email=email), rows,
                                                  warning=warning, confirm_label=N_("Revoke"), danger=True)):
            return
        done = await self.call_portal(self.portal.revoke_token, self.me, token["id"])
        if done is not None:
            self.done(_("Token {id} of {email} is revoked.").format(id=done["id"], email=done["email"]))

    # -- a new invitation --------------------------------------------------------------
    def action_reinvite(self) -> None:
        row = self._selected()
        if row is None:
            return
        if row["status"] != "invited":
            self.notify(
                _("{email} is {status}: only an invited member gets a new invitation. To give them a key, press {key}.").format(
                    email=row["email"], status=status_label(row["status"]), key=self.key_of("add_key")),
                severity="warning", markup=False)
            return
        self._reinvite_flow(row)

    @work(exclusive=True, group="users-flow")
    async def _reinvite_flow(self, row: dict[str, Any]) -> None:
        email = row["email"]
        dialog = ConfirmDialog(
            _("Send {email} a new invitation?").format(email=email),
            [(N_("User"), email), (N_("Role"), role_label(row["role"])), (N_("Status"), status_label(row["status"]))],
            warning=_("A new invitation email with a new enrolment code, valid {days} days, is queued in the outbox. "
                      "The code sent before stops working, and the count of wrong codes starts again.").format(days=ENROL_DAYS),
            confirm_label=N_("Send"),
        )
        if not await self.confirmed(dialog):
            return
        user = await self.call_portal(self.portal.resend_invitation, self.me, email)
        if user is not None:
            self.done(_("A new invitation to {email} is queued (see the Outbox page); the old code no longer works.").format(
                email=user["email"]))
