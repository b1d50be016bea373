"""Quotes are promises (issue 8): every confirmed operation re-checks its quote in the commit.

A confirmation shown on data that has changed in what it promises (who is affected, how, which
seat, which builds) is refused with the fresh quote and writes nothing; a confirmation whose
promise still holds commits, even when figures shown only for information (the bank's remaining
credits, the pool's unused seats) moved with another admin's commit."""

from __future__ import annotations

import random

import pytest

from elp_tui.portal import Portal, StaleQuote, fixed_clock
from elp_tui.store import Store, open_store

from tests.conftest import ADMIN, TODAY
from tests.helpers import file_bytes
from tests.helpers import grant_seats

ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
SEATS = "Frameloop Teams"


def other(portal: Portal) -> Portal:
    """Another admin's session on the same store file."""
    return Portal(open_store(portal.store.path), fixed_clock(TODAY), rng=random.Random(11))


def member(portal: Portal, email: str, role: str = "regular") -> str:
    portal.invite(ADMIN, email, role)
    portal.sign_in(email)
    return email


def stale(portal: Portal, commit, *args, **kwargs):
    """Commit a stale confirmation: refused with the fresh quote, the file byte for byte as it was."""
    before = file_bytes(portal)
    with pytest.raises(StaleQuote, match="changed since the quote") as info:
        commit(*args, **kwargs)
    assert file_bytes(portal) == before
    assert info.value.fresh is not None
    return info.value.fresh


def test_delete_confirmed_before_the_user_was_made_admin_and_added_to_teams_is_stale(portal):
    member(portal, ANA)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    quote = portal.quote_delete_user(ADMIN, ANA)
    assert (quote["role"], quote["teams"], quote["seats_returned"]) == ("regular", [], [])
    them = other(portal)
    them.set_role(ADMIN, ANA, "admin")
    them.team_add(ADMIN, "Layout", ANA)
    fresh = stale(portal, portal.delete_user, ADMIN, ANA, quote)
    assert (fresh["role"], fresh["teams"], fresh["seats_returned"]) == ("admin", ["Layout"], [SEATS])
    portal.delete_user(ADMIN, ANA, fresh)  # the fresh quote, confirmed, goes through
    assert ANA not in {u["email"] for u in portal.list_users(ADMIN)}


def test_delete_whose_promise_still_holds_commits(portal):
    member(portal, ANA)
    member(portal, BOB)
    quote = portal.quote_delete_user(ADMIN, ANA)
    other(portal).set_role(ADMIN, BOB, "admin")  # someone else changed: not Ana
    portal.delete_user(ADMIN, ANA, quote)
    assert [u["email"] for u in portal.list_users(ADMIN)] == [ADMIN, BOB]


def test_role_change_confirmed_on_a_user_deactivated_meanwhile_is_stale(portal):
    member(portal, ANA)
    quote = portal.quote_set_role(ADMIN, ANA, "admin")
    other(portal).set_status(ADMIN, ANA, "inactive")
    fresh = stale(portal, portal.set_role, ADMIN, ANA, "admin", quote)
    assert fresh["status"] == "inactive"


def test_role_change_already_made_by_another_admin_is_refused_and_writes_nothing(portal):
    member(portal, ANA)
    quote = portal.quote_set_role(ADMIN, ANA, "admin")
    other(portal).set_role(ADMIN, ANA, "admin")
    before = file_bytes(portal)
    with pytest.raises(Exception, match="already admin"):
        portal.set_role(ADMIN, ANA, "admin", quote)
    assert file_bytes(portal) == before


def test_deactivate_confirmed_on_a_regular_user_made_admin_meanwhile_is_stale(portal):
    member(portal, ANA)
    quote = portal.quote_set_status(ADMIN, ANA, "inactive")
    other(portal).set_role(ADMIN, ANA, "admin")
    fresh = stale(portal, portal.set_status, ADMIN, ANA, "inactive", quote)
    assert fresh["role"] == "admin"
    portal.set_status(ADMIN, ANA, "inactive", fresh)
    assert {u["email"]: u["status"] for u in portal.list_users(ADMIN)}[ANA] == "inactive"


