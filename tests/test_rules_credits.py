"""SPEC.md §2–4: dates, credit banks, generate, renew, return/assign, export — through the Portal."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re

import pytest

from elp_tui.portal import (
    GenerateQuote, InvalidInput, NotFound, PermissionDenied, Portal, PortalError, RenewQuote, RuleViolation, StaleQuote, fixed_clock,
)
from elp_tui.portal.credits import CSV_COLUMNS, neutralise_cell
from elp_tui.portal.dates import add_months, months_to_cover, version_key
from elp_tui.store import Store, open_store

from tests.conftest import ADMIN, TODAY
from tests.helpers import file_bytes, refused, store_bytes
from tests.helpers import ORG, grant_bank
from tests.conftest import VENDOR

D = dt.date.fromisoformat
ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
VENDOR_MAIL = "enterprise@quillstone.example.com"  # where requests to the vendor go
PRODUCT = "Quillstone Animate"
AID = re.compile(r"^[A-HJKMNP-TW-Z2-9]{4}(-[A-HJKMNP-TW-Z2-9]{4}){3}$")


# -- helpers -------------------------------------------------------------------------
def at(portal: Portal, day: str) -> Portal:
    """The same store seen on another day (a second Portal, like a later session)."""
    return Portal(open_store(portal.store.path), fixed_clock(day), rng=random.Random(11))


def member(portal: Portal, email: str = ANA) -> str:
    portal.invite(ADMIN, email)
    portal.sign_in(email)
    return email


def make(portal: Portal, bank: dict, *, type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN) -> list[dict]:
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type=type, months=months, quantity=quantity, start=start, email=email)
    return portal.generate(ADMIN, quote)


def bank_row(portal: Portal, bank_id: str) -> dict:
    return next(b for b in portal.list_banks(ADMIN) if b["id"] == bank_id)


def license_row(portal: Portal, aid: str) -> dict:
    return next(r for r in portal.list_licenses(ADMIN) if r["activation_id"] == aid)


def table(portal: Portal, name: str) -> list[dict]:
    return list(portal.store.tables().get(name, {}).values())


def add_bank(portal: Portal, **kw) -> dict:
    args = dict(product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01", product_version="25.1", portable=True)
    args.update(kw)
    return grant_bank(portal, **args)


# -- §2 time -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "day, months, expected",
    [
        ("2027-01-31", 1, "2027-02-28"),
        ("2028-01-31", 1, "2028-02-29"),  # leap year
        ("2100-01-31", 1, "2100-02-28"),  # century, not a leap year
        ("2000-01-31", 1, "2000-02-29"),  # 400-year leap year
        ("2027-01-31", 2, "2027-03-31"),  # counted from the day, never chained through Feb 28
        ("2028-02-29", 12, "2029-02-28"),
        ("2027-03-31", 1, "2027-04-30"),
        ("2026-11-23", 1, "2026-12-23"),
        ("2026-12-15", 1, "2027-01-15"),  # year boundary
    ],
)
def test_add_months_uses_calendar_months_clamped_to_month_end(day, months, expected):
    assert add_months(D(day), months) == D(expected)


@pytest.mark.parametrize(
    "start, end, months",
    [
        ("2026-11-23", "2026-12-23", 1),
        ("2026-11-23", "2026-12-24", 2),  # one day over: a partial month counts as one
        ("2026-11-23", "2027-05-01", 6),
        ("2027-01-31", "2027-02-28", 1),
        ("2027-01-31", "2027-03-01", 2),
        ("2027-04-30", "2027-05-01", 1),
        ("2027-05-01", "2027-05-01", 0),
    ],
)
def test_months_to_cover_counts_partial_months_as_one(start, end, months):
    assert months_to_cover(D(start), D(end)) == months


def test_generate_from_jan_31_ends_on_the_last_day_of_february(portal):
    bank = add_bank(portal, credits=20, start="2027-01-01", expires_on="2029-01-01")
    common = dict(bank=bank["id"], type="node-lock", months=1, quantity=1, email=ADMIN)
    q = portal.quote_generate(ADMIN, start="2027-01-31", **common)
    assert (q.expires_on, q.credits, q.cut_by_bank) == (D("2027-02-28"), 1, False)
    q_leap = portal.quote_generate(ADMIN, start="2028-01-31", **common)
    assert q_leap.expires_on == D("2028-02-29")
    q_two = portal.quote_generate(ADMIN, start="2027-01-31", **{**common, "months": 2})
    assert (q_two.expires_on, q_two.credits) == (D("2027-03-31"), 2)
    [lic] = portal.generate(ADMIN, q)
    assert (lic["start"], lic["expires_on"], lic["status"]) == ("2027-01-31", "2027-02-28", "scheduled")
    # Renewal counts from the current expiry: Feb 28 + 1 month = Mar 28.
    rq = portal.quote_renew(ADMIN, lic["activation_id"], months=1)
    assert (rq.expires_after, rq.credits) == (D("2027-03-28"), 1)


def test_dates_are_iso_strings_everywhere(portal, bank):
    [lic] = make(portal, bank, months=2)
    for key in ("start", "expires_on", "bank_start", "bank_expires_on"):
        assert D(lic[key]).isoformat() == lic[key]
    assert lic["start"] == TODAY.isoformat()


# -- §3 banks ------------------------------------------------------------------------
def test_used_is_the_ledger_sum_and_remaining_is_granted_minus_used(portal, bank):
    make(portal, bank, quantity=3, months=2)  # 6
    make(portal, bank, type="multiseat", quantity=4, months=1)  # 4
    row = bank_row(portal, bank["id"])
    ledger = [e for e in table(portal, "ledger") if e["bank"] == bank["id"]]
    assert sum(e["credits"] for e in ledger) == row["used"] == 10
    assert row["remaining"] == 90 and row["forfeited"] == 0
    assert all(e["actor"] == ADMIN and e["reason"] == "generate" and e["on"] == TODAY.isoformat() for e in ledger)
    assert portal.check() == []


def test_unused_credits_are_lost_after_the_bank_expires(portal, bank):
    make(portal, bank, quantity=2, months=3)  # 6 used
    before = at(portal, "2027-04-30")
    assert bank_row(before, bank["id"])["remaining"] == 94
    after = at(portal, "2027-05-01")  # expires_on is the first day it is no longer valid
    row = bank_row(after, bank["id"])
    assert (row["remaining"], row["forfeited"], row["expired"]) == (0, 94, True)


def test_request_credits_emails_the_vendor_and_logs_it(portal, bank):
    activity_before = len(portal.activity(ADMIN))
    outbox_before = len(table(portal, "outbox"))
    portal.request_credits(ADMIN, bank["id"], 250)
    mails = table(portal, "outbox")[outbox_before:]
    assert len(mails) == 1 and mails[0]["to"] == VENDOR_MAIL
    assert "250" in mails[0]["subject"] + mails[0]["body"]
    [entry] = portal.activity(ADMIN)[: len(portal.activity(ADMIN)) - activity_before]
    assert entry["action"] == "credits-request" and entry["actor"] == ADMIN and entry["target"] == bank["id"]
    row = bank_row(portal, bank["id"])
    assert row["credits_requested"] == 350
    assert row["credits_granted"] == 100 and row["remaining"] == 100  # a request grants nothing yet
    assert [r["amount"] for r in table(portal, "requests")] == [250]
    refused(portal, InvalidInput, portal.request_credits, ADMIN, bank["id"], 0)


# -- §4 generate ---------------------------------------------------------------------
def test_request_credits_on_an_expired_bank_is_refused(portal):
    old = add_bank(portal, start="2025-11-01", expires_on="2026-11-01")
    refused(portal, RuleViolation, portal.request_credits, ADMIN, old["id"], 10, match="expired on 2026-11-01.*valid bank")
    assert table(portal, "requests") == [] and bank_row(portal, old["id"])["credits_requested"] == 100


def test_expiry_is_capped_by_the_bank_and_the_partial_month_is_charged_as_one(portal, bank):
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=12, quantity=2, start=TODAY, email=ADMIN)
    # 2026-11-23 .. 2027-05-01 is 5 months and 8 days: 6 months charged, not the 12 asked.
    assert q.expires_on == D("2027-05-01") and q.cut_by_bank
    assert (q.months_charged, q.credits, q.remaining_before, q.remaining_after) == (6, 12, 100, 88)
    assert any("cut by the bank" in value for _, value in q.lines())
    created = portal.generate(ADMIN, q)
    assert [(c["expires_on"], c["credits_used"]) for c in created] == [("2027-05-01", 6)] * 2
    assert bank_row(portal, bank["id"])["remaining"] == 88


def test_no_charge_for_months_the_bank_cannot_cover(portal, bank):
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="multiseat", months=24, quantity=3, start="2027-04-30", email=ADMIN)
    assert (q.expires_on, q.months_charged, q.credits) == (D("2027-05-01"), 1, 3)


def test_expiry_exactly_at_the_bank_expiry_is_not_cut(portal, bank):
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=5, quantity=1, start="2026-12-01", email=ADMIN)
    assert (q.expires_on, q.cut_by_bank, q.credits) == (D("2027-05-01"), False, 5)


def test_node_lock_makes_n_licenses_of_one_computer(portal, bank):
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=3, start=TODAY, email=ADMIN)
    assert (q.licenses, q.computers, q.credits) == (3, 1, 6)
    created = portal.generate(ADMIN, q)
    assert len(created) == 3
    assert all(c["computers"] == 1 and c["credits_used"] == 2 and c["type"] == "node-lock" for c in created)
    ids = [c["activation_id"] for c in created]
    assert len(set(ids)) == 3 and all(AID.match(i) for i in ids), ids
    assert bank_row(portal, bank["id"])["used"] == 6


@pytest.mark.parametrize("kind", ["multiseat", "floating"])
def test_multiseat_and_floating_make_one_license_of_n_computers(portal, bank, kind):
    q = portal.quote_generate(ADMIN, bank=bank["id"], type=kind, months=2, quantity=3, start=TODAY, email=ADMIN)
    assert (q.licenses, q.computers, q.credits) == (1, 3, 6)
    [lic] = portal.generate(ADMIN, q)
    assert (lic["type"], lic["computers"], lic["credits_used"]) == (kind, 3, 6)
    assert bank_row(portal, bank["id"])["used"] == 6


def test_too_few_credits_is_refused_with_the_shortfall(portal):
    small = add_bank(portal, credits=10)
    e = refused(
        portal, RuleViolation, portal.quote_generate, ADMIN,
        bank=small["id"], type="node-lock", months=4, quantity=3, start=TODAY, email=ADMIN,
    )
    assert "10" in str(e) and "12" in str(e) and "2 short" in str(e)
    # exactly the remaining credits is fine
    q = portal.quote_generate(ADMIN, bank=small["id"], type="multiseat", months=5, quantity=2, start=TODAY, email=ADMIN)
    portal.generate(ADMIN, q)
    assert bank_row(portal, small["id"])["remaining"] == 0
    e = refused(portal, RuleViolation, portal.quote_generate, ADMIN,
                bank=small["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN)
    assert "1 short" in str(e)


@pytest.mark.parametrize("expires", ["2026-11-23", "2026-11-01"])
def test_expired_bank_is_refused(portal, expires):
    old = add_bank(portal, start="2026-01-01", expires_on=expires)
    refused(portal, RuleViolation, portal.quote_generate, ADMIN,
            bank=old["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN, match="expired")


def test_bank_of_another_product_is_refused(portal, bank):
    refused(portal, RuleViolation, portal.quote_generate, ADMIN,
            bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN,
            product="Quillstone Render", match="Quillstone Render")
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN, product=PRODUCT)
    assert q.product == PRODUCT


def test_start_in_the_past_is_refused(portal, bank):
    refused(portal, InvalidInput, portal.quote_generate, ADMIN,
            bank=bank["id"], type="node-lock", months=1, quantity=1, start="2026-11-22", email=ADMIN, match="past")


def test_start_outside_the_bank_is_refused(portal):
    later = add_bank(portal, start="2027-01-01", expires_on="2027-05-01")
    args = dict(bank=later["id"], type="node-lock", months=1, quantity=1, email=ADMIN)
    refused(portal, RuleViolation, portal.quote_generate, ADMIN, start="2026-12-31", match="before", **args)
    refused(portal, RuleViolation, portal.quote_generate, ADMIN, start="2027-05-01", **args)
    refused(portal, RuleViolation, portal.quote_generate, ADMIN, start="2027-06-01", **args)
    assert portal.quote_generate(ADMIN, start="2027-01-01", **args).credits == 1
    assert portal.quote_generate(ADMIN, start="2027-04-30", **args).expires_on == D("2027-05-01")


@pytest.mark.parametrize(
    "field, value",
    [("months", 0), ("quantity", 0), ("months", "two"), ("type", "dongle"), ("start", "23/11/2026"), ("email", "not-an-email")],
)
def test_bad_generate_input_is_refused(portal, bank, field, value):
    args = dict(bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN)
    args[field] = value
    refused(portal, InvalidInput, portal.quote_generate, ADMIN, **args)


def test_unknown_bank_is_refused(portal, bank):
    other = Portal(open_store(portal.store.path), fixed_clock(TODAY))
    other.init_organization("Other Studio", "boss@other.example")
    theirs = grant_bank(other, org="other-studio", product=PRODUCT, credits=5, start="2026-11-01", expires_on="2027-01-01")
    # another organization's bank is as unknown as a bank that does not exist
    for bank_id in ("BK-9999", theirs["id"]):
        refused(portal, PortalError, portal.quote_generate, ADMIN,
                bank=bank_id, type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN)


def test_quote_writes_nothing_and_generate_writes_the_quote(portal, bank):
    before = file_bytes(portal)
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=2, start=TODAY, email=ADMIN)
    assert file_bytes(portal) == before
    labels = [label for label, _ in q.lines()]
    for needed in ("Licenses to create", "Type", "Computers per license", "Start", "Expires on", "Credits to deduct", "Bank remaining"):
        assert needed in labels
    portal.generate(ADMIN, q)
    assert len(portal.list_licenses(ADMIN)) == 2


def test_generate_to_an_unknown_recipient_invites_them(portal, bank):
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email="New.Artist@Example.com")
    assert q.invites_recipient and q.email == "new.artist@example.com"
    assert any("invited" in value for _, value in q.lines())
    assert "new.artist@example.com" not in [u["email"] for u in portal.list_users(ADMIN)]
    [lic] = portal.generate(ADMIN, q)
    users = {u["email"]: u for u in portal.list_users(ADMIN)}
    assert users["new.artist@example.com"]["status"] == "invited"
    assert lic["assignee"] == "new.artist@example.com"
    subjects = [m["subject"] for m in table(portal, "outbox") if m["to"] == "new.artist@example.com"]
    assert any("invited" in s for s in subjects) and any("license" in s for s in subjects)


def test_generate_to_a_member_notifies_them_and_does_not_invite(portal, bank):
    member(portal)
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="floating", months=1, quantity=2, start=TODAY, email=ANA)
    assert not q.invites_recipient
    [lic] = portal.generate(ADMIN, q)
    mails = [m for m in table(portal, "outbox") if m["to"] == ANA and lic["activation_id"] in m["body"]]
    assert len(mails) == 1


def test_generate_to_a_member_of_another_organization_is_refused(portal, bank):
    other = Portal(open_store(portal.store.path), fixed_clock(TODAY))
    other.init_organization("Other Studio", "boss@other.example")
    refused(portal, RuleViolation, portal.quote_generate, ADMIN,
            bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email="BOSS@other.example",
            match="another organization")


def test_generate_quote_that_still_holds_commits_although_another_admin_spent_meanwhile(portal, bank):
    """The promise is the charge, the bank, the recipient and the dates, not the bank's remaining
    credits: another admin's spend that leaves enough does not refuse a confirmed quote."""
    old = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=5, start=TODAY, email=ADMIN)
    assert (old.remaining_before, old.remaining_after) == (100, 90)
    make(portal, bank, type="multiseat", quantity=3, months=1)  # someone else spends 3 credits
    created = portal.generate(ADMIN, old)
    assert len(created) == 5
    assert bank_row(portal, bank["id"])["remaining"] == 87  # both charges, exactly
    assert portal.check() == []


