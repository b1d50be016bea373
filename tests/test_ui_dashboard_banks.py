"""Pilot tests of Dashboard, Manage Banks and My Assigned Licenses: real keys, then the store."""

from __future__ import annotations

import io
import random

from rich.console import Console
from textual.content import Content
from textual.widgets import ContentSwitcher, Input, OptionList, Static

from elp_tui.app import make_app
from elp_tui.models import Build
from elp_tui.portal import Portal, fixed_clock
from tests.conftest import VENDOR_EMAIL  # where the vendor fixture sends requests
from elp_tui.screens.dashboard import TeamDistributionDialog
from elp_tui.screens.dialogs import ConfirmDialog, FormDialog
from elp_tui.screens.main import Sidebar
from elp_tui.screens.my_licenses import DownloadChooser
from elp_tui.store import Store
from elp_tui.widgets.consumption import ConsumptionBar
from elp_tui.widgets.table import RecordTable
from tests.conftest import ADMIN, TODAY
from tests.helpers import messages, only_refusal_logged, store_bytes, store_tables, until
from tests.helpers import grant_bank, grant_seats

ANA = "ana@lumenfox.studio"
ANIMATE = "Quillstone Animate"
STORYBOARD = "Quillstone Storyboard"


# -- helpers -------------------------------------------------------------------------
def app_for(portal: Portal, tmp_path, user: str = ADMIN):
    return make_app(portal.store, user, clock=TODAY, settings_file=tmp_path / "settings.json")


def fresh(portal: Portal) -> Portal:
    """Another session on the same file: what a second admin (or the vendor) sees."""
    return Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(5))


def tables(portal: Portal) -> dict:
    return Store(portal.store.path).tables()


def current_page(app) -> str:
    return app.screen.query_one(ContentSwitcher).current


def text_of(widget: Static) -> str:
    value = widget.content
    if isinstance(value, Content):
        return value.plain
    console = Console(width=400, file=io.StringIO(), record=True)
    console.print(value)
    return console.export_text()


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_banks(pilot) -> RecordTable:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    assert current_page(pilot.app) == "page-banks"
    table = pilot.app.screen.query_one("#banks-table", RecordTable)
    assert pilot.app.focused is table
    return table


def publish(portal: Portal, product: str, versions: list[str]) -> None:
    """The vendor catalog publishes builds of a product (no portal operation does this)."""
    builds = [
        Build(
            version=v, released=f"2026-0{i + 1}-15",
            downloads={os: f"https://dl.example.com/{v}/animate-{v}-{os}.bin" for os in ("windows", "macos", "linux")},
        ).to_doc()
        for i, v in enumerate(versions)
    ]
    with portal.store.transaction() as db:
        db.update("products", {"builds": builds}, name=product)


# -- Manage Banks: request credits --------------------------------------------------------
async def test_request_credits_by_keys_records_emails_and_logs(portal, bank, tmp_path):
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_banks(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"25", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        shown = " ".join(f"{label} {value}" for label, value in app.screen.rows)
        assert bank["id"] in shown and ANIMATE in shown and "25" in shown and VENDOR_EMAIL in shown
        await pilot.press("y")
        await settle(pilot)
        assert "recorded; its email to the vendor" in messages(app) and "emailed" not in messages(app)

    data = tables(portal)
    (request,) = data["requests"].values()
    assert (request["kind"], request["target"], request["amount"], request["actor"]) == ("credits", bank["id"], 25, ADMIN)
    mails = [m for m in data["outbox"].values() if m["to"] == VENDOR_EMAIL]
    assert len(mails) == 1 and "25" in mails[0]["subject"]
    assert [a for a in data["activity"].values() if a["action"] == "credits-request" and a["target"] == bank["id"]]
    assert fresh(portal).list_banks(ADMIN)[0]["credits_requested"] == 125


async def test_request_credits_cancel_at_form_and_at_confirmation_writes_nothing(portal, bank, tmp_path):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_banks(pilot)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"30", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, (FormDialog, ConfirmDialog))
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"30", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation")
        await pilot.press("escape")  # back to the form, as typed
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "the form again")
        assert app.screen.values()[0]["credits"] == 30
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, (FormDialog, ConfirmDialog))
    assert store_bytes(portal.store.path) == before


async def test_request_credits_bad_number_stays_in_form(portal, bank, tmp_path):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_banks(pilot)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("0", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormDialog)
        assert "at least 1" in text_of(app.screen.query_one("#error-credits", Static))
        await pilot.press("escape")
        await settle(pilot)
    assert store_bytes(portal.store.path) == before


