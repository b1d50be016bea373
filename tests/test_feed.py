"""The vendor feed over real HTTP (tests/feed_server.py: a server on 127.0.0.1, one a session):
Refresh banks reconciles it in one transaction, refuses what would hurt the organization, and a
feed that cannot be had or read changes nothing; requests are POSTed back to it."""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from elp_tui.config import ConfigError
from elp_tui.portal import FeedError, Portal, fixed_clock
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.feed_server import VendorFeed, closed_port
from tests.helpers import ORG, cli_env, elp, file_bytes, grant_bank, grant_seats, messages, refused, store_tables, until  # noqa: F401

ANIMATE = "Quillstone Animate"
PAINT = "Quillstone Paint"
ANA = "ana@lumenfox.studio"


# -- helpers -----------------------------------------------------------------------------------------
def feed_of(portal: Portal) -> dict[str, Any]:
    """The feed as the vendor would send it for what the store holds now (tests then change it)."""
    tables = store_tables(portal.store.path)
    banks = [
        {key: b[key] for key in ("id", "product", "credits_requested", "credits_granted", "start", "expires_on",
                                 "product_version", "portable")}
        for b in tables.get("banks", {}).values() if b["organization"] == ORG
    ]
    pools = [{"product": p["product"], "seats": p["seats"]} for p in tables.get("seat_pools", {}).values()
             if p["organization"] == ORG]
    return {"organization": ORG, "banks": banks, "seat_pools": pools, "builds": [], "requests": []}


def bank_doc(portal: Portal, bank_id: str) -> dict[str, Any]:
    return next(b for b in store_tables(portal.store.path)["banks"].values() if b["id"] == bank_id)


def activity(portal: Portal, action: str) -> list[dict[str, Any]]:
    return [e for e in store_tables(portal.store.path).get("activity", {}).values() if e["action"] == action]


def use_credits(portal: Portal, bank_id: str, months: int = 6, quantity: int = 2) -> list[dict[str, Any]]:
    """Licenses from the bank (node-lock, starting today): quantity x months credits used."""
    quote = portal.quote_generate(ADMIN, bank=bank_id, type="node-lock", months=months, quantity=quantity,
                                  start=TODAY, email=ANA)
    return portal.generate(ADMIN, quote)


@pytest.fixture
def animate(portal) -> dict[str, Any]:
    """A bank of 100 credits, 2026-11-01 .. 2027-11-01, granted the usual way."""
    return grant_bank(portal, product=ANIMATE, credits=100, start="2026-11-01", expires_on="2027-11-01",
                      product_version="25.1", portable=True)


# -- what a feed brings in -----------------------------------------------------------------------------
def test_a_new_bank_pool_and_build_appear_in_one_transaction_with_one_activity_entry(portal, animate, vendor_feed):
    feed = feed_of(portal)
    feed["banks"].append({"id": "QS-7781", "product": "Quillstone Storyboard", "credits_requested": 60,
                          "credits_granted": 60, "start": "2026-12-01", "expires_on": "2027-12-01",
                          "product_version": "25.2", "portable": False})
    feed["seat_pools"].append({"product": PAINT, "seats": 12})
    feed["builds"].append({"product": ANIMATE, "version": "25.3", "released": "2026-11-20",
                           "downloads": {"windows": "https://dl.quillstone.example.com/animate-25.3.msi",
                                         "linux": "https://dl.quillstone.example.com/animate-25.3.tar.gz"}})
    vendor_feed.serve(feed)
    log_before = len(store_tables(portal.store.path)["activity"])

    banks, changes = portal.refresh_banks(ADMIN, None)

    assert {b["id"]: b["credits_granted"] for b in banks} == {animate["id"]: 100, "QS-7781": 60}
    assert changes == [
        "new build Quillstone Animate 25.3 (released 2026-11-20)",
        "new bank QS-7781 (Quillstone Storyboard): 60 credits, 2026-12-01 .. 2027-12-01",
        "new seat pool SP-0001 (Quillstone Paint): 12 seats",
    ]
    assert [p["purchased"] for p in portal.seats_overview(ADMIN)] == [12]
    tables = store_tables(portal.store.path)
    animate_builds = next(p for p in tables["products"].values() if p["name"] == ANIMATE)["builds"]
    assert {"version": "25.3", "released": "2026-11-20", "downloads": {
        "windows": "https://dl.quillstone.example.com/animate-25.3.msi",
        "linux": "https://dl.quillstone.example.com/animate-25.3.tar.gz"}} in animate_builds
    entries = list(tables["activity"].values())
    assert len(entries) == log_before + 1
    entry = entries[-1]
    assert (entry["action"], entry["actor"], entry["organization"]) == ("banks-refresh", ADMIN, ORG)
    assert (entry["credits"], entry["seats"]) == (60, 12)
    assert "QS-7781" in entry["details"] and "SP-0001" in entry["details"]
    assert portal.check() == []
    # The GET named the organization and carried the token.
    (get,) = vendor_feed.gets
    assert get["query"] == {"organization": [ORG]}
    assert get["headers"]["Authorization"] == "Bearer s3cret-token"


def test_a_top_up_and_a_later_expiry_change_the_bank_and_say_so(portal, animate, vendor_feed):
    feed = feed_of(portal)
    feed["banks"][0].update(credits_granted=250, credits_requested=250, expires_on="2028-02-01")
    vendor_feed.serve(feed)

    banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [f"{animate['id']} (Quillstone Animate): credits_requested 100 → 250, "
                       f"credits_granted 100 → 250, expires_on 2027-11-01 → 2028-02-01"]
    (row,) = banks
    assert (row["credits_granted"], row["remaining"], row["expires_on"]) == (250, 250, "2028-02-01")
    assert activity(portal, "banks-refresh")[-1]["credits"] == 150

    # The same feed again: nothing changes, nothing is written.
    before = file_bytes(portal)
    assert portal.refresh_banks(ADMIN, None)[1] == []
    assert file_bytes(portal) == before


