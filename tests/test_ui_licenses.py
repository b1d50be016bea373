"""Manage Licenses: keys a person presses, then the store as a fresh Portal reads it."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from elp_tui.app import make_app
from elp_tui.portal import Portal, fixed_clock
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.dialogs.licenses_forms import ExportDoneDialog
from elp_tui.screens.licenses import LicensesPage
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.helpers import confirm_text, messages, store_bytes, until
from tests.helpers import grant_bank

ANA = "ana@lf.io"
BOB = "bob@lf.io"


# -- helpers -------------------------------------------------------------------------
def fresh(portal: Portal) -> Portal:
    """The store as another session reads it (nothing cached from the app)."""
    return Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(99))


def member(portal: Portal, email: str) -> str:
    portal.invite(ADMIN, email)
    portal.sign_in(email)
    return email


def make(portal: Portal, bank: dict, *, type="node-lock", months=1, quantity=1, email=ANA) -> list[dict]:
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type=type, months=months, quantity=quantity, start=TODAY, email=email)
    return portal.generate(ADMIN, quote)


def license_row(portal: Portal, aid: str) -> dict:
    return next(r for r in fresh(portal).list_licenses(ADMIN) if r["activation_id"] == aid)


def remaining(portal: Portal, bank_id: str) -> int:
    return next(b for b in fresh(portal).list_banks(ADMIN) if b["id"] == bank_id)["remaining"]


def ledger(portal: Portal) -> list[dict]:
    return list(Store(portal.store.path).tables().get("ledger", {}).values())


def app_for(portal: Portal, tmp_path):
    return make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "settings.json")


async def open_page(app, pilot) -> LicensesPage:
    number = [p.PAGE_ID for p in app.allowed_pages()].index("licenses") + 1
    await pilot.press(str(number))
    page = app.screen.query_one(LicensesPage)
    await until(pilot, lambda: page._fetched and page.display, "licenses loaded")
    return page


async def select(pilot, page: LicensesPage, aid: str) -> None:
    """Filter down to one activation ID (its first two groups are enough), then back to the table (enter)."""
    await pilot.press("slash", *aid[:9], "enter")
    await until(pilot, lambda: page.table.row_count == 1 and page.table.has_focus, "row selected")
    assert page.table.current_row["activation_id"] == aid


async def form(pilot, app) -> FormDialog:
    await until(pilot, lambda: isinstance(app.screen, FormDialog), "form")
    return app.screen


async def confirmation(pilot, app) -> ConfirmDialog:
    await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation")
    return app.screen


async def settle(pilot, app) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


# -- add licenses --------------------------------------------------------------------
async def test_add_licenses_creates_licenses_and_charges_the_quoted_credits(portal, bank, tmp_path):
    member(portal, ANA)
    expected = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=3, start=TODAY, email=ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await pilot.press("a")
        await form(pilot, app)
        # bank (prefilled: the only one) -> type (node-lock) -> months -> quantity -> start -> email
        await pilot.press("tab", "tab", "ctrl+u", "2", "tab", "ctrl+u", "3", "tab", "tab", *ANA, "ctrl+s")
        dialog = await confirmation(pilot, app)
        assert dialog.title_text == "Confirm new licenses"
        assert dialog.rows == expected.lines()
        await pilot.press("y")
        await settle(pilot, app)
        await until(pilot, lambda: page.table.total_count == 3, "reload")
        assert "Created 3 licenses" in messages(app)
    rows = fresh(portal).list_licenses(ADMIN)
    assert len(rows) == 3 and {r["assignee"] for r in rows} == {ANA} and {r["type"] for r in rows} == {"node-lock"}
    assert sum(e["credits"] for e in ledger(portal)) == expected.credits == 6
    assert remaining(portal, bank["id"]) == expected.remaining_after == 94


async def test_add_licenses_proposes_a_start_the_preselected_bank_accepts(portal, tmp_path):
    """A bank that starts in two weeks: the form proposes its start, and Review goes through."""
    member(portal, ANA)
    later = grant_bank(portal, product="Quillstone Animate", credits=50, start="2026-12-07", expires_on="2027-12-07",
                       product_version="25.1", portable=True)
    expected = portal.quote_generate(ADMIN, bank=later["id"], type="node-lock", months=12, quantity=1,
                                     start="2026-12-07", email=ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot)
        await pilot.press("a")
        dialog = await form(pilot, app)
        assert dialog.values()[0]["start"] in ("2026-12-07", dt.date(2026, 12, 7))
        await pilot.press("tab", "tab", "tab", "tab", "tab", *ANA, "ctrl+s")
        confirm = await confirmation(pilot, app)
        assert confirm.rows == expected.lines()
        await pilot.press("y")
        await settle(pilot, app)
    [row] = fresh(portal).list_licenses(ADMIN)
    assert (row["start"], row["status"]) == ("2026-12-07", "scheduled")


async def test_add_licenses_asks_a_multiseat_for_its_computers(portal, bank, tmp_path):
    member(portal, ANA)
    expected = portal.quote_generate(ADMIN, bank=bank["id"], type="multiseat", months=2, quantity=5, start=TODAY, email=ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot)
        await pilot.press("a")
        dialog = await form(pilot, app)

        def quantity_label() -> str:
            return str(dialog.query_one("#field-quantity").parent.query_one(".form-label").render())

        assert quantity_label() == "Number of licenses"
        await pilot.press("tab", "enter", "down", "enter")  # the type: node-lock -> multiseat
        await until(pilot, lambda: quantity_label() == "Number of computers", "label follows the type")
        await pilot.press("tab", "ctrl+u", "2", "tab", "ctrl+u", "5", "tab", "tab", *ANA, "ctrl+s")
        confirm = await confirmation(pilot, app)
        assert confirm.rows == expected.lines()
        await pilot.press("y")
        await settle(pilot, app)
    [row] = fresh(portal).list_licenses(ADMIN)
    assert (row["type"], row["computers"]) == ("multiseat", 5)


async def test_escape_at_the_form_or_the_confirmation_writes_nothing(portal, bank, tmp_path):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot)
        await pilot.press("a")
        await form(pilot, app)
        await pilot.press(*"new@lf.io", "escape")
        await until(pilot, lambda: not isinstance(app.screen, FormDialog), "form closed")
        await settle(pilot, app)
        assert store_bytes(portal.store.path) == before
        await pilot.press("a")
        await form(pilot, app)
        # 12 months from 2026-11-23 run past the bank's expiry (2027-05-01); new@ is not a member
        await pilot.press("tab", "tab", "ctrl+u", "1", "2", "tab", "tab", "tab", *"new@lf.io", "ctrl+s")
        dialog = await confirmation(pilot, app)
        text = confirm_text(dialog)
        assert "2027-05-01" in dialog.warning and "6 month(s) it covers are charged" in dialog.warning
        assert "new@lf.io is not a member yet" in dialog.warning
        assert "Credits to deduct: 6" in text
        await pilot.press("n")
        # Cancelling the confirmation returns to the form with what was typed.
        again = await form(pilot, app)
        values, invalid = again.values()
        assert values["months"] == 12 and values["email"] == "new@lf.io" and not invalid
        await pilot.press("escape")
        await settle(pilot, app)
        assert not isinstance(app.screen, (FormDialog, ConfirmDialog))
    assert store_bytes(portal.store.path) == before


async def test_refused_quote_stays_in_the_form_beside_its_field_with_the_input(portal, bank, tmp_path):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot)
        await pilot.press("a")
        dialog = await form(pilot, app)
        # 200 node-lock licenses x 6 months: far more than the 100 credits
        await pilot.press("tab", "tab", "tab", "ctrl+u", *"200", "tab", "tab", *ANA, "ctrl+s")
        await until(pilot, lambda: "short" in dialog.shown_error("quantity"), "refusal beside the quantity")
        assert app.screen is dialog and dialog.focused.id == "field-quantity"
        assert "short" not in messages(app)  # beside the field, not a toast
        values, invalid = dialog.values()
        assert values["quantity"] == 200 and values["email"] == ANA and not invalid
        await pilot.press("ctrl+u", "2")  # typing again clears the refusal
        assert dialog.shown_error("quantity") == ""
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == before


async def test_stale_quote_with_credits_gone_is_refused_and_nothing_is_written(portal, bank, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await pilot.press("a")
        await form(pilot, app)
        await pilot.press("tab", "tab", "ctrl+u", "2", "tab", "tab", "tab", *ANA, "ctrl+s")
        await confirmation(pilot, app)
        # Another admin spends every credit meanwhile.
        other = fresh(portal)
        make(other, bank, months=1, quantity=100, email=ANA)
        changed = store_bytes(portal.store.path)
        await pilot.press("y")
        dialog = await form(pilot, app)
        await until(pilot, lambda: "data changed" in dialog.shown_error(), "stale refusal in the form")
        await until(pilot, lambda: page.table.total_count == 100, "reload")
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == changed
    assert remaining(portal, bank["id"]) == 0


async def test_confirmation_whose_promise_holds_commits_after_another_admin_spent(portal, bank, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot)
        await pilot.press("a")
        await form(pilot, app)
        await pilot.press("tab", "tab", "ctrl+u", "2", "tab", "tab", "tab", *ANA, "ctrl+s")
        first = await confirmation(pilot, app)
        assert ("Bank remaining", "100 → 98") in first.rows
        make(fresh(portal), bank, months=1, quantity=10, email=ANA)  # 10 credits spent elsewhere
        await pilot.press("y")
        await until(pilot, lambda: "Created 1 license" in messages(app), "created")
        assert not isinstance(app.screen, ConfirmDialog)
    assert remaining(portal, bank["id"]) == 88
    assert len(fresh(portal).list_licenses(ADMIN)) == 11


async def test_stale_quote_shows_the_fresh_quote_before_writing(portal, bank, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot)
        await pilot.press("a")
        await form(pilot, app)
        await pilot.press("tab", "tab", "ctrl+u", "2", "tab", "tab", "tab", *ANA, "ctrl+s")
        first = await confirmation(pilot, app)
        assert ("Recipient", ANA) in first.rows
        fresh(portal).delete_user(ADMIN, ANA)  # another admin removed the recipient meanwhile
        changed = store_bytes(portal.store.path)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen is not first, "fresh quote")
        assert ("Recipient", f"{ANA} (will be invited)") in app.screen.rows
        assert "data changed" in messages(app)
        assert store_bytes(portal.store.path) == changed  # nothing written by the stale quote
        await pilot.press("y")
        await settle(pilot, app)
    assert remaining(portal, bank["id"]) == 98
    assert [lic["assignee"] for lic in fresh(portal).list_licenses(ADMIN)] == [ANA]


# -- renew ---------------------------------------------------------------------------
async def test_renew_extends_the_license_and_charges_credits(portal, bank, tmp_path):
    member(portal, ANA)
    [lic] = make(portal, bank, months=1)
    expected = portal.quote_renew(ADMIN, lic["activation_id"], months=2)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await select(pilot, page, lic["activation_id"])
        await pilot.press("e")
        await form(pilot, app)
        await pilot.press("ctrl+u", "2", "ctrl+s")
        dialog = await confirmation(pilot, app)
        assert dialog.rows == expected.lines()
        await pilot.press("y")
        await settle(pilot, app)
    row = license_row(portal, lic["activation_id"])
    assert row["expires_on"] == expected.expires_after.isoformat() == "2027-02-23"
    assert row["credits_used"] == 1 + expected.credits == 3
    assert remaining(portal, bank["id"]) == expected.remaining_after == 97


async def test_renew_form_starts_with_the_licenses_current_term(portal, bank, tmp_path):
    """Seed 000: "a 1-month license renews for another month": the form says 1, not 12."""
    member(portal, ANA)
    [lic] = make(portal, bank, months=1)
    expected = portal.quote_renew(ADMIN, lic["activation_id"])
    assert expected.months == 1
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await select(pilot, page, lic["activation_id"])
        await pilot.press("e")
        dialog = await form(pilot, app)
        assert dialog.values()[0]["months"] == 1
        await pilot.press("ctrl+s")
        confirm = await confirmation(pilot, app)
        assert ("Months", "1 (the license's current term)") in confirm.rows
        await pilot.press("y")
        await settle(pilot, app)
    assert license_row(portal, lic["activation_id"])["expires_on"] == expected.expires_after.isoformat() == "2027-01-23"


async def test_multiseat_renew_raises_computers(portal, bank, tmp_path):
    member(portal, ANA)
    [lic] = make(portal, bank, type="multiseat", months=1, quantity=2)
    expected = portal.quote_renew(ADMIN, lic["activation_id"], months=1, computers=4)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await select(pilot, page, lic["activation_id"])
        await pilot.press("e")
        await form(pilot, app)
        await pilot.press("ctrl+u", "1", "tab", "ctrl+u", "4", "ctrl+s")
        dialog = await confirmation(pilot, app)
        assert ("Computers", "2 → 4") in dialog.rows
        await pilot.press("y")
        await settle(pilot, app)
    row = license_row(portal, lic["activation_id"])
    assert row["computers"] == 4 and row["expires_on"] == expected.expires_after.isoformat()
    assert row["credits_used"] == 2 + expected.credits
    assert sum(e["credits"] for e in ledger(portal)) == 2 + expected.credits
    assert remaining(portal, bank["id"]) == expected.remaining_after


# -- return and assign ---------------------------------------------------------------
async def test_return_verifies_id_and_email_then_unassigns(portal, bank, tmp_path):
    member(portal, ANA)
    [lic] = make(portal, bank, months=2)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await select(pilot, page, lic["activation_id"])
        assert "Return (t): available" in str(page.query_one("#detail-move").render())
        await pilot.press("s")  # not returned yet: the page says so instead of opening a form
        await until(pilot, lambda: "return it first" in messages(app), "reason")
        await pilot.press("t")
        dialog = await form(pilot, app)
        values, invalid = dialog.values()
        assert values["activation_id"] == lic["activation_id"] and values["email"] == ANA and not invalid
        await pilot.press("ctrl+s")
        confirm = await confirmation(pilot, app)
        assert confirm.danger
        await pilot.press("y")
        await settle(pilot, app)
        await until(pilot, lambda: "Assign (s): available" in str(page.query_one("#detail-move").render()), "detail")
    row = license_row(portal, lic["activation_id"])
    assert row["assignee"] is None and row["status"] == "returned"
    assert row["credits_used"] == 2 and remaining(portal, bank["id"]) == 98


async def test_return_refused_on_a_non_portable_bank_says_why(portal, tmp_path):
    member(portal, ANA)
    old = grant_bank(portal, product="Quillstone Animate", credits=20, start="2026-11-01", expires_on="2027-11-01",
                          product_version="25.1", portable=False)
    [lic] = make(portal, old, months=1)
    portal.queue_reminders()  # the day's reminders (the license expires in 30 days), as the session queues them at start
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await select(pilot, page, lic["activation_id"])
        assert "not portable" in str(page.query_one("#detail-move").render())
        await pilot.press("t")
        await until(pilot, lambda: "cannot be returned: bank is not portable" in messages(app), "reason")
        await pilot.press("s")
        await until(pilot, lambda: "cannot be reassigned: bank is not portable" in messages(app), "reason")
        await settle(pilot, app)
        assert not isinstance(app.screen, (FormDialog, ConfirmDialog))
    assert store_bytes(portal.store.path) == before


async def test_assign_gives_a_returned_license_to_a_member(portal, bank, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    [lic] = make(portal, bank, months=2)
    portal.return_license(ADMIN, lic["activation_id"], ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await select(pilot, page, lic["activation_id"])
        await pilot.press("s")
        await form(pilot, app)
        await pilot.press(*BOB, "enter")
        dialog = await confirmation(pilot, app)
        assert ("Assign to", BOB) in dialog.rows and not dialog.warning
        await pilot.press("y")
        await settle(pilot, app)
    assert license_row(portal, lic["activation_id"])["assignee"] == BOB


async def test_assign_refuses_before_confirming_and_the_portal_says_who_is_invited(portal, bank, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    portal.set_status(ADMIN, BOB, "inactive")
    [lic] = make(portal, bank, months=2)
    portal.return_license(ADMIN, lic["activation_id"], ANA)
    before = store_bytes(portal.store.path)
    carol = "carol@freelance.example"
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await select(pilot, page, lic["activation_id"])
        await pilot.press("s")
        assign = await form(pilot, app)
        await pilot.press(*BOB, "enter")
        # Refused before the confirmation, beside the email, the form still open.
        await until(pilot, lambda: "is inactive" in assign.shown_error("email"), "refusal")
        assert app.screen is assign and assign.focused.id == "field-email"
        assert store_bytes(portal.store.path) == before
        await pilot.press("ctrl+u", *carol, "enter")
        dialog = await confirmation(pilot, app)
        assert ("Assign to", carol) in dialog.rows and "will be invited" in dialog.warning
        assert app.screen.focused.id == "cancel"  # inviting someone new is not one stray Enter away
        await pilot.press("y")
        await settle(pilot, app)
    assert license_row(portal, lic["activation_id"])["assignee"] == carol
    assert {u["email"]: u["status"] for u in fresh(portal).list_users(ADMIN)}[carol] == "invited"


# -- CSV, filter, palette ------------------------------------------------------------
async def test_csv_download_writes_the_file_and_copies_it(portal, bank, tmp_path, monkeypatch):
    member(portal, ANA)
    make(portal, bank, months=1, quantity=2)
    monkeypatch.setenv("ELP_EXPORT_DIR", str(tmp_path / "exports"))
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ExportDoneDialog), "export dialog")
        org = app.user["organization"]
        path = tmp_path / "exports" / f"elp-licenses-{org}-2026-11-23.csv"
        assert app.screen.path == str(path.resolve())
        await pilot.press("c")
        await settle(pilot, app)
        assert "copied to the clipboard" in messages(app)
        clipboard = app.clipboard
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("activation_id,product,type,computers,assignee")
    assert len(lines) == 3 and all(ANA in line for line in lines[1:])
    assert clipboard == text == fresh(portal).export_csv(ADMIN)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


async def test_filter_counts_and_product_jump(portal, bank, tmp_path):
    member(portal, ANA)
    other = grant_bank(portal, product="Quillstone Storyboard", credits=10, start="2026-11-01", expires_on="2027-11-01")
    make(portal, bank, months=1, quantity=3)
    make(portal, other, months=1, quantity=1)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        count = page.query_one("#licenses-count")
        assert str(count.render()) == "4 licenses"
        await pilot.press("slash", *"storyboard", "enter")
        await until(pilot, lambda: page.table.row_count == 1, "filter")
        assert str(count.render()) == "4 licenses · 1 of 4 shown"
        page.show_product("Quillstone Animate")
        await pilot.pause()
        assert page.table.row_count == 3
        assert {r["product"] for r in page.table.visible_rows()} == {"Quillstone Animate"}


def test_every_palette_action_exists():
    titles = {c.palette_title for c in LicensesPage.COMMANDS}
    assert titles == {"Add licenses", "Renew", "Return", "Assign", "Download CSV", "License details", "Mark",
                      "Mark every license shown"}
    for command in LicensesPage.COMMANDS:
        assert callable(getattr(LicensesPage, f"action_{command.action}"))


async def test_the_page_says_the_portals_reason_for_a_returned_license_and_renew_is_refused(portal, bank, tmp_path):
    """The detail lines and the keys say what the portal's license_actions says (no guess of
    their own): a returned license offers Assign, and Renew says to assign it first."""
    member(portal, ANA)
    [lic] = make(portal, bank, months=2)
    aid = lic["activation_id"]
    portal.return_license(ADMIN, aid, ANA)
    reasons = portal.license_actions(ADMIN, aid)
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        await select(pilot, page, aid)
        assert str(page.query_one("#detail-renew").render()) == reasons["renew"]
        assert "Assign (s): available" in str(page.query_one("#detail-move").render())
        await pilot.press("e")
        await until(pilot, lambda: reasons["renew"] in messages(app), "the portal's reason")
        await settle(pilot, app)
        assert not isinstance(app.screen, (FormDialog, ConfirmDialog))
    assert "assign it to a member first" in reasons["renew"]
    assert store_bytes(portal.store.path) == before


async def test_store_text_is_shown_literally_never_as_markup(portal, tmp_path):
    member(portal, ANA)
    evil = "[@click=app.quit]Evil[/] [b]x"
    odd = grant_bank(portal, product=evil, credits=10, start="2026-11-01", expires_on="2027-11-01",
                          product_version="25.1", portable=True)
    make(portal, odd, months=1)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_page(app, pilot)
        assert evil in str(page.query_one("#detail-license").render())
        await pilot.click("#detail-license")
        await pilot.press("a")
        dialog = await form(pilot, app)
        current = dialog.query_one("#field-bank").query_one("SelectCurrent")
        assert evil in str(current.query_one("#label").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running


async def test_enter_on_a_license_opens_its_details_and_e_there_opens_the_renewal(portal, bank, tmp_path):
    from elp_tui.app import make_app
    from elp_tui.screens.details import DetailsScreen
    from elp_tui.screens.dialogs.form import FormDialog
    from tests.conftest import ADMIN, TODAY

    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="multiseat", months=2, quantity=3, start=TODAY,
                                  email="ana@lumenfox.studio")
    portal.generate(ADMIN, quote)
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "s.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailsScreen), "details")
        await pilot.press("e")  # Renew
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "renewal form")
        await pilot.press("escape")
        await pilot.pause()
