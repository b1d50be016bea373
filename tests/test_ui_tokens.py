"""API tokens on the Users page (issue 14): beside the highlighted member's SSH keys, their tokens;
revoke one (picked from a list, or under the cursor), make a new one of your own and see it once.
The keys a person presses, then the store as a fresh Portal (and the file's bytes) read it."""

from __future__ import annotations

import hashlib

from textual.widgets import Input, Static

from elp_tui.app import make_app
from elp_tui.portal import Portal, fixed_clock
from elp_tui.screens.activity import ActivityPage
from elp_tui.screens.my_licenses import MyLicensesPage
from elp_tui.store import Store

from elp_tui.portal.tokens import MAX_TOKENS
from elp_tui.screens.dialogs.actions import ActionMenu
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.dialogs.tokens import NewTokenDialog
from elp_tui.screens.users import UsersPage
from tests.conftest import ADMIN, TODAY
from tests.helpers import confirm_text, file_bytes, messages, until
from tests.test_hostile_app import screen_text
from tests.test_ui_my_licenses import open_mine
from tests.test_ui_people import app_for, back_on_page, cursor_to, fresh, member, on_screen, open_page

ANA = "ana@lf.studio"
SIZE = (100, 30)


def tokens_of(portal, email: str) -> dict[str, dict]:
    return {t["id"]: t for t in fresh(portal).list_tokens(ADMIN, email)}


async def users_page(app, pilot, email: str) -> UsersPage:
    page = await open_page(app, pilot, UsersPage)
    await cursor_to(pilot, page.table, "email", email)
    await pilot.pause()
    return page


async def test_the_members_tokens_are_listed_beside_their_keys(portal, tmp_path):
    member(portal, ANA)
    portal.create_token(ANA, "ci")
    portal.create_token(ANA, "old laptop")
    portal.revoke_token(ANA, "tok-0002")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        page = await users_page(app, pilot, ANA)
        shown = screen_text(app)
        assert "API tokens of ana@lf.studio (1 live)" in shown
        rows = {row["id"]: row for row in page.tokens_table.visible_rows()}
        assert set(rows) == {"tok-0001", "tok-0002"} and rows["tok-0002"]["revoked_on"] == TODAY.isoformat()
        assert "old laptop" in shown and "revoked" in shown


async def test_revoke_one_of_two_live_tokens_picked_from_the_list(portal, tmp_path):
    member(portal, ANA)
    portal.create_token(ANA, "ci")
    portal.create_token(ANA, "laptop")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await users_page(app, pilot, ANA)
        await pilot.press("T")
        await on_screen(pilot, ActionMenu, "which token")
        await pilot.press("2")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "tok-0002" in confirm_text(dialog) and "laptop" in confirm_text(dialog) and ANA in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    tokens = tokens_of(portal, ANA)
    assert not tokens["tok-0001"]["revoked_on"]
    assert (tokens["tok-0002"]["revoked_on"], tokens["tok-0002"]["revoked_by"]) == (TODAY.isoformat(), ADMIN)
    entry = fresh(portal).activity(ADMIN)[0]
    assert (entry["action"], entry["actor"], entry["target"]) == ("token-revoke", ADMIN, ANA)


async def test_revoke_the_token_under_the_cursor_or_cancel(portal, tmp_path):
    member(portal, ANA)
    portal.create_token(ANA, "ci")
    portal.create_token(ANA, "laptop")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        page = await users_page(app, pilot, ANA)
        page.tokens_table.focus()
        await pilot.press("j")  # the second token
        await pilot.press("T")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "tok-0002" in confirm_text(dialog)
        before = file_bytes(portal)
        await pilot.press("n")
        await back_on_page(pilot)
        assert file_bytes(portal) == before and "nothing was changed" in messages(app)
        page.tokens_table.focus()
        await pilot.press("enter")  # Enter on a token offers to revoke it too
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await back_on_page(pilot)
        assert "API tokens of ana@lf.studio (1 live)" in screen_text(app)
    tokens = tokens_of(portal, ANA)
    assert tokens["tok-0002"]["revoked_on"] and not tokens["tok-0001"]["revoked_on"]


