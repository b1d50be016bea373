"""The fictional world of the demo: vendor catalog, organizations, names, bank profiles.

Everything here is static; `build.py` turns it into documents relative to a given today.
"""

from __future__ import annotations

from dataclasses import dataclass

DOWNLOAD_HOST = "https://downloads.quillstone.example.com"

# name, kind, URL folder, file stem, builds as (version, months before today it was released)
PRODUCTS: list[tuple[str, str, str, str, list[tuple[str, int]]]] = [
    ("Quillstone Animate", "credits", "animate", "QuillstoneAnimate",
     [("24.2", 20), ("25.0", 14), ("25.1", 8), ("25.2", 2)]),
    ("Quillstone Storyboard", "credits", "storyboard", "QuillstoneStoryboard",
     [("24.2", 19), ("25.0", 13), ("25.1", 7), ("25.2", 3)]),
    ("Frameloop Teams", "seats", "frameloop-teams", "FrameloopTeams",
     [("25.0", 12), ("25.1", 6), ("25.2", 1)]),
]
ANIMATE, STORYBOARD, FRAMELOOP = (p[0] for p in PRODUCTS)
OTHER_CREDIT_PRODUCT = {ANIMATE: STORYBOARD, STORYBOARD: ANIMATE}


def download_urls(folder: str, stem: str, version: str) -> dict[str, str]:
    base = f"{DOWNLOAD_HOST}/{folder}/{version}/{stem}-{version}"
    return {
        "windows": f"{base}-win64.exe",
        "macos": f"{base}-macos-universal.dmg",
        "linux": f"{base}-linux-x86_64.tar.gz",
    }


@dataclass(frozen=True)
class BankProfile:
    """One interesting case of a credit bank, dates in months (or days) relative to today."""

    kind: str
    product: str
    start_months: int  # start = today + this many months (negative: in the past)
    end_months: int  # expires_on = today + this many months ...
    end_days: int  # ... + this many days
    version: str
    portable: bool
    statuses: dict[str, float]  # license status mix


PROFILES: dict[str, BankProfile] = {
    p.kind: p
    for p in [
        # Expired: its unused credits were forfeited.
        BankProfile("expired", ANIMATE, -18, -2, 0, "24.2", False, {"expired": 1.0}),
        # Expires within 30 days with credits left: the UI warns they are about to be lost.
        BankProfile("expiring", STORYBOARD, -11, 0, 19, "25.0", False, {"expired": 0.35, "active": 0.65}),
        # Healthy, portable 25.1: licenses can be returned and reassigned.
        BankProfile("healthy", ANIMATE, -6, 18, 0, "25.1", True,
                    {"active": 0.6, "expired": 0.15, "scheduled": 0.08, "returned": 0.17}),
        # Nearly exhausted; portable but 25.0, so returns are refused (the UI says why).
        BankProfile("exhausted", ANIMATE, -5, 7, 0, "25.0", True, {"active": 0.7, "expired": 0.2, "scheduled": 0.1}),
        # More credits were requested than granted: a pending request to the vendor.
        BankProfile("pending", STORYBOARD, -2, 10, 0, "25.1", False, {"active": 0.65, "expired": 0.2, "scheduled": 0.15}),
        # Started three weeks ago, portable 25.2.
        BankProfile("fresh", STORYBOARD, 0, 24, -21, "25.2", True, {"active": 0.7, "scheduled": 0.15, "returned": 0.15}),
        # Not started yet: only scheduled (and returned) licenses.
        BankProfile("future", ANIMATE, 0, 12, 12, "25.2", True, {"scheduled": 0.8, "returned": 0.2}),
        # A plain non-portable bank.
        BankProfile("steady", STORYBOARD, -3, 9, 0, "24.2", False, {"active": 0.6, "expired": 0.3, "scheduled": 0.1}),
    ]
}
# "fresh" starts 21 days ago and "future" in 12 days: their start is given in days.
START_DAYS = {"fresh": -21, "future": 12}


@dataclass(frozen=True)
class OrgPlan:
    name: str
    domain: str
    months_old: int  # the organization was created this many months before today
    founder: str  # local part of the first admin's email
    admins: tuple[str, ...]  # further admins (local parts)
    regular: str | None  # the regular user the demo hands out for sign-in
    users: int
    banks: tuple[str, ...]  # bank profiles, cycled when more banks than profiles
    bank_count: int
    licenses: int
    teams: int
    team_names: tuple[str, ...]  # names used first (small demo)
    invited: float  # share of users still invited
    inactive: float  # share of users made inactive


