"""Snapshot tests: every page and every dialog at 120x36, the main pages at 80x24, one page in French.

All on the small demo organization written for a fixed day (2026-11-23) and a fixed clock, so
the same keys always draw the same screen. Every key a person presses goes through `run_before`;
each step waits for what it caused (the page's data, the next dialog) before the next one.

Regenerate after a deliberate change of the screens (then look at the report):
    .venv/bin/pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.command import CommandList, CommandPalette
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import WorkerState

from elp_tui.app import PAGES, make_app
from elp_tui.demo import write_demo
from elp_tui.i18n import set_language
from elp_tui.portal import Portal, fixed_clock
from elp_tui.screens.base import Page
from elp_tui.screens.dashboard import TeamDistributionDialog
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.dialogs.licenses_forms import ExportDoneDialog
from elp_tui.screens.help import HelpScreen
from elp_tui.screens.main import MainScreen
from elp_tui.screens.my_licenses import DownloadChooser
from elp_tui.screens.users import HeldLicensesDialog
from elp_tui.store import Store
from elp_tui.widgets.safe import content
from tests.helpers import copy_store, until

TODAY = dt.date(2026, 11, 23)
WIDE = (120, 36)
NARROW = (80, 24)

# An admin's sidebar holds every page: digit n opens the n-th page of PAGES.
PAGE_KEY = {page.PAGE_ID: str(number) for number, page in enumerate(PAGES, start=1)}

# Members of the demo organization the dialogs act on (the demo is deterministic).
NEWCOMER = "new.artist@lumenfox.studio"  # not a member: the confirmations say they will be invited
DELETABLE = "ruben"  # ruben.bergstrom@: no license held; in three teams, holds a seat


@dataclass
class Demo:
    store: Path
    admin: str
    regular: str
    vendor: str
    settings: Path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """The small demo, written once per test process; each test works on its own copy."""
    path = tmp_path_factory.mktemp("demo") / "elp.json"
    info = write_demo(path, size="small", force=True, progress=False, today=TODAY)
    # The day's reminders, as the first session of the day queues them (in the background, SMTP
    # or not): queued here, before any app starts, a shot never depends on when that worker ran.
    Portal(Store(path), fixed_clock(TODAY)).queue_reminders()
    return path, info


@pytest.fixture
def demo(demo_template, tmp_path) -> Demo:
    template, info = demo_template
    store = tmp_path / "data" / "elp.json"
    store.parent.mkdir(parents=True)
    copy_store(template, store)  # 0600: ELP refuses a store others can read
    return Demo(store=store, admin=info["admin"], regular=info["regular"], vendor=info["vendor"],
                settings=tmp_path / "settings.json")


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch):
    """A focused input always shows its cursor: a blink would make the shot depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture(autouse=True)
def english_afterwards():
    """The language is process-wide: leave English behind for the next test of this worker."""
    yield
    set_language("en")


def app_for(demo: Demo, user: str | None = None, lang: str = "en"):
    return make_app(demo.store, user or demo.admin, clock=TODAY, lang=lang, settings_file=demo.settings)


