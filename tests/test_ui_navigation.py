"""Reaching every part from the keyboard: tab cycles the panes of a page, j/k move in the sidebar,
and every key means one thing across the app (issue 12)."""

from __future__ import annotations

import pytest

from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.main import Sidebar
from elp_tui.screens.teams import TeamsPage
from elp_tui.widgets.filter import FilterBar
from tests.conftest import ADMIN, TODAY
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


# -- one key, one meaning ------------------------------------------------------------------------
# Keys that move or open in every list: they mean the same everywhere by nature.
NAVIGATION = {"enter", "space", "escape", "tab", "shift+tab", "j", "k", "up", "down", "g", "G", "home", "end",
              "pageup", "pagedown", "h", "l", "left", "right"}


def _keys(binding) -> list[str]:
    from textual.keys import _normalize_key_list

    return _normalize_key_list(binding.key).split(",")


def test_every_key_means_one_thing_across_the_pages_and_no_page_takes_a_key_of_the_app():
    from elp_tui.app import ELPApp, PAGES, VENDOR_PAGES
    from elp_tui.screens.main import MainScreen, Sidebar
    from elp_tui.widgets.commands import VERBS
    from elp_tui.widgets.table import RecordTable

    everywhere = {key for cls in (ELPApp, MainScreen, RecordTable, Sidebar)
                  for bindings in cls._merged_bindings.key_to_bindings.values() for b in bindings for key in _keys(b)}
    meanings: dict[str, set[str]] = {}
    for page in [*PAGES, *VENDOR_PAGES]:
        for bindings in page._merged_bindings.key_to_bindings.values():
            for binding in bindings:
                command = page.command(binding.action)
                meaning = f"verb {command.verb}" if command else f"{page.PAGE_ID}: {binding.action}"
                for key in _keys(binding):
                    if key in NAVIGATION:
                        continue
                    assert key not in everywhere, f"{page.PAGE_ID} takes {key!r}, a key of every page"
                    meanings.setdefault(key, set()).add(meaning)
    clashes = {key: found for key, found in meanings.items() if len(found) > 1}
    assert not clashes, clashes
    # The three traps are gone: q is nobody's, d and t mean one thing each.
    assert "q" not in meanings
    assert meanings["d"] == {"verb download"} and meanings["t"] == {"verb take-back"}
    assert len({v.key for v in VERBS.values()}) == len(VERBS)


def test_the_readme_key_table_lists_every_verb_with_its_key():
    from pathlib import Path

    from elp_tui.widgets.commands import VERBS

    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text(encoding="utf-8")
    for verb in VERBS.values():
        shown = " / ".join(f"`{k}`" for k in verb.key.replace("delete", "del").split(","))
        assert f"| {shown} | {verb.meaning} |" in readme, verb


# -- the footer is never cut ---------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 100, 120])
async def test_the_footer_shows_quit_and_help_whole_on_every_page(portal, bank, tmp_path, width):
    from textual.widgets._footer import FooterKey

    from elp_tui.app import make_app
    from elp_tui.screens.base import Page
    from elp_tui.screens.main import ElpFooter

    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json", lang="fr" if width == 80 else None)
    async with app.run_test(size=(width, 30)) as pilot:
        for number, page_cls in enumerate(app.allowed_pages(), start=1):
            await pilot.press(str(number))
            await until(pilot, lambda: app.screen.query_one(page_cls).display and app.screen.query_one(page_cls).loaded)
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.pause()
            footer = app.screen.query_one(ElpFooter)
            keys = list(footer.query(FooterKey).results())
            shown = {k.description for k in keys}
            quit_help = {"Quitter", "Aide"} if width == 80 else {"Quit", "Help"}
            assert quit_help <= shown, (page_cls.PAGE_ID, shown)
            for key in keys:
                assert key.region.right <= width and key.region.width >= len(key.key_display) + len(key.description), (
                    page_cls.PAGE_ID, key.description, key.region)
            assert footer.virtual_size.width <= width
            page = app.screen.query_one(page_cls)
            assert isinstance(page, Page)
            own = [c for c in page_cls.COMMANDS if c.show and (app.is_admin or not c.admin_only)]
            if own and app.focused is not None and page in app.focused.ancestors:
                # the page's first action is never pushed out by the table's or the screen's keys
                assert own[0].binding().description in {k.description for k in keys} or width == 80, page_cls.PAGE_ID


async def test_the_vendor_desk_footer_shows_quit_and_help_whole_at_80_columns(portal, bank, tmp_path):
    from textual.widgets._footer import FooterKey

    from elp_tui.app import make_app
    from elp_tui.screens.main import ElpFooter
    from tests.conftest import VENDOR

    portal.request_credits(ADMIN, bank["id"], 10)
    app = make_app(portal.store, VENDOR, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(80, 24)) as pilot:
        for number, page_cls in enumerate(app.allowed_pages(), start=1):
            await pilot.press(str(number))
            await until(pilot, lambda: app.screen.query_one(page_cls).display and app.screen.query_one(page_cls).loaded)
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.pause()
            keys = list(app.screen.query_one(ElpFooter).query(FooterKey).results())
            assert {"Quit", "Help"} <= {k.description for k in keys}, page_cls.PAGE_ID
            assert all(k.region.right <= 80 for k in keys), page_cls.PAGE_ID


