"""The dashboard figures of the portal: credits per product, seat pools per team, 30-day alerts."""

from __future__ import annotations

import random

import pytest

from elp_tui.portal import PermissionDenied, Portal, fixed_clock
from elp_tui.portal.alerts import ALERT_WINDOW_DAYS, bank_expiring_soon
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.helpers import grant_bank, grant_seats

ANIMATE = "Quillstone Animate"
STORYBOARD = "Quillstone Storyboard"
SEATS = "Frameloop Teams"
ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"


def add_bank(portal: Portal, product: str, credits: int, start: str, expires_on: str) -> dict:
    return grant_bank(portal, product=product, credits=credits, start=start, expires_on=expires_on)


def generate(portal: Portal, bank: dict, *, quantity: int = 1, months: int = 1, email: str = ADMIN) -> list[dict]:
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=months, quantity=quantity, start=TODAY, email=email)
    return portal.generate(ADMIN, quote)


def test_remaining_credits_sum_valid_banks_only_and_nearest_expiry(portal):
    add_bank(portal, ANIMATE, 50, "2025-01-01", "2026-06-01")  # expired: its credits are lost, not counted
    far = add_bank(portal, ANIMATE, 100, "2026-11-01", "2027-11-01")
    near = add_bank(portal, ANIMATE, 30, "2026-11-01", "2027-03-01")
    generate(portal, far, quantity=4, months=2)  # 8 credits used

    products = portal.dashboard(ADMIN)["products"]
    assert [p["product"] for p in products] == [ANIMATE]
    animate = products[0]
    assert animate["remaining"] == 92 + 30
    assert animate["valid_banks"] == 2
    assert animate["nearest_expiry"] == "2027-03-01"
    assert animate["nearest_bank"] == near["id"]
    assert animate["nearest_remaining"] == 30  # that bank's own credits, not the product's 122
    assert animate["days_left"] == 98


def test_product_with_only_expired_banks_shows_zero_and_no_expiry(portal):
    add_bank(portal, STORYBOARD, 50, "2025-01-01", "2026-06-01")
    (storyboard,) = portal.dashboard(ADMIN)["products"]
    assert storyboard == {
        "product": STORYBOARD, "remaining": 0, "valid_banks": 0, "nearest_expiry": None,
        "nearest_bank": None, "nearest_remaining": None, "days_left": None, "credits_at_risk": 0,
    }


def test_bank_alerts_within_30_days_with_credits_left(portal):
    soon = add_bank(portal, STORYBOARD, 40, "2026-10-01", "2026-12-12")  # 19 days left
    edge = add_bank(portal, STORYBOARD, 5, "2026-10-01", "2026-12-23")  # exactly 30 days
    add_bank(portal, STORYBOARD, 5, "2026-10-01", "2026-12-24")  # 31 days: no alert yet
    empty = add_bank(portal, ANIMATE, 2, "2026-10-01", "2026-12-10")
    generate(portal, empty, quantity=2)  # nothing left to lose: no alert
    add_bank(portal, ANIMATE, 9, "2026-01-01", "2026-11-23")  # expired today: lost, no longer an alert
    generate(portal, soon, quantity=3)

    data = portal.dashboard(ADMIN)
    alerts = data["alerts"]["banks"]
    assert data["window_days"] == ALERT_WINDOW_DAYS == 30
    assert [(a["id"], a["remaining"], a["expires_on"], a["days_left"]) for a in alerts] == [
        (soon["id"], 37, "2026-12-12", 19),
        (edge["id"], 5, "2026-12-23", 30),
    ]
    storyboard = next(p for p in data["products"] if p["product"] == STORYBOARD)
    assert storyboard["credits_at_risk"] == 42
    assert storyboard["remaining"] == 47


def test_licenses_expiring_within_30_days_count_and_nearest_first(portal, bank):
    portal.invite(ADMIN, ANA)
    first = generate(portal, bank, quantity=7, months=1, email=ANA)  # expire 2026-12-23: 30 days
    generate(portal, bank, quantity=2, months=2)  # 2027-01-23: not within 30 days
    short = add_bank(portal, STORYBOARD, 10, "2026-10-01", "2026-12-01")
    cut = generate(portal, short, quantity=1, months=3)  # cut by the bank: 2026-12-01, 8 days

    expiring = portal.dashboard(ADMIN)["alerts"]
    assert expiring["licenses_expiring"] == 8
    nearest = expiring["licenses"]
    assert len(nearest) == 5
    assert nearest[0]["activation_id"] == cut[0]["activation_id"]
    assert (nearest[0]["expires_on"], nearest[0]["days_left"], nearest[0]["product"]) == ("2026-12-01", 8, STORYBOARD)
    assert all(n["expires_on"] == "2026-12-23" and n["assignee"] == ANA for n in nearest[1:])
    assert {n["activation_id"] for n in nearest[1:]} <= {lic["activation_id"] for lic in first}


def test_expired_licenses_are_not_alerts(portal, bank):
    generate(portal, bank, quantity=1, months=1)
    later = Portal(Store(portal.store.path), fixed_clock("2026-12-23"), rng=random.Random(1))
    assert later.dashboard(ADMIN)["alerts"]["licenses_expiring"] == 0


def test_pools_carry_team_distribution(portal):
    grant_seats(portal, SEATS, 10)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.sign_in(ANA)
    portal.team_add(ADMIN, "Story", ANA)  # same member, same seat
    portal.team_add(ADMIN, "Story", BOB)  # invited: pending
    portal.team_add(ADMIN, "Layout", "cy@lumenfox.studio")
    portal.team_remove(ADMIN, "Layout", "cy@lumenfox.studio")  # unassigned: still holds the seat

    (pool,) = portal.dashboard(ADMIN)["pools"]
    assert (pool["purchased"], pool["active"], pool["pending"], pool["unassigned"], pool["unused"]) == (10, 1, 1, 1, 7)
    teams = {t["name"]: (t["member_count"], t["active"], t["pending"]) for t in pool["teams"]}
    assert teams == {"Layout": (1, 1, 0), "Story": (2, 1, 1)}
    assert pool["unassigned_members"] == ["cy@lumenfox.studio"]


def test_flag_expiring_banks_marks_rows(portal):
    add_bank(portal, STORYBOARD, 40, "2026-10-01", "2026-12-12")
    add_bank(portal, STORYBOARD, 40, "2026-10-01", "2027-12-12")
    flags = [b["expiring_soon"] for b in portal.flag_expiring_banks(portal.list_banks(ADMIN))]
    assert sorted(flags) == [False, True]
    assert not bank_expiring_soon({"expired": True, "remaining": 0, "days_left": -3})


def test_regular_user_is_refused(portal):
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    with pytest.raises(PermissionDenied):
        portal.dashboard(ANA)


def test_other_organization_sees_none_of_ours(portal, bank):
    generate(portal, bank)
    portal.init_organization("Other Studio", "boss@other.studio")
    data = portal.dashboard("boss@other.studio")
    assert data["products"] == [] and data["pools"] == []
    assert data["alerts"] == {"banks": [], "licenses_expiring": 0, "licenses": []}