async def test_revoke_says_so_when_the_member_has_no_live_token(portal, tmp_path):
    member(portal, ANA)
    portal.create_token(ANA)
    portal.revoke_token(ADMIN, "tok-0001")
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await users_page(app, pilot, ANA)
        await pilot.press("T")
        await pilot.pause()
        assert "has no live API token" in messages(app) and not isinstance(app.screen, ConfirmDialog)
    assert file_bytes(portal) == before


async def test_a_new_token_is_shown_once_copied_and_only_its_hash_stored(portal, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await users_page(app, pilot, ANA)  # a member highlighted: the token is still the admin's own
        await pilot.press("N")
        await on_screen(pilot, FormDialog)
        await pilot.press(*"ci")
        await pilot.press("ctrl+s")
        dialog = await on_screen(pilot, NewTokenDialog)
        await pilot.pause()
        secret = dialog.query_one("#token-secret", Input).value
        assert secret.startswith("elp_") and len(secret) == 36
        shown = screen_text(app)
        assert secret in shown and "will not be shown again" in shown and "tok-0001" in shown
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == secret
        await pilot.press("enter")
        await back_on_page(pilot)
        assert secret not in screen_text(app)
    raw = file_bytes(portal)
    assert secret.encode() not in raw and hashlib.sha256(secret.encode()).hexdigest().encode() in raw
    made = fresh(portal).list_tokens(ADMIN, ADMIN)
    assert [(t["id"], t["name"], t["email"]) for t in made] == [("tok-0001", "ci", ADMIN)]
    assert fresh(portal).token_user(secret)["email"] == ADMIN


async def test_the_new_token_form_says_a_refusal_beside_the_name_and_writes_nothing(portal, tmp_path):
    for _ in range(MAX_TOKENS):
        portal.create_token(ADMIN)
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_page(app, pilot, UsersPage)
        await pilot.press("N")
        form = await on_screen(pilot, FormDialog)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "revoke one you no longer use" in form.shown_error("name"), "refusal")
        assert not isinstance(app.screen, NewTokenDialog)
        await pilot.press("escape")
        await back_on_page(pilot)
    assert file_bytes(portal) == before


async def test_a_regular_member_makes_their_own_token_from_my_assigned_licenses(portal, tmp_path):
    member(portal, ANA)
    app = make_app(portal.store, ANA, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=SIZE) as pilot:
        page = await open_mine(app, pilot)
        page.table.focus()
        await pilot.press("N")
        await on_screen(pilot, FormDialog)
        await pilot.press("ctrl+s")  # no name: allowed
        dialog = await on_screen(pilot, NewTokenDialog)
        secret = dialog.query_one("#token-secret", Input).value
        await pilot.press("escape")
        await back_on_page(pilot)
    assert [(t["id"], t["email"], t["name"]) for t in fresh(portal).list_tokens(ANA)] == [("tok-0001", ANA, "")]
    assert fresh(portal).token_user(secret)["email"] == ANA and secret.encode() not in file_bytes(portal)


async def test_the_activity_page_names_the_token_an_entry_came_through(portal, tmp_path):
    member(portal, ANA)
    secret = portal.create_token(ANA, "ci")["token"]
    server = Portal(Store(portal.store.path), fixed_clock(TODAY))
    server.token_user(secret)  # what `elp serve` does for a request with this token
    server.create_token(ANA, "second")  # the newest entry, made through the token
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        page = await open_page(app, pilot, ActivityPage)
        assert page.table.current_row["via"] == "token:tok-0001"
        await pilot.pause()
        detail = str(page.query_one("#activity-detail", Static).render())
        assert "via API token tok-0001" in detail and "SSH key" not in detail
