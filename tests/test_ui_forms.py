"""Forms and confirmations that forgive (issue 12): keys a person presses, then the store read back.

A form stays open while the portal quotes, the admin confirms and the change is committed: a
refusal shows beside the field it names with the focus there, cancelling the confirmation returns
to the form with what was typed, and anything that affects yourself, invites someone new, deletes
or spends many credits opens its confirmation on Cancel."""

from __future__ import annotations

from textual.widgets import Button

from tests.conftest import ADMIN
from tests.helpers import confirm_text, elp, messages, store_bytes, until  # noqa: F401 (elp: a fixture)
from tests.test_ui_licenses import app_for, confirmation, form, open_page, settle

ANA = "ana@lf.io"


def in_sight(dialog, widget) -> bool:
    """The widget is drawn whole: inside the terminal and, for a field, inside the scrolled fields."""
    region = widget.region
    fields = dialog.query_one("#form-fields")
    inside = fields.region if fields in widget.ancestors else dialog.region
    return region.height > 0 and dialog.region.contains_region(region) and inside.contains_region(region)


# -- a form taller than the screen -----------------------------------------------------
async def test_add_licenses_at_100x30_keeps_the_focused_field_and_the_buttons_in_sight(portal, bank, tmp_path):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_page(app, pilot)
        await pilot.press("a")
        dialog = await form(pilot, app)
        buttons = [dialog.query_one("#cancel", Button), dialog.query_one("#submit", Button)]
        # bank -> type -> months -> quantity -> start -> email: each one in sight when it has the focus
        for _ in range(5):
            await pilot.press("tab")
            await pilot.pause()
            assert in_sight(dialog, dialog.focused), dialog.focused
            assert all(in_sight(dialog, b) for b in buttons)
        assert dialog.focused.id == "field-email"
        await pilot.press(*ANA, "shift+tab", "ctrl+u", *"2026-01-01", "ctrl+s")
        # The start-date refusal: beside the start date, the focus there, both in sight; no toast.
        await until(pilot, lambda: "in the past" in dialog.shown_error("start"), "refusal beside the start")
        await pilot.pause()
        assert app.screen is dialog and dialog.focused.id == "field-start"
        assert in_sight(dialog, dialog.focused) and in_sight(dialog, dialog.query_one("#error-start"))
        assert all(in_sight(dialog, b) for b in buttons)
        assert "in the past" not in messages(app)
        values, _invalid = dialog.values()
        assert values["email"] == ANA and values["start"] == "2026-01-01"
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == before


# -- refusals keep the form open, beside the field ----------------------------------------
async def test_request_credits_on_an_expired_bank_stays_in_the_form_beside_the_bank(portal, tmp_path):
    from tests.helpers import grant_bank
    from tests.test_ui_dashboard_banks import open_banks

    grant_bank(portal, product="Quillstone Animate", credits=10, start="2026-01-01", expires_on="2026-06-01")
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_banks(pilot)
        await pilot.press("m")
        dialog = await form(pilot, app)
        await pilot.press(*"10", "ctrl+s")
        await until(pilot, lambda: "expired" in dialog.shown_error("bank"), "the refusal beside the bank")
        assert app.screen is dialog  # no "Request 10 credits?" for a bank that takes none, and the form stays
        assert dialog.values()[0]["credits"] == 10
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == before


async def test_restrict_with_nothing_selected_stays_in_the_form_beside_the_builds(portal, bank, tmp_path):
    from elp_tui.screens.versions import VersionsPage
    from tests.test_ui_people import ANIMATE, add_builds
    from tests.test_ui_people import open_page as open_people_page

    add_builds(portal, ANIMATE, ["25.1", "25.2"])
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_people_page(app, pilot, VersionsPage)
        await pilot.press("f")
        dialog = await form(pilot, app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "no build selected" in dialog.shown_error("builds"), "the refusal beside the builds")
        assert app.screen is dialog and dialog.focused.id == "field-builds"
        await pilot.press("space")  # choosing a build clears the refusal
        assert dialog.shown_error("builds") == ""
        await pilot.press("ctrl+s")
        await confirmation(pilot, app)
        await pilot.press("n")  # back to the form, the build still chosen
        await until(pilot, lambda: app.screen is dialog, "the form again")
        assert dialog.values()[0]["builds"]
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == before


