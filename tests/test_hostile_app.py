"""Hostile input through the app's forms, with the keys a person presses (or the paste a terminal
sends): every text field of every form gets the hostile values of its kind; each is refused beside
the field saying what was wrong, the form stays, and the store file is byte-for-byte unchanged.
Then display: markup-looking names shown literally everywhere and inert when clicked; control
characters already in a store never reach the screen raw; the CSV download neutralises formulas.

One app session per form field keeps this fast: the values are tried one after another."""

from __future__ import annotations

import csv
import io
import random
import re
import webbrowser

import pytest
from rich.cells import cell_len
from textual import events
from textual.command import CommandInput, CommandPalette
from textual.widgets import Input, Static

from elp_tui.app import make_app
from elp_tui.portal import Portal, fixed_clock
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.dialogs.licenses_forms import ExportDoneDialog
from elp_tui.screens.main import MainScreen
from elp_tui.store import Store
from elp_tui.widgets.filter import FilterBar
from tests.helpers import messages, store_bytes, until
from tests.hostile_cases import (
    ADMIN, ANA, ANIMATE, CASES, INVISIBLES, MARKUP, RAW_CONTROL, SEATS, START_RANGE, TEAM, TODAY, Case, add_builds,
    build_store, copy_store,
)
from tests.helpers import grant_bank, grant_seats

SIZE = (120, 36)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("hostile-app") / "template.json")


@pytest.fixture
def portal(template, tmp_path):
    return Portal(Store(copy_store(template.path, tmp_path / "data")), fixed_clock(TODAY), rng=random.Random(3))


def app_for(portal: Portal, tmp_path):
    return make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "settings.json")


async def open_page(app, pilot, page_id: str):
    number = [p.PAGE_ID for p in app.allowed_pages()].index(page_id) + 1
    await pilot.press(str(number))
    page = app.screen.query_one(f"#page-{page_id}")
    await until(pilot, lambda: page.display and page.loaded, f"{page_id} shown")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return page


async def select_license(pilot, app, aid: str) -> None:
    await pilot.press("slash", *aid[:9], "enter")
    page = app.screen.query_one("#page-licenses")
    await until(pilot, lambda: page.table.row_count == 1 and page.table.has_focus, "row selected")


def raw_on_screen(app) -> bool:
    """A control character or a line break inside one drawn line (what a terminal would act on)."""
    return any(RAW_IN_LINE.search(line) for line in screen_lines(app))


