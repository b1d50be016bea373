"""Batches (issue 13): many licenses or members in one quote and one commit.

Each refused row says what the single operation would say; totals per bank are cumulative (the
rows before take their credits first); "all or nothing" writes nothing when a row is refused; a
quote another session made stale is refused with the fresh quote, and writes nothing."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from elp_tui.portal import ALL_OR_NOTHING, Portal, RuleViolation, StaleQuote, fixed_clock, read_batch_csv
from elp_tui.portal.batches import CsvRow
from elp_tui.portal.errors import InvalidInput, PortalError
from elp_tui.store import Store, open_store

from tests.conftest import ADMIN, TODAY
from tests.helpers import grant_bank, grant_seats, refused, store_args, store_tables
from tests.hostile_cases import CONTROLS, EMAIL_CASES, INVISIBLE_SAMPLES

ROOT = Path(__file__).resolve().parents[1]
ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
ANIMATE = "Quillstone Animate"
SEATS = "Frameloop Teams"


def other(portal: Portal) -> Portal:
    """Another admin's session on the same store file."""
    return Portal(open_store(portal.store.path), fixed_clock(TODAY), rng=random.Random(11))


def member(portal: Portal, email: str) -> str:
    portal.invite(ADMIN, email)
    portal.sign_in(email)
    return email


def gen(portal: Portal, bank_id: str, *, months: int = 1, quantity: int = 1, type: str = "node-lock",
        email: str = ANA) -> list[str]:
    quote = portal.quote_generate(ADMIN, bank=bank_id, type=type, months=months, quantity=quantity,
                                  start=TODAY.isoformat(), email=email)
    return [lic["activation_id"] for lic in portal.generate(ADMIN, quote)]