def test_generate_quote_whose_expiry_changed_is_stale_with_a_fresh_quote_and_nothing_written(portal, bank):
    old = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=5, start=TODAY, email=ADMIN)
    assert old.expires_on.isoformat() == "2027-01-23" and not old.cut_by_bank
    with portal.store.transaction() as db:  # the vendor shortened the bank meanwhile
        db.update("banks", {"expires_on": "2026-12-10"}, lambda d: d["id"] == bank["id"])
    before = file_bytes(portal)
    with pytest.raises(StaleQuote) as info:
        portal.generate(ADMIN, old)
    assert file_bytes(portal) == before
    fresh = info.value.fresh
    assert isinstance(fresh, GenerateQuote)
    assert (fresh.expires_on.isoformat(), fresh.cut_by_bank, fresh.credits) == ("2026-12-10", True, 5)
    portal.generate(ADMIN, fresh)
    assert bank_row(portal, bank["id"])["remaining"] == 95


def test_generate_quote_whose_recipient_was_deleted_meanwhile_is_stale(portal, bank):
    member(portal)
    old = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ANA)
    assert not old.invites_recipient
    portal.delete_user(ADMIN, ANA)
    before = file_bytes(portal)
    with pytest.raises(StaleQuote) as info:
        portal.generate(ADMIN, old)  # would now invite them: not what was confirmed
    assert file_bytes(portal) == before
    assert info.value.fresh.invites_recipient


