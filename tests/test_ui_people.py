"""Users, Teams and Product Versions: the keys a person presses, then the store as a fresh Portal reads it."""

from __future__ import annotations

import random

import pytest

from elp_tui.app import make_app
from elp_tui.portal import Portal, RuleViolation, StaleQuote, fixed_clock
from tests.conftest import VENDOR_EMAIL  # where the vendor fixture sends requests
from elp_tui.portal.errors import LicensesHeld
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.main import MainScreen
from elp_tui.screens.teams import TeamsPage
from elp_tui.screens.users import HeldLicensesDialog, UsersPage
from elp_tui.screens.versions import VersionsPage
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.helpers import confirm_text, file_bytes, messages, until
from tests.helpers import grant_seats

# Short addresses: every character is a key press.
ANA = "ana@lf.studio"
BOB = "bob@lf.studio"
NEW = "neo@lf.studio"
SEATS = "Frameloop Teams"
ANIMATE = "Quillstone Animate"


# -- helpers -------------------------------------------------------------------------
def fresh(portal: Portal) -> Portal:
    """The store as another session reads it (nothing cached from the app)."""
    return Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(99))


def member(portal: Portal, email: str, role: str = "regular") -> str:
    portal.invite(ADMIN, email, role)
    portal.sign_in(email)
    return email


def users(portal: Portal) -> dict[str, dict]:
    return {u["email"]: u for u in fresh(portal).list_users(ADMIN)}


def table(portal: Portal, name: str) -> list[dict]:
    return list(Store(portal.store.path).tables().get(name, {}).values())


def pool(portal: Portal) -> dict:
    return next(p for p in fresh(portal).seats_overview(ADMIN) if p["product"] == SEATS)


def states(portal: Portal) -> dict[str, str]:
    """email -> seat state, over every team of the pool, plus unassigned members."""
    row = pool(portal)
    out = {m["email"]: m["state"] for t in row["teams"] for m in t["members"]}
    out.update({e: "unassigned" for e in row["unassigned_members"]})
    return out


def add_builds(portal: Portal, product: str, versions: list[str]) -> None:
    """The vendor catalog's builds for a product (the vendor side has no admin operation)."""
    with portal.store.transaction() as db:
        builds = [
            {
                "version": v,
                "released": f"2026-0{i + 1}-15",
                "downloads": {"windows": f"https://dl.example.com/{v}.exe", "linux": f"https://dl.example.com/{v}.tgz"},
            }
            for i, v in enumerate(versions)
        ]
        db.update("products", {"builds": builds}, name=product)


async def on_screen(pilot, kind: type, what: str = ""):
    await until(pilot, lambda: isinstance(pilot.app.screen, kind), what or kind.__name__)
    return pilot.app.screen


async def back_on_page(pilot) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen), "back on the page")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def app_for(portal: Portal, tmp_path):
    return make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "settings.json")


async def open_page(app, pilot, kind: type):
    number = [p.PAGE_ID for p in app.allowed_pages()].index(kind.PAGE_ID) + 1
    await pilot.press(str(number))
    page = app.screen.query_one(kind)
    await until(pilot, lambda: page.display and page.loaded, f"{kind.PAGE_ID} shown")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return page


async def cursor_to(pilot, table, key: str, value: str) -> None:
    """Move the table's cursor with j until the row whose `key` is `value` is current."""
    await pilot.press("g")
    for _ in range(table.row_count):
        if table.current_row and table.current_row.get(key) == value:
            return
        await pilot.press("j")
    assert table.current_row and table.current_row.get(key) == value, f"no row {value}"


# -- the portal quotes these pages show (they write nothing) -----------------------------
def test_quote_team_add_says_whether_a_seat_is_taken(portal):
    member(portal, ANA)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    before = file_bytes(portal)
    quote = portal.quote_team_add(ADMIN, "Layout", ANA.upper())
    assert quote == {"team": "Layout", "email": ANA, "product": SEATS, "takes_seat": True, "invites": False,
                     "unused_before": 2, "unused_after": 1}
    assert portal.quote_team_add(ADMIN, "Layout", NEW)["invites"] is True
    assert file_bytes(portal) == before
    portal.team_add(ADMIN, "Layout", ANA)
    again = portal.quote_team_add(ADMIN, "Story", ANA)
    assert (again["takes_seat"], again["unused_before"], again["unused_after"]) == (False, 1, 1)
    with pytest.raises(RuleViolation, match="already in team"):
        portal.quote_team_add(ADMIN, "Layout", ANA)
    portal.team_add(ADMIN, "Story", NEW)
    with pytest.raises(RuleViolation, match="No unused seat"):
        portal.quote_team_add(ADMIN, "Story", BOB)