def test_an_earlier_expiry_that_still_covers_every_license_applies(portal, animate, vendor_feed):
    use_credits(portal, animate["id"], months=3, quantity=1)  # ends 2027-02-23
    feed = feed_of(portal)
    feed["banks"][0]["expires_on"] = "2027-02-23"
    vendor_feed.serve(feed)
    _banks, changes = portal.refresh_banks(ADMIN, None)
    assert changes == [f"{animate['id']} (Quillstone Animate): expires_on 2027-11-01 → 2027-02-23"]
    assert bank_doc(portal, animate["id"])["expires_on"] == "2027-02-23"


def test_a_request_granted_and_one_declined_are_closed_by_the_feed(portal, animate, vendor_feed):
    pool = grant_seats(portal, PAINT, 5)
    vendor_feed.serve(feed_of(portal), post_status=201)
    credits = portal.request_credits(ADMIN, animate["id"], 50)
    seats = portal.request_seats(ADMIN, PAINT, 3)
    # Both went to <feed>/requests after they committed.
    assert [p["json"]["id"] for p in vendor_feed.posts] == [credits["id"], seats["id"]]
    assert credits["posted"] is True and credits["post_error"] is None
    assert vendor_feed.posts[0]["json"]["amount"] == 50 and vendor_feed.posts[0]["json"]["kind"] == "credits"
    assert vendor_feed.posts[0]["headers"]["Authorization"] == "Bearer s3cret-token"

    feed = feed_of(portal)  # requested is 150 now
    feed["banks"][0].update(credits_granted=150)
    feed["requests"] = [
        {"id": credits["id"], "state": "granted", "bank": animate["id"], "credits": 50},
        {"id": seats["id"], "state": "declined", "reason": "Paint seats are sold by the reseller"},
    ]
    vendor_feed.serve(feed)
    before = store_tables(portal.store.path)

    banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [
        f"request #{credits['id']} granted: 50 credits to {animate['id']}",
        f"request #{seats['id']} declined: Paint seats are sold by the reseller",
        f"{animate['id']} (Quillstone Animate): credits_granted 100 → 150",
    ]
    assert banks[0]["credits_granted"] == 150 and banks[0]["credits_requested"] == 150  # granted once, not twice
    requests = {r["id"]: r for r in store_tables(portal.store.path)["requests"].values()}
    assert (requests[credits["id"]]["state"], requests[credits["id"]]["granted"],
            requests[credits["id"]]["answered_by"]) == ("granted", 50, "vendor feed")
    assert (requests[seats["id"]]["state"], requests[seats["id"]]["reason"]) == (
        "declined", "Paint seats are sold by the reseller")
    assert [p["purchased"] for p in portal.seats_overview(ADMIN)] == [5]
    assert pool["purchased"] == 5
    # The refresh's one entry names both answers; each answer reaches the organization's (one)
    # admin by email.
    after = store_tables(portal.store.path)
    added = [e for key, e in after["activity"].items() if key not in before["activity"]]
    assert [e["action"] for e in added] == ["banks-refresh"]
    mails = [m for key, m in after["outbox"].items() if key not in before["outbox"]]
    assert [m["to"] for m in mails] == [ADMIN, ADMIN]

    assert portal.check() == []
    # A second refresh of the same feed closes nothing twice.
    before = file_bytes(portal)
    assert portal.refresh_banks(ADMIN, None)[1] == []
    assert file_bytes(portal) == before


def test_a_refresh_that_closes_two_requests_adds_one_activity_entry_naming_them(portal, animate, vendor_feed):
    grant_seats(portal, PAINT, 5)
    vendor_feed.serve(feed_of(portal))
    credits = portal.request_credits(ADMIN, animate["id"], 50)
    seats = portal.request_seats(ADMIN, PAINT, 3)
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 150
    feed["requests"] = [{"id": credits["id"], "state": "granted"},
                        {"id": seats["id"], "state": "declined", "reason": "sold by the reseller"}]
    vendor_feed.serve(feed)
    before = store_tables(portal.store.path)

    portal.refresh_banks(ADMIN, None)

    after = store_tables(portal.store.path)
    added = [e for key, e in after["activity"].items() if key not in before["activity"]]
    (entry,) = added
    assert entry["action"] == "banks-refresh" and (entry["credits"], entry["seats"]) == (50, 0)
    assert entry["details"].endswith(f"requests closed: #{credits['id']} granted, #{seats['id']} declined")
    # Everything else as when the vendor answers: both closed, both answers mailed.
    assert {r["id"]: r["state"] for r in after["requests"].values()} == {credits["id"]: "granted", seats["id"]: "declined"}
    assert len([m for key, m in after["outbox"].items() if key not in before["outbox"]]) == 2


# -- lines refused: named, the rest applies -------------------------------------------------------------
def test_a_line_that_would_lower_granted_below_used_is_refused_and_changes_nothing(portal, animate, vendor_feed):
    use_credits(portal, animate["id"], months=6, quantity=2)  # 12 used
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 10
    vendor_feed.serve(feed)
    before = file_bytes(portal)

    banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [f"refused: bank {animate['id']}: 10 credits granted would be below the 12 already used"]
    assert banks[0]["credits_granted"] == 100
    assert file_bytes(portal) == before, "a feed whose only change is refused leaves the store as it was"