# -- your own keys --------------------------------------------------------------------------------
async def test_a_key_remapped_in_the_settings_file_runs_the_action_and_bad_entries_are_one_line_each(portal, bank, tmp_path):
    import json

    from elp_tui.app import make_app
    from elp_tui.screens.dialogs.form import FormDialog
    from elp_tui.screens.help import HelpScreen
    from elp_tui.screens.licenses import LicensesPage
    from tests.helpers import messages

    portal.generate(ADMIN, portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1,
                                                 start=TODAY, email=ADMIN))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"theme": "nord", "keys": {
        "licenses.renew": "n",  # fine
        "licenses.nothing": "z",  # no such command
        "licenses.add": "t",  # Return's key on the same page
        "licenses.return": "r",  # refresh, a key of every page
    }}))
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=settings)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, LicensesPage)
        said = [n.message for n in app._notifications if n.title == "Settings"]
        assert len(said) == 3 and all("\n" not in line for line in said), said
        assert any("licenses.nothing" in line and "no such command" in line for line in said)
        assert any("licenses.add" in line and "Return" in line for line in said)
        assert any("licenses.return" in line and "refresh" in line for line in said)
        assert app.theme == "nord"  # the rest of the file still applies
        await pilot.press("n")
        form = await on_screen(pilot, FormDialog)
        assert "Renew" in form.title_text
        await pilot.press("escape")
        await back_on_page(pilot)
        await pilot.press("a")  # a bad remap left the default
        await on_screen(pilot, FormDialog)
        await pilot.press("escape")
        await back_on_page(pilot)
        assert page.key_of("renew") == "n"
        await pilot.press("question_mark")
        help_screen = await on_screen(pilot, HelpScreen)
        rows = {str(r.children[2].render()): str(r.children[0].render()) for r in help_screen.query(".help-row").results()}
        assert rows["licenses.renew"] == "n"
        assert "Cancelled" not in messages(app)


async def test_the_hints_name_the_keys_as_remapped(portal, bank, tmp_path):
    """A hint that names a key says the user's key, not the default letter."""
    import json

    from elp_tui.app import make_app
    from elp_tui.screens.licenses import LicensesPage
    from textual.widgets import Static

    portal.generate(ADMIN, portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1,
                                                 start=TODAY, email=ADMIN))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"keys": {"licenses.return": "ctrl+t", "licenses.renew": "v"}}))
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=settings)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, LicensesPage)
        await until(pilot, lambda: "available" in str(page.query_one("#detail-move", Static).render()), "the move line")
        said = [n.message for n in app._notifications if n.title == "Settings"]
        assert not said, said
        move = str(page.query_one("#detail-move", Static).render())
        renew = str(page.query_one("#detail-renew", Static).render())
        assert "Return (^t)" in move and "(t)" not in move, move
        assert "Assign (s)" in move, move  # not remapped: its own key
        assert "Renew (v)" in renew, renew


async def test_the_users_note_names_the_keys_the_page_binds(portal, tmp_path):
    """The line under Users names the keys that really run Invite, Role, Status and Delete."""
    from elp_tui.screens.users import UsersPage
    from textual.widgets import Static

    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot, UsersPage)
        note = str(page.query_one("#users-count", Static).render())
        for action, word in (("invite", "invite"), ("change_role", "role"), ("change_status", "status"),
                             ("delete_user", "delete")):
            assert f"{page.key_of(action)} {word}" in note, note
        assert "A role" in note and "z status" in note, note  # the keys of the command table, not older letters
        # The highlighted member has no SSH key: the line under their keys names the key that adds one.
        hint = str(page.query_one("#user-key-detail", Static).render())
        assert f"{page.key_of('add_key')} adds" in hint, hint


# -- help -----------------------------------------------------------------------------------------
async def test_help_has_a_title_lists_each_key_once_and_says_what_the_filter_matches(portal, bank, tmp_path):
    from elp_tui.screens.help import HelpScreen
    from elp_tui.screens.licenses import LicensesPage

    app = app_for(portal, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_page(app, pilot, LicensesPage)
        await pilot.press("question_mark")
        help_screen = await on_screen(pilot, HelpScreen)
        assert str(help_screen.query_one("#help-heading").render()) == "Help · Manage Licenses"
        keys = [str(r.children[0].render()) for r in help_screen.query(".help-row").results()]
        single = [k for shown in keys for k in shown.split(" / ")]
        assert len(single) == len(set(single)), sorted(single)
        texts = {str(r.children[0].render()): str(r.children[1].render()) for r in help_screen.query(".help-row").results()}
        assert "Activation ID" in texts["/"] and "Assigned user email" in texts["/"]
        for key in ("a", "e", "t", "s", "d", "ctrl+q", "? / f1", "o"):
            assert key in texts, key