def single_refusal(fn, *args, **kwargs) -> str:
    with pytest.raises(PortalError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def activity(portal: Portal) -> list[dict]:
    return sorted(store_tables(portal.store.path)["activity"].values(), key=lambda e: e["seq"])


def outbox(portal: Portal) -> list[dict]:
    return list(store_tables(portal.store.path).get("outbox", {}).values())


def remaining(portal: Portal, bank_id: str) -> int:
    return {b["id"]: b["remaining"] for b in portal.list_banks(ADMIN)}[bank_id]


def expiry(portal: Portal, aid: str) -> str:
    return portal.license_details(ADMIN, aid)["license"]["expires_on"]


# -- renew ------------------------------------------------------------------------------------
def test_batch_renew_allows_some_rows_and_refuses_others_with_the_single_renewals_sentence(portal, bank):
    member(portal, ANA)
    fine = gen(portal, bank["id"])[0]  # 2026-11-23 .. 2026-12-23
    at_bank_end = gen(portal, bank["id"], months=6)[0]  # cut at the bank's expiry
    returned = gen(portal, bank["id"])[0]
    portal.return_license(ADMIN, returned, ANA)
    quote = portal.quote_batch_renew(ADMIN, [fine, at_bank_end, returned, "NOPE-NOPE-NOPE-NOPE", "\x1b[2JX"])
    assert [q.activation_id for q in quote.allowed] == [fine]
    assert (str(quote.allowed[0].expires_before), str(quote.allowed[0].expires_after)) == ("2026-12-23", "2027-01-23")
    reasons = {r.ref: r.reason for r in quote.refused}
    assert reasons[at_bank_end] == single_refusal(portal.quote_renew, ADMIN, at_bank_end)
    assert "already ends at its bank's expiry (2027-05-01)" in reasons[at_bank_end]
    assert reasons[returned] == single_refusal(portal.quote_renew, ADMIN, returned)
    assert "is returned (nobody holds it)" in reasons[returned]
    assert "No license 'NOPE-NOPE-NOPE-NOPE' in your organization" in reasons["NOPE-NOPE-NOPE-NOPE"]
    assert "contains a control character (U+001B" in reasons["\x1b[2JX"]
    before = remaining(portal, bank["id"])
    portal.batch_renew(ADMIN, quote)
    assert activity(portal)[-1]["details"].endswith("NOPE-NOPE-NOPE-NOPE, '\\x1b[2JX'")  # escaped, never raw
    assert expiry(portal, fine) == "2027-01-23"
    assert expiry(portal, at_bank_end) == "2027-05-01"
    assert remaining(portal, bank["id"]) == before - 1


def test_batch_renew_repeats_each_licenses_own_term_unless_months_are_given(portal, bank):
    member(portal, ANA)
    one = gen(portal, bank["id"], months=1)[0]
    two = gen(portal, bank["id"], months=2)[0]
    quote = portal.quote_batch_renew(ADMIN, [one, two])
    assert [(q.activation_id, q.months) for q in quote.allowed] == [(one, 1), (two, 2)]
    assert [str(q.expires_after) for q in quote.allowed] == ["2027-01-23", "2027-03-23"]
    quote = portal.quote_batch_renew(ADMIN, [one, two], months=3)
    assert [q.months for q in quote.allowed] == [3, 3]


def test_batch_renew_totals_per_bank_are_cumulative_and_the_row_that_no_longer_fits_is_refused(portal, bank):
    member(portal, ANA)
    small = grant_bank(portal, product=ANIMATE, credits=5, start="2026-11-01", expires_on="2027-05-01",
                       product_version="25.1", portable=True)
    pair = gen(portal, small["id"], type="multiseat", quantity=2)[0]  # 2 credits a month
    single = gen(portal, small["id"])[0]  # 1 credit a month: small has 2 left
    elsewhere = gen(portal, bank["id"])[0]
    # Alone, each renewal fits in what `small` has left; together they do not.
    assert portal.quote_renew(ADMIN, pair).credits == 2 and portal.quote_renew(ADMIN, single).credits == 1
    quote = portal.quote_batch_renew(ADMIN, [pair, single, elsewhere])
    assert [q.activation_id for q in quote.allowed] == [pair, elsewhere]
    [refusal] = quote.refused
    assert refusal.ref == single
    assert refusal.reason == (f"Bank {small['id']} has 0 credits left; this renewal needs 1: 1 short. "
                              "Renew for fewer months, or request credits.")
    totals = {b.bank: (b.licenses, b.credits, b.remaining_before, b.remaining_after) for b in quote.banks}
    big_left = remaining(portal, bank["id"])
    assert totals == {small["id"]: (1, 2, 2, 0), bank["id"]: (1, 1, big_left, big_left - 1)}
    assert quote.credits == 3
    portal.batch_renew(ADMIN, quote)
    assert (remaining(portal, small["id"]), remaining(portal, bank["id"])) == (0, big_left - 1)
    assert expiry(portal, single) == "2026-12-23"  # the refused row is untouched


def test_batch_renew_lists_a_license_named_twice_once(portal, bank):
    member(portal, ANA)
    aid = gen(portal, bank["id"])[0]
    quote = portal.quote_batch_renew(ADMIN, [aid, aid.lower()])
    assert [q.activation_id for q in quote.allowed] == [aid]
    assert "listed twice in this batch" in quote.refused[0].reason


def test_all_or_nothing_with_a_refused_row_writes_nothing(portal, bank):
    member(portal, ANA)
    fine = gen(portal, bank["id"])[0]
    returned = gen(portal, bank["id"])[0]
    portal.return_license(ADMIN, returned, ANA)
    quote = portal.quote_batch_renew(ADMIN, [fine, returned])
    exc = refused(portal, RuleViolation, portal.batch_renew, ADMIN, quote, ALL_OR_NOTHING)
    assert str(exc).startswith("All or nothing: 1 of 2 rows would be refused, so nothing was renewed.")
    assert f"License {returned} is returned" in str(exc)
    assert expiry(portal, fine) == "2026-12-23"
    # The same quote, the allowed rows only: the fine license is renewed.
    portal.batch_renew(ADMIN, quote)
    assert expiry(portal, fine) == "2027-01-23"


def test_all_or_nothing_with_every_row_allowed_commits_them_all(portal, bank):
    member(portal, ANA)
    ids = gen(portal, bank["id"], quantity=3)
    portal.batch_renew(ADMIN, portal.quote_batch_renew(ADMIN, ids), ALL_OR_NOTHING)
    assert [expiry(portal, aid) for aid in ids] == ["2027-01-23"] * 3


def test_a_batch_whose_every_row_is_refused_writes_nothing(portal, bank):
    member(portal, ANA)
    returned = gen(portal, bank["id"])[0]
    portal.return_license(ADMIN, returned, ANA)
    quote = portal.quote_batch_renew(ADMIN, [returned])
    exc = refused(portal, RuleViolation, portal.batch_renew, ADMIN, quote)
    assert "Nothing to do: every row is refused, so nothing was renewed." in str(exc)
    refused(portal, RuleViolation, portal.batch_renew, ADMIN, portal.quote_batch_renew(ADMIN, []))


def test_a_stale_batch_quote_is_refused_with_the_fresh_one_and_writes_nothing(portal, bank):
    member(portal, ANA)
    ids = gen(portal, bank["id"], quantity=2)
    quote = portal.quote_batch_renew(ADMIN, ids)
    them = other(portal)
    them.renew(ADMIN, them.quote_renew(ADMIN, ids[1]))  # another admin renewed one meanwhile
    exc = refused(portal, StaleQuote, portal.batch_renew, ADMIN, quote, match="changed since the quote")
    fresh = exc.fresh
    assert [str(q.expires_before) for q in fresh.allowed] == ["2026-12-23", "2027-01-23"]
    portal.batch_renew(ADMIN, fresh)  # the fresh quote, confirmed, goes through
    assert [expiry(portal, aid) for aid in ids] == ["2027-01-23", "2027-02-23"]


def test_a_batch_quote_made_stale_by_another_process_is_refused(portal, bank, store_target):
    member(portal, ANA)
    ids = gen(portal, bank["id"], quantity=2)
    quote = portal.quote_batch_renew(ADMIN, ids)
    env = {**os.environ, "ELP_TODAY": TODAY.isoformat(), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "elp_tui", *store_args(store_target), "--as", ADMIN, "licenses", "return", ids[0],
         "--email", ANA, "--yes"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    exc = refused(portal, StaleQuote, portal.batch_renew, ADMIN, quote)
    assert [r.ref for r in exc.fresh.refused] == [ids[0]]
    assert "is returned (nobody holds it)" in exc.fresh.refused[0].reason


def test_a_batch_quote_whose_promise_holds_commits_though_the_bank_moved(portal, bank):
    member(portal, ANA)
    ids = gen(portal, bank["id"], quantity=2)
    quote = portal.quote_batch_renew(ADMIN, ids)
    gen(other(portal), bank["id"], quantity=3)  # 3 credits fewer, still plenty
    done = portal.batch_renew(ADMIN, quote)
    assert done.banks[0].remaining_before == quote.banks[0].remaining_before - 3


def test_a_batch_writes_one_entry_of_its_own_and_the_single_entries_per_license(portal, bank):
    member(portal, ANA)
    ids = gen(portal, bank["id"], quantity=2)
    returned = gen(portal, bank["id"])[0]
    portal.return_license(ADMIN, returned, ANA)
    seq = activity(portal)[-1]["seq"]
    mails = len(outbox(portal))
    portal.batch_renew(ADMIN, portal.quote_batch_renew(ADMIN, ids + [returned]))
    added = [e for e in activity(portal) if e["seq"] > seq]
    assert [e["action"] for e in added] == ["license-renew", "license-renew", "license-batch-renew"]
    assert [e["target"] for e in added[:2]] == ids
    assert [e["credits"] for e in added] == [1, 1, 0]  # the batch's entry counts nothing twice
    batch = added[-1]
    assert batch["target"] == ", ".join(ids)
    assert f"2 license(s) renewed: 2 credits from {bank['id']}" in batch["details"]
    assert f"1 refused: {returned}" in batch["details"]
    history = portal.license_details(ADMIN, ids[0])["history"]
    assert {"license-renew", "license-batch-renew"} <= {e["action"] for e in history}
    # One renewal notice to Ana for both licenses (same product), as a single renewal queues one.
    new_mail = outbox(portal)[mails:]
    assert [m["to"] for m in new_mail] == [ANA]
    assert all(aid in new_mail[0]["body"] for aid in ids)


def test_licenses_expiring_chooses_by_days_product_bank_and_assignee(portal, bank):
    member(portal, ANA)
    member(portal, BOB)
    soon = gen(portal, bank["id"])[0]  # expires 2026-12-23 (30 days)
    later = gen(portal, bank["id"], months=3)[0]  # 2027-02-23
    bobs = gen(portal, bank["id"], email=BOB)[0]
    other_bank = grant_bank(portal, product="Quillstone Render", credits=10, start="2026-11-01", expires_on="2027-05-01")
    render = gen(portal, other_bank["id"])[0]
    assert portal.licenses_expiring(ADMIN, 30) == sorted([soon, bobs, render])
    assert portal.licenses_expiring(ADMIN, 29) == []
    assert set(portal.licenses_expiring(ADMIN, 100)) == {soon, later, bobs, render}
    assert portal.licenses_expiring(ADMIN, 30, product="quillstone render") == [render]
    assert sorted(portal.licenses_expiring(ADMIN, 30, bank=bank["id"])) == sorted([soon, bobs])
    assert portal.licenses_expiring(ADMIN, 30, assignee=BOB) == [bobs]


# -- return -----------------------------------------------------------------------------------
def test_batch_return_takes_back_the_allowed_licenses_and_says_why_not_the_others(portal, bank):
    member(portal, ANA)
    member(portal, BOB)
    anas = gen(portal, bank["id"], quantity=2)
    bobs = gen(portal, bank["id"], email=BOB)[0]
    fixed = grant_bank(portal, product=ANIMATE, credits=10, start="2026-11-01", expires_on="2027-05-01",
                       product_version="25.1", portable=False)
    locked = gen(portal, fixed["id"])[0]
    quote = portal.quote_batch_return(ADMIN, anas + [bobs, locked])
    assert [(r.activation_id, r.email) for r in quote.allowed] == [(anas[0], ANA), (anas[1], ANA), (bobs, BOB)]
    [why] = quote.refused
    assert why.reason == single_refusal(portal.quote_return, ADMIN, locked, ANA)
    assert "bank is not portable" in why.reason
    mails = len(outbox(portal))
    portal.batch_return(ADMIN, quote)
    rows = {lic["activation_id"]: lic for lic in portal.list_licenses(ADMIN)}
    assert [rows[a]["status"] for a in anas + [bobs, locked]] == ["returned", "returned", "returned", "active"]
    assert sorted(m["to"] for m in outbox(portal)[mails:]) == [ANA, BOB]  # one notice per holder
    assert activity(portal)[-1]["action"] == "license-batch-return"


# -- assign -----------------------------------------------------------------------------------
def test_batch_assign_invites_a_new_recipient_once_and_refuses_bad_rows(portal, bank):
    member(portal, ANA)
    ids = gen(portal, bank["id"], quantity=4)
    for aid in ids[:3]:
        portal.return_license(ADMIN, aid, ANA)
    new = "newcomer@lumenfox.studio"
    pairs = [CsvRow(2, [ids[0], new]), CsvRow(3, [ids[1], new.upper()]), CsvRow(4, [ids[0], BOB]),
             CsvRow(5, [ids[2], "not an email"]), CsvRow(6, [ids[3], BOB]), CsvRow(7, [ids[2]]),
             CsvRow(8, [ids[2], BOB, "Layout"])]
    quote = portal.quote_batch_assign(ADMIN, pairs)
    assert [(q.activation_id, q.email, q.invites) for q in quote.allowed] == [(ids[0], new, True), (ids[1], new, False)]
    reasons = {r.row: r.reason for r in quote.refused}
    assert "listed twice (first on row 2)" in reasons[4]
    assert "is not a valid email address" in reasons[5]
    assert reasons[6] == single_refusal(portal.quote_assign, ADMIN, ids[3], BOB)
    assert "return it first" in reasons[6]
    assert reasons[7] == "This row lacks the email: a row holds an activation ID and an email."
    assert reasons[8] == "This row has 3 cells; a row holds an activation ID and an email."
    portal.batch_assign(ADMIN, quote)
    users = {u["email"]: u["status"] for u in portal.list_users(ADMIN)}
    assert users[new] == "invited"
    rows = {lic["activation_id"]: lic["assignee"] for lic in portal.list_licenses(ADMIN)}
    assert (rows[ids[0]], rows[ids[1]], rows[ids[2]]) == (new, new, None)
    actions = [e["action"] for e in activity(portal)[-4:]]
    assert actions == ["user-invite", "license-assign", "license-assign", "license-batch-assign"]


# -- users import -----------------------------------------------------------------------------
def csv_rows(text: str) -> list[CsvRow]:
    return read_batch_csv(text.encode("utf-8"), "people.csv", "users")


def test_users_import_sorts_rows_into_new_already_there_and_refused(portal):
    member(portal, ANA)
    grant_seats(portal, SEATS, 4)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    rows = csv_rows(
        "email,role,teams\n"
        "cleo@lumenfox.studio,admin,Layout;Story,,\n"
        f"{ANA},regular,Layout\n"
        f"{ANA.upper()},regular,\n"
        "dan@lumenfox.studio,,story\n"
        "bad@@lumenfox.studio,regular,\n"
        "eve@lumenfox.studio,boss,\n"
        "fay@lumenfox.studio,regular,Nowhere\n"
        f"{ADMIN},regular,Story\n"
        "gus@lumenfox.studio,regular,Layout,Story\n"
    )
    quote = portal.quote_users_import(ADMIN, rows)
    assert [(r.row, r.email, r.role, r.teams, r.seats) for r in quote.new] == [
        (2, "cleo@lumenfox.studio", "admin", ["Layout", "Story"], [SEATS]),
        (5, "dan@lumenfox.studio", "regular", ["Story"], [SEATS]),
    ]
    assert [(r.row, r.email, r.teams) for r in quote.members] == [(3, ANA, []), (9, ADMIN, ["Story"])]
    assert "role stays admin" in quote.members[1].note
    reasons = {r.row: r.reason for r in quote.refused}
    assert set(reasons) == {4, 6, 7, 8, 10}
    assert reasons[10] == ("This row has 4 cells; a row holds an email, a role and the teams: put several teams in one "
                           "cell, separated by ';'.")
    assert "listed twice (first on row 3)" in reasons[4]
    assert "is not a valid email address" in reasons[6]
    assert reasons[7] == "Role 'boss' is unknown: use admin or regular."
    assert "No team 'Nowhere' in your organization" in reasons[8]
    assert [(p.product, p.taken, p.unused_before, p.unused_after) for p in quote.pools] == [(SEATS, 3, 3, 0)]
    seq = activity(portal)[-1]["seq"]
    portal.users_import(ADMIN, quote)
    users = {u["email"]: (u["role"], u["status"]) for u in portal.list_users(ADMIN)}
    assert users["cleo@lumenfox.studio"] == ("admin", "invited")
    assert users["dan@lumenfox.studio"] == ("regular", "invited")
    assert "fay@lumenfox.studio" not in users and "eve@lumenfox.studio" not in users
    teams = {t["name"]: [m["email"] for m in t["members"]] for t in portal.list_teams(ADMIN)}
    assert teams["Layout"] == [ANA, "cleo@lumenfox.studio"]
    assert teams["Story"] == ["cleo@lumenfox.studio", "dan@lumenfox.studio", ADMIN]
    added = [e for e in activity(portal) if e["seq"] > seq]
    assert [e["action"] for e in added].count("user-invite") == 2
    assert [e["action"] for e in added].count("team-add") == 4
    assert added[-1]["action"] == "users-import"
    assert "invited cleo@lumenfox.studio, dan@lumenfox.studio" in added[-1]["details"]
    assert added[-1]["details"].endswith("5 refused: row 4, row 6, row 7, row 8, row 10")


def test_users_import_counts_the_seats_the_rows_before_take(portal):
    grant_seats(portal, SEATS, 1)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    quote = portal.quote_users_import(ADMIN, csv_rows(
        "cleo@lumenfox.studio,regular,Layout;Story\ndan@lumenfox.studio,regular,Layout\n"))
    assert [r.email for r in quote.new] == ["cleo@lumenfox.studio"]  # one seat for both her teams
    [why] = quote.refused
    assert why.row == 2
    assert why.reason.startswith("No unused seat left in the Frameloop Teams pool (1 purchased: 0 active, 1 pending,")
    assert [(p.taken, p.unused_before, p.unused_after) for p in quote.pools] == [(1, 1, 0)]
    exc = refused(portal, RuleViolation, portal.users_import, ADMIN, quote, ALL_OR_NOTHING)
    assert "All or nothing: 1 of 2 rows would be refused, so nothing was imported. row 2: dan@lumenfox.studio" in str(exc)
    portal.users_import(ADMIN, quote)
    assert portal.seats_overview(ADMIN)[0]["unused"] == 0


@pytest.mark.parametrize("case", EMAIL_CASES[:len(CONTROLS) + 1 + len(INVISIBLE_SAMPLES)] + EMAIL_CASES[-5:],
                         ids=lambda c: c.id)
def test_users_import_refuses_a_hostile_cell_with_its_row_and_reason(portal, case):
    data = ("email,role,teams\r\n"
            "ok@lumenfox.studio,regular,\r\n"
            + '"' + case.value.replace('"', '""') + '",regular,\r\n').encode("utf-8")
    rows = read_batch_csv(data, "people.csv", "users")
    quote = portal.quote_users_import(ADMIN, rows)
    assert [r.email for r in quote.new] == ["ok@lumenfox.studio"]
    [why] = quote.refused
    assert why.row == 3
    for word in case.says:
        assert word in why.reason
    portal.users_import(ADMIN, quote)
    [entry] = [e for e in portal.activity(ADMIN) if e["action"] == "users-import"]
    assert entry["details"].endswith("1 refused: row 3")  # the hostile cell is not copied into the log
    assert portal.check() == []


def test_a_hostile_team_cell_refuses_its_row(portal):
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    quote = portal.quote_users_import(ADMIN, csv_rows('cleo@lumenfox.studio,regular,"Lay\u202eout"\n'))
    [why] = quote.refused
    assert "control character (U+202E" in why.reason


def test_users_import_stale_when_another_admin_invited_a_row_meanwhile(portal):
    quote = portal.quote_users_import(ADMIN, csv_rows("cleo@lumenfox.studio,regular,\ndan@lumenfox.studio,regular,\n"))
    other(portal).invite(ADMIN, "cleo@lumenfox.studio")
    exc = refused(portal, StaleQuote, portal.users_import, ADMIN, quote)
    assert [r.email for r in exc.fresh.members] == ["cleo@lumenfox.studio"]
    portal.users_import(ADMIN, exc.fresh)
    assert "dan@lumenfox.studio" in {u["email"] for u in portal.list_users(ADMIN)}


def test_users_import_of_members_already_there_has_nothing_to_do(portal):
    member(portal, ANA)
    quote = portal.quote_users_import(ADMIN, csv_rows(f"{ANA},regular,\n"))
    assert [r.email for r in quote.members] == [ANA]
    exc = refused(portal, RuleViolation, portal.users_import, ADMIN, quote)
    assert "Nothing to do" in str(exc)


# -- reading the file -------------------------------------------------------------------------
def test_a_batch_file_may_start_with_a_bom_and_a_header_or_neither():
    with_all = "\ufeffActivation ID,Email\r\nAAAA-BBBB-CCCC-DDDD, ana@x.io \r\n\r\nEEEE-FFFF-GGGG-HHHH,bob@x.io\r\n"
    rows = read_batch_csv(with_all.encode("utf-8"), "f.csv", "assign")
    assert rows == [CsvRow(2, ["AAAA-BBBB-CCCC-DDDD", "ana@x.io"]), CsvRow(4, ["EEEE-FFFF-GGGG-HHHH", "bob@x.io"])]
    bare = read_batch_csv(b"AAAA-BBBB-CCCC-DDDD,ana@x.io\n", "f.csv", "assign")
    assert bare == [CsvRow(1, ["AAAA-BBBB-CCCC-DDDD", "ana@x.io"])]


@pytest.mark.parametrize("data, says", [
    ("caf\u00e9@x.io,regular,\n".encode("latin-1"), "f.csv is not UTF-8 text (byte 4 is not)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
    ("ana@x.io,regular,\n".encode("utf-16-le"), "is not a CSV file (it holds binary data)"),
    (b"", "f.csv holds no rows"),
    (b"email,role,teams\n", "f.csv holds no rows"),
    (b'{"users": [1, 2, 3]}\n', "does not look like a CSV file with the columns email, role, teams"),
    (b'ana@x.io,"regular\n', "is not a readable CSV file"),
    (b"x" * 1_000_001, "f.csv is 1,000,001 bytes; a batch file holds at most 1,000,000"),
    (b"a@x.io\n" * 5_001, "more than 5,000 rows"),
], ids=["latin-1", "png", "utf-16", "empty", "header-only", "json", "open-quote", "too-large", "too-many-rows"])
def test_a_file_that_is_not_a_batch_csv_is_refused_in_one_sentence(data, says):
    with pytest.raises(InvalidInput) as info:
        read_batch_csv(data, "f.csv", "users")
    assert says in str(info.value)
    assert "\n" not in str(info.value)
