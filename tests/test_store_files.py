"""The files around the store: kept copies, temp files, the lock file, folder modes, links.

Real processes for the races (several `elp restore` or `elp demo --force` started at once,
a process removing the lock file while writers commit), real files, modes and symbolic links.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store, StoreError
from tests.conftest import ADMIN, TODAY
from tests.helpers import cli_env, elp, store_bytes, store_tables  # noqa: F401 (fixtures)
from tests.test_processes import PROCS, ROOT, spawn, wait_ready

pytestmark = [
    pytest.mark.usefixtures("cli_env"),
    pytest.mark.skipif(not hasattr(signal, "SIGKILL") or os.name != "posix", reason="needs POSIX processes and modes"),
]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode)


def kept_files(store: Path, what: str) -> list[Path]:
    return sorted(store.parent.glob(f"{store.name}.{what}-*"))


def emails(tables: dict) -> set[str]:
    """The organizations' members (not the vendor's staff, whom the `portal` fixture sets up)."""
    return {u["email"] for u in tables["users"].values() if u.get("organization")}


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def all_at_once(tmp_path: Path, runs: int, *argv: str) -> list[subprocess.CompletedProcess]:
    """Start `runs` real `elp ARGV` processes, let them go at the same moment, wait for all."""
    go = tmp_path / "go"
    go.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs, readies = [], []
    for n in range(runs):
        ready = tmp_path / f"ready-{n}"
        ready.unlink(missing_ok=True)
        readies.append(ready)
        procs.append(subprocess.Popen(
            [sys.executable, str(PROCS / "at_once.py"), str(ready), str(go), *argv],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    for proc, ready in zip(procs, readies):
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
    go.touch()
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


# -- 1. kept copies: chosen and created under the lock, never overwritten ---------------------
def test_restores_started_together_keep_every_store_they_replace(portal, store_path, tmp_path):
    """Rounds of four `elp restore` at once. Each restored store's log names the file that
    keeps the store it replaced; following those names from the final store must walk back
    through every kept file, once each, to the store as it was before the first restore."""
    copy = tmp_path / "backup.json"
    portal.backup(ADMIN, copy)
    portal.invite(ADMIN, "after-backup@lumenfox.studio")
    original = store_tables(store_path)
    runs = 0
    for _round in range(3):
        results = all_at_once(tmp_path, 4, "--store", str(store_path), "--as", ADMIN, "restore", str(copy), "--yes")
        assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
        runs += 4
    kept = kept_files(store_path, "before-restore")
    assert len(kept) == runs, "a restore overwrote another one's kept file"
    assert all(mode(k) == 0o600 for k in kept)

    def content(tables: dict) -> dict:  # what a store holds, less its bookkeeping (_meta)
        return {name: docs for name, docs in tables.items() if name != "_meta"}

    original = content(original)
    walked: list[Path] = []
    tables = store_tables(store_path)  # then each kept file: one whole copy of a store
    while content(tables) != original:
        [entry] = [a for a in tables["activity"].values() if a["action"] == "restore"]
        previous = Path(entry["details"].split("the replaced file is kept as ")[1])
        assert previous not in walked, f"{previous.name} was overwritten: the chain of kept stores loops"
        walked.append(previous)
        tables = orjson.loads(previous.read_bytes())
    assert sorted(walked) == kept  # every store replaced survives, in its own file


def test_demos_started_together_keep_the_real_store_once(portal, store_path, tmp_path):
    """`elp demo --force` four at once over a real store: exactly one keeps it (decided under
    the lock, on the file it replaces), and no later demo overwrites that kept copy."""
    def content(path: Path) -> dict:  # what a store holds, less its bookkeeping (_meta)
        return {name: docs for name, docs in store_tables(path).items() if name != "_meta"}

    journal = store_path.with_name(store_path.name + ".journal")
    for n in range(2):
        portal.invite(ADMIN, f"round-{n}@lumenfox.studio")
        real = content(store_path)
        files = (store_path.read_bytes(), journal.read_bytes() if journal.exists() else b"")
        before = kept_files(store_path, "before-demo")
        results = all_at_once(tmp_path, 4, "--store", str(store_path), "demo", "--force", "--no-open")
        assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
        new = [k for k in kept_files(store_path, "before-demo") if k not in before]
        assert len(new) == 1 and content(new[0]) == real, "the real store was not kept exactly once"
        assert sum("kept as" in r.stdout for r in results) == 1
        assert all(content(k) != content(store_path) for k in kept_files(store_path, "before-demo"))
        store_path.write_bytes(files[0])  # the next round starts again from a real store
        journal.write_bytes(files[1])
    assert len(kept_files(store_path, "before-demo")) == 2


def test_a_kept_file_name_already_taken_is_never_replaced(portal, store_path, tmp_path):
    """Anything already at the kept file's name (a file, or a link to one) is left as it was."""
    at = dt.datetime(2026, 11, 23, 10, 30, 0)
    portal = Portal(Store(store_path), fixed_clock(TODAY), now=lambda: at)
    copy = tmp_path / "backup.json"
    portal.backup(ADMIN, copy)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    os.chmod(victim, 0o644)
    stamp = "20261123T103000"
    taken = store_path.with_name(f"{store_path.name}.before-restore-{stamp}")
    os.symlink(victim, taken)
    second = store_path.with_name(f"{store_path.name}.before-restore-{stamp}-2")
    second.write_bytes(b"mine")
    before = store_path.read_bytes()
    result = portal.restore(ADMIN, copy)
    kept = Path(result["previous"])
    assert kept not in (taken, second) and kept.read_bytes() == before
    assert victim.read_bytes() == b"precious" and mode(victim) == 0o644 and os.path.islink(taken)
    assert second.read_bytes() == b"mine"