def test_team_add_quote_that_still_takes_a_seat_commits_though_the_pool_moved(portal):
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    quote = portal.quote_team_add(ADMIN, "Layout", ANA)
    assert (quote["takes_seat"], quote["unused_before"]) == (True, 3)
    other(portal).team_add(ADMIN, "Layout", BOB)  # one seat fewer, still enough
    portal.team_add(ADMIN, "Layout", ANA, quote)
    assert portal.seats_overview(ADMIN)[0]["unused"] == 1


def test_team_add_confirmed_as_taking_a_seat_is_stale_once_the_member_holds_one(portal):
    member(portal, ANA)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    quote = portal.quote_team_add(ADMIN, "Layout", ANA)
    other(portal).team_add(ADMIN, "Story", ANA)  # she took a seat through another team
    fresh = stale(portal, portal.team_add, ADMIN, "Layout", ANA, quote)
    assert fresh["takes_seat"] is False


def test_team_remove_confirmed_as_leaving_the_seat_unassigned_is_stale_when_another_team_keeps_them(portal):
    member(portal, ANA)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    quote = portal.quote_team_remove(ADMIN, "Layout", ANA)
    assert quote["becomes_unassigned"] is True
    other(portal).team_add(ADMIN, "Story", ANA)
    fresh = stale(portal, portal.team_remove, ADMIN, "Layout", ANA, quote)
    assert (fresh["becomes_unassigned"], fresh["other_teams"]) == (False, ["Story"])
    portal.team_remove(ADMIN, "Layout", ANA, fresh)


def test_invite_confirmed_as_admin_is_stale_when_re_quoted_as_regular(portal):
    quote = portal.quote_invite(ADMIN, ANA, "admin")
    before = file_bytes(portal)
    with pytest.raises(StaleQuote):
        portal.invite(ADMIN, ANA, "regular", quote)  # not what the confirmation said
    assert file_bytes(portal) == before
    portal.invite(ADMIN, ANA, "admin", quote)


def test_invite_confirmed_before_someone_else_invited_them_is_refused(portal):
    quote = portal.quote_invite(ADMIN, ANA)
    other(portal).invite(ADMIN, ANA)
    before = file_bytes(portal)
    with pytest.raises(Exception, match="already a member"):
        portal.invite(ADMIN, ANA, "regular", quote)
    assert file_bytes(portal) == before


def test_restrict_confirmed_before_a_build_was_published_is_stale(portal, bank):
    from tests.test_rules_people import add_builds

    add_builds(portal, bank["product"], ["25.1", "25.2"])
    quote = portal.quote_restrict(ADMIN, bank["product"], ["25.1"])
    assert quote["blocked"] == ["25.2"]
    add_builds(portal, bank["product"], ["25.1", "25.2", "25.3"])  # the vendor published a build meanwhile
    fresh = stale(portal, portal.restrict, ADMIN, bank["product"], ["25.1"], quote)
    assert fresh["blocked"] == ["25.2", "25.3"]
    portal.restrict(ADMIN, bank["product"], ["25.1"], fresh)


def test_credit_request_confirmed_on_one_bank_commits_though_others_requested_meanwhile(portal, bank):
    quote = portal.quote_request_credits(ADMIN, bank["id"], 10)
    other(portal).request_credits(ADMIN, bank["id"], 5)
    portal.request_credits(ADMIN, bank["id"], 10, quote)
    assert next(b for b in portal.list_banks(ADMIN))["credits_requested"] == 115


def test_credit_request_confirmed_for_another_amount_is_stale(portal, bank):
    quote = portal.quote_request_credits(ADMIN, bank["id"], 10)
    fresh = stale(portal, portal.request_credits, ADMIN, bank["id"], 12, quote)
    assert fresh["credits"] == 12


def test_seat_request_re_checks_its_quote(portal):
    grant_seats(portal, SEATS, 3)
    quote = portal.quote_request_seats(ADMIN, SEATS, 2)
    grant_seats(other(portal), SEATS, 1)  # purchased moved: information, not the promise
    portal.request_seats(ADMIN, SEATS, 2, quote)
    fresh = stale(portal, portal.request_seats, ADMIN, SEATS, 4, quote)
    assert fresh["seats"] == 4
