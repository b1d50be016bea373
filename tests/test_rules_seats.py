"""SPEC.md §7: seat pools and teams — seat states, joining, leaving, freeing, requesting."""

from __future__ import annotations

import random

import pytest

from elp_tui.portal import InvalidInput, NotFound, Portal, RuleViolation, fixed_clock
from elp_tui.store import Store, open_store

from tests.conftest import ADMIN, TODAY
from tests.helpers import refused
from tests.helpers import ORG, grant_bank, grant_seats
from tests.conftest import VENDOR

SKETCH = "Quillstone Sketch"
VENDOR_MAIL = "enterprise@quillstone.example.com"  # where requests to the vendor go
NEW = "new.artist@lumenfox.studio"
ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"


def pool(portal: Portal, product: str = SKETCH) -> dict:
    row = next(p for p in portal.seats_overview(ADMIN) if p["product"] == product)
    # the consumption bar always adds up to what was purchased
    assert row["active"] + row["pending"] + row["unassigned"] + row["unused"] == row["purchased"]
    assert row["unused"] >= 0
    return row


def counts(portal: Portal) -> tuple[int, int, int, int]:
    row = pool(portal)
    return row["active"], row["pending"], row["unassigned"], row["unused"]


def member(portal: Portal, email: str) -> str:
    portal.invite(ADMIN, email)
    portal.sign_in(email)
    return email


def outbox(portal: Portal) -> list[dict]:
    return list(portal.store.tables().get("outbox", {}).values())


@pytest.fixture
def seats(portal) -> Portal:
    """A Sketch pool of 3 seats with teams Story and Layout."""
    grant_seats(portal, SKETCH, 3)
    portal.create_team(ADMIN, "Story", SKETCH)
    portal.create_team(ADMIN, "Layout", SKETCH)
    return portal


def test_new_pool_is_all_unused(seats):
    row = pool(seats)
    assert (row["purchased"], row["active"], row["pending"], row["unassigned"], row["unused"]) == (3, 0, 0, 0, 3)
    assert [t["name"] for t in row["teams"]] == ["Layout", "Story"]


def test_seat_states_through_invite_sign_in_leave_rejoin_delete(seats):
    # invited to a team: pending, takes an unused seat, invitation sent
    seats.team_add(ADMIN, "Story", NEW)
    assert counts(seats) == (0, 1, 0, 2)
    assert {u["email"]: u["status"] for u in seats.list_users(ADMIN)}[NEW] == "invited"
    subjects = [m["subject"] for m in outbox(seats) if m["to"] == NEW]
    assert any("invited" in s for s in subjects) and any("Story" in s for s in subjects)
    assert seats.activity(ADMIN)[0]["seats"] == 1

    # first sign-in: active
    seats.sign_in(NEW)
    assert counts(seats) == (1, 0, 0, 2)

    # a second team does not take a second seat
    seats.team_add(ADMIN, "Layout", NEW)
    assert counts(seats) == (1, 0, 0, 2)
    assert seats.activity(ADMIN)[0]["seats"] == 0

    # leaving one team of two: still active
    seats.team_remove(ADMIN, "Story", NEW)
    assert counts(seats) == (1, 0, 0, 2)
    # leaving every team: unassigned, still holds the seat
    seats.team_remove(ADMIN, "Layout", NEW)
    assert counts(seats) == (0, 0, 1, 2)
    assert pool(seats)["unassigned_members"] == [NEW]

    # rejoining reuses their own seat: unused unchanged
    seats.team_add(ADMIN, "Story", NEW)
    assert counts(seats) == (1, 0, 0, 2)
    entry = seats.activity(ADMIN)[0]
    assert entry["action"] == "team-add" and entry["seats"] == 0 and "reuses" in entry["details"]

    # deleting the member from the organization returns the seat to the pool
    seats.delete_user(ADMIN, NEW)
    assert counts(seats) == (0, 0, 0, 3)
    assert all(NEW not in [m["email"] for m in t["members"]] for t in pool(seats)["teams"])
    assert seats.activity(ADMIN)[0]["seats"] == -1
    assert seats.check() == []


def test_pending_member_who_leaves_every_team_is_unassigned(seats):
    seats.team_add(ADMIN, "Story", NEW)
    seats.team_remove(ADMIN, "Story", NEW)
    assert counts(seats) == (0, 0, 1, 2)


def test_joining_with_no_unused_seat_is_refused_saying_how_to_free_or_buy(seats):
    for email in (ANA, BOB, NEW):
        seats.team_add(ADMIN, "Story", email)
    assert counts(seats)[3] == 0
    e = refused(seats, RuleViolation, seats.team_add, ADMIN, "Layout", "late@lumenfox.studio")
    message = str(e)
    assert "No unused seat" in message
    assert "deleting a member" in message and "request more seats" in message
    assert "late@lumenfox.studio" not in [u["email"] for u in seats.list_users(ADMIN)]  # not invited either
    # a member who already holds a seat can still join another team
    seats.team_add(ADMIN, "Layout", ANA)
    assert counts(seats)[3] == 0


