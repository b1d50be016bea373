"""The main screen: who is signed in, the sidebar of portal pages, the current page, the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from rich.cells import cell_len
from textual.events import Resize
from textual.widgets import ContentSwitcher, Footer, OptionList, Static
from textual.widgets._footer import FooterKey
from textual.widgets.option_list import Option

from elp_tui.i18n import N_, _
from elp_tui.portal import PortalError
from elp_tui.screens.base import OpenPage, Page
from elp_tui.widgets.commands import Command
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import RecordTable

if TYPE_CHECKING:
    from elp_tui.app import ELPApp


class Sidebar(TranslatedBindings, OptionList):
    """Manage Workspace / Manage Organization, as in the portal."""

    # j/k move like in every list of ELP (the arrows work too).
    BINDINGS = [
        Binding("j", "cursor_down", N_("Down"), show=False),
        Binding("k", "cursor_up", N_("Up"), show=False),
    ]

    DEFAULT_CSS = """
    Sidebar { width: 28; height: 1fr; border: none; border-right: tall $panel; background: $surface; padding: 0; }
    """


class ElpFooter(Footer):
    """The keys of the page, never cut: Quit and Help always show, at the right; the page's own
    actions come first, then the table's and the screen's, and those that do not fit the width
    are left out whole (Help and the palette list every one)."""

    PINNED = ("app.quit", "app.help")

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._width = 0

    @staticmethod
    def _cells(key: str, description: str) -> int:
        """A compact FooterKey's width: key, space, description, then its right margin."""
        return cell_len(key) + (1 + cell_len(description) if description else 0) + 1

    def _rank(self, node: object) -> int:
        if isinstance(node, Page):
            return 0
        if node is self.screen:
            return 2
        return 1

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        items: list[tuple[int, object, object, bool, str]] = []
        seen: set[tuple[int, str]] = set()
        for node, binding, enabled, tooltip in active.values():
            if not binding.show or (id(node), binding.action) in seen:
                continue
            seen.add((id(node), binding.action))
            items.append((self._rank(node), node, binding, enabled, tooltip))
        pinned = [i for i in items if i[2].id in self.PINNED]
        others = sorted((i for i in items if i[2].id not in self.PINNED), key=lambda i: i[0])
        width = self.size.width or self.app.size.width
        palette = active.get(self.app.COMMAND_PALETTE_BINDING) if self.show_command_palette else None
        room = width - 1
        if palette is not None:
            room -= self._cells(self.app.get_key_display(palette.binding), palette.binding.description) + 1
        room -= sum(self._cells(self.app.get_key_display(b), b.description) for _r, _n, b, _e, _t in pinned)
        shown = []
        for item in others:
            cells = self._cells(self.app.get_key_display(item[2]), item[2].description)
            if cells > room:
                break  # in order: a page action is never dropped for the table's Sort
            shown.append(item)
            room -= cells
        for _rank, _node, binding, enabled, tooltip in [*shown, *pinned]:
            yield FooterKey(
                binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                disabled=not enabled, tooltip=tooltip or binding.tooltip,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            binding = palette.binding
            yield FooterKey(
                binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                classes="-command-palette", disabled=not palette.enabled, tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)


class MainScreen(TranslatedBindings, Screen[None]):
    # At 80 columns the sidebar gives room back to the page.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    DEFAULT_CSS = """
    MainScreen.-narrow Sidebar { width: 25; }
    MainScreen.-wide Sidebar { width: 27; }
    """
    BINDINGS = [
        Binding("slash", "filter", N_("Filter"), id="main.filter", tooltip=N_("Filter the rows of this page")),
        Binding("r", "refresh", N_("Refresh"), id="main.refresh", tooltip=N_("Reload this page from the store")),
        Binding("escape", "back", N_("Back"), id="main.back", show=False),
        # The screen's own focus chain: sidebar, filter, table, second table (members, alerts, keys).
        Binding("tab", "app.focus_next", N_("Next pane"), id="main.next-pane", show=False),
        Binding("shift+tab", "app.focus_previous", N_("Previous pane"), id="main.previous-pane", show=False),
        Binding("backslash", "toggle_sidebar", N_("Sidebar"), id="main.sidebar", show=False),
    ]

    def __init__(self, pages: list[type[Page]], start: str):
        super().__init__()
        self.page_classes = pages
        self.start = start
        for number, page in enumerate(pages, start=1):
            if number <= 9:
                self._bindings.bind(
                    str(number), f"app.show_page('{page.PAGE_ID}')", _(page.TITLE), show=False
                )

    @property
    def elp(self) -> "ELPApp":
        return self.app  # type: ignore[return-value]

    def signed_in(self) -> str:
        """The top line: who is signed in, where, by which SSH key or through which server (and
        whether that server is lost just now)."""
        app = self.elp
        where = app.organization or _("Vendor desk")
        who = f" ELP · {where} · {app.user_email} ({app.role_name()})"
        if app.portal.via_key:  # signed in over SSH: by which key
            from elp_tui.app import key_shown

            who += f" · {key_shown(app.portal.via_key)}"
        if app.server_url is not None:  # through an ELP server
            who += " · " + (_("lost the server at {url}: reconnecting…").format(url=app.server_url)
                            if app.server_lost else app.server_url)
        return who

    def server_state_changed(self) -> None:
        """The server was lost, or is back: the top line says so."""
        for line in self.query("#signed-in").results(Static):
            line.update(content(self.signed_in()))

    def compose(self) -> ComposeResult:
        yield Static(content(self.signed_in()), id="signed-in")
        with Horizontal(id="body"):
            yield Sidebar(*self._options(), id="sidebar")
            with ContentSwitcher(initial=f"page-{self.start}", id="pages"):
                for page_cls in self.page_classes:
                    yield page_cls()
        yield ElpFooter()

    def _options(self) -> list[Option | None]:
        options: list[Option | None] = []
        workspace = [p for p in self.page_classes if not p.ADMIN_ONLY and not p.VENDOR_ONLY]
        organization = [p for p in self.page_classes if p.ADMIN_ONLY]
        vendor = [p for p in self.page_classes if p.VENDOR_ONLY]
        number = 1
        groups = ((N_("Manage Workspace"), workspace), (N_("Manage Organization"), organization), (N_("Vendor desk"), vendor))
        if self.elp.is_vendor:  # the vendor's staff see their desk and its outbox, nothing of an organization
            groups = ((N_("Vendor desk"), self.page_classes),)
        for heading, group in groups:
            if not group:
                continue
            options.append(Option(content(_(heading).upper()), id=f"heading-{heading}", disabled=True))
            for page_cls in group:
                options.append(Option(content(f"{number} {_(page_cls.TITLE)}"), id=page_cls.PAGE_ID))
                number += 1
        return options

    def on_mount(self) -> None:
        sidebar = self.query_one(Sidebar)
        sidebar.highlighted = sidebar.get_option_index(self.start)
        # The sidebar's own first highlight arrives after mount and switches pages: settle on
        # the start page (and focus it) once those messages are through.
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self.show_page(self.start)
        page = self.page(self.start)
        if page is not None and not page.loaded:
            page.shown()

    def page(self, page_id: str) -> Page | None:
        for page in self.query(Page).results():
            if page.PAGE_ID == page_id:
                return page
        return None

    def show_page(self, page_id: str) -> bool:
        """Switch to a page the signed-in user may see; anything else is refused."""
        if page_id not in {p.PAGE_ID for p in self.page_classes}:
            try:  # the portal decides, and logs a regular user's attempt like any admin operation
                self.elp.portal.open_admin_page(self.elp.user_email, page_id)
            except PortalError as exc:
                self.elp.refuse(exc)
                return False
            self.elp.notify(_("There is no page {page}.").format(page=page_id), severity="error", markup=False)
            return False
        self._switch(page_id)
        sidebar = self.query_one(Sidebar)
        index = sidebar.get_option_index(page_id)
        if sidebar.highlighted != index:
            sidebar.highlighted = index
        # A page opens at its top (section titles above its table), whenever its rows arrive.
        self.call_after_refresh(self._focus_page, False)
        return True

    def _switch(self, page_id: str) -> None:
        """Show a page and let it load: not left to Textual's Show event, which a quick
        switch can skip (seen at 80x24), leaving a page that never loads."""
        switcher = self.query_one(ContentSwitcher)
        if switcher.current != f"page-{page_id}":
            switcher.current = f"page-{page_id}"
            page = self.page(page_id)
            if page is not None:
                page.shown()
            self.refresh_bindings()

    def current_page(self) -> Page | None:
        switcher = self.query_one(ContentSwitcher)
        return self.page((switcher.current or "").removeprefix("page-"))

    def store_changed(self, marker: object) -> None:
        """The store changed (the app's poll): the page in view shows it now; the others
        re-read it when shown (`Page.shown`)."""
        if not self.query(ContentSwitcher):
            return  # not composed yet (a new main screen): its start page loads anyway
        page = self.current_page()
        if page is not None:
            page.store_changed(marker)

    def _focus_page(self, scroll_visible: bool = True) -> None:
        page = self.current_page()
        if page is not None:
            focusable = [w for w in page.query("*").results() if w.focusable and w.display]
            tables = [w for w in focusable if isinstance(w, RecordTable)]
            if tables or focusable:
                (tables or focusable)[0].focus(scroll_visible=scroll_visible)

    @on(OptionList.OptionHighlighted, "#sidebar")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and not event.option.id.startswith("heading-"):
            self._switch(event.option.id)

    @on(OptionList.OptionSelected, "#sidebar")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.show_page(event.option.id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` is offered only where the page has something to filter."""
        if action == "filter":
            page = self.current_page()
            return page is not None and page.has_filter()
        return True

    def action_filter(self) -> None:
        page = self.current_page()
        if page is not None and not page.focus_filter():
            self.elp.notify(_("This page has nothing to filter."), timeout=3)

    def action_refresh(self) -> None:
        page = self.current_page()
        if page is not None:
            page.refresh_page()

    @on(OpenPage)
    def _open_page(self, event: OpenPage) -> None:
        event.stop()
        if self.show_page(event.page_id) and event.narrow is not None:
            page = self.page(event.page_id)
            if page is not None:
                page.narrow(event.narrow)

    def run_command(self, page_id: str, command: Command) -> None:
        """The palette's way to a page's action: show the page, then run it as its key would
        (a Team Admin reaching an admin's command this way is refused by the portal, and logged)."""
        if not self.show_page(page_id):
            return
        page = self.page(page_id)
        if page is not None:
            self.call_after_refresh(page.run_command, command)

    def action_back(self) -> None:
        focused = self.focused
        if isinstance(focused, Sidebar):
            self._focus_page()
        else:
            self.query_one(Sidebar).focus()

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(Sidebar)
        sidebar.display = not sidebar.display