def test_quote_that_no_longer_fits_is_refused_at_commit(portal):
    small = add_bank(portal, credits=6)
    mine = portal.quote_generate(ADMIN, bank=small["id"], type="node-lock", months=1, quantity=4, start=TODAY, email=ADMIN)
    theirs = portal.quote_generate(ADMIN, bank=small["id"], type="node-lock", months=1, quantity=4, start=TODAY, email=ADMIN)
    portal.generate(ADMIN, theirs)
    before = file_bytes(portal)
    with pytest.raises(StaleQuote, match="short"):
        portal.generate(ADMIN, mine)
    assert file_bytes(portal) == before
    assert bank_row(portal, small["id"])["remaining"] == 2


def test_generate_writes_one_activity_entry_with_actor_and_credits(portal, bank):
    member(portal)
    n = len(portal.activity(ADMIN))
    make(portal, bank, quantity=3, months=2, email=ANA)
    entries = portal.activity(ADMIN)
    assert len(entries) == n + 1
    assert (entries[0]["action"], entries[0]["actor"], entries[0]["credits"]) == ("license-generate", ADMIN, 6)


def test_scheduled_license_status(portal, bank):
    [lic] = make(portal, bank, start="2027-01-10")
    assert lic["status"] == "scheduled"
    assert license_row(at(portal, "2027-01-10"), lic["activation_id"])["status"] == "active"
    assert license_row(at(portal, "2027-02-10"), lic["activation_id"])["status"] == "expired"