def test_an_unassigned_member_keeps_their_seat_when_the_pool_is_full(seats):
    for email in (ANA, BOB, NEW):
        seats.team_add(ADMIN, "Story", email)
    seats.team_remove(ADMIN, "Story", ANA)
    # the freed team place does not free a seat: the pool is still full
    refused(seats, RuleViolation, seats.team_add, ADMIN, "Layout", "late@lumenfox.studio")
    seats.team_add(ADMIN, "Layout", ANA)  # reuses their own seat
    assert counts(seats) == (0, 3, 0, 0)


def test_transfer_is_delete_then_invite(seats):
    for email in (ANA, BOB, NEW):
        member(seats, email)
        seats.team_add(ADMIN, "Story", email)
    assert counts(seats) == (3, 0, 0, 0)
    seats.delete_user(ADMIN, BOB)
    assert counts(seats) == (2, 0, 0, 1)
    seats.team_add(ADMIN, "Story", "carol@lumenfox.studio")
    assert counts(seats) == (2, 1, 0, 0)
    assert seats.check() == []


def test_buying_seats_makes_room(seats):
    for email in (ANA, BOB, NEW):
        seats.team_add(ADMIN, "Story", email)
    row = grant_seats(seats, SKETCH, 2)
    assert (row["purchased"], row["unused"]) == (5, 2)
    seats.team_add(ADMIN, "Story", "late@lumenfox.studio")
    assert counts(seats) == (0, 4, 0, 1)


def test_request_more_seats_emails_the_vendor_and_logs_it(seats):
    n = len(outbox(seats))
    seats.request_seats(ADMIN, SKETCH, 12)
    [mail] = outbox(seats)[n:]
    assert mail["to"] == VENDOR_MAIL and "12" in mail["subject"] and SKETCH in mail["subject"]
    entry = seats.activity(ADMIN)[0]
    assert (entry["action"], entry["actor"]) == ("seats-request", ADMIN) and "12" in entry["details"]
    assert pool(seats)["purchased"] == 3  # a request buys nothing yet
    requests = list(seats.store.tables()["requests"].values())
    assert [(r["kind"], r["amount"], r["product"]) for r in requests] == [("seats", 12, SKETCH)]
    refused(seats, InvalidInput, seats.request_seats, ADMIN, SKETCH, 0)
    refused(seats, NotFound, seats.request_seats, ADMIN, "Unknown Product", 3)


def test_team_membership_changes_are_checked(seats):
    seats.team_add(ADMIN, "Story", ANA)
    refused(seats, RuleViolation, seats.team_add, ADMIN, "Story", "ANA@lumenfox.studio", match="already")
    refused(seats, RuleViolation, seats.team_remove, ADMIN, "Layout", ANA, match="not in team")
    refused(seats, NotFound, seats.team_add, ADMIN, "Nope", BOB)
    refused(seats, RuleViolation, seats.create_team, ADMIN, "story", SKETCH, match="already exists")
    refused(seats, NotFound, seats.create_team, ADMIN, "Comp", "Unknown Product")
    refused(seats, InvalidInput, seats.create_team, ADMIN, "  ", SKETCH)
    refused(seats, InvalidInput, seats.add_seats, VENDOR, ORG, SKETCH, 0)


def test_a_member_of_another_organization_cannot_join_a_team(seats):
    other = Portal(open_store(seats.store.path), fixed_clock(TODAY), rng=random.Random(1))
    other.init_organization("Otter Works", "boss@otter.example")
    refused(seats, RuleViolation, seats.team_add, ADMIN, "Story", "boss@otter.example", match="another organization")
    # and the other organization sees neither our pool nor our teams
    assert other.seats_overview("boss@otter.example") == []
    refused(other, NotFound, other.team_add, "boss@otter.example", "Story", "x@otter.example")


def test_seats_and_credits_products_do_not_mix(seats):
    refused(seats, RuleViolation, seats.add_bank, VENDOR, organization=ORG, product=SKETCH, credits=5, start="2026-11-01", expires_on="2027-01-01")
    grant_bank(seats, product="Quillstone Animate", credits=5, start="2026-11-01", expires_on="2027-01-01")
    refused(seats, RuleViolation, seats.add_seats, VENDOR, ORG, "Quillstone Animate", 5)


def test_team_distribution_shows_members_and_their_states(seats):
    member(seats, ANA)
    seats.team_add(ADMIN, "Story", ANA)
    seats.team_add(ADMIN, "Story", NEW)
    seats.team_add(ADMIN, "Layout", ANA)
    teams = {t["name"]: t["members"] for t in seats.list_teams(ADMIN)}
    assert teams["Story"] == [{"email": ANA, "state": "active"}, {"email": NEW, "state": "pending"}]
    assert teams["Layout"] == [{"email": ANA, "state": "active"}]


def test_invited_member_deactivated_before_signing_in_stays_pending(portal):
    from tests.conftest import ADMIN

    grant_seats(portal, "Frameloop Teams", 3)
    portal.create_team(ADMIN, "Layout", "Frameloop Teams")
    portal.team_add(ADMIN, "Layout", "new@lumenfox.studio")
    portal.set_status(ADMIN, "new@lumenfox.studio", "inactive")
    pool = portal.seats_overview(ADMIN)[0]
    assert (pool["active"], pool["pending"], pool["unused"]) == (0, 1, 2)


