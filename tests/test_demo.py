"""The demo store: consistent (Portal.check), deterministic, and showing every case of the portal."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import stat
import subprocess
import sys
from collections import Counter, defaultdict

import pytest
from email_validator import validate_email

from elp_tui.demo import build_demo, write_demo
from elp_tui.demo.progress import ProgressBar
from elp_tui.models import (
    Activity, Bank, Email, LedgerEntry, License, Organization, Product, Request, Restriction, SeatHolder, SeatPool, Team,
    User,
)
from elp_tui.portal import Portal, fixed_clock
from elp_tui.portal.credits import license_status, return_blocked_reason
from elp_tui.portal.dates import add_months, months_to_cover
from elp_tui.store import Store, StoreError

from tests.helpers import store_bytes, store_mtimes

TODAY = dt.date(2026, 11, 23)
# Month ends, a leap day, a year end: the cases must not depend on the calendar.
OTHER_DAYS = [dt.date(2025, 1, 31), dt.date(2024, 2, 29), dt.date(2027, 12, 31), dt.date(2026, 3, 1)]
AID = re.compile(r"^[ABCDEFGHJKMNPQRSTWXYZ23456789]{4}(-[ABCDEFGHJKMNPQRSTWXYZ23456789]{4}){3}$")
MODELS = {
    "organizations": Organization, "users": User, "products": Product, "restrictions": Restriction, "banks": Bank,
    "licenses": License, "ledger": LedgerEntry, "seat_pools": SeatPool, "seat_holders": SeatHolder, "teams": Team,
    "requests": Request, "activity": Activity, "outbox": Email,
}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small demo written once for the read-only tests of this module."""
    path = tmp_path_factory.mktemp("demo") / "store" / "elp.json"
    result = write_demo(path, today=TODAY, progress=False)
    return path, result


def tables_of(path) -> dict:
    return Store(path).tables()


def docs(tables: dict, name: str) -> list[dict]:
    return list(tables[name].values())


def cases(tables: dict, today: dt.date) -> dict[str, object]:
    """What the demo shows, in the portal's words, computed from the documents alone."""
    t = today.isoformat()
    banks = {b["id"]: b for b in docs(tables, "banks")}
    used: dict[str, int] = defaultdict(int)
    for entry in docs(tables, "ledger"):
        used[entry["bank"]] += entry["credits"]
    kinds = set()
    for bank in banks.values():
        left = bank["credits_granted"] - used[bank["id"]]
        expired = t >= bank["expires_on"]
        days_left = (dt.date.fromisoformat(bank["expires_on"]) - today).days
        if expired and left > 0:
            kinds.add("expired-with-forfeit")
        if not expired and days_left <= 30 and left > 0:
            kinds.add("expiring-within-30-days-with-unused")
        if not expired and 0 < left and left * 20 < bank["credits_granted"]:
            kinds.add("nearly-exhausted")
        if return_blocked_reason(bank) is None:
            kinds.add("portable-25.1+")
        if not bank["portable"]:
            kinds.add("non-portable")
        if bank["portable"] and return_blocked_reason(bank):
            kinds.add("portable-before-25.1")
        if bank["credits_requested"] > bank["credits_granted"]:
            kinds.add("pending-request")
    licenses = docs(tables, "licenses")
    users = {u["email"]: u for u in docs(tables, "users")}
    return {
        "banks": kinds,
        "statuses": Counter(license_status(lic, t) for lic in licenses),
        "types": Counter(lic["type"] for lic in licenses),
        "reasons": Counter(e["reason"] for e in docs(tables, "ledger")),
        "user_states": Counter((u["role"], u["status"]) for u in users.values()),
        "inactive_holding": [lic for lic in licenses if lic["assignee"] and users[lic["assignee"]]["status"] == "inactive"],
        "invited_holding": [lic for lic in licenses if lic["assignee"] and users[lic["assignee"]]["status"] == "invited"],
    }


def seat_states(portal: Portal, admin: str) -> dict:
    return portal.seats_overview(admin)[0]


