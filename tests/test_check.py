"""`elp check`: each kind of drift, planted by tampering with the store, is reported."""

from __future__ import annotations

import random
from typing import Any, Callable

import pytest

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store

from tests.conftest import ADMIN, TODAY
from tests.helpers import grant_seats

ANA = "ana@lumenfox.studio"
BOSS = "boss@otter.example"
SKETCH = "Quillstone Sketch"


def tamper(portal: Portal, table: str, change: Callable[[dict[str, Any]], None], which: Callable[[Any], bool] = lambda d: True) -> None:
    """Edit raw documents behind the portal's back (what a bad import or a hand edit does)."""
    with portal.store.transaction() as db:
        db.update(table, change, which)


def reported(portal: Portal, *words: str) -> list[str]:
    found = [p for p in portal.check() if all(w in p for w in words)]
    assert found, f"no problem mentions {words}: {portal.check()}"
    return found


def other_org(portal: Portal) -> Portal:
    other = Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(5))
    other.init_organization("Otter Works", BOSS)
    return other


@pytest.fixture
def lic(portal, bank) -> dict:
    """One node-lock license of the portable 25.1 bank, assigned to the member Ana."""
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=1, start=TODAY, email=ANA)
    [made] = portal.generate(ADMIN, q)
    assert portal.check() == []
    return made


def test_a_consistent_store_has_no_problem(portal, lic):
    assert portal.check() == []


def test_an_unexpired_license_of_a_non_member_is_reported(portal, lic):
    other = other_org(portal)
    tamper(portal, "users", lambda u: u.update(organization="otter-works"), lambda u: u["email"] == ANA)
    reported(portal, lic["activation_id"], ANA, "not a member", "lumenfox-studios")
    assert other.check() == portal.check()


def test_a_license_of_a_deleted_user_is_reported(portal, lic):
    tamper(portal, "licenses", lambda d: d.update(assignee="ghost@lumenfox.studio"))
    reported(portal, lic["activation_id"], "ghost@lumenfox.studio", "not a member")


def test_an_expired_license_of_a_former_member_is_not_a_problem(portal, lic):
    tamper(portal, "licenses", lambda d: d.update(assignee="ghost@lumenfox.studio"))
    later = Portal(Store(portal.store.path), fixed_clock("2027-03-01"))
    assert later.check() == []


def test_a_license_starting_before_its_bank_is_reported(portal, lic):
    tamper(portal, "licenses", lambda d: d.update(start="2026-10-15"))
    reported(portal, lic["activation_id"], "2026-10-15", "before its bank", "2026-11-01")


def test_a_returned_license_on_a_bank_that_does_not_allow_returns_is_reported(portal, lic, bank):
    portal.return_license(ADMIN, lic["activation_id"], ANA)
    assert portal.check() == []  # portable 25.1: returns allowed
    tamper(portal, "banks", lambda b: b.update(portable=False))
    reported(portal, lic["activation_id"], "unassigned", bank["id"], "not portable")
    tamper(portal, "banks", lambda b: b.update(portable=True, product_version="24.2"))
    reported(portal, lic["activation_id"], "unassigned", bank["id"], "24.2")


def test_teams_whose_pool_is_unknown_or_of_another_organization_are_reported(portal):
    grant_seats(portal, SKETCH, 2)
    portal.create_team(ADMIN, "Story", SKETCH)
    other = other_org(portal)
    theirs = grant_seats(other, SKETCH, 1, org="otter-works")
    assert portal.check() == []
    tamper(portal, "teams", lambda t: t.update(pool="SP-0404"))
    reported(portal, "(Story)", "pool SP-0404 does not exist")
    tamper(portal, "teams", lambda t: t.update(pool=theirs["id"]))
    reported(portal, "team Story", "lumenfox-studios", theirs["id"], "another organization", "otter-works")


def test_an_enabled_restriction_with_no_build_is_reported(portal, bank):
    with portal.store.transaction() as db:
        db.update("products", {"builds": [{"version": "25.1", "released": "2026-01-15", "downloads": {}}]})
    portal.restrict(ADMIN, bank["product"], ["25.1"])
    assert portal.check() == []
    tamper(portal, "restrictions", lambda r: r.update(builds=[]))
    reported(portal, "restriction", bank["product"], "lumenfox-studios", "no build")
    tamper(portal, "restrictions", lambda r: r.update(enabled=False))
    assert portal.check() == []  # disabled: builds do not matter


def test_activity_seq_gaps_and_duplicates_are_reported(portal):
    for n in range(4):
        portal.invite(ADMIN, f"u{n}@lumenfox.studio")
    seqs = sorted(a["seq"] for a in portal.store.read().all("activity"))  # every organization's, and the vendor's
    assert seqs == list(range(1, len(seqs) + 1)) and portal.check() == []
    with portal.store.transaction() as db:
        db.remove("activity", lambda a: a["seq"] == 3)
    reported(portal, "activity log", "seq 3")
    with portal.store.transaction() as db:
        db.update("activity", {"seq": 2}, lambda a: a["seq"] == 4)
    reported(portal, "activity seq 2", "2 times")
    reported(portal, "activity log", "seq 3, 4")


def test_an_active_user_who_never_signed_in_is_reported(portal):
    portal.invite(ADMIN, ANA)
    tamper(portal, "users", lambda u: u.update(status="active"), lambda u: u["email"] == ANA)
    reported(portal, ANA, "active", "never signed in")


def test_a_vendor_role_inside_an_organization_and_a_user_of_none_are_reported(portal):
    """A hand edit giving a member the vendor's role would let them grant their own organization
    credits: the store reports it (and refuses to open), and the portal refuses them meanwhile."""
    portal.invite(ADMIN, ANA)
    assert portal.check() == []
    tamper(portal, "users", lambda u: u.update(role="vendor"), lambda u: u["email"] == ANA)
    reported(portal, ANA, "vendor's team", "lumenfox-studios")
    tamper(portal, "users", lambda u: u.update(role="regular", organization=None), lambda u: u["email"] == ANA)
    reported(portal, ANA, "belongs to no organization")


def test_a_request_answered_halfway_is_reported(portal):
    from tests.helpers import grant_bank

    bank = grant_bank(portal, product="Quillstone Animate", credits=10, start="2026-11-01", expires_on="2027-05-01")
    request = portal.request_credits(ADMIN, bank["id"], 5)
    assert portal.check() == []
    tamper(portal, "requests", lambda r: r.update(state="granted"))
    reported(portal, f"request #{request['id']}", "granted without saying how much")
    reported(portal, f"request #{request['id']}", "no answer date")
    tamper(portal, "requests", lambda r: r.update(state="requested", answered_on="2026-11-23"))
    reported(portal, f"request #{request['id']}", "open but has an answer date")