def test_team_add_with_a_stale_quote_writes_nothing_and_gives_the_fresh_one(portal):
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    quote = portal.quote_team_add(ADMIN, "Layout", NEW)
    assert quote["takes_seat"] and quote["invites"]
    fresh(portal).team_add(ADMIN, "Story", NEW)  # invited meanwhile, through another team: holds a seat now
    before = file_bytes(portal)
    with pytest.raises(StaleQuote) as info:
        portal.team_add(ADMIN, "Layout", NEW, quote)
    assert file_bytes(portal) == before
    assert (info.value.fresh["takes_seat"], info.value.fresh["invites"]) == (False, False)
    portal.team_add(ADMIN, "Layout", NEW, info.value.fresh)
    assert states(portal) == {NEW: "pending"}


def test_quote_delete_user_refuses_like_delete_and_lists_held_licenses(portal, bank):
    member(portal, ANA)
    member(portal, BOB)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", BOB)
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=12, start=TODAY, email=ANA)
    held = sorted(lic["activation_id"] for lic in portal.generate(ADMIN, quote))
    before = file_bytes(portal)
    for attempt in (portal.quote_delete_user, portal.delete_user):
        with pytest.raises(LicensesHeld) as info:
            attempt(ADMIN, ANA)
        assert info.value.activation_ids == held  # all twelve, though the message names ten
        assert "and 2 more" in str(info.value)
        with pytest.raises(RuleViolation, match="last active admin"):
            attempt(ADMIN, ADMIN)
    assert file_bytes(portal) == before
    bob = portal.quote_delete_user(ADMIN, BOB)
    assert (bob["seats_returned"], bob["teams"]) == ([SEATS], ["Layout"])
    assert file_bytes(portal) == before


# -- Users -----------------------------------------------------------------------------
async def test_invite_sends_an_invitation(portal, tmp_path):
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, UsersPage)
        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*NEW)
        await pilot.press("ctrl+s")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert NEW in confirm_text(dialog) and "invitation email" in confirm_text(dialog)
        assert NEW not in users(portal)
        await pilot.press("y")
        await back_on_page(pilot)
    user = users(portal)[NEW]
    assert (user["role"], user["status"]) == ("regular", "invited")
    assert any(m["to"] == NEW and "invited" in m["subject"] for m in table(portal, "outbox"))


async def test_invite_confirms_the_stored_address_and_refuses_a_member_before_confirming(portal, tmp_path):
    member(portal, ANA)
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, UsersPage)
        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*ANA.upper())  # the same member, typed in capitals
        await pilot.press("ctrl+s")
        # No "Invite this user?" for someone already here: said beside the email, the form open.
        await until(pilot, lambda: "already a member" in pilot.app.screen.shown_error("email"), "refusal")
        await pilot.press("ctrl+u", *NEW.upper())
        await pilot.press("ctrl+s")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert NEW in confirm_text(dialog) and NEW.upper() not in confirm_text(dialog)  # what will be stored
        await pilot.press("escape")
        await on_screen(pilot, FormDialog)  # back to the form, as typed
        await pilot.press("escape")
        await back_on_page(pilot)
    assert file_bytes(portal) == before


async def test_invite_cancelled_at_form_or_confirmation_writes_nothing(portal, tmp_path):
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, UsersPage)
        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*"neo@")
        await pilot.press("escape")
        await back_on_page(pilot)
        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*NEW)
        await pilot.press("ctrl+s")
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("escape")
        dialog = await on_screen(pilot, FormDialog)  # back to the form, as typed
        assert dialog.values()[0]["email"] == NEW
        await pilot.press("escape")
        await back_on_page(pilot)
    assert file_bytes(portal) == before


async def test_role_and_status_change_after_confirmation(portal, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, UsersPage)
        await cursor_to(pilot, page.table, "email", ANA)
        await pilot.press("A")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "regular user → admin" in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
        assert users(portal)[ANA]["role"] == "admin"
        await cursor_to(pilot, page.table, "email", ANA)
        await pilot.press("z")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "active → inactive" in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
        assert users(portal)[ANA]["status"] == "inactive"
        # The table shows what the store says.
        assert page.table.current_row["email"] == ANA and page.table.current_row["status"] == "inactive"


