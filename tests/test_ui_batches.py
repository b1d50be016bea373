"""Batches in the app (issue 13): marking licenses in Manage Licenses (space, *, escape), one
batch confirmation for Renew / Return / Assign on the marked ones, and users imported from a CSV
file on Users. Keys a person presses, then the store as a fresh Portal reads it."""

from __future__ import annotations

from elp_tui.portal import Portal
from elp_tui.screens.dialogs.batch import BatchConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.main import MainScreen
from elp_tui.screens.users import UsersPage
from tests.conftest import ADMIN
from tests.helpers import messages, store_bytes, store_tables, until
from tests.test_ui_licenses import (
    ANA, BOB, app_for, form, fresh, license_row, make, member, open_page, remaining, settle,
)
from tests.test_ui_people import open_page as open_people_page


async def batch_dialog(pilot, app) -> BatchConfirmDialog:
    await until(pilot, lambda: isinstance(app.screen, BatchConfirmDialog), "the batch confirmation")
    await pilot.pause()
    return app.screen


def dialog_text(dialog: BatchConfirmDialog) -> str:
    rows = "\n".join(f"{label}: {value}" for label, value in dialog.rows)
    return f"{dialog.title_text}\n{dialog.summary}\n{rows}"


def header(page) -> str:
    return str(page.query_one("#licenses-count").render())


async def marked_page(app, pilot):
    page = await open_page(app, pilot)
    page.table.focus()
    await pilot.pause()
    return page


# -- marking ------------------------------------------------------------------------------------
async def test_space_marks_two_licenses_the_header_counts_them_and_escape_clears_them(portal, bank, tmp_path):
    member(portal, ANA)
    ids = [r["activation_id"] for r in make(portal, bank, quantity=3)]
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await marked_page(app, pilot)
        first, second = [r["activation_id"] for r in page.table.visible_rows()[:2]]
        await pilot.press("space", "j", "space")
        await until(pilot, lambda: page.table.marked == {first, second}, "two marked")
        assert "3 licenses · 2 marked" in header(page)
        assert "2 marked" in str(page.query_one("#detail-marks").render())
        # The mark is drawn, not only coloured: ✓ in the first cell of each marked row.
        lines = [page.table._row_line(r) for r in page.table.visible_rows()]
        assert [line[0] for line in lines] == ["✓", "✓", " "]
        await pilot.press("space")  # again on the same row: unmarked
        await until(pilot, lambda: page.table.marked == {first}, "one left")
        assert "1 marked" in header(page)
        await pilot.press("r")  # a reload keeps the marks, by activation ID
        await settle(pilot, app)
        assert page.table.marked == {first}
        await pilot.press("escape")
        await until(pilot, lambda: not page.table.marked, "marks cleared")
        assert "1 mark cleared: nothing was changed." in messages(app)
        assert "marked" not in header(page)
        assert isinstance(app.screen, MainScreen) and page.table.has_focus, "escape with marks only clears them"
    assert {first, second} <= set(ids)