async def test_request_credits_refused_when_no_longer_admin(portal, bank, tmp_path):
    boss = "boss@lumenfox.studio"
    portal.invite(ADMIN, boss, role="admin")
    portal.sign_in(boss)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_banks(pilot)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "request form")
        await pilot.press(*"10", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation")
        fresh(portal).set_role(boss, ADMIN, "regular")  # meanwhile, in another session
        before = store_tables(portal.store.path)
        await pilot.press("y")
        await settle(pilot)
        assert "Refused" in messages(app) and "only organization admins" in messages(app)
        only_refusal_logged(before, store_tables(portal.store.path), ADMIN, "request_credits")
    assert not tables(portal).get("requests")


# -- Manage Banks: refresh ----------------------------------------------------------------
async def test_refresh_says_what_changed_since_the_last_view(portal, bank, tmp_path):
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        table = await open_banks(pilot)
        assert table.total_count == 1
        await pilot.press("r")
        await settle(pilot)
        assert "No change" in messages(app)
        app.clear_notifications()

        other = fresh(portal)
        added = grant_bank(other, product=STORYBOARD, credits=60, start="2026-11-01", expires_on="2027-11-01")
        with other.store.transaction() as db:  # the vendor raised a grant
            db.update("banks", {"credits_granted": 150}, id=bank["id"])
        await pilot.press("r")
        await settle(pilot)
        text = messages(app)
        assert f"new bank {added['id']}" in text
        assert f"{bank['id']} credits_granted: 100 → 150" in text
        assert table.total_count == 2
        assert {r["id"]: r["credits_granted"] for r in table.visible_rows()} == {bank["id"]: 150, added["id"]: 60}


async def test_banks_page_warns_and_marks_expiring_banks(portal, tmp_path):
    soon = grant_bank(portal, product=STORYBOARD, credits=40, start="2026-10-01", expires_on="2026-12-12")
    grant_bank(portal, product=ANIMATE, credits=30, start="2026-01-01", expires_on="2026-06-01")  # expired
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        table = await open_banks(pilot)
        warning = text_of(app.screen.query_one("#banks-warning", Static))
        assert "Once the expiration date passes, any unused term credits will be lost." in warning
        assert "1 bank (marked ⚠)" in warning
        rows = {r["id"]: r for r in table.visible_rows()}
        assert rows[soon["id"]]["label"].endswith("⚠")
        expired = next(r for r in rows.values() if r["expired"])
        assert (expired["remaining"], expired["forfeited"]) == (0, 30)
        while table.current_row["id"] != soon["id"]:
            await pilot.press("j")
        await pilot.pause()
        detail = text_of(app.screen.query_one("#banks-detail", Static))
        assert "40 unused credits will be lost on 2026-12-12 (in 19 days)" in detail
        await pilot.press("p")
        await settle(pilot)
        assert current_page(app) == "page-licenses"


# -- Dashboard ----------------------------------------------------------------------------
async def test_dashboard_row_says_which_credits_expire_first_not_the_whole_total(portal, tmp_path):
    """A million credits in a far bank and 40 in a bank ending in 19 days: the row does not read as
    "a million credits expire in 19 days"."""
    grant_bank(portal, product=STORYBOARD, credits=1_000_000, start="2026-10-01", expires_on="2027-10-01")
    grant_bank(portal, product=STORYBOARD, credits=40, start="2026-10-01", expires_on="2026-12-12")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        [row] = app.screen.query_one("#dashboard-products", RecordTable).visible_rows()
        assert (row["remaining"], row["expiring_first"], row["days_left"]) == (1_000_040, "40 on 2026-12-12", 19)
        screen_text = app.export_screenshot().replace("&#160;", " ")
        assert "40 on 2026-12-12" in screen_text


async def test_dashboard_shows_remaining_credits_pools_and_alerts(portal, bank, tmp_path):
    portal.invite(ADMIN, ANA)
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=3, start=TODAY, email=ANA)
    licenses = portal.generate(ADMIN, quote)  # 3 credits, expire 2026-12-23 (30 days)
    soon = grant_bank(portal, product=STORYBOARD, credits=40, start="2026-10-01", expires_on="2026-12-12")
    grant_seats(portal, "Frameloop Teams", 10)
    portal.create_team(ADMIN, "Layout", "Frameloop Teams")
    portal.team_add(ADMIN, "Layout", ANA)

    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert current_page(app) == "page-dashboard"
        products = {r["product"]: r for r in app.screen.query_one("#dashboard-products", RecordTable).visible_rows()}
        assert products[ANIMATE]["remaining"] == 97 and products[STORYBOARD]["remaining"] == 40
        assert products[STORYBOARD]["nearest_expiry"] == "2026-12-12"
        screen_text = app.export_screenshot().replace("&#160;", " ")
        assert "97" in screen_text and "Remaining credits" in screen_text
        # What expires first is that bank's credits, not the product's total (issue 12).
        assert products[STORYBOARD]["expiring_first"] == "40 on 2026-12-12"
        assert "Expiring first" in screen_text and "40 on 2026-12-12" in screen_text

        (bar,) = app.screen.query(ConsumptionBar).results()
        assert bar.describe() == "0 active, 1 pending, 0 unassigned, 9 unused of 10 seats"  # Ana has not signed in

        alerts = text_of(app.screen.query_one("#dashboard-alerts", Static))
        assert f"{soon['id']} · {STORYBOARD}: 40 unused credits will be lost on 2026-12-12 (in 19 days)." in alerts
        assert "3 licenses expire within 30 days" in alerts
        nearest = app.screen.query_one("#dashboard-expiring", RecordTable).visible_rows()
        assert {r["activation_id"] for r in nearest} == {lic["activation_id"] for lic in licenses}

        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, TeamDistributionDialog)
        shown = " ".join(text_of(s) for s in app.screen.query(Static).results())
        assert "Layout" in shown and "Frameloop Teams: 10 seats purchased" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert current_page(app) == "page-dashboard"


