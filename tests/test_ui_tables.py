"""Tables as a person reads them (issue 12): columns that fit 80, 100 and 200 columns, scrolling by
one column, the sort menu and its arrow, the filter's counts, CSV downloads that never overwrite,
the clipboard's 1 MB question, and a dashboard that scrolls to its last alert. Real keys on the
demo stores, then what the screen draws and what the disk holds."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from elp_tui.app import make_app
from elp_tui.demo import write_demo
from elp_tui.portal import Portal, fixed_clock
from elp_tui.screens.dialogs.actions import ActionMenu
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.licenses_forms import ExportDoneDialog
from elp_tui.store import Store
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.sort_menu import SortMenu
from elp_tui.widgets.table import RecordTable
from tests.conftest import TODAY
from tests.helpers import copy_store, messages, until

MAYA = "maya.okafor@lumenfox.studio"


def _demo(tmp_path_factory, size: str) -> Path:
    folder = tmp_path_factory.mktemp(f"demo-{size}")
    folder.chmod(0o700)
    path = folder / "elp.json"
    write_demo(path, size=size, force=True, progress=False, today=TODAY)
    return path


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    return _demo(tmp_path_factory, "small")


@pytest.fixture(scope="module")
def large_demo(tmp_path_factory) -> Path:
    return _demo(tmp_path_factory, "large")


def app_on(demo: Path, tmp_path: Path):
    """The app on a private copy of a demo store, signed in as its admin."""
    folder = tmp_path / "store"
    folder.mkdir(mode=0o700)
    path = copy_store(demo, folder / "elp.json")
    return make_app(Store(path), MAYA, clock=TODAY, settings_file=tmp_path / "settings.json")


async def open_page(app, pilot, page_id: str):
    number = [p.PAGE_ID for p in app.allowed_pages()].index(page_id) + 1
    await pilot.press(str(number))
    page = app.screen.query_one(f"#page-{page_id}")
    await until(pilot, lambda: page.display and page.loaded, f"{page_id} shown")
    await app.workers.wait_for_complete()
    await pilot.pause()
    table = page.query(RecordTable).first()
    await until(pilot, lambda: table.total_count > 0, f"{page_id} rows")
    await pilot.pause()
    return page


def drawn(table: RecordTable, y: int) -> str:
    """One line of the table exactly as drawn on screen."""
    return "".join(segment.text for segment in table.render_line(y))


def drawn_rows(table: RecordTable) -> list[str]:
    return [drawn(table, y) for y in range(1, table.scrollable_content_region.height)]


# -- columns fit the width -------------------------------------------------------------------
@pytest.mark.parametrize("size", [(80, 24), (100, 30), (200, 30)])
async def test_license_status_and_expiry_stay_whole_and_emails_grow_with_the_width(small_demo, tmp_path, size):
    app = app_on(small_demo, tmp_path)
    async with app.run_test(size=size) as pilot:
        page = await open_page(app, pilot, "licenses")
        table = page.table
        header = drawn(table, 0)
        assert "Activation ID" in header and "Status" in header
        if size[0] >= 100:
            assert "Expiration" in header
        statuses = {"active", "scheduled", "expired", "returned"}
        for line, row in zip(drawn_rows(table), table.visible_rows()):
            assert row["activation_id"] in line
            words = set(line.split())
            assert words & statuses, f"the status is cut: {line!r}"
            if size[0] == 200 and row["assignee"]:
                assert row["assignee"] in line, f"the email is cut at 200 columns: {line!r}"
        if size[0] == 200:
            assert any(len(r["assignee"] or "") > 20 for r in table.visible_rows()[:5])


async def test_activity_action_is_whole_at_80_columns(small_demo, tmp_path):
    app = app_on(small_demo, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        page = await open_page(app, pilot, "activity")
        header = drawn(page.table, 0)
        assert "Action" in header and "Date" in header
        for line, row in zip(drawn_rows(page.table), page.table.visible_rows()):
            assert row["action"] in line.split(), f"the action is cut: {line!r}"


async def test_activity_sequence_numbers_are_whole_on_the_large_demo(large_demo, tmp_path):
    app = app_on(large_demo, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        page = await open_page(app, pilot, "activity")
        newest = page.table.visible_rows()[0]["seq"]
        assert newest >= 100_000  # six digits: more than the old five-cell column held
        assert drawn(page.table, 1).split()[0] == str(newest)


async def test_right_scrolls_one_column_keeping_the_first_and_home_returns(small_demo, tmp_path):
    app = app_on(small_demo, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        page = await open_page(app, pilot, "licenses")
        table = page.table
        first = drawn(table, 0)
        assert "Bank start" not in first and first.rstrip().endswith("›")  # more past the right edge
        await pilot.press("right")
        once = drawn(table, 0)
        assert once.startswith("‹Activation ID")  # the row's name stays
        assert once != first
        seen = [once]
        for _n in range(12):
            await pilot.press("right")
            seen.append(drawn(table, 0))
        assert any("Bank start" in line for line in seen)
        assert not seen[-1].rstrip().endswith("›")  # the last column reached: right stops there
        await pilot.press("home")
        assert drawn(table, 0) == first
        assert table.has_focus


# -- sorting ---------------------------------------------------------------------------------
async def test_sort_menu_chooses_the_column_and_the_arrow_follows(small_demo, tmp_path):
    app = app_on(small_demo, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, "users")
        table = page.table
        assert "Email ▲" in drawn(table, 0)  # the order the rows arrive in shows before anyone sorts
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, SortMenu), "sort menu")
        await pilot.press("3")  # Status
        await until(pilot, lambda: table.sort_key == "status", "sorted by status")
        header = drawn(table, 0)
        assert "Status ▲" in header and "Email ▲" not in header
        statuses = [r["status"] for r in table.visible_rows()]
        assert statuses == sorted(statuses) and len(set(statuses)) > 1
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, SortMenu), "sort menu")
        await pilot.press("enter")  # the menu starts on the sorted column: enter turns it round
        await until(pilot, lambda: table.sort_reverse, "reversed")
        assert "Status ▼" in drawn(table, 0)
        assert [r["status"] for r in table.visible_rows()] == sorted(statuses, reverse=True)
        await pilot.press("o", "escape")
        await until(pilot, lambda: not isinstance(app.screen, SortMenu), "menu closed")
        assert table.sort_key == "status" and table.sort_reverse
        await pilot.press("less_than_sign")  # < and > move the sort to the column beside
        await until(pilot, lambda: table.sort_key == "role", "sorted by role")
        assert "Role ▲" in drawn(table, 0) and "Status" in drawn(table, 0) and "Status ▼" not in drawn(table, 0)
        await pilot.press("greater_than_sign", "greater_than_sign")
        await until(pilot, lambda: table.sort_key == "email", "round to the first column")


# -- filter counts ---------------------------------------------------------------------------
@pytest.mark.parametrize("page_id", ["licenses", "users", "activity", "banks"])
async def test_every_filter_says_n_of_m_shown_and_no_rows_match(small_demo, tmp_path, page_id):
    app = app_on(small_demo, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, page_id)
        bar = page.query_one(FilterBar)
        table = bar.table
        total = table.total_count
        assert not bar.border_subtitle
        await pilot.press("slash", *"quillstone a")
        await until(pilot, lambda: table.filter_text == "quillstone a", "filtered")
        shown = table.row_count
        if 0 < shown < total:
            assert bar.border_subtitle == f"{shown} of {total} shown"
        await pilot.press("ctrl+a", "ctrl+k", *"zzqqxx")
        await until(pilot, lambda: table.row_count == 0, "nothing matches")
        assert bar.border_subtitle == "no rows match"
        assert drawn(table, 1).strip() == "no rows match"
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == total, "filter cleared")
        assert not bar.border_subtitle


# -- CSV -------------------------------------------------------------------------------------
async def test_two_downloads_make_two_files_and_the_first_is_untouched(small_demo, tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    monkeypatch.setenv("ELP_EXPORT_DIR", str(exports))
    app = app_on(small_demo, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, "licenses")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ExportDoneDialog), "export dialog")
        first = Path(app.screen.path)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ExportDoneDialog), "closed")
        before = first.read_bytes()
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ExportDoneDialog), "export dialog again")
        second = Path(app.screen.path)
        await pilot.press("escape")
    assert first != second
    assert first.name == f"elp-licenses-{app.user['organization']}-{TODAY.isoformat()}.csv"
    assert second.name.startswith(first.name.removesuffix(".csv") + "-")
    assert first.read_bytes() == before == second.read_bytes()
    assert sorted(p.name for p in exports.iterdir()) == sorted([first.name, second.name])  # no temp file left


async def test_only_the_rows_the_filter_shows_go_to_the_csv_when_asked(small_demo, tmp_path, monkeypatch):
    monkeypatch.setenv("ELP_EXPORT_DIR", str(tmp_path / "exports"))
    app = app_on(small_demo, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, "licenses")
        await pilot.press("slash", *"storyboard", "enter")
        await until(pilot, lambda: page.table.filter_text == "storyboard" and page.table.has_focus, "filtered")
        shown = {r["activation_id"] for r in page.table.visible_rows()}
        assert 0 < len(shown) < page.table.total_count
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ActionMenu), "all or only the rows shown")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ExportDoneDialog), "export dialog")
        path = Path(app.screen.path)
        await pilot.press("escape")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ActionMenu), "asked again")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ExportDoneDialog), "export dialog, all")
        everything = Path(app.screen.path)
        await pilot.press("escape")
        total = page.table.total_count
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert {r["activation_id"] for r in rows} == shown
    assert all("Storyboard" in r["product"] for r in rows)
    assert len(list(csv.DictReader(io.StringIO(everything.read_text(encoding="utf-8"))))) == total


async def test_copying_more_than_1_mb_asks_first(large_demo, tmp_path, monkeypatch):
    monkeypatch.setenv("ELP_EXPORT_DIR", str(tmp_path / "exports"))
    app = app_on(large_demo, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, "licenses")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ExportDoneDialog), "export dialog", timeout=120)
        path = Path(app.screen.path)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the 1 MB question")
        assert "MB" in app.screen.title_text and "OSC 52" in app.screen.warning
        await pilot.press("n")
        await until(pilot, lambda: "CSV saved" in messages(app), "saved, not copied")
        assert not app.clipboard
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ExportDoneDialog), "export dialog again", timeout=120)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "asked again")
        await pilot.press("y")
        await until(pilot, lambda: "copied to the clipboard" in messages(app), "copied")
        assert app.clipboard == path.read_text(encoding="utf-8")
    assert path.stat().st_size > 1024 * 1024


# -- the dashboard scrolls -------------------------------------------------------------------
async def test_dashboard_scrolls_to_its_last_alert_on_the_large_demo(large_demo, tmp_path):
    portal = Portal(Store(large_demo), fixed_clock(TODAY))
    banks = portal.dashboard(MAYA)["alerts"]["banks"]
    assert len(banks) > 5
    app = app_on(large_demo, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        page = await open_page(app, pilot, "dashboard")
        body = page.query_one("#dashboard-body")
        alerts = page.query_one("#dashboard-alerts")
        last = f"{banks[-1]['id']} · {banks[-1]['product']}"
        assert last in str(alerts.render())

        def last_alert_visible() -> bool:
            return alerts.region.bottom <= body.region.bottom and alerts.region.bottom > body.region.y

        assert not last_alert_visible()
        await pilot.press("space")
        await until(pilot, lambda: body.scroll_y > 0, "space scrolls the page")
        await pilot.press("end")
        await until(pilot, lambda: body.scroll_y == body.max_scroll_y, "end reaches the bottom")
        await pilot.pause()
        # The charts (issue 13) come after the alerts: the page's last lines are the seat use's figures.
        figures = list(page.query(".chart-figures").results())[-1]
        assert figures.region.bottom <= body.region.bottom and figures.region.bottom > body.region.y
        for _n in range(20):  # back up, a page at a time, to the last alert
            if last_alert_visible():
                break
            await pilot.press("pageup")
            await pilot.pause()
        assert last_alert_visible()
        await pilot.press("home")
        await until(pilot, lambda: body.scroll_y == 0, "home back to the top")
        for _n in range(len(page.table.visible_rows()) + 3):
            await pilot.press("j")  # down the products, then on down the page
        await until(pilot, lambda: body.scroll_y > 0, "j goes on past the last product")
        for _n in range(200):  # the charts make the page long: as many pages as it takes
            if body.scroll_y == body.max_scroll_y:
                break
            await pilot.press("pagedown")
            await pilot.pause()
        await until(pilot, lambda: body.scroll_y == body.max_scroll_y, "pgdn reaches the bottom")
