"""Pilot tests of the vendor's desk and of requests on Manage Banks and Teams: real keys, then the store."""

from __future__ import annotations

from textual.widgets import ContentSwitcher, OptionList, Static

from elp_tui.app import make_app
from elp_tui.screens.dialogs import ConfirmDialog, FormDialog
from elp_tui.screens.requests import RequestsPanel
from elp_tui.widgets.table import RecordTable
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.helpers import ORG, grant_seats, store_tables, until
from tests.test_ui_dashboard_banks import settle, text_of

ANIMATE = "Quillstone Animate"
FRAMELOOP = "Quillstone Frameloop"


def app_for(portal, tmp_path, user):
    return make_app(portal.store, user, clock=TODAY, settings_file=tmp_path / "settings.json")


def outbox_to(path, address):
    return [m for m in store_tables(path)["outbox"].values() if m["to"] == address]


async def test_the_vendor_signs_in_to_the_vendor_desk_and_sees_no_organization_page(portal, bank, tmp_path):
    portal.request_credits(ADMIN, bank["id"], 40)
    app = app_for(portal, tmp_path, VENDOR)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.screen.query_one(ContentSwitcher).current == "page-vendor-requests"
        header = text_of(app.screen.query_one("#signed-in", Static))
        assert "Vendor desk" in header and VENDOR in header and "(vendor)" in header
        sidebar = app.screen.query_one("#sidebar", OptionList)
        ids = {sidebar.get_option_at_index(i).id for i in range(sidebar.option_count)}
        assert {"vendor-requests", "vendor-orgs"} <= ids
        assert not ids & {"dashboard", "banks", "licenses", "users", "teams", "my-licenses"}
        table = app.screen.query_one("#vendor-requests-table", RecordTable)
        rows = table.visible_rows()
        assert [(r["organization"], r["amount"], r["state"]) for r in rows] == [(ORG, 40, "requested")]
        assert rows[0]["organization_name"] == "Lumenfox Studios"


async def test_the_vendor_grants_a_request_by_keys_and_the_bank_rises_in_the_same_step(portal, bank, tmp_path):
    request = portal.request_credits(ADMIN, bank["id"], 40)
    app = app_for(portal, tmp_path, VENDOR)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, FormDialog)
        await pilot.press("ctrl+u", *"30", "ctrl+s")  # grants 30 of the 40 asked
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        shown = " ".join(f"{label} {value}" for label, value in app.screen.rows)
        assert bank["id"] in shown and "30" in shown and "40" in shown
        await pilot.press("y")
        await settle(pilot)
        tables = store_tables(portal.store.path)
        done = next(r for r in tables["requests"].values() if r["id"] == request["id"])
        assert (done["state"], done["granted"], done["granted_target"], done["answered_by"]) == ("granted", 30, bank["id"], VENDOR)
        granted = next(b for b in tables["banks"].values() if b["id"] == bank["id"])["credits_granted"]
        assert granted == bank["credits_granted"] + 30
        assert any("granted" in m["subject"].lower() or "accord" in m["subject"].lower() for m in outbox_to(portal.store.path, ADMIN))
        # Open requests only: the answered one left the list.
        await until(pilot, lambda: app.screen.query_one("#vendor-requests-table", RecordTable).visible_rows() == [],
                    "the granted request to leave the open list")


async def test_the_vendor_declines_by_keys_with_a_reason_and_the_admin_sees_it_on_manage_banks(portal, bank, tmp_path):
    request = portal.request_credits(ADMIN, bank["id"], 500)
    app = app_for(portal, tmp_path, VENDOR)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"over the contract", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
    done = next(r for r in store_tables(portal.store.path)["requests"].values() if r["id"] == request["id"])
    assert (done["state"], done["reason"]) == ("declined", "over the contract")

    admin_app = app_for(portal, tmp_path, ADMIN)
    async with admin_app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        panel = admin_app.screen.query_one("#banks-requests", RequestsPanel)
        assert panel.display
        rows = panel.table.visible_rows()
        assert [(r["id"], r["state"], r["answer"]) for r in rows] == [(request["id"], "declined", "over the contract")]
        assert "0 waiting for the vendor, 1 answered" in text_of(panel.query_one(".requests-heading", Static))


