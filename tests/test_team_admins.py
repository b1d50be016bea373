"""Team Admins (seed 002, issue 11): an organization admin makes a regular member the Team Admin of a
team; a Team Admin invites members into their own teams (taking a seat, same quote and confirmation),
removes them, and sees their teams' seat usage; nothing else. Every refusal of authority is logged.

The portal first, then the CLI through the real `elp` (a subprocess, as a script or SSH session runs it).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from elp_tui.cli import COMMANDS, TEAM_SCOPED
from elp_tui.portal import AdminRequired, NotFound, PermissionDenied, Portal, RuleViolation, StaleQuote, fixed_clock
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.keyfiles import CODE, last_code
from tests.helpers import grant_seats, hand_edit, only_refusal_logged, refused, store_bytes, store_tables

ROOT = Path(__file__).resolve().parents[1]
ANA = "ana@lumenfox.studio"  # the Team Admin of Story
BOB = "bob@lumenfox.studio"  # a plain regular member, in Story
CARL = "carl@lumenfox.studio"  # invited, never signed in
NEW = "new@lumenfox.studio"  # not a member yet
BOSS = "boss@lumenfox.studio"  # a second admin
SEATS = "Quillstone Sketch"


def fresh(portal: Portal) -> Portal:
    return Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(3))


def team(portal: Portal, name: str) -> dict[str, Any]:
    return next(t for t in Store(portal.store.path).tables()["teams"].values() if t["name"] == name)


@pytest.fixture
def world(portal) -> Portal:
    """Lumenfox: ADMIN and BOSS (admins), ANA and BOB (active regulars), CARL (invited); a pool of 4
    seats of SEATS with teams Story (BOB in it) and Layout (empty). No Team Admin yet."""
    for email, role in ((ANA, "regular"), (BOB, "regular"), (BOSS, "admin")):
        portal.invite(ADMIN, email, role)
        portal.sign_in(email)
    portal.invite(ADMIN, CARL)
    grant_seats(portal, SEATS, 4)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Story", BOB)
    return portal


@pytest.fixture
def led(world) -> Portal:
    """The world, with ANA the Team Admin of Story."""
    world.set_team_admin(ADMIN, "Story", ANA)
    return world


# -- making and unmaking -----------------------------------------------------------------------
def test_an_admin_makes_a_member_team_admin_and_unmakes_them_and_both_are_logged(world):
    quote = world.quote_set_team_admin(ADMIN, "story", ANA)  # the name in any case
    assert (quote.team, quote.email, quote.admin) == ("Story", ANA, True)
    assert ("Team Admin", "no → yes") in quote.lines()
    world.set_team_admin(ADMIN, "Story", ANA, expected=quote)
    assert team(world, "Story")["admins"] == [ANA]
    assert world.my_team_admin(ANA) == ["Story"]
    assert [t["admins"] for t in fresh(world).list_teams(ADMIN)] == [[], [ANA]]  # Layout, Story
    entry = world.activity(ADMIN)[0]
    assert (entry["actor"], entry["action"], entry["target"]) == (ADMIN, "team-admin", "Story")
    assert ANA in entry["details"]

    world.set_team_admin(ADMIN, "Story", ANA, admin=False)
    assert team(world, "Story")["admins"] == []
    assert world.my_team_admin(ANA) == []
    assert world.activity(ADMIN)[0]["details"] == f"{ANA} no longer Team Admin"
    assert world.check() == []


def test_an_invited_member_can_be_made_team_admin(world):
    world.set_team_admin(ADMIN, "Layout", CARL)
    assert team(world, "Layout")["admins"] == [CARL]


@pytest.mark.parametrize("who, error, match", [
    (ADMIN, RuleViolation, "already manages every team"),
    (BOSS, RuleViolation, "already manages every team"),
    ("nobody@lumenfox.studio", NotFound, "not a member of your organization"),
    ("olga@other.studio", NotFound, "not a member of your organization"),  # another organization's member
])
def test_making_an_admin_a_non_member_or_another_orgs_member_team_admin_is_refused(world, who, error, match):
    world.init_organization("Other Studio", "olga@other.studio")
    refused(world, error, world.quote_set_team_admin, ADMIN, "Story", who, match=match)
    refused(world, error, world.set_team_admin, ADMIN, "Story", who, match=match)


def test_making_an_inactive_member_or_twice_and_unmaking_a_non_team_admin_is_refused(led):
    refused(led, RuleViolation, led.set_team_admin, ADMIN, "Story", ANA, match="already a Team Admin of Story")
    refused(led, RuleViolation, led.set_team_admin, ADMIN, "Layout", ANA, admin=False, match="not a Team Admin of Layout")
    led.set_status(ADMIN, BOB, "inactive")
    refused(led, RuleViolation, led.set_team_admin, ADMIN, "Story", BOB, match="reactivate them first")
    refused(led, NotFound, led.set_team_admin, ADMIN, "Nowhere", BOB, match="No team 'Nowhere'")


def test_a_regular_user_and_a_team_admin_are_refused_making_team_admins_and_it_is_logged(led):
    for who in (BOB, ANA):
        before = store_tables(led.store.path)
        with pytest.raises(AdminRequired, match="only organization admins"):
            led.set_team_admin(who, "Story", BOB)
        only_refusal_logged(before, store_tables(led.store.path), who, "set_team_admin")


# -- what a Team Admin may do ------------------------------------------------------------------
def test_a_team_admin_sees_only_their_teams_and_their_pools_seat_usage(led):
    [pool] = led.seats_overview(ANA)
    assert [t["name"] for t in pool["teams"]] == ["Story"]
    assert (pool["purchased"], pool["unused"]) == (4, 3)  # the pool's usage, every team's members counted
    assert pool["unassigned_members"] == []
    assert [t["name"] for t in led.list_teams(ANA)] == ["Story"]
    assert [t["name"] for t in led.list_teams(ADMIN)] == ["Layout", "Story"]


def test_a_team_admin_invites_a_new_member_into_their_team_taking_a_seat(led):
    quote = led.quote_team_add(ANA, "Story", NEW)
    assert (quote.takes_seat, quote.invites, quote.unused_before, quote.unused_after) == (True, True, 3, 2)
    pool = led.team_add(ANA, "Story", NEW, expected=quote)
    assert pool["unused"] == 2
    tables = Store(led.store.path).tables()
    user = next(u for u in tables["users"].values() if u["email"] == NEW)
    assert (user["status"], user["role"], user["organization"]) == ("invited", "regular", "lumenfox-studios")
    assert any(h["email"] == NEW for h in tables["seat_holders"].values())
    invitation = [m for m in tables["outbox"].values() if m["to"] == NEW and m["kind"] == "invitation"]
    assert len(invitation) == 1 and ANA in invitation[0]["body"]
    # Sent, the invitation carries a one-time enrolment code; the store keeps only its hash.
    assert CODE.search(last_code(led, NEW)) and store_tables(led.store.path)["users"]
    assert next(u for u in store_tables(led.store.path)["users"].values() if u["email"] == NEW)["enrol_code"].startswith("sha256$")
    log = led.activity(ADMIN)
    assert [(e["actor"], e["action"]) for e in log[:2]] == [(ANA, "team-add"), (ANA, "user-invite")]
    assert led.check() == []


def test_a_team_admin_removes_a_member_of_their_team(led):
    quote = led.quote_team_remove(ANA, "Story", BOB)
    led.team_remove(ANA, "Story", BOB, expected=quote)
    assert team(led, "Story")["members"] == []
    assert led.activity(ADMIN)[0]["actor"] == ANA


@pytest.mark.parametrize("call", ["quote_team_add", "team_add", "quote_team_remove", "team_remove"])
def test_a_team_admin_acting_on_another_team_is_refused_and_it_is_logged(led, call):
    led.team_add(ADMIN, "Layout", BOB)
    before = store_tables(led.store.path)
    with pytest.raises(AdminRequired, match="not a Team Admin of team Layout") as info:
        email = NEW if "add" in call else BOB
        getattr(led, call)(ANA, "Layout", email)
    assert "Story" in str(info.value)  # it says which teams are theirs
    entry = only_refusal_logged(before, store_tables(led.store.path), ANA, call)
    assert "not a Team Admin of Layout" in entry["details"]


def test_a_team_admin_is_refused_when_the_pool_is_full(led):
    led.team_add(ADMIN, "Layout", BOSS)
    led.team_add(ADMIN, "Layout", CARL)
    led.team_add(ADMIN, "Layout", ANA)  # 4 of 4 seats held
    refused(led, RuleViolation, led.quote_team_add, ANA, "Story", NEW, match="No unused seat left")
    refused(led, RuleViolation, led.team_add, ANA, "Story", NEW, match="No unused seat left")


def test_a_team_admins_stale_quote_is_re_checked_and_nothing_written(led):
    quote = led.quote_team_add(ANA, "Story", NEW)
    assert quote.invites
    fresh(led).invite(ADMIN, NEW)  # an admin invited them meanwhile: the add no longer invites
    before = store_bytes(led.store.path)
    with pytest.raises(StaleQuote) as info:
        led.team_add(ANA, "Story", NEW, expected=quote)
    assert store_bytes(led.store.path) == before
    assert info.value.fresh.invites is False and info.value.fresh.takes_seat is True


def test_a_team_admin_unmade_demoted_or_deactivated_can_do_nothing_more(led):
    led.set_team_admin(ADMIN, "Story", ANA, admin=False)
    before = store_tables(led.store.path)
    with pytest.raises(AdminRequired, match="only organization admins"):
        led.team_add(ANA, "Story", NEW)
    only_refusal_logged(before, store_tables(led.store.path), ANA, "team_add")
    led.set_team_admin(ADMIN, "Story", ANA)
    led.set_status(ADMIN, ANA, "inactive")
    refused(led, PermissionDenied, led.team_add, ANA, "Story", NEW, match="inactive")
    assert led.check() == []


def test_promoting_a_team_admin_to_admin_clears_them_from_the_team_admins(led):
    led.set_role(ADMIN, ANA, "admin")
    assert team(led, "Story")["admins"] == []
    assert "no longer Team Admin of Story" in led.activity(ADMIN)[0]["details"]
    led.team_add(ANA, "Layout", NEW)  # an admin: every team
    assert led.check() == []


def test_deleting_a_team_admin_clears_them_from_every_teams_admins(led):
    led.set_team_admin(ADMIN, "Layout", ANA)
    quote = led.quote_delete_user(ADMIN, ANA)
    led.delete_user(ADMIN, ANA, expected=quote)
    assert team(led, "Story")["admins"] == [] and team(led, "Layout")["admins"] == []
    assert led.check() == []


def test_check_reports_a_team_admin_who_is_not_a_member_of_the_organization(led, store_path):
    assert run_elp(store_path, "check", user=None).returncode == 0

    def ghost(data: dict[str, Any]) -> None:
        for doc in data["teams"].values():
            if doc["name"] == "Story":
                doc["admins"].append("ghost@elsewhere.studio")

    hand_edit(store_path, ghost)
    done = run_elp(store_path, "check", user=None)
    assert done.returncode == 1
    assert "ghost@elsewhere.studio is a Team Admin of team Story but not a member of its organization" in done.stdout


# -- the CLI, through the real `elp` ------------------------------------------------------------
def run_elp(store_path: Path, *args: str, user: str | None = ADMIN) -> subprocess.CompletedProcess:
    env = {**os.environ, "ELP_TODAY": TODAY.isoformat(), "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    for name in ("ELP_USER", "ELP_STORE", "ELP_LANG"):
        env.pop(name, None)
    argv = [sys.executable, "-m", "elp_tui", "--store", str(store_path)] + (["--as", user] if user else []) + list(args)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def one_line_refusal(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("elp: ") and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    return done.stderr


def test_cli_teams_admin_makes_and_removes_and_teams_list_and_seats_show_show_them(world, store_path):
    done = run_elp(store_path, "teams", "admin", "Story", ANA)
    assert done.returncode == 0, done.stderr
    assert f"{ANA} is now a Team Admin of Story" in done.stdout
    teams = json.loads(run_elp(store_path, "teams", "list", "--json").stdout)
    assert {t["name"]: t["admins"] for t in teams} == {"Layout": [], "Story": [ANA]}
    table = run_elp(store_path, "teams", "list").stdout
    assert "TEAM ADMINS" in table and ANA in table
    shown = run_elp(store_path, "seats", "show").stdout
    assert f"Team Admins of Story: {ANA}" in shown
    assert json.loads(run_elp(store_path, "seats", "show", "--json").stdout)[0]["teams"][1]["admins"] == [ANA]

    done = run_elp(store_path, "teams", "admin", "Story", ANA, "--remove")
    assert done.returncode == 0 and f"{ANA} is no longer a Team Admin of Story" in done.stdout
    assert team(world, "Story")["admins"] == []


@pytest.mark.parametrize("who, says", [(BOSS, "already manages every team"), (NEW, "not a member of your organization")])
def test_cli_teams_admin_refuses_an_admin_or_a_non_member(world, store_path, who, says):
    before = store_bytes(store_path)
    assert says in one_line_refusal(run_elp(store_path, "teams", "admin", "Story", who))
    assert store_bytes(store_path) == before


def test_cli_a_team_admin_lists_their_teams_only(led, store_path):
    done = run_elp(store_path, "teams", "list", "--json", user=ANA)
    assert done.returncode == 0, done.stderr
    assert [t["name"] for t in json.loads(done.stdout)] == ["Story"]
    [pool] = json.loads(run_elp(store_path, "seats", "show", "--json", user=ANA).stdout)
    assert [t["name"] for t in pool["teams"]] == ["Story"] and pool["unused"] == 3
    shown = run_elp(store_path, "seats", "show", user=ANA).stdout
    assert "Layout" not in shown and BOB in shown


def test_cli_a_team_admin_invites_a_new_member_with_the_seat_quote_and_yes(led, store_path):
    before = store_bytes(store_path)
    asked = run_elp(store_path, "teams", "add", "Story", NEW, user=ANA)  # no terminal to confirm on
    assert "--yes" in one_line_refusal(asked)
    assert "Unused seats: 3 → 2" in asked.stdout and "(will be invited)" in asked.stdout
    assert store_bytes(store_path) == before
    done = run_elp(store_path, "teams", "add", "Story", NEW, "--yes", user=ANA)
    assert done.returncode == 0, done.stderr
    assert "Seat:" in done.stdout and "takes an unused seat" in done.stdout
    assert f"{NEW} joined Story" in done.stdout and "2 unused seat(s) left" in done.stdout
    tables = Store(store_path).tables()
    assert any(m["to"] == NEW and m["kind"] == "invitation" for m in tables["outbox"].values())
    assert NEW in team(led, "Story")["members"]
    assert led.check() == []

    done = run_elp(store_path, "teams", "remove", "Story", NEW, user=ANA)
    assert done.returncode == 0, done.stderr
    assert NEW not in team(led, "Story")["members"]


@pytest.mark.parametrize("argv, operation", [
    (["teams", "add", "Layout", NEW, "--yes"], "quote_team_add"),
    (["teams", "remove", "Layout", BOB], "quote_team_remove"),  # asked first, as for add: what happens to the seat
])
def test_cli_a_team_admin_on_another_team_is_refused_and_it_is_logged(led, store_path, argv, operation):
    led.team_add(ADMIN, "Layout", BOB)
    before = store_tables(store_path)
    err = one_line_refusal(run_elp(store_path, *argv, user=ANA))
    assert "not a Team Admin of team Layout" in err
    only_refusal_logged(before, store_tables(store_path), ANA, operation)
    log = run_elp(store_path, "log").stdout
    assert "refused" in log and ANA in log


def admin_commands() -> list[tuple[str, str | None]]:
    from tests.test_authority import CLI_CASES

    return [key for key in CLI_CASES if key not in TEAM_SCOPED]


@pytest.mark.parametrize("key", admin_commands(), ids=lambda k: " ".join(w for w in k if w))
def test_cli_a_team_admin_is_refused_every_other_admin_command_and_it_is_logged(led, store_path, key):
    from tests.test_authority import CLI_CASES

    argv = [a.format(bank="BK-0001", aid="AAAA-BBBB-CCCC-DDDD") for a in CLI_CASES[key]]
    before = store_tables(store_path)
    err = one_line_refusal(run_elp(store_path, *argv, user=ANA))
    assert "only organization admins" in err
    only_refusal_logged(before, store_tables(store_path), ANA, "elp " + " ".join(w for w in key if w))


@pytest.mark.parametrize("argv", [["teams", "add", "Story", NEW, "--yes"], ["teams", "remove", "Story", BOB],
                                  ["teams", "list"], ["seats", "show"]], ids=" ".join)
def test_cli_a_regular_user_who_is_no_team_admin_is_still_refused_the_team_commands(led, store_path, argv):
    before = store_tables(store_path)
    assert "only organization admins" in one_line_refusal(run_elp(store_path, *argv, user=BOB))
    only_refusal_logged(before, store_tables(store_path), BOB, "elp " + " ".join(argv[:2]))


def test_cli_an_invited_team_admin_signs_in_with_their_first_team_command(world, store_path):
    world.set_team_admin(ADMIN, "Layout", CARL)
    done = run_elp(store_path, "teams", "list", "--json", user=CARL)
    assert done.returncode == 0, done.stderr
    assert [t["name"] for t in json.loads(done.stdout)] == ["Layout"]
    assert next(u for u in world.list_users(ADMIN) if u["email"] == CARL)["status"] == "active"


def test_cli_signin_says_which_teams_a_team_admin_manages(led, store_path):
    done = run_elp(store_path, "signin", user=ANA)
    assert done.returncode == 0 and "Team Admin of: Story" in done.stdout
    assert "Team Admin" not in run_elp(store_path, "signin", user=BOB).stdout


def test_the_team_commands_are_declared():
    assert TEAM_SCOPED <= set(COMMANDS) and ("teams", "admin") in COMMANDS