async def test_delete_of_the_last_admin_is_refused_with_the_portal_message(portal, tmp_path):
    member(portal, ANA)
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, UsersPage)
        await cursor_to(pilot, page.table, "email", ADMIN)
        await pilot.press("x")
        await until(pilot, lambda: "last active admin" in messages(app), "the refusal")
        assert isinstance(app.screen, MainScreen)  # no confirmation for a refused delete
    assert file_bytes(portal) == before
    assert ADMIN in users(portal)


async def test_delete_of_a_member_holding_licenses_lists_them(portal, bank, tmp_path):
    member(portal, ANA)
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=2, start=TODAY, email=ANA)
    held = sorted(lic["activation_id"] for lic in portal.generate(ADMIN, quote))
    portal.queue_reminders()  # the day's reminders (the licenses expire in 30 days), as the session queues them at start
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, UsersPage)
        await cursor_to(pilot, page.table, "email", ANA)
        await pilot.press("delete")
        dialog = await on_screen(pilot, HeldLicensesDialog)
        assert dialog.activation_ids == held
        shown = [str(s.render()) for s in dialog.query(".held-id").results()]
        assert shown == held
        await pilot.press("escape")
        await back_on_page(pilot)
    assert file_bytes(portal) == before
    assert ANA in users(portal)


async def test_delete_of_a_member_without_licenses_after_danger_confirmation(portal, tmp_path):
    member(portal, BOB)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", BOB)
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, UsersPage)
        await cursor_to(pilot, page.table, "email", BOB)
        await pilot.press("x")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert dialog.danger and SEATS in confirm_text(dialog) and "Layout" in confirm_text(dialog)
        await pilot.press("n")
        await back_on_page(pilot)
        assert file_bytes(portal) == before
        await pilot.press("x")
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await back_on_page(pilot)
        assert BOB not in [r["email"] for r in page.table.visible_rows()]
    assert BOB not in users(portal)
    assert pool(portal)["unused"] == 2


# -- Teams -----------------------------------------------------------------------------
async def test_create_team_in_the_pool(portal, tmp_path):
    grant_seats(portal, SEATS, 3)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        await pilot.press("n")
        await on_screen(pilot, FormDialog)
        await pilot.press(*"Story Art")
        await pilot.press("ctrl+s")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "Story Art" in confirm_text(dialog) and SEATS in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
        assert page.table.current_row["name"] == "Story Art"
    assert [t["name"] for t in pool(portal)["teams"]] == ["Story Art"]


async def test_add_member_takes_a_seat_and_an_invited_member_is_pending(portal, tmp_path):
    member(portal, ANA)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, TeamsPage)
        for email, invites in ((ANA, False), (NEW, True)):
            await pilot.press("a")
            await on_screen(pilot, FormDialog)
            await pilot.press(*email)
            await pilot.press("enter")
            dialog = await on_screen(pilot, ConfirmDialog)
            text = confirm_text(dialog)
            assert "takes an unused seat" in text
            assert ("invited" in text) == invites
            await pilot.press("y")
            await back_on_page(pilot)
    holders = {h["email"] for h in table(portal, "seat_holders")}
    assert holders == {ANA, NEW}
    assert states(portal) == {ANA: "active", NEW: "pending"}
    assert users(portal)[NEW]["status"] == "invited"
    assert pool(portal)["unused"] == 1


async def test_unassigned_member_who_joins_reuses_their_seat(portal, tmp_path):
    member(portal, ANA)
    grant_seats(portal, SEATS, 1)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_remove(ADMIN, "Layout", ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        await cursor_to(pilot, page.table, "name", "Story")
        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*ANA)
        await pilot.press("enter")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "reuses the seat" in confirm_text(dialog) and "0 → 0" in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    assert states(portal) == {ANA: "active"}


async def test_add_member_confirmation_goes_stale_when_the_seats_change_meanwhile(portal, tmp_path):
    member(portal, ANA)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_remove(ADMIN, "Layout", ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        await cursor_to(pilot, page.table, "name", "Story")
        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*ANA, "enter")
        first = await on_screen(pilot, ConfirmDialog)
        assert "reuses the seat" in confirm_text(first)
        # Another admin deletes Ana meanwhile: her seat went back to the pool.
        fresh(portal).delete_user(ADMIN, ANA)
        before = file_bytes(portal)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen is not first, "the fresh quote")
        assert file_bytes(portal) == before
        text = confirm_text(app.screen)
        assert "takes an unused seat" in text and "invited" in text
        await pilot.press("y")
        await back_on_page(pilot)
    assert states(portal) == {ANA: "pending"}


