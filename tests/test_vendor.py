"""The vendor's side (issue 10): what only the vendor's staff may do, and the life of a request.

Organization admins can no longer grant themselves credits or seats; the vendor grants them and
they show on the organization's pages. A request is requested, then granted (the bank's granted
credits or the pool's seats rise in the very commit that closes it) or declined (why); it is
answered once. Every refusal leaves the store byte for byte as it was.
"""

from __future__ import annotations

import random

import pytest

from elp_tui.portal import InvalidInput, NotFound, Portal, PermissionDenied, RuleViolation, VendorRequired, fixed_clock
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY, VENDOR, VENDOR_EMAIL
from tests.helpers import (
    ORG, cli_env, file_bytes, grant_bank, grant_seats, only_refusal_logged, refused, store_bytes, store_tables,  # noqa: F401
)
from tests.test_store_files import all_at_once

PRODUCT = "Quillstone Animate"
SEATS = "Frameloop Teams"
ANA = "ana@lumenfox.studio"
BOSS = "boss@otter.example"
OTHER_ORG = "otter-works"


def other_org(portal: Portal) -> Portal:
    other = Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(5))
    other.init_organization("Otter Works", BOSS)
    return other


def generation(portal: Portal) -> int:
    """How many commits the store has seen."""
    return store_tables(portal.store.path)["_meta"]["1"]["generation"]


def answers(portal: Portal) -> list[dict]:
    return [m for m in store_tables(portal.store.path)["outbox"].values() if m["kind"] == "answer"]


def bank_row(portal: Portal, bank_id: str) -> dict:
    return next(b for b in portal.list_banks(ADMIN) if b["id"] == bank_id)


# -- granting: the vendor's, never an admin's -----------------------------------------------------
def test_an_admins_banks_add_and_seats_add_are_refused_and_logged(portal):
    for call, operation in (
        (lambda: portal.add_bank(ADMIN, organization=ORG, product=PRODUCT, credits=500, start="2026-11-01",
                                 expires_on="2027-11-01"), "add_bank"),
        (lambda: portal.add_seats(ADMIN, ORG, SEATS, 50), "add_seats"),
    ):
        before = store_tables(portal.store.path)
        with pytest.raises(VendorRequired, match="only the vendor grants credits and seats"):
            call()
        entry = only_refusal_logged(before, store_tables(portal.store.path), ADMIN, operation)
        assert entry["details"] == "vendor operation refused: admin"
    assert portal.list_banks(ADMIN) == [] and portal.seats_overview(ADMIN) == []
    assert [e["action"] for e in portal.activity(ADMIN)][:2] == ["refused", "refused"]  # the admin sees both


def test_the_vendors_grants_show_on_the_organizations_pages(portal):
    bank = portal.add_bank(VENDOR, organization=ORG, product=PRODUCT, credits=80, start="2026-11-01",
                           expires_on="2027-11-01", product_version="25.1", portable=True)
    pool = portal.add_seats(VENDOR, "Lumenfox Studios", SEATS, 6)  # by name works too
    assert [(b["id"], b["credits_granted"], b["remaining"], b["portable"]) for b in portal.list_banks(ADMIN)] == [
        (bank["id"], 80, 80, True)]
    assert [(p["id"], p["purchased"], p["unused"]) for p in portal.seats_overview(ADMIN)] == [(pool["id"], 6, 6)]
    assert portal.add_seats(VENDOR, ORG, SEATS, 4)["purchased"] == 10  # more seats in the same pool
    log = portal.activity(ADMIN)
    assert [(e["action"], e["actor"], e["credits"], e["seats"]) for e in log[:3]] == [
        ("seats-add", VENDOR, 0, 4), ("seats-add", VENDOR, 0, 6), ("bank-add", VENDOR, 80, 0)]


def test_a_grant_to_an_unknown_organization_is_refused(portal):
    refused(portal, NotFound, portal.add_bank, VENDOR, organization="nobody-inc", product=PRODUCT, credits=5,
            start="2026-11-01", expires_on="2027-01-01", match="No organization")
    refused(portal, InvalidInput, portal.add_seats, VENDOR, "  ", SEATS, 5, match="--org")


def test_the_vendor_lists_every_organization(portal, bank):
    other = other_org(portal)
    grant_seats(other, SEATS, 3, org=OTHER_ORG)
    portal.request_credits(ADMIN, bank["id"], 10)
    rows = portal.list_organizations(VENDOR)
    assert [(o["id"], o["banks"], o["pools"], o["open_requests"], o["admins"]) for o in rows] == [
        (ORG, 1, 0, 1, [ADMIN]), (OTHER_ORG, 0, 1, 0, [BOSS])]


