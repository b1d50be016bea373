"""Live multi-admin: several sessions on one store, each a real OS process but the app under test.

- A commit made by another process shows in the open app within 2 s, no key pressed, with the
  cursor row, sort and focus kept; a change to the signed-in admin's own account takes effect.
- A confirmation quoted before another process committed is refused at commit, the store holds
  only the other change, and the fresh quote is shown.
- Two `elp` processes committing the last credit, or the last seat, at the same moment (both
  quoted on the same data, then released together): exactly one succeeds, the other exits
  non-zero saying what is short, and the store passes check.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elp_tui.app import make_app
from elp_tui.portal import Portal, fixed_clock
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.licenses import LicensesPage
from elp_tui.screens.main import MainScreen
from elp_tui.screens.my_licenses import MyLicensesPage
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.helpers import messages, store_bytes, until
from tests.helpers import grant_bank, grant_seats

ROOT = Path(__file__).resolve().parents[1]
PROCS = Path(__file__).resolve().parent / "procs"
LIVE_S = 2.0  # the promise: another session's commit shows within this, no key pressed
ANA = "ana@lf.io"
BOB = "bob@lf.io"
BOSS = "boss@lf.io"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX processes")


def env() -> dict[str, str]:
    return {
        **os.environ, "ELP_TODAY": TODAY.isoformat(),
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


def fresh(store_path: Path) -> Portal:
    """The store as yet another session reads it (nothing cached)."""
    return Portal(Store(store_path), fixed_clock(TODAY))


async def elp(store_path: Path, *argv: str, actor: str = ADMIN) -> tuple[int, str, str]:
    """Another admin's session: a real `elp` process, awaited without blocking the app under test."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "elp_tui", "--store", str(store_path), "--as", actor, *argv,
        cwd=ROOT, env=env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode, out.decode(), err.decode()


def generate_args(bank_id: str, quantity: int, email: str) -> list[str]:
    return ["licenses", "generate", "--bank", bank_id, "--type", "node-lock", "--months", "1",
            "--quantity", str(quantity), "--start", TODAY.isoformat(), "--email", email, "--yes"]


def member(portal: Portal, email: str, role: str = "regular") -> None:
    portal.invite(ADMIN, email, role=role)
    portal.sign_in(email)


def app_for(portal: Portal, tmp_path: Path, user: str = ADMIN):
    # Its own Store object: the app caches nothing another process could share.
    return make_app(Store(portal.store.path), user, clock=TODAY, settings_file=tmp_path / "settings.json")


async def open_licenses(app, pilot) -> LicensesPage:
    number = [p.PAGE_ID for p in app.allowed_pages()].index("licenses") + 1
    await pilot.press(str(number))
    page = app.screen.query_one(LicensesPage)
    await until(pilot, lambda: page._fetched and page.display and page.table.has_focus, "licenses loaded")
    return page


def ids(page: LicensesPage) -> list[str]:
    return [row["activation_id"] for row in page.table.visible_rows()]


async def shows_within(pilot, condition, what: str) -> float:
    """Seconds until `condition` holds, no key pressed; fails past LIVE_S (a loaded machine
    gets no slack: the promise is 2 s)."""
    started = time.monotonic()
    await until(pilot, condition, what, timeout=LIVE_S)
    return time.monotonic() - started


# -- another session's commit shows by itself ------------------------------------------
async def test_a_commit_by_another_process_shows_within_2_s_keeping_cursor_sort_and_focus(portal, bank, tmp_path):
    member(portal, ANA)
    for _n in range(4):
        quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ANA)
        portal.generate(ADMIN, quote)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_licenses(app, pilot)
        await pilot.press("o", "1")  # the sort menu: 1, the first column (activation ID)
        await until(pilot, lambda: page.table.sort_key == "activation_id", "sorted")
        await pilot.press("j", "j")
        await pilot.pause()
        kept = page.table.current_row["activation_id"]
        before = set(ids(page))

        code, out, err = await elp(portal.store.path, *generate_args(bank["id"], 2, ANA))
        assert code == 0, err
        made = set(ids_in(fresh(portal.store.path))) - before
        assert len(made) == 2
        await shows_within(pilot, lambda: set(ids(page)) == before | made, "the other session's licenses")

        assert ids(page) == sorted(ids(page)), "the sort was lost"
        assert page.table.current_row["activation_id"] == kept, "the cursor left its row"
        assert page.table.has_focus, "the reload took the focus"
        assert isinstance(app.screen, MainScreen)
        assert "6 licenses" in str(page.query_one("#licenses-count").render())
        assert "Reloaded" not in messages(app) and "Refused" not in messages(app)

        # and again: every commit shows, not only the first one, and each one loads once
        fetched = []
        read = page.fetch
        page.fetch = lambda: fetched.append(1) or read()  # type: ignore[method-assign]
        code, _out, err = await elp(portal.store.path, *generate_args(bank["id"], 1, ANA))
        assert code == 0, err
        await shows_within(pilot, lambda: page.table.total_count == 7, "a second commit")
        assert page.table.current_row["activation_id"] == kept
        await pilot.pause(1.1)  # two more polls of an unchanged store: nothing re-read
        assert len(fetched) == 1


