"""Where the credits go (issue 13): the forecast arithmetic on hand-made ledgers with known
answers, the licenses expiring per week, seat use over time replayed from the activity log, and
`elp report` (text and --json) for admins only. Today is 2026-11-23 throughout (tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elp_tui.i18n import set_language
from elp_tui.portal import AdminRequired, PermissionDenied, Portal, fixed_clock
from elp_tui.portal.insight import (
    EXPIRED, IDLE, LOSES, ON_TRACK, RUNS_OUT, USED_UP, bank_summary, burn_down, burn_rate, expiring_per_week, forecast,
    forecast_sentence, seat_use_on, seat_use_over_time,
)
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.helpers import Result, cli_env, elp, grant_bank, grant_seats, only_refusal_logged, store_bytes, store_tables  # noqa: F401

ANA = "ana@lumenfox.studio"  # a regular member
PRODUCT = "Quillstone Animate"
SEATS = "Quillstone Sketch"


def bank(id: str = "BK-0005", granted: int = 2000, start: str = "2026-01-01", expires: str = "2027-06-02") -> dict[str, Any]:
    return {"id": id, "product": PRODUCT, "credits_granted": granted, "start": start, "expires_on": expires}


def charge(on: str, credits: int) -> dict[str, Any]:
    return {"on": on, "credits": credits}


# -- the forecast, by hand -------------------------------------------------------------------------
def test_a_steady_burn_runs_out_before_expiry_on_the_day_the_rate_says():
    # 900 credits in the last 90 days (2026-08-26 .. today): 10 a day. 110 spent long before.
    # 2000 - 1010 = 990 left: 99 days at 10 a day -> 2026-11-23 + 99 days = 2027-03-02.
    ledger = [charge("2026-03-01", 110), charge("2026-08-26", 300), charge("2026-10-01", 300), charge("2026-11-23", 300)]
    f = forecast(bank(), ledger, TODAY)
    assert (f["kind"], f["remaining"], f["rate"], f["window_days"], f["window_credits"]) == (RUNS_OUT, 990, 10.0, 90, 900)
    assert (f["runs_out_on"], f["months_before_expiry"], f["days_before_expiry"]) == ("2027-03-02", 3, 92)
    assert f["credits_at_risk"] == 0
    assert forecast_sentence(f) == "BK-0005 runs out around 2027-03-02, 3 months before it expires."
    assert bank_summary(f) == "BK-0005 Quillstone Animate: 990 credits left, runs out around 2027-03-02"


def test_a_charge_just_outside_the_window_does_not_count_in_the_rate():
    rate = burn_rate(bank(), [charge("2026-08-25", 500), charge("2026-08-26", 90)], TODAY)
    assert (rate["from"], rate["days"], rate["credits"], rate["per_day"]) == ("2026-08-26", 90, 90, 1.0)


def test_running_out_within_a_month_of_expiry_says_days():
    # 100 left at 10 a day: 2026-12-03, 12 days before a 2026-12-15 expiry.
    f = forecast(bank(granted=1000, expires="2026-12-15"), [charge("2026-10-01", 900)], TODAY)
    assert (f["kind"], f["runs_out_on"], f["months_before_expiry"], f["days_before_expiry"]) == (
        RUNS_OUT, "2026-12-03", 0, 12)
    assert forecast_sentence(f) == "BK-0005 runs out around 2026-12-03, 12 days before it expires."


def test_a_slow_burn_loses_credits_at_expiry():
    # 135 credits in the window (1.5 a day), 250 left, 22 days to the 2026-12-15 expiry:
    # 250 - 1.5 x 22 = 217 lost.
    ledger = [charge("2026-02-01", 215), charge("2026-09-01", 45), charge("2026-11-23", 90)]
    f = forecast(bank("BK-0002", granted=600, expires="2026-12-15"), ledger, TODAY)
    assert (f["kind"], f["remaining"], f["rate"], f["credits_at_risk"], f["runs_out_on"]) == (LOSES, 250, 1.5, 217, None)
    assert forecast_sentence(f) == "At this rate BK-0002 will lose about 217 credits on 2026-12-15."
    assert bank_summary(f) == "BK-0002 Quillstone Animate: 250 credits left, about 217 lost on 2026-12-15"


def test_credits_lost_are_rounded_half_up():
    # A bank begun 45 days ago (2026-10-10): 56 credits charged, 56/45 a day; 22 days left:
    # 300 - 56 - 56/45 x 22 = 244 - 27.38 = 216.62 -> 217.
    young = bank("BK-0009", granted=300, start="2026-10-10", expires="2026-12-15")
    f = forecast(young, [charge("2026-10-10", 56)], TODAY)
    assert (f["window_days"], f["credits_at_risk"]) == (45, 217)
    # Exactly half: 2 credits over 4 days (0.5 a day), 7 days left, 10 left: 10 - 3.5 = 6.5 -> 7.
    half = bank("BK-0010", granted=12, start="2026-11-20", expires="2026-11-30")
    assert forecast(half, [charge("2026-11-21", 2)], TODAY)["credits_at_risk"] == 7


def test_a_bank_with_no_use_loses_everything_it_has():
    f = forecast(bank("BK-0003", granted=500, start="2026-06-01", expires="2027-01-01"), [], TODAY)
    assert (f["kind"], f["remaining"], f["rate"], f["credits_at_risk"], f["window_days"]) == (IDLE, 500, 0.0, 500, 90)
    assert forecast_sentence(f) == (
        "BK-0003 has charged no credits in the last 90 days: at this rate all its 500 credits will be lost on 2027-01-01.")


def test_a_bank_that_begins_later_and_has_charged_nothing_risks_all_it_has():
    f = forecast(bank("BK-0008", granted=300, start="2027-01-01", expires="2027-07-01"), [], TODAY)
    assert (f["kind"], f["remaining"], f["window_days"], f["credits_at_risk"]) == (IDLE, 300, 0, 300)
    assert forecast_sentence(f) == (
        "BK-0008 has charged no credits yet: at this rate all its 300 credits will be lost on 2027-07-01.")
    # Licenses generated ahead of its start: the rate runs from the first charge (3 days: 30 credits, 10 a
    # day), and 270 left last 27 days from today.
    ahead = forecast(bank("BK-0008", granted=300, start="2027-01-01", expires="2027-07-01"),
                     [charge("2026-11-21", 30)], TODAY)
    assert (ahead["window_days"], ahead["rate"], ahead["kind"], ahead["runs_out_on"]) == (3, 10.0, RUNS_OUT, "2026-12-20")


def test_an_expired_bank_says_what_was_lost_and_nothing_remains():
    f = forecast(bank("BK-0001", granted=500, start="2026-01-01", expires="2026-10-01"), [charge("2026-02-01", 120)], TODAY)
    assert (f["kind"], f["remaining"], f["credits_at_risk"]) == (EXPIRED, 0, 380)
    assert forecast_sentence(f) == "BK-0001 expired on 2026-10-01: 380 unused credits were lost."
    points = burn_down(bank("BK-0001", granted=500, start="2026-01-01", expires="2026-10-01"), [charge("2026-02-01", 120)],
                       TODAY)
    assert points == [{"on": "2026-01-01", "remaining": 500}, {"on": "2026-02-01", "remaining": 380},
                      {"on": "2026-10-01", "remaining": 380}, {"on": "2026-10-01", "remaining": 0}]
    spent = forecast(bank("BK-0001", granted=100, expires="2026-10-01"), [charge("2026-02-01", 100)], TODAY)
    assert (spent["kind"], spent["credits_at_risk"]) == (EXPIRED, 0)
    assert forecast_sentence(spent) == "BK-0001 expired on 2026-10-01 with every credit used."


def test_a_used_up_bank_has_nothing_at_risk():
    f = forecast(bank("BK-0004", granted=100), [charge("2026-11-01", 60), charge("2026-11-20", 40)], TODAY)
    assert (f["kind"], f["remaining"], f["credits_at_risk"], f["runs_out_on"]) == (USED_UP, 0, 0, None)
    assert forecast_sentence(f) == "BK-0004 is used up: no credits left before it expires on 2027-06-02."


def test_spending_the_last_credit_around_the_expiry_day_loses_about_none():
    # 10 a day, 220 left, 22 days left: all spent on the expiry day itself.
    f = forecast(bank("BK-0006", granted=1120, expires="2026-12-15"), [charge("2026-10-01", 900)], TODAY)
    assert (f["kind"], f["credits_at_risk"], f["runs_out_on"]) == (ON_TRACK, 0, "2026-12-15")


def test_the_burn_down_steps_once_per_charging_day_and_ends_today():
    ledger = [charge("2026-10-02", 5), charge("2026-10-02", 10), charge("2026-11-01", 25)]
    assert burn_down(bank(granted=100, start="2026-10-01"), ledger, TODAY) == [
        {"on": "2026-10-01", "remaining": 100}, {"on": "2026-10-02", "remaining": 85},
        {"on": "2026-11-01", "remaining": 60}, {"on": "2026-11-23", "remaining": 60},
    ]


def test_a_scheduled_license_is_charged_once_when_generated(portal):
    """A license that starts later was charged when it was generated: the forecast counts it as
    spent (remaining 98, not 100), once (not 96), and in the burn rate of a bank begun 23 days ago."""
    b = grant_bank(portal, product=PRODUCT, credits=100, start="2026-11-01", expires_on="2027-05-01")
    quote = portal.quote_generate(ADMIN, bank=b["id"], type="node-lock", months=2, quantity=1, start="2027-01-01",
                                  email=ADMIN)
    [lic] = portal.generate(ADMIN, quote)
    assert lic["status"] == "scheduled" and lic["credits_used"] == 2
    [row] = portal.report(ADMIN)["banks"]
    # 2 credits over 23 days (2026-11-01 .. today), 159 days to 2027-05-01: 98 - 2/23 x 159 = 84.17.
    assert (row["remaining"], row["used"], row["window_days"], row["window_credits"]) == (98, 2, 23, 2)
    assert (row["kind"], row["credits_at_risk"]) == (LOSES, 84)
    assert row["sentence"] == f"At this rate {b['id']} will lose about 84 credits on 2027-05-01."


# -- licenses expiring per week -------------------------------------------------------------------
def test_licenses_expiring_per_week_for_the_next_twelve_weeks():
    days = [0, 1, 7, 7, 8, 30, 84, 85, -3]  # expiry, days from today
    licenses = [{"expires_on": (TODAY + dt.timedelta(days=d)).isoformat()} for d in days]
    licenses.append({"expires_on": "2026-11-26", "assignee": None})  # returned: it expires too
    weeks = expiring_per_week(licenses, TODAY)
    assert len(weeks) == 12
    assert weeks[0] == {"week": 1, "from": "2026-11-24", "to": "2026-11-30", "licenses": 4}
    assert weeks[1] == {"week": 2, "from": "2026-12-01", "to": "2026-12-07", "licenses": 1}
    assert weeks[4] == {"week": 5, "from": "2026-12-22", "to": "2026-12-28", "licenses": 1}  # today + 30
    assert weeks[11] == {"week": 12, "from": "2027-02-09", "to": "2027-02-15", "licenses": 1}  # today + 84
    assert sum(w["licenses"] for w in weeks) == 7  # today (expired), today + 85, the past: not counted


# -- seat use over time ----------------------------------------------------------------------------
def log(seq: int, on: str, action: str, target: str, details: str = "") -> dict[str, Any]:
    return {"seq": seq, "on": on, "action": action, "target": target, "details": details}


def test_seat_use_is_replayed_from_the_activity_log():
    entries = [
        log(1, "2026-09-01", "team-add", "Story", "ana@x.io joined (took an unused seat)"),
        log(2, "2026-09-01", "team-add", "Story", "bob@x.io joined (took an unused seat)"),
        log(3, "2026-09-02", "sign-in", "ana@x.io", "first sign-in: invited -> active"),
        log(4, "2026-09-05", "team-add", "Layout", "ana@x.io joined (reuses their seat)"),
        log(5, "2026-09-06", "team-remove", "Story", "ana@x.io left"),  # still in Layout: active
        log(6, "2026-09-07", "team-remove", "Story", "bob@x.io left (now unassigned: still holds the seat)"),
        log(7, "2026-09-08", "user-invite", "cy@x.io", "invited as regular"),  # no seat
        log(8, "2026-09-09", "user-delete", "bob@x.io", "removed from the organization; 1 seat(s) returned to the pool"),
        log(9, "2026-09-10", "team-add", "Other", "cy@x.io joined (took an unused seat)"),  # another pool
    ]
    series = seat_use_over_time(entries, {"Story": "SP-1", "Layout": "SP-1", "Other": "SP-2"})
    assert series["SP-1"] == [
        {"on": "2026-09-01", "active": 0, "pending": 2, "unassigned": 0},
        {"on": "2026-09-02", "active": 1, "pending": 1, "unassigned": 0},
        {"on": "2026-09-07", "active": 1, "pending": 0, "unassigned": 1},
        {"on": "2026-09-09", "active": 1, "pending": 0, "unassigned": 0},
    ]
    assert series["SP-2"] == [{"on": "2026-09-10", "active": 0, "pending": 1, "unassigned": 0}]
    assert seat_use_on(series["SP-1"], dt.date(2026, 9, 8)) == {"active": 1, "pending": 0, "unassigned": 1}
    assert seat_use_on(series["SP-1"], dt.date(2026, 8, 31)) == {"active": 0, "pending": 0, "unassigned": 0}


def on_day(portal: Portal, day: str) -> Portal:
    return Portal(portal.store, fixed_clock(dt.date.fromisoformat(day)), rng=random.Random(3))


def test_the_report_s_seat_use_ends_with_the_seats_the_pool_shows(portal):
    grant_seats(portal, SEATS, 5)
    on_day(portal, "2026-11-20").create_team(ADMIN, "Story", SEATS)
    on_day(portal, "2026-11-20").team_add(ADMIN, "Story", ANA)
    on_day(portal, "2026-11-20").team_add(ADMIN, "Story", "bob@lumenfox.studio")
    on_day(portal, "2026-11-21").sign_in(ANA)
    on_day(portal, "2026-11-22").team_remove(ADMIN, "Story", "bob@lumenfox.studio")
    [pool] = portal.report(ADMIN)["seats"]
    assert pool["points"] == [
        {"on": "2026-11-20", "active": 0, "pending": 2, "unassigned": 0},
        {"on": "2026-11-21", "active": 1, "pending": 1, "unassigned": 0},
        {"on": "2026-11-22", "active": 1, "pending": 0, "unassigned": 1},
    ]
    [shown] = portal.seats_overview(ADMIN)
    assert {k: pool[k] for k in ("purchased", "active", "pending", "unassigned", "unused")} == {
        k: shown[k] for k in ("purchased", "active", "pending", "unassigned", "unused")}


# -- the report, its authority, the CLI --------------------------------------------------------------
def hand_made_ledger(portal: Portal, bank_id: str, entries: list[tuple[str, int]]) -> None:
    """Ledger entries written straight into the store (dates of our choosing), as a past of generations."""
    with portal.store.transaction() as db:
        for on, credits in entries:
            db.insert("ledger", {"id": db.next_seq("ledger"), "bank": bank_id, "license": "HAND-MADE", "credits": credits,
                                 "reason": "generate", "actor": ADMIN, "on": on})


@pytest.fixture
def banks(portal) -> dict[str, str]:
    steady = grant_bank(portal, product=PRODUCT, credits=2000, start="2026-01-01", expires_on="2027-06-02")
    slow = grant_bank(portal, product=PRODUCT, credits=600, start="2026-01-01", expires_on="2026-12-15")
    hand_made_ledger(portal, steady["id"], [("2026-03-01", 110), ("2026-08-26", 300), ("2026-10-01", 300), ("2026-11-23", 300)])
    hand_made_ledger(portal, slow["id"], [("2026-02-01", 215), ("2026-09-01", 45), ("2026-11-23", 90)])
    return {"steady": steady["id"], "slow": slow["id"]}


def test_the_report_has_each_bank_s_forecast_and_sentence(portal, banks):
    r = portal.report(ADMIN)
    assert (r["today"], r["window_days"]) == ("2026-11-23", 90)
    rows = {b["bank"]: b for b in r["banks"]}
    assert rows[banks["steady"]]["runs_out_on"] == "2027-03-02"
    assert rows[banks["slow"]]["credits_at_risk"] == 217
    assert rows[banks["slow"]]["sentence"] == f"At this rate {banks['slow']} will lose about 217 credits on 2026-12-15."
    assert rows[banks["steady"]]["burn_down"][-1] == {"on": "2026-11-23", "remaining": 990}
    assert [b["bank"] for b in r["banks"]] == [banks["slow"], banks["steady"]]  # by expiry, as Manage Banks
    assert len(r["expiring_per_week"]) == 12 and r["seats"] == []


def test_a_regular_member_is_refused_the_report_and_the_refusal_logged(portal, banks):
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    before = store_tables(portal.store.path)
    with pytest.raises(AdminRequired, match="only organization admins"):
        portal.report(ANA)
    only_refusal_logged(before, store_tables(portal.store.path), ANA, "report")


def test_the_vendor_s_staff_have_no_organization_report(portal, banks):
    before = store_bytes(portal.store.path)
    with pytest.raises(PermissionDenied, match="vendor's team"):
        portal.report(VENDOR)
    assert store_bytes(portal.store.path) == before


@pytest.mark.usefixtures("cli_env")
def test_elp_report_json_gives_the_portal_s_figures(portal, banks, elp):
    result = elp("report", "--json")
    assert result.code == 0 and result.err == ""
    assert result.json() == portal.report(ADMIN)


@pytest.mark.usefixtures("cli_env")
def test_elp_report_prints_a_table_and_the_forecasts(portal, banks, elp):
    grant_seats(portal, SEATS, 5)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Story", ANA)
    result = elp("report")
    assert result.code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == "Credit banks: burn rate over the last 90 days, forecast to each bank's expiry (today 2026-11-23)."
    assert lines[1].split() == ["BANK", "PRODUCT", "REMAINING", "PER", "DAY", "EXPIRES", "RUNS", "OUT", "AT", "RISK"]
    assert lines[2].split() == [banks["slow"], "Quillstone", "Animate", "250", "1.50", "2026-12-15", "-", "217"]
    assert lines[3].split() == [banks["steady"], "Quillstone", "Animate", "990", "10.00", "2027-06-02", "2027-03-02", "0"]
    assert f"  At this rate {banks['slow']} will lose about 217 credits on 2026-12-15." in lines
    assert f"  {banks['steady']} runs out around 2027-03-02, 3 months before it expires." in lines
    week = lines.index("Licenses expiring per week:")
    assert lines[week + 1].split() == ["WEEK", "FROM", "TO", "LICENSES"]
    assert lines[week + 2].split() == ["1", "2026-11-24", "2026-11-30", "0"]
    assert "Seat use, Quillstone Sketch (SP-0001): 5 purchased, 4 unused today." in lines
    assert lines[-1].split() == ["2026-11-23", "0", "1", "0"]  # ANA invited by the team: pending today
    assert lines[-2].split() == ["2026-10-23", "0", "0", "0"]


@pytest.mark.usefixtures("cli_env")
def test_elp_report_by_a_regular_member_is_refused_and_logged(portal, banks, elp, store_path):
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    before = store_tables(store_path)
    result = elp("report", user=ANA)
    assert result.code == 1 and result.out == "" and "only organization admins" in result.err
    only_refusal_logged(before, store_tables(store_path), ANA, "elp report")


def test_the_sentences_in_french_group_numbers_as_french_does():
    f = forecast(bank("BK-0002", granted=6000, expires="2026-12-15"), [charge("2026-02-01", 2000)], TODAY)
    set_language("fr")
    try:
        sentence = forecast_sentence(f)
    finally:
        set_language("en")
    assert sentence == ("La banque BK-0002 n'a consommé aucun crédit ces 90 derniers jours\u202f: à ce rythme, "
                        "ses 4\u202f000 crédits seront tous perdus le 2026-12-15.")


# -- whatever the ledger, the forecast holds together ----------------------------------------------


@settings(max_examples=300, deadline=None)
@given(granted=st.integers(0, 5000), start=st.integers(-500, 100), length=st.integers(1, 900),
       charges=st.lists(st.tuples(st.integers(0, 900), st.integers(0, 300)), max_size=30))
def test_the_forecast_holds_together_whatever_the_ledger(granted, start, length, charges):
    """Remaining never below zero; what is at risk is at most what is left; a bank that runs out
    does so after today and before its expiry; one that loses credits loses what the rate leaves
    (to the rounding); the burn-down only goes down and ends at today's remaining."""
    begins = TODAY + dt.timedelta(days=start)
    expires = begins + dt.timedelta(days=length)
    last = min(TODAY, expires - dt.timedelta(days=1))
    ledger, spent = [], 0
    for offset, credits in charges:  # charged on a day between the bank's start and today (or its last day)
        day = begins + dt.timedelta(days=offset)
        if day <= last and spent + credits <= granted:
            ledger.append(charge(day.isoformat(), credits))
            spent += credits
    b = bank("BK-0001", granted=granted, start=begins.isoformat(), expires=expires.isoformat())
    f = forecast(b, ledger, TODAY)
    left = granted - spent
    assert f["remaining"] == (0 if TODAY >= expires else left) and f["remaining"] >= 0
    assert 0 <= f["credits_at_risk"] <= left
    if f["kind"] == RUNS_OUT:
        assert TODAY < dt.date.fromisoformat(f["runs_out_on"]) < expires and f["credits_at_risk"] == 0
    if f["kind"] == LOSES:
        lost = left - f["window_credits"] / f["window_days"] * (expires - TODAY).days
        assert abs(f["credits_at_risk"] - lost) <= 0.5 + 1e-9 and f["credits_at_risk"] > 0
    if f["kind"] in (IDLE, EXPIRED):
        assert f["credits_at_risk"] == left
    assert f["kind"] != USED_UP or left == 0
    assert forecast_sentence(f) and bank_summary(f)
    points = burn_down(b, ledger, TODAY)
    assert all(a["remaining"] >= z["remaining"] and a["on"] <= z["on"] for a, z in zip(points, points[1:]))
    assert points[-1]["remaining"] == f["remaining"]