# -- 2. temp files: only the store's own, only those of a dead writer -------------------------
@pytest.mark.parametrize("name", [".elp.json.mine.tmp", ".elp.json.123.tmp", ".elp.json.bak.tmp"])
def test_a_backup_named_like_a_temp_file_survives_the_next_commit(elp, portal, store_path, name):
    target = store_path.parent / name
    assert elp("backup", str(target)).code == 0
    saved = target.read_bytes()
    assert elp("users", "invite", "next@lumenfox.studio").code == 0
    assert target.read_bytes() == saved  # still there, whole
    assert emails(orjson.loads(target.read_bytes())) == emails(store_tables(store_path)) - {"next@lumenfox.studio"}


def test_only_a_dead_writers_temp_file_is_removed(portal, store_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        in_flight = store_path.parent / f".{store_path.name}.{live.pid}.{'a' * 16}.elp.tmp"
        abandoned = store_path.parent / f".{store_path.name}.{dead_pid()}.{'b' * 16}.elp.tmp"
        other_store = store_path.parent / f".other.json.{dead_pid()}.{'c' * 16}.elp.tmp"
        for path in (in_flight, abandoned, other_store):
            path.write_bytes(b'{"half": ')
        portal.invite(ADMIN, "one@lumenfox.studio")
        assert not abandoned.exists()  # left by a killed writer: cleaned as before
        assert in_flight.read_bytes() == b'{"half": '  # its writer may still be running
        assert other_store.read_bytes() == b'{"half": '  # another store's, not this one's
    finally:
        live.kill()
        live.wait()
    portal.invite(ADMIN, "two@lumenfox.studio")
    assert not in_flight.exists()  # its writer is gone now


# -- 3. the lock file removed while writers run --------------------------------------------
REMOVER = """
import os, sys
lock, stop = sys.argv[1], sys.argv[2]
removed = 0
while not os.path.exists(stop):
    try:
        os.unlink(lock)
        removed += 1
    except FileNotFoundError:
        pass
print(removed)
"""


def test_removing_the_lock_file_while_writers_commit_loses_no_commit(portal, store_path, tmp_path):
    """Three writers invite 40 users each while a fourth process removes the lock file as fast
    as it can: every invitation a writer saw saved is in the final store, and no other."""
    go = tmp_path / "go"
    writers = [spawn("lock_writer.py", store_path, ADMIN, TODAY, f"w{n}", 40, go) for n in range(3)]
    for w in writers:
        wait_ready(w)
    stop = tmp_path / "stop"
    lock = store_path.with_name(store_path.name + ".lock")
    remover = subprocess.Popen([sys.executable, "-c", REMOVER, str(lock), str(stop)], stdout=subprocess.PIPE, text=True)
    saved: list[str] = []
    try:
        go.touch()
        for w in writers:
            out, err = w.communicate(timeout=300)
            assert w.returncode == 0, err
            saved += out.split()  # wait_ready read the "ready" line
    finally:
        stop.touch()
        removed = int(remover.communicate(timeout=60)[0])
    assert removed > 0, "the lock file was never removed: the test proved nothing"
    assert len(saved) == 120
    assert emails(store_tables(store_path)) == set(saved) | {ADMIN}  # none lost, none saved twice or unreported
    fresh = Portal(Store(store_path), fixed_clock(TODAY))
    assert fresh.check() == []
    seqs = sorted(a["seq"] for a in store_tables(store_path)["activity"].values())  # the vendor's entries too
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_lock_held_too_long_names_the_holder_and_never_says_to_delete_it(portal, store_path, monkeypatch):
    holder = spawn("lock_holder.py", store_path)
    try:
        wait_ready(holder)
        monkeypatch.setattr("elp_tui.store.db.LOCK_TIMEOUT_S", 0.3)
        before = store_bytes(store_path)
        with pytest.raises(StoreError) as refused:
            Portal(Store(store_path), fixed_clock(TODAY)).invite(ADMIN, "late@lumenfox.studio")
    finally:
        holder.kill()
        holder.wait()
    message = str(refused.value)
    assert f"pid {holder.pid}" in message and "try again" in message
    assert "delete" not in message.lower() and "remove" not in message.lower() and ".lock" not in message
    assert store_bytes(store_path) == before
    portal.invite(ADMIN, "late@lumenfox.studio")  # once it is gone, the store is free again


# -- 3 and 5. a lock path that is not our lock file is refused, and left alone ---------------
def _lock_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".lock")


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_untouched(elp, portal, store_path, tmp_path):
    lock = _lock_path(store_path)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious notes")
    os.chmod(victim, 0o644)
    lock.unlink(missing_ok=True)
    os.symlink(victim, lock)
    before = store_bytes(store_path)
    result = elp("users", "invite", "bob@lumenfox.studio")
    assert result.code == 1
    assert f"The lock file {lock} of the store {store_path} is a symbolic link" in result.err
    assert "Nothing was changed" in result.err
    assert victim.read_bytes() == b"precious notes" and mode(victim) == 0o644  # not truncated, not chmod-ed
    assert store_bytes(store_path) == before and os.path.islink(lock)


