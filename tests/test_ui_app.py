"""App-wide behaviour: help lists the keys, the theme persists, the header says who is signed in."""

from __future__ import annotations

import json

from textual.widgets import Static

from elp_tui.app import make_app
from elp_tui.screens.help import HelpScreen
from tests.conftest import ADMIN, TODAY
from tests.helpers import grant_bank


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
        for key in "3456789123":
            await pilot.press(key)
        await pilot.pause()
        pages = list(app.screen.query(Page).results())
        assert len(pages) == 9
        assert all(page.loaded for page in pages), [p.PAGE_ID for p in pages if not p.loaded]


async def test_a_page_shows_what_changed_while_it_was_hidden(portal, bank, tmp_path):
    """Credits spent by another admin (another process, same file) show when the page is shown again."""
    import random

    from elp_tui.portal import Portal, fixed_clock
    from elp_tui.store import Store
    from elp_tui.widgets.table import RecordTable

    app = make_app(portal.store.path, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#page-banks").query_one(RecordTable)
        assert table.current_row["remaining"] == 100
        other = Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(9))
        quote = other.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=3, quantity=1,
                                     start=TODAY, email="ana@lumenfox.studio")
        other.generate(ADMIN, quote)
        await pilot.press("8")
        await pilot.press("3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.current_row["remaining"] == 97


async def test_line_breaks_and_escapes_in_store_text_never_reach_the_terminal(store_path, tmp_path):
    import random

    from elp_tui.portal import Portal, fixed_clock
    from elp_tui.store import Store
    from elp_tui.widgets.table import RecordTable

    portal = Portal(Store(store_path), fixed_clock(TODAY), rng=random.Random(3))
    portal.init_organization("Lumenfox Studios", ADMIN)
    # The portal refuses such names now; a store written by hand or by an older release may hold them.
    grant_bank(portal, product="Evil", credits=10, start="2026-11-01", expires_on="2027-01-01")
    from elp_tui.portal.base import T_BANKS

    with portal.store.transaction() as db:
        db.update(T_BANKS, {"product": "Evil\nLine\x1b[31mRed\u202eabc"}, product="Evil")
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#page-banks").query_one(RecordTable)
        line = "".join(segment.text for segment in table.render_line(1))
        assert "Evil Line?[31mRed?abc"[:15] in line
        assert not any(ch in line for ch in "\n\r\x1b\u202e")


async def test_an_admin_who_demotes_themselves_loses_the_admin_pages_at_once(portal, tmp_path):
    from textual.widgets import ContentSwitcher

    from elp_tui.screens.base import Page

    portal.invite(ADMIN, "second@lumenfox.studio", role="admin")
    portal.sign_in("second@lumenfox.studio")
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("6")
        await app.workers.wait_for_complete()
        await pilot.press("slash", *ADMIN, "enter")
        await pilot.pause()
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert {p.PAGE_ID for p in app.screen.query(Page).results()} == {"my-licenses"}
        assert app.screen.query_one(ContentSwitcher).current == "page-my-licenses"
        await app.run_action("app.show_page('users')")
        assert app.screen.query_one(ContentSwitcher).current == "page-my-licenses"
    assert portal.sign_in(ADMIN)["role"] == "regular"
