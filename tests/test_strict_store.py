"""What a store file may contain: opening it (any command), `elp check` and `elp restore` judge a
file by one list of problems, so whatever passes one passes all three, and whatever is refused is
refused by all three naming the same problem — exit 1, the file unchanged (bytes and mtime), no
kept copy of a refused restore.

Each case below plants one problem in a real file on disk, the way a hand edit, a merge or a
broken import would: a key written twice, a number or a day of the wrong type or range, an
identifier used twice, a license never paid for."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from elp_tui.portal import Portal, fixed_clock
from elp_tui.portal.check import months_charged
from elp_tui.portal.dates import months_to_cover
from elp_tui.store import Store
from elp_tui.store.schema import Day, Version

from tests.conftest import ADMIN, TODAY
from tests.helpers import cli_env, elp, store_bytes, store_mtimes, store_tables  # noqa: F401 (fixtures)
from tests.test_damaged import ANA, edited, sound, tables, write_private  # noqa: F401 (fixture)
from tests.helpers import grant_bank

pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.fixture
def store(portal, bank, sound) -> Path:
    """The sound store of test_damaged (a bank, two node-lock licenses of 2 months for Ana, a seat
    pool with a team), plus the admin in that team, a credit request, a second bank and a disabled
    restriction."""
    portal.team_add(ADMIN, "Layout", ADMIN)
    portal.request_credits(ADMIN, bank["id"], 10)
    grant_bank(portal, product="Quillstone Animate", credits=50, start="2026-11-01", expires_on="2027-11-01")
    with portal.store.transaction() as db:
        db.insert("restrictions", 
            {"organization": "lumenfox-studios", "product": "Quillstone Animate", "enabled": False, "builds": []})
    assert portal.check() == []
    portal.store.compact()  # one file, the journal folded in: what a hand editor opens
    return sound


def doc(data: dict[str, Any], table: str, n: int = 1) -> dict[str, Any]:
    return data[table][str(n)]


def set_field(table: str, field: str, value: Any, n: int = 1) -> Callable[[Path], bytes]:
    return lambda p: edited(p, lambda d: doc(d, table, n).update({field: value}))


def rekeyed(table: str, key: str) -> Callable[[Path], bytes]:
    def change(d: dict[str, Any]) -> None:
        d[table] = {(key if k == "1" else k): v for k, v in d[table].items()}

    return lambda p: edited(p, change)


def with_meta(text: str) -> Callable[[Path], bytes]:
    """The file as ELP wrote it, with `_meta`'s generation written as `text` (raw JSON)."""
    return lambda p: re.sub(rb'"generation":[0-9]+', b'"generation":' + text.encode(), p.read_bytes(), count=1)


def twice_in(raw: bytes, anchor: bytes, extra: bytes) -> bytes:
    """`extra` inserted right after the first `anchor`: what a merge leaves when both sides added."""
    at = raw.index(anchor) + len(anchor)
    return raw[:at] + extra + raw[at:]


def field_twice(p: Path) -> bytes:
    lic = doc(tables(p), "licenses")
    anchor = b'"activation_id":"' + lic["activation_id"].encode() + b'"'
    return twice_in(p.read_bytes(), anchor, b',"credits_used":0')


def document_twice(p: Path) -> bytes:
    copy = orjson.dumps(doc(tables(p), "users"))
    return twice_in(p.read_bytes(), b'"users":{', b'"1":' + copy + b",")


def table_twice(p: Path) -> bytes:
    return twice_in(p.read_bytes(), b'"_meta":{"1":' + orjson.dumps(tables(p)["_meta"]["1"]) + b"}", b',"teams":{}')


def team_copy(d: dict[str, Any], **change: Any) -> None:
    d["teams"]["2"] = {**doc(d, "teams"), **change}


def unpaid(d: dict[str, Any]) -> None:
    lic = doc(d, "licenses")
    d["ledger"] = {k: e for k, e in d["ledger"].items() if e["license"] != lic["activation_id"]}
    d["ledger"] = {str(n): {**e, "id": n} for n, e in enumerate(d["ledger"].values(), start=1)}
    lic["credits_used"] = 0


def underpaid(d: dict[str, Any]) -> None:
    """A 2-month node-lock license charged 1 credit, ledger and all."""
    lic = doc(d, "licenses")
    lic["credits_used"] = 1
    next(e for e in d["ledger"].values() if e["license"] == lic["activation_id"])["credits"] = 1