async def test_inviting_a_member_stays_in_the_form_and_a_new_invitation_opens_on_cancel(portal, tmp_path):
    from elp_tui.screens.users import UsersPage
    from tests.test_ui_people import member
    from tests.test_ui_people import open_page as open_people_page

    member(portal, ANA)
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_people_page(app, pilot, UsersPage)
        await pilot.press("a")
        dialog = await form(pilot, app)
        await pilot.press(*ANA.upper(), "ctrl+s")
        await until(pilot, lambda: "already a member" in dialog.shown_error("email"), "the refusal beside the email")
        assert app.screen is dialog and dialog.focused.id == "field-email"
        await pilot.press("ctrl+u", *"neo@lf.io", "ctrl+s")
        confirm = await confirmation(pilot, app)
        assert confirm.focused.id == "cancel"  # inviting someone new: enter-enter does not send it
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is dialog, "the form again")
        assert dialog.values()[0]["email"] == "neo@lf.io"
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == before


async def test_a_team_name_one_with_another_is_refused_in_the_form_before_the_confirmation(portal, tmp_path):
    from elp_tui.screens.teams import TeamsPage
    from tests.helpers import grant_seats
    from tests.test_ui_people import SEATS
    from tests.test_ui_people import open_page as open_people_page

    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Animation", SEATS)
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_people_page(app, pilot, TeamsPage)
        await pilot.press("n")
        dialog = await form(pilot, app)
        await pilot.press(*"animation", "ctrl+s")
        await until(pilot, lambda: "already exists" in dialog.shown_error("name"), "the refusal beside the name")
        assert app.screen is dialog and dialog.focused.id == "field-name"
        assert "Animation" in dialog.shown_error("name")
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == before


def test_quote_create_team_refuses_a_name_one_with_another_and_writes_nothing(portal):
    from elp_tui.portal import RuleViolation
    from tests.helpers import grant_seats
    from tests.test_ui_people import SEATS

    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Animation", SEATS)
    before = store_bytes(portal.store.path)
    for name in ("animation", " ANIMATION ", "Ａnimation"):
        try:
            portal.quote_create_team(ADMIN, name, SEATS)
        except RuleViolation as exc:
            assert exc.field == "name" and "'Animation' already exists" in str(exc)
        else:
            raise AssertionError(f"{name!r} was not refused")
    assert portal.quote_create_team(ADMIN, "Layout", SEATS) == {"name": "Layout", "product": SEATS}
    assert store_bytes(portal.store.path) == before


# -- confirmations that open on Cancel ----------------------------------------------------
async def test_many_credits_open_the_confirmation_on_cancel_and_a_few_on_confirm(portal, bank, tmp_path):
    from elp_tui.screens.dialogs.confirm import MANY_CREDITS
    from tests.test_ui_licenses import member

    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot)
        for quantity, focused in ((MANY_CREDITS, "confirm"), (MANY_CREDITS + 1, "cancel")):
            await pilot.press("a")
            await form(pilot, app)
            # 1 month x quantity node-lock licenses: `quantity` credits
            await pilot.press("tab", "tab", "ctrl+u", "1", "tab", "ctrl+u", *str(quantity), "tab", "tab", *ANA, "ctrl+s")
            dialog = await confirmation(pilot, app)
            assert f"Credits to deduct: {quantity}" in confirm_text(dialog)
            assert dialog.focused.id == focused, quantity
            await pilot.press("escape", "escape")
            await settle(pilot, app)
    assert fresh_licenses(portal) == []