def test_a_member_who_never_signed_in_stays_pending_whatever_the_status(seats):
    seats.team_add(ADMIN, "Story", NEW)
    seats.set_status(ADMIN, NEW, "inactive")
    seats.set_status(ADMIN, NEW, "active")  # never signed in: back to invited, not active
    assert {u["email"]: u["status"] for u in seats.list_users(ADMIN)}[NEW] == "invited"
    assert counts(seats) == (0, 1, 0, 2)
    # a user marked active without a first sign-in (a store from before this rule) is pending too
    with seats.store.transaction() as db:
        db.update("users", {"status": "active"}, lambda u: u["email"] == NEW)
    assert counts(seats) == (0, 1, 0, 2)
    assert [m["state"] for t in seats.list_teams(ADMIN) for m in t["members"]] == ["pending"]


def test_a_team_is_found_by_its_exact_id_before_any_name(seats):
    ids = {t["name"]: t["id"] for t in seats.list_teams(ADMIN)}
    # A team named like another team's ID (possible before names were checked) does not shadow it.
    with seats.store.transaction() as db:
        db.update("teams", {"name": ids["Layout"].lower()}, lambda t: t["id"] == ids["Story"])
    seats.team_add(ADMIN, ids["Layout"], ANA)  # the exact ID: Layout
    seats.team_add(ADMIN, ids["Layout"].lower(), BOB)  # not an ID: the name of the former Story
    members = {t["id"]: [m["email"] for m in t["members"]] for t in seats.list_teams(ADMIN)}
    assert members == {ids["Layout"]: [ANA], ids["Story"]: [BOB]}


def test_a_team_name_that_looks_like_a_team_id_is_refused(seats):
    for name in ("T-0002", "t-0002", "T-7", " t-42 "):
        refused(seats, InvalidInput, seats.create_team, ADMIN, name, SKETCH, match="looks like a team ID")
    seats.create_team(ADMIN, "T-Rex", SKETCH)
    seats.create_team(ADMIN, "Team 2", SKETCH)


def test_active_member_with_no_recorded_sign_in_becomes_active_seat_at_sign_in(portal):
    """A store where someone was made active without signing in: their first sign-in counts."""
    from elp_tui.portal.base import T_USERS
    from tests.conftest import ADMIN

    grant_seats(portal, "Frameloop Teams", 2)
    portal.create_team(ADMIN, "Layout", "Frameloop Teams")
    portal.team_add(ADMIN, "Layout", "legacy@lumenfox.studio")
    with portal.store.transaction() as db:
        db.update(T_USERS, {"status": "active", "signed_in_on": None}, email="legacy@lumenfox.studio")
    assert portal.seats_overview(ADMIN)[0]["pending"] == 1
    portal.sign_in("legacy@lumenfox.studio")
    pool = portal.seats_overview(ADMIN)[0]
    assert (pool["active"], pool["pending"]) == (1, 0)
    assert portal.check() == []


# -- a seat holder sees the product in My Assigned Licenses (issue 12) -------------------
def _sketch_builds(portal: Portal, versions: list[str]) -> None:
    """The vendor catalog's builds of Sketch (the vendor side has no admin operation for them)."""
    with portal.store.transaction() as db:
        db.update("products", {"builds": [
            {"version": v, "released": f"2026-0{i + 1}-15",
             "downloads": {"linux": f"https://downloads.example/sketch/{v}/linux"}}
            for i, v in enumerate(versions)
        ]}, name=SKETCH)


def test_a_seat_holder_sees_the_product_its_teams_and_the_allowed_builds(seats):
    _sketch_builds(seats, ["25.1", "25.2"])
    member(seats, ANA)
    member(seats, BOB)
    seats.team_add(ADMIN, "Story", ANA)
    seats.team_add(ADMIN, "Layout", ANA)
    assert seats.my_seats(BOB) == []  # no seat, nothing shown
    [seat] = seats.my_seats(ANA)
    assert (seat["product"], seat["teams"], seat["since"], seat["state"]) == (SKETCH, ["Layout", "Story"], TODAY.isoformat(), "active")
    assert [d["version"] for d in seat["downloads"]] == ["25.2", "25.1"]  # newest first
    seats.restrict(ADMIN, SKETCH, ["25.1"])
    assert [d["version"] for d in seats.my_seats(ANA)[0]["downloads"]] == ["25.1"]  # the allowed builds only
    seats.team_remove(ADMIN, "Story", ANA)
    seats.team_remove(ADMIN, "Layout", ANA)
    [seat] = seats.my_seats(ANA)
    assert (seat["teams"], seat["state"], seat["downloads"]) == ([], "unassigned", [])  # still held, in no team


def test_my_seats_shows_only_ones_own_organizations_seats(seats, portal):
    member(seats, ANA)
    seats.team_add(ADMIN, "Story", ANA)
    portal.init_organization("Other Studio", "boss@other.example")
    assert portal.my_seats("boss@other.example") == []