async def test_star_after_a_filter_marks_exactly_the_rows_it_shows_and_again_unmarks_them(portal, bank, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    anas = {r["activation_id"] for r in make(portal, bank, quantity=2, email=ANA)}
    bobs = {r["activation_id"] for r in make(portal, bank, quantity=3, email=BOB)}
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await marked_page(app, pilot)
        await pilot.press("slash", *"bob@", "enter")
        await until(pilot, lambda: page.table.row_count == 3 and page.table.has_focus, "bob's rows")
        await pilot.press("asterisk")
        await until(pilot, lambda: page.table.marked == bobs, "bob's licenses marked")
        assert "3 marked" in header(page)
        assert "3 marked · e t s act on them · escape unmarks" in str(page.query_one("#detail-marks").render())
        await pilot.press("asterisk")
        await until(pilot, lambda: not page.table.marked, "unmarked")
        assert not page.table.marked & anas


async def test_a_license_that_vanishes_from_the_rows_drops_its_mark(portal, bank, tmp_path):
    member(portal, ANA)
    make(portal, bank, quantity=2)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await marked_page(app, pilot)
        rows = page.table.visible_rows()
        page.table.marked = {rows[0]["activation_id"], "GONE-GONE-GONE-GONE"}
        page.show_data((rows, None))  # the rows as a reload brings them: the gone one drops its mark
        await until(pilot, lambda: page.table.marked == {rows[0]["activation_id"]}, "the vanished mark dropped")
        await until(pilot, lambda: "1 marked" in header(page), "the count follows")


# -- batch renew --------------------------------------------------------------------------------
def renew_setup(portal: Portal, bank: dict) -> tuple[str, str]:
    member(portal, ANA)
    [fine] = make(portal, bank, months=1)  # 2026-11-23 .. 2026-12-23
    [returned] = make(portal, bank, months=1)
    portal.return_license(ADMIN, returned["activation_id"], ANA)
    return fine["activation_id"], returned["activation_id"]


async def test_batch_renew_lists_the_refused_row_and_renews_only_the_allowed_one(portal, bank, tmp_path):
    fine, returned = renew_setup(portal, bank)
    expected = portal.quote_batch_renew(ADMIN, [fine, returned])
    before = remaining(portal, bank["id"])
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await marked_page(app, pilot)
        await pilot.press("asterisk", "e")
        dialog = await form(pilot, app)
        assert dialog.title_text == "Renew 2 marked licenses"
        await pilot.press("ctrl+s")  # months empty: each license for its own term
        confirm = await batch_dialog(pilot, app)
        text = dialog_text(confirm)
        assert confirm.rows == expected.lines()
        assert "1 of 2 rows allowed; 1 refused" in text and "Credits to deduct: 1." in text
        assert f"Bank {bank['id']}: 1 credit(s) for 1 license(s), remaining {before} → {before - 1}" in text
        assert f"{fine}: 2026-12-23 → 2027-01-23" in text
        assert f"{returned}: refused: " in text and "is returned (nobody holds it)" in text
        assert confirm.query_one("#all") and confirm.query_one("#allowed")
        await pilot.press("y")  # only the allowed rows
        await settle(pilot, app)
        await until(pilot, lambda: not page.table.marked, "the marks cleared after the batch")
        assert "1 license renewed, 1 credit(s) deducted. 1 refused row was left out." in messages(app)
    assert license_row(portal, fine)["expires_on"] == "2027-01-23"
    assert license_row(portal, returned)["expires_on"] == "2026-12-23"
    assert remaining(portal, bank["id"]) == before - 1
    log = sorted(store_tables(portal.store.path)["activity"].values(), key=lambda e: e["seq"])
    assert log[-1]["action"] == "license-batch-renew" and log[-1]["target"] == fine  # one entry for the batch


async def test_all_or_nothing_with_a_refused_row_writes_nothing(portal, bank, tmp_path):
    fine, returned = renew_setup(portal, bank)
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await marked_page(app, pilot)
        await pilot.press("asterisk", "e")
        dialog = await form(pilot, app)
        await pilot.press("ctrl+s")
        await batch_dialog(pilot, app)
        await pilot.press("a")  # all or nothing
        await until(pilot, lambda: isinstance(app.screen, FormDialog) and dialog.shown_error(), "the refusal in the form")
        assert "All or nothing: 1 of 2 rows would be refused, so nothing was renewed." in dialog.shown_error()
        assert "is returned (nobody holds it)" in dialog.shown_error()
    assert store_bytes(portal.store.path) == before
    assert license_row(portal, fine)["expires_on"] == "2026-12-23"


async def test_a_batch_made_stale_by_another_session_is_shown_fresh_and_then_commits(portal, bank, tmp_path):
    member(portal, ANA)
    ids = sorted(r["activation_id"] for r in make(portal, bank, quantity=2))
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await marked_page(app, pilot)
        await pilot.press("asterisk", "e")
        await form(pilot, app)
        await pilot.press("ctrl+s")
        first = await batch_dialog(pilot, app)
        assert f"{ids[1]}: 2026-12-23 → 2027-01-23" in dialog_text(first)
        them = fresh(portal)  # another admin renews one of them meanwhile
        them.renew(ADMIN, them.quote_renew(ADMIN, ids[1]))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, BatchConfirmDialog) and app.screen is not first, "the fresh quote")
        second = app.screen
        assert "changed since the quote" in messages(app)
        assert f"{ids[1]}: 2027-01-23 → 2027-02-23" in dialog_text(second)
        assert license_row(portal, ids[0])["expires_on"] == "2026-12-23", "nothing written by the stale confirmation"
        await pilot.press("y")
        await settle(pilot, app)
        await until(pilot, lambda: not page.table.marked, "done")
    assert [license_row(portal, aid)["expires_on"] for aid in ids] == ["2027-01-23", "2027-02-23"]


