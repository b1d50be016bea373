"""SSH keys on the Users page and the key an entry came through on the Activity page: the keys
a person presses (a .pub line arrives as a terminal paste), then the store as a fresh Portal reads it."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input, Static

from elp_tui.portal import Portal, fixed_clock
from elp_tui.screens.activity import ActivityPage
from elp_tui.screens.dialogs.actions import ActionMenu
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.keys import PublicKeyDialog
from elp_tui.screens.users import UsersPage
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.helpers import confirm_text, file_bytes, messages, until
from tests.keyfiles import fingerprint, last_code, pub_line
from tests.test_hostile_app import raw_on_screen, screen_text
from tests.test_ui_people import app_for, back_on_page, cursor_to, fresh, member, on_screen, open_page

ANA = "ana@lf.studio"
BOB = "bob@lf.studio"
SIZE = (100, 30)


def keys_of(portal: Portal, email: str) -> list[str]:
    return [k["fingerprint"] for k in fresh(portal).list_keys(ADMIN, email)]


async def users_page(app, pilot, email: str) -> UsersPage:
    page = await open_page(app, pilot, UsersPage)
    await cursor_to(pilot, page.table, "email", email)
    await pilot.pause()
    return page


async def paste(pilot, text: str) -> None:
    """What a terminal sends when the person pastes: one event with the whole text."""
    field = pilot.app.screen.query_one("#key-text", Input)
    field.post_message(events.Paste(text))
    await pilot.pause()


# -- add -------------------------------------------------------------------------------------
async def test_add_a_key_pasted_into_the_form(portal, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        page = await users_page(app, pilot, ANA)
        assert "SSH keys of ana@lf.studio (0)" in screen_text(app)
        await pilot.press("b")
        form = await on_screen(pilot, PublicKeyDialog)
        await paste(pilot, pub_line("ana") + "\n")  # a copied line often ends with its line break
        assert fingerprint("ana") in str(form.query_one("#key-check", Static).render())
        await pilot.press("enter")
        dialog = await on_screen(pilot, ConfirmDialog)
        text = confirm_text(dialog)
        assert ANA in text and fingerprint("ana") in text and "ana@laptop" in text
        await pilot.press("y")
        await back_on_page(pilot)
        assert keys_of(portal, ANA) == [fingerprint("ana")]
        key = fresh(portal).list_keys(ADMIN, ANA)[0]
        assert (key["added_by"], key["comment"]) == (ADMIN, "ana@laptop")
        # The keys beside the table show it, short; the full fingerprint under them.
        assert [row["fingerprint"] for row in page.keys_table.visible_rows()] == [fingerprint("ana")]
        shown = screen_text(app)
        assert "SSH keys of ana@lf.studio (1)" in shown and fingerprint("ana")[:15] + "…" in shown
        assert fingerprint("ana") in shown


async def test_the_form_refuses_what_is_not_one_public_key_and_nothing_is_written(portal, tmp_path):
    member(portal, ANA)
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await users_page(app, pilot, ANA)
        await pilot.press("b")
        form = await on_screen(pilot, PublicKeyDialog)
        check = form.query_one("#key-check", Static)
        for text, says in [
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "PRIVATE key"),
            ('command="/bin/sh" ' + pub_line("ana"), "without options"),
            (pub_line("ana") + "\n" + pub_line("ana-2"), "exactly one"),
        ]:
            form.query_one("#key-text", Input).value = ""
            await paste(pilot, text)
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is form, "the form stays, saying what is wrong"
            assert says in str(check.render()) and check.has_class("-error")
        await pilot.press("escape")
        await back_on_page(pilot)
    assert file_bytes(portal) == before


async def test_a_key_already_bound_is_refused_after_the_form(portal, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    portal.add_key(ADMIN, BOB, pub_line("shared"))
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await users_page(app, pilot, ANA)
        await pilot.press("b")
        await on_screen(pilot, PublicKeyDialog)
        await paste(pilot, pub_line("shared"))
        await pilot.press("enter")
        await back_on_page(pilot)
        assert "another user" in messages(app)
    assert file_bytes(portal) == before


async def test_a_hostile_comment_is_shown_as_text(portal, tmp_path):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana", "\x1b]52;c;ZXZpbA==\x07[b]bold[/b] [@click=app.quit]x[/]"))
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await users_page(app, pilot, ANA)
        page.keys_table.focus()
        await pilot.press("B")
        dialog = await on_screen(pilot, ConfirmDialog)
        await pilot.pause()
        assert "[b]bold[/b]" in screen_text(app) and not raw_on_screen(app)
        assert "[b]bold[/b]" in confirm_text(dialog)
        await pilot.press("n")
        await back_on_page(pilot)
    assert keys_of(portal, ANA) == [fingerprint("ana")]


# -- revoke ----------------------------------------------------------------------------------
async def test_revoke_one_of_two_keys_picked_from_the_list(portal, tmp_path):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    portal.add_key(ADMIN, ANA, pub_line("ana-desk"))
    order = keys_of(portal, ANA)  # as the page lists them
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await users_page(app, pilot, ANA)
        await pilot.press("B")
        await on_screen(pilot, ActionMenu, "which key")
        await pilot.press("2")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert order[1] in confirm_text(dialog) and ANA in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    assert keys_of(portal, ANA) == [order[0]]
    assert fresh(portal).activity(ADMIN)[0]["action"] == "key-revoke"


async def test_revoke_the_key_under_the_cursor_of_the_keys_table_or_cancel(portal, tmp_path):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    portal.add_key(ADMIN, ANA, pub_line("ana-desk"))
    order = keys_of(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        page = await users_page(app, pilot, ANA)
        page.keys_table.focus()
        await pilot.press("j")  # the second key
        await pilot.press("B")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert order[1] in confirm_text(dialog)
        before = file_bytes(portal)
        await pilot.press("n")
        await back_on_page(pilot)
        assert file_bytes(portal) == before and "nothing was changed" in messages(app)
        page.keys_table.focus()
        await pilot.press("enter")  # Enter on a key offers to revoke it too
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await back_on_page(pilot)
    assert keys_of(portal, ANA) == [order[0]]


async def test_revoke_says_so_when_the_user_has_no_key(portal, tmp_path):
    member(portal, ANA)
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await users_page(app, pilot, ANA)
        await pilot.press("B")
        await pilot.pause()
        assert "has no SSH key" in messages(app) and not isinstance(app.screen, ConfirmDialog)
    assert file_bytes(portal) == before


# -- a new invitation ------------------------------------------------------------------------
async def test_reinvite_an_invited_member_sends_a_new_code(portal, tmp_path):
    portal.invite(ADMIN, BOB, "regular")
    old = last_code(portal, BOB)
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await users_page(app, pilot, ANA)
        before = file_bytes(portal)
        await pilot.press("i")  # active: no new invitation, said
        await pilot.pause()
        assert "only an invited member" in messages(app) and file_bytes(portal) == before
        page = app.screen.query_one(UsersPage)
        await cursor_to(pilot, page.table, "email", BOB)
        await pilot.press("i")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert BOB in confirm_text(dialog) and "stops working" in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    new = last_code(portal, BOB)
    assert new != old
    assert fresh(portal).activity(ADMIN)[0]["action"] == "user-reinvite"


async def test_the_members_details_offer_the_key_actions(portal, tmp_path):
    from elp_tui.screens.details import DetailsScreen

    portal.invite(ADMIN, BOB, "regular")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        page = await users_page(app, pilot, BOB)
        page.table.focus()
        await pilot.press("enter")
        details = await on_screen(pilot, DetailsScreen)
        offered = {action.id: action.why_not for action in details.actions.values()}
        assert offered["add_key"] is None and offered["reinvite"] is None
        assert offered["revoke_key"] == f"{BOB} has no SSH key."
        await pilot.press("b")
        await on_screen(pilot, PublicKeyDialog)
        await paste(pilot, pub_line("bob"))
        await pilot.press("enter")
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await back_on_page(pilot)
    assert keys_of(portal, BOB) == [fingerprint("bob")]


# -- the key an entry came through -----------------------------------------------------------------
@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
async def test_the_activity_page_shows_the_key_an_entry_came_through(portal, tmp_path, size):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    session = Portal(Store(portal.store.path), fixed_clock(TODAY))
    session.ssh_sign_in(fingerprint("ana"))
    session.add_key(ANA, ANA, pub_line("ana-desk"))  # the newest entry, made over SSH
    app = app_for(portal, tmp_path)
    async with app.run_test(size=size) as pilot:
        page = await open_page(app, pilot, ActivityPage)
        assert page.table.current_row["via"] == fingerprint("ana")
        await pilot.pause()
        detail = page.query_one("#activity-detail", Static)
        assert "via SSH key " + fingerprint("ana") in str(detail.render())
        assert fingerprint("ana") in screen_text(app), "the whole fingerprint is in sight"
        await pilot.press("j")  # made locally: no key named
        await pilot.pause()
        assert page.table.current_row["via"] is None and "via SSH key" not in str(detail.render())