async def test_an_open_request_shows_on_the_bank_it_is_for(portal, bank, tmp_path):
    request = portal.request_credits(ADMIN, bank["id"], 25)
    app = app_for(portal, tmp_path, ADMIN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        detail = text_of(app.screen.query_one("#banks-detail", Static))
        assert f"#{request['id']}: 25 credits asked on {TODAY.isoformat()}" in detail
        rows = app.screen.query_one("#banks-requests", RequestsPanel).table.visible_rows()
        assert [(r["state"], r["answer"]) for r in rows] == [("requested", "waiting for the vendor")]


async def test_seat_requests_and_their_state_show_on_teams(portal, tmp_path):
    grant_seats(portal, FRAMELOOP, 5)
    first = portal.request_seats(ADMIN, FRAMELOOP, 3)
    portal.request_seats(ADMIN, FRAMELOOP, 2)
    portal.grant_request(VENDOR, first["id"])
    app = app_for(portal, tmp_path, ADMIN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        assert app.screen.query_one(ContentSwitcher).current == "page-teams"
        panel = app.screen.query_one("#teams-requests", RequestsPanel)
        states = sorted((r["amount"], r["state"]) for r in panel.table.visible_rows())
        assert states == [(2, "requested"), (3, "granted")]
        assert "8 purchased" in text_of(app.screen.query_one("#teams-pools", Static))


async def test_no_request_no_panel(portal, bank, tmp_path):
    app = app_for(portal, tmp_path, ADMIN)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert not app.screen.query_one("#banks-requests", RequestsPanel).display


async def test_the_vendor_grants_a_bank_to_an_organization_by_keys(portal, tmp_path):
    app = app_for(portal, tmp_path, VENDOR)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert app.screen.query_one(ContentSwitcher).current == "page-vendor-orgs"
        rows = app.screen.query_one("#vendor-orgs-table", RecordTable).visible_rows()
        assert [r["id"] for r in rows] == [ORG]
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*ANIMATE, "tab", *"120", "tab", "tab", *"2027-06-01", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
    banks = [b for b in store_tables(portal.store.path)["banks"].values() if b["organization"] == ORG]
    assert [(b["product"], b["credits_granted"], b["start"], b["expires_on"]) for b in banks] == [
        (ANIMATE, 120, TODAY.isoformat(), "2027-06-01")]
    assert [b["credits_granted"] for b in portal.list_banks(ADMIN)] == [120]


async def test_a_bad_grant_is_refused_with_a_message_and_changes_nothing(portal, bank, tmp_path):
    portal.request_credits(ADMIN, bank["id"], 10)
    before = store_tables(portal.store.path)
    app = app_for(portal, tmp_path, VENDOR)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("tab", "ctrl+u", *"BK-9999", "ctrl+s")  # into a bank that does not exist
        # Refused before the confirmation, beside the bank, the form still open.
        await until(pilot, lambda: "BK-9999" in getattr(app.screen, "shown_error", lambda _n: "")("target"), "refusal")
        assert app.screen.focused.id == "field-target"
        await pilot.press("escape")
        await settle(pilot)
    after = store_tables(portal.store.path)
    assert after["requests"] == before["requests"] and after["banks"] == before["banks"]


async def test_the_vendor_sees_the_requests_mailed_to_it_on_its_outbox_page(portal, bank, tmp_path):
    portal.request_credits(ADMIN, bank["id"], 15)
    app = app_for(portal, tmp_path, VENDOR)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert app.screen.query_one(ContentSwitcher).current == "page-outbox"
        rows = app.screen.query_one("#outbox-table", RecordTable).visible_rows()
        assert [(r["kind"], r["state"]) for r in rows] == [("request", "queued")]
        assert "15" in rows[0]["subject"] and ANIMATE in rows[0]["subject"]


def test_the_vendor_lists_and_retries_its_own_mail_but_not_an_organizations(portal, bank):
    from elp_tui.portal import NotFound
    from tests.helpers import refused

    portal.request_credits(ADMIN, bank["id"], 15)
    mine = portal.vendor_outbox(VENDOR)
    assert [m["to"] for m in mine] == [portal.vendor_contact(ADMIN, ANIMATE)["email"]]
    portal.vendor_retry_mail(VENDOR, mine[0]["id"])  # a queued message may be sent again at once
    portal.invite(ADMIN, "ana@lumenfox.studio")
    invitation = next(m for m in portal.outbox(ADMIN) if m["kind"] == "invitation")
    assert invitation["id"] not in {m["id"] for m in portal.vendor_outbox(VENDOR)}
    refused(portal, NotFound, portal.vendor_retry_mail, VENDOR, invitation["id"])