# -- waiting for what a key caused ------------------------------------------------------
async def settle(pilot) -> None:
    """Let every page loader (thread workers, group "load") finish and its rows reach the screen."""
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        loading = [w for w in app.workers if w.group == "load" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if not loading:
            break
        await app.workers.wait_for_complete(loading)
    await pilot.pause()


def main_screen(app) -> MainScreen:
    return next(s for s in app.screen_stack if isinstance(s, MainScreen))


def current_page(app) -> Page | None:
    return main_screen(app).current_page()


async def loaded(pilot, page: Page) -> None:
    """Wait for a page shown by a page key to load its data (by itself: no help from the test)."""
    await until(pilot, lambda: page.loaded, f"the {page.PAGE_ID} page to load", timeout=3)
    await settle(pilot)


async def started(pilot) -> None:
    """The main screen is up and its start page has its data."""
    await until(pilot, lambda: any(isinstance(s, MainScreen) for s in pilot.app.screen_stack), "the main screen")
    await until(pilot, lambda: current_page(pilot.app) is not None, "the start page")
    await loaded(pilot, current_page(pilot.app))  # type: ignore[arg-type]


async def open_page(pilot, page_id: str) -> Page:
    """Press the page's digit, as in the sidebar; wait until it shows its data."""
    await started(pilot)
    await pilot.press(PAGE_KEY[page_id])
    await until(pilot, lambda: (page := current_page(pilot.app)) is not None and page.PAGE_ID == page_id,
                f"the {page_id} page")
    page = current_page(pilot.app)
    assert page is not None
    await loaded(pilot, page)
    return page


async def press_for(pilot, kind: type[Screen], *keys: str) -> Screen:
    """Press keys, then wait until the screen on top is a `kind` (a dialog)."""
    await pilot.press(*keys)
    await until(pilot, lambda: isinstance(pilot.app.screen, kind), kind.__name__)
    await pilot.pause()
    return pilot.app.screen


async def paste(pilot, text: str) -> None:
    """Paste into the focused field, as a terminal delivers a paste: one event (typing an
    address key by key costs a second per field)."""
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


async def filter_rows(pilot, text: str) -> None:
    """`/`, type, enter: the table shows the matching rows and has the focus again."""
    await pilot.press("slash", *text, "enter")
    await pilot.pause()


# -- pages at 120x36 -----------------------------------------------------------------------
ADMIN_PAGES = ["dashboard", "banks", "licenses", "versions", "users", "teams", "activity", "outbox", "my-licenses"]


@pytest.mark.parametrize("page_id", ADMIN_PAGES)
def test_page(snap_compare, demo, page_id):
    async def run_before(pilot):
        await open_page(pilot, page_id)

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_page_my_licenses_regular_user(snap_compare, demo):
    assert snap_compare(app_for(demo, demo.regular), terminal_size=WIDE, run_before=started)


# -- main pages at 80x24 ---------------------------------------------------------------------
@pytest.mark.parametrize("page_id", ["dashboard", "licenses", "banks"])
def test_page_80x24(snap_compare, demo, page_id):
    async def run_before(pilot):
        await open_page(pilot, page_id)

    assert snap_compare(app_for(demo), terminal_size=NARROW, run_before=run_before)


def test_page_80x24_my_licenses_regular_user(snap_compare, demo):
    assert snap_compare(app_for(demo, demo.regular), terminal_size=NARROW, run_before=started)


# -- charts (issue 13) ----------------------------------------------------------------------------
# Manage Banks: the second bank of the demo (BK-0005) runs out before it expires: its burn-down,
# the dotted forecast to the day it runs out, the expiry line; its figures as text.
@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["120x36", "80x24"])
def test_chart_burn_down(snap_compare, demo, size):
    async def run_before(pilot):
        await open_page(pilot, "banks")
        await pilot.press("j")
        await settle(pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        if size == NARROW:  # below the bank's text at 80 columns: tab to it, scrolled to the plot
            await pilot.press("tab")
            chart = pilot.app.screen.query_one("#banks-chart")
            chart.plot.scroll_visible(animate=False, top=True, immediate=True)
            await pilot.pause()

    assert snap_compare(app_for(demo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("chart", ["dashboard-weeks", "dashboard-seat-use"])
def test_chart_dashboard(snap_compare, demo, chart):
    """The Dashboard's licenses expiring per week and seat use over time, scrolled into view as
    the page's own scrolling would."""

    async def run_before(pilot):
        await started(pilot)
        pilot.app.screen.query_one(f"#{chart}").scroll_visible(animate=False, top=True, immediate=True)
        await pilot.pause()

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


# -- French ------------------------------------------------------------------------------------
def test_page_french_dashboard(snap_compare, demo):
    assert snap_compare(app_for(demo, lang="fr"), terminal_size=WIDE, run_before=started)


# -- dialogs of every page -----------------------------------------------------------------------
def test_dialog_help(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await press_for(pilot, HelpScreen, "question_mark")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_command_palette(snap_compare, demo):
    async def run_before(pilot):
        await started(pilot)
        palette = await press_for(pilot, CommandPalette, "ctrl+p")
        await pilot.press(*"licenses")
        commands = palette.query_one(CommandList)
        # _show_busy: the palette's own "still searching" flag (Textual is pinned exactly).
        await until(pilot, lambda: commands.option_count > 0 and not palette._show_busy, "the matching commands")
        await pilot.pause(0.1)

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_team_details(snap_compare, demo):
    async def run_before(pilot):
        await started(pilot)
        await press_for(pilot, TeamDistributionDialog, "w")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


# Manage Licenses. The first row of the demo is a scheduled multiseat license on a portable bank:
# it can be renewed and returned.
def test_dialog_add_licenses_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await press_for(pilot, FormDialog, "a")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_add_licenses_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await press_for(pilot, FormDialog, "a")
        # bank, type, months, number, start date, then the recipient.
        await pilot.press("tab", "tab", "tab", "tab", "tab")
        await paste(pilot, NEWCOMER)
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_renew_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await press_for(pilot, FormDialog, "e")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_renew_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await press_for(pilot, FormDialog, "e")
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def _batch_renew_confirm(size):
    """Every license marked (`*`), e, the form left empty (each license's own term): the batch
    confirmation with its totals per bank, the licenses a bank cuts short and the refused rows."""
    from elp_tui.screens.dialogs.batch import BatchConfirmDialog

    async def run_before(pilot):
        page = await open_page(pilot, "licenses")
        page.table.focus()  # type: ignore[attr-defined]
        await pilot.press("asterisk")
        await pilot.pause()
        await press_for(pilot, FormDialog, "e")
        await press_for(pilot, BatchConfirmDialog, "ctrl+s")

    return run_before


def test_dialog_batch_renew_confirm(snap_compare, demo):
    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=_batch_renew_confirm(WIDE))


def test_dialog_batch_renew_confirm_80x24(snap_compare, demo):
    assert snap_compare(app_for(demo), terminal_size=NARROW, run_before=_batch_renew_confirm(NARROW))


def test_page_licenses_with_marks_80x24(snap_compare, demo):
    """Two licenses marked: ✓ in their first cell, "2 marked" in the header and under the table."""
    async def run_before(pilot):
        page = await open_page(pilot, "licenses")
        page.table.focus()  # type: ignore[attr-defined]
        await pilot.press("space", "j", "space")
        await pilot.pause()

    assert snap_compare(app_for(demo), terminal_size=NARROW, run_before=run_before)


def test_dialog_return_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await press_for(pilot, FormDialog, "t")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_return_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await press_for(pilot, FormDialog, "t")
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_assign_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await filter_rows(pilot, "returned")
        await press_for(pilot, FormDialog, "s")
        await paste(pilot, NEWCOMER)

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_assign_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await filter_rows(pilot, "returned")
        await press_for(pilot, FormDialog, "s")
        await paste(pilot, demo.regular)
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_csv_written(snap_compare, demo, tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    monkeypatch.setenv("ELP_EXPORT_DIR", str(exports))

    async def run_before(pilot):
        await open_page(pilot, "licenses")
        dialog = await press_for(pilot, ExportDoneDialog, "d")
        assert Path(dialog.path).is_file() and Path(dialog.path).parent == exports.resolve()
        # The temporary directory differs on every run: show it under a fixed name.
        shown = dialog.query_one("#export-path", Static)
        shown.update(content(dialog.path.replace(str(exports.resolve()), "$ELP_EXPORT_DIR")))
        await pilot.pause()

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


# Manage Banks.
def test_dialog_request_credits_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "banks")
        await press_for(pilot, FormDialog, "m")
        await pilot.press(*"50")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_request_credits_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "banks")
        await pilot.press("j")  # the first bank has expired: its request is refused before confirming
        await press_for(pilot, FormDialog, "m")
        await pilot.press(*"50")
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


# Users. The first row is a regular, active member who holds licenses.
def test_dialog_invite_form_invalid_email(snap_compare, demo):
    """A form says what is wrong beside the field while the user types."""

    async def run_before(pilot):
        await open_page(pilot, "users")
        await press_for(pilot, FormDialog, "a")
        await pilot.press(*"not-an-email")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_invite_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "users")
        await press_for(pilot, FormDialog, "a")
        await paste(pilot, NEWCOMER)
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_user_details(snap_compare, demo):
    from elp_tui.screens.details import DetailsScreen

    async def run_before(pilot):
        await open_page(pilot, "users")
        await press_for(pilot, DetailsScreen, "enter")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_license_details(snap_compare, demo):
    from elp_tui.screens.details import DetailsScreen

    async def run_before(pilot):
        await open_page(pilot, "licenses")
        await press_for(pilot, DetailsScreen, "enter")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_role_change_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "users")
        await press_for(pilot, ConfirmDialog, "A")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_status_change_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "users")
        await press_for(pilot, ConfirmDialog, "z")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_delete_user_refused_licenses_held(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "users")
        await press_for(pilot, HeldLicensesDialog, "x")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_delete_user_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "users")
        await filter_rows(pilot, DELETABLE)
        await press_for(pilot, ConfirmDialog, "x")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