def fresh_licenses(portal) -> list:
    from tests.test_ui_licenses import fresh

    return fresh(portal).list_licenses(ADMIN)


async def test_demoting_yourself_opens_on_cancel_and_ends_on_a_page_you_can_use(portal, tmp_path):
    from elp_tui.screens.my_licenses import MyLicensesPage
    from elp_tui.screens.users import UsersPage
    from tests.test_ui_people import cursor_to, member, table, users
    from tests.test_ui_people import open_page as open_people_page

    member(portal, "kim@lf.io", "admin")  # another admin: demoting yourself is allowed
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_people_page(app, pilot, UsersPage)
        await cursor_to(pilot, page.table, "email", ADMIN)
        before = store_bytes(portal.store.path)
        await pilot.press("A")  # the role: Make regular user
        dialog = await confirmation(pilot, app)
        assert "This is you" in dialog.warning and dialog.focused.id == "cancel"
        await pilot.press("enter")  # A then a stray enter does not demote you
        await settle(pilot, app)
        assert store_bytes(portal.store.path) == before and users(portal)[ADMIN]["role"] == "admin"
        page.table.focus()
        await cursor_to(pilot, page.table, "email", ADMIN)
        await pilot.press("A")
        await confirmation(pilot, app)
        await pilot.press("y")
        await until(pilot, lambda: app.screen.query(MyLicensesPage) and app.screen.query_one(MyLicensesPage).display,
                    "My Assigned Licenses")
        await settle(pilot, app)
        for _ in range(3):  # a few store polls: nothing reloads an admin page in your name
            await pilot.pause(0.6)
        assert "Refused" not in messages(app)
    assert {u["email"]: u["role"] for u in table(portal, "users")}[ADMIN] == "regular"
    mine = [a for a in table(portal, "activity") if a.get("actor") == ADMIN]
    assert not [a for a in mine if "refused" in str(a.get("details", ""))], mine


def test_cli_refuses_a_team_name_one_with_another_and_writes_nothing(portal, elp):
    from tests.helpers import grant_seats
    from tests.test_ui_people import SEATS

    grant_seats(portal, SEATS, 3)
    assert elp("teams", "create", "Animation", "--pool", SEATS).code == 0
    before = store_bytes(portal.store.path)
    result = elp("teams", "create", "animation", "--pool", SEATS)
    assert result.code != 0 and "'Animation' already exists" in result.err
    assert len(result.err.strip().splitlines()) == 1  # one line, no traceback
    assert store_bytes(portal.store.path) == before


async def test_a_vendor_grant_refused_at_commit_returns_to_the_form_with_the_refusal(portal, tmp_path):
    from textual.widgets import ContentSwitcher

    from elp_tui.app import make_app
    from tests.conftest import TODAY, VENDOR
    from tests.test_ui_vendor import ANIMATE

    before = store_bytes(portal.store.path)
    app = make_app(portal.store, VENDOR, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.screen.query(ContentSwitcher), "the vendor desk")
        await pilot.press("2")
        await until(pilot, lambda: app.screen.query_one(ContentSwitcher).current == "page-vendor-orgs", "organizations")
        await app.workers.wait_for_complete()
        await pilot.press("a")  # Grant bank
        dialog = await form(pilot, app)
        # A bank that expired before today: the vendor cannot grant it.
        await pilot.press(*ANIMATE, "tab", *"120", "tab", "ctrl+u", *"2026-01-01", "tab", *"2026-06-01", "ctrl+s")
        await confirmation(pilot, app)
        await pilot.press("y")
        await until(pilot, lambda: app.screen is dialog and dialog.shown_error() != "", "the refusal in the form")
        assert "expired" in dialog.shown_error() or "2026-06-01" in dialog.shown_error()
        values, _invalid = dialog.values()
        assert values["product"] == ANIMATE and values["credits"] == 120 and values["expires"] == "2026-06-01"
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == before