# -- §4 renew ------------------------------------------------------------------------
def test_renew_extends_and_charges_computers_times_months(portal, bank):
    [lic] = make(portal, bank, months=1)
    q = portal.quote_renew(ADMIN, lic["activation_id"], months=2)
    assert isinstance(q, RenewQuote)
    assert (q.expires_before, q.expires_after, q.credits, q.remaining_before, q.remaining_after) == (
        D("2026-12-23"), D("2027-02-23"), 2, 99, 97)
    row = portal.renew(ADMIN, q)
    assert (row["expires_on"], row["credits_used"]) == ("2027-02-23", 3)
    assert bank_row(portal, bank["id"])["used"] == 3
    assert portal.activity(ADMIN)[0]["action"] == "license-renew" and portal.activity(ADMIN)[0]["credits"] == 2
    assert portal.check() == []


def test_renew_is_capped_by_the_bank_and_charges_only_covered_months(portal, bank):
    [lic] = make(portal, bank, type="multiseat", quantity=2, months=3)  # until 2027-02-23
    q = portal.quote_renew(ADMIN, lic["activation_id"], months=6)
    # 2027-02-23 .. 2027-05-01: 2 months and 8 days -> 3 months charged, not 6
    assert (q.expires_after, q.cut_by_bank, q.months_charged, q.credits) == (D("2027-05-01"), True, 3, 6)
    portal.renew(ADMIN, q)
    assert bank_row(portal, bank["id"])["used"] == 12


def test_multiseat_renewal_raising_computers_charges_the_rest_of_the_term(portal, bank):
    [lic] = make(portal, bank, type="multiseat", quantity=2, months=3)  # 6 credits, until 2027-02-23
    later = at(portal, "2026-12-10")
    q = later.quote_renew(ADMIN, lic["activation_id"], months=1, computers=5)
    # rest of term 2026-12-10 .. 2027-02-23 = 2 months 13 days -> 3 months (partial = one)
    assert (q.computers_before, q.computers_after, q.term_months_left) == (2, 5, 3)
    assert (q.credits_added_computers, q.credits_renewal, q.credits) == (9, 5, 14)
    assert q.expires_after == D("2027-03-23")
    row = later.renew(ADMIN, q)
    assert (row["computers"], row["credits_used"], row["expires_on"]) == (5, 20, "2027-03-23")
    ledger = [e for e in table(portal, "ledger") if e["license"] == lic["activation_id"]]
    assert sorted(e["credits"] for e in ledger) == [5, 6, 9]
    assert bank_row(later, bank["id"])["used"] == 20
    assert later.check() == []


def test_multiseat_renewal_can_raise_computers_without_months(portal, bank):
    [lic] = make(portal, bank, type="multiseat", quantity=2, months=2)
    q = portal.quote_renew(ADMIN, lic["activation_id"], months=0, computers=3)
    assert (q.credits, q.expires_after) == (2, D("2027-01-23"))  # 1 added computer x 2 months left


def test_renewal_cannot_lower_computers(portal, bank):
    [lic] = make(portal, bank, type="multiseat", quantity=4, months=2)
    refused(portal, RuleViolation, portal.quote_renew, ADMIN, lic["activation_id"], months=1, computers=3, match="lower")


def test_only_multiseat_renewals_change_computers(portal, bank):
    [node] = make(portal, bank, months=2)
    refused(portal, RuleViolation, portal.quote_renew, ADMIN, node["activation_id"], months=1, computers=2)


