"""ELP_TODAY fixes today for demos and tests only (issue 8): a real store is never steered by it.

A store records in its `_meta` whether its clock may be fixed: `elp demo`'s stores and stores
created while ELP_TODAY is set (or by a portal given a clock in-process) may; a store made by
`elp init` on the calendar's today may not. On such a store a set ELP_TODAY is refused in one
line before the command or the app does anything, and the file stays byte for byte as it was."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from elp_tui.app import make_app, run_app
from elp_tui.demo import write_demo
from elp_tui.portal import Portal, system_clock
from elp_tui.portal.clock import FixedClockRefused
from elp_tui.store import Store

from tests.conftest import ADMIN, TODAY, VENDOR, VENDOR_EMAIL
from tests.helpers import cli_env, elp, store_bytes, store_tables  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("cli_env")

ROOT = Path(__file__).resolve().parents[1]
ANA = "ana@lumenfox.studio"
# Long after any license made below has expired: the day a user would pick to get round a rule.
LATER = "2099-01-01"


def meta(path: Path) -> dict:
    return store_tables(path)["_meta"]["1"]


def organization_with_a_held_license(elp, today: dt.date) -> None:
    """`elp init`, a bank, ANA invited and holding a license that starts tomorrow, for a month."""
    start = today + dt.timedelta(days=1)  # still ahead if the calendar turns a day during the test
    steps = [
        (["init", "--org", "Lumenfox Studios", "--admin", ADMIN], None),
        (["vendor", "setup", "--name", "Quillstone", "--email", VENDOR_EMAIL, "--staff", VENDOR], None),
        (["banks", "add", "--org", "lumenfox-studios", "--product", "Quillstone Animate", "--credits", "50", "--start", today.isoformat(),
          "--expires", (today + dt.timedelta(days=400)).isoformat(), "--version", "25.1", "--portable"], VENDOR),
        (["users", "invite", ANA], ADMIN),
        (["licenses", "generate", "--bank", "BK-0001", "--type", "node-lock", "--months", "1", "--quantity", "1",
          "--start", start.isoformat(), "--email", ANA, "--yes"], ADMIN),
    ]
    for argv, user in steps:
        result = elp(*argv, user=user)
        assert result.code == 0, (argv, result.err)


@pytest.fixture
def real_store(elp, store_path, monkeypatch) -> Path:
    """A store made by `elp init` without ELP_TODAY: a real one, on the calendar's today."""
    monkeypatch.delenv("ELP_TODAY")
    organization_with_a_held_license(elp, dt.date.today())
    assert "fixed_clock" not in meta(store_path) and "demo" not in meta(store_path)
    refused = elp("users", "delete", ANA, "--yes")
    assert refused.code == 1 and "still holds 1 unexpired license" in refused.err  # the rule ELP_TODAY must not get round
    return store_path


def refused_for_elp_today(result, path: Path) -> None:
    assert result.code == 1, result
    assert result.out == ""
    line = result.err.strip()
    assert "\n" not in line and line.startswith("elp: ")
    assert "ELP_TODAY is set" in line and "real store" in line and str(path) in line
    assert "Unset ELP_TODAY" in line
    assert "Traceback" not in result.err


def test_elp_today_cannot_delete_a_user_who_still_holds_a_license_on_a_real_store(elp, real_store, monkeypatch):
    before = store_bytes(real_store)
    monkeypatch.setenv("ELP_TODAY", LATER)
    refused_for_elp_today(elp("users", "delete", ANA, "--yes"), real_store)
    assert store_bytes(real_store) == before
    monkeypatch.delenv("ELP_TODAY")
    still = elp("users", "delete", ANA, "--yes")
    assert still.code == 1 and "still holds" in still.err
    assert ANA in {u["email"] for u in elp("users", "list", "--json").json()}
    assert store_bytes(real_store) == before


@pytest.mark.parametrize("argv, user", [
    (["banks", "list"], ADMIN),
    (["licenses", "list", "--json"], ADMIN),
    (["licenses", "renew", "{aid}", "--months", "1", "--yes"], ADMIN),
    (["users", "invite", "bob@lumenfox.studio"], ADMIN),
    (["check"], None),
    (["init", "--org", "Other Org", "--admin", "boss@other.studio"], None),
    (["signin"], ANA),
    ([], ADMIN),  # the terminal app, through the CLI
])
@pytest.mark.parametrize("today", [LATER, "2020-01-01", dt.date.today().isoformat()])
def test_every_command_on_a_real_store_refuses_a_set_elp_today(elp, real_store, monkeypatch, argv, user, today):
    aid = elp("licenses", "list", "--json").json()[0]["activation_id"]
    before = store_bytes(real_store)
    monkeypatch.setenv("ELP_TODAY", today)  # even set to the calendar's today: a real store never follows it
    result = elp(*[a.format(aid=aid) for a in argv], user=user)
    refused_for_elp_today(result, real_store)
    assert store_bytes(real_store) == before