@pytest.mark.parametrize("kind", ["fifo", "other user", "hard link", "folder"])
def test_a_lock_path_that_is_not_our_lock_file_is_refused_and_left_alone(elp, portal, store_path, tmp_path, kind):
    lock = _lock_path(store_path)
    lock.unlink(missing_ok=True)
    words = {"fifo": "is not a regular file", "other user": "belongs to another user (uid 54321)",
             "hard link": "has other names (hard links)", "folder": "is not a regular file"}[kind]
    if kind == "fifo":
        os.mkfifo(lock, 0o600)
    elif kind == "other user":
        lock.write_bytes(b"theirs")
        os.chmod(lock, 0o644)
        os.chown(lock, 54321, 54321)
    elif kind == "hard link":
        other = tmp_path / "notes.txt"
        other.write_bytes(b"theirs")
        os.chmod(other, 0o644)
        os.link(other, lock)
    else:
        lock.mkdir()
    before = store_bytes(store_path)
    result = elp("users", "invite", "bob@lumenfox.studio")
    assert result.code == 1 and f"The lock file {lock} of the store {store_path} {words}" in result.err
    assert store_bytes(store_path) == before
    if kind in ("other user", "hard link"):
        assert lock.read_bytes() == b"theirs" and mode(lock) == 0o644


