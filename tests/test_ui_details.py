"""Details in the app (issue 12): enter (or space) on a license, a member, a bank or a team opens
its details — the right one, with its history and why an action is not possible — and an action
key there opens the usual form; a blocked one says why and writes nothing."""

from __future__ import annotations

from textual.containers import VerticalScroll

from elp_tui.screens.banks import BanksPage
from elp_tui.screens.details import DetailsScreen
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.licenses import LicensesPage
from elp_tui.screens.main import MainScreen
from elp_tui.screens.teams import TeamsPage
from elp_tui.screens.users import UsersPage
from elp_tui.app import make_app
from tests.conftest import ADMIN, TODAY
from tests.helpers import file_bytes, grant_bank, grant_seats, messages, until
from tests.test_ui_people import app_for, cursor_to, member, on_screen, open_page

ANA = "ana@lf.studio"
BOB = "bob@lf.studio"
SEATS = "Frameloop Teams"


def make(portal, bank, *, email=ANA, type="node-lock", quantity=1) -> list[dict]:
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type=type, months=1, quantity=quantity, start=TODAY, email=email)
    return portal.generate(ADMIN, quote)


async def details_of(pilot, key: str = "enter") -> DetailsScreen:
    await pilot.press(key)
    screen = await on_screen(pilot, DetailsScreen, "details")
    await pilot.pause()
    return screen


async def test_enter_on_a_license_shows_that_license_its_history_and_why_return_is_not_possible(portal, bank, tmp_path):
    member(portal, ANA)
    first = make(portal, bank)[0]["activation_id"]
    second = make(portal, bank, type="multiseat", quantity=2)[0]["activation_id"]
    portal.renew(ADMIN, portal.quote_renew(ADMIN, second, months=1))
    portal.return_license(ADMIN, second, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, LicensesPage)
        await cursor_to(pilot, page.table, "activation_id", second)
        details = await details_of(pilot)
        text = details.text()
        assert f"License {second}" in text and first not in text
        assert "multiseat" in text and "nobody (returned)" in text
        assert "Bank start  2026-11-01" in text and "Bank expiry  2027-05-01" in text
        assert text.index("license-return") < text.index("license-renew") < text.index("license-generate")
        assert f"not possible: License {second} is already returned: assign it instead." in text

        before = file_bytes(portal)
        await pilot.press("t")  # Return: not possible, said, nothing written, the details stay
        await pilot.pause()
        assert isinstance(app.screen, DetailsScreen) and file_bytes(portal) == before
        assert "Return not possible: License" in messages(app)

        await pilot.press("s")  # Assign: the usual form, for this license
        form = await on_screen(pilot, FormDialog, "assign form")
        assert form.title_text == "Assign license"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "back on the page")
        assert page.table.current_row["activation_id"] == second


async def test_enter_opens_the_details_space_marks_instead_and_escape_closes_them(portal, bank, tmp_path):
    # Issue 13: space marks a license (batches); the details are on enter only.
    member(portal, ANA)
    aid = make(portal, bank)[0]["activation_id"]
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, LicensesPage)
        page.table.focus()
        await pilot.press("space")
        await until(pilot, lambda: page.table.marked == {aid}, "the license marked")
        assert isinstance(app.screen, MainScreen), "space opens no details any more"
        details = await details_of(pilot, "enter")
        assert f"License {aid}" in details.text()
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "closed")


async def test_at_80x24_the_details_scroll_to_the_history(portal, bank, tmp_path):
    member(portal, ANA)
    make(portal, bank)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_page(app, pilot, LicensesPage)
        details = await details_of(pilot)
        body = details.query_one("#details-body", VerticalScroll)
        history = next(w for w in body.children if "license-generate" in str(w.render()))

        def in_sight() -> bool:
            return body.region.y <= history.region.y < body.region.bottom

        assert not in_sight(), "at 80x24 the history starts below the fold"
        await pilot.press("end")
        await until(pilot, in_sight, "the history scrolled into sight")