def test_a_refused_line_is_named_and_the_other_lines_apply(portal, animate, vendor_feed):
    use_credits(portal, animate["id"], months=6, quantity=1)  # ends 2027-05-23
    other = grant_bank(portal, product="Quillstone Storyboard", credits=40, start="2026-11-01", expires_on="2027-11-01")
    feed = feed_of(portal)
    lines = {b["id"]: b for b in feed["banks"]}
    lines[animate["id"]]["expires_on"] = "2027-03-01"  # before the license ends
    lines[other["id"]]["credits_granted"] = 90
    vendor_feed.serve(feed)

    _banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [
        f"{other['id']} (Quillstone Storyboard): credits_granted 40 → 90",
        f"refused: bank {animate['id']}: expiry 2027-03-01 would be before 2027-05-23, when a license it covers ends",
    ]
    assert bank_doc(portal, animate["id"])["expires_on"] == "2027-11-01"
    assert bank_doc(portal, other["id"])["credits_granted"] == 90
    (entry,) = activity(portal, "banks-refresh")
    assert "refused: bank" in entry["details"]


def test_a_bank_left_out_of_the_feed_stays_when_it_has_licenses_and_goes_when_it_has_none(portal, animate, vendor_feed):
    use_credits(portal, animate["id"])
    empty = grant_bank(portal, product="Quillstone Storyboard", credits=40, start="2026-11-01", expires_on="2027-11-01")
    feed = feed_of(portal)
    feed["banks"] = []
    vendor_feed.serve(feed)

    banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [
        f"bank {empty['id']} (Quillstone Storyboard) removed: the vendor no longer lists it",
        f"refused: bank {animate['id']} is not in the feed but has licenses: it stays",
    ]
    assert [b["id"] for b in banks] == [animate["id"]]
    assert portal.check() == []


def test_a_pool_below_the_seats_its_members_hold_is_refused(portal, vendor_feed):
    grant_seats(portal, PAINT, 3)
    portal.create_team(ADMIN, "Layout", PAINT)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_add(ADMIN, "Layout", "bo@lumenfox.studio")
    feed = feed_of(portal)
    feed["seat_pools"][0]["seats"] = 1
    vendor_feed.serve(feed)
    before = file_bytes(portal)
    _banks, changes = portal.refresh_banks(ADMIN, None)
    assert changes == ["refused: seat pool SP-0001 (Quillstone Paint): 1 seats would be fewer than the 2 its members hold"]
    assert file_bytes(portal) == before


def test_a_request_on_a_refused_bank_line_stays_open(portal, animate, vendor_feed):
    use_credits(portal, animate["id"], months=6, quantity=2)
    vendor_feed.serve(feed_of(portal))
    request = portal.request_credits(ADMIN, animate["id"], 20)
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 5  # below used: refused
    feed["requests"] = [{"id": request["id"], "state": "granted", "credits": 20}]
    vendor_feed.serve(feed)
    before = file_bytes(portal)
    _banks, changes = portal.refresh_banks(ADMIN, None)
    assert changes[1] == f"refused: request #{request['id']}: its bank or pool's line was refused, so it stays open"
    assert file_bytes(portal) == before
    assert store_tables(portal.store.path)["requests"]
    assert next(iter(store_tables(portal.store.path)["requests"].values()))["state"] == "requested"


def test_a_grant_the_feed_does_not_add_leaves_the_request_open_and_sends_no_mail(portal, animate, vendor_feed):
    vendor_feed.serve(feed_of(portal))
    request = portal.request_credits(ADMIN, animate["id"], 50)
    feed = feed_of(portal)  # credits_granted still 100: the grant did not arrive
    feed["requests"] = [{"id": request["id"], "state": "granted", "bank": animate["id"], "credits": 50}]
    vendor_feed.serve(feed)
    before = file_bytes(portal)

    _banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [f"refused: request #{request['id']}: the feed grants 50 credits to {animate['id']}, but lists "
                       f"{animate['id']} with 100 credits granted (it had 100; at least 150 needed): nothing was added, "
                       "so the request stays open"]
    assert file_bytes(portal) == before, "no request closed, no email queued, no entry"
    (row,) = store_tables(portal.store.path)["requests"].values()
    assert row["state"] == "requested"


def test_grants_to_one_bank_must_fit_in_what_the_feed_adds_to_it(portal, animate, vendor_feed):
    vendor_feed.serve(feed_of(portal))
    first = portal.request_credits(ADMIN, animate["id"], 30)
    second = portal.request_credits(ADMIN, animate["id"], 40)
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 150  # 50 added: room for the first grant, not for both
    feed["requests"] = [{"id": first["id"], "state": "granted"}, {"id": second["id"], "state": "granted"}]
    vendor_feed.serve(feed)
    before = store_tables(portal.store.path)

    _banks, changes = portal.refresh_banks(ADMIN, None)

    assert f"request #{first['id']} granted: 30 credits to {animate['id']}" in changes
    assert (f"refused: request #{second['id']}: the feed grants 40 credits to {animate['id']}, but lists {animate['id']} "
            "with 150 credits granted (it had 100; at least 170 needed): nothing was added, so the request stays open"
            ) in changes
    states = {r["id"]: r["state"] for r in store_tables(portal.store.path)["requests"].values()}
    assert states == {first["id"]: "granted", second["id"]: "requested"}
    after = store_tables(portal.store.path)
    assert len([m for key, m in after["outbox"].items() if key not in before["outbox"]]) == 1  # the first's answer only


