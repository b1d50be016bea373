"""Reaching every part from the keyboard: tab cycles the panes of a page, j/k move in the sidebar,
and every key means one thing across the app (issue 12)."""

from __future__ import annotations

from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.main import Sidebar
from elp_tui.screens.teams import TeamsPage
from elp_tui.widgets.filter import FilterBar
from tests.conftest import ADMIN
from tests.helpers import confirm_text, grant_seats, until
from tests.test_ui_people import ANA, BOB, SEATS, app_for, back_on_page, member, on_screen, open_page, states


async def test_tab_reaches_the_members_of_a_team_and_x_removes_the_highlighted_one(portal, tmp_path):
    for email in (ANA, BOB):
        member(portal, email)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_add(ADMIN, "Layout", BOB)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        page = await open_page(app, pilot, TeamsPage)
        assert app.focused is page.table
        await pilot.press("tab")
        assert app.focused is page.members
        await pilot.press("shift+tab", "shift+tab")
        assert isinstance(app.focused, FilterBar)
        await pilot.press("tab", "tab")
        assert app.focused is page.members
        await pilot.press("j")
        assert page.members.current_row["email"] == BOB
        await pilot.press("x")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert BOB in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    assert states(portal) == {ANA: "active", BOB: "unassigned"}


async def test_after_escape_tab_leaves_the_sidebar_and_j_k_move_in_it(portal, bank, tmp_path):
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.screen.query(Sidebar) and app.screen.query_one(Sidebar).highlighted is not None)
        await pilot.pause()
        await pilot.press("escape")
        sidebar = app.screen.query_one(Sidebar)
        assert app.focused is sidebar
        start = sidebar.highlighted_option.id
        assert start == "dashboard"
        await pilot.press("j")
        await until(pilot, lambda: app.screen.current_page().PAGE_ID == "banks", "j goes to the next page")
        await pilot.press("k")
        await until(pilot, lambda: app.screen.current_page().PAGE_ID == "dashboard", "k goes back")
        await pilot.press("tab")
        assert app.focused is not sidebar
        assert app.screen.current_page() in app.focused.ancestors