def other_bank(d: dict[str, Any]) -> None:
    second = doc(d, "banks", 2)["id"]
    doc(d, "ledger")["bank"] = second


# name -> (how to plant the problem in the sound store's bytes, words one problem line holds)
CASES: dict[str, tuple[Callable[[Path], bytes], tuple[str, ...]]] = {
    # keys written twice: orjson keeps the last without a word, the next commit drops the other
    "a field twice": (field_twice, ("licenses #1", "field 'credits_used' appears twice")),
    "a document twice": (document_twice, ("users: document #1 appears twice",)),
    "a table twice": (table_twice, ("table 'teams' appears twice",)),
    # numbers: whole, in range, never text
    "generation beyond 64 bits": (with_meta(str(2**64 + 1)), ("_meta #1", "'generation'", "less than")),
    "generation as text": (with_meta('"7"'), ("_meta #1", "'generation'", "valid integer", "'7'")),
    "generation as a list": (with_meta("[1]"), ("_meta #1", "'generation'", "valid integer", "[1]")),
    "generation true": (with_meta("true"), ("_meta #1", "'generation'", "valid integer", "True")),
    "credits as text": (set_field("banks", "credits_granted", "100"), ("banks #1", "'credits_granted'", "'100'")),
    "credits as a float": (set_field("banks", "credits_granted", 100.0), ("banks #1", "'credits_granted'", "100.0")),
    "negative credits": (set_field("banks", "credits_requested", -5), ("banks #1", "'credits_requested'", "-5")),
    "credits beyond 64 bits": (set_field("licenses", "credits_used", 2**63), ("licenses #1", "'credits_used'", "less than")),
    "no computer": (set_field("licenses", "computers", 0), ("licenses #1", "'computers'", "greater than or equal to 1")),
    "portable as text": (set_field("banks", "portable", "yes"), ("banks #1", "'portable'", "'yes'")),
    # document keys are TinyDB's numbers 1, 2, 3 ...
    "document key 0": (rekeyed("users", "0"), ("users: document key '0' is not a number",)),
    "document key -1": (rekeyed("users", "-1"), ("users: document key '-1' is not a number",)),
    "document key x": (rekeyed("licenses", "x"), ("licenses: document key 'x' is not a number",)),
    "document key 01": (rekeyed("banks", "01"), ("banks: document key '01' is not a number",)),
    # days: exactly YYYY-MM-DD, a day of the calendar
    "a datetime for a day": (
        set_field("licenses", "start", "2026-11-23T00:00:00"), ("licenses #1", "'start'", "YYYY-MM-DD", "'2026-11-23T00:00:00'")),
    "a number for a day": (set_field("banks", "expires_on", 20270501), ("banks #1", "'expires_on'", "20270501")),
    "February 29 of a common year": (set_field("organizations", "created_on", "2026-02-29"), ("organizations #1", "'created_on'")),
    # versions: ASCII digits and dots
    "a superscript in a version": (set_field("banks", "product_version", "25.²"), ("banks #1", "'product_version'", "not a version")),
    "an Arabic digit in a version": (set_field("banks", "product_version", "٢٥.1"), ("banks #1", "'product_version'", "not a version")),
    # identifiers used twice
    "two teams with one id": (lambda p: edited(p, lambda d: team_copy(d, name="Story")), ("teams: id T-0001 is used by 2",)),
    "two teams with one name": (
        lambda p: edited(p, lambda d: team_copy(d, id="T-0002", name="LAYOUT")), ("2 teams named layout",)),
    "an email twice": (set_field("users", "email", ANA, n=1), (f"email {ANA} is used by 2 users",)),
    "a ledger id twice": (set_field("ledger", "id", 1, n=2), ("ledger: id 1 is used by 2",)),
    "a gap in the ledger ids": (set_field("ledger", "id", 3, n=2), ("ledger: no document with id 2",)),
    "a request id twice": (
        lambda p: edited(p, lambda d: d["requests"].update({"2": doc(d, "requests")})), ("requests: id 1 is used by 2",)),
    "an activity seq twice": (set_field("activity", "seq", 1, n=2), ("activity seq 1 is used 2 times",)),
    "an outbox id twice": (
        lambda p: edited(p, lambda d: d["outbox"].update({"2": doc(d, "outbox")})), ("outbox: id 1 is used by 2",)),
    "a seat held twice": (
        lambda p: edited(p, lambda d: d["seat_holders"].update({"9": doc(d, "seat_holders")})), ("holds 2 seats of pool",)),
    "a restriction twice": (
        lambda p: edited(p, lambda d: d["restrictions"].update({"2": doc(d, "restrictions")})),
        ("restrictions: organization+product lumenfox-studios/Quillstone Animate is used by 2",)),
    "a terminal escape in a name": (
        set_field("organizations", "name", "Lumen\x1b]52;c;aGk=\x07fox"), ("organizations: name", "U+001B ESC")),
    "a misspelt table": (lambda p: edited(p, lambda d: d.update(licences={})), ("table 'licences' is not an ELP table",)),
    # credits: every license paid for, through the ledger of its own bank
    "a license never charged": (lambda p: edited(p, unpaid), ("0 credits charged", "at least 2", "never paid")),
    "a license charged less than its months": (
        lambda p: edited(p, underpaid), ("1 credits charged", "1 computer(s) from 2026-11-23 to 2027-01-23", "at least 2")),
    "a ledger apart from credits_used": (set_field("ledger", "credits", 999), ("credits_used 2 but its ledger sums to 999",)),
    "a charge to another bank": (lambda p: edited(p, other_bank), ("ledger entry 1 charges bank", "of bank")),
    "more used than granted": (set_field("banks", "credits_granted", 3), ("4 credits used of 3 granted",)),
    "a license outliving its bank": (set_field("licenses", "expires_on", "2027-06-01"), ("outlives its bank",)),
    "a bank ending before it starts": (
        set_field("banks", "start", "2028-01-01", n=2), ("ends (2027-11-01) before it starts (2028-01-01)",)),
}


