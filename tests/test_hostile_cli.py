"""Hostile input through the real `elp` command line: every text, email, number and date argument
gets every hostile value of its kind; each is refused with exit 1 (2 while parsing a number), one
message on stderr saying what was wrong, no raw control character echoed, the store byte-for-byte
as it was. Then what is accepted: markup-looking names kept as typed, emails folded to one form,
and formula starts neutralised in `elp licenses export` while the store keeps them."""

from __future__ import annotations

import csv
import io

import pytest

from elp_tui.cli import main
from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store
from tests.conftest import VENDOR
from tests.helpers import cli_env, store_bytes  # noqa: F401 (fixture)
from tests.hostile_cases import (
    ADMIN, ANA, ANIMATE, CASES, INVISIBLES, UNDECODED_CASES, MARKUP, RAW_CONTROL, SEATS, START_RANGE, TEAM, TODAY, Case,
    build_store, copy_store,
)

V = "{value}"  # where the hostile value goes in a command line
GEN = ["licenses", "generate", "--bank", "BK-0001", "--type", "node-lock", "--months", "1", "--quantity", "1",
       "--start", TODAY.isoformat(), "--email", ANA, "--yes"]
# The vendor grants banks and seats ("--as" after the command wins over the fixture's user).
AS_VENDOR = ["--org", "lumenfox-studios", "--as", VENDOR]
BANK = ["banks", "add", *AS_VENDOR, "--product", ANIMATE, "--credits", "5", "--start", "2026-11-01", "--expires", "2027-01-01"]


def put(argv: list[str], option: str, value: str = V) -> list[str]:
    """`argv` with the value of `option` replaced."""
    out = list(argv)
    out[out.index(option) + 1] = value
    return out