# -- consistency ---------------------------------------------------------------------
@pytest.mark.parametrize("today", [TODAY, *OTHER_DAYS], ids=str)
def test_small_demo_passes_check_and_shows_every_case(tmp_path, today):
    path = tmp_path / "elp.json"
    result = write_demo(path, today=today, progress=False)
    portal = Portal(Store(path), fixed_clock(today))
    assert portal.check() == []

    tables = tables_of(path)
    seen = cases(tables, today)
    assert seen["banks"] >= {
        "expired-with-forfeit", "expiring-within-30-days-with-unused", "nearly-exhausted", "portable-25.1+",
        "non-portable", "portable-before-25.1", "pending-request",
    }
    assert set(seen["statuses"]) == {"scheduled", "active", "expired", "returned"}
    assert all(seen["statuses"][s] >= 3 for s in ("scheduled", "active", "expired", "returned"))
    assert set(seen["types"]) == {"node-lock", "multiseat", "floating"}
    assert seen["reasons"]["renew"] >= 2 and seen["reasons"]["renew-computers"] >= 1
    assert seen["inactive_holding"] and seen["invited_holding"]
    states = seen["user_states"]
    assert states[("admin", "active")] >= 2
    assert states[("regular", "invited")] >= 3 and states[("regular", "inactive")] >= 2

    pool = seat_states(portal, result["admin"])
    assert pool["active"] and pool["pending"] and pool["unassigned"] and pool["unused"] > 0
    assert 4 <= len(pool["teams"]) <= 5
    assert any(m["state"] == "active" for t in pool["teams"] for m in t["members"])
    # Somebody is in several teams and still holds one seat.
    membership = Counter(m["email"] for t in pool["teams"] for m in t["members"])
    assert max(membership.values()) >= 2

    versions = {v["product"]: v for v in portal.list_versions(result["admin"])}
    restricted = [v for v in versions.values() if v["restriction"] == "enabled"]
    assert restricted
    assert 0 < sum(b["accessible"] for b in restricted[0]["builds"]) < len(restricted[0]["builds"])


def test_small_demo_sizes_and_names(small):
    path, result = small
    tables = tables_of(path)
    orgs = {o["id"]: o["name"] for o in docs(tables, "organizations")}
    assert sorted(orgs.values()) == ["Brightmoor Animation", "Lumenfox Studios"]
    main = next(i for i, n in orgs.items() if n == "Lumenfox Studios")
    users = docs(tables, "users")
    assert 35 <= sum(u["organization"] == main for u in users) <= 45
    licenses = docs(tables, "licenses")
    assert 140 <= len(licenses) <= 160
    assert {lic["organization"] for lic in licenses} == set(orgs)  # the second organization has licenses too
    assert {b["organization"] for b in docs(tables, "banks")} == set(orgs)
    products = {p["name"]: p for p in docs(tables, "products")}
    assert Counter(p["kind"] for p in products.values()) == {"credits": 2, "seats": 1}
    for product in products.values():
        assert 3 <= len(product["builds"]) <= 5
        for build in product["builds"]:
            assert set(build["downloads"]) == {"windows", "macos", "linux"}
            assert all(url.startswith("https://downloads.quillstone.example.com/") for url in build["downloads"].values())
            assert all(build["version"] in url for url in build["downloads"].values())
    assert any("[" in t["name"] and "]" in t["name"] for t in docs(tables, "teams"))  # markup-safety case
    assert result["counts"] == {name: len(table) for name, table in tables.items() if name != "_meta"}
    assert result["store"] == str(path)


def test_every_row_matches_its_model(small):
    """Rows are built as plain dicts for speed: they must be exactly what the models would write."""
    path, _ = small
    tables = tables_of(path)
    assert set(MODELS) <= set(tables)
    for name, model in MODELS.items():
        rows = docs(tables, name)
        assert rows, name
        assert list(tables[name]) == [str(n) for n in range(1, len(rows) + 1)], name
        for doc in rows:
            assert model.model_validate(doc).to_doc() == doc, (name, doc)
            assert list(model.model_validate(doc).to_doc()) == list(doc), (name, doc)


def test_rules_hold_row_by_row(small):
    path, _ = small
    tables = tables_of(path)
    t = TODAY.isoformat()
    banks = {b["id"]: b for b in docs(tables, "banks")}
    users = {u["email"]: u for u in docs(tables, "users")}
    ledger: dict[str, list[dict]] = defaultdict(list)
    for entry in docs(tables, "ledger"):
        ledger[entry["license"]].append(entry)
        assert entry["on"] <= t
    for email, user in users.items():
        assert email == email.lower()
        validate_email(email, check_deliverability=False)
    assert len({lic["activation_id"] for lic in docs(tables, "licenses")}) == len(tables["licenses"])
    for lic in docs(tables, "licenses"):
        bank = banks[lic["bank"]]
        assert AID.match(lic["activation_id"])
        assert bank["start"] <= lic["start"] < lic["expires_on"] <= bank["expires_on"]
        assert lic["created_on"] <= lic["start"] and lic["created_on"] <= t
        assert (lic["computers"] == 1) == (lic["type"] == "node-lock")
        assert lic["computers"] <= 29
        if lic["assignee"] is None:
            assert return_blocked_reason(bank) is None and lic["expires_on"] > t
        else:
            assert users[lic["assignee"]]["organization"] == lic["organization"]
        entries = ledger[lic["activation_id"]]
        assert sum(e["credits"] for e in entries) == lic["credits_used"]
        if len(entries) == 1:  # never renewed: computers x months covered
            start, end = dt.date.fromisoformat(lic["start"]), dt.date.fromisoformat(lic["expires_on"])
            assert lic["credits_used"] == lic["computers"] * months_to_cover(start, end)
        assert sorted(e["reason"] for e in entries)[0] == "generate"