def test_a_seat_grant_the_feed_does_not_add_leaves_the_request_open(portal, vendor_feed):
    grant_seats(portal, PAINT, 5)
    vendor_feed.serve(feed_of(portal))
    request = portal.request_seats(ADMIN, PAINT, 3)
    feed = feed_of(portal)  # still 5 seats
    feed["requests"] = [{"id": request["id"], "state": "granted", "seats": 3}]
    vendor_feed.serve(feed)
    before = file_bytes(portal)

    _banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [f"refused: request #{request['id']}: the feed grants 3 seats to SP-0001, but lists SP-0001 with "
                       "5 seats (it had 5; at least 8 needed): nothing was added, so the request stays open"]
    assert file_bytes(portal) == before
    feed["seat_pools"][0]["seats"] = 8  # the seats arrive: the same answer now closes it
    vendor_feed.serve(feed)
    _banks, changes = portal.refresh_banks(ADMIN, None)
    assert f"request #{request['id']} granted: 3 seats to SP-0001" in changes
    assert [p["purchased"] for p in portal.seats_overview(ADMIN)] == [8]


def test_lines_for_another_organization_or_product_kind_or_request_are_refused(portal, animate, vendor_feed):
    # Another organization's bank, from its own feed.
    portal.init_organization("Vireo Games", "boss@vireo.example.com")
    vendor_feed.serve({"organization": "vireo-games", "seat_pools": [], "banks": [
        {"id": "VG-0001", "product": ANIMATE, "credits_requested": 10, "credits_granted": 10,
         "start": "2026-11-01", "expires_on": "2027-11-01"}]})
    portal.refresh_banks("boss@vireo.example.com", None)
    theirs = {"id": "VG-0001"}
    grant_seats(portal, PAINT, 2)
    vendor_feed.serve(feed_of(portal))
    mine = portal.request_credits(ADMIN, animate["id"], 5)
    feed = feed_of(portal)
    feed["banks"].append({**feed["banks"][0], "id": theirs["id"]})  # not ours
    feed["banks"].append({**feed["banks"][0], "id": "QS-1", "product": PAINT})  # Paint is sold as seats
    feed["requests"] = [{"id": mine["id"] + 40, "state": "granted"}]  # no such request of ours
    vendor_feed.serve(feed)
    before = file_bytes(portal)
    _banks, changes = portal.refresh_banks(ADMIN, None)
    assert changes == [
        f"refused: bank {theirs['id']}: it belongs to another organization",
        "refused: bank QS-1: Quillstone Paint is sold as seats, not credits.",
        f"refused: request #{mine['id'] + 40} is not one of your organization's requests",
    ]
    assert file_bytes(portal) == before


def test_a_request_the_feed_answers_otherwise_than_before_is_refused(portal, animate, vendor_feed):
    vendor_feed.serve(feed_of(portal))
    request = portal.request_credits(ADMIN, animate["id"], 5)
    feed = feed_of(portal)
    feed["requests"] = [{"id": request["id"], "state": "declined", "reason": "budget"}]
    vendor_feed.serve(feed)
    portal.refresh_banks(ADMIN, None)
    feed["requests"] = [{"id": request["id"], "state": "granted", "credits": 5}]
    vendor_feed.serve(feed)
    before = file_bytes(portal)
    _banks, changes = portal.refresh_banks(ADMIN, None)
    assert changes == [f"refused: request #{request['id']} was already declined; the feed says granted"]
    assert file_bytes(portal) == before


def test_a_build_listed_with_other_links_is_updated(portal, animate, vendor_feed):
    feed = feed_of(portal)
    build = {"product": ANIMATE, "version": "25.3", "released": "2026-11-20",
             "downloads": {"macos": "https://dl.quillstone.example.com/animate-25.3.dmg"}}
    feed["builds"] = [build]
    vendor_feed.serve(feed)
    portal.refresh_banks(ADMIN, None)
    build["downloads"] = {"macos": "https://mirror.quillstone.example.com/animate-25.3.dmg"}
    vendor_feed.serve(feed)
    assert portal.refresh_banks(ADMIN, None)[1] == ["build Quillstone Animate 25.3 updated"]
    product = next(p for p in store_tables(portal.store.path)["products"].values() if p["name"] == ANIMATE)
    assert [b["downloads"] for b in product["builds"] if b["version"] == "25.3"] == [
        {"macos": "https://mirror.quillstone.example.com/animate-25.3.dmg"}]


# -- a feed that cannot be had or read changes nothing -------------------------------------------------
@pytest.mark.parametrize("raw, named", [
    (b'{"organization": "lumenfox-studios", "banks": [', "not JSON"),
    (b"<html>maintenance</html>", "not JSON"),
    (b"[]", "the document: Input should be an object"),
])
def test_a_malformed_feed_is_refused_whole(portal, animate, vendor_feed, raw, named):
    vendor_feed.serve(raw=raw)
    exc = refused(portal, FeedError, portal.refresh_banks, ADMIN, None)
    assert named in str(exc) and "Nothing was changed" in str(exc)
    assert "\n" not in str(exc)