# (field, kind, command line, acting user): every argument a person types, by kind.
FIELDS: list[tuple[str, str, list[str], str | None]] = [
    # emails
    ("init --admin", "email", ["init", "--org", "Other Org", "--admin", V], None),
    ("--as", "email", ["--as", V, "banks", "list"], None),
    ("users invite", "email", ["users", "invite", V], ADMIN),
    ("users set-role", "email", ["users", "set-role", V, "admin"], ADMIN),
    ("users set-status", "email", ["users", "set-status", V, "inactive"], ADMIN),
    ("users delete", "email", ["users", "delete", V, "--yes"], ADMIN),
    ("licenses generate --email", "email", put(GEN, "--email"), ADMIN),
    ("licenses return --email", "email", ["licenses", "return", "{held}", "--email", V, "--yes"], ADMIN),
    ("licenses assign --email", "email", ["licenses", "assign", "{returned}", "--email", V, "--yes"], ADMIN),
    ("teams add EMAIL", "email", ["teams", "add", TEAM, V, "--yes"], ADMIN),
    ("teams remove EMAIL", "email", ["teams", "remove", TEAM, V], ADMIN),
    # names of new things
    ("init --org", "name", ["init", "--org", V, "--admin", "new@lf.studio"], None),
    ("banks add --product", "name", put(BANK, "--product"), ADMIN),
    ("seats add --product", "name", ["seats", "add", *AS_VENDOR, "--product", V, "--seats", "3"], ADMIN),
    ("teams create NAME", "name", ["teams", "create", V, "--pool", SEATS], ADMIN),
    # text naming something that exists
    ("banks request BANK_ID", "lookup", ["banks", "request", V, "--credits", "5", "--yes"], ADMIN),
    ("licenses generate --bank", "lookup", put(GEN, "--bank"), ADMIN),
    ("licenses renew ACTIVATION_ID", "lookup", ["licenses", "renew", V, "--months", "1", "--yes"], ADMIN),
    ("licenses return ACTIVATION_ID", "lookup", ["licenses", "return", V, "--email", ANA, "--yes"], ADMIN),
    ("licenses assign ACTIVATION_ID", "lookup", ["licenses", "assign", V, "--email", ANA, "--yes"], ADMIN),
    ("versions restrict PRODUCT", "lookup", ["versions", "restrict", V, "--builds", "25.1"], ADMIN),
    ("versions unrestrict PRODUCT", "lookup", ["versions", "unrestrict", V], ADMIN),
    ("seats request --product", "lookup", ["seats", "request", "--product", V, "--seats", "3", "--yes"], ADMIN),
    ("teams add TEAM", "lookup", ["teams", "add", V, ANA, "--yes"], ADMIN),
    ("teams remove TEAM", "lookup", ["teams", "remove", V, ANA], ADMIN),
    ("outbox retry ID", "lookup", ["outbox", "retry", V], ADMIN),
    ("banks add --version", "version", BANK + ["--version", V], ADMIN),
    ("versions restrict --builds", "version", ["versions", "restrict", ANIMATE, "--builds", V], ADMIN),
    # numbers
    ("banks add --credits", "number", put(BANK, "--credits"), ADMIN),
    ("banks request --credits", "number", ["banks", "request", "BK-0001", "--credits", V, "--yes"], ADMIN),
    ("licenses generate --months", "number", put(GEN, "--months"), ADMIN),
    ("licenses generate --quantity", "number", put(GEN, "--quantity"), ADMIN),
    ("licenses renew --months", "number", ["licenses", "renew", "{held}", "--months", V, "--yes"], ADMIN),
    ("licenses renew --computers", "number", ["licenses", "renew", "{held}", "--months", "1", "--computers", V, "--yes"], ADMIN),
    ("seats add --seats", "number", ["seats", "add", *AS_VENDOR, "--product", SEATS, "--seats", V], ADMIN),
    ("seats request --seats", "number", ["seats", "request", "--product", SEATS, "--seats", V, "--yes"], ADMIN),
    # dates
    ("banks add --start", "date", put(BANK, "--start"), ADMIN),
    ("banks add --expires", "date", put(BANK, "--expires"), ADMIN),
    ("licenses generate --start", "date", put(GEN, "--start"), ADMIN),
    # the vendor's commands ("--as" after the command: the vendor's staff)
    ("vendor staff EMAIL", "email", ["vendor", "staff", V, "--as", VENDOR], ADMIN),
    ("vendor setup --name", "name", ["vendor", "setup", "--name", V, "--email", "desk@q.example", "--staff", VENDOR,
                                     "--as", VENDOR], ADMIN),
    ("vendor setup --email", "email", ["vendor", "setup", "--name", "Quillstone", "--email", V, "--staff", VENDOR,
                                       "--as", VENDOR], ADMIN),
    ("vendor topup --credits", "number", ["vendor", "topup", "BK-0001", "--credits", V, "--yes", "--as", VENDOR], ADMIN),
    ("vendor topup --expires", "date", ["vendor", "topup", "BK-0001", "--expires", V, "--yes", "--as", VENDOR], ADMIN),
    ("vendor build --version", "version", ["vendor", "build", "--product", ANIMATE, "--version", V, "--released",
                                           "2026-11-20", "--as", VENDOR], ADMIN),
    ("vendor build --released", "date", ["vendor", "build", "--product", ANIMATE, "--version", "26.0", "--released", V,
                                         "--as", VENDOR], ADMIN),
]

# renew --months may be 0 (a multiseat may only add computers): its floor is 0, not 1.
FLOOR_ZERO = {"licenses renew --months"}

pytestmark = pytest.mark.usefixtures("cli_env")

MATRIX = [
    pytest.param(field, argv, user, case, id=f"{field}|{case.id}")
    for field, kind, argv, user in FIELDS
    for case in CASES[kind] + UNDECODED_CASES.get(kind, [])
]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("hostile-cli") / "template.json")




@pytest.fixture
def store(template, tmp_path):
    return copy_store(template.path, tmp_path / "data")