RAW_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def screen_lines(app) -> list[str]:
    """What the terminal shows now: every cell of every line, as characters, a line each."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


async def enter(pilot, field: Input, value: str) -> None:
    """Replace the field's value the way a person does: short printable ASCII typed key by key,
    anything else (control and invisible characters, full-width text, 10,000 characters) pasted."""
    field.value = ""
    field.focus()
    await pilot.pause()
    if value.isascii() and value.isprintable() and len(value) <= 12:
        await pilot.press(*value)
    else:
        field.post_message(events.Paste(value))
    await pilot.pause()


# (form, page, key that opens it, license row to select first, [(field, kind), ...]): one session a form.
FORMS = [
    ("users invite", "users", "a", None, [("email", "email")]),
    ("teams create", "teams", "n", None, [("name", "name")]),
    ("teams add member", "teams", "a", None, [("email", "email")]),
    ("teams request seats", "teams", "m", None, [("seats", "number")]),
    ("banks request credits", "banks", "m", None, [("credits", "number")]),
    # the add form in two sessions, so the two test workers share it
    ("licenses add", "licenses", "a", None, [("months", "number"), ("start", "date")]),
    ("licenses add (quantity, email)", "licenses", "a", None, [("quantity", "number"), ("email", "email")]),
    ("licenses renew", "licenses", "e", "held", [("months", "number")]),
    ("licenses return", "licenses", "t", "held", [("activation_id", "lookup"), ("email", "email")]),
    ("licenses assign", "licenses", "s", "returned", [("email", "email")]),
]
# Every control character on the first form of each kind; on the others, one of each family
# (an escape sequence, an OSC 52 clipboard write, a C1 control, a line break) keeps the suite quick.
FULL = {("users invite", "email"), ("teams create", "name"), ("licenses add", "number"), ("licenses add", "date"),
        ("licenses return", "lookup")}
FAMILY = {"esc", "osc52", "c1-csi", "crlf"}


def app_cases(form: str, kind: str) -> list[Case]:
    cases = [c for c in CASES[kind] if c.id != "number-10k-digits"]  # the CLI's; "at most" all the same
    if (form, kind) in FULL:
        return cases
    return [c for c in cases if c.id.split("-", 1)[1] in FAMILY or not any(c.id.endswith(n) for n in CONTROL_IDS)]


CONTROL_IDS = ("-nul", "-del", "-bidi", "-zero-width", "-hangul-filler", "-braille-blank", "-vs16", "-tag")


@pytest.mark.parametrize("form, page_id, key, row, fields", FORMS, ids=[f[0] for f in FORMS])
async def test_every_hostile_value_is_refused_beside_the_field(template, portal, tmp_path, form, page_id, key, row, fields):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_page(app, pilot, page_id)
        if row:
            await select_license(pilot, app, getattr(template, row))
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, FormDialog), f"{form} form")
        dialog = app.screen
        for name, kind in fields:
            field = dialog.query_one(f"#field-{name}", Input)
            error = dialog.query_one(f"#error-{name}", Static)
            valid = field.value
            for case in app_cases(form, kind):
                await enter(pilot, field, case.value)
                assert field.value == case.value, f"{form}: the field holds {field.value!r}, not what was entered"
                await pilot.press("ctrl+s")
                await pilot.pause()
                assert app.screen is dialog, f"{form}: {case.id} went past the form"
                shown = error.content.plain if hasattr(error.content, "plain") else str(error.content)
                for words in case.says:
                    if form == "licenses renew" and words == "at least 1":
                        continue  # a renewal's months may be 0 (a multiseat adds computers only)
                    assert words in shown, f"{form} {name}: {case.id}: {words!r} not in {shown!r}"
                assert not raw_on_screen(app), f"{form}: {case.id} reached the screen raw"
            field.value = valid
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "form closed")
    assert store_bytes(portal.store.path) == before, f"{form}: a refused value changed the store"


# -- invisible characters, one name however written, numbers with leading zeros ------------------
APP_INVISIBLES = [c for c in INVISIBLES if not 0xE0000 <= c <= 0xE007F] + [0xE0000, 0xE0041, 0xE007F]
INVISIBLE_FORMS = [
    ("team name", "teams", "n", "name", "Design{char}"),
    ("invite email", "users", "a", "email", "ana{char}@lf.studio"),
]


@pytest.mark.parametrize("form, page_id, key, name, template_value", INVISIBLE_FORMS, ids=[f[0] for f in INVISIBLE_FORMS])
async def test_every_invisible_character_is_refused_beside_the_field(portal, tmp_path, form, page_id, key, name, template_value):
    """Each kind of character Unicode lists as showing nothing, in one session per form: refused,
    named. Of the 128 tag characters (U+E0000..U+E007F) the form gets the first, a letter and the
    last; `elp` gets every one of them (test_hostile_cli), through the same portal check."""
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_page(app, pilot, page_id)
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, FormDialog), f"{form} form")
        dialog = app.screen
        field = dialog.query_one(f"#field-{name}", Input)
        error = dialog.query_one(f"#error-{name}", Static)
        for code in APP_INVISIBLES:
            value = template_value.format(char=chr(code))
            field.value = ""
            field.focus()
            field.post_message(events.Paste(value))
            await pilot.pause()
            assert field.value == value
            await pilot.press("ctrl+s")  # the form redraws the error on submit, before this returns
            assert app.screen is dialog, f"{form}: U+{code:04X} went past the form"
            shown = error.content.plain if hasattr(error.content, "plain") else str(error.content)
            assert "invisible character" in shown and f"U+{code:04X}" in shown, shown
        await pilot.press("escape")
    assert store_bytes(portal.store.path) == before


async def test_a_team_name_that_differs_only_by_case_or_width_is_refused_naming_the_existing_team(portal, tmp_path):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_page(app, pilot, "teams")
        for typed in ("LAYOUT", "\uff2c\uff41\uff59\uff4f\uff55\uff54", "layout  "):
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, FormDialog), "create team form")
            await enter(pilot, app.screen.query_one("#field-name", Input), typed)
            await pilot.press("ctrl+s")
            # Refused in the form, beside the name, before any confirmation.
            await until(pilot, lambda: "already exists" in app.screen.shown_error("name"), "refusal")
            said = app.screen.shown_error("name")
            assert f"The team 'Layout' already exists, and {typed.strip()!r}" in " ".join(said.split()), said
            assert "choose another name, or use 'Layout'" in " ".join(said.split())
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MainScreen), "back on the page")
    assert store_bytes(portal.store.path) == before
    assert [t["name"] for t in portal.list_teams(ADMIN)] == [TEAM]


async def test_a_number_with_leading_zeros_is_read_as_its_value_in_a_form(portal, tmp_path):
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_page(app, pilot, "banks")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "request form")
        await enter(pilot, app.screen.query_one("#field-credits", Input), "0" * 30 + "7")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirm")
        assert "Request 7 credits" in app.screen.title_text
        await pilot.press("y")
        await until(pilot, lambda: "Request for 7 credits" in messages(app), "recorded")
    requests = Store(portal.store.path).tables()["requests"]
    assert [r["amount"] for r in requests.values()] == [7]


@pytest.mark.parametrize("start, says", [("2026-11-01", "is in the past"), ("2027-06-01", "is not before bank BK-0001 expires")])
async def test_a_start_outside_the_bank_is_refused_saying_the_range(portal, tmp_path, start, says):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_page(app, pilot, "licenses")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "add form")
        await enter(pilot, app.screen.query_one("#field-start", Input), start)
        await enter(pilot, app.screen.query_one("#field-email", Input), ANA)
        await pilot.press("ctrl+s")
        # Beside the start date, the form open with what was typed; nothing was written.
        await until(pilot, lambda: says in " ".join(app.screen.shown_error("start").split()), "refusal")
        assert START_RANGE in " ".join(app.screen.shown_error("start").split())
        assert app.screen.query_one("#field-start", Input).value == start
        assert app.screen.focused is app.screen.query_one("#field-start", Input)
    assert store_bytes(portal.store.path) == before


# -- markup-looking text is data --------------------------------------------------------------
def markup_store(portal: Portal) -> None:
    """An organization, products, a team and a build named with markup."""
    with portal.store.transaction() as db:
        db.update("organizations", {"name": "[@click=app.quit]x"})
    grant_bank(portal, product="[link=file:///etc/passwd]x", credits=10, start="2026-11-01", expires_on="2027-05-01")
    grant_seats(portal, "[$accent @click=app.quit]x", 3)
    portal.create_team(ADMIN, "[/]", SEATS)
    portal.create_team(ADMIN, "Studio [Paris]", SEATS)
    add_builds(portal, ANIMATE, ["25.2", "25.1"])  # a version is digits and dots: no markup fits in one


async def click_on(pilot, app, text: str) -> bool:
    """Click the first place on screen showing `text`; False when it is not shown."""
    for y, line in enumerate(screen_text(app).split("\n")):
        at = line.find(text)
        if at >= 0:
            await pilot.click(offset=(cell_len(line[:at]) + 1, y))
            await pilot.pause()
            return True
    return False


async def test_markup_names_show_literally_everywhere_and_do_nothing_when_clicked(portal, tmp_path, monkeypatch):
    markup_store(portal)
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: opened.append(str(a)))
    app = app_for(portal, tmp_path)
    monkeypatch.setattr(app, "open_url", lambda *a, **k: opened.append(str(a)))
    before = sorted(p.name for p in tmp_path.iterdir())
    seen: set[str] = set()
    async with app.run_test(size=SIZE) as pilot:
        for page in [p.PAGE_ID for p in app.allowed_pages()]:
            await open_page(app, pilot, page)
            if page == "versions":  # the builds of the highlighted product
                table = app.screen.query_one("#page-versions").table
                await pilot.press("g")
                for _ in range(table.row_count):
                    if table.current_row and table.current_row["product"] == ANIMATE:
                        break
                    await pilot.press("j")
                await pilot.pause()
            text = screen_text(app)
            for name in MARKUP:
                if name in text:
                    seen.add(name)
                    assert await click_on(pilot, app, name)
                    assert app.is_running and app.return_code is None, f"clicking {name} on {page} ran it"
                    if not isinstance(app.screen, MainScreen):
                        await pilot.press("escape")
            # the rendered header holds the organization's name as typed
            assert "[@click=app.quit]x" in text.split("\n")[0]
        # help and a dialog built from store text
        await pilot.press("question_mark")
        await pilot.pause()
        assert not raw_on_screen(app)
        await pilot.press("escape")
        await open_page(app, pilot, "teams")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "create team form")
        await enter(pilot, app.screen.query_one("#field-name", Input), "[@click=app.quit]y")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirm")
        assert "[@click=app.quit]y" in screen_text(app)
        assert await click_on(pilot, app, "[@click=app.quit]y") and app.is_running
        await pilot.press("y")
        await until(pilot, lambda: "Team [@click=app.quit]y created." in messages(app), "notification")
        await pilot.pause()
        assert "[@click=app.quit]y" in screen_text(app)  # in the table and the notification
        assert await click_on(pilot, app, "[@click=app.quit]y")
        assert app.is_running and app.return_code is None
    assert seen == set(MARKUP) - {"Studio [Paris]"} | ({"Studio [Paris]"} & seen)
    assert {"[@click=app.quit]x", "[/]", "[$accent @click=app.quit]x", "[link=file:///etc/passwd]x"} <= seen
    assert opened == [], "a click on store text opened something"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "settings.json") == [n for n in before if n != "settings.json"]
    assert "[@click=app.quit]y" in {t["name"] for t in portal.list_teams(ADMIN)}


# -- control characters already in the store ---------------------------------------------------
EVIL = "\x1b]52;c;aGk=\x07\x1b[2J\x9b31m\x00\x7f\u202e\u200f\u061c"


async def test_control_characters_in_a_store_never_reach_the_screen(portal, tmp_path):
    """Written straight into the store (no portal check): shown neutralised on every page."""
    with portal.store.transaction() as db:
        db.update("organizations", {"name": "Org" + EVIL})
        db.update("teams", {"name": "Team" + EVIL})
        for doc in db.all("licenses"):
            db.update("licenses", {"product": "Prod" + EVIL}, activation_id=doc["activation_id"])
        for doc in db.all("activity"):
            db.update("activity", {"details": "Note" + EVIL}, seq=doc["seq"])
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        for page in [p.PAGE_ID for p in app.allowed_pages()]:
            await open_page(app, pilot, page)
            text = screen_text(app)
            assert not raw_on_screen(app), f"{page}: a raw control character reached the screen"
            for widget in app.screen.query(Static).results():
                visual = widget.content
                plain = visual.plain if hasattr(visual, "plain") else str(visual)
                assert "\x1b" not in plain and "\x9b" not in plain, f"{page}: {widget!r} holds a raw escape"
        assert "Org" in screen_text(app).split("\n")[0]
        await open_page(app, pilot, "teams")
        await pilot.press("a")  # a dialog titled with the team's name
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "add member form")
        assert not raw_on_screen(app)


async def test_a_control_character_pasted_into_the_filter_or_palette_never_reaches_the_terminal(portal, tmp_path):
    """The filter and the palette are typed, not stored, but drawn: a pasted OSC 52 write shows as '?'."""
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_page(app, pilot, "licenses")
        await pilot.press("slash")
        bar = app.screen.query_one("#page-licenses").query_one(FilterBar)
        await until(pilot, lambda: bar.has_focus, "filter focused")
        bar.post_message(events.Paste("\x1b]52;c;aGk=\x07\x9bx"))
        await until(pilot, lambda: "x" in bar.value, "paste")
        await pilot.pause()
        assert "\x1b" in bar.value  # what was pasted is what it filters by (no row matches)
        assert not raw_on_screen(app)
        shown = screen_text(app)
        assert "?]52;c;aGk=" in shown, [line for line in shown.splitlines() if "52;c" in line]

        # the command palette's search input: the same
        await pilot.press("escape", "ctrl+p")
        await until(pilot, lambda: CommandPalette.is_open(app), "palette")
        app.screen.query_one(CommandInput).post_message(events.Paste("ab\x1b]52;c;aGk=\x1b\\cd\nef\x9bx"))
        await until(pilot, lambda: "ab" in app.screen.query_one(CommandInput).value, "paste")
        await pilot.pause()
        assert not raw_on_screen(app)
        assert "ab?]52;c;aGk=?\\cd" in screen_text(app)


# -- the CSV download ------------------------------------------------------------------------
async def test_csv_download_neutralises_formula_starts_and_keeps_the_data(portal, tmp_path, monkeypatch):
    bank = portal.list_banks(ADMIN)[0]
    for email in ("=1+2@x.com", "+1@x.com", "-2@x.com"):
        portal.generate(ADMIN, portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1,
                                                    start=TODAY.isoformat(), email=email))
    with portal.store.transaction() as db:
        db.update("banks", {"product": "-2+3"})
    monkeypatch.setenv("ELP_EXPORT_DIR", str(tmp_path / "exports"))
    portal.queue_reminders()  # the day's reminders (the licenses expire in 30 days), as the session queues them at start
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_page(app, pilot, "licenses")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ExportDoneDialog), "export dialog")
        path = app.screen.path
        await pilot.press("escape")
    rows = list(csv.DictReader(io.StringIO(open(path, encoding="utf-8", newline="").read())))
    assert {"'=1+2@x.com", "'+1@x.com", "'-2@x.com"} <= {r["assignee"] for r in rows}
    assert all(not cell[:1] in ("=", "+", "-", "@", "\t", "\r") for r in rows for cell in r.values())
    assert store_bytes(portal.store.path) == before
    assert "=1+2@x.com" in {lic["assignee"] for lic in portal.list_licenses(ADMIN)}