def test_renewal_too_expensive_is_refused_with_the_shortfall(portal):
    small = add_bank(portal, credits=5)
    [lic] = make(portal, small, type="multiseat", quantity=2, months=2)  # 4 used, 1 left
    e = refused(portal, RuleViolation, portal.quote_renew, ADMIN, lic["activation_id"], months=1)
    assert "1 short" in str(e)


def test_expired_license_cannot_be_renewed(portal, bank):
    [lic] = make(portal, bank, months=1)  # until 2026-12-23
    later = at(portal, "2026-12-23")
    refused(later, RuleViolation, later.quote_renew, ADMIN, lic["activation_id"], months=1, match="expired")
    assert at(portal, "2026-12-22").quote_renew(ADMIN, lic["activation_id"], months=1).credits == 1


def test_license_ending_at_the_bank_expiry_cannot_be_renewed(portal, bank):
    [lic] = make(portal, bank, months=12)  # capped at 2027-05-01
    refused(portal, RuleViolation, portal.quote_renew, ADMIN, lic["activation_id"], months=1, match="bank's expiry")


def test_renew_quote_that_still_holds_commits_although_another_admin_spent_meanwhile(portal, bank):
    [lic] = make(portal, bank, months=1)
    old = portal.quote_renew(ADMIN, lic["activation_id"], months=1)
    make(portal, bank, months=1)
    portal.renew(ADMIN, old)
    assert license_row(portal, lic["activation_id"])["expires_on"] == "2027-01-23"
    assert bank_row(portal, bank["id"])["remaining"] == 97
    assert portal.check() == []


def test_renew_quote_gets_a_fresh_quote_when_another_admin_raised_the_computers(portal, bank):
    """The quote kept 2 computers; meanwhile 2 -> 4: a fresh quote (4 computers), not "cannot lower"."""
    [lic] = make(portal, bank, type="multiseat", quantity=2, months=1)
    aid = lic["activation_id"]
    mine = portal.quote_renew(ADMIN, aid, months=1)
    other = at(portal, str(TODAY))
    other.renew(ADMIN, other.quote_renew(ADMIN, aid, months=0, computers=4))
    before = file_bytes(portal)
    with pytest.raises(StaleQuote) as info:
        portal.renew(ADMIN, mine)
    assert file_bytes(portal) == before
    fresh = info.value.fresh
    assert isinstance(fresh, RenewQuote) and (fresh.computers_before, fresh.computers_after, fresh.credits) == (4, 4, 4)
    portal.renew(ADMIN, fresh)
    assert license_row(portal, aid)["computers"] == 4 and license_row(portal, aid)["expires_on"] == "2027-01-23"


def test_renew_quote_raising_computers_below_a_later_raise_is_refused_at_commit(portal, bank):
    [lic] = make(portal, bank, type="multiseat", quantity=2, months=1)
    aid = lic["activation_id"]
    mine = portal.quote_renew(ADMIN, aid, months=1, computers=3)
    other = at(portal, str(TODAY))
    other.renew(ADMIN, other.quote_renew(ADMIN, aid, months=0, computers=4))
    refused(portal, StaleQuote, portal.renew, ADMIN, mine, match="cannot lower")
    assert license_row(portal, aid)["computers"] == 4


def test_renewed_twice_from_the_same_quote_charges_once(portal, bank):
    [lic] = make(portal, bank, months=1)
    q = portal.quote_renew(ADMIN, lic["activation_id"], months=1)
    portal.renew(ADMIN, q)
    with pytest.raises(StaleQuote):
        portal.renew(ADMIN, q)
    assert bank_row(portal, bank["id"])["used"] == 2


# -- §4 return and assign ------------------------------------------------------------
@pytest.mark.parametrize("version", ["25.1", "25.9", "25.10", "26", "26.0.1"])
def test_return_is_allowed_for_portable_banks_from_25_1(portal, version):
    b = add_bank(portal, product_version=version, portable=True)
    member(portal)
    [lic] = make(portal, b, months=2, email=ANA)
    used = bank_row(portal, b["id"])["used"]
    row = portal.return_license(ADMIN, lic["activation_id"], "Ana@Lumenfox.Studio")
    assert (row["status"], row["assignee"], row["expires_on"], row["credits_used"]) == ("returned", None, lic["expires_on"], 2)
    assert bank_row(portal, b["id"])["used"] == used  # no credits come back
    assert license_row(portal, lic["activation_id"])["status"] == "returned"
    assert portal.activity(ADMIN)[0]["action"] == "license-return"
    assert portal.check() == []


@pytest.mark.parametrize("version, portable", [("25.0", True), ("24.12", True), ("9.9", True), ("25", True), (None, True), ("26", False)])
def test_return_is_refused_for_non_portable_or_pre_25_1_banks(portal, version, portable):
    b = add_bank(portal, product_version=version, portable=portable)
    member(portal)
    [lic] = make(portal, b, months=2, email=ANA)
    assert lic["return_blocked"]  # the UI can say why instead of offering a dead action
    e = refused(portal, RuleViolation, portal.return_license, ADMIN, lic["activation_id"], ANA)
    assert ("portable" in str(e)) if not portable else ("25.1" in str(e))


def test_version_compare_is_numeric():
    assert version_key("25.10") > version_key("25.9") > version_key("25.1") > version_key("25.0")
    assert version_key("26") > version_key("25.10") and version_key("9.9") < version_key("25.1")


def test_return_requires_the_assignees_email(portal, bank):
    member(portal)
    member(portal, BOB)
    [lic] = make(portal, bank, months=2, email=ANA)
    refused(portal, RuleViolation, portal.return_license, ADMIN, lic["activation_id"], BOB)
    refused(portal, InvalidInput, portal.return_license, ADMIN, lic["activation_id"], "ana")
    refused(portal, PortalError, portal.return_license, ADMIN, "AAAA-BBBB-CCCC-DDDD", ANA)
    assert license_row(portal, lic["activation_id"])["assignee"] == ANA