async def test_enter_on_a_member_shows_their_teams_licenses_and_why_they_cannot_be_deleted(portal, bank, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    aid = make(portal, bank)[0]["activation_id"]
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        page = await open_page(app, pilot, UsersPage)
        await cursor_to(pilot, page.table, "email", ANA)
        text = (await details_of(pilot)).text()
        assert f"Member {ANA}" in text and BOB not in text
        assert f"Layout ({SEATS})" in text and aid in text and "team-add" in text
        assert f"not possible: {ANA} still holds 1 unexpired license(s)" in text
        before = file_bytes(portal)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, DetailsScreen) and file_bytes(portal) == before


async def test_enter_on_a_bank_shows_its_licenses_and_ledger_and_p_opens_its_licenses(portal, bank, tmp_path):
    member(portal, ANA)
    made = make(portal, bank, quantity=2)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, BanksPage)
        text = (await details_of(pilot)).text()
        assert f"Bank {bank['id']}" in text and "2 licenses" in text
        assert all(lic["activation_id"] in text for lic in made)
        assert "1 credits · generation" in text and "bank-add" in text
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "closed")
        licenses = app.screen.query_one(LicensesPage)
        await until(pilot, lambda: licenses.display, "Manage Licenses shown")


async def test_enter_on_a_team_shows_its_members_and_a_there_adds_one(portal, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_add(ADMIN, "Story", BOB)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        await cursor_to(pilot, page.table, "name", "Story")
        text = (await details_of(pilot)).text()
        assert "Team Story" in text and f"{BOB} · active · since 2026-11-23" in text and ANA not in text
        await pilot.press("a")
        form = await on_screen(pilot, FormDialog, "add member form")
        assert form.title_text == "Add a member to Story"
        await pilot.press(*ANA, "enter")
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "back")
        await app.workers.wait_for_complete()
    story = next(t for t in portal.list_teams(ADMIN) if t["name"] == "Story")
    assert {m["email"] for m in story["members"]} == {ANA, BOB}


async def test_a_team_admin_opens_the_details_of_their_team(portal, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Story", BOB)
    portal.set_team_admin(ADMIN, "Story", ANA)
    app = make_app(portal.store, ANA, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_page(app, pilot, TeamsPage)
        details = await details_of(pilot)
        assert "Team Story" in details.text() and BOB in details.text()
        assert set(details.actions) == {"add_member"}  # no Request seats: an organization admin's


async def test_enter_on_a_team_member_shows_the_member_and_x_there_removes_them_from_the_team(portal, bank, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_add(ADMIN, "Layout", BOB)
    aid = make(portal, bank, email=BOB)[0]["activation_id"]
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        page.members.focus()
        await cursor_to(pilot, page.members, "email", BOB)
        details = await details_of(pilot)
        assert f"Member {BOB}" in details.text() and aid in details.text()  # their licenses too, not only the team
        await pilot.press("x")
        dialog = await on_screen(pilot, ConfirmDialog, "removal confirmation")
        assert BOB in dialog.title_text
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "back")
        await app.workers.wait_for_complete()
    layout = next(t for t in portal.list_teams(ADMIN) if t["name"] == "Layout")
    assert [m["email"] for m in layout["members"]] == [ANA]


async def test_the_app_and_elp_licenses_show_give_a_license_the_same_fields(portal, bank, tmp_path, capsys):
    from elp_tui.cli import main
    from elp_tui.details_text import license_fields

    member(portal, ANA)
    aid = make(portal, bank, type="multiseat", quantity=2)[0]["activation_id"]
    fields = license_fields(portal.license_details(ADMIN, aid))  # the one function both surfaces read
    assert [label for label, _value in fields][:3] == ["Activation ID", "Product", "Type"]

    assert main(["--store", str(portal.store.path), "--as", ADMIN, "licenses", "show", aid]) == 0
    printed = capsys.readouterr().out
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, LicensesPage)
        await cursor_to(pilot, page.table, "activation_id", aid)
        shown = (await details_of(pilot)).text()

    for label, value in fields:  # the same label with the same value, in the app's two columns and the CLI's pairs
        assert f"{label}  {value}" in shown, label
        assert any(line.strip().startswith(f"{label}:") and line.strip().endswith(f" {value}")
                   for line in printed.splitlines()), label
    assert "Status  active" in shown and "Type  multiseat" in shown
