"""My Assigned Licenses: the signed-in user's own licenses and the download links they may use.

Often reached over SSH with no browser at hand: every link is shown in full as text, and
`c` / `u` put the activation ID or a download URL on the clipboard (OSC 52, through the
terminal, so it lands on the user's own computer).
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from elp_tui.portal.credits import LICENSE_STATUS_NAMES
from elp_tui.portal.quotes import TYPE_NAMES
from elp_tui.i18n import N_, _, ngettext
from elp_tui.screens.base import Page
from elp_tui.screens.dialogs.tokens import new_token_flow
from elp_tui.widgets.commands import Command
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content, plain, text
from elp_tui.widgets.table import Column, RecordTable

# A row is a license (its status agrees with the license) or a seat of a seat pool (held, or not in a team).
STATUS_LABELS = {**LICENSE_STATUS_NAMES, "pending": N_("pending"), "unassigned": N_("unassigned")}
TYPE_LABELS = {**TYPE_NAMES, "seat": N_("team seat")}
SEAT = "seat"  # the `type` of a row that is a seat of a seat pool, not a license


def seat_row(seat: dict[str, Any]) -> dict[str, Any]:
    """A seat the portal's my_seats returned, as a row of the licenses table (no activation ID,
    no expiry: it is held until the member leaves the organization)."""
    return {
        "activation_id": _("(team seat)"), "key": f"seat:{seat['pool']}", "product": seat["product"], "type": SEAT,
        "computers": "—", "start": seat["since"], "expires_on": "—", "status": seat["state"], "teams": seat["teams"],
        "downloads": seat["downloads"],
    }
OS_ORDER = ["windows", "macos", "linux"]
OS_NAMES = {"windows": "Windows", "macos": "macOS", "linux": "Linux"}


def os_name(key: str) -> str:
    return OS_NAMES.get(key, key)


def this_machine_os() -> str:
    """The OS key of the machine running the app (over SSH that is the server: the chooser
    only starts there, the user picks their own)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def ordered_urls(urls: dict[str, str]) -> list[tuple[str, str]]:
    known = [(k, urls[k]) for k in OS_ORDER if urls.get(k)]
    others = sorted((k, v) for k, v in urls.items() if k not in OS_ORDER and v)
    return known + others


def _status(value: Any) -> str:
    return _(STATUS_LABELS.get(value, str(value)))


class DownloadChooser(TranslatedBindings, ModalScreen[str | None]):
    """Pick one download link of a license; enter copies it. w / m / l: newest build for that OS."""

    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="dialog.cancel"),
        Binding("j", "move(1)", N_("Down"), show=False),
        Binding("k", "move(-1)", N_("Up"), show=False),
        Binding("w", "newest('windows')", "Windows", show=False),
        Binding("m", "newest('macos')", "macOS", show=False),
        Binding("l", "newest('linux')", "Linux", show=False),
    ]

    def __init__(self, license_row: dict[str, Any], preferred_os: str):
        super().__init__()
        self.license_row = license_row
        self.preferred_os = preferred_os
        self.links: list[tuple[str, str, str]] = []  # version, os, url
        for build in license_row["downloads"]:
            for key, url in ordered_urls(build["urls"]):
                self.links.append((build["version"], key, url))

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                content(_("Copy a download link: {product}").format(product=self.license_row["product"])),
                classes="dialog-title",
            )
            options = [
                Option(
                    Content.assemble(
                        (f"{version}  {os_name(key):<8}", "bold"), " ", content(url),
                    ),
                    id=f"link-{index}",
                )
                for index, (version, key, url) in enumerate(self.links)
            ]
            yield OptionList(*options, id="download-options")
            yield Static(
                content(_("enter: copy · w / m / l: newest build for Windows / macOS / Linux · escape: cancel")),
                classes="dialog-note",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        preferred = self._newest(self.preferred_os)
        if preferred is not None:
            options.highlighted = preferred

    def _newest(self, key: str) -> int | None:
        # Builds arrive newest first from the portal: the first link of that OS is the newest.
        for index, (_version, os_key, _url) in enumerate(self.links):
            if os_key == key:
                return index
        return None

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.links[event.option_index][2])

    def action_newest(self, key: str) -> None:
        index = self._newest(key)
        if index is None:
            self.notify(_("No {os} download for this license.").format(os=os_name(key)), severity="warning", markup=False)
            return
        self.dismiss(self.links[index][2])

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