def test_the_app_on_a_real_store_refuses_a_set_elp_today_before_drawing(real_store, monkeypatch, capsys):
    before = store_bytes(real_store)
    monkeypatch.setenv("ELP_TODAY", LATER)
    assert run_app(real_store, ADMIN) == 1
    err = capsys.readouterr().err
    assert err.startswith("elp: ") and "ELP_TODAY is set" in err and "Unset ELP_TODAY" in err and err.count("\n") == 1
    with pytest.raises(FixedClockRefused):
        make_app(real_store, ADMIN)
    assert store_bytes(real_store) == before
    # a portal given its clock in-process (the tests' way) is not the environment's to steer
    make_app(real_store, ADMIN, clock=TODAY)


def test_a_real_subprocess_is_refused_too(real_store):
    before = store_bytes(real_store)
    env = {**os.environ, "ELP_TODAY": LATER, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "elp_tui", "--store", str(real_store), "--as", ADMIN, "users", "delete", ANA, "--yes"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "ELP_TODAY is set" in done.stderr and "Traceback" not in done.stderr
    assert store_bytes(real_store) == before


# -- stores made for demos and tests follow ELP_TODAY as before ---------------------------------------
def test_a_store_created_with_elp_today_follows_it(elp, store_path, monkeypatch):
    organization_with_a_held_license(elp, TODAY)  # cli_env: ELP_TODAY is TODAY
    assert meta(store_path)["fixed_clock"] is True
    monkeypatch.setenv("ELP_TODAY", LATER)  # the license has expired by then: its holder may go
    result = elp("users", "delete", ANA, "--yes")
    assert result.code == 0, result.err
    assert ANA not in {u["email"] for u in elp("users", "list", "--json").json()}
    assert meta(store_path)["fixed_clock"] is True  # kept by every commit


def test_a_demo_store_follows_elp_today(tmp_path, monkeypatch, capsys):
    from elp_tui.cli import main

    path = tmp_path / "demo" / "elp.json"
    info = write_demo(path, today=TODAY, progress=False)
    assert meta(path)["demo"] is True

    def statuses(day: str) -> set[str]:
        monkeypatch.setenv("ELP_TODAY", day)
        assert main(["--store", str(path), "--as", info["admin"], "licenses", "list", "--json"]) == 0
        out, _err = capsys.readouterr()
        return {lic["status"] for lic in orjson.loads(out)}

    assert "active" in statuses(TODAY.isoformat())
    assert statuses(LATER) == {"expired"}


def test_elp_demo_and_elp_init_mark_what_they_create(elp, tmp_path, monkeypatch):
    """`elp demo` and `elp init` under ELP_TODAY mark their store; `elp init` without it does not."""
    demo = tmp_path / "d" / "elp.json"
    assert elp("demo", "--no-open", user=None, store=demo).code == 0
    assert meta(demo)["demo"] is True
    fixed = tmp_path / "f" / "elp.json"
    assert elp("init", "--org", "Test Org", "--admin", ADMIN, user=None, store=fixed).code == 0
    assert meta(fixed)["fixed_clock"] is True
    monkeypatch.delenv("ELP_TODAY")
    real = tmp_path / "r" / "elp.json"
    assert elp("init", "--org", "Real Org", "--admin", ADMIN, user=None, store=real).code == 0
    assert "fixed_clock" not in meta(real)


def test_a_portal_given_a_clock_in_process_marks_its_store_and_one_on_the_calendar_does_not(tmp_path, monkeypatch, portal):
    assert meta(portal.store.path)["fixed_clock"] is True  # the fixtures' stores: the CLI tests set ELP_TODAY on them
    monkeypatch.delenv("ELP_TODAY")
    real = Portal(Store(tmp_path / "real" / "elp.json"), system_clock)
    real.init_organization("Real Org", ADMIN)
    assert "fixed_clock" not in meta(real.store.path)


def test_a_malformed_elp_today_is_still_refused_as_such(elp, real_store, monkeypatch):
    monkeypatch.setenv("ELP_TODAY", "23/11/2026")
    result = elp("banks", "list")
    assert result.code == 1 and "is not a date" in result.err and "YYYY-MM-DD" in result.err
