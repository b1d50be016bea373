"""The journal engine with real processes and real files (issue 9): a writer killed with SIGKILL
while it appends or compacts leaves a sound store; a torn last journal line is ignored and cut
off, a damaged line in the middle is refused; sessions see each other's commits through the
journal without re-reading the snapshot; a schema 1 store works and becomes schema 2 at its
first commit, kept aside first."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store, StoreError
from elp_tui.store.journal import encode_entry, read_entries
from tests.conftest import ADMIN, TODAY
from tests.helpers import cli_env, elp, journal_path, store_bytes, store_tables  # noqa: F401 (fixtures)
from tests.test_processes import _snapshot, spawn, wait_ready
from tests.helpers import grant_bank

pytestmark = [
    pytest.mark.usefixtures("cli_env"),
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX processes"),
]


def fresh(store_path: Path) -> Portal:
    """Another session: a new Store on the same files."""
    return Portal(Store(store_path), fixed_clock(TODAY))


def temps(store_path: Path) -> list[str]:
    return [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp")]


# -- 1. the crash harness, journal and compaction -------------------------------------------
@pytest.mark.parametrize("compact_bytes", [None, 2000], ids=["appending", "compacting"])
def test_a_writer_killed_while_it_appends_or_compacts_leaves_a_sound_store(portal, store_path, compact_bytes):
    """SIGKILL a writer again and again, while it appends journal lines (the default threshold:
    no compaction) or while it compacts (a 2000-byte threshold: nearly every commit writes a new
    snapshot and empties the journal). After every kill the store opens, passes check, holds every
    commit the writer reported, rewrote no earlier ledger or activity entry, and the next commit
    leaves no temp file behind."""
    bank = grant_bank(portal, product="Quillstone Animate", credits=1_000_000, start="2026-11-01", expires_on="2036-11-01")
    rnd = random.Random(20261126 + (compact_bytes or 0))
    before = _snapshot(store_path)
    reported = 0
    snapshots = {Store(store_path).head_meta()["commit"]}
    journal_seen = 0
    extra = [compact_bytes] if compact_bytes else []
    for kill in range(10):
        writer = spawn("writer.py", store_path, bank["id"], ADMIN, TODAY, *extra)
        wait_ready(writer)
        time.sleep(rnd.uniform(0.05, 0.4))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        assert writer.returncode == -signal.SIGKILL, f"writer died on its own: {writer.stderr.read()}"
        successes = [line for line in writer.stdout.read().splitlines(keepends=True) if line.endswith("\n")]
        writer.stdout.close()
        writer.stderr.close()
        snapshots.add(Store(store_path).head_meta()["commit"])
        if journal_path(store_path).exists():
            journal_seen = max(journal_seen, journal_path(store_path).stat().st_size)

        data = store_tables(store_path)
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

        session = fresh(store_path)
        assert session.check() == [], f"after kill {kill}"
        after = _snapshot(store_path)
        assert before["licenses"] <= after["licenses"] and before["users"] <= after["users"]
        for key in ("ledger", "activity"):
            assert all(after[key][k] == v for k, v in before[key].items()), f"{key} entries were rewritten"
        [row] = session.list_banks(ADMIN)
        assert row["used"] == sum(e["credits"] for e in after["ledger"].values())

        # the next commit (here, of another session) cuts any torn line and removes the killed writer's temp file
        session.invite(ADMIN, f"after-kill-{kill}@lumenfox.studio")
        assert temps(store_path) == []
        assert fresh(store_path).check() == []
        before = _snapshot(store_path)
    assert reported > 0, "the writers never got to write: the test proved nothing"
    if compact_bytes:
        assert len(snapshots) > 5, "the writers hardly ever compacted: the test proved nothing"
    else:
        assert len(snapshots) == 1, "a commit wrote a new snapshot although the journal was small"
        assert journal_seen > 0


# -- 2. torn and damaged journal lines ------------------------------------------------------
def _grow(portal: Portal, n: int = 3) -> None:
    for i in range(n):
        portal.invite(ADMIN, f"line-{i}@lumenfox.studio")


def _next_line(store_path: Path, email: str) -> bytes:
    """The journal line a commit inviting `email` would append (the right generation and base)."""
    tables = store_tables(store_path)
    meta = Store(store_path).head_meta()
    key = str(max(int(k) for k in tables["users"]) + 1)
    doc = dict(next(iter(tables["users"].values())), email=email)
    return encode_entry(tables["_meta"]["1"]["generation"] + 1, meta["commit"], [["users", key, doc]])


@pytest.mark.parametrize("torn", ["half a line, no newline", "a whole line with a wrong checksum"])
def test_a_torn_last_journal_line_is_ignored_then_cut_off_by_the_next_commit(portal, store_path, elp, torn):
    _grow(portal)
    journal = journal_path(store_path)
    good = journal.read_bytes()
    tables = store_tables(store_path)
    line = _next_line(store_path, "torn@lumenfox.studio")
    assert read_entries(line)[0], "the line written by hand must be a valid journal line before it is torn"
    if torn.startswith("half"):
        tail = line[: len(line) // 2]
    else:
        tail = (b"0" if line[:1] != b"0" else b"1") + line[1:]
    with open(journal, "ab") as fh:
        fh.write(tail)

    assert store_tables(store_path) == tables  # everything before it, nothing of it
    assert elp("check").code == 0
    assert "torn@lumenfox.studio" not in elp("users", "list").out
    assert journal.read_bytes() == good + tail  # reading changed nothing

    assert elp("users", "invite", "next@lumenfox.studio").code == 0
    raw = journal.read_bytes()
    assert raw.startswith(good) and tail not in raw
    entries, end = read_entries(raw[len(good):], len(good))
    assert len(entries) == 1 and end == len(raw)  # one whole line appended where the torn one was
    after = store_tables(store_path)
    emails = {u["email"] for u in after["users"].values()}
    assert "next@lumenfox.studio" in emails and "torn@lumenfox.studio" not in emails
    assert fresh(store_path).check() == []
    assert elp("check").code == 0


@pytest.mark.parametrize("damage", ["wrong checksum", "garbage line"])
def test_a_damaged_journal_line_followed_by_good_lines_is_refused_and_nothing_changes(portal, store_path, elp, damage):
    _grow(portal, 4)
    journal = journal_path(store_path)
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 4
    if damage == "wrong checksum":
        lines[1] = (b"0" if lines[1][:1] != b"0" else b"1") + lines[1][1:]
    else:
        lines.insert(2, b"this is not an ELP journal line\n")
    journal.write_bytes(b"".join(lines))
    before = store_bytes(store_path)

    for command in (["users", "list"], ["users", "invite", "late@lumenfox.studio"], ["banks", "list"]):
        result = elp(*command)
        assert result.code == 1, command
        assert "damaged journal" in result.err and "elp.json.journal" in result.err, result.err
        assert "restore" in result.err
    check = elp("check")
    assert check.code == 1 and "journal" in check.out + check.err
    with pytest.raises(StoreError, match="damaged journal"):
        Store(store_path).read()
    assert store_bytes(store_path) == before


# -- 3. sessions see each other's commits through the journal --------------------------------
def test_two_processes_committing_in_turns_see_each_other_and_a_third_session_catches_up_without_rereading(
        portal, bank, store_path):
    observer = Store(store_path)
    watching = Portal(observer, fixed_clock(TODAY))
    start_users = {u["email"] for u in watching.list_users(ADMIN)}
    snap, marker = observer._snap, observer.marker()
    workers = [spawn("turns.py", store_path, ADMIN, bank["id"], TODAY, stdin=subprocess.PIPE) for _ in range(2)]
    try:
        for w in workers:
            wait_ready(w)
        users: list[str] = []
        licenses: list[str] = []
        replies: list[list[dict]] = [[], []]
        for turn in range(10):
            do = "generate" if turn % 4 in (1, 2) else "invite"
            email = f"turn-{turn}@lumenfox.studio"
            w = workers[turn % 2]
            w.stdin.write(json.dumps({"expect_users": users, "expect_licenses": licenses, "do": do, "email": email}) + "\n")
            w.stdin.flush()
            reply = w.stdout.readline()
            assert reply, f"worker {turn % 2} died: {w.stderr.read()}"
            reply = json.loads(reply)
            # before its own commit, it saw every commit so far, the other's last one included
            assert reply["saw_users"] == users and reply["saw_licenses"] == licenses, (turn, reply)
            (users if do == "invite" else licenses).append(reply["created"])
            replies[turn % 2].append(reply)
    finally:
        for w in workers:
            w.stdin.close()
            w.wait(timeout=30)
            w.stdout.close()
            w.stderr.close()
    assert [w.returncode for w in workers] == [0, 0]
    assert len(users) == 5 and len(licenses) == 5
    for mine in replies:  # each caught up through the journal: never another snapshot
        assert len({r["snap"] for r in mine}) == 1

    # the third session, opened before both, sees every commit without reopening or re-reading
    assert {u["email"] for u in watching.list_users(ADMIN)} == start_users | set(users)
    assert {lic["activation_id"] for lic in watching.list_licenses(ADMIN)} == set(licenses)
    assert observer._snap is snap
    now = observer.marker()
    assert now[:2] == marker[:2] and now[2] > marker[2]  # the same snapshot; the journal grew
    assert fresh(store_path).check() == []


# -- 4. schema 1 stores -----------------------------------------------------------------------
def _schema_1(portal: Portal, bank: dict, store_path: Path) -> dict:
    """Rewrite the store as ELP 1 wrote it: one file, `_meta.schema == 1`, no index, no journal."""
    portal.invite(ADMIN, "ana@lumenfox.studio")
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="multiseat", months=2, quantity=3, start=TODAY,
                                  email="ana@lumenfox.studio")
    portal.generate(ADMIN, quote)
    tables = store_tables(store_path)
    meta = {k: v for k, v in tables["_meta"]["1"].items() if k not in ("schema", "tables", "used", "crc")}
    meta = {"schema": 1, "generation": meta.pop("generation"), "commit": meta.pop("commit"), **meta}
    data = {"_meta": {"1": meta}, **{k: v for k, v in tables.items() if k != "_meta"}}
    store_path.write_bytes(orjson.dumps(data))
    store_path.chmod(0o600)
    journal_path(store_path).unlink(missing_ok=True)
    return data


READ_COMMANDS = [
    ["check"], ["banks", "list"], ["licenses", "list"], ["licenses", "export"], ["users", "list"],
    ["versions", "list"], ["seats", "show"], ["teams", "list"], ["log"],
]


def _first_commit(kind: str, bank: dict, license_id: str) -> list[str]:
    return {
        "invite": ["users", "invite", "new@lumenfox.studio"],
        "generate": ["licenses", "generate", "--bank", bank["id"], "--type", "node-lock", "--months", "1",
                     "--quantity", "1", "--start", TODAY.isoformat(), "--email", "ana@lumenfox.studio", "--yes"],
        "return": ["licenses", "return", license_id, "--email", "ana@lumenfox.studio", "--yes"],
    }[kind]


@pytest.mark.parametrize("first", ["invite", "generate", "return"])
def test_a_schema_1_store_works_and_becomes_schema_2_at_its_first_commit_kept_aside_first(
        portal, bank, store_path, elp, first):
    old = _schema_1(portal, bank, store_path)
    [license_id] = [lic["activation_id"] for lic in old["licenses"].values()]
    original = store_path.read_bytes()
    assert Store(store_path).head_meta()["schema"] == 1
    for command in READ_COMMANDS:
        result = elp(*command)
        assert result.code == 0, (command, result.err)
    assert "ana@lumenfox.studio" in elp("users", "list").out and license_id in elp("licenses", "list").out
    # a refused change converts nothing and keeps no copy
    assert elp("users", "invite", "ana@lumenfox.studio").code == 1
    assert store_bytes(store_path) == original  # reading never converts
    assert list(store_path.parent.glob("*.before-schema-*")) == []

    result = elp(*_first_commit(first, bank, license_id))
    assert result.code == 0, result.err
    head = Store(store_path).head_meta()
    assert head["schema"] == 2 and isinstance(head["tables"], list) and "crc" in head
    [kept] = store_path.parent.glob(store_path.name + ".before-schema-2-*")
    assert kept.read_bytes() == original
    assert kept.stat().st_mode & 0o777 == 0o600
    now = store_tables(store_path)
    changed = set()
    for table, docs in old.items():
        if table == "_meta":
            continue
        assert set(docs) <= set(now[table]), f"{table} lost documents"
        changed |= {(table, key) for key, doc in docs.items() if now[table][key] != doc}
    assert changed <= {("licenses", next(k for k, d in old["licenses"].items() if d["activation_id"] == license_id))}
    assert bool(changed) == (first == "return")
    assert now["_meta"]["1"]["generation"] == old["_meta"]["1"]["generation"] + 1
    assert elp("check").code == 0
    assert fresh(store_path).check() == []

    # from now on a commit appends to the journal and keeps no more copies
    snapshot = store_path.read_bytes()
    for command in READ_COMMANDS:
        assert elp(*command).code == 0, command
    assert elp("users", "invite", "later@lumenfox.studio").code == 0
    assert store_path.read_bytes() == snapshot and journal_path(store_path).stat().st_size > 0
    assert len(list(store_path.parent.glob("*.before-schema-*"))) == 1
    assert elp("check").code == 0


# -- a compaction cut short ---------------------------------------------------------------------
def test_a_compaction_cut_short_before_the_journal_was_emptied_loses_and_repeats_nothing(portal, store_path, elp):
    """A writer killed after its new snapshot replaced the old one but before it emptied the
    journal leaves journal lines of the old snapshot: they are already in the new one, so they are
    skipped (not applied twice), and later commits append after them."""
    _grow(portal, 4)
    journal = journal_path(store_path)
    stale = journal.read_bytes()
    tables = store_tables(store_path)
    Store(store_path).compact()
    assert journal.read_bytes() == b""
    compacted = store_tables(store_path)
    journal.write_bytes(stale)  # as if the kill came between the replace and the truncation
    assert store_tables(store_path) == compacted
    assert {k: v for k, v in compacted.items() if k != "_meta"} == {k: v for k, v in tables.items() if k != "_meta"}
    assert elp("check").code == 0

    assert elp("users", "invite", "after@lumenfox.studio").code == 0
    raw = journal.read_bytes()
    assert raw.startswith(stale) and len(read_entries(raw)[0]) == len(read_entries(stale)[0]) + 1
    after = store_tables(store_path)
    assert {k: v for k, v in after.items() if k not in ("_meta", "users", "activity", "outbox")} == {
        k: v for k, v in tables.items() if k not in ("_meta", "users", "activity", "outbox")}
    emails = sorted(u["email"] for u in after["users"].values())
    assert emails == sorted([u["email"] for u in tables["users"].values()] + ["after@lumenfox.studio"])
    assert after["_meta"]["1"]["generation"] == compacted["_meta"]["1"]["generation"] + 1
    assert fresh(store_path).check() == [] and elp("check").code == 0


def test_a_table_first_written_by_a_compacting_commit_is_in_the_new_snapshot(store_path, monkeypatch):
    """The first license of a store whose journal is past the bound: the commit writes a new
    snapshot, and the licenses table it creates (in no snapshot or journal line yet) is in it."""
    monkeypatch.setattr("elp_tui.store.db.COMPACT_BYTES", 0)  # every commit compacts
    portal = Portal(Store(store_path), fixed_clock(TODAY))
    portal.init_organization("Lumenfox Studios", ADMIN)
    bank = grant_bank(portal, product="Quillstone Animate", credits=10, start="2026-11-01", expires_on="2027-05-01")
    other = fresh(store_path)
    other.list_banks(ADMIN)  # a session that has read the snapshot lazily, licenses not among it
    quote = other.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN)
    [made] = other.generate(ADMIN, quote)
    assert not journal_path(store_path).exists() or journal_path(store_path).stat().st_size == 0  # compacted
    assert [lic["activation_id"] for lic in fresh(store_path).list_licenses(ADMIN)] == [made["activation_id"]]
    assert fresh(store_path).check() == []
