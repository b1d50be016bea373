"""The store on disk: permissions, refusing files it cannot read, all-or-nothing transactions,
and seeing what another Store object (another process, another admin) committed."""

from __future__ import annotations

import os
import random
import stat
import subprocess
import sys

import orjson
import pytest

from elp_tui.models import SCHEMA_VERSION
from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store, StoreError
from tests.conftest import ADMIN, TODAY
from tests.helpers import store_bytes, store_mtimes, store_tables


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def users_of(store: Store) -> list[str]:
    return sorted(u["email"] for u in store.read().all("users"))


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "new" / "deeper" / "elp.json")
    s.create()
    return s


# -- a new store is private ------------------------------------------------------------
def test_new_store_is_0600_in_a_0700_folder(store):
    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700
    with store.transaction() as db:
        db.insert("users", {"email": "a@b.example", "organization": None})
    assert mode(store.path) == 0o600, "a rewrite must keep the file private"
    lock = store.path.with_name(store.path.name + ".lock")
    if lock.exists():
        assert mode(lock) & 0o077 == 0, "the lock file must not be writable by others"


def test_portal_store_is_private(portal, store_path):
    assert mode(store_path) == 0o600
    assert mode(store_path.parent) == 0o700


def test_a_new_store_carries_its_schema_version(store):
    data = store_tables(store.path)
    assert data["_meta"]["1"]["schema"] == SCHEMA_VERSION


def test_create_refuses_to_replace_an_existing_store(store):
    with store.transaction() as db:
        db.insert("users", {"email": "keep@me.example", "organization": None})
    before = store_bytes(store.path)
    with pytest.raises(StoreError, match="already exists"):
        Store(store.path).create()
    assert store_bytes(store.path) == before


def test_missing_store_says_how_to_create_one(tmp_path):
    with pytest.raises(StoreError, match="elp init"):
        Store(tmp_path / "none.json").read()


# -- files it cannot read are refused and left alone --------------------------------------
BAD_FILES = {
    "truncated": b'{"_meta": {"1": {"schema": 1}}, "users": {"1": {"email": "a',
    "not json": b"hello, I am not a store\n",
    "empty": b"",
    "a list": b"[1, 2, 3]",
    "no schema": b'{"users": {}}',
    "binary": bytes(range(256)),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_unparseable_store_is_refused_and_left_byte_for_byte(tmp_path, name):
    path = tmp_path / "elp.json"
    raw = BAD_FILES[name]
    path.write_bytes(raw)
    os.chmod(path, 0o600)
    mtimes = store_mtimes(path)
    store = Store(path)
    with pytest.raises(StoreError) as info:
        store.read()
    assert str(path) in str(info.value) and "untouched" in str(info.value)
    with pytest.raises(StoreError):
        with store.transaction() as db:
            db.insert("users", {"email": "x@y.example", "organization": None})
    portal = Portal(Store(path), fixed_clock(TODAY))
    with pytest.raises(StoreError):
        portal.init_organization("Lumenfox Studios", ADMIN)
    with pytest.raises(StoreError):
        portal.list_banks(ADMIN)
    with pytest.raises(StoreError):
        portal.check()
    assert store_bytes(path) == raw
    assert store_mtimes(path) == mtimes
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["elp.json"]


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, "1", None])
def test_unknown_schema_version_is_refused_and_untouched(tmp_path, version):
    path = tmp_path / "elp.json"
    raw = orjson.dumps({"_meta": {"1": {"schema": version}}, "users": {"1": {"email": "keep@me.example", "organization": None}}})
    path.write_bytes(raw)
    os.chmod(path, 0o600)
    store = Store(path)
    with pytest.raises(StoreError, match="schema") as info:
        store.read()
    assert repr(version) in str(info.value) or "no schema version" in str(info.value)
    with pytest.raises(StoreError):
        with store.transaction() as db:
            db.remove("users")
    with pytest.raises(StoreError):
        Portal(store, fixed_clock(TODAY)).init_organization("Org", ADMIN)
    assert store_bytes(path) == raw


# -- transactions are all or nothing ---------------------------------------------------
def test_a_transaction_whose_body_raises_writes_nothing(store):
    with store.transaction() as db:
        db.insert("users", {"email": "first@x.example", "organization": None})
    before = store_bytes(store.path)
    stamps = store_mtimes(store.path)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with store.transaction() as db:
            db.insert("users", {"email": "second@x.example", "organization": None})
            db.remove("users", email="first@x.example")
            db.insert("licenses", {"activation_id": "HALF-DONE"})
            raise Boom()
    assert store_bytes(store.path) == before
    assert store_mtimes(store.path) == stamps
    # the half-done change is gone from memory too: this and any other Store object see the file
    assert users_of(store) == ["first@x.example"]
    assert store.read().all("licenses") == []
    assert users_of(Store(store.path)) == ["first@x.example"]
    with store.transaction() as db:
        db.insert("users", {"email": "third@x.example", "organization": None})
    assert users_of(Store(store.path)) == ["first@x.example", "third@x.example"]