def test_vendor_staff_are_set_up_once_then_added_by_staff(portal):
    refused(portal, RuleViolation, portal.setup_vendor, "Evil", "evil@example.com", "evil@example.com",
            match="already set up")
    refused(portal, RuleViolation, portal.add_vendor_staff, VENDOR, ADMIN, match="member of an organization")
    portal.add_vendor_staff(VENDOR, "second@quillstone.example.com")
    assert portal.list_organizations("second@quillstone.example.com")[0]["id"] == ORG
    refused(portal, RuleViolation, portal.add_vendor_staff, VENDOR, "second@quillstone.example.com", match="already")
    settings = portal.update_vendor(VENDOR, email="grants@quillstone.example.com", feed="https://feed.example.com/q")
    assert (settings["email"], settings["feed"]) == ("grants@quillstone.example.com", "https://feed.example.com/q")
    refused(portal, InvalidInput, portal.update_vendor, VENDOR, feed="file:///etc/passwd", match="http")
    # an invitation to the vendor's staff address is refused: they belong to no organization
    refused(portal, RuleViolation, portal.invite, ADMIN, VENDOR)


def test_requests_go_to_the_vendor_named_in_the_store(portal, bank):
    portal.update_vendor(VENDOR, email="grants@quillstone.example.com")
    portal.request_credits(ADMIN, bank["id"], 10)
    [mail] = [m for m in store_tables(portal.store.path)["outbox"].values() if m["kind"] == "request"]
    assert mail["to"] == "grants@quillstone.example.com" and mail["organization"] == ORG
    assert portal.vendor_contact(ADMIN, PRODUCT) == {"name": "Quillstone", "email": "grants@quillstone.example.com"}


def test_a_request_with_no_vendor_set_up_is_refused_saying_who_must_act(store_path):
    portal = Portal(Store(store_path), fixed_clock(TODAY))
    portal.init_organization("Lumenfox Studios", ADMIN)
    with portal.store.transaction() as db:  # a bank from before the vendor side: no vendor in the store
        db.insert("banks", {"id": "BK-0001", "organization": ORG, "product": PRODUCT, "credits_requested": 5,
                            "credits_granted": 5, "start": "2026-11-01", "expires_on": "2027-05-01",
                            "product_version": None, "portable": False})
    refused(portal, RuleViolation, portal.quote_request_credits, ADMIN, "BK-0001", 5, match="elp vendor setup")
    refused(portal, RuleViolation, portal.request_credits, ADMIN, "BK-0001", 5, match="elp vendor setup")


# -- the life of a request ----------------------------------------------------------------------
def test_a_grant_raises_the_bank_in_the_commit_that_closes_the_request(portal, bank):
    portal.invite(ADMIN, "second-admin@lumenfox.studio", "admin")
    portal.sign_in("second-admin@lumenfox.studio")
    request = portal.request_credits(ADMIN, bank["id"], 40)
    assert (bank_row(portal, bank["id"])["credits_requested"], bank_row(portal, bank["id"])["credits_granted"]) == (140, 100)
    assert [r["state"] for r in portal.vendor_requests(VENDOR)] == ["requested"]
    commits = generation(portal)
    closed = portal.grant_request(VENDOR, request["id"])
    assert generation(portal) == commits + 1  # one commit: the request, the bank, the log, the mail
    assert (closed["state"], closed["granted"], closed["granted_target"], closed["answered_by"]) == (
        "granted", 40, bank["id"], VENDOR)
    row = bank_row(portal, bank["id"])
    assert (row["credits_granted"], row["credits_requested"], row["remaining"]) == (140, 140, 140)
    [entry] = [e for e in portal.activity(ADMIN) if e["action"] == "request-granted"]
    assert (entry["actor"], entry["credits"], entry["target"]) == (VENDOR, 40, bank["id"])
    assert sorted(m["to"] for m in answers(portal)) == [ADMIN, "second-admin@lumenfox.studio"]
    assert portal.vendor_requests(VENDOR) == []  # no longer open
    assert [(r["id"], r["state"]) for r in portal.vendor_requests(VENDOR, open_only=False)] == [(request["id"], "granted")]
    assert portal.check() == []


def test_a_partial_grant_to_another_bank_moves_the_requested_figures(portal, bank):
    later = grant_bank(portal, product=PRODUCT, credits=50, start="2026-12-01", expires_on="2027-12-01")
    request = portal.request_credits(ADMIN, bank["id"], 40)
    portal.grant_request(VENDOR, f"#{request['id']}", amount=25, target=later["id"].lower())
    first, second = bank_row(portal, bank["id"]), bank_row(portal, later["id"])
    assert (first["credits_granted"], first["credits_requested"]) == (100, 100)  # the request left it
    assert (second["credits_granted"], second["credits_requested"]) == (75, 75)
    assert portal.list_requests(ADMIN)[0]["granted_target"] == later["id"]