def test_the_marker_sees_a_commit_the_file_stamp_misses(portal, monkeypatch):
    """The inode freed by one commit is often reused by the next, with an equal size and a
    coarse mtime: the (generation, commit) at the file's start still tells them apart."""
    from elp_tui.store import db

    monkeypatch.setattr(db, "_stamp", lambda target: (1, 1, 1))  # every file looks the same
    store = Store(portal.store.path)
    before = store.marker()
    fresh(portal.store.path).invite(ADMIN, ANA)
    assert store.marker() != before
    assert store.marker() == store.marker()


def ids_in(portal: Portal) -> list[str]:
    return [row["activation_id"] for row in portal.list_licenses(ADMIN)]


async def test_own_role_and_status_changed_by_another_admin_take_effect_without_a_key(portal, tmp_path):
    member(portal, BOSS, role="admin")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.is_admin, "signed in")
        code, _out, err = await elp(portal.store.path, "users", "set-role", ADMIN, "regular", actor=BOSS)
        assert code == 0, err
        await shows_within(pilot, lambda: not app.is_admin and isinstance(app.screen, MainScreen)
                           and app.screen.query(MyLicensesPage) and app.screen.query_one(MyLicensesPage).loaded
                           and "you are now regular user" in messages(app),  # notify() is a message: it lands later
                           "demoted to regular, and told")
        assert [p.PAGE_ID for p in app.allowed_pages()] == ["my-licenses"]

        code, _out, err = await elp(portal.store.path, "users", "set-status", ADMIN, "inactive", actor=BOSS)
        assert code == 0, err
        await shows_within(pilot, lambda: app._exit, "signed out when deactivated")


# -- a confirmation quoted on stale data -------------------------------------------------
async def test_confirmation_on_stale_data_is_refused_and_the_fresh_quote_shown(portal, bank, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_licenses(app, pilot)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "form")
        # bank (the only one) -> type -> months 2 -> quantity -> start -> email
        await pilot.press("tab", "tab", "ctrl+u", "2", "tab", "tab", "tab", *ANA, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation")
        first = app.screen
        assert ("Bank remaining", "100 → 98") in first.rows

        # Another admin, in another process, removes the recipient meanwhile.
        code, _out, err = await elp(portal.store.path, "users", "delete", ANA, "--yes")
        assert code == 0, err
        theirs = store_bytes(portal.store.path)
        # The page under the dialog is left to catch up; the dialog is left as it was.
        assert app.screen is first and first.rows == app.screen.rows

        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen is not first, "fresh quote")
        assert ("Recipient", f"{ANA} (will be invited)") in app.screen.rows
        await until(pilot, lambda: "data changed" in messages(app), "the refusal said")
        assert store_bytes(portal.store.path) == theirs, "the stale confirmation wrote something"

        await pilot.press("n")  # back to the form, as typed; escape leaves it
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "the form again")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "cancelled")
    assert store_bytes(portal.store.path) == theirs
    check = fresh(portal.store.path)
    assert check.check() == []
    assert next(b for b in check.list_banks(ADMIN) if b["id"] == bank["id"])["remaining"] == 100