def test_return_refused_when_expired_or_already_returned(portal, bank):
    member(portal)
    [lic] = make(portal, bank, months=1, email=ANA)
    later = at(portal, "2026-12-23")
    refused(later, RuleViolation, later.return_license, ADMIN, lic["activation_id"], ANA, match="expired")
    portal.return_license(ADMIN, lic["activation_id"], ANA)
    refused(portal, RuleViolation, portal.return_license, ADMIN, lic["activation_id"], ANA, match="already returned")


def test_assign_gives_a_returned_license_to_another_member(portal, bank):
    member(portal)
    member(portal, BOB)
    [lic] = make(portal, bank, months=3, email=ANA)
    aid = lic["activation_id"]
    refused(portal, RuleViolation, portal.assign_license, ADMIN, aid, BOB, match="return it first")
    portal.return_license(ADMIN, aid, ANA)
    row = portal.assign_license(ADMIN, aid, "BOB@lumenfox.studio")
    assert (row["assignee"], row["status"], row["expires_on"], row["credits_used"]) == (BOB, "active", lic["expires_on"], 3)
    assert bank_row(portal, bank["id"])["used"] == 3
    assert any(m["to"] == BOB and aid in m["body"] for m in table(portal, "outbox"))
    assert portal.activity(ADMIN)[0]["action"] == "license-assign"
    assert [r["activation_id"] for r in at(portal, str(TODAY)).my_licenses(BOB)] == [aid]
    assert at(portal, str(TODAY)).my_licenses(ANA) == []


def test_assign_to_a_member_of_another_organization_is_refused(portal, bank):
    member(portal)
    [lic] = make(portal, bank, months=3, email=ANA)
    portal.return_license(ADMIN, lic["activation_id"], ANA)
    other = Portal(open_store(portal.store.path), fixed_clock(TODAY))
    other.init_organization("Other Studio", "boss@other.example")
    refused(portal, RuleViolation, portal.assign_license, ADMIN, lic["activation_id"], "boss@other.example", match="another organization")
    assert license_row(portal, lic["activation_id"])["status"] == "returned"


def test_assign_to_an_unknown_email_invites_them(portal, bank):
    member(portal)
    [lic] = make(portal, bank, months=3, email=ANA)
    portal.return_license(ADMIN, lic["activation_id"], ANA)
    portal.assign_license(ADMIN, lic["activation_id"], "carol@freelance.example")
    users = {u["email"]: u["status"] for u in portal.list_users(ADMIN)}
    assert users["carol@freelance.example"] == "invited"
    assert license_row(portal, lic["activation_id"])["assignee"] == "carol@freelance.example"


def test_assign_refused_for_expired_returned_license(portal, bank):
    member(portal)
    [lic] = make(portal, bank, months=1, email=ANA)
    portal.return_license(ADMIN, lic["activation_id"], ANA)
    member(portal, BOB)
    later = at(portal, "2026-12-23")
    refused(later, RuleViolation, later.assign_license, ADMIN, lic["activation_id"], BOB, match="expired")


def test_assign_refused_for_non_portable_bank(portal):
    b = add_bank(portal, portable=False, product_version="26")
    member(portal)
    [lic] = make(portal, b, months=1, email=ANA)
    refused(portal, RuleViolation, portal.assign_license, ADMIN, lic["activation_id"], ADMIN, match="portable")


def test_assign_quote_says_who_is_invited_and_writes_nothing(portal, bank):
    member(portal)
    member(portal, BOB)
    [lic] = make(portal, bank, months=3, email=ANA)
    aid = lic["activation_id"]
    refused(portal, RuleViolation, portal.quote_assign, ADMIN, aid, BOB, match="return it first")
    portal.return_license(ADMIN, aid, ANA)
    before = file_bytes(portal)
    to_bob = portal.quote_assign(ADMIN, aid.lower(), "BOB@lumenfox.studio")
    assert to_bob == {
        "activation_id": aid, "product": PRODUCT, "type": "node-lock", "computers": 1, "expires_on": lic["expires_on"],
        "email": BOB, "invites": False,
    }
    assert portal.quote_assign(ADMIN, aid, "carol@freelance.example")["invites"] is True
    assert file_bytes(portal) == before
    portal.assign_license(ADMIN, aid, BOB, expected=to_bob)
    assert license_row(portal, aid)["assignee"] == BOB


def test_assign_quote_refuses_another_organizations_member_and_an_inactive_user(portal, bank):
    member(portal)
    member(portal, BOB)
    [lic] = make(portal, bank, months=3, email=ANA)
    aid = lic["activation_id"]
    portal.return_license(ADMIN, aid, ANA)
    Portal(open_store(portal.store.path), fixed_clock(TODAY)).init_organization("Other Studio", "boss@other.example")
    refused(portal, RuleViolation, portal.quote_assign, ADMIN, aid, "boss@other.example", match="another organization")
    portal.set_status(ADMIN, BOB, "inactive")
    refused(portal, RuleViolation, portal.quote_assign, ADMIN, aid, BOB, match="inactive")


def test_assign_confirmed_before_the_recipient_was_invited_elsewhere_is_stale(portal, bank):
    """The quote said "will be invited"; meanwhile another admin invited them: a fresh quote, nothing written."""
    member(portal)
    [lic] = make(portal, bank, months=3, email=ANA)
    aid = lic["activation_id"]
    portal.return_license(ADMIN, aid, ANA)
    quote = portal.quote_assign(ADMIN, aid, BOB)
    assert quote["invites"]
    portal.invite(ADMIN, BOB)
    before = file_bytes(portal)
    with pytest.raises(StaleQuote) as info:
        portal.assign_license(ADMIN, aid, BOB, expected=quote)
    assert file_bytes(portal) == before
    assert info.value.fresh == {**quote, "invites": False}


