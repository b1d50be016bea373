"""The wire format (elp_tui/wire.py): what a Portal method returns in-process is what a client of
`elp serve` gets back, value for value, and nothing the server does not know is ever built."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from elp_tui import wire
from elp_tui.portal import Portal, fixed_clock
from elp_tui.portal.authority import public_methods
from elp_tui.portal.errors import AdminRequired, NotFound, StaleQuote
from elp_tui.store import Store
from tests.conftest import TODAY


def over_the_wire(value):
    """`value` as a client receives it: encoded, through real JSON text, decoded."""
    return wire.decode(json.loads(json.dumps(wire.encode(value))))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from elp_tui.demo import write_demo

    path = tmp_path_factory.mktemp("wire") / "elp.json"
    who = write_demo(path, today=TODAY, progress=False)
    return Portal(Store(path), fixed_clock(TODAY)), who


READS = ["list_licenses", "list_banks", "list_users", "list_teams", "list_requests", "dashboard", "report",
         "seats_overview", "activity", "my_licenses", "list_versions", "outbox"]
# Read as someone who has some (the demo's admin holds no seat; its Team Admin does).
AS = {"my_seats": "team_admin", "my_licenses": "regular"}


@pytest.mark.parametrize("method", READS + ["my_seats"])
def test_every_read_comes_back_as_the_same_python_values(demo, method):
    portal, who = demo
    result = getattr(portal, method)(who[AS.get(method, "admin")])
    assert result, f"{method} returned nothing on the demo: the test would prove nothing"
    assert over_the_wire(result) == result


def test_typed_quotes_come_back_as_the_same_model(demo):
    portal, who = demo
    lic = next(row for row in portal.list_licenses(who["admin"]) if row["status"] == "active")
    quote = portal.quote_renew(who["admin"], lic["activation_id"])
    back = over_the_wire(quote)
    assert type(back) is type(quote) and back == quote
    assert back.lines() == quote.lines()  # a confirmation shows the same lines
    batch = portal.quote_batch_renew(who["admin"], [lic["activation_id"]])
    assert over_the_wire(batch) == batch


def test_dates_tuples_and_maps_that_json_cannot_tell_apart_survive():
    value = {"on": dt.date(2026, 11, 23), "at": dt.datetime(2026, 11, 23, 9, 30), "pair": (1, "a"),
             "by_number": {1: "x", (2, 3): "y"}, "$looks_like_a_tag": "text", "list": [dt.date(2027, 1, 1)]}
    assert over_the_wire(value) == value
    assert over_the_wire("2026-11-23") == "2026-11-23"  # text stays text


@pytest.mark.parametrize("hostile", [
    {"$model": "Popen", "data": {}},  # a class the wire does not carry is never looked up elsewhere
    {"$model": "GenerateQuote", "data": {"bank": "b"}},  # a quote missing its fields
    {"$date": "not a date"},
    {"$row": "CsvRow", "fields": "x" * 3},
    {"$enum": "LicenseType", "value": "free-for-all"},
    {"$date": "2026-11-23", "extra": 1},
    {"$unknown": 1},
])
def test_a_value_the_format_does_not_make_is_refused(hostile):
    with pytest.raises(wire.WireError):
        wire.decode(hostile)


def test_an_object_the_format_does_not_carry_is_refused_when_sent():
    with pytest.raises(wire.WireError):
        wire.encode(object())


def test_errors_come_back_as_the_same_class_with_the_same_message_and_data(demo):
    portal, who = demo
    refusal = AdminRequired("only admins", organization="org-1", actor="a@b.example", operation="renew")
    back = wire.decode_error(json.loads(json.dumps(wire.encode_error(refusal))))
    assert type(back) is AdminRequired and str(back) == "only admins"
    assert (back.organization, back.actor, back.operation) == ("org-1", "a@b.example", "renew")
    assert back.logged  # the server wrote its activity entry: a client must not write a second one

    lic = next(row for row in portal.list_licenses(who["admin"]) if row["status"] == "active")
    fresh = portal.quote_renew(who["admin"], lic["activation_id"])
    stale = wire.decode_error(json.loads(json.dumps(wire.encode_error(StaleQuote("changed meanwhile", fresh)))))
    assert type(stale) is StaleQuote and stale.fresh == fresh

    field = wire.decode_error(json.loads(json.dumps(wire.encode_error(NotFound("no such bank", field="bank")))))
    assert type(field) is NotFound and field.field == "bank"


def test_an_error_body_of_an_unknown_kind_is_still_one_clear_refusal():
    from elp_tui.errors import PortalError

    back = wire.decode_error({"error": {"type": "SomethingNew", "message": "the server says no"}})
    assert type(back) is PortalError and str(back) == "the server says no"
    assert isinstance(wire.decode_error("<html>proxy error</html>"), PortalError)


def test_local_only_names_real_portal_methods():
    """A typo in LOCAL_ONLY would expose a host-only job over HTTP without anyone noticing."""
    names = set(public_methods(Portal)) | {"license_row_actions", "license_term"}  # the two static ones
    assert wire.LOCAL_ONLY <= names
