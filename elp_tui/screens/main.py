"""The main screen: who is signed in, the sidebar of portal pages, the current page, the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, OptionList, Static
from textual.widgets.option_list import Option

from elp_tui.i18n import N_, _
from elp_tui.portal import PortalError
from elp_tui.screens.base import Page
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

    def compose(self) -> ComposeResult:
        app = self.elp
        where = app.organization or _("Vendor desk")
        who = f" ELP · {where} · {app.user_email} ({app.role_name()})"
        if app.portal.via_key:  # signed in over SSH: by which key
            from elp_tui.app import key_shown

            who += f" · {key_shown(app.portal.via_key)}"
        yield Static(content(who), id="signed-in")
        with Horizontal(id="body"):
            yield Sidebar(*self._options(), id="sidebar")
            with ContentSwitcher(initial=f"page-{self.start}", id="pages"):
                for page_cls in self.page_classes:
                    yield page_cls()
        yield Footer()

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
        self.call_after_refresh(self._focus_page)
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

    def _focus_page(self) -> None:
        page = self.current_page()
        if page is not None:
            focusable = [w for w in page.query("*").results() if w.focusable and w.display]
            tables = [w for w in focusable if isinstance(w, RecordTable)]
            if tables or focusable:
                (tables or focusable)[0].focus()

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
            refresh = getattr(page, "action_refresh_page", None)
            if refresh is not None:
                refresh()
            else:
                page.reload()
                self.elp.notify(_("Reloaded."), timeout=2)

    def action_back(self) -> None:
        focused = self.focused
        if isinstance(focused, Sidebar):
            self._focus_page()
        else:
            self.query_one(Sidebar).focus()

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(Sidebar)
        sidebar.display = not sidebar.display