def test_activity_log_is_an_ordered_history(small):
    path, result = small
    tables = tables_of(path)
    entries = docs(tables, "activity")
    assert [a["seq"] for a in entries] == list(range(1, len(entries) + 1))
    stamps = [a["at"] for a in entries]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(a["at"].startswith(a["on"]) and a["on"] <= TODAY.isoformat() for a in entries)
    actions = Counter(a["action"] for a in entries)
    for action in ("org-create", "user-invite", "sign-in", "bank-add", "license-generate", "license-renew",
                   "license-return", "license-assign", "team-create", "team-add", "team-remove", "user-status",
                   "versions-restrict", "credits-request", "seats-add"):
        assert actions[action] >= 1, action
    assert actions["org-create"] == 2 and entries[0]["action"] == "org-create"
    generated = sum(a["credits"] for a in entries if a["action"] in ("license-generate", "license-renew"))
    assert generated == sum(e["credits"] for e in docs(tables, "ledger"))
    assert 1 <= len(tables["outbox"]) <= 12
    assert docs(tables, "requests")


# -- determinism and writing -------------------------------------------------------------
def test_same_today_same_bytes(tmp_path):
    first, second = tmp_path / "a" / "elp.json", tmp_path / "b" / "elp.json"
    write_demo(first, today=TODAY, progress=False)
    write_demo(second, today=TODAY, progress=False)
    assert store_bytes(first) == store_bytes(second)
    third = tmp_path / "c" / "elp.json"
    write_demo(third, today=TODAY + dt.timedelta(days=1), progress=False)
    assert store_bytes(third) != store_bytes(first)


def test_today_defaults_to_the_portal_clock(tmp_path, monkeypatch):
    monkeypatch.setenv("ELP_TODAY", "2025-06-15")
    path = tmp_path / "elp.json"
    write_demo(path, progress=False)
    orgs = docs(tables_of(path), "organizations")
    assert orgs[0]["created_on"] == add_months(dt.date(2025, 6, 15), -26).isoformat()
    assert Portal(Store(path), fixed_clock("2025-06-15")).check() == []


def test_refuses_to_replace_a_store_without_force(tmp_path):
    path = tmp_path / "elp.json"
    path.write_bytes(b'{"precious": true}')
    before = store_mtimes(path)
    with pytest.raises(StoreError, match=r"already exists at .*elp\.json: pass --force"):
        write_demo(path, today=TODAY, progress=False)
    assert store_bytes(path) == b'{"precious": true}'
    assert store_mtimes(path) == before
    write_demo(path, today=TODAY, force=True, progress=False)
    assert Portal(Store(path), fixed_clock(TODAY)).check() == []


def test_written_privately_in_one_file(tmp_path):
    path = tmp_path / "new" / "elp.json"
    write_demo(path, today=TODAY, progress=False)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == ["elp.json"]


def test_unknown_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="small or large"):
        write_demo(tmp_path / "elp.json", size="huge", today=TODAY, progress=False)
    assert not (tmp_path / "elp.json").exists()


# -- who can sign in -----------------------------------------------------------------------
def test_admin_and_regular_can_sign_in(small):
    path, result = small
    portal = Portal(Store(path), fixed_clock(TODAY))
    admin = portal.sign_in(result["admin"])
    assert admin["role"] == "admin" and admin["status"] == "active"
    regular = portal.sign_in(result["regular"])
    assert regular["role"] == "regular" and regular["status"] == "active"
    assert regular["organization"] == admin["organization"]
    mine = portal.my_licenses(result["regular"])
    assert {lic["status"] for lic in mine} >= {"active", "expired", "scheduled"}
    assert any(len(lic["downloads"]) < 4 for lic in mine)  # a restricted product hides some builds
    assert portal.list_licenses(result["admin"])


