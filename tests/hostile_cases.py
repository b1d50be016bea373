"""The table of hostile input shared by the CLI and the app suites (issue 4, SPEC §9).

Three kinds of hostile text, three answers: markup-looking text is data (accepted, shown
literally); terminal control and invisible characters are refused, named in the refusal;
formula starts are neutralised in the CSV export only. Plus the malformed emails, dates,
numbers and names a person pastes: each refused saying what was wrong and what to do.

A case is (id, value, what the refusal says). Values are built on a valid base per kind, so
only the hostile part is wrong.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from pathlib import Path

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store
from tests.helpers import grant_bank, grant_seats

TODAY = dt.date(2026, 11, 23)
ADMIN = "admin@lumenfox.studio"
ANA = "ana@lf.studio"
ANIMATE = "Quillstone Animate"
SEATS = "Frameloop Teams"
TEAM = "Layout"
BANK_END = "2027-05-01"
# The starts a license of the bank may take: today .. the day before the bank expires.
START_RANGE = "pick a start from 2026-11-23 to 2027-04-30"

# What a person can paste: ESC (CSI), an OSC 52 clipboard write, a C1 control, NUL, DEL, CR/LF,
# a bidi override. Each refusal names the character.
CONTROLS = [
    ("esc", "\x1b[2J", "U+001B"),
    ("osc52", "\x1b]52;c;aGk=\x07", "U+001B"),
    ("c1-csi", "\x9b31m", "U+009B"),
    ("nul", "\x00", "U+0000"),
    ("del", "\x7f", "U+007F"),
    ("crlf", "\r\nBcc: x", "U+000D"),
    ("bidi", "\u202etxt", "U+202E"),
]
ZERO_WIDTH = ("zero-width", "\u200b", "invisible character (U+200B")

# Every character issue 8 found passing: each prints as nothing (or as a space), so `Design` + one
# of them reads exactly like `Design`. Unicode's default-ignorable code points, the Hangul and
# braille fillers, and format characters (Cf). Each is refused in a team name, an organization
# name and an email, named in the refusal (tests/test_hostile_cli.py, tests/test_hostile_app.py).
INVISIBLES = [
    0x3164, 0x115F, 0x1160, 0xFFA0, 0x2800, 0x034F, 0x180B, 0xFE0F, *range(0x206A, 0x2070), *range(0xFFF9, 0xFFFC),
    *range(0x1BCA0, 0x1BCA4), *range(0xE0000, 0xE0080),
    # refused before issue 8 already, kept refused: zero-width space, joiners, soft hyphen, word joiner, BOM
    0x200B, 0x200C, 0x200D, 0x00AD, 0x2060, 0xFEFF,
]
# One of each family in every field of the matrices below (all of them: tests named *_invisible_*).
INVISIBLE_SAMPLES = [("hangul-filler", 0x3164), ("braille-blank", 0x2800), ("vs16", 0xFE0F), ("tag", 0xE0041)]

BASE = {"email": ANA, "name": "Studio", "lookup": TEAM, "number": "5", "date": "2026-12-01", "version": "25.1"}

# Markup-looking text: legitimate data, shown exactly as typed, never run.
MARKUP = ["Studio [Paris]", "[@click=app.quit]x", "[/]", "[$accent @click=app.quit]x", "[link=file:///etc/passwd]x"]

# Any character a terminal or a reader would act on: none may reach the screen raw.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Case:
    id: str
    value: str
    says: tuple[str, ...]
    malformed: bool = False  # the CLI refuses it while parsing the command line (exit 2)


def common_cases(kind: str) -> list[Case]:
    """Control characters and a zero-width character inside an otherwise valid value."""
    base = BASE[kind]
    numeric = kind == "number"
    cases = [Case(f"{kind}-{name}", base + char, ("control character", code), numeric) for name, char, code in CONTROLS]
    name, char, says = ZERO_WIDTH
    cases.append(Case(f"{kind}-{name}", base[:2] + char + base[2:], (says,), numeric))
    for name, code in INVISIBLE_SAMPLES:
        cases.append(Case(f"{kind}-{name}", base + chr(code), ("invisible character", f"U+{code:04X}"), numeric))
    return cases


EMAIL_CASES = common_cases("email") + [
    Case("email-display-name", "Bob <bob@lf.studio>", ("type only the address", "bob@lf.studio")),
    Case("email-angle-brackets", "<bob@lf.studio>", ("type only the address",)),
    Case("email-over-long", "b" * 250 + "@lf.studio", ("at most 254 characters",)),
    Case("email-two-at", "ana@@lf.studio", ("not a valid email address", "e.g. ana@studio.com")),
    Case("email-10k", "a" * 10_000, ("at most 254 characters",)),
]
NAME_CASES = common_cases("name") + [
    Case("name-10k", "N" * 10_000, ("10,000 characters long", "the limit is 200")),
    Case("name-201", "N" * 201, ("the limit is 200",)),
]
LOOKUP_CASES = common_cases("lookup") + [Case("lookup-10k", "L" * 10_000, ("the limit is 200",))]
VERSION_CASES = common_cases("version") + [Case("version-long", "2" * 41, ("the limit is 40",))] + [
    # A version is numbers separated by dots: 25, 25.1, 2025.1.3 (full-width digits read as digits).
    Case(f"version-{name}", value, ("is not a version", "e.g. 25, 25.1 or 2025.1.3"))
    for name, value in [
        ("superscript", "25.\u00b2"), ("superscript-only", "\u00b9"), ("letter", "v25"), ("suffix", "25.1-beta"),
        ("empty-part", "25..1"), ("trailing-dot", "25."), ("leading-dot", ".25"), ("semicolon", "25;1"),
        ("space-inside", "25 .1"), ("arabic-indic", "\u0662\u0665"), ("circled", "\u2461\u2464"), ("sign", "-25"),
    ]
]
NUMBER_CASES = common_cases("number") + [
    Case("number-zero", "0", ("at least 1", "at most 1,000,000,000")),
    Case("number-full-width-zero", "\uff10", ("at least 1", "(got 0)")),  # the same range refusal: exit 1
    Case("number-negative", "-3", ("at least", "(got -3)")),
    Case("number-huge", "99999999999999999999999", ("at most 1,000,000,000",)),
    # Leading zeros do not count: 0000 is 0, and 0...01 is 1 (accepted, tests named *leading_zero*).
    Case("number-zeros", "0000", ("at least 1", "(got 0)")),
    Case("number-zeros-then-huge", "000" + "9" * 20, ("at most 1,000,000,000", "(got 99999999999999999999)")),
    Case("number-superscript", "\u00b2", ("whole number from",), True),
    Case("number-circled", "\u2464", ("whole number from",), True),
    Case("number-10k-digits", "9" * 10_000, ("at most 1,000,000,000", "10,000 digits")),
    Case("number-word", "many", ("whole number from", "(got 'many')"), True),
    Case("number-decimal", "2.5", ("whole number from",), True),
]
DATE_CASES = common_cases("date") + [
    Case("date-feb-30", "2026-02-30", ("no such day", "28 days")),
    Case("date-month-13", "2026-13-01", ("no month 13", "YYYY-MM-DD")),
    Case("date-french", "30/11/2026", ("is not a date", "YYYY-MM-DD")),
    Case("date-words", "tomorrow", ("is not a date", "YYYY-MM-DD")),
]
# A byte the shell passes that is not UTF-8 (Latin-1 'é' is 0xE9) reaches Python as a lone
# surrogate: only the command line can carry one.
UNDECODED_CASES = {
    kind: [Case(f"{kind}-not-utf8", BASE[kind][:2] + "\udce9" + BASE[kind][2:], ("not UTF-8 text",))]
    for kind in ("email", "name", "lookup", "version", "date")
}
CASES = {
    "email": EMAIL_CASES, "name": NAME_CASES, "lookup": LOOKUP_CASES, "version": VERSION_CASES,
    "number": NUMBER_CASES, "date": DATE_CASES,
}


# -- a store with something to act on -------------------------------------------------------
@dataclass
class Template:
    path: Path
    returned: str  # a returned license (portable bank): assign takes it
    held: str  # a license assigned to ANA: return and renew take it


def build_store(path: Path) -> Template:
    """An organization with a portable bank, a license held by ANA, a returned one, a seat pool
    with team Layout (ANA in it), a build in the catalog."""
    portal = Portal(Store(path), fixed_clock(TODAY), rng=random.Random(7))
    portal.init_organization("Lumenfox Studios", ADMIN)
    bank = grant_bank(portal, product=ANIMATE, credits=100, start="2026-11-01", expires_on=BANK_END,
                           product_version="25.1", portable=True)
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    held = portal.generate(ADMIN, portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=1,
                                                       start=TODAY.isoformat(), email=ANA))[0]["activation_id"]
    returned = portal.generate(ADMIN, portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2,
                                                           quantity=1, start=TODAY.isoformat(), email=ANA))[0]["activation_id"]
    portal.return_license(ADMIN, returned, ANA)
    grant_seats(portal, SEATS, 5)
    portal.create_team(ADMIN, TEAM, SEATS)
    portal.team_add(ADMIN, TEAM, ANA)
    add_builds(portal, ANIMATE, ["25.1"])
    return Template(path, returned, held)


def add_builds(portal: Portal, product: str, versions: list[str]) -> None:
    """The vendor catalog's builds (the vendor side has no operation)."""
    with portal.store.transaction() as db:
        builds = [
            {"version": v, "released": "2026-01-15", "downloads": {"linux": f"https://dl.example.com/{i}.tgz"}}
            for i, v in enumerate(versions)
        ]
        db.update("products", {"builds": builds}, name=product)


def copy_store(template: Path, folder: Path) -> Path:
    """The template's files (its snapshot, and its journal if it keeps one) in a private folder
    of this test (0700 folder, 0600 files)."""
    from tests.helpers import copy_store as copy_files

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return copy_files(template, folder / "elp.json")