def one_line(text: str) -> str:
    assert text.strip() and "\n" not in text.strip(), text
    return text.strip()


@pytest.mark.parametrize("name", list(CASES))
def test_open_check_and_restore_refuse_the_same_problem(elp, store, tmp_path, name):
    plant, words = CASES[name]
    bad = tmp_path / "bad" / "elp.json"
    bad.parent.mkdir(mode=0o700)
    raw = plant(store)
    write_private(bad, raw)
    mtimes = store_mtimes(bad)
    current, current_mtimes = store_bytes(store), store_mtimes(store)

    # elp check: every problem, one line each; the planted one among them
    checked = elp("check", user=None, store=bad)
    assert checked.code == 1, checked.out
    lines = checked.out.splitlines()
    assert any(all(w in line for w in words) for line in lines), (words, lines)
    first_three = "; ".join(lines[:3])

    # opening, by any command: refused in one line naming the file and the same first problems
    for argv in (["banks", "list"], ["users", "invite", "new@lumenfox.studio"], ["licenses", "mine"]):
        opened = elp(*argv, store=bad, user=ADMIN if argv[0] != "licenses" else ANA)
        assert opened.code == 1 and opened.out == ""
        err = one_line(opened.err)
        assert str(bad) in err and "is damaged" in err and first_three in err, (err, first_three)

    # restore of that file as a backup: refused naming the same problems, nothing written or kept
    restored = elp("restore", str(bad), "--yes")
    assert restored.code == 1
    err = one_line(restored.err)
    assert str(bad) in err and first_three in err and "Nothing was restored" in err, (err, first_three)
    assert any(all(w in line for w in words) for line in lines[:3]), (words, lines)

    assert store_bytes(bad) == raw and store_mtimes(bad) == mtimes
    assert store_bytes(store) == current and store_mtimes(store) == current_mtimes
    for folder in (store.parent, bad.parent):  # no kept copy, no temp file
        assert {p.name for p in folder.iterdir()} <= {"elp.json", "elp.json.journal", "elp.json.lock"}


def test_every_case_starts_from_a_store_that_passes_everything(elp, store, tmp_path):
    """The cases plant one problem each: without it, the same file opens, checks and restores."""
    assert elp("check", user=None).code == 0
    assert elp("banks", "list").code == 0
    copy = tmp_path / "copy.json"
    write_private(copy, store.read_bytes())
    assert elp("restore", str(copy), "--yes").code == 0