def test_the_portal_keeps_working_on_the_demo(tmp_path):
    """Real operations on top of the demo: the next IDs and sequences continue cleanly."""
    path = tmp_path / "elp.json"
    result = write_demo(path, today=TODAY, progress=False)
    portal = Portal(Store(path), fixed_clock(TODAY))
    admin = result["admin"]
    bank = next(b for b in portal.list_banks(admin) if not b["return_blocked"] and b["remaining"] >= 10 and b["start"] <= TODAY.isoformat())
    quote = portal.quote_generate(admin, bank=bank["id"], type="node-lock", months=2, quantity=1,
                                  start=TODAY, email=result["regular"])
    created = portal.generate(admin, quote)
    portal.renew(admin, portal.quote_renew(admin, created[0]["activation_id"], months=1))
    portal.return_license(admin, created[0]["activation_id"], result["regular"])
    returned = next(lic for lic in portal.list_licenses(admin) if lic["status"] == "returned")
    portal.assign_license(admin, returned["activation_id"], result["regular"])
    assert portal.check() == []
    tables = tables_of(path)
    for name in ("ledger", "activity", "outbox"):
        key = "seq" if name == "activity" else "id"
        numbers = [d[key] for d in docs(tables, name)]
        assert numbers == list(range(1, len(numbers) + 1)), name
    org = portal.sign_in(admin)["organization"]
    new_bank = portal.add_bank(result["vendor"], organization=org, product="Quillstone Animate", credits=10, start=TODAY, expires_on=add_months(TODAY, 6))
    assert new_bank["id"] == f"BK-{len(tables['banks']) + 1:04d}"


# -- large, scaled down ------------------------------------------------------------------------
def test_large_shape_scaled_down_is_consistent():
    demo = build_demo(TODAY, "large", scale=0.01)
    tables = demo.tables
    assert 900 <= len(tables["licenses"]) <= 1100
    assert len(tables["teams"]) >= 10
    for name, model in MODELS.items():
        rows = docs(tables, name)
        for doc in rows[:: max(1, len(rows) // 50)]:
            assert model.model_validate(doc).to_doc() == doc, (name, doc)
    seen = cases(tables, TODAY)
    assert set(seen["statuses"]) == {"scheduled", "active", "expired", "returned"}
    assert "nearly-exhausted" in seen["banks"] and "expired-with-forfeit" in seen["banks"]


def test_large_shape_scaled_down_passes_check(tmp_path):
    path = tmp_path / "elp.json"
    Store(path).create(build_demo(TODAY, "large", scale=0.02).tables)
    assert Portal(Store(path), fixed_clock(TODAY)).check() == []


# -- progress and imports -----------------------------------------------------------------------
def test_progress_bar_is_plain_text_on_one_line():
    out = io.StringIO()
    bar = ProgressBar(stream=out)
    for n in range(0, 101, 10):
        bar.update(n / 100, "licenses")
    bar.done()
    text = out.getvalue()
    assert text.startswith("\r") and text.endswith("\n") and text.count("\n") == 1
    assert "100%" in text and "\x1b" not in text
    quiet = io.StringIO()
    ProgressBar(enabled=False, stream=quiet).update(0.5, "x")
    assert quiet.getvalue() == ""


def test_small_demo_prints_no_progress(tmp_path, capsys):
    write_demo(tmp_path / "elp.json", today=TODAY, progress=True)
    assert capsys.readouterr().err == ""


def test_demo_never_imports_textual():
    code = "import sys, elp_tui.demo; assert 'textual' not in sys.modules, 'textual imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_demo_charges_what_the_portal_would_charge(small):
    """Every license of the demo that was never renewed cost what a quote_generate of its term
    would have cost, and ends when it would have ended (the bank's expiry cutting it, a cut
    month counted once): the demo charges with the portal's rules, not a copy of them."""
    from elp_tui.portal.credits import charge

    tables = tables_of(small[0])
    banks = {b["id"]: b for b in docs(tables, "banks")}
    entries = defaultdict(list)
    for entry in docs(tables, "ledger"):
        entries[entry["license"]].append(entry)
    checked = cut = 0
    for lic in docs(tables, "licenses"):
        reasons = [e["reason"] for e in entries[lic["activation_id"]]]
        if reasons != ["generate"]:
            continue
        bank_end = dt.date.fromisoformat(banks[lic["bank"]]["expires_on"])
        expected = charge(dt.date.fromisoformat(lic["start"]), lic["term_months"], bank_end)
        assert lic["expires_on"] == expected.expires_on.isoformat(), lic["activation_id"]
        assert entries[lic["activation_id"]][0]["credits"] == lic["credits_used"] == lic["computers"] * expected.months_charged
        checked += 1
        cut += expected.cut_by_bank
    assert checked > 100 and cut > 0, "the demo has licenses of every kind, some cut by their bank"
