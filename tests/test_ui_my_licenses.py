"""My Assigned Licenses: what a member sees of their own licenses and seats (keys pressed, real store)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from elp_tui.app import make_app
from elp_tui.screens.my_licenses import MyLicensesPage
from tests.conftest import ADMIN, TODAY
from tests.helpers import grant_bank, grant_seats, messages, until

ANA = "ana@lumenfox.studio"
SKETCH = "Quillstone Sketch"
ANIMATE = "Quillstone Animate"


def builds(portal, product: str, versions: list[str]) -> None:
    """The vendor catalog's builds of a product (the vendor side has no admin operation for them)."""
    with portal.store.transaction() as db:
        db.update("products", {"builds": [
            {"version": v, "released": f"2026-0{i + 1}-15", "downloads": {"linux": f"https://dl.example/{product[11:]}/{v}/linux"}}
            for i, v in enumerate(versions)
        ]}, name=product)


async def open_mine(app, pilot) -> MyLicensesPage:
    page = app.screen.query_one(MyLicensesPage)
    await until(pilot, lambda: page.rows is not None and page.display, "my licenses loaded")
    return page


def detail(page: MyLicensesPage) -> str:
    """The details pane as the user reads it (rich renderables printed to text)."""
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(page.query_one("#mine-detail", Static).content)
    return console.export_text()


async def test_a_seat_holder_sees_the_product_its_teams_and_download_links(portal, tmp_path):
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    grant_seats(portal, SKETCH, 3)
    portal.create_team(ADMIN, "Story", SKETCH)
    portal.create_team(ADMIN, "Layout", SKETCH)
    portal.team_add(ADMIN, "Story", ANA)
    portal.team_add(ADMIN, "Layout", ANA)
    builds(portal, SKETCH, ["25.1", "25.2"])
    portal.restrict(ADMIN, SKETCH, ["25.2"])
    bank = grant_bank(portal, product=ANIMATE, credits=10, start="2026-11-01", expires_on="2027-11-01",
                      product_version="25.1", portable=True)
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ANA)
    [lic] = portal.generate(ADMIN, quote)
    app = make_app(portal.store, ANA, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_mine(app, pilot)
        assert [r["product"] for r in page.table.visible_rows()] == [ANIMATE, SKETCH]
        page.table.focus()
        await pilot.press("down")
        await until(pilot, lambda: "team seat" in detail(page), "the seat's details")
        shown = detail(page)
        assert "since 2026-11-23, through teams Layout, Story" in shown
        assert "https://dl.example/Sketch/25.2/linux" in shown and "25.1" not in shown  # the allowed build only
        await pilot.press("c")
        await until(pilot, lambda: "A team seat has no activation ID" in messages(app), "no activation ID to copy")
    assert lic["activation_id"] not in shown


async def test_a_seat_held_in_no_team_says_so_and_offers_no_download(portal, tmp_path):
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    grant_seats(portal, SKETCH, 3)
    portal.create_team(ADMIN, "Story", SKETCH)
    portal.team_add(ADMIN, "Story", ANA)
    portal.team_remove(ADMIN, "Story", ANA)
    builds(portal, SKETCH, ["25.1"])
    app = make_app(portal.store, ANA, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_mine(app, pilot)
        [row] = page.table.visible_rows()
        assert (row["product"], row["status"]) == (SKETCH, "unassigned")
        assert "in no team now" in detail(page) and "dl.example" not in detail(page)
        page.table.focus()
        await pilot.press("u")
        await until(pilot, lambda: "ask your admin to add you to a team" in messages(app), "why no download")
