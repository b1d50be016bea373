"""The App: navigation, global bindings, command palette, theme."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import threading
from pathlib import Path
from typing import Any, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandInput, CommandPalette
from textual.screen import Screen

from elp_tui.config import ConfigError, SmtpSettings, smtp_settings
from elp_tui.i18n import N_, _, detect_language, set_language
from elp_tui.portal import Portal, PortalError
from elp_tui.portal.clock import Clock, fixed_clock, store_clock
from elp_tui.remote import RemotePortal, ServerUnavailable
from elp_tui.screens.activity import ActivityPage
from elp_tui.screens.banks import BanksPage
from elp_tui.screens.base import Page
from elp_tui.screens.dashboard import DashboardPage
from elp_tui.screens.help import HelpScreen
from elp_tui.screens.licenses import LicensesPage
from elp_tui.screens.main import MainScreen
from elp_tui.screens.my_licenses import MyLicensesPage
from elp_tui.screens.outbox import OutboxPage
from elp_tui.screens.teams import TeamsPage
from elp_tui.screens.users import UsersPage
from elp_tui.screens.vendor import VendorOrganizationsPage, VendorRequestsPage
from elp_tui.screens.versions import VersionsPage
from elp_tui.settings import load_settings, save_settings, settings_path
from elp_tui.store import Store, StoreError, open_store
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.commands import Command, check_keymap
from elp_tui.widgets.safe import SafeDisplay, plain

# Texts Textual itself shows (palette key, system commands): marked here so the catalog has them.
TEXTUAL_TEXTS = [
    N_("palette"), N_("Open the command palette"),
    N_("Theme"), N_("Change the current theme"),
    N_("Quit"), N_("Quit the application as soon as possible"),
    N_("Keys"), N_("Hide the keys and widget help panel"), N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"), N_("Minimize the widget and restore to normal size"),
    N_("Maximize"), N_("Maximize the focused widget"),
    N_("Copy selected text"), N_("Focus Next"), N_("Focus Previous"),  # every screen's own bindings
]
# Textual's own commands ELP does not offer: they write files on the machine ELP runs on.
HIDDEN_SYSTEM_COMMANDS = {"Screenshot"}

# How often a session looks for another session's commit: it shows within 2 s, no key pressed.
STORE_POLL_S = 0.5
# How often a session with an SMTP server configured delivers the outbox (and right at start, and
# right after an admin's retry). Every session may: the outbox's claims keep each message to one.
MAIL_INTERVAL_S = 60.0

# Navigation order of SPEC.md §8: Manage Workspace, then Manage Organization.
PAGES: list[type[Page]] = [
    MyLicensesPage,
    DashboardPage,
    BanksPage,
    LicensesPage,
    VersionsPage,
    UsersPage,
    TeamsPage,
    ActivityPage,
    OutboxPage,
]
# What vendor staff see: they belong to no organization, so none of the pages above.
VENDOR_PAGES: list[type[Page]] = [VendorRequestsPage, VendorOrganizationsPage, OutboxPage]


class SafePalette(CommandPalette):
    """Textual's palette, whose search input draws a pasted control character as '?' (like
    every other input of ELP) instead of sending it to the terminal."""

    def on_mount(self) -> None:
        self.query_one(CommandInput).highlighter = SafeDisplay()


class ELPApp(TranslatedBindings, App[None]):
    CSS_PATH = "elp.tcss"
    TITLE = "ELP"

    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), id="app.quit", priority=True),
        Binding("question_mark,f1", "help", N_("Help"), id="app.help", tooltip=N_("Every key of this page")),
    ]

    def __init__(
        self,
        portal: Portal,
        user_email: str,
        *,
        settings_file: Path | None = None,
    ):
        super().__init__()
        self.portal = portal
        # The ELP server the portal runs on (a RemotePortal), None on a store of this host.
        self.server_url: str | None = getattr(portal, "server_url", None)
        self.server_lost = False  # through a server: it does not answer just now (the portal reconnects)
        self.user = portal.sign_in(user_email)
        self.user_email: str = self.user["email"]
        self.organization = portal.organization_name(self.user.get("organization"))
        self.team_admin_of: list[str] = self._teams_administered(self.user)
        self.settings_file = settings_file
        self.settings = load_settings(settings_file)
        self._theme_ready = False
        # Mail delivery of this session (None: no SMTP server configured, mail waits in the outbox).
        self.mail_delivery: SmtpSettings | None = None
        self._mail_busy = threading.Lock()
        self._reminders_on: dt.date | None = None
        self._mail_error: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.user["role"] == "admin"

    @property
    def is_vendor(self) -> bool:
        return self.user["role"] == "vendor"

    @property
    def is_team_admin(self) -> bool:
        """A regular member who is the Team Admin of at least one team (seed 002): they see My
        Assigned Licenses and the Teams page (their teams only), nothing else of the admin pages."""
        return self.user["role"] == "regular" and bool(self.team_admin_of)

    def _teams_administered(self, user: dict[str, Any]) -> list[str]:
        if user.get("role") != "regular" or not user.get("organization"):
            return []
        return self.portal.my_team_admin(user["email"])

    def role_name(self) -> str:
        if self.is_vendor:
            return _("vendor")
        if self.is_team_admin:
            return _("Team Admin")
        return _("admin") if self.is_admin else _("regular user")

    def allowed_pages(self) -> list[type[Page]]:
        if self.is_vendor:
            return list(VENDOR_PAGES)
        if self.is_team_admin:
            return [p for p in PAGES if not p.ADMIN_ONLY or p is TeamsPage]
        return [p for p in PAGES if self.is_admin or not p.ADMIN_ONLY]

    def on_mount(self) -> None:
        theme = self.settings.get("theme")
        if theme in self.available_themes:
            self.theme = theme
        self._theme_ready = True
        self._apply_keymap()
        self.push_screen(self.main_screen())
        self._identity_marker: object = self.portal.version()
        self.set_interval(STORE_POLL_S, self._poll_store, name="store-poll")
        self._start_mail_delivery()

    def _apply_keymap(self) -> None:
        """The user's own keys from the settings file (`"keys": {"licenses.renew": "n"}`); an entry
        that cannot work is said in one line and left out, the rest apply."""
        scopes = {page.PAGE_ID: page.COMMANDS for page in [*PAGES, *VENDOR_PAGES]}
        keymap, problems = check_keymap(self.settings.get("keys"), scopes)
        if keymap:
            self.set_keymap(keymap)
        for problem in problems:
            self.notify(problem, title=_("Settings"), severity="warning", timeout=10)

    # -- mail ------------------------------------------------------------------------------
    def _start_mail_delivery(self) -> None:
        """With an SMTP server configured (environment or config file), deliver the outbox in a
        background worker now and every MAIL_INTERVAL_S; without one, mail waits (queued). The
        day's reminders are queued either way (once a day per session): they wait with the rest.
        Through a server, neither: mail is the server's host's job ('elp outbox send' there)."""
        if self.server_url is not None:
            return
        try:
            self.mail_delivery = smtp_settings()
        except ConfigError as exc:
            self.notify(_("Email is not delivered by this session: {error}").format(error=exc), severity="warning", timeout=10)
        self.set_interval(MAIL_INTERVAL_S, self.deliver_mail_now, name="mail-delivery")
        if self.mail_delivery is not None:
            self.deliver_mail_now()
        # Without delivery the day's reminders wait for the first tick: queueing them reads every
        # license (on the 100k-license store a once-a-day peak of about 800 MB), which must not
        # slow the first screen down.

    def deliver_mail_now(self) -> None:
        if self.server_url is not None:
            return  # the server's host delivers the outbox
        if self.mail_delivery is not None:
            self.run_worker(self._deliver_mail, thread=True, group="mail", exit_on_error=False)
        elif self._reminders_on != self.portal.today():  # no delivery: only the day's reminders
            self.run_worker(self._queue_reminders_only, thread=True, group="reminders", exit_on_error=False)

    def _queue_reminders(self) -> None:
        """The day's reminders, once a day per session (called with _mail_busy held)."""
        today = self.portal.today()
        if self._reminders_on != today:
            self.portal.queue_reminders()
            self._reminders_on = today

    def _queue_reminders_only(self) -> None:
        """No SMTP server: queue the day's reminders (off the UI thread), deliver nothing."""
        if not self._mail_busy.acquire(blocking=False):
            return
        try:
            self._queue_reminders()
            error = None
        except (PortalError, StoreError, OSError) as exc:
            error = str(exc)
        finally:
            self._mail_busy.release()
        self._say_mail_error(error)

    def _deliver_mail(self) -> None:
        """Queue the day's reminders (once a day per session) and deliver what is due; off the UI
        thread. One run at a time in a session; other sessions and `elp outbox send` may run at
        the same moment (each message is claimed by one of them)."""
        from elp_tui.mailer import SmtpTransport

        settings = self.mail_delivery
        if settings is None or not self._mail_busy.acquire(blocking=False):
            return
        try:
            self._queue_reminders()
            with SmtpTransport(settings) as transport:
                error = self.portal.deliver_outbox(transport).error
        except (PortalError, StoreError, OSError) as exc:
            error = str(exc)
        finally:
            self._mail_busy.release()
        self._say_mail_error(error)

    def _say_mail_error(self, error: str | None) -> None:
        if error != self._mail_error:
            self._mail_error = error
            if error and self.is_admin:  # said once per new problem; the Outbox page shows each message's error
                self.call_from_thread(self.notify, _("Email delivery: {error} (see the Outbox page).").format(error=error),
                                      severity="warning", timeout=8)

    # -- other sessions ----------------------------------------------------------------
    async def _poll_store(self) -> None:
        """Another admin's commit shows without a key press: the page in view reloads in
        place, and a change to the signed-in user's own account takes effect. An open dialog
        is left alone (its commit re-checks the quote against fresh data)."""
        try:
            marker = await asyncio.to_thread(self.portal.version)
        except OSError:
            return  # unreadable for now: the next read or action says why
        if self.server_url is not None and not self._watch_server():
            return
        if marker is None:
            return
        # The account first: a demoted admin's admin page must not reload (each reload would be
        # a refused admin operation, logged, which changes the store, which reloads the page...).
        if marker != self._identity_marker and not await self._check_identity(marker):
            return
        main = self._main()
        if main is not None:
            main.store_changed(marker)

    def _watch_server(self) -> bool:
        """Through a server: say when it is lost (and keep the status line saying so while the
        portal reconnects, with a backoff), and when it is back, refresh what is shown. False
        while it is lost."""
        connected = getattr(self.portal, "connected", None)
        if connected is False and not self.server_lost:
            self.server_lost = True
            self._say_server_state()
            self.notify(_("Lost the server at {url}: reconnecting… Until it is back, what you ask is refused and "
                          "nothing is half-done.").format(url=self.server_url),
                        title=_("Server"), severity="error", timeout=10)
        elif connected and self.server_lost:
            self.server_lost = False
            self._say_server_state()
            self.notify(_("Reconnected to the server at {url}: the page shows what it holds now.").format(
                url=self.server_url), title=_("Server"), timeout=5)
            self._identity_marker = object()  # the account may have changed meanwhile: look again
            main = self._main()
            page = main.current_page() if main is not None and main.query("ContentSwitcher") else None
            if page is not None and page.loaded:
                page.reload()
        return not self.server_lost

    def _say_server_state(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.server_state_changed()

    async def _check_identity(self, marker: object) -> bool:
        """False while the signed-in user's own account differs from what the app shows."""
        try:
            user = await asyncio.to_thread(self.portal.sign_in, self.user_email)
        except (StoreError, OSError, ServerUnavailable):  # busy, being replaced, or the server away: next poll
            return True
        except PortalError as exc:  # deactivated or removed by another admin: nothing left to show
            self.exit(message=plain(str(exc)))
            return False
        keys = ("role", "status", "organization")
        try:  # made or unmade a Team Admin: other pages
            teams = await asyncio.to_thread(self._teams_administered, user)
        except (StoreError, OSError, PortalError):
            teams = self.team_admin_of
        if all(user.get(k) == self.user.get(k) for k in keys) and teams == self.team_admin_of:
            self._identity_marker = marker
            return True
        if not isinstance(self.screen, MainScreen):
            return False  # a dialog, the help or the palette is open: once it closes
        self._identity_marker = marker
        self.identity_changed(user)
        self.notify(_("Another admin changed your account: you are now {role}.").format(role=self.role_name()),
                    severity="warning", timeout=10)
        return False

    def main_screen(self) -> MainScreen:
        """The pages this user may see, opened where their role starts."""
        start = "vendor-requests" if self.is_vendor else "dashboard" if self.is_admin else "my-licenses"
        return MainScreen(self.allowed_pages(), start=start)

    def identity_changed(self, user: dict[str, Any] | None = None) -> None:
        """The signed-in user's own role or status changed: rebuild what they may see.
        `user`: the account as just read (the live poll has it), else it is read here."""
        if user is None:
            try:
                user = self.portal.sign_in(self.user_email)
            except PortalError as exc:  # deactivated themselves: nothing left to show
                self.exit(message=plain(str(exc)))
                return
        self.user = user
        self.organization = self.portal.organization_name(user.get("organization"))
        try:
            self.team_admin_of = self._teams_administered(user)
        except (StoreError, OSError, PortalError):
            self.team_admin_of = []
        self.switch_screen(self.main_screen())

    def watch_theme(self, theme: str) -> None:
        if getattr(self, "_theme_ready", False):
            self.settings["theme"] = theme
            save_settings(self.settings_file, self.settings)

    # -- messages ----------------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: str = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification is plain text: store text in it is data, never markup or escapes."""
        super().notify(plain(message), title=plain(title), severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    def refuse(self, exc: Exception) -> None:
        """A portal refusal: the message says what was wrong and what to do; never markup."""
        self.notify(plain(str(exc)), title=_("Refused"), severity="error", timeout=8, markup=False)

    # -- Textual's built-ins that reach files, the shell or a browser --------------------
    # ELP runs for many people on one machine over SSH: none of them may write files where the
    # app runs, drop to its shell or open its browser. Store text is never markup, so no
    # `[@click=app.screenshot('/x')]` in a name can run an action; these overrides make sure
    # that even an action string that got through (or a key or palette entry) does nothing.
    def _off(self, message: str) -> None:
        self.notify(message, title=_("Not available"), severity="warning")

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self._off(_("ELP saves no screenshots: use your terminal's own screenshot."))

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        self._off(_("ELP saves no screenshots: use your terminal's own screenshot."))
        return None

    def save_screenshot(self, filename: str | None = None, path: str | None = None,
                        time_format: str | None = None) -> str:
        self._off(_("ELP saves no screenshots: use your terminal's own screenshot."))
        return ""

    def deliver_text(self, *args: Any, **kwargs: Any) -> str | None:
        self._off(_("ELP saves no files from the screen: use the CLI (e.g. 'elp licenses export')."))
        return None

    def deliver_binary(self, *args: Any, **kwargs: Any) -> str | None:
        self._off(_("ELP saves no files from the screen: use the CLI (e.g. 'elp licenses export')."))
        return None

    def action_suspend_process(self) -> None:
        self._off(_("ELP does not suspend to the shell: quit with ctrl+q instead."))

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        self._off(_("ELP opens no browser: copy the link and open it yourself."))

    # -- navigation --------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            main = self._main()
            page = main.current_page() if main is not None and self.screen is main else None
            self.push_screen(HelpScreen(self.screen, page=page, pages=len(self.allowed_pages())))

    def action_show_page(self, page_id: str) -> None:
        main = self._main()
        if main is not None:
            main.show_page(page_id)

    def _main(self) -> MainScreen | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, MainScreen):
                return screen
        return None

    def run_page_action(self, page_id: str, method: str) -> None:
        """Run a page's command by its method name (`action_invite`); anything that is no command
        of a page this user may see does nothing."""
        main = self._main()
        page_cls = next((p for p in self.allowed_pages() if p.PAGE_ID == page_id), None)
        command = page_cls.command(method) if page_cls is not None else None
        if main is not None and command is not None:
            main.run_command(page_id, command)
        elif main is not None and page_cls is None:
            main.show_page(page_id)  # an admin page reached by a regular user: refused and logged

    def _run_command(self, page_id: str, command: Command) -> None:
        main = self._main()
        if main is not None:
            main.run_command(page_id, command)

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(SafePalette(placeholder=_("Search for commands…"), id="--command-palette"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):  # Textual's own, in English: translate them too
            if command.title not in HIDDEN_SYSTEM_COMMANDS:
                yield command._replace(title=_(command.title), help=_(command.help))
        for page_cls in self.allowed_pages():
            title = _(page_cls.TITLE)
            yield SystemCommand(
                _("Go to: {page}").format(page=title), _("Open the {page} page").format(page=title),
                lambda pid=page_cls.PAGE_ID: self.action_show_page(pid),
            )
            for command in page_cls.COMMANDS:
                if command.admin_only and not self.is_admin:
                    continue  # a Team Admin's Teams page offers no New team, no Request seats
                yield SystemCommand(
                    _("{page}: {action}").format(page=title, action=_(command.palette_title)), _(command.help),
                    lambda pid=page_cls.PAGE_ID, c=command: self._run_command(pid, c),
                )


def make_app(
    store: Store | str | Path | RemotePortal,
    user_email: str | None,
    *,
    clock: Clock | str | dt.date | None = None,
    lang: str | None = None,
    settings_file: Path | None = None,
) -> ELPApp:
    """The app on a store, for a signed-in user (tests pass a temp store and a fixed clock); or
    on an ELP server's RemotePortal, as its token's user (`user_email` None: the token's; the
    server's clock, so no `clock`)."""
    set_language(detect_language(lang))
    if isinstance(store, RemotePortal):
        if clock is not None:
            raise ValueError("an ELP server runs on its own clock: give no clock with a RemotePortal")
        return ELPApp(store, user_email or store.user["email"], settings_file=settings_file)
    if isinstance(store, (str, Path)):
        store = open_store(store)  # a path: the JSON store; a postgresql:// URL: the database
    if clock is None:
        clock_fn: Clock = store_clock(store)  # ELP_TODAY on a real store: refused, nothing drawn
    elif callable(clock):
        clock_fn = clock
    else:
        clock_fn = fixed_clock(clock)
    return ELPApp(Portal(store, clock_fn), user_email, settings_file=settings_file)


def key_shown(key: str) -> str:
    """An SSH key as the title shows it: its fingerprint cut short."""
    return _("key {fingerprint}").format(fingerprint=key[:19] + "…" if len(key) > 19 else key)


def signed_in_as(email: str, key: str | None) -> str:
    """Who is signed in, and by which SSH key, for the title."""
    return f"{email} · {key_shown(key)}" if key else email


def run_app(store_path: str | Path, user_email: str | None, lang: str | None = None, *, key: str | None = None,
            portal: RemotePortal | None = None) -> int:
    """Open the terminal app; a user who cannot sign in gets a clear line, not a traceback.
    `key`: the SSH key fingerprint the session signed in with (`elp ssh session`): every activity
    entry records it, and the title says it. `portal`: an ELP server's (--server), used instead
    of the store at `store_path`; the title names the server."""
    if not user_email:
        print("elp: " + _("Say who you are: pass --as EMAIL or set ELP_USER."), file=sys.stderr)
        return 1
    try:
        app = make_app(portal if portal is not None else store_path, user_email, lang=lang,
                       settings_file=settings_path())
    except (PortalError, StoreError, ValueError) as exc:
        print(f"elp: {exc}", file=sys.stderr)
        return 1
    if key:
        app.portal.via_key = key
    app.sub_title = signed_in_as(app.user_email, key)
    try:
        app.run()
    finally:
        if portal is not None:
            portal.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_app(os.environ.get("ELP_STORE", ""), os.environ.get("ELP_USER")))
