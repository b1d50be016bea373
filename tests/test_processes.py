"""Real OS processes on one store: concurrent writers lose nothing and overdraw nothing,
and a writer killed with SIGKILL at any moment leaves a store that opens and passes check."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.helpers import store_tables
from tests.helpers import grant_bank

ROOT = Path(__file__).resolve().parents[1]
PROCS = Path(__file__).resolve().parent / "procs"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX processes")


def spawn(script: str, *args: object, stdin: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("ELP_TODAY", None)
    return subprocess.Popen(
        [sys.executable, str(PROCS / script), *map(str, args)],
        cwd=ROOT, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()  # "ready" right after opening the store, or EOF if it crashed
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"worker did not start: {line!r} {proc.stderr.read()}")


def raw_tables(path: Path) -> dict:
    """The committed tables as the store reads them from its files (snapshot and journal)."""
    return store_tables(path)


def test_concurrent_processes_lose_nothing_and_overdraw_nothing(portal, store_path, tmp_path):
    bank = grant_bank(portal, product="Quillstone Animate", credits=50, start="2026-11-01", expires_on="2027-05-01")
    go = tmp_path / "go"
    workers = [spawn("generate_worker.py", store_path, bank["id"], ADMIN, TODAY, 30, go) for _ in range(3)]
    for w in workers:
        wait_ready(w)
    go.touch()
    results = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    created = [aid for r in results for aid in r["created"]]
    assert len(created) == 50, results  # every credit spent exactly once
    assert len(set(created)) == 50
    assert sum(r["refused"] for r in results) == 90 - 50  # the rest refused for lack of credits
    assert sum(r["stale"] for r in results) > 0 or sum(bool(r["created"]) for r in results) > 1, (
        "the processes never overlapped: the test proved nothing")

    fresh = Portal(Store(store_path), fixed_clock(TODAY))
    assert fresh.check() == []
    [row] = fresh.list_banks(ADMIN)
    assert (row["used"], row["remaining"]) == (50, 0)
    ledger = list(raw_tables(store_path)["ledger"].values())
    assert sorted(e["license"] for e in ledger) == sorted(created)  # every ledger entry present
    assert sorted(e["id"] for e in ledger) == list(range(1, 51))
    assert sorted(lic["activation_id"] for lic in fresh.list_licenses(ADMIN)) == sorted(created)
    generated = [a for a in fresh.activity(ADMIN) if a["action"] == "license-generate"]
    assert len(generated) == 50 and sum(a["credits"] for a in generated) == 50
    seqs = sorted(a["seq"] for a in raw_tables(store_path)["activity"].values())  # the vendor's entries too
    assert seqs == list(range(1, len(seqs) + 1))


def test_racing_generates_with_enough_credits_are_never_refused_as_stale(portal, store_path, tmp_path):
    """Quotes are promises: a script's quote that still charges the same credits from the same bank,
    for the same person until the same day, commits although other processes spent meanwhile."""
    bank = grant_bank(portal, product="Quillstone Animate", credits=1000, start="2026-11-01", expires_on="2027-05-01")
    go = tmp_path / "go"
    workers = [spawn("generate_worker.py", store_path, bank["id"], ADMIN, TODAY, 40, go) for _ in range(3)]
    for w in workers:
        wait_ready(w)
    go.touch()
    results = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["stale"] for r in results] == [0, 0, 0], results
    assert [len(r["created"]) for r in results] == [40, 40, 40]
    fresh = Portal(Store(store_path), fixed_clock(TODAY))
    assert fresh.check() == []
    [row] = fresh.list_banks(ADMIN)
    assert (row["used"], row["remaining"]) == (120, 880)



def _snapshot(path: Path) -> dict:
    data = raw_tables(path)
    return {
        "licenses": {d["activation_id"] for d in data.get("licenses", {}).values()},
        "ledger": {d["id"]: d for d in data.get("ledger", {}).values()},
        "activity": {d["seq"]: d for d in data.get("activity", {}).values()},
        "users": {d["email"] for d in data.get("users", {}).values()},
    }


def test_a_writer_killed_at_random_moments_leaves_a_sound_store(portal, store_path):
    """The crash harness: SIGKILL a process while it commits, again and again. After every
    kill the store opens, passes check, lost no commit the writer had seen succeed, and
    rewrote no earlier ledger or activity entry."""
    bank = grant_bank(portal, product="Quillstone Animate", credits=1_000_000, start="2026-11-01", expires_on="2036-11-01")
    rnd = random.Random(20261123)
    before = _snapshot(store_path)
    writes_seen = 0
    reported = 0
    for kill in range(12):
        writer = spawn("writer.py", store_path, bank["id"], ADMIN, TODAY)
        wait_ready(writer)
        delay = rnd.uniform(0, 0.3)
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        assert writer.returncode == -signal.SIGKILL, f"writer died on its own: {writer.stderr.read()}"
        # a line the kill cut short (no newline yet) was not reported: only whole lines count
        successes = [line for line in writer.stdout.read().splitlines(keepends=True) if line.endswith("\n")]
        writer.stdout.close()
        writer.stderr.close()

        # every commit the writer saw succeed before the kill is in the file
        data = raw_tables(store_path)
        licenses = {d["activation_id"]: d for d in data["licenses"].values()}
        emails = {d["email"] for d in data["users"].values()}
        for line in successes:
            kind, key, *rest = line.split()
            if kind == "license":
                assert key in licenses, f"reported license {key} lost after kill {kill}"
            elif kind == "user":
                assert key in emails, f"reported invitation of {key} lost after kill {kill}"
            else:
                assert licenses[key]["expires_on"] >= rest[0], f"reported renewal of {key} lost after kill {kill}"
        reported += len(successes)

        # a fresh process view: parses, passes check, and only ever grew
        fresh = Portal(Store(store_path), fixed_clock(TODAY))
        assert fresh.check() == [], f"after kill {kill} at {delay:.3f}s"
        after = _snapshot(store_path)
        assert before["licenses"] <= after["licenses"]
        assert before["users"] <= after["users"]
        for key in ("ledger", "activity"):
            assert set(before[key]) <= set(after[key])
            assert all(after[key][k] == v for k, v in before[key].items()), f"{key} entries were rewritten"
        [row] = fresh.list_banks(ADMIN)
        assert row["used"] == sum(e["credits"] for e in after["ledger"].values())
        writes_seen += len(after["activity"]) - len(before["activity"])
        before = after

        # the killed writer left no lock behind: this process can still write at once
        started = time.monotonic()
        fresh.invite(ADMIN, f"after-kill-{kill}@lumenfox.studio")
        assert time.monotonic() - started < 5
        # and the next write cleared any half-written temp file the kill left behind
        assert [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp")] == []
        before = _snapshot(store_path)
    assert writes_seen > 0 and reported > 0, "the writers never got to write: the test proved nothing"
