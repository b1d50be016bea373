"""Batches from the command line (issue 13): `elp licenses renew --expiring-within DAYS`,
`elp licenses assign --from-csv FILE`, `elp users import FILE.csv`: the quote printed, one
confirmation, one commit; a refused batch or an unreadable file is one line and changes nothing."""

from __future__ import annotations

import io
import random
import sys

import pytest

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store

from tests.conftest import ADMIN, TODAY
from tests.helpers import cli_env, elp, grant_bank, grant_seats, store_bytes  # noqa: F401 (fixtures)
from tests.hostile_cases import RAW_CONTROL

pytestmark = pytest.mark.usefixtures("cli_env")

ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
ANIMATE = "Quillstone Animate"
SEATS = "Frameloop Teams"


class Terminal(io.StringIO):
    """stdin of a person at a terminal who answers the prompt."""

    def isatty(self) -> bool:
        return True


def member(portal: Portal, email: str) -> str:
    portal.invite(ADMIN, email)
    portal.sign_in(email)
    return email


def gen(portal: Portal, bank_id: str, *, months: int = 1, quantity: int = 1, email: str = ANA) -> list[str]:
    quote = portal.quote_generate(ADMIN, bank=bank_id, type="node-lock", months=months, quantity=quantity,
                                  start=TODAY.isoformat(), email=email)
    return [lic["activation_id"] for lic in portal.generate(ADMIN, quote)]


def expiries(portal: Portal) -> dict[str, str]:
    return {lic["activation_id"]: lic["expires_on"] for lic in portal.list_licenses(ADMIN)}


@pytest.fixture
def licenses(portal, bank):
    """Ana's licenses: two expiring on 2026-12-23, one returned (also 2026-12-23), one on 2027-02-23; Bob's one on 2026-12-23."""
    member(portal, ANA)
    member(portal, BOB)
    soon = gen(portal, bank["id"], quantity=2)
    returned = gen(portal, bank["id"])[0]
    portal.return_license(ADMIN, returned, ANA)
    later = gen(portal, bank["id"], months=3)[0]
    bobs = gen(portal, bank["id"], email=BOB)[0]
    return {"soon": soon, "returned": returned, "later": later, "bobs": bobs, "bank": bank["id"]}


# -- renew ------------------------------------------------------------------------------------
def test_renew_expiring_within_prints_the_batch_quote_then_renews(portal, licenses, elp):
    bank = licenses["bank"]
    left = {b["id"]: b["remaining"] for b in portal.list_banks(ADMIN)}[bank]
    result = elp("licenses", "renew", "--expiring-within", "30", "--months", "1", "--assignee", ANA, "--yes")
    assert result.code == 0, result.err
    out = result.out
    assert "Renew 2 licenses that expire within 30 days (each for 1 month):" in out
    assert f"Bank {bank}: 2 credit(s) for 2 license(s), remaining {left} → {left - 2}" in out
    for aid in licenses["soon"]:
        assert f"{aid}: 2026-12-23 → 2027-01-23, 1 credit(s) from {bank}" in out
    assert licenses["bobs"] not in out and licenses["later"] not in out
    assert f"Renewed 2 licenses; 2 credit(s) deducted ({bank}: {left - 2} left)." in out
    now = expiries(portal)
    assert [now[a] for a in licenses["soon"]] == ["2027-01-23", "2027-01-23"]
    assert now[licenses["bobs"]] == "2026-12-23"


def test_renew_batch_shows_the_refused_rows_and_why(portal, licenses, elp):
    result = elp("licenses", "renew", "--expiring-within", "30", "--yes")
    assert result.code == 0, result.err
    returned = licenses["returned"]
    assert "Renew 4 licenses that expire within 30 days (each for its current term):" in result.out
    assert (f"{returned}: refused: License {returned} is returned (nobody holds it): assign it to a member first, "
            "then renew it.") in result.out
    assert "1 license above is refused and will not be renewed" in result.out
    assert "Renewed 3 licenses" in result.out
    assert expiries(portal)[returned] == "2026-12-23"


def test_renew_batch_without_a_terminal_or_yes_changes_nothing(portal, licenses, elp, store_path):
    before = store_bytes(store_path)
    result = elp("licenses", "renew", "--expiring-within", "30")
    assert result.code == 1
    assert "no terminal to confirm on: nothing was changed" in result.err
    assert store_bytes(store_path) == before