@pytest.mark.parametrize("change, field", [
    (lambda f: f["banks"][0].update(credits_granted="150"), "banks[0].credits_granted: Input should be a valid integer"),
    (lambda f: f["banks"][0].update(credits_granted=150.0), "banks[0].credits_granted: Input should be a valid integer"),
    (lambda f: f["banks"][0].update(credits_granted=-5), "banks[0].credits_granted: Input should be greater than or equal to 0"),
    (lambda f: f["banks"][0].update(expires_on="01/11/2027"), "banks[0].expires_on"),
    (lambda f: f["banks"][0].update(portable="yes"), "banks[0].portable: Input should be a valid boolean"),
    (lambda f: f["banks"][0].update(expiry="2027-01-01"), "banks[0].expiry: Extra inputs are not permitted"),
    (lambda f: f["banks"][0].update(product="Animate\x1b[31m"), "banks[0].product: the text contains a control character (U+001B"),
    (lambda f: f["banks"][0].update(product="Anim\u200bate"), "banks[0].product: the text contains an invisible character"),
    (lambda f: f["banks"][0].update(product=" Quillstone Animate"), "banks[0].product: has spaces around it"),
    (lambda f: f["banks"][0].update(id="BK 0001"), "banks[0].id: String should match pattern"),
    (lambda f: f["banks"][0].update(expires_on="2026-10-01"), "is not after start"),
    (lambda f: f.pop("seat_pools"), "seat_pools: Field required"),
    (lambda f: f["banks"].append(copy.deepcopy(f["banks"][0])), "lists BK-0001 more than once"),
    (lambda f: f.update(requests=[{"id": 1, "state": "approved"}]), "requests[0].state"),
    (lambda f: f.update(builds=[{"product": ANIMATE, "version": "v26", "released": "2026-11-01"}]), "builds[0].version"),
])
def test_a_feed_with_a_wrong_type_or_field_names_it_and_changes_nothing(portal, animate, vendor_feed, change, field):
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 500  # would change: must not
    change(feed)
    vendor_feed.serve(feed)
    exc = refused(portal, FeedError, portal.refresh_banks, ADMIN, None)
    assert field in str(exc)
    assert str(exc).startswith("The vendor feed is not valid:")


def test_a_feed_for_another_organization_is_refused(portal, animate, vendor_feed):
    feed = feed_of(portal)
    feed["organization"] = "vireo-games"
    vendor_feed.serve(feed)
    exc = refused(portal, FeedError, portal.refresh_banks, ADMIN, None)
    assert "for organization 'vireo-games', not yours (lumenfox-studios)" in str(exc)


@pytest.mark.parametrize("status, said", [
    (401, "refused ELP's token (HTTP 401): check ELP_VENDOR_TOKEN"),
    (403, "refused ELP's token (HTTP 403)"),
    (404, "was not found (HTTP 404): check the feed's address"),
    (503, "failed (HTTP 503): try again later"),
])
def test_a_refusing_server_is_said_in_one_line_and_changes_nothing(portal, animate, vendor_feed, status, said):
    vendor_feed.serve(status=status)
    exc = refused(portal, FeedError, portal.refresh_banks, ADMIN, None)
    assert said in str(exc) and "\n" not in str(exc)


def test_a_server_that_is_down_is_said_and_changes_nothing(portal, animate, monkeypatch, vendor_feed):
    monkeypatch.setenv("ELP_VENDOR_FEED", f"http://127.0.0.1:{closed_port()}/feed")
    exc = refused(portal, FeedError, portal.refresh_banks, ADMIN, None)
    assert "cannot be reached (offline?)" in str(exc)


def test_https_to_a_server_without_tls_is_said_and_changes_nothing(portal, animate, monkeypatch, vendor_feed):
    vendor_feed.serve(feed_of(portal))
    monkeypatch.setenv("ELP_VENDOR_FEED", vendor_feed.url.replace("http://", "https://"))
    exc = refused(portal, FeedError, portal.refresh_banks, ADMIN, None)
    assert "failed its TLS handshake" in str(exc) and "\n" not in str(exc)


def test_a_server_too_slow_to_answer_times_out_and_changes_nothing(portal, animate, monkeypatch, vendor_feed):
    monkeypatch.setenv("ELP_FEED_TIMEOUT", "0.3")
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 500
    vendor_feed.serve(feed, hold=True)  # answers only when the test is over
    exc = refused(portal, FeedError, portal.refresh_banks, ADMIN, None)
    assert "did not answer within 0.3 seconds" in str(exc)
    assert len(vendor_feed.gets) == 1


def test_without_a_feed_refresh_rereads_the_store(portal, animate, monkeypatch):
    monkeypatch.delenv("ELP_VENDOR_FEED", raising=False)
    banks, changes = portal.refresh_banks(ADMIN, [])
    assert changes == [f"new bank {animate['id']} (Quillstone Animate): 100 credits"]
    assert [b["id"] for b in banks] == [animate["id"]]
    assert portal.check() == []


# -- whose feed: the vendor's, set in the store -----------------------------------------------------------
def test_an_env_feed_other_than_the_vendors_is_refused_and_changes_nothing(portal, animate, vendor_feed, feed_server):
    vendors = VendorFeed(feed_server, "/feeds/the-vendors-own")  # the feed the vendor's staff set
    vendors.serve(feed_of(portal))
    portal.update_vendor(VENDOR, feed=vendors.url)
    mine = feed_of(portal)
    mine["banks"][0]["credits_granted"] = 100_000  # the admin's own feed: generous
    vendor_feed.serve(mine)
    before = file_bytes(portal)

    with pytest.raises(ConfigError) as exc:
        portal.refresh_banks(ADMIN, None)

    assert str(exc.value) == (f"ELP_VENDOR_FEED is {vendor_feed.url}, but the vendor set this store's feed to "
                              f"{vendors.url}: unset ELP_VENDOR_FEED to read the vendor's feed. Nothing was changed.")
    assert "\n" not in str(exc.value)
    assert file_bytes(portal) == before
    assert vendor_feed.gets == [] and vendors.gets == []
    assert bank_doc(portal, animate["id"])["credits_granted"] == 100
    with feed_server.lock:
        feed_server.routes.pop(vendors.path, None)


