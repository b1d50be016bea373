"""A regular user reaches only My Assigned Licenses: no key, palette entry or action string opens more.

Store text is data: markup in names is shown literally and runs nothing.
"""

from __future__ import annotations

from textual.widgets import ContentSwitcher

from elp_tui.app import PAGES, make_app
from elp_tui.i18n import _
from elp_tui.screens.base import Page
from tests.conftest import ADMIN, TODAY
from tests.helpers import grant_bank

REGULAR = "ana@lumenfox.studio"
ADMIN_PAGES = [p.PAGE_ID for p in PAGES if p.ADMIN_ONLY]


def _current(app) -> str:
    return app.screen.query_one(ContentSwitcher).current


async def _regular_app(portal, tmp_path):
    portal.invite(ADMIN, REGULAR)
    return make_app(portal.store, REGULAR, clock=TODAY, settings_file=tmp_path / "settings.json")


async def test_regular_user_lands_on_my_licenses_and_has_no_admin_page(portal, tmp_path):
    app = await _regular_app(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert _current(app) == "page-my-licenses"
        mounted = {p.PAGE_ID for p in app.screen.query(Page).results()}
        assert mounted == {"my-licenses"}
        # Every digit, every navigation key: still the same page.
        for key in "123456789":
            await pilot.press(key)
            await pilot.pause()
            assert _current(app) == "page-my-licenses"
        for key in ("tab", "down", "down", "enter", "escape", "down", "enter"):
            await pilot.press(key)
        await pilot.pause()
        assert _current(app) == "page-my-licenses"


async def test_regular_user_action_strings_are_refused(portal, tmp_path):
    app = await _regular_app(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        for page_id in ADMIN_PAGES:
            await app.run_action(f"app.show_page('{page_id}')")
            await app.run_action(f"app.run_page_action('{page_id}', 'action_add')")
            await pilot.pause()
            assert _current(app) == "page-my-licenses"
        assert not {p.PAGE_ID for p in app.screen.query(Page).results()} & set(ADMIN_PAGES)


async def test_regular_user_palette_lists_no_admin_page_or_action(portal, tmp_path):
    app = await _regular_app(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for page in PAGES:
            if page.ADMIN_ONLY:
                assert not any(_(page.TITLE) in t for t in titles)
                for command in page.COMMANDS:
                    # "Users: New API token" never shows; "My Assigned Licenses: New API token" may (a
                    # member makes their own token there, the same command an admin has on Users).
                    admin_title = _("{page}: {action}").format(page=_(page.TITLE), action=_(command.palette_title))
                    assert admin_title not in titles
        # Typing an admin page name in the real palette finds nothing to open.
        await pilot.press("ctrl+p")
        await pilot.press(*"Dashboard")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert _current(app) == "page-my-licenses"


async def test_admin_palette_lists_every_page(portal, tmp_path):
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert _current(app) == "page-dashboard"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for page in PAGES:
            assert any(_(page.TITLE) in t for t in titles)
        await pilot.press("8")
        await pilot.pause()
        assert _current(app) == "page-activity"


async def test_markup_in_store_text_is_shown_literally_and_runs_nothing(store_path, tmp_path):
    import random

    from elp_tui.portal import Portal, fixed_clock
    from elp_tui.store import Store

    portal = Portal(Store(store_path), fixed_clock(TODAY), rng=random.Random(3))
    portal.init_organization("[@click=app.quit]x [/] Org", ADMIN)
    grant_bank(portal, product="[b]Bold[/b] [@click=app.quit]", credits=10, start="2026-11-01", expires_on="2027-01-01")
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        header = app.screen.query_one("#signed-in")
        assert "[@click=app.quit]x [/] Org" in str(header.render())
        await pilot.press("8")
        await pilot.pause(0.3)
        # Click on the header line and on the activity rows: the app is still running.
        await pilot.click("#signed-in", offset=(10, 0))
        await pilot.click("#activity-table", offset=(50, 2))
        await pilot.pause()
        assert app.is_running
        screenshot = app.export_screenshot()
        assert "[@click=app.quit]x [/] Org" in screenshot.replace("&#160;", " ")


async def test_unknown_and_inactive_users_are_refused_clearly(portal, tmp_path):
    import pytest

    from elp_tui.portal import SignInRefused

    with pytest.raises(SignInRefused, match="not an ELP user"):
        make_app(portal.store, "nobody@lumenfox.studio", clock=TODAY)
    portal.invite(ADMIN, "gone@lumenfox.studio")
    portal.sign_in("gone@lumenfox.studio")
    portal.set_status(ADMIN, "gone@lumenfox.studio", "inactive")
    with pytest.raises(SignInRefused, match="inactive"):
        make_app(portal.store, "gone@lumenfox.studio", clock=TODAY)


async def test_the_french_palette_writes_a_space_before_the_colon(portal, tmp_path):
    app = make_app(portal.store, ADMIN, clock=TODAY, lang="fr", settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        actions = [t for t in titles if t.startswith("Gérer les licences")]
        assert actions and all(t.startswith("Gérer les licences : ") for t in actions), actions