class MyLicensesPage(Page):
    PAGE_ID = "my-licenses"
    TITLE = N_("My Assigned Licenses")
    ADMIN_ONLY = False

    COMMANDS = [
        Command("mine.copy-id", "copy", "copy_activation_id", N_("Copy activation ID"),
                N_("Copy the selected license's activation ID to the clipboard")),
        Command("mine.copy-url", "url", "copy_download", N_("Copy download URL"),
                N_("Choose a download link of the selected license and copy it to the clipboard")),
        Command("mine.new_token", "new-token", "new_token", N_("New token"),
                N_("Make a new API token of your own (for 'elp serve'), shown once"), title=N_("New API token"),
                show=False),
    ]

    DEFAULT_CSS = """
    MyLicensesPage #mine-table { height: auto; max-height: 12; }
    MyLicensesPage #mine-detail-box { height: 1fr; border-top: solid $panel; }
    MyLicensesPage #mine-detail { height: auto; }
    MyLicensesPage #mine-empty { height: auto; margin: 1 0; }
    """

    # Fits 90 columns (120-column terminal beside the sidebar).
    COLUMNS = [
        Column("product", N_("Product"), 21, min_width=14, priority=1),
        Column("activation_id", N_("Activation ID"), 19, priority=1),
        Column("start", N_("Start date"), 10, priority=3),
        Column("computers", N_("Computers"), 9, "right", min_width=5, priority=3),
        Column("expires_on", N_("Expiration"), 10, priority=1),
        Column("status", N_("Status"), 9, format=_status, priority=1),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: list[dict[str, Any]] | None = None

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.COLUMNS, id="mine-table", muted=lambda r: r["status"] == "expired")
        yield self.title_widget()
        yield Static("", id="mine-empty", classes="page-note")
        yield self.table
        with VerticalScroll(id="mine-detail-box"):
            yield Static("", id="mine-detail")

    # -- data --------------------------------------------------------------------------
    RELOAD_ON_SHOW = True

    def fetch(self) -> list[dict[str, Any]]:
        licenses = [{**lic, "key": lic["activation_id"]} for lic in self.portal.my_licenses(self.me)]
        return licenses + [seat_row(seat) for seat in self.portal.my_seats(self.me)]

    def show_data(self, data: list[dict[str, Any]]) -> None:
        self.rows = data
        self.table.set_rows(data, keep="key")
        empty = self.query_one("#mine-empty", Static)
        self.table.display = bool(data)
        self.query_one("#mine-detail-box").display = bool(data)
        empty.display = not data
        if not data:
            empty.update(content(_(
                "No license is assigned to you yet. Your organization admin assigns licenses; "
                "you get an email each time one is assigned to you."
            )))
        else:
            self._show_detail(self.table.current_row)

    @on(RecordTable.Highlighted, "#mine-table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_detail(event.row)

    def _show_detail(self, row: dict[str, Any] | None) -> None:
        detail = self.query_one("#mine-detail", Static)
        if row is None:
            detail.update("")
            return
        if row["type"] == SEAT:
            detail.update(Group(*self._seat_detail(row)))
            return
        computers = ngettext("{n} computer", "{n} computers", row["computers"]).format(n=row["computers"])
        head = text(row["product"], "bold")
        head.append(plain(" · {aid} · {type} · {computers} · {status}".format(
            aid=row["activation_id"], type=_(TYPE_LABELS.get(row["type"], row["type"])),
            computers=computers, status=_status(row["status"]),
        )))
        if row["status"] == "scheduled":
            period = _("Available for activation from {start}; expires on {end}.")
        elif row["status"] == "expired":
            period = _("Expired on {end} (it was valid from {start}).")
        else:
            period = _("Valid from {start}; expires on {end}.")
        parts: list[Any] = [head, text(period.format(start=row["start"], end=row["expires_on"])), Text("")]
        if not row["downloads"] and row["status"] == "expired":
            parts.append(text(_("This license has expired: it offers no downloads. Ask your admin to renew it.")))
        else:
            parts += self._downloads(row)
        parts += [Text(""), text(_("{copy}: copy the activation ID · {url}: copy a download URL").format(
            copy=self.key_of("copy_activation_id"), url=self.key_of("copy_download")))]
        detail.update(Group(*parts))

    @staticmethod
    def _downloads(row: dict[str, Any]) -> list[Any]:
        if not row["downloads"]:
            return [text(_(
                "No download is accessible for this product: your admin restricted the builds, or none is published yet."
            ))]
        # Two columns: a long URL folds inside its own column, under itself, never under the label.
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for build in row["downloads"]:
            grid.add_row(text(build["version"], "bold"), text(_("released {date}").format(date=build["released"])))
            for key, url in ordered_urls(build["urls"]):
                grid.add_row(text("  " + os_name(key)), text(url))
        return [text(_("Downloads (newest first)"), "bold underline"), grid]

    def _seat_detail(self, row: dict[str, Any]) -> list[Any]:
        """A seat of a seat pool: which teams, since when, and the allowed builds' links."""
        head = text(row["product"], "bold")
        head.append(plain(" · {kind} · {status}".format(kind=_("team seat"), status=_status(row["status"]))))
        if row["teams"]:
            held = ngettext("You hold a seat of this product since {since}, through team {teams}.",
                            "You hold a seat of this product since {since}, through teams {teams}.",
                            len(row["teams"])).format(since=row["start"], teams=", ".join(row["teams"]))
            parts: list[Any] = [head, text(held), Text("")]
            parts += self._downloads(row)
        else:
            parts = [head, text(_(
                "You hold a seat of this product since {since} but are in no team now: it offers no downloads. "
                "Ask your admin to add you to a team."
            ).format(since=row["start"]))]
        parts += [Text(""), text(_("{url}: copy a download URL").format(url=self.key_of("copy_download")))]
        return parts

    # -- actions -----------------------------------------------------------------------
    def _selected(self) -> dict[str, Any] | None:
        row = self.table.current_row
        if row is None:
            self.elp.notify(_("No license is assigned to you yet."), timeout=3, markup=False)
        return row

    def action_copy_activation_id(self) -> None:
        row = self._selected()
        if row is None:
            return
        if row["type"] == SEAT:
            self.elp.notify(_("A team seat has no activation ID: press {url} to copy a download link.").format(
                url=self.key_of("copy_download")),
                            severity="warning", timeout=5, markup=False)
            return
        self.app.copy_to_clipboard(row["activation_id"])
        self.elp.notify(
            _("Activation ID {aid} copied to the clipboard.").format(aid=row["activation_id"]), timeout=4, markup=False,
        )

    def action_new_token(self) -> None:
        self._new_token_flow()

    @work(exclusive=True, group="mine-flow")
    async def _new_token_flow(self) -> None:
        await new_token_flow(self)

    def action_copy_download(self) -> None:
        row = self._selected()
        if row is None:
            return
        if not row["downloads"]:
            self.elp.notify(
                _("This license has expired: it offers no downloads. Ask your admin to renew it.") if row["status"] == "expired"
                else _("You are in no team of this product now: ask your admin to add you to a team.")
                if row["type"] == SEAT and not row["teams"]
                else _("No download is accessible for this product: your admin restricted the builds, or none is published yet."),
                severity="warning", timeout=5, markup=False,
            )
            return

        def copied(url: str | None) -> None:
            if url:
                self.app.copy_to_clipboard(url)
                self.elp.notify(_("Download URL copied to the clipboard: {url}").format(url=url), timeout=6, markup=False)

        self.app.push_screen(DownloadChooser(row, this_machine_os()), copied)