SMALL = [
    OrgPlan(
        name="Lumenfox Studios", domain="lumenfox.studio", months_old=26,
        founder="maya.okafor", admins=("theo.lindqvist", "priya.raman"), regular="ana.ribeiro",
        users=40, banks=("expired", "expiring", "healthy", "exhausted", "pending", "fresh", "future"), bank_count=7,
        licenses=138, teams=5, team_names=("Animation", "Layout", "Storyboard", "FX [night shift]", "Compositing"),
        invited=0.10, inactive=0.05,
    ),
    OrgPlan(
        name="Brightmoor Animation", domain="brightmoor.studio", months_old=14,
        founder="jonas.whitfield", admins=(), regular="lea.moreau",
        users=8, banks=("healthy", "steady"), bank_count=2,
        licenses=12, teams=1, team_names=("Character Animation",),
        invited=0.125, inactive=0.0,
    ),
]

LARGE = [
    OrgPlan(
        name="Lumenfox Studios", domain="lumenfox.studio", months_old=26,
        founder="maya.okafor", admins=tuple(f"admin{n:02d}" for n in range(1, 12)), regular="ana.ribeiro",
        users=9000, banks=("healthy", "expired", "pending", "exhausted", "expiring", "fresh", "future", "steady"),
        bank_count=180, licenses=90000, teams=950, team_names=("Animation", "Layout", "Storyboard", "FX [night shift]", "Compositing"),
        invited=0.04, inactive=0.03,
    ),
    OrgPlan(
        name="Brightmoor Animation", domain="brightmoor.studio", months_old=14,
        founder="jonas.whitfield", admins=("admin01", "admin02"), regular="lea.moreau",
        users=1000, banks=("healthy", "steady", "expired", "pending", "expiring", "fresh"), bank_count=20,
        licenses=10000, teams=50, team_names=("Character Animation",),
        invited=0.04, inactive=0.03,
    ),
]

FIRST_NAMES = """
aaron abdul adele adrian agnes aiko alba alejandro ali alma amara amir ana andrea anika anton arjun astrid aurora
ayla bastien beatriz ben bianca bjorn camille carlos carmen cecile chen chiara chloe clara dalia damien dario diego
dimitri elena elif elias emeka emil emma enzo erik esther ewa fatima felix fiona francesca gabriel greta hana hannah
hugo ibrahim ida ines irene isaac ivan jade jamal jana javier jin joao julia kai kamala karim kenji kira lars laura
leila leo lina lorenzo lucia luka mads malik marco marta mateo mei mila mira nadia nikolai nina noah nora oliver omar
oskar paula pedro rafael rania rosa ruben sakura samir sara sofia sven tariq teresa tomas valentina victor wei yara
yusuf zara zoe
""".split()

LAST_NAMES = """
abara achterberg adeyemi alvarez andersen arslan bauer becker bergstrom bianchi blanc bondarenko brandt castillo
chandra costa dahl delacroix dimitrov duarte ekstrom engel farouk ferrari fischer fontaine garcia greco haddad hansen
hartmann hayashi herrera holm ibarra ivanova jensen kaur keller kim kowalski kruger laine lambert larsen lemaire lopez
lund marchetti martens mendes mercier moreno muller nakamura nguyen novak nowak okonkwo oliveira ortiz park perez
petrov pham popescu quintero rahman reyes richter rossi sato schmidt silva sorensen suzuki takahashi tanaka torres
varga vasquez vidal virtanen vogel wagner weber yamamoto yilmaz zhang ziegler zimmermann
""".split()

SHOWS = """
Orbit Kids|Paper Lanterns|Moss & Marrow|The Tin Fleet|Harbor Lights|Skyward Saga|Little Comets|Ember Hollow|
Dune Runners|Velvet Owls|Quiet Giants|Northbound|Copper Tides|Pixel Pirates|Glasswing|Maple Street|Starlit Circus|
Saltwind|Thunder Pups|Riverstone|Clockwork Garden|Nimbus Nine|The Lost Kites|Moonbeam Bakery|Iron Meadow|
Foxglove Lane|Polar Express Cargo|Cinder & Sage|Wandering Isles|Sunday Robots|Hollow Pines|Aurora Patrol|
Brass Monkeys|Tiny Titans|Lantern Bay|Hidden Orchard|Marble Heights|Kettle Drum|Raincoat Club|Silver Reef
""".replace("\n", "").split("|")

DEPARTMENTS = [
    "Animation", "Layout", "Storyboard", "FX", "Compositing", "Rigging", "Lighting", "Background Paint",
    "Character Design", "Editorial", "Clean-up", "Ink & Paint", "Previs", "Modeling", "Texturing",
    "Color Script", "Pipeline", "Render Wranglers", "Retakes", "Lip Sync", "Props", "Matte Painting",
    "Look Dev", "Crowd", "Production",
]