# -- §4 export -----------------------------------------------------------------------
def test_export_has_the_spec_columns_and_every_license(portal, bank):
    member(portal)
    [expiring] = make(portal, bank, months=1, email=ANA)
    [returned] = make(portal, bank, months=3, email=ANA)
    [active] = make(portal, bank, type="multiseat", quantity=2, months=4, email=ANA)
    portal.return_license(ADMIN, returned["activation_id"], ANA)
    later = at(portal, "2027-01-05")
    text = later.export_csv(ADMIN)
    reader = list(csv.reader(io.StringIO(text)))
    assert reader[0] == [
        "activation_id", "product", "type", "computers", "assignee", "start", "expires_on", "status",
        "credits_used", "bank", "bank_start", "bank_expires_on",
    ] == CSV_COLUMNS
    rows = {r[0]: dict(zip(reader[0], r)) for r in reader[1:]}
    assert len(rows) == 3
    assert rows[expiring["activation_id"]]["status"] == "expired"
    assert rows[returned["activation_id"]]["status"] == "returned"
    assert rows[returned["activation_id"]]["assignee"] == ""
    a = rows[active["activation_id"]]
    assert (a["status"], a["type"], a["computers"], a["assignee"], a["credits_used"]) == ("active", "multiseat", "2", ANA, "8")
    assert (a["start"], a["expires_on"], a["bank"], a["bank_start"], a["bank_expires_on"]) == (
        "2026-11-23", "2027-03-23", bank["id"], "2026-11-01", "2027-05-01")


@pytest.mark.parametrize("bad", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_export_neutralises_formula_cells(portal, bad):
    b = add_bank(portal, product=bad)
    email = f"{bad[0]}cmd@example.com" if bad[0] != "@" else ADMIN  # an email cannot start with @
    [lic] = make(portal, b, email=email)
    reader = list(csv.DictReader(io.StringIO(portal.export_csv(ADMIN))))
    [row] = reader
    assert row["product"] == "'" + bad
    assert row["assignee"] == (("'" + email) if email != ADMIN else ADMIN)
    assert row["activation_id"] == lic["activation_id"]  # ordinary cells are untouched


@pytest.mark.parametrize("cell", ["=1", "+1", "-1", "@x", "\tx", "\rx"])
def test_neutralise_cell_catches_every_formula_prefix(cell):
    assert neutralise_cell(cell) == "'" + cell
    assert neutralise_cell("ana" + cell) == "ana" + cell


def test_export_is_for_admins_only(portal, bank):
    member(portal)
    make(portal, bank, email=ANA)
    with pytest.raises(PermissionDenied):
        portal.export_csv(ANA)


# -- absurd input is refused or capped, never a crash ---------------------------------------
def test_huge_month_counts_are_capped_by_the_bank_not_a_crash(portal, bank):
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=100_000_000, quantity=1, start=TODAY, email=ADMIN)
    assert (q.expires_on, q.cut_by_bank, q.months_charged, q.credits) == (D("2027-05-01"), True, 6, 6)
    [lic] = make(portal, bank, months=1)
    rq = portal.quote_renew(ADMIN, lic["activation_id"], months=100_000_000)
    assert (rq.expires_after, rq.cut_by_bank, rq.credits) == (D("2027-05-01"), True, 5)


@pytest.mark.parametrize("credits", [10**30, 2**63])
def test_credit_amounts_beyond_any_order_are_refused(portal, credits):
    e = refused(portal, InvalidInput, portal.add_bank, VENDOR, organization=ORG, product=PRODUCT, credits=credits,
                start="2026-11-01", expires_on="2027-05-01")
    assert "at most" in str(e)
    assert portal.list_banks(ADMIN) == []


def test_another_organizations_admin_cannot_touch_our_licenses(portal, bank):
    member(portal)
    [lic] = make(portal, bank, months=2, email=ANA)
    aid = lic["activation_id"]
    other = Portal(open_store(portal.store.path), fixed_clock(TODAY))
    other.init_organization("Other Studio", "boss@other.example")
    boss = "boss@other.example"
    refused(other, PortalError, other.quote_renew, boss, aid, months=1)
    refused(other, PortalError, other.return_license, boss, aid, ANA)
    refused(other, PortalError, other.assign_license, boss, aid, boss)
    assert other.list_licenses(boss) == [] and other.list_banks(boss) == []
    assert other.export_csv(boss).strip().splitlines() == [",".join(CSV_COLUMNS)]
    assert other.activity(boss)[0]["action"] == "org-create" and len(other.activity(boss)) == 1


def test_quote_return_runs_every_return_rule_and_writes_nothing(portal, bank):
    from tests.conftest import ADMIN, TODAY

    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=1, start=TODAY,
                                  email="ana@lumenfox.studio")
    aid = portal.generate(ADMIN, quote)[0]["activation_id"]
    before = store_bytes(portal.store.path)
    assert portal.quote_return(ADMIN, aid, "ANA@lumenfox.studio")["activation_id"] == aid
    refused(portal, RuleViolation, portal.quote_return, ADMIN, aid, "bob@lumenfox.studio", match="not assigned to")
    assert store_bytes(portal.store.path) == before


# -- what a license allows: the reasons the commits give, asked beforehand ---------------
def _refusal_of(call) -> str | None:
    try:
        call()
    except RuleViolation as exc:
        return str(exc)
    return None