def test_a_failed_write_leaves_the_old_store_and_no_temp_file(store, monkeypatch):
    with store.transaction() as db:
        db.insert("users", {"email": "first@x.example", "organization": None})
    before = store_bytes(store.path)

    real_write = os.pwrite

    def disk_full(fd, data, position):  # half the line reaches the disk, then the disk is full
        real_write(fd, bytes(data[: len(data) // 2]), position)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("elp_tui.store.db.os.pwrite", disk_full)
    with pytest.raises(OSError):
        with store.transaction() as db:
            db.insert("users", {"email": "lost@x.example", "organization": None})
    monkeypatch.undo()
    assert store_bytes(store.path) == before  # no half line left in the journal
    assert users_of(store) == ["first@x.example"]
    leftovers = [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_committed_transaction_leaves_only_the_store_and_its_lock(store):
    for n in range(5):
        with store.transaction() as db:
            db.insert("users", {"email": f"u{n}@x.example", "organization": None})
    names = sorted(p.name for p in store.path.parent.iterdir())
    assert names in (["elp.json"], ["elp.json", "elp.json.lock"], ["elp.json", "elp.json.journal", "elp.json.lock"])
    assert orjson.loads(store.path.read_bytes())["_meta"]["1"]["schema"] == SCHEMA_VERSION


def test_a_transaction_that_changes_nothing_does_not_rewrite(store):
    before, stamps = os.stat(store.path), store_mtimes(store.path)
    with store.transaction() as db:
        db.all("users")
    after = os.stat(store.path)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert store_mtimes(store.path) == stamps  # nor appended to a journal


# -- two Store objects on one file ------------------------------------------------------
def test_a_second_store_object_sees_the_first_ones_committed_write(store):
    other = Store(store.path)
    assert users_of(other) == []  # cached now
    with store.transaction() as db:
        db.insert("users", {"email": "one@x.example", "organization": None})
    assert users_of(other) == ["one@x.example"]
    with other.transaction() as db:
        db.insert("users", {"email": "two@x.example", "organization": None})
    assert users_of(store) == ["one@x.example", "two@x.example"]
    # a transaction starts from the latest file, not from a stale cached copy
    with store.transaction() as db:
        assert sorted(u["email"] for u in db.all("users")) == ["one@x.example", "two@x.example"]
        db.insert("users", {"email": "three@x.example", "organization": None})
    assert users_of(other) == ["one@x.example", "three@x.example", "two@x.example"]


def test_two_admins_on_two_portals_never_lose_each_others_changes(portal, bank, store_path):
    second = Portal(Store(store_path), fixed_clock(TODAY), rng=random.Random(99))
    assert [b["id"] for b in second.list_banks(ADMIN)] == [bank["id"]]
    q1 = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=2, start=TODAY, email=ADMIN)
    q2 = second.quote_generate(ADMIN, bank=bank["id"], type="multiseat", months=1, quantity=3, start=TODAY, email=ADMIN)
    portal.generate(ADMIN, q1)
    second.invite(ADMIN, "ana@lumenfox.studio")
    assert q2.remaining_before == 100  # quoted before the first admin spent 2
    second.generate(ADMIN, q2)  # the same charge, bank and recipient: still what was confirmed
    assert len(portal.list_licenses(ADMIN)) == 3
    assert "ana@lumenfox.studio" in [u["email"] for u in portal.list_users(ADMIN)]
    assert next(b for b in portal.list_banks(ADMIN))["used"] == 5
    assert portal.check() == [] and second.check() == []


def test_a_reader_never_sees_half_a_commit(store):
    """A commit appends one whole line to the journal (the snapshot stays as it was); a new
    snapshot is a new file renamed over the old one, so a reader of the old one keeps it whole."""
    inode = os.stat(store.path).st_ino
    reader = open(store.path, "rb")  # a reader that opened the old version
    try:
        old = reader.read()
        with store.transaction() as db:
            db.insert("users", {"email": "new@x.example", "organization": None})
        assert store.path.read_bytes() == old  # the commit is in the journal
        journal = store.path.with_name(store.path.name + ".journal").read_bytes()
        assert journal.endswith(b"\n") and journal.count(b"\n") == 1  # one whole line
        store.compact()
        assert os.stat(store.path).st_ino != inode
        reader.seek(0)
        assert reader.read() == old  # still the complete old version
    finally:
        reader.close()
    assert users_of(Store(store.path)) == ["new@x.example"]


def test_the_next_write_removes_temp_files_left_by_a_killed_writer(store):
    """A writer killed between writing its temp file and renaming it leaves a stray copy, named
    with its pid (tests/test_store_files.py: a file of any other name is never removed)."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stray = store.path.parent / f".{store.path.name}.{dead.pid}.{'0' * 16}.elp.tmp"
    stray.write_bytes(b'{"half": ')
    unrelated = store.path.parent / "notes.tmp"
    unrelated.write_bytes(b"mine")
    with store.transaction() as db:
        db.insert("users", {"email": "a@b.example", "organization": None})
    assert not stray.exists()
    assert unrelated.read_bytes() == b"mine"
    assert users_of(Store(store.path)) == ["a@b.example"]


# -- change detection: the stamp alone is not trusted ---------------------------------------
def test_a_reused_stamp_does_not_hide_another_stores_commit(store, monkeypatch):
    """Same inode (freed by one os.replace, reused by the next temp file), same coarse mtime,
    same size: the generation and token at the start of the file still tell them apart."""
    monkeypatch.setattr("elp_tui.store.db._stamp", lambda target: (1, 1, 1))
    first, second = Store(store.path), Store(store.path)
    assert users_of(first) == [] and users_of(second) == []  # both cached, same stamp
    with second.transaction() as db:
        db.insert("users", {"email": "two@x.example", "organization": None})
    with first.transaction() as db:  # must start from the second one's commit, not its cache
        assert [u["email"] for u in db.all("users")] == ["two@x.example"]
        db.insert("users", {"email": "one@x.example", "organization": None})
    monkeypatch.undo()
    assert users_of(Store(store.path)) == ["one@x.example", "two@x.example"]
    assert users_of(second) == ["one@x.example", "two@x.example"]


def test_every_commit_writes_meta_first_with_the_next_generation_and_a_new_token(store):
    def meta() -> dict:
        raw = store.path.read_bytes()  # the snapshot: it opens with _meta
        assert raw.startswith(b'{"_meta":{"1":{'), "the _meta document must open the file"
        return store_tables(store.path)["_meta"]["1"]  # the committed state: snapshot and journal

    first = meta()
    assert first["schema"] == SCHEMA_VERSION and first["generation"] == 1
    marker = store.marker()
    with store.transaction() as db:
        db.insert("users", {"email": "a@b.example", "organization": None})
    second = meta()
    assert second["generation"] == 2 and store.marker() != marker  # every other session notices
    with Store(store.path).transaction() as db:
        db.insert("users", {"email": "c@d.example", "organization": None})
    assert meta()["generation"] == 3


def test_an_unchanged_store_is_not_parsed_again(store, monkeypatch):
    """A transaction on an unchanged (possibly 100 MB) store reads its first bytes, not all of it."""
    with store.transaction() as db:
        db.insert("users", {"email": "a@b.example", "organization": None})
    other = Store(store.path)
    assert users_of(other) == ["a@b.example"]

    def no_parse(self, raw):
        raise AssertionError("parsed an unchanged store again")

    monkeypatch.setattr(Store, "_parse", no_parse)
    for s in (store, other):
        assert users_of(s) == ["a@b.example"]
        with s.transaction() as db:
            db.all("users")


def test_a_store_without_generation_is_reread_when_the_stamp_matches(tmp_path, monkeypatch):
    """Nothing to compare (a store written before generations, or edited by hand): re-read."""
    path = tmp_path / "old.json"
    path.write_bytes(orjson.dumps({"_meta": {"1": {"schema": SCHEMA_VERSION}}, "users": {"1": {"email": "one@x.example", "organization": None}}}))
    os.chmod(path, 0o600)
    monkeypatch.setattr("elp_tui.store.db._stamp", lambda target: (1, 1, 1))
    reader = Store(path)
    assert users_of(reader) == ["one@x.example"]
    path.write_bytes(orjson.dumps({"_meta": {"1": {"schema": SCHEMA_VERSION}}, "users": {"1": {"email": "two@x.example", "organization": None}}}))
    assert users_of(reader) == ["two@x.example"]


# -- permissions in a folder that already exists -------------------------------------------
def test_in_an_existing_folder_the_store_is_0600_and_the_folder_is_left_alone(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o755)
    s = Store(folder / "elp.json")
    s.create()
    assert mode(s.path) == 0o600
    assert mode(folder) == 0o755
    with s.transaction() as db:
        db.insert("users", {"email": "a@b.example", "organization": None})
    assert mode(s.path) == 0o600


def test_a_store_that_cannot_be_written_is_refused_with_the_reason(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("elp_tui.store.db.atomic_write", denied)
    path = tmp_path / "elp.json"
    with pytest.raises(StoreError, match="Cannot create the store .*Permission denied"):
        Store(path).create()
    assert not path.exists()
