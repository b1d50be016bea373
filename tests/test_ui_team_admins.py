"""Team Admins in the app (seed 002, issue 11): the keys a person presses, then the store as a fresh
Portal reads it. A Team Admin sees My Assigned Licenses and Teams (their teams only) and adds members
there through the same form, seat quote and confirmation; an organization admin makes a member a
Team Admin from the Teams page."""

from __future__ import annotations

import random

from elp_tui.app import make_app
from elp_tui.portal import Portal, fixed_clock
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.main import MainScreen
from elp_tui.screens.teams import TeamsPage
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.helpers import confirm_text, grant_seats, messages, only_refusal_logged, store_tables, until

ANA = "ana@lf.studio"  # Team Admin of Story
BOB = "bob@lf.studio"
NEW = "neo@lf.studio"
SEATS = "Frameloop Teams"


def fresh(portal: Portal) -> Portal:
    return Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(5))


def team(portal: Portal, name: str) -> dict:
    return next(t for t in Store(portal.store.path).tables()["teams"].values() if t["name"] == name)


def setup(portal: Portal, *, team_admin: bool = True) -> None:
    for email in (ANA, BOB):
        portal.invite(ADMIN, email)
        portal.sign_in(email)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Story", BOB)
    portal.team_add(ADMIN, "Layout", ANA)
    if team_admin:
        portal.set_team_admin(ADMIN, "Story", ANA)


async def on_screen(pilot, kind: type):
    await until(pilot, lambda: isinstance(pilot.app.screen, kind), kind.__name__)
    return pilot.app.screen


async def back_on_page(pilot) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen), "back on the page")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_teams(app, pilot) -> TeamsPage:
    number = [p.PAGE_ID for p in app.allowed_pages()].index("teams") + 1
    await pilot.press(str(number))
    page = app.screen.query_one(TeamsPage)
    await until(pilot, lambda: page.display and page.loaded, "teams shown")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return page


def footer_keys(app) -> set[str]:
    return {b.binding.id for b in app.screen.active_bindings.values() if b.binding.id and b.enabled}


async def test_a_team_admin_sees_my_licenses_and_teams_only_and_adds_a_member_to_their_team(portal, tmp_path):
    setup(portal)
    app = make_app(portal.store, ANA, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.is_team_admin and app.role_name() == "Team Admin"
        assert [p.PAGE_ID for p in app.allowed_pages()] == ["my-licenses", "teams"]
        assert "(Team Admin)" in str(app.screen.query_one("#signed-in").render())
        page = await open_teams(app, pilot)
        assert [r["name"] for r in page.table.visible_rows()] == ["Story"]  # not Layout
        assert [m["email"] for m in page.members.visible_rows()] == [BOB]
        assert page.query_one("#teams-requests").display is False
        keys = footer_keys(app)
        assert {"teams.add", "teams.remove"} <= keys
        assert not keys & {"teams.create", "teams.request", "teams.admin"}

        before = store_tables(portal.store.path)
        await pilot.press("n", "m", "A")  # an admin's keys: nothing happens, nothing written
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and store_tables(portal.store.path) == before

        await pilot.press("a")
        await on_screen(pilot, FormDialog)
        await pilot.press(*NEW, "enter")
        dialog = await on_screen(pilot, ConfirmDialog)
        text = confirm_text(dialog)
        assert "takes an unused seat" in text and "1 → 0" in text and "invited" in text
        await pilot.press("y")
        await back_on_page(pilot)
        assert f"{NEW} joined Story." in messages(app)
    assert team(portal, "Story")["members"] == [BOB, NEW]
    tables = Store(portal.store.path).tables()
    assert next(u for u in tables["users"].values() if u["email"] == NEW)["status"] == "invited"
    assert any(m["to"] == NEW and m["kind"] == "invitation" for m in tables["outbox"].values())
    assert fresh(portal).activity(ADMIN)[0]["actor"] == ANA
    assert fresh(portal).check() == []


async def test_a_team_admin_reaching_new_team_or_request_seats_anyway_is_refused_and_logged(portal, tmp_path):
    setup(portal)
    app = make_app(portal.store, ANA, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_teams(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Teams: Add member" in titles and "Teams: Create team" not in titles
        assert "Teams: Request seats" not in titles
        for method, operation in (("action_create_team", "create_team"), ("action_request_seats", "quote_request_seats")):
            before = store_tables(portal.store.path)
            app.run_page_action("teams", method)  # as the palette runs a page's action
            await until(pilot, lambda: "only organization admins" in messages(app), "the refusal")
            await pilot.pause()
            assert isinstance(app.screen, MainScreen)  # no form opened
            only_refusal_logged(before, store_tables(portal.store.path), ANA, operation)
            app.clear_notifications()


async def test_an_admin_makes_the_highlighted_member_team_admin_from_the_teams_page(portal, tmp_path):
    setup(portal, team_admin=False)
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(100, 30)) as pilot:
        page = await open_teams(app, pilot)
        assert page.table.current_row["name"] == "Layout" and page.members.current_row["email"] == ANA
        assert "teams.admin" in footer_keys(app)
        await pilot.press("A")
        dialog = await on_screen(pilot, ConfirmDialog)
        assert f"Make {ANA} a Team Admin of Layout?" in confirm_text(dialog)
        assert "no → yes" in confirm_text(dialog)
        await pilot.press("n")  # cancelled: nothing written
        await back_on_page(pilot)
        assert team(portal, "Layout")["admins"] == []
        await pilot.press("A")
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await back_on_page(pilot)
        assert team(portal, "Layout")["admins"] == [ANA]
        assert page.members.current_row["team_admin"] is True
        await pilot.press("A")  # again: no longer
        dialog = await on_screen(pilot, ConfirmDialog)
        assert "yes → no" in confirm_text(dialog)
        await pilot.press("y")
        await back_on_page(pilot)
    assert team(portal, "Layout")["admins"] == []
    assert [e["action"] for e in fresh(portal).activity(ADMIN)[:2]] == ["team-admin", "team-admin"]


async def test_a_member_made_team_admin_meanwhile_gets_the_teams_page_without_restarting(portal, tmp_path):
    setup(portal, team_admin=False)
    app = make_app(portal.store, ANA, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert [p.PAGE_ID for p in app.allowed_pages()] == ["my-licenses"]
        fresh(portal).set_team_admin(ADMIN, "Story", ANA)  # another session
        await until(pilot, lambda: "you are now Team Admin" in messages(app), "the news")
        await until(pilot, lambda: bool(app.screen.query(TeamsPage)), "the Teams page")
        assert app.is_team_admin and [p.PAGE_ID for p in app.allowed_pages()] == ["my-licenses", "teams"]