def test_a_config_file_feed_other_than_the_vendors_is_refused(portal, animate, vendor_feed, monkeypatch, tmp_path):
    portal.update_vendor(VENDOR, feed="http://127.0.0.1:9/vendors-feed")
    config = tmp_path / "elp-config.json"
    config.write_text(json.dumps({"vendor_feed": {"url": vendor_feed.url}}))
    monkeypatch.setenv("ELP_CONFIG", str(config))
    monkeypatch.delenv("ELP_VENDOR_FEED")
    vendor_feed.serve(feed_of(portal))
    before = file_bytes(portal)
    with pytest.raises(ConfigError, match=r"^The config file's vendor_feed url is .*, but the vendor set this store's "
                                          r"feed to http://127\.0\.0\.1:9/vendors-feed: .* Nothing was changed\.$"):
        portal.refresh_banks(ADMIN, None)
    assert file_bytes(portal) == before and vendor_feed.gets == []


def test_the_vendors_feed_is_read_and_named_in_the_activity_entry(portal, animate, vendor_feed, monkeypatch):
    portal.update_vendor(VENDOR, feed=vendor_feed.url)
    monkeypatch.delenv("ELP_VENDOR_FEED")  # the token stays this machine's
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 120
    vendor_feed.serve(feed)

    _banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [f"{animate['id']} (Quillstone Animate): credits_granted 100 → 120"]
    (get,) = vendor_feed.gets
    assert get["headers"]["Authorization"] == "Bearer s3cret-token"
    (entry,) = activity(portal, "banks-refresh")
    assert entry["details"].startswith(f"from {vendor_feed.url}: ")
    assert "s3cret-token" not in entry["details"]
    # ELP_VENDOR_FEED naming the same feed is no conflict.
    monkeypatch.setenv("ELP_VENDOR_FEED", vendor_feed.url + "/")
    feed["banks"][0]["credits_granted"] = 130
    vendor_feed.serve(feed)
    assert portal.refresh_banks(ADMIN, None)[1] == [f"{animate['id']} (Quillstone Animate): credits_granted 120 → 130"]


def test_with_no_feed_in_the_store_the_env_feed_is_read_and_named_without_its_secrets(portal, animate, vendor_feed,
                                                                                       monkeypatch):
    with_secrets = vendor_feed.url.replace("http://", "http://elp:pa55word@") + "?token=s3cret-token"
    monkeypatch.setenv("ELP_VENDOR_FEED", with_secrets)
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 120
    vendor_feed.serve(feed)

    _banks, changes = portal.refresh_banks(ADMIN, None)

    assert changes == [f"{animate['id']} (Quillstone Animate): credits_granted 100 → 120"]
    (entry,) = activity(portal, "banks-refresh")
    assert entry["details"].startswith(f"from {vendor_feed.url}: ")
    assert "s3cret-token" not in entry["details"] and "pa55word" not in entry["details"]


# -- requests POSTed to the feed ----------------------------------------------------------------------------
def test_a_request_whose_post_fails_stays_recorded_and_the_failure_is_logged(portal, animate, vendor_feed):
    vendor_feed.serve(feed_of(portal), post_status=503)
    request = portal.request_credits(ADMIN, animate["id"], 30)
    assert request["posted"] is False
    assert "HTTP 503" in request["post_error"]
    tables = store_tables(portal.store.path)
    assert [r["amount"] for r in tables["requests"].values()] == [30]
    assert bank_doc(portal, animate["id"])["credits_requested"] == 130
    (failed,) = activity(portal, "request-post-failed")
    assert failed["target"] == f"#{request['id']}" and "HTTP 503" in failed["details"]


def test_a_request_with_the_feed_down_is_recorded(portal, animate, monkeypatch, vendor_feed):
    monkeypatch.setenv("ELP_VENDOR_FEED", f"http://127.0.0.1:{closed_port()}/feed")
    request = portal.request_credits(ADMIN, animate["id"], 30)
    assert request["posted"] is False and "cannot be reached (ConnectError)" in request["post_error"]
    assert bank_doc(portal, animate["id"])["credits_requested"] == 130


def test_without_a_feed_a_request_is_not_posted(portal, animate, monkeypatch):
    monkeypatch.delenv("ELP_VENDOR_FEED", raising=False)
    request = portal.request_credits(ADMIN, animate["id"], 30)
    assert request["posted"] is None and request["post_error"] is None


# -- elp banks refresh, elp banks request ----------------------------------------------------------------
@pytest.fixture
def cli(cli_env, elp):
    return elp


def test_cli_refresh_prints_one_line_per_change(portal, animate, vendor_feed, cli):
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 180
    feed["seat_pools"] = [{"product": PAINT, "seats": 4}]
    vendor_feed.serve(feed)
    result = cli("banks", "refresh")
    assert result.code == 0, result.err
    assert "Changed since your last refresh:\n" in result.out
    assert f"  {animate['id']} (Quillstone Animate): credits_granted 100 → 180\n" in result.out
    assert "  new seat pool SP-0001 (Quillstone Paint): 4 seats\n" in result.out
    assert "180" in cli("banks", "list").out


def test_cli_refresh_offline_exits_1_with_one_line_and_changes_nothing(portal, animate, monkeypatch, vendor_feed, cli):
    monkeypatch.setenv("ELP_VENDOR_FEED", f"http://127.0.0.1:{closed_port()}/feed")
    before = file_bytes(portal)
    result = cli("banks", "refresh")
    assert result.code == 1
    assert result.err.startswith("elp: The vendor feed at http://127.0.0.1:") and result.err.count("\n") == 1
    assert result.out == ""
    assert file_bytes(portal) == before


def test_cli_refresh_of_a_bad_feed_names_the_field(portal, animate, vendor_feed, cli):
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = "lots"
    vendor_feed.serve(feed)
    result = cli("banks", "refresh")
    assert result.code == 1 and "banks[0].credits_granted" in result.err