@pytest.mark.parametrize("answer, renewed", [("y\n", True), ("n\n", False), ("", False)])
def test_renew_batch_asks_once(portal, licenses, elp, store_path, monkeypatch, answer, renewed):
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    before = store_bytes(store_path)
    result = elp("licenses", "renew", "--expiring-within", "30", "--bank", licenses["bank"])
    assert result.out.count("Proceed? [y/N]") == 1
    if renewed:
        assert result.code == 0, result.err
        assert expiries(portal)[licenses["bobs"]] == "2027-01-23"
    else:
        assert (result.code, store_bytes(store_path)) == (1, before)
        assert "cancelled: nothing was changed" in result.err


def test_renew_all_or_nothing_with_a_refused_row_asks_nothing_and_changes_nothing(portal, licenses, elp, store_path,
                                                                                  monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    before = store_bytes(store_path)
    result = elp("licenses", "renew", "--expiring-within", "30", "--all-or-nothing")
    assert result.code == 1
    assert "Proceed?" not in result.out
    assert "elp: All or nothing: 1 of 4 rows would be refused, so nothing was renewed." in result.err
    assert f"License {licenses['returned']} is returned" in result.err
    assert store_bytes(store_path) == before


def test_renew_batch_confirmed_on_data_another_admin_changed_shows_the_fresh_quote(portal, licenses, elp, store_path,
                                                                                  monkeypatch):
    bobs = licenses["bobs"]

    class Meanwhile(Terminal):
        """Another admin renews Bob's license while this one reads the quote, then says y."""

        def readline(self, *args):
            them = Portal(Store(store_path), fixed_clock(TODAY), rng=random.Random(3))
            them.renew(ADMIN, them.quote_renew(ADMIN, bobs))
            return "y\n"

    monkeypatch.setattr(sys, "stdin", Meanwhile(""))
    result = elp("licenses", "renew", "--expiring-within", "30", "--assignee", BOB)
    assert result.code == 1
    assert "changed since the quote was shown; nothing was written" in result.err
    assert "The quote as it stands now" in result.out
    assert f"{bobs}: 2027-01-23 → 2027-02-23" in result.out
    assert expiries(portal)[bobs] == "2027-01-23"  # the other admin's renewal only


def test_the_single_renewal_still_works(portal, licenses, elp):
    aid = licenses["later"]
    result = elp("licenses", "renew", aid, "--months", "1", "--yes")
    assert result.code == 0, result.err
    assert f"License {aid} now expires on 2027-03-23" in result.out


@pytest.mark.parametrize("argv, says", [
    ([], "say which license"),
    (["--product", ANIMATE], "--product choose the licenses of a batch"),
    (["AAAA-BBBB-CCCC-DDDD", "--expiring-within", "30"], "not both"),
    (["--expiring-within", "30", "--computers", "3"], "--computers raises one multiseat license"),
])
def test_renew_asked_ambiguously_is_refused_and_changes_nothing(portal, licenses, elp, store_path, argv, says):
    before = store_bytes(store_path)
    result = elp("licenses", "renew", *argv, "--yes")
    assert result.code == 1
    assert says in result.err
    assert store_bytes(store_path) == before


def test_renew_batch_with_nothing_expiring_says_so(portal, licenses, elp, store_path):
    before = store_bytes(store_path)
    result = elp("licenses", "renew", "--expiring-within", "5", "--yes")
    assert result.code == 0
    assert "No license expires within 5 days (with these filters): nothing to renew." in result.out
    assert store_bytes(store_path) == before


# -- assign --from-csv ------------------------------------------------------------------------
def test_assign_from_csv_assigns_the_good_rows_and_refuses_the_others(portal, licenses, elp, tmp_path):
    free = gen(portal, licenses["bank"], quantity=2)
    for aid in free:
        portal.return_license(ADMIN, aid, ANA)
    sheet = tmp_path / "handover.csv"
    sheet.write_bytes(("\ufeffactivation_id,email\r\n"
                       f"{free[0]},freelancer@lumenfox.studio\r\n"
                       f"{free[1]},bad@@x\r\n"
                       f"{licenses['bobs']},{ANA}\r\n").encode("utf-8"))
    result = elp("licenses", "assign", "--from-csv", str(sheet), "--yes")
    assert result.code == 0, result.err
    assert "Assign licenses from" in result.out and "(3 rows; an email to each recipient is queued):" in result.out
    assert f"{free[0]}: Quillstone Animate, expires on 2026-12-23 → freelancer@lumenfox.studio (will be invited)" in result.out
    assert f"row 3: {free[1]}: refused: 'bad@@x' is not a valid email address" in result.out
    assert f"row 4: {licenses['bobs']}: refused: License {licenses['bobs']} is assigned to {BOB}: return it first" in result.out
    assert "Assigned 1 license; 2 rows refused (nothing written for them)." in result.out
    rows = {lic["activation_id"]: lic["assignee"] for lic in portal.list_licenses(ADMIN)}
    assert (rows[free[0]], rows[free[1]]) == ("freelancer@lumenfox.studio", None)


# -- users import -----------------------------------------------------------------------------
@pytest.fixture
def teams(portal):
    member(portal, ANA)
    grant_seats(portal, SEATS, 5)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    return portal


def test_users_import_previews_new_already_there_and_refused_then_imports(teams, elp, tmp_path):
    sheet = tmp_path / "people.csv"
    sheet.write_text("email,role,teams\n"
                     "cleo@lumenfox.studio,regular,Layout;Story\n"
                     f"{ANA},regular,Layout\n"
                     "dan@lumenfox.studio,admin,\n"
                     "cleo@lumenfox.studio,regular,\n"
                     "nobody,regular,\n", encoding="utf-8")
    result = elp("users", "import", str(sheet), "--yes")
    assert result.code == 0, result.err
    out = result.out
    assert "2 new, 1 already there, 2 refused." in out
    assert "row 2: cleo@lumenfox.studio: new: invited as regular, joins Layout, Story" in out
    assert f"row 3: {ANA}: already there, joins Layout" in out
    assert "row 4: dan@lumenfox.studio: new: invited as admin" in out
    assert "row 5: cleo@lumenfox.studio: refused: cleo@lumenfox.studio is listed twice (first on row 2)" in out
    assert "row 6: nobody: refused: 'nobody' is not a valid email address" in out
    assert "Seat pool Frameloop Teams: 1 seat(s) taken, unused 5 → 4" not in out  # Ana's seat is taken too
    assert "Seat pool Frameloop Teams: 2 seat(s) taken, unused 5 → 3" in out
    assert "Imported: 2 invited (each gets an invitation email), 2 joined teams; 2 rows refused" in out
    users = {u["email"]: u["role"] for u in teams.list_users(ADMIN)}
    assert users["cleo@lumenfox.studio"] == "regular" and users["dan@lumenfox.studio"] == "admin"


def test_users_import_shows_a_hostile_cell_escaped_and_refuses_its_row(teams, elp, tmp_path):
    sheet = tmp_path / "people.csv"
    sheet.write_bytes(b'ok@lumenfox.studio,regular,\n"evil\x1b]52;c;aGk=\x07@lumenfox.studio",regular,Layout\n')
    result = elp("users", "import", str(sheet), "--yes")
    assert result.code == 0, result.err
    assert not RAW_CONTROL.search(result.out + result.err)
    assert "row 2: evil\\x1b]52;c;aGk=\\x07@lumenfox.studio: refused: The email address contains a control character (U+001B" in result.out
    assert "ok@lumenfox.studio" in {u["email"] for u in teams.list_users(ADMIN)}


def test_users_import_all_or_nothing_with_a_refused_row_changes_nothing(teams, elp, tmp_path, store_path):
    sheet = tmp_path / "people.csv"
    sheet.write_text("cleo@lumenfox.studio,regular,Layout\nfay@lumenfox.studio,regular,Nowhere\n", encoding="utf-8")
    before = store_bytes(store_path)
    result = elp("users", "import", str(sheet), "--all-or-nothing", "--yes")
    assert result.code == 1
    assert "All or nothing: 1 of 2 rows would be refused, so nothing was imported. row 2: fay@lumenfox.studio: No team" in result.err
    assert store_bytes(store_path) == before


@pytest.mark.parametrize("content, says", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "is not UTF-8 text"),
    (b"x" * 1_000_001, "a batch file holds at most 1,000,000"),
    (b'{"users": []}', "does not look like a CSV file with the columns email, role, teams"),
    (None, "cannot read"),
    ("folder", "is a folder, not a CSV file"),
], ids=["png", "too-large", "json", "missing", "folder"])
def test_users_import_of_a_file_that_is_not_a_batch_csv_is_one_line_and_changes_nothing(teams, elp, tmp_path, store_path,
                                                                                        content, says):
    path = tmp_path / "people.csv"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    before = store_bytes(store_path)
    result = elp("users", "import", str(path), "--yes")
    assert result.code == 1
    assert says in result.err
    assert result.err.count("\n") == 1 and result.out == ""
    assert store_bytes(store_path) == before