def test_license_actions_give_the_commits_own_refusal_for_each_action(portal, bank):
    """For every state a license can be in, license_actions says available exactly when the
    commit's quote goes through, and otherwise gives the very sentence the quote refuses with."""
    member(portal)
    [active] = make(portal, bank, months=2, email=ANA)
    [returned] = make(portal, bank, months=2, email=ANA)
    portal.return_license(ADMIN, returned["activation_id"], ANA)
    [at_bank_end] = make(portal, bank, months=12, email=ANA)
    [scheduled] = make(portal, bank, months=1, email=ANA, start="2026-12-10")
    [short] = make(portal, bank, months=1, email=ANA)
    stiff = add_bank(portal, product_version="24.0")
    [old_version] = make(portal, stiff, months=2, email=ANA)
    later = at(portal, "2026-12-23")  # `short` has expired that day
    cases = [(portal, active), (portal, returned), (portal, at_bank_end), (portal, scheduled), (portal, old_version),
             (later, short)]
    seen = set()
    for p, lic in cases:
        aid = lic["activation_id"]
        before = file_bytes(p)
        actions = p.license_actions(ADMIN, aid)
        assert file_bytes(p) == before, "asking what is possible writes nothing"
        assert set(actions) == {"renew", "return", "assign"}
        assert actions["renew"] == _refusal_of(lambda: p.quote_renew(ADMIN, aid, months=1)), aid
        assert actions["return"] == _refusal_of(lambda: p.quote_return(ADMIN, aid, ANA)), aid
        assert actions["assign"] == _refusal_of(lambda: p.quote_assign(ADMIN, aid, BOB)), aid
        row = license_row(p, aid)
        assert p.license_row_actions(row) == actions, "a listed row gets the same answer without a read"
        seen.add(tuple(v is None for v in actions.values()))
    assert len(seen) >= 4, "the cases cover different answers"
    actions = portal.license_actions(ADMIN, active["activation_id"])
    assert actions["renew"] is None and actions["return"] is None and "return it first" in actions["assign"]


def test_a_returned_license_cannot_be_renewed_until_it_is_assigned(portal, bank):
    member(portal)
    [lic] = make(portal, bank, months=2, email=ANA)
    aid = lic["activation_id"]
    portal.return_license(ADMIN, aid, ANA)
    e = refused(portal, RuleViolation, portal.quote_renew, ADMIN, aid, months=1)
    assert "assign it to a member first" in str(e)
    assert portal.license_actions(ADMIN, aid)["renew"] == str(e)
    portal.assign_license(ADMIN, aid, BOB)
    assert portal.license_actions(ADMIN, aid)["renew"] is None
    portal.renew(ADMIN, portal.quote_renew(ADMIN, aid, months=1))
    assert license_row(portal, aid)["expires_on"] == "2027-02-23"


def test_a_multiseat_at_its_banks_expiry_may_still_raise_its_computers(portal, bank):
    [lic] = make(portal, bank, type="multiseat", quantity=2, months=12)  # capped at the bank's expiry
    aid = lic["activation_id"]
    assert portal.license_actions(ADMIN, aid)["renew"] is None
    assert portal.quote_renew(ADMIN, aid, months=0, computers=3).computers_after == 3
    refused(portal, RuleViolation, portal.quote_renew, ADMIN, aid, months=1, match="bank's expiry")


def test_license_actions_of_another_organizations_license_is_not_found(portal, bank):
    [lic] = make(portal, bank, months=1)
    portal.init_organization("Other Studio", "boss@other.example")
    refused(portal, NotFound, portal.license_actions, "boss@other.example", lic["activation_id"])
    member(portal)
    with pytest.raises(PermissionDenied):  # a regular user: refused (and the refusal logged, as every one)
        portal.license_actions(ANA, lic["activation_id"])


# -- a renewal follows the previous settings (seed 000) ---------------------------------
def test_renewal_defaults_to_the_licenses_current_term(portal, bank):
    [one] = make(portal, bank, months=1)  # until 2026-12-23
    q = portal.quote_renew(ADMIN, one["activation_id"])
    assert (q.months, q.term_months, q.expires_after) == (1, 1, D("2027-01-23"))
    assert ("Months", "1 (the license's current term)") in q.lines()
    [three] = make(portal, bank, months=3)
    assert portal.quote_renew(ADMIN, three["activation_id"]).months == 3
    portal.renew(ADMIN, portal.quote_renew(ADMIN, three["activation_id"], months=1))
    assert license_row(portal, three["activation_id"])["term_months"] == 1  # the months last asked, kept
    q = portal.quote_renew(ADMIN, three["activation_id"])
    assert q.months == 1 and q.expires_after == D("2027-04-23")  # 2027-02-23 + 1 + 1
    other = portal.quote_renew(ADMIN, three["activation_id"], months=2)
    assert ("Months", "2 (its current term is 1)") in other.lines()


def test_renewal_default_for_a_license_written_before_terms_were_kept(portal, bank):
    [lic] = make(portal, bank, months=2)
    with portal.store.transaction() as db:  # as an older ELP wrote it: no term_months
        doc = db.get("licenses", activation_id=lic["activation_id"])
        db.update("licenses", {k: v for k, v in doc.items() if k != "term_months"} | {"term_months": None},
                  activation_id=lic["activation_id"])
    assert portal.quote_renew(ADMIN, lic["activation_id"]).months == 2  # the months its dates cover
    assert portal.license_term(license_row(portal, lic["activation_id"])) == 2  # what the Renew form proposes
    assert portal.check() == []


def test_multiseat_at_its_banks_expiry_defaults_to_computers_only(portal, bank):
    [lic] = make(portal, bank, type="multiseat", quantity=2, months=12)  # capped at the bank's expiry
    q = portal.quote_renew(ADMIN, lic["activation_id"], computers=3)
    assert (q.months, q.computers_after) == (0, 3)
    assert ("Months", "0 (computers only)") in q.lines()