# -- 4. folders other users can write, sticky or not ------------------------------------------
@pytest.mark.parametrize("bits", [0o1777, 0o1770, 0o775, 0o757])
def test_a_store_folder_others_can_write_is_refused_even_sticky(elp, portal, store_path, tmp_path, bits):
    folder = store_path.parent
    copy = tmp_path / "backup.json"
    portal.backup(ADMIN, copy)
    before = store_bytes(store_path)
    os.chmod(folder, bits)
    try:
        for argv, user in ((["users", "invite", "bob@lumenfox.studio"], ADMIN), (["restore", str(copy), "--yes"], ADMIN),
                           (["demo", "--force", "--no-open"], None)):
            result = elp(*argv, user=user)
            assert result.code == 1, argv
            assert f"chmod 700 {folder}" in result.err and f"mode {bits:o}" in result.err, argv
        assert store_bytes(store_path) == before
        assert set(p.name for p in folder.iterdir()) <= {"elp.json", "elp.json.journal", "elp.json.lock"}  # nothing kept, no temp
    finally:
        os.chmod(folder, 0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, bits)
    result = elp("init", "--org", "Lumenfox Studios", "--admin", ADMIN, user=None, store=shared / "elp.json")
    assert result.code == 1 and f"chmod 700 {shared}" in result.err
    assert list(shared.iterdir()) == []


@pytest.mark.parametrize("bits", [0o1777, 0o775])
def test_a_backup_into_a_folder_others_can_write_is_refused(elp, portal, tmp_path, bits):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, bits)
    result = elp("backup", str(shared / "b.json"))
    assert result.code == 1 and f"chmod 700 {shared}" in result.err and "Nothing was written" in result.err
    assert list(shared.iterdir()) == []


# -- 5. a store reached through a symbolic link ----------------------------------------------
def test_a_store_through_a_link_stays_one_store(elp, portal, store_path, tmp_path):
    link = tmp_path / "link.json"
    os.symlink(store_path, link)
    assert elp("users", "invite", "via-link@lumenfox.studio", store=link).code == 0
    assert os.path.islink(link) and Path(os.readlink(link)) == store_path  # still a link
    assert elp("users", "invite", "via-file@lumenfox.studio", store=store_path).code == 0
    assert emails(store_tables(store_path)) == {ADMIN, "via-link@lumenfox.studio", "via-file@lumenfox.studio"}
    listed = elp("users", "list", store=link)
    assert "via-file@lumenfox.studio" in listed.out and "via-link@lumenfox.studio" in listed.out
    assert mode(store_path) == 0o600
    # a restore through the link replaces the real file and keeps it beside it
    copy = tmp_path / "backup.json"
    assert elp("backup", str(copy), store=link).code == 0
    assert elp("restore", str(copy), "--yes", store=link).code == 0
    assert os.path.islink(link) and len(kept_files(store_path, "before-restore")) == 1
    assert not list(tmp_path.glob("link.json.*"))


def test_the_threads_of_one_process_share_one_store_and_lose_nothing(portal, store_path, monkeypatch):
    """The app's worker threads commit through one Store: they take turns, and a thread that
    already holds the lock can take it again (re-entrant)."""
    import threading

    errors: list[BaseException] = []

    def invite(name: str) -> None:
        try:
            for n in range(15):
                portal.invite(ADMIN, f"{name}-{n}@lumenfox.studio")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=invite, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert emails(store_tables(store_path)) == {ADMIN} | {f"t{t}-{n}@lumenfox.studio" for t in range(4) for n in range(15)}

    monkeypatch.setattr("elp_tui.store.db.LOCK_TIMEOUT_S", 0.5)
    store = Store(store_path)
    generation = store_tables(store_path)["_meta"]["1"]["generation"]
    with store._locked():
        with store.transaction() as db:  # the same lock again, from the same thread
            db.update("users", {"role": "regular"}, lambda d: d["email"] == "t0-0@lumenfox.studio")
    assert store_tables(store_path)["_meta"]["1"]["generation"] == generation + 1