def test_a_hand_edited_store_without_problems_still_opens(elp, store):
    """Pretty-printed by an editor, keys in another order: read again key by key, and sound."""
    data = tables(store)
    write_private(store, json.dumps({k: data[k] for k in reversed(list(data))}, indent=2, ensure_ascii=True).encode())
    assert elp("check", user=None).code == 0
    result = elp("licenses", "list")
    assert result.code == 0 and doc(data, "licenses")["activation_id"] in result.out


def test_a_multiseat_license_with_computers_added_mid_term_is_sound(elp, portal, bank, store_path):
    """Added computers are charged for the rest of the term only: fewer credits than computers x
    months, and still every credit the portal asked for."""
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="multiseat", months=3, quantity=1, start=TODAY, email=ANA)
    [lic] = portal.generate(ADMIN, q)
    later = Portal(Store(store_path), fixed_clock(TODAY + dt.timedelta(days=40)))
    renewed = later.renew(ADMIN, later.quote_renew(ADMIN, lic["activation_id"], months=0, computers=5))
    stored = next(d for d in store_tables(store_path)["licenses"].values() if d["activation_id"] == lic["activation_id"])
    assert stored["computers"] == 5 and stored["credits_used"] < 5 * 3, renewed
    assert elp("check", user=None).code == 0 and elp("licenses", "list").code == 0


def test_a_backup_of_another_organization_restores_into_a_store_that_opens(elp, store, tmp_path):
    """The restore's log entry names the restorer's organization only if the backup holds it."""
    other = tmp_path / "other" / "elp.json"
    boss = "boss@otter.example"
    assert elp("init", "--org", "Otter Works", "--admin", boss, user=None, store=other).code == 0
    copy = tmp_path / "otter-backup.json"
    assert elp("backup", str(copy), user=boss, store=other).code == 0
    assert elp("restore", str(copy), "--yes").code == 0  # by the admin of the store it replaces
    assert elp("check", user=None).code == 0
    assert elp("banks", "list", user=boss).code == 0
    [entry] = [a for a in store_tables(store)["activity"].values() if a["action"] == "restore"]
    assert entry["actor"] == ADMIN and entry["organization"] is None


def test_stores_elp_writes_take_the_fast_path(portal, bank, sound, tmp_path):
    """Opening parses a second time only when the bytes are not exactly what orjson writes: every
    store ELP writes (a demo, a commit, `_meta` first) is."""
    from elp_tui.demo import write_demo

    demo = tmp_path / "demo" / "elp.json"
    write_demo(demo, progress=False, today=TODAY)
    for path in (sound, demo):
        raw = path.read_bytes()
        assert raw.startswith(b'{"_meta":{"1":{') and orjson.dumps(orjson.loads(raw)) == raw


# -- the pieces, against their reference ---------------------------------------------------------
days = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))


@settings(max_examples=3000, deadline=None)
@given(days, days)
def test_months_charged_counts_as_the_portal_does(start, end):
    assert months_charged(start.isoformat(), end.isoformat()) == months_to_cover(start, end)


def _pydantic_day(text: str) -> bool:
    """The day pattern as opening a store runs it: in pydantic's core, not Python's re."""
    try:
        TypeAdapter(Day).validate_python(text, strict=True)
    except ValidationError:
        return False
    return True


def _is_day(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


@settings(max_examples=3000, deadline=None)
@given(
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32),
    st.sampled_from(["", "T00:00:00", " ", "\n", "Z"]),
)
def test_the_day_pattern_accepts_exactly_the_days_of_the_calendar(year, month, day, tail):
    text = f"{year:04d}-{month:02d}-{day:02d}{tail}"
    assert _pydantic_day(text) == _is_day(text), text


def test_the_day_pattern_knows_leap_years():
    for year in range(1, 10000):
        text = f"{year:04d}-02-29"
        assert _pydantic_day(text) == _is_day(text), text


@pytest.mark.parametrize("text, ok", [
    ("25.1", True), ("2025", True), ("25.10.3", True), ("25.", False), (".1", False), ("25..1", False),
    ("25.²", False), ("٢٥", False), ("25.1 ", False), ("v25", False), ("", False),
])
def test_a_version_is_ascii_digits_and_dots(text, ok):
    try:
        TypeAdapter(Version).validate_python(text, strict=True)
    except ValidationError:
        assert not ok
    else:
        assert ok