def test_cli_request_says_whether_it_reached_the_feed(portal, animate, vendor_feed, cli):
    vendor_feed.serve(feed_of(portal), post_status=201)
    sent = cli("banks", "request", animate["id"], "--credits", "20", "--yes")
    assert sent.code == 0 and "Sent to the vendor's feed as well." in sent.out
    vendor_feed.serve(feed_of(portal), post_status=500)
    kept = cli("banks", "request", animate["id"], "--credits", "5", "--yes")
    assert kept.code == 0
    assert kept.err == (f"elp: The request is recorded (its email to the vendor is queued), but the vendor's feed did "
                        f"not take it: {vendor_feed.url}/requests answered HTTP 500.\n")
    assert [p["json"]["amount"] for p in vendor_feed.posts] == [20, 5]
    assert bank_doc(portal, animate["id"])["credits_requested"] == 125


# -- the network is never waited for under the store's lock ------------------------------------------------
def test_another_session_commits_while_refresh_waits_for_the_vendor(portal, animate, monkeypatch, vendor_feed):
    monkeypatch.setenv("ELP_FEED_TIMEOUT", "60")
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 300
    feed["banks"][0]["credits_requested"] = 300
    vendor_feed.serve(feed, hold=True)
    outcome: dict[str, Any] = {}

    def refresh() -> None:
        try:
            outcome["changes"] = portal.refresh_banks(ADMIN, None)[1]
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    worker = threading.Thread(target=refresh)
    worker.start()
    while not vendor_feed.gets:  # the GET reached the server and is held there
        assert worker.is_alive(), outcome
        time.sleep(0.01)
    # Another session commits meanwhile (a second admin's request): it would wait for the lock,
    # and the held GET would never be answered, if the refresh held the lock while fetching.
    other = Portal(Store(portal.store.path), fixed_clock(TODAY))
    committed = threading.Thread(target=lambda: outcome.setdefault("request", other.request_credits(ADMIN, animate["id"], 7)))
    committed.start()
    committed.join(30)
    assert not committed.is_alive(), "a commit waited on the lock while the refresh talked to the vendor"
    vendor_feed.release()
    worker.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["changes"] == [f"{animate['id']} (Quillstone Animate): credits_requested 107 → 300, "
                                  f"credits_granted 100 → 300"]
    assert outcome["request"]["amount"] == 7


# -- the app: Refresh banks in a thread worker, one line per change -------------------------------------------
async def test_app_refresh_shows_one_line_per_changed_bank_and_pool(portal, animate, vendor_feed, tmp_path):
    from tests.test_ui_dashboard_banks import app_for, open_banks, settle

    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 140
    feed["seat_pools"] = [{"product": PAINT, "seats": 6}]
    vendor_feed.serve(feed)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        table = await open_banks(pilot)
        await pilot.press("r")
        await settle(pilot)
        text = messages(app)
        assert "Banks refreshed: 2 changes" in text
        assert f"• {animate['id']} (Quillstone Animate): credits_granted 100 → 140" in text
        assert "• new seat pool SP-0001 (Quillstone Paint): 6 seats" in text
        assert [r["credits_granted"] for r in table.visible_rows()] == [140]
    assert bank_doc(portal, animate["id"])["credits_granted"] == 140