def test_a_declined_request_says_why_and_lowers_what_is_requested(portal, bank):
    request = portal.request_credits(ADMIN, bank["id"], 30)
    closed = portal.decline_request(VENDOR, request["id"], "Your banks cover this year's use")
    assert (closed["state"], closed["reason"], closed["granted"]) == ("declined", "Your banks cover this year's use", None)
    row = bank_row(portal, bank["id"])
    assert (row["credits_granted"], row["credits_requested"]) == (100, 100)
    [mail] = answers(portal)
    assert mail["to"] == ADMIN and "declined" in mail["body"]
    refused(portal, InvalidInput, portal.decline_request, VENDOR, request["id"], "   ", match="Say why")


def test_a_seat_request_granted_raises_the_pool(portal):
    grant_seats(portal, SEATS, 3)
    request = portal.request_seats(ADMIN, SEATS, 5)
    assert portal.seats_overview(ADMIN)[0]["purchased"] == 3  # nothing moves until the vendor grants
    portal.grant_request(VENDOR, request["id"])
    assert portal.seats_overview(ADMIN)[0]["purchased"] == 8
    [entry] = [e for e in portal.activity(ADMIN) if e["action"] == "request-granted"]
    assert (entry["seats"], entry["credits"]) == (5, 0)


def test_a_request_is_answered_once(portal, bank):
    first = portal.request_credits(ADMIN, bank["id"], 10)
    second = portal.request_credits(ADMIN, bank["id"], 20)
    portal.grant_request(VENDOR, first["id"])
    portal.decline_request(VENDOR, second["id"], "no")
    for request in (first, second):
        refused(portal, RuleViolation, portal.grant_request, VENDOR, request["id"], match="already")
        refused(portal, RuleViolation, portal.decline_request, VENDOR, request["id"], "again", match="already")
    refused(portal, NotFound, portal.grant_request, VENDOR, 99, match="No request #99")
    refused(portal, InvalidInput, portal.grant_request, VENDOR, "twelve")


def test_a_grant_to_the_wrong_bank_or_pool_is_refused_and_changes_nothing(portal, bank):
    other = other_org(portal)
    theirs = grant_bank(other, org=OTHER_ORG, product=PRODUCT, credits=5, start="2026-11-01", expires_on="2027-05-01")
    storyboard = grant_bank(portal, product="Quillstone Storyboard", credits=5, start="2026-11-01", expires_on="2027-05-01")
    expired = grant_bank(portal, product=PRODUCT, credits=5, start="2025-11-01", expires_on="2026-11-01")
    grant_seats(portal, SEATS, 2)
    grant_seats(portal, "Other Seats", 2)
    credits = portal.request_credits(ADMIN, bank["id"], 10)
    seats = portal.request_seats(ADMIN, SEATS, 1)
    other_pool = next(p["id"] for p in portal.seats_overview(ADMIN) if p["product"] == "Other Seats")
    for target, error, says in (
        (theirs["id"], RuleViolation, "another organization"),
        (storyboard["id"], RuleViolation, "is for Quillstone Storyboard"),
        (expired["id"], RuleViolation, "expired on 2026-11-01"),
        ("BK-0404", NotFound, "No bank"),
    ):
        refused(portal, error, portal.grant_request, VENDOR, credits["id"], target=target, match=says)
    refused(portal, RuleViolation, portal.grant_request, VENDOR, seats["id"], target=other_pool, match="is for Other Seats")
    refused(portal, InvalidInput, portal.grant_request, VENDOR, credits["id"], amount=0, match="at least 1")
    assert all(r["state"] == "requested" for r in portal.list_requests(ADMIN))


def test_an_expired_bank_cannot_take_a_grant_until_it_is_extended(portal, bank):
    request = portal.request_credits(ADMIN, bank["id"], 10)
    later = Portal(Store(portal.store.path), fixed_clock("2027-05-02"))
    refused(later, RuleViolation, later.grant_request, VENDOR, request["id"], match="expired on 2027-05-01")
    later.top_up_bank(VENDOR, bank["id"], expires_on="2027-08-01")
    assert later.grant_request(VENDOR, request["id"])["state"] == "granted"


def test_the_admins_see_their_requests_newest_first_and_only_theirs(portal, bank):
    other = other_org(portal)
    theirs = grant_bank(other, org=OTHER_ORG, product=PRODUCT, credits=5, start="2026-11-01", expires_on="2027-05-01")
    other.request_credits(BOSS, theirs["id"], 3)
    first = portal.request_credits(ADMIN, bank["id"], 10)
    second = portal.request_credits(ADMIN, bank["id"], 20)
    portal.decline_request(VENDOR, first["id"], "no")
    mine = portal.list_requests(ADMIN)
    assert [(r["id"], r["state"], r["amount"]) for r in mine] == [(second["id"], "requested", 20), (first["id"], "declined", 10)]
    assert [r["organization"] for r in portal.vendor_requests(VENDOR)] == [ORG, OTHER_ORG]