# -- batch return and assign ----------------------------------------------------------------------
async def test_batch_return_then_batch_assign_of_the_marked_licenses(portal, bank, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    ids = {r["activation_id"] for r in make(portal, bank, quantity=2)}
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await marked_page(app, pilot)
        await pilot.press("asterisk", "t")
        confirm = await batch_dialog(pilot, app)
        assert "2 rows: all allowed, returned in one go." in dialog_text(confirm)
        assert not confirm.query("#all"), "nothing refused: one choice"
        await pilot.press("y")
        await settle(pilot, app)
        await until(pilot, lambda: not page.table.marked and "2 licenses returned." in messages(app), "returned")
        assert {license_row(portal, aid)["assignee"] for aid in ids} == {None}
        await pilot.press("asterisk", "s")
        await form(pilot, app)
        await pilot.press(*BOB, "ctrl+s")
        confirm = await batch_dialog(pilot, app)
        assert all(BOB in value for _label, value in confirm.rows)
        await pilot.press("y")
        await settle(pilot, app)
        await until(pilot, lambda: "2 licenses assigned" in messages(app), "assigned")
    assert {license_row(portal, aid)["assignee"] for aid in ids} == {BOB}


# -- users import -------------------------------------------------------------------------------
async def test_users_import_from_a_csv_file_previews_and_imports_the_allowed_rows(portal, tmp_path):
    from tests.test_ui_people import app_for as people_app_for

    member(portal, ANA)
    sheet = tmp_path / "team.csv"
    sheet.write_text(
        "email,role,teams\n"
        "cleo@lf.io,admin,\n"
        f"{ANA},regular,\n"
        "bad@@lf.io,regular,\n",
        encoding="utf-8",
    )
    app = people_app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_people_page(app, pilot, UsersPage)
        await pilot.press("I")
        dialog = await form(pilot, app)
        await pilot.press(*str(tmp_path / "missing.csv"), "ctrl+s")
        await until(pilot, lambda: "cannot read" in dialog.shown_error("path"), "a missing file refused beside the path")
        await pilot.press("ctrl+u", *str(sheet), "ctrl+s")
        confirm = await batch_dialog(pilot, app)
        text = dialog_text(confirm)
        assert "1 new, 1 already there, 1 refused." in text
        assert "row 2: cleo@lf.io: new: invited as admin" in text
        assert f"row 3: {ANA}: already there" in text
        assert "row 4: bad@@lf.io: refused: " in text
        await pilot.press("y")
        await settle(pilot, app)
        await until(pilot, lambda: "Imported: 1 invited, 0 joined teams. 1 refused row(s) left out." in messages(app),
                    "imported")
    users = {u["email"]: u for u in fresh(portal).list_users(ADMIN)}
    assert users["cleo@lf.io"]["role"] == "admin" and users["cleo@lf.io"]["status"] == "invited"
    assert not any(e.startswith("bad") for e in users)