async def test_remove_member_leaves_them_unassigned_with_their_seat(portal, tmp_path):
    member(portal, ANA)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        assert page.members.current_row["email"] == ANA
        await pilot.press("x")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "unassigned" in confirm_text(dialog) and "keep their seat" in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    assert states(portal) == {ANA: "unassigned"}
    assert pool(portal)["unused"] == 1


async def test_remove_member_in_another_team_shows_the_portals_seat_outcome(portal, tmp_path):
    """The confirmation says what the portal's quote says happens to the seat (kept, still in
    Story), not a guess from the member's current state."""
    member(portal, ANA)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_add(ADMIN, "Story", ANA)
    quote = portal.quote_team_remove(ADMIN, "Layout", ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        assert page.table.current_row["name"] == "Layout" and page.members.current_row["email"] == ANA
        await pilot.press("x")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert dialog.rows == quote.lines()
        assert ("Seat", "kept (still in Story)") in dialog.rows
        assert f"{ANA} stays in Story and keeps their seat." in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    assert states(portal) == {ANA: "active"}
    assert pool(portal)["unused"] == 1


async def test_add_member_without_unused_seat_is_refused(portal, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    grant_seats(portal, SEATS, 1)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, TeamsPage)
        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*BOB)
        await pilot.press("enter")
        # Said beside the email, the form still open with what was typed.
        await until(pilot, lambda: "No unused seat" in app.screen.shown_error("email"), "the refusal")
        assert "request more seats" in app.screen.shown_error("email")
        assert isinstance(app.screen, FormDialog) and app.screen.values()[0]["email"] == BOB
        await pilot.press("escape")
        await back_on_page(pilot)
    assert file_bytes(portal) == before


async def test_request_seats_is_recorded_and_emailed_to_the_vendor(portal, tmp_path):
    grant_seats(portal, SEATS, 2)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, TeamsPage)
        await pilot.press("m")
        await on_screen(pilot, FormDialog)
        await pilot.press("5", "enter")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert VENDOR_EMAIL in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    [request] = table(portal, "requests")
    assert (request["kind"], request["amount"], request["product"]) == ("seats", 5, SEATS)
    assert any(m["to"] == VENDOR_EMAIL and "5 seats" in m["subject"] for m in table(portal, "outbox"))
    assert pool(portal)["purchased"] == 2


async def test_team_name_with_markup_is_text_and_runs_nothing(portal, tmp_path):
    name = "[@click=app.quit]x"
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, name, SEATS)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        assert page.table.current_row["name"] == name
        heading = str(page.query_one("#team-members-heading").render())
        assert name in heading
        await pilot.click("#teams-table", offset=(4, 1))
        await pilot.click("#team-members-heading", offset=(14, 0))
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running
        assert name in app.export_screenshot().replace("&#160;", " ")
        # In a confirmation too.
        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*ANA, "enter")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert name in dialog.title_text
        await pilot.click(".quote-value", offset=(2, 0))
        await pilot.press("escape")  # back to the form, then out of it
        await on_screen(pilot, FormDialog)
        await pilot.press("escape")
        await back_on_page(pilot)
        assert app.is_running


# -- Product Versions --------------------------------------------------------------------
async def test_restrict_to_the_chosen_builds(portal, bank, tmp_path):
    add_builds(portal, ANIMATE, ["25.0", "25.1", "25.2"])
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, VersionsPage)
        assert page.table.current_row["product"] == ANIMATE
        await pilot.press("f")
        await on_screen(pilot, FormDialog)
        # Newest first: select 25.2 and 25.1.
        await pilot.press("space", "down", "space")
        await pilot.press("ctrl+s")
        dialog = await on_screen(pilot, ConfirmDialog)
        text = confirm_text(dialog)
        assert "Only these builds will be accessible" in text and "25.2, 25.1" in text and "25.0" in text
        await pilot.press("y")
        await back_on_page(pilot)
        assert page.table.current_row["restriction"] == "enabled"
    [rule] = table(portal, "restrictions")
    assert rule["enabled"] and sorted(rule["builds"]) == ["25.1", "25.2"]
    [product] = fresh(portal).list_versions(ADMIN)
    assert {b["version"]: b["accessible"] for b in product["builds"]} == {"25.0": False, "25.1": True, "25.2": True}