def test_two_vendor_staff_granting_one_request_at_once_grant_it_once(portal, bank, store_path, tmp_path, cli_env):
    portal.add_vendor_staff(VENDOR, "second@quillstone.example.com")
    request = portal.request_credits(ADMIN, bank["id"], 30)
    runs = all_at_once(tmp_path, 2, "--store", str(store_path), "--as", VENDOR, "vendor", "grant", str(request["id"]), "--yes")
    runs += all_at_once(tmp_path, 2, "--store", str(store_path), "--as", "second@quillstone.example.com", "vendor",
                        "grant", str(request["id"]), "--yes")
    codes = sorted(r.returncode for r in runs)
    assert codes == [0, 1, 1, 1], [r.stderr for r in runs]
    assert sum("already granted" in r.stderr for r in runs) == 3
    fresh = Portal(Store(store_path), fixed_clock(TODAY))
    assert bank_row(fresh, bank["id"])["credits_granted"] == 130  # raised once
    assert len([e for e in fresh.activity(ADMIN) if e["action"] == "request-granted"]) == 1
    assert len(answers(fresh)) == 1 and fresh.check() == []


# -- top-ups and builds -------------------------------------------------------------------------
def test_a_top_up_adds_credits_and_moves_the_expiry(portal, bank):
    row = portal.top_up_bank(VENDOR, bank["id"], credits=50)
    assert (row["credits_granted"], row["credits_requested"], row["remaining"]) == (150, 150, 150)
    row = portal.top_up_bank(VENDOR, bank["id"].lower(), expires_on="2027-09-01")
    assert row["expires_on"] == "2027-09-01"
    [entry, before] = [e for e in portal.activity(ADMIN) if e["action"] == "bank-topup"]
    assert (entry["credits"], before["credits"]) == (0, 50) and "expiry 2027-05-01 -> 2027-09-01" in entry["details"]


def test_a_top_up_never_cuts_a_license_short(portal, bank):
    portal.generate(ADMIN, portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=3, quantity=1,
                                                 start=TODAY, email=ANA))
    refused(portal, RuleViolation, portal.top_up_bank, VENDOR, bank["id"], expires_on="2027-01-01",
            match="runs until 2027-02-23")
    assert portal.top_up_bank(VENDOR, bank["id"], expires_on="2027-02-23")["expires_on"] == "2027-02-23"
    refused(portal, InvalidInput, portal.top_up_bank, VENDOR, bank["id"], expires_on="2026-10-01", match="must expire after")
    refused(portal, InvalidInput, portal.top_up_bank, VENDOR, bank["id"], match="Say what to top up")
    refused(portal, InvalidInput, portal.top_up_bank, VENDOR, bank["id"], credits=-5)
    refused(portal, NotFound, portal.top_up_bank, VENDOR, "BK-0404", credits=5)
    expired = grant_bank(portal, product=PRODUCT, credits=5, start="2025-11-01", expires_on="2026-11-01")
    refused(portal, RuleViolation, portal.top_up_bank, VENDOR, expired["id"], credits=5, match="lost at once")
    assert portal.top_up_bank(VENDOR, expired["id"], credits=5, expires_on="2027-01-01")["remaining"] == 10


def test_a_build_published_by_the_vendor_is_offered_to_the_organizations(portal, bank):
    portal.add_build(VENDOR, PRODUCT, "26.0", "2026-11-20", {"linux": "https://downloads.example/26.0/linux"})
    [product] = portal.list_versions(ADMIN)
    assert [(b["version"], b["downloads"]) for b in product["builds"]] == [
        ("26.0", {"linux": "https://downloads.example/26.0/linux"})]
    refused(portal, RuleViolation, portal.add_build, VENDOR, PRODUCT, "26.0", "2026-11-21", match="already has a build")
    refused(portal, NotFound, portal.add_build, VENDOR, "Unknown Product", "1.0", "2026-11-21", match="No product")
    refused(portal, InvalidInput, portal.add_build, VENDOR, PRODUCT, "26.1", "2026-11-21",
            {"linux": "javascript:alert(1)"}, match="http")
    refused(portal, InvalidInput, portal.add_build, VENDOR, PRODUCT, "26.1", "2026-11-21", {"beos": "https://x.example"})
    refused(portal, InvalidInput, portal.add_build, VENDOR, PRODUCT, "v26", "2026-11-21")


def test_the_vendors_staff_have_no_organization_pages(portal, bank):
    before = file_bytes(portal)
    for call in (portal.list_banks, portal.list_requests, portal.activity, portal.my_licenses):
        with pytest.raises(PermissionDenied, match="on the vendor's team"):
            call(VENDOR)
    assert file_bytes(portal) == before