async def test_app_refresh_offline_says_so_and_changes_nothing(portal, animate, monkeypatch, vendor_feed, tmp_path):
    from tests.test_ui_dashboard_banks import app_for, open_banks, settle

    monkeypatch.setenv("ELP_VENDOR_FEED", f"http://127.0.0.1:{closed_port()}/feed")
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        table = await open_banks(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "Vendor feed\nThe vendor feed at http://127.0.0.1:" in messages(app)
        assert "cannot be reached (offline?)" in messages(app)
        assert [r["credits_granted"] for r in table.visible_rows()] == [100]
    assert file_bytes(portal) == before


async def test_app_request_says_when_the_feed_did_not_take_it(portal, animate, vendor_feed, tmp_path):
    from elp_tui.screens.dialogs import ConfirmDialog, FormDialog
    from tests.test_ui_dashboard_banks import app_for, open_banks, settle

    vendor_feed.serve(feed_of(portal), post_status=500)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_banks(pilot)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "the request form")
        await pilot.press(*"25", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await settle(pilot)
        assert "The request is recorded (its email to the vendor is queued), but the vendor's feed did not take it" in messages(app)
        assert "HTTP 500" in messages(app)
    assert [p["json"]["amount"] for p in vendor_feed.posts] == [25]
    assert bank_doc(portal, animate["id"])["credits_requested"] == 125
    assert activity(portal, "request-post-failed")


def test_cli_seat_request_is_posted_with_its_pool(portal, vendor_feed, cli):
    pool = grant_seats(portal, PAINT, 4)
    vendor_feed.serve(feed_of(portal), post_status=202)
    result = cli("seats", "request", "--product", PAINT, "--seats", "3", "--yes")
    assert result.code == 0 and "Sent to the vendor's feed as well." in result.out
    (post,) = vendor_feed.posts
    assert {k: post["json"][k] for k in ("organization", "kind", "target", "product", "amount", "actor", "state")} == {
        "organization": ORG, "kind": "seats", "target": pool["id"], "product": PAINT, "amount": 3, "actor": ADMIN,
        "state": "requested"}
    assert post["headers"]["Content-Type"] == "application/json"


def test_a_timeout_setting_that_cannot_work_is_named(portal, animate, monkeypatch, vendor_feed):
    from elp_tui.config import ConfigError

    vendor_feed.serve(feed_of(portal))
    monkeypatch.setenv("ELP_FEED_TIMEOUT", "soon")
    exc = refused(portal, ConfigError, portal.refresh_banks, ADMIN, None)
    assert "ELP_FEED_TIMEOUT='soon' is not a number of seconds" in str(exc)
    request = portal.request_credits(ADMIN, animate["id"], 5)  # the request stands; the POST is not tried
    assert request["posted"] is False and "ELP_FEED_TIMEOUT" in request["post_error"]
    assert vendor_feed.gets == [] and vendor_feed.posts == []


async def test_app_seat_request_reaches_the_feed_and_says_so(portal, vendor_feed, tmp_path):
    from elp_tui.screens.dialogs import ConfirmDialog, FormDialog
    from elp_tui.screens.teams import TeamsPage
    from tests.test_ui_people import app_for, back_on_page, on_screen, open_page

    grant_seats(portal, PAINT, 2)
    vendor_feed.serve(feed_of(portal), post_status=201)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(app, pilot, TeamsPage)
        await pilot.press("m")
        await on_screen(pilot, FormDialog)
        await pilot.press("5", "enter")
        await on_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await back_on_page(pilot)
        await until(pilot, lambda: "Sent to the vendor's feed as well." in messages(app), "the feed's answer said")
    assert [(p["json"]["kind"], p["json"]["amount"]) for p in vendor_feed.posts] == [("seats", 5)]


def test_cli_refresh_says_what_another_admins_refresh_brought_since_the_last_one(portal, animate, vendor_feed, cli):
    vendor_feed.serve(feed_of(portal))
    assert "First refresh" in cli("banks", "refresh").out
    feed = feed_of(portal)
    feed["banks"][0]["credits_granted"] = 180
    vendor_feed.serve(feed)
    portal.refresh_banks(ADMIN, None)  # another session (the app) took the grant in meanwhile
    result = cli("banks", "refresh")  # the feed brings nothing new now
    assert result.code == 0
    assert f"  {animate['id']} credits_granted: 100 → 180\n" in result.out
    assert "Nothing changed" in cli("banks", "refresh").out


def test_a_product_name_that_reads_like_another_is_refused(portal, animate, vendor_feed):
    feed = feed_of(portal)
    feed["builds"] = [{"product": "QUILLSTONE  ANIMATE", "version": "26.1", "released": "2026-11-20"}]
    feed["seat_pools"] = [{"product": "Quillstone animate", "seats": 3}]
    vendor_feed.serve(feed)
    before = file_bytes(portal)
    _banks, changes = portal.refresh_banks(ADMIN, None)
    assert changes == [
        "refused: build QUILLSTONE  ANIMATE 26.1: product 'QUILLSTONE  ANIMATE' reads like the existing "
        "'Quillstone Animate': the vendor must use one name.",
        "refused: seat pool of Quillstone animate: product 'Quillstone animate' reads like the existing "
        "'Quillstone Animate': the vendor must use one name.",
    ]
    assert file_bytes(portal) == before


# -- whatever the feed says, the organization keeps what it used ----------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(granted=st.integers(0, 200), start_days=st.integers(-90, 90), end_days=st.integers(-300, 300),
       months=st.integers(1, 12))
def test_no_feed_leaves_a_bank_below_its_use_or_short_of_its_licenses(tmp_path_factory, vendor_feed, granted,
                                                                     start_days, end_days, months):
    import datetime as dt
    import random

    portal = Portal(Store(tmp_path_factory.mktemp("feed") / "elp.json"), fixed_clock(TODAY), rng=random.Random(7))
    portal.init_organization("Lumenfox Studios", ADMIN)
    bank = grant_bank(portal, product=ANIMATE, credits=100, start="2026-11-01", expires_on="2027-11-01")
    use_credits(portal, bank["id"], months=months, quantity=2)
    feed = feed_of(portal)
    start = dt.date(2026, 11, 1) + dt.timedelta(days=start_days)
    end = dt.date(2027, 11, 1) + dt.timedelta(days=end_days)
    assume(end > start)
    feed["banks"][0].update(credits_granted=granted, start=start.isoformat(), expires_on=end.isoformat())
    vendor_feed.serve(feed)

    _banks, changes = portal.refresh_banks(ADMIN, None)

    (row,) = portal.list_banks(ADMIN)
    assert row["credits_granted"] >= row["used"] == 2 * months
    for lic in portal.list_licenses(ADMIN):
        assert row["start"] <= lic["start"] and lic["expires_on"] <= row["expires_on"]
    assert portal.check() == []
    applied = (row["credits_granted"], row["start"], row["expires_on"]) == (granted, start.isoformat(), end.isoformat())
    assert applied != any(line.startswith("refused: bank") for line in changes), changes


def test_a_new_bank_that_has_already_expired_is_not_added(portal, animate, vendor_feed):
    """As with the vendor's own grant: a bank whose credits could never be spent is refused, said, not stored."""
    feed = feed_of(portal)
    feed["banks"].append({"id": "QS-0100", "product": "Quillstone Storyboard", "credits_requested": 60,
                          "credits_granted": 60, "start": "2025-01-01", "expires_on": "2026-01-01",
                          "product_version": "25.2", "portable": False})
    vendor_feed.serve(feed)
    before = file_bytes(portal)

    banks, changes = portal.refresh_banks(ADMIN, None)

    assert "QS-0100" not in {b["id"] for b in banks}
    assert changes == [f"refused: bank QS-0100: it expires on 2026-01-01, which is not after today ({portal.today()}): its credits "
                       "could never be spent, so it is not added. Ask the vendor to correct its expiry."]
    assert file_bytes(portal) == before, "a feed whose only change is refused leaves the store as it was"