async def test_restrict_with_no_build_is_refused_and_cancel_writes_nothing(portal, bank, tmp_path):
    add_builds(portal, ANIMATE, ["25.1", "25.2"])
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, VersionsPage)
        # Nothing selected: the portal's refusal.
        await pilot.press("f")
        await on_screen(pilot, FormDialog)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "no build selected" in app.screen.shown_error("builds"), "the refusal")
        await pilot.press("escape")
        await back_on_page(pilot)
        # Escape at the form, then at the confirmation (back to the form), then at the form.
        await pilot.press("f")
        await on_screen(pilot, FormDialog)
        await pilot.press("space", "escape")
        await back_on_page(pilot)
        await pilot.press("f")
        await on_screen(pilot, FormDialog)
        await pilot.press("space", "ctrl+s")
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("n")
        await on_screen(pilot, FormDialog)
        await pilot.press("escape")
        await back_on_page(pilot)
    assert file_bytes(portal) == before


async def test_allow_all_builds(portal, bank, tmp_path):
    add_builds(portal, ANIMATE, ["25.1", "25.2"])
    portal.restrict(ADMIN, ANIMATE, ["25.2"])
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, VersionsPage)
        assert page.builds.current_row["version"] == "25.2"
        await pilot.press("F")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "Disabled" in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
        assert page.table.current_row["restriction"] == "disabled"
    [product] = fresh(portal).list_versions(ADMIN)
    assert product["restriction"] == "disabled" and all(b["accessible"] for b in product["builds"])


async def test_palette_lists_the_actions_of_the_three_pages(portal, tmp_path):
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for expected in ("Users: Invite user", "Users: Delete user", "Teams: Add member", "Teams: Request seats",
                         "Product Versions: Restrict builds", "Product Versions: Allow all builds"):
            assert expected in titles
        # An action run from the palette opens its form on its page.
        app.run_page_action("users", "action_invite")
        await on_screen(pilot, FormDialog)
        await pilot.press("escape")
        await back_on_page(pilot)


async def test_enter_on_a_user_opens_their_details_and_z_there_deactivates_them(portal, tmp_path):
    """The member's details carry their actions: Enter, then s (Deactivate), confirm: the store says inactive."""
    from elp_tui.app import make_app
    from elp_tui.screens.details import DetailsScreen
    from tests.conftest import ADMIN, TODAY

    portal.invite(ADMIN, "zed@lumenfox.studio")
    portal.sign_in("zed@lumenfox.studio")
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        await app.workers.wait_for_complete()
        await pilot.press("slash", *"zed@", "enter")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailsScreen), "details")
        assert "Member zed@lumenfox.studio" in app.screen.text()
        await pilot.press("z")  # Deactivate
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation")
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert {u["email"]: u["status"] for u in portal.list_users(ADMIN)}["zed@lumenfox.studio"] == "inactive"


# -- quotes are promises: a confirmation shown on data that changed is shown again, fresh ----------
async def test_delete_confirmed_before_the_user_was_made_admin_and_added_to_a_team_shows_the_fresh_quote(portal, tmp_path):
    member(portal, ANA)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, UsersPage)
        await cursor_to(pilot, page.table, "email", ANA)
        await pilot.press("x")
        first = await on_screen(pilot, ConfirmDialog)
        assert ("Role", "regular user") in first.rows and ("Teams left", "none") in first.rows
        other = fresh(portal)  # another admin, meanwhile
        other.set_role(ADMIN, ANA, "admin")
        other.team_add(ADMIN, "Layout", ANA)
        before = file_bytes(portal)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen is not first, "the fresh quote")
        assert file_bytes(portal) == before  # the stale confirmation wrote nothing
        assert ("Role", "admin") in app.screen.rows and ("Teams left", "Layout") in app.screen.rows
        assert ("Seats returned to the pool", SEATS) in app.screen.rows
        await pilot.press("y")
        await back_on_page(pilot)
    assert ANA not in users(portal)
    assert fresh(portal).check() == []


async def test_role_change_confirmed_on_a_user_deactivated_meanwhile_shows_the_fresh_quote(portal, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, UsersPage)
        await cursor_to(pilot, page.table, "email", ANA)
        await pilot.press("A")
        first = await on_screen(pilot, ConfirmDialog)
        assert ("Status", "active") in first.rows
        fresh(portal).set_status(ADMIN, ANA, "inactive")
        before = file_bytes(portal)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen is not first, "the fresh quote")
        assert file_bytes(portal) == before
        assert ("Status", "inactive") in app.screen.rows
        await pilot.press("n")
        await back_on_page(pilot)
    assert users(portal)[ANA]["role"] == "regular"