# Teams. The organization has one seat pool; the first team has members.
def test_dialog_create_team_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "teams")
        await press_for(pilot, FormDialog, "n")
        await pilot.press(*"Lighting")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_add_member_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "teams")
        await press_for(pilot, FormDialog, "a")
        await paste(pilot, NEWCOMER)

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_add_member_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "teams")
        await press_for(pilot, FormDialog, "a")
        await paste(pilot, NEWCOMER)
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_remove_member_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "teams")
        await press_for(pilot, ConfirmDialog, "x")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_request_seats_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "teams")
        await press_for(pilot, FormDialog, "m")
        await pilot.press(*"5")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_request_seats_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "teams")
        await press_for(pilot, FormDialog, "m")
        await pilot.press(*"5")
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


# Product Versions. First row: a product without restriction (space picks its newest build);
# second row: a restricted one.
def test_dialog_restrict_builds_form(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "versions")
        await press_for(pilot, FormDialog, "f")
        await pilot.press("space")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_restrict_builds_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "versions")
        await press_for(pilot, FormDialog, "f")
        await pilot.press("space")
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


def test_dialog_allow_all_builds_confirm(snap_compare, demo):
    async def run_before(pilot):
        await open_page(pilot, "versions")
        await pilot.press("j")
        await press_for(pilot, ConfirmDialog, "F")

    assert snap_compare(app_for(demo), terminal_size=WIDE, run_before=run_before)