async def test_confirmation_that_still_holds_commits_after_another_process_spent(portal, bank, tmp_path):
    member(portal, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_licenses(app, pilot)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "form")
        await pilot.press("tab", "tab", "ctrl+u", "2", "tab", "tab", "tab", *ANA, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation")
        assert ("Bank remaining", "100 → 98") in app.screen.rows
        code, _out, err = await elp(portal.store.path, *generate_args(bank["id"], 10, ANA))
        assert code == 0, err
        await shows_within(pilot, lambda: page.table.total_count == 10, "the page under the dialog")
        await pilot.press("y")
        await shows_within(pilot, lambda: page.table.total_count == 11, "both licenses")
    check = fresh(portal.store.path)
    assert check.check() == []
    assert next(b for b in check.list_banks(ADMIN) if b["id"] == bank["id"])["remaining"] == 88


# -- the last credit, the last seat: two processes at the same moment ----------------------
ROUNDS = 3


def race(tmp_path: Path, store_path: Path, tag: str, commands: list[tuple[str, list[str]]]) -> list[subprocess.CompletedProcess]:
    """Start one racer per (actor, argv); once every one has quoted, release them together."""
    go = tmp_path / f"go-{tag}"
    racers = []
    for number, (actor, argv) in enumerate(commands):
        ready = tmp_path / f"ready-{tag}-{number}"
        proc = subprocess.Popen(
            [sys.executable, str(PROCS / "cli_racer.py"), str(ready), str(go),
             "--store", str(store_path), "--as", actor, *argv],
            cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        racers.append((proc, ready))
    deadline = time.monotonic() + 30
    while not all(ready.exists() for _proc, ready in racers):
        finished = [proc for proc, _ready in racers if proc.poll() is not None]
        if finished or time.monotonic() > deadline:
            for proc, _ready in racers:
                proc.kill()
            outputs = [proc.communicate() for proc, _ready in racers]
            raise AssertionError(f"a racer never got to its commit: {outputs}")
        time.sleep(0.005)
    go.touch()
    results = []
    for proc, _ready in racers:
        out, err = proc.communicate(timeout=30)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def one_winner(results: list[subprocess.CompletedProcess]) -> subprocess.CompletedProcess:
    """Exactly one racer succeeded; returns the other, which must have said why on stderr."""
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 1], [(r.returncode, r.stderr) for r in results]
    loser = next(r for r in results if r.returncode != 0)
    assert loser.stderr.startswith("elp: "), loser.stderr
    assert "Traceback" not in loser.stderr
    return loser


def test_two_processes_taking_the_last_credit_at_once_one_succeeds_the_other_is_told_the_shortfall(portal, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    path = portal.store.path
    for round_ in range(ROUNDS):
        bank = grant_bank(portal, product="Quillstone Animate", credits=1, start="2026-11-01", expires_on="2027-05-01")
        results = race(tmp_path, path, f"credit{round_}", [
            (ADMIN, generate_args(bank["id"], 1, ANA)),
            (ADMIN, generate_args(bank["id"], 1, BOB)),
        ])
        for r in results:  # both were quoted on the same data: the last credit, 1 → 0
            assert "Bank remaining: 1 → 0" in " ".join(r.stdout.split()), r.stdout
        loser = one_winner(results)
        assert "0 credits left" in loser.stderr and "1 short" in loser.stderr, loser.stderr
        assert "nothing was written" in loser.stderr or "data changed" in loser.stderr, loser.stderr

        after = fresh(path)
        assert after.check() == []
        row = next(b for b in after.list_banks(ADMIN) if b["id"] == bank["id"])
        assert (row["used"], row["remaining"]) == (1, 0)
        assert len([lic for lic in after.list_licenses(ADMIN) if lic["bank"] == bank["id"]]) == 1
    checked = subprocess.run([sys.executable, "-m", "elp_tui", "--store", str(path), "check"],
                             cwd=ROOT, env=env(), capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr  # `elp check` agrees, from its own process


def test_two_processes_taking_the_last_seat_at_once_one_succeeds_the_other_is_told_why(portal, tmp_path):
    path = portal.store.path
    grant_seats(portal, "Race Seats", 1)
    portal.create_team(ADMIN, "Racers", "Race Seats")
    for round_ in range(ROUNDS):
        if round_:
            grant_seats(portal, "Race Seats", 1)  # one more seat: again exactly one left
        first, second = f"a{round_}@lf.io", f"b{round_}@lf.io"
        results = race(tmp_path, path, f"seat{round_}", [
            (ADMIN, ["teams", "add", "Racers", first, "--yes"]),
            (ADMIN, ["teams", "add", "Racers", second, "--yes"]),
        ])
        for r in results:  # both were quoted on the same data: the last seat
            assert "1 → 0" in r.stdout, r.stdout
        loser = one_winner(results)
        assert "No unused seat left in the Race Seats pool" in loser.stderr, loser.stderr
        assert "request more seats" in loser.stderr, loser.stderr

        after = fresh(path)
        assert after.check() == []
        [pool] = [p for p in after.seats_overview(ADMIN) if p["product"] == "Race Seats"]
        assert pool["purchased"] == round_ + 1 and pool["unused"] == 0
        [team] = pool["teams"]
        assert len(team["members"]) == round_ + 1
        assert len({first, second} & {m["email"] for m in team["members"]}) == 1
