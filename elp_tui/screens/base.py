"""What every portal page shares: its place in the navigation, its actions, data loading."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from textual import work
from textual.worker import get_current_worker
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from elp_tui.i18n import _
from elp_tui.portal import PortalError, StaleQuote
from elp_tui.screens.dialogs.form import KEEP_FORM
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.commands import Command, bindings_of
from elp_tui.widgets.safe import content, plain

if TYPE_CHECKING:
    from elp_tui.app import ELPApp
    from elp_tui.screens.dialogs.confirm import ConfirmDialog


class OpenPage(Message):
    """A page asks the main screen to show another page, narrowed to `narrow` (e.g. a product)
    when that page can narrow (the Dashboard's and Manage Banks' "the licenses of this product")."""

    def __init__(self, page_id: str, narrow: str | None = None) -> None:
        super().__init__()
        self.page_id = page_id
        self.narrow = narrow


class Page(TranslatedBindings, Vertical):
    """A portal page. Subclasses set PAGE_ID, TITLE, ADMIN_ONLY and implement `load`."""

    PAGE_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    ADMIN_ONLY: ClassVar[bool] = True
    VENDOR_ONLY: ClassVar[bool] = False  # the vendor's desk: only vendor staff see it, and nothing else
    # The page's actions, declared once: its key bindings (footer, Help) and its palette entries
    # are made from them (see widgets/commands.py). BINDINGS holds only what is no command.
    COMMANDS: ClassVar[list[Command]] = []

    _command_methods: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        commands = cls.__dict__.get("COMMANDS")
        if commands is not None:
            cls.BINDINGS = [*bindings_of(commands), *cls.__dict__.get("BINDINGS", [])]
            # Each command's method, found once when the page is defined: a command naming no
            # method of its page fails at import, not when a user presses its key.
            methods: dict[str, Callable[..., Any]] = {}
            for command in commands:
                method = getattr(cls, f"action_{command.action}", None)
                if not callable(method):
                    raise TypeError(f"{cls.__name__}: command {command.id} has no method action_{command.action}")
                methods[command.id] = method
            cls._command_methods = methods
        super().__init_subclass__(**kwargs)

    async def run_command(self, command: Command) -> None:
        """Run a command as its key would, from the palette or a row's menu. Not filtered by
        `check_action`: a Team Admin who reaches an admin's command is refused by the portal, and
        the refusal is logged like every other."""
        result = self._command_methods[command.id](self)
        if asyncio.iscoroutine(result):
            await result

    @classmethod
    def command(cls, action: str) -> Command | None:
        """The command that runs `action_<action>` (None: no command of this page)."""
        action = action.removeprefix("action_")
        return next((c for c in cls.COMMANDS if c.action == action), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An organization admin's command is not offered to a Team Admin: not in the footer, and
        its key does nothing (reached anyway, from an action string, the portal refuses it)."""
        command = self.command(action)
        if command is not None and command.admin_only and not self.elp.is_admin:
            return False
        return True

    def key_of(self, action: str) -> str:
        """The key that runs `action_<action>` here now (the user's remap, else the command's own)."""
        command = self.command(action)
        if command is None:
            return ""
        key = self.app._keymap.get(command.id, command.key).split(",")[0]
        return self.app.get_key_display(Binding(key, action))

    def narrow(self, text: str) -> None:
        """Show only the rows about `text` (another page sent the user here with it)."""

    def refresh_page(self) -> None:
        """`r`: read the store again (Manage Banks also asks the vendor's feed)."""
        self.reload()
        self.elp.notify(_("Reloaded."), timeout=2)

    DEFAULT_CSS = """
    Page { height: 1fr; padding: 0 1; }
    Page > .page-title { text-style: bold; color: $accent; height: 1; margin: 0 0 1 0; }
    Page > .page-note { color: $text-muted; height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(id=f"page-{self.PAGE_ID}", **kwargs)
        self.loaded = False
        self._loaded_version: object = None  # the store's marker() when the shown data was read
        self._polled_version: object = None  # the last marker the store poll reloaded this page for

    @property
    def elp(self) -> "ELPApp":
        return self.app  # type: ignore[return-value]

    @property
    def portal(self):  # noqa: ANN201 - the app's Portal
        return self.elp.portal

    @property
    def me(self) -> str:
        return self.elp.user_email

    def title_widget(self) -> Static:
        return Static(content(_(self.TITLE)), classes="page-title")

    # -- data ------------------------------------------------------------------------
    RELOAD_ON_SHOW: ClassVar[bool] = False  # overviews re-read the store each time they are shown

    def shown(self) -> None:
        """The main screen switched to this page: load it, or re-load it if the store
        changed since (a change made here, on another page or by another admin)."""
        if self.RELOAD_ON_SHOW or not self.loaded or self.portal.version() != self._loaded_version:
            self.reload()

    def store_changed(self, marker: object) -> None:
        """The app's store poll saw a commit (from another session, usually): show the new
        state in place — same cursor row, filter, sort and focus, no notification. Skipped
        while a load is on its way (it would only be cancelled and restarted: a busy store
        must not starve a slow page), and once per marker (a page that fails to read does
        not retry, and refuse, twice a second)."""
        if not self.loaded or marker == self._loaded_version or marker == self._polled_version:
            return
        if any(w.node is self and w.group == "load" and not w.is_finished for w in self.app.workers):
            return
        self._polled_version = marker
        self._load_worker()

    def reload(self) -> None:
        self.loaded = True
        self._load_worker()

    @work(thread=True, exclusive=True, group="load")
    def _load_worker(self) -> None:
        try:
            # Read before the data: a commit in between shows newer data under an older
            # marker, so the next poll reloads once more (never the other way round).
            version = self.portal.version()
            data = self.fetch()
        except PortalError as exc:
            self.app.call_from_thread(self.elp.refuse, exc)
            return
        except Exception as exc:  # a drifted store must not take the whole app down
            self.app.call_from_thread(self.elp.refuse, RuntimeError(_("This page could not be read: {error}").format(error=exc)))
            return
        if get_current_worker().is_cancelled:
            return  # a newer load of this page is on its way
        self._loaded_version = version
        self.app.call_from_thread(self.show_data, data)

    def fetch(self) -> Any:
        """Read what the page shows (runs in a thread)."""
        return None

    def show_data(self, data: Any) -> None:
        """Put fetched data on screen (runs on the UI thread)."""

    # -- acting ------------------------------------------------------------------------
    def done(self, message: str) -> None:
        """A change went through: say so (plain text, like every notification) and show it."""
        self.notify(message)
        self.reload()

    async def call_portal(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a portal operation off the UI thread; refusals become a message, return None."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except StaleQuote:
            raise
        except PortalError as exc:
            self.elp.refuse(exc)
            return None

    async def confirmed(self, dialog: "ConfirmDialog") -> bool:
        """Show a confirmation; on no, say that nothing was changed."""
        if await self.app.push_screen_wait(dialog):
            return True
        self.notify(_("Cancelled: nothing was changed."), timeout=3, markup=False)
        return False

    async def confirm_and_commit(
        self, dialog: Callable[[Any], "ConfirmDialog"], commit: Callable[[Any], Any], quote: Any,
    ) -> Any:
        """The one confirm flow: show the confirmation `dialog(quote)`; on yes, `commit(quote)`
        off the UI thread, where the portal re-checks the quote's promise. A quote that no
        longer holds comes back fresh and is shown to be confirmed again (nothing was written);
        a refusal is said. The commit's result, or None (cancelled or refused)."""
        while True:
            if not await self.app.push_screen_wait(dialog(quote)):
                self.notify(_("Cancelled: nothing was changed."), timeout=3, markup=False)
                return None
            try:
                return await self.call_portal(commit, quote)
            except StaleQuote as exc:
                if exc.fresh is None:  # no fresh quote to offer: the operation is no longer possible
                    self.elp.refuse(exc)
                    self.reload()
                    return None
                self.notify(plain(str(exc)), severity="warning", timeout=8, markup=False)
                quote = exc.fresh

    async def quote_confirm_commit(
        self, quote: Callable[[], Any], dialog: Callable[[Any], "ConfirmDialog"], commit: Callable[[Any], Any],
    ) -> Any:
        """A form's submit (FormDialog(submit=...)): the portal's quote, its confirmation, the commit.
        A refusal (of the quote or the commit) is raised for the form to show beside its field;
        cancelling the confirmation returns KEEP_FORM, the form still open with what was typed;
        a quote that no longer holds comes back fresh and is confirmed again (nothing was written)."""
        quoted = await asyncio.to_thread(quote)
        while True:
            if not await self.app.push_screen_wait(dialog(quoted)):
                return KEEP_FORM
            try:
                return await asyncio.to_thread(commit, quoted)
            except StaleQuote as exc:
                if exc.fresh is None:  # no longer possible: said in the form; the page shows what changed
                    self.reload()
                    raise
                self.notify(plain(str(exc)), severity="warning", timeout=8, markup=False)
                quoted = exc.fresh

    async def batch_confirm_commit(
        self, quote: Callable[[], Any], dialog: Callable[[Any], Any], commit: Callable[[Any, str], Any], *,
        in_form: bool = True,
    ) -> Any:
        """A batch's quote, its one confirmation (BatchConfirmDialog: the allowed rows only, or all
        or nothing), then its one commit, where the portal re-checks the quote: a quote that no
        longer holds comes back fresh and is confirmed again (nothing was written). In a form
        (`in_form`), as `quote_confirm_commit`: refusals are raised for the form, cancelling
        returns KEEP_FORM. Outside one, a refusal is said and None returned (cancelled too)."""
        try:
            quoted = await asyncio.to_thread(quote)
            while True:
                mode = await self.app.push_screen_wait(dialog(quoted))
                if mode is None:
                    if in_form:
                        return KEEP_FORM
                    self.notify(_("Cancelled: nothing was changed."), timeout=3, markup=False)
                    return None
                try:
                    return await asyncio.to_thread(commit, quoted, mode)
                except StaleQuote as exc:
                    if exc.fresh is None:
                        self.reload()
                        raise
                    self.notify(plain(str(exc)), severity="warning", timeout=8, markup=False)
                    quoted = exc.fresh
        except PortalError as exc:
            if in_form:
                raise
            self.elp.refuse(exc)
            return None

    def has_filter(self) -> bool:
        return any(w.has_class("filter") for w in self.query(Input).results())

    def focus_filter(self) -> bool:
        """Give focus to the page's filter, if it has one."""
        for widget in self.query(Input).results():
            if widget.has_class("filter"):
                widget.focus()
                return True
        return False