# My Assigned Licenses.
def test_dialog_download_links(snap_compare, demo):
    async def run_before(pilot):
        await started(pilot)
        await press_for(pilot, DownloadChooser, "u")

    assert snap_compare(app_for(demo, demo.regular), terminal_size=WIDE, run_before=run_before)


# The vendor's desk: its open requests (the start page), the organizations, and the grant dialogs.
VENDOR_PAGE_KEY = {"vendor-requests": "1", "vendor-orgs": "2", "outbox": "3"}


@pytest.mark.parametrize("page_id", list(VENDOR_PAGE_KEY))
def test_page_vendor(snap_compare, demo, page_id):
    async def run_before(pilot):
        await started(pilot)
        await pilot.press(VENDOR_PAGE_KEY[page_id])
        await until(pilot, lambda: (page := current_page(pilot.app)) is not None and page.PAGE_ID == page_id, page_id)
        await loaded(pilot, current_page(pilot.app))  # type: ignore[arg-type]

    assert snap_compare(app_for(demo, demo.vendor), terminal_size=WIDE, run_before=run_before)


def test_dialog_vendor_grant_confirm(snap_compare, demo):
    async def run_before(pilot):
        await started(pilot)
        await press_for(pilot, FormDialog, "a")
        await press_for(pilot, ConfirmDialog, "ctrl+s")

    assert snap_compare(app_for(demo, demo.vendor), terminal_size=WIDE, run_before=run_before)


def test_dialog_vendor_decline_form(snap_compare, demo):
    async def run_before(pilot):
        await started(pilot)
        await press_for(pilot, FormDialog, "x")
        await pilot.press(*"over the contract")

    assert snap_compare(app_for(demo, demo.vendor), terminal_size=WIDE, run_before=run_before)
