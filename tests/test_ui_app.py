"""App-wide behaviour: help lists the keys, the theme persists, the header says who is signed in."""

from __future__ import annotations

import json

from textual.widgets import Static

from elp_tui.app import make_app
from elp_tui.screens.help import HelpScreen
from tests.conftest import ADMIN, TODAY


async def test_header_shows_user_role_and_organization(portal, tmp_path):
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#signed-in", Static).render())
        assert "Lumenfox Studios" in text and ADMIN in text and "admin" in text


async def test_question_mark_opens_help_with_every_page_key(portal, tmp_path):
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = " ".join(str(s.render()) for s in app.screen.query(Static).results())
        for expected in ("ctrl+p", "Filter", "Refresh", "Quit", "Sort"):
            assert expected in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_chosen_theme_persists_across_runs(portal, tmp_path):
    settings = tmp_path / "settings.json"
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.theme = "nord"
        await pilot.pause()
    assert json.loads(settings.read_text())["theme"] == "nord"
    again = make_app(portal.store, ADMIN, clock=TODAY, settings_file=settings)
    async with again.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert again.theme == "nord"


async def test_ctrl_q_quits(portal, tmp_path):
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_every_page_loads_when_switched_to_quickly_at_80x24(portal, tmp_path):
    """A quick switch must not leave a page on "Loading…" (Textual may skip its Show event)."""
    from elp_tui.screens.base import Page

    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(80, 24)) as pilot:
        for key in "345678123":
            await pilot.press(key)
        await pilot.pause()
        pages = list(app.screen.query(Page).results())
        assert len(pages) == 8
        assert all(page.loaded for page in pages), [p.PAGE_ID for p in pages if not p.loaded]