@pytest.fixture
def elp(store, capsys):
    def run(argv: list[str], user: str | None = ADMIN) -> tuple[int, str, str]:
        code = main(["--store", str(store)] + (["--as", user] if user else []) + argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def fill(argv: list[str], value: str, template) -> list[str]:
    ids = {"held": template.held, "returned": template.returned}
    return [value if arg == V else arg.format(**ids) if "{" in arg else arg for arg in argv]


@pytest.mark.parametrize("field, argv, user, case", MATRIX)
def test_hostile_value_is_refused_and_changes_nothing(elp, store, template, field, argv, user, case: Case):
    before = store_bytes(store)
    code, out, err = elp(fill(argv, case.value, template), user)
    assert code == (2 if case.malformed else 1), (code, out, err)
    says = case.says
    if field in FLOOR_ZERO and case.id in ("number-zero", "number-full-width-zero", "number-zeros"):
        says = ("Months must be at least 1",)  # 0 months is refused for a node-lock renewal
    for words in says:
        assert words in err, f"{field}: {words!r} not in {err!r}"
    assert err.startswith("elp: ") if code == 1 else "error:" in err
    assert "Traceback" not in err
    assert not RAW_CONTROL.search(err + out), "a control character reached the terminal raw"
    assert store_bytes(store) == before, "a refusal changed the store"


def test_every_command_with_a_typed_argument_is_in_the_matrix():
    """A new command's text arguments must join the table."""
    from elp_tui.cli import COMMANDS

    covered = {tuple(a for a in argv if not a.startswith("-") and a != V and "{" not in a)[:2] for _, _, argv, _ in FIELDS}
    typed = {
        ("init", None), ("users", "invite"), ("users", "set-role"), ("users", "set-status"), ("users", "delete"),
        ("licenses", "generate"), ("licenses", "renew"), ("licenses", "return"), ("licenses", "assign"),
        ("banks", "add"), ("banks", "request"), ("versions", "restrict"), ("versions", "unrestrict"),
        ("seats", "add"), ("seats", "request"), ("teams", "create"), ("teams", "add"), ("teams", "remove"),
        ("outbox", "retry"),
        ("vendor", "staff"), ("vendor", "setup"), ("vendor", "topup"), ("vendor", "build"),
    }
    assert typed <= set(COMMANDS)
    for command, action in typed:
        assert any(c[0] == command and (action is None or c[1] == action) for c in covered), (command, action)


@pytest.mark.parametrize("start, says", [
    ("2026-11-01", "is in the past"),
    ("2027-05-01", "is not before bank BK-0001 expires (2027-05-01)"),
    ("2031-01-01", "is not before bank BK-0001 expires"),
])
def test_start_outside_the_bank_is_refused_saying_the_allowed_range(elp, store, start, says):
    before = store_bytes(store)
    code, _out, err = elp(put(GEN, "--start", start))
    assert code == 1 and says in err and START_RANGE in err, err
    assert store_bytes(store) == before


def test_renew_months_negative_states_the_floor_of_zero(elp, store, template):
    before = store_bytes(store)
    code, _out, err = elp(["licenses", "renew", template.held, "--months", "-1", "--yes"])
    assert code == 1 and "at least 0" in err
    assert store_bytes(store) == before


# -- invisible characters: Unicode's lists, each one --------------------------------------------
@pytest.mark.parametrize("code", INVISIBLES, ids=[f"U+{c:04X}" for c in INVISIBLES])
def test_every_invisible_character_is_refused_in_a_team_an_organization_and_an_email(elp, store, code):
    """`Design` + U+3164 prints as `Design`: refused wherever a name or an address is typed, named."""
    char = chr(code)
    before = store_bytes(store)
    for argv, user in (
        (["teams", "create", "Design" + char, "--pool", SEATS], ADMIN),
        (["init", "--org", "Design" + char, "--admin", "boss@design.studio"], None),
        (["users", "invite", "ana" + char + "@lf.studio"], ADMIN),
        (["users", "invite", "ana@lf.studio" + char], ADMIN),
    ):
        code_, out, err = elp(argv, user)
        assert code_ == 1, (argv, out, err)
        assert "invisible character" in err and f"U+{code:04X}" in err, err
        assert "Traceback" not in err
    assert store_bytes(store) == before


# -- one name, however it is written ---------------------------------------------------------------
# (what, command line with the name, existing name it collides with)
NEAR_DUPLICATES = [
    ("team", ["teams", "create", V, "--pool", SEATS], TEAM, ["layout", "LAYOUT", "\uff2c\uff41\uff59\uff4f\uff55\uff54",
                                                              "Layout", "  layout  "]),
    ("organization", ["init", "--org", V, "--admin", "boss@other.studio"], "Lumenfox Studios",
     ["lumenfox studios", "LUMENFOX  STUDIOS", "Lumenfox\u00a0Studios", "Lumenfox\u3000Studios",
      "\uff2c\uff55\uff4d\uff45\uff4e\uff46\uff4f\uff58 Studios", " Lumenfox   Studios "]),
    ("product (bank)", put(BANK, "--product"), ANIMATE, ["quillstone animate", "QUILLSTONE  ANIMATE"]),
    ("product (seats)", ["seats", "add", *AS_VENDOR, "--product", V, "--seats", "3"], SEATS, ["frameloop teams", "Frameloop\u00a0Teams"]),
]


@pytest.mark.parametrize(
    "argv, existing, typed",
    [pytest.param(argv, existing, typed, id=f"{what}|{typed!r}") for what, argv, existing, typed_list in NEAR_DUPLICATES
     for typed in typed_list],
)
def test_a_name_that_differs_only_by_case_width_or_spaces_is_refused_naming_the_existing_one(elp, store, argv, existing, typed):
    before = store_bytes(store)
    user = None if argv[0] == "init" else ADMIN
    code, out, err = elp([typed if a == V else a for a in argv], user)
    assert code == 1, (out, err)
    assert "already exists" in err and repr(existing) in err, err
    assert "choose another name" in err
    assert store_bytes(store) == before


def test_a_stored_name_with_an_invisible_character_still_blocks_its_look_alike(elp, store):
    """A team written before issue 8 as `Design` + U+3164: a new `Design` is one name with it, and the
    refusal shows the hidden character as an escape."""
    with Store(store).transaction() as db:
        team = dict(db.all("teams")[0])
        db.insert("teams", {**team, "id": "T-0099", "name": "Design\u3164", "members": []})
    before = store_bytes(store)
    code, _out, err = elp(["teams", "create", "design", "--pool", SEATS])
    assert code == 1 and "'Design\\u3164' already exists" in err, err
    assert store_bytes(store) == before


def test_a_team_is_found_by_its_name_written_in_any_case_or_width(elp, store):
    code, _out, err = elp(["teams", "remove", "\uff4c\uff41\uff59\uff4f\uff55\uff54", ANA])
    assert code == 0, err
    assert ANA not in next(t for t in Portal(Store(store), fixed_clock(TODAY)).list_teams(ADMIN) if t["name"] == TEAM)["members"]


# -- numbers and versions: one reading everywhere ---------------------------------------------------
def test_leading_zeros_do_not_count_in_any_number(elp, store, template):
    code, out, err = elp(put(put(BANK, "--credits", "0" * 28 + "1"), "--product", "Zeros Product") + ["--json"])
    assert code == 0, err
    assert '"credits_granted": 1' in out.replace('":1', '": 1')
    code, out, err = elp(put(put(GEN, "--months", "0002"), "--quantity", "\uff10\uff10\uff11") + ["--json"])
    assert code == 0, err
    code, _out, err = elp(["seats", "add", *AS_VENDOR, "--product", SEATS, "--seats", "000000000000000000000000000000003"])
    assert code == 0, err
    portal = Portal(Store(store), fixed_clock(TODAY))
    assert next(p for p in portal.seats_overview(ADMIN) if p["product"] == SEATS)["purchased"] == 5 + 3
    assert next(b for b in portal.list_banks(ADMIN) if b["product"] == "Zeros Product")["credits_granted"] == 1
    code, _out, err = elp(["licenses", "renew", template.held, "--months", "000", "--computers", "0001", "--yes"])
    assert code == 1 and "Months must be at least 1" in err  # 000 is 0: a node-lock renewal needs a month


@pytest.mark.parametrize("typed, stored", [("25", "25"), ("2025.1.3", "2025.1.3"), (" 25.1 ", "25.1"),
                                           ("\uff12\uff15\uff0e\uff11", "25.1"), ("25.01", "25.01")])
def test_a_version_is_numbers_separated_by_dots(elp, store, typed, stored):
    code, _out, err = elp(put(BANK, "--product", "Versioned") + ["--version", typed])
    assert code == 0, err
    banks = Portal(Store(store), fixed_clock(TODAY)).list_banks(ADMIN)
    assert next(b for b in banks if b["product"] == "Versioned")["product_version"] == stored


def test_restrict_reads_builds_as_versions(elp, store):
    code, out, err = elp(["versions", "restrict", ANIMATE, "--builds", " \uff12\uff15.1 , 25.1"])
    assert code == 0, err
    assert "only builds 25.1 are accessible" in out


# -- accepted: markup is data ------------------------------------------------------------
@pytest.mark.parametrize("name", MARKUP)
def test_markup_looking_names_are_stored_as_typed_and_printed_literally(elp, store, name):
    assert elp(["teams", "create", name, "--pool", SEATS])[0] == 0
    assert elp(["seats", "add", *AS_VENDOR, "--product", name, "--seats", "2"])[0] == 0
    assert elp(["banks", "add", *AS_VENDOR, "--product", name + " Pro", "--credits", "5", "--start", "2026-11-01",
                "--expires", "2027-01-01"])[0] == 0
    portal = Portal(Store(store), fixed_clock(TODAY))
    assert name in {t["name"] for t in portal.list_teams(ADMIN)}
    assert name in {p["product"] for p in portal.seats_overview(ADMIN)}
    assert name + " Pro" in {b["product"] for b in portal.list_banks(ADMIN)}
    for argv in (["teams", "list"], ["seats", "show"], ["banks", "list"]):
        code, out, _err = elp(argv)
        assert code == 0 and name in out, argv


def test_markup_looking_organization_name(elp, tmp_path):
    other = tmp_path / "other" / "elp.json"
    code = main(["--store", str(other), "init", "--org", "[link=file:///etc/passwd]x", "--admin", "boss@x.studio"])
    assert code == 0
    portal = Portal(Store(other), fixed_clock(TODAY))
    assert portal.organization_name(portal.list_users("boss@x.studio")[0]["organization"]) == "[link=file:///etc/passwd]x"


# -- accepted: one email, one user ------------------------------------------------------------
@pytest.mark.parametrize("typed", ["  Neo@LF.Studio  ", "NEO@lf.studio", "ｎｅｏ＠ｌｆ．ｓｔｕｄｉｏ", "neo＠lf.studio"])
def test_emails_are_trimmed_folded_and_lower_cased_to_one_user(elp, store, typed):
    code, out, err = elp(["users", "invite", typed])
    assert code == 0, err
    assert "neo@lf.studio" in out
    users = [u["email"] for u in Portal(Store(store), fixed_clock(TODAY)).list_users(ADMIN)]
    assert "neo@lf.studio" in users and typed not in users
    before = store_bytes(store)
    for again in ("neo@lf.studio", "NEO@LF.STUDIO", " ｎｅｏ＠ｌｆ．ｓｔｕｄｉｏ"):
        code, _out, err = elp(["users", "invite", again])
        assert code == 1 and "already a member" in err
    assert store_bytes(store) == before


# -- CSV: formula starts neutralised in the export, kept in the store ---------------------------
FORMULA_EMAILS = ["=1+2@x.com", "+1@x.com", "-2@x.com", "@sum@x.com"]


def test_export_neutralises_formula_starts_and_keeps_the_data(elp, store):
    emails = [e for e in FORMULA_EMAILS if _valid(e)]
    assert "=1+2@x.com" in emails  # email-validator accepts it: the export must neutralise it
    for email in emails:
        # `--email=-2@x.com`: a value starting with '-' is attached, as with any argparse option.
        argv = put(GEN, "--email", "")
        argv[argv.index("--email"): argv.index("--email") + 2] = [f"--email={email}"]
        code, _out, err = elp(argv)
        assert code == 0, err
    # A product name cannot be typed with a formula start; a store (an import, a hand edit) may
    # still hold one: it is data, not a control character (a tab or a CR would be refused on open).
    with Store(store).transaction() as db:
        bank = db.all("banks")[0]
        db.update("banks", {"product": "@SUM(A1)"}, id=bank["id"])
        for doc in db.all("licenses"):
            if doc["bank"] == bank["id"]:
                db.update("licenses", {"product": "@SUM(A1)"}, activation_id=doc["activation_id"])
    before = store_bytes(store)
    code, out, err = elp(["licenses", "export"])
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], "a cell would run as a formula"
    assigned = {row["assignee"] for row in rows}
    assert {"'" + e for e in emails} <= assigned
    assert {"'@SUM(A1)"} == {row["product"] for row in rows if row["bank"] == bank["id"]}
    # The data itself is kept as it was: the export wrote nothing, the store still holds the raw values.
    assert store_bytes(store) == before
    held = {lic["assignee"] for lic in Portal(Store(store), fixed_clock(TODAY)).list_licenses(ADMIN)}
    assert set(emails) <= held


def _valid(email: str) -> bool:
    from elp_tui.portal.inputs import normalise_email
    from elp_tui.portal.errors import InvalidInput

    try:
        return normalise_email(email) == email
    except InvalidInput:
        return False