async def test_dashboard_product_enter_lands_on_manage_licenses_for_it(portal, bank, tmp_path):
    grant_bank(portal, product=STORYBOARD, credits=40, start="2026-10-01", expires_on="2027-12-12")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#dashboard-products", RecordTable)
        assert app.focused is table
        await pilot.press("j", "enter")
        await settle(pilot)
        assert current_page(app) == "page-licenses"
        page = app.screen.query_one("#page-licenses")
        if hasattr(page, "show_product"):
            assert STORYBOARD in [i.value for i in page.query(Input).results()]


async def test_dashboard_without_data_says_so(portal, tmp_path):
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "No credit bank yet" in text_of(app.screen.query_one("#dashboard-products-note", Static))
        assert "Nothing needs attention" in text_of(app.screen.query_one("#dashboard-alerts", Static))
        await pilot.press("p")  # nothing to open: a message, no crash
        await pilot.pause()
        assert current_page(app) == "page-dashboard"


# -- My Assigned Licenses ------------------------------------------------------------------
async def test_my_licenses_shows_only_accessible_builds_and_copies(portal, bank, tmp_path):
    publish(portal, ANIMATE, ["25.0", "25.1", "25.2"])
    portal.restrict(ADMIN, ANIMATE, ["25.0", "25.1"])
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=1, start=TODAY, email=ANA)
    (mine,) = portal.generate(ADMIN, quote)
    other = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN)
    (admins,) = portal.generate(ADMIN, other)

    app = app_for(portal, tmp_path, ANA)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert current_page(app) == "page-my-licenses"
        sidebar = app.screen.query_one(Sidebar)
        pages = [sidebar.get_option_at_index(i).id for i in range(sidebar.option_count)]
        assert [p for p in pages if not p.startswith("heading-")] == ["my-licenses"]

        table = app.screen.query_one("#mine-table", RecordTable)
        assert [r["activation_id"] for r in table.visible_rows()] == [mine["activation_id"]]
        detail = text_of(app.screen.query_one("#mine-detail", Static))
        assert admins["activation_id"] not in detail
        assert "https://dl.example.com/25.1/animate-25.1-windows.bin" in detail
        assert "https://dl.example.com/25.0/animate-25.0-linux.bin" in detail
        assert "25.2" not in detail
        assert detail.index("25.1") < detail.index("25.0")  # newest first

        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == mine["activation_id"]
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, DownloadChooser)
        assert app.screen.query_one(OptionList).option_count == 6  # 2 builds x 3 OS
        await pilot.press("w")
        await pilot.pause()
        assert app.clipboard == "https://dl.example.com/25.1/animate-25.1-windows.bin"
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.clipboard == "https://dl.example.com/25.1/animate-25.1-windows.bin"


async def test_my_licenses_empty_state(portal, tmp_path):
    portal.invite(ADMIN, ANA)
    app = app_for(portal, tmp_path, ANA)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        empty = app.screen.query_one("#mine-empty", Static)
        assert empty.display and "No license is assigned to you yet" in text_of(empty)
        assert not app.screen.query_one("#mine-table", RecordTable).display
        await pilot.press("c", "u")
        await pilot.pause()
        assert app.clipboard == ""


async def test_store_text_with_markup_is_shown_literally(portal, tmp_path):
    product = "[b]Bold[/b] [@click=app.quit]Q"
    grant_bank(portal, product=product, credits=10, start="2026-10-01", expires_on="2026-12-01")
    grant_seats(portal, "[red]Seats[/]", 5)
    portal.create_team(ADMIN, "[@click=app.quit]Team", "[red]Seats[/]")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        assert product in text_of(app.screen.query_one("#dashboard-alerts", Static))
        assert "[red]Seats[/]" in app.export_screenshot().replace("&#160;", " ")
        await pilot.press("w")
        await pilot.pause()
        assert "[@click=app.quit]Team" in app.export_screenshot().replace("&#160;", " ")
        await pilot.click("VerticalScroll", offset=(5, 6))
        await pilot.press("escape", "3")
        await settle(pilot)
        assert product in text_of(app.screen.query_one("#banks-detail", Static))
        assert app.is_running


async def test_request_credits_on_an_expired_bank_is_refused_before_confirming(portal, tmp_path):
    grant_bank(portal, product="Quillstone Animate", credits=10, start="2026-01-01", expires_on="2026-06-01")
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_banks(pilot)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "request form")
        await pilot.press(*"10", "ctrl+s")
        await until(pilot, lambda: "expired" in app.screen.shown_error("bank"), "the refusal")
        assert isinstance(app.screen, FormDialog)  # no "Request 10 credits?" for a bank that takes none
    assert store_bytes(portal.store.path) == before
