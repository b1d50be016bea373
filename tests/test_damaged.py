"""Damaged stores, permissions, backup and restore, seen from the CLI and the app.

Each damaged file is refused on open with a message naming the file and the problem; the
file is never modified (bytes and mtime); `elp check` lists every inconsistency."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest

from elp_tui.cli import main
from elp_tui.models import SCHEMA_VERSION
from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store, StoreError

from tests.conftest import ADMIN, TODAY
from tests.helpers import Result, cli_env, elp, only_refusal_logged, store_bytes, store_mtimes, store_tables  # noqa: F401 (fixtures)
from tests.helpers import grant_seats

pytestmark = pytest.mark.usefixtures("cli_env")

ANA = "ana@lumenfox.studio"




@pytest.fixture
def sound(portal, bank) -> Path:
    """A sound store: one organization, a bank, two licenses, a seat pool with a team."""
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=2, start=TODAY.isoformat(), email=ANA)
    portal.generate(ADMIN, quote)
    grant_seats(portal, "Quillstone Sketch", 2)
    portal.create_team(ADMIN, "Layout", "Quillstone Sketch")
    assert portal.check() == []
    portal.store.compact()  # one file, the journal folded in: what a hand editor opens
    return portal.store.path


def tables(path: Path) -> dict[str, Any]:
    return orjson.loads(path.read_bytes())


def write_private(path: Path, raw: bytes) -> None:
    """Plant a file as an editor or a broken copy would leave it (0600, so only its content is wrong)."""
    path.write_bytes(raw)
    os.chmod(path, 0o600)


def edited(path: Path, change: Callable[[dict[str, Any]], None]) -> bytes:
    data = tables(path)
    change(data)
    return orjson.dumps(data)


def first(data: dict[str, Any], table: str) -> dict[str, Any]:
    return next(iter(data[table].values()))


# name -> (how to damage a sound store's bytes, words the refusal must contain)
DAMAGE: dict[str, tuple[Callable[[Path], bytes], tuple[str, ...]]] = {
    "empty": (lambda p: b"", ("is empty",)),
    "truncated": (lambda p: p.read_bytes()[: len(p.read_bytes()) // 2], ("not valid JSON", "truncated")),
    "garbage": (lambda p: os.urandom(64) + b"\x00{]", ("not valid JSON",)),
    "wrong schema": (lambda p: edited(p, lambda d: d["_meta"]["1"].update(schema="one")), ("schema version 'one'",)),
    "future schema": (
        lambda p: edited(p, lambda d: d["_meta"]["1"].update(schema=SCHEMA_VERSION + 1)),
        (f"schema version {SCHEMA_VERSION + 1}", "newer ELP"),
    ),
    "schema true": (lambda p: edited(p, lambda d: d["_meta"]["1"].update(schema=True)), ("schema version True",)),
    "schema 1.0": (lambda p: edited(p, lambda d: d["_meta"]["1"].update(schema=1.0)), ("schema version 1.0",)),
    "log of a missing organization": (
        lambda p: edited(p, lambda d: first(d, "activity").update(organization="nope")),
        ("is damaged", "activity #1", "organization nope does not exist"),
    ),
    "no schema": (lambda p: edited(p, lambda d: d.pop("_meta")), ("no schema version",)),
    "missing field": (
        lambda p: edited(p, lambda d: first(d, "licenses").pop("expires_on")),
        ("is damaged", "licenses #1", "'expires_on' is missing"),
    ),
    "wrong type": (
        lambda p: edited(p, lambda d: first(d, "banks").update(credits_granted="lots")),
        ("is damaged", "banks #1", "credits_granted"),
    ),
    "impossible date": (
        lambda p: edited(p, lambda d: first(d, "licenses").update(start="2026-02-30")),
        ("is damaged", "licenses #1", "start"),
    ),
    "license of a missing bank": (
        lambda p: edited(p, lambda d: first(d, "licenses").update(bank="B-9999")),
        ("is damaged", "bank B-9999 does not exist"),
    ),
    "team of a missing pool": (
        lambda p: edited(p, lambda d: first(d, "teams").update(pool="SP-9999")),
        ("is damaged", "(Layout)", "pool SP-9999 does not exist"),
    ),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_store_is_refused_on_open_and_never_modified(elp, sound, name, capsys):
    damage, words = DAMAGE[name]
    raw = damage(sound)
    write_private(sound, raw)
    raw, mtimes = store_bytes(sound), store_mtimes(sound)

    for argv in (["banks", "list"], ["licenses", "list"], ["users", "invite", "new@lumenfox.studio"]):
        result = elp(*argv)
        assert result.code == 1 and result.out == ""
        assert str(sound) in result.err, result.err
        assert all(w in result.err for w in words), result.err
        assert "left untouched" in result.err and "\n" not in result.err.strip()

    # the terminal app is refused the same way, before drawing anything
    from elp_tui.app import run_app

    assert run_app(sound, ADMIN) == 1
    err = capsys.readouterr().err
    assert str(sound) in err and all(w in err for w in words)

    assert store_bytes(sound) == raw and store_mtimes(sound) == mtimes
    assert sorted(p.name for p in sound.parent.iterdir()) in (["elp.json", "elp.json.lock"], ["elp.json", "elp.json.journal", "elp.json.lock"])


@pytest.mark.parametrize("name", [n for n in DAMAGE if "is damaged" in DAMAGE[n][1]])
def test_check_reports_structural_damage_without_changing_the_file(elp, sound, name):
    damage, words = DAMAGE[name]
    raw = damage(sound)
    write_private(sound, raw)
    raw = store_bytes(sound)
    result = elp("check", user=None)
    assert result.code == 1
    assert all(w in result.out for w in words[1:]), result.out
    assert store_bytes(sound) == raw


def test_check_lists_every_inconsistency_at_once(elp, sound):
    def plant(d: dict[str, Any]) -> None:
        licenses = list(d["licenses"].values())
        licenses[0].pop("computers")  # a missing field
        licenses[1]["bank"] = "B-0404"  # a reference to a missing bank
        first(d, "ledger")["credits"] = 999  # the ledger no longer sums to the licenses
        first(d, "users")["organization"] = "ghost-org"  # a member of no organization
        first(d, "teams")["members"] = ["nobody@lumenfox.studio"]  # a member without a seat
        d["activity"].pop(next(iter(d["activity"])))  # a gap in the log
        list(d["users"].values())[-1]["email"] = "esc\x1b]52;c;aGk=\x07@lumenfox.studio"  # a hand edit

    write_private(sound, edited(sound, plant))
    raw = store_bytes(sound)
    result = elp("check", user=None)
    assert result.code == 1
    lines = result.out.splitlines()
    for words in (
        ("licenses #1", "'computers' is missing"),
        ("licenses #2", "bank B-0404 does not exist"),
        ("ghost-org does not exist",),
        ("ledger sums to",),
        ("nobody@lumenfox.studio", "without holding a seat"),
        ("activity log has no entry with seq 1",),
        ("users: email", "holds a control character", "U+001B ESC"),
    ):
        assert any(all(w in line for w in words) for line in lines), (words, lines)
    assert f"{len(lines)} problem(s)" in result.err
    assert store_bytes(sound) == raw


def test_check_of_an_unreadable_file_names_the_file_and_the_problem(elp, sound):
    write_private(sound, b"{\"_meta\": ")
    result = elp("check", user=None)
    assert result.code == 1 and str(sound) in result.err and "not valid JSON" in result.err


async def test_a_store_damaged_while_the_app_runs_is_refused_not_crashed(sound):
    """Another program overwrites the file while an admin works: pages say so, nothing is written."""
    from elp_tui.app import make_app
    from elp_tui.store.files import atomic_write
    from tests.helpers import messages, until

    app = make_app(sound, ADMIN, clock=TODAY)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        atomic_write(sound, b"not a store")
        damaged = store_bytes(sound)
        await pilot.press("ctrl+p")
        await pilot.press(*"Manage Licenses")
        await pilot.press("enter")
        await until(pilot, lambda: "not valid JSON" in messages(app), "the refusal")
        assert app.is_running
    assert store_bytes(sound) == damaged


# -- permissions ---------------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_store_and_its_lock_are_0600_in_a_0700_folder(elp, tmp_path):
    path = tmp_path / "new" / "elp.json"
    assert elp("init", "--org", "Lumenfox Studios", "--admin", ADMIN, user=None, store=path).code == 0
    assert elp("users", "invite", ANA, store=path).code == 0
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)
    assert mode(Path(str(path) + ".lock")) == 0o600


@pytest.mark.parametrize("bits", [0o644, 0o640, 0o604, 0o660])
def test_a_store_others_can_read_is_refused_with_the_chmod_that_fixes_it(elp, sound, bits):
    os.chmod(sound, bits)
    raw = store_bytes(sound)
    result = elp("banks", "list")
    assert result.code == 1
    assert f"chmod 600 {sound}" in result.err and f"mode {bits:o}" in result.err
    assert elp("check", user=None).code == 1
    assert store_bytes(sound) == raw and mode(sound) == bits  # refused, not silently "fixed"
    os.chmod(sound, 0o600)  # the fix it gave works
    assert elp("banks", "list").code == 0


def test_a_lock_file_others_can_read_is_made_private_again(elp, sound):
    lock = Path(str(sound) + ".lock")
    os.chmod(lock, 0o666)
    assert elp("users", "invite", "bob@lumenfox.studio").code == 0
    assert mode(lock) == 0o600


def test_a_folder_others_can_write_is_refused(elp, sound, tmp_path):
    os.chmod(sound.parent, 0o777)
    try:
        result = elp("banks", "list")
        assert result.code == 1 and f"chmod 700 {sound.parent}" in result.err
    finally:
        os.chmod(sound.parent, 0o700)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    result = elp("init", "--org", "Lumenfox Studios", "--admin", ADMIN, user=None, store=shared / "elp.json")
    assert result.code == 1 and f"chmod 700 {shared}" in result.err
    assert list(shared.iterdir()) == []


# -- backup and restore --------------------------------------------------------------------
def without_meta(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "_meta"}


def test_backup_then_restore_puts_every_table_back(elp, sound, tmp_path):
    copy = tmp_path / "backups" / "monday.json"
    result = elp("backup", str(copy))
    assert result.code == 0 and str(copy) in result.out
    assert mode(copy) == 0o600 and mode(copy.parent) == 0o700
    saved = tables(copy)
    assert saved == store_tables(sound)

    assert elp("users", "invite", "later@lumenfox.studio").code == 0
    changed_store, changed = store_bytes(sound), without_meta(store_tables(sound))
    generation = store_tables(sound)["_meta"]["1"]["generation"]

    # a session open before the restore must notice it
    session = Portal(Store(sound), fixed_clock(TODAY))
    assert "later@lumenfox.studio" in {u["email"] for u in session.list_users(ADMIN)}

    refused = elp("restore", str(copy))  # no terminal, no --yes: asks, changes nothing
    assert refused.code == 1 and "organizations: 1" in refused.out and "--yes" in refused.err
    assert store_bytes(sound) == changed_store

    result = elp("restore", str(copy), "--yes")
    assert result.code == 0, result.err
    restored = store_tables(sound)
    assert {k: v for k, v in without_meta(restored).items() if k != "activity"} == {
        k: v for k, v in without_meta(saved).items() if k != "activity"}
    assert list(restored["activity"].values())[:-1] == list(saved["activity"].values())  # plus the restore's entry
    assert store_tables(sound)["_meta"]["1"]["generation"] > generation  # the generation only grows
    [kept] = sound.parent.glob("elp.json.before-restore-*")
    assert without_meta(store_tables(kept)) == changed and mode(kept) == 0o600 and str(kept) in result.out
    # the restored log says who restored what, and where the replaced file went
    [entry] = [a for a in store_tables(sound)["activity"].values() if a["action"] == "restore"]
    assert entry["actor"] == ADMIN and entry["target"] == str(copy) and str(kept) in entry["details"]

    # a second restore keeps the first kept file: nothing is ever overwritten
    assert elp("restore", str(copy), "--yes").code == 0
    assert len(list(sound.parent.glob("elp.json.before-restore-*"))) == 2 and without_meta(store_tables(kept)) == changed
    assert "later@lumenfox.studio" not in {u["email"] for u in session.list_users(ADMIN)}
    assert elp("check", user=None).code == 0


def test_restore_mends_a_damaged_store(elp, sound, tmp_path, monkeypatch):
    copy = tmp_path / "b.json"
    assert elp("backup", str(copy)).code == 0
    write_private(sound, b"")
    damaged = store_bytes(sound)
    assert elp("banks", "list").code == 1
    # An unreadable store does not say it may follow ELP_TODAY: the restore is refused when it asks
    # for today (its log entry), before writing; on the calendar's today it goes ahead.
    refused = elp("restore", str(copy), "--yes", user=None)
    assert refused.code == 1 and "unset ELP_TODAY" in refused.err and store_bytes(sound) == damaged
    assert not list(sound.parent.glob("elp.json.before-restore-*"))
    monkeypatch.delenv("ELP_TODAY")
    assert elp("restore", str(copy), "--yes", user=None).code == 0  # nobody can sign in to a damaged store
    assert elp("banks", "list").code == 0
    [kept] = sound.parent.glob("elp.json.before-restore-*")
    assert kept.read_bytes() == b""


def _inconsistent(d: dict[str, Any]) -> None:
    first(d, "ledger")["credits"] = 999


BAD_BACKUPS: dict[str, tuple[Callable[[Path], bytes] | None, str]] = {
    "missing": (None, "There is no backup at"),
    "garbage": (lambda p: b"\x1b]52;c;aGk=\x07 not json", "not valid JSON"),
    "empty": (lambda p: b"", "is empty"),
    "future schema": (lambda p: edited(p, lambda d: d["_meta"]["1"].update(schema=SCHEMA_VERSION + 1)), "schema version"),
    "missing field": (lambda p: edited(p, lambda d: first(d, "users").pop("email")), "'email' is missing"),
    "license of a missing bank": (lambda p: edited(p, lambda d: first(d, "licenses").update(bank="B-9")), "B-9 does not exist"),
    "inconsistent": (lambda p: edited(p, _inconsistent), "ledger sums to"),
}


@pytest.mark.parametrize("name", list(BAD_BACKUPS))
def test_restore_refuses_an_invalid_backup_and_keeps_the_current_store(elp, sound, tmp_path, name):
    make, words = BAD_BACKUPS[name]
    copy = tmp_path / "bad-backup.json"
    if make is not None:
        write_private(copy, make(sound))
    before, mtimes = store_bytes(sound), store_mtimes(sound)
    result = elp("restore", str(copy), "--yes")
    assert result.code == 1
    assert words in result.err and str(copy) in result.err and "\x1b" not in result.err
    assert "Nothing was restored" in result.err or "no backup" in result.err
    assert store_bytes(sound) == before and store_mtimes(sound) == mtimes
    assert not list(sound.parent.glob("elp.json.before-restore*"))


def test_backup_refuses_to_overwrite_or_to_copy_a_damaged_store(elp, sound, tmp_path):
    copy = tmp_path / "b.json"
    write_private(copy, b"my notes")
    result = elp("backup", str(copy))
    assert result.code == 1 and "--force" in result.err and copy.read_bytes() == b"my notes"
    assert elp("backup", str(copy), "--force").code == 0
    assert tables(copy) == store_tables(sound)
    assert elp("backup", str(sound), "--force").code == 1  # not onto itself

    write_private(sound, edited(sound, lambda d: first(d, "licenses").pop("bank")))
    other = tmp_path / "c.json"
    result = elp("backup", str(other))
    assert result.code == 1 and "is damaged" in result.err and not other.exists()


def test_a_store_error_names_the_file(tmp_path):
    path = tmp_path / "nowhere" / "elp.json"
    with pytest.raises(StoreError, match="No store at"):
        Store(path).read()


def test_restore_from_a_folder_others_can_write_says_so_plainly(elp, sound, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    assert elp("backup", str(shared / "b.json")).code == 0
    os.chmod(shared, 0o775)
    before = store_bytes(sound)
    result = elp("restore", str(shared / "b.json"), "--yes")
    assert result.code == 1
    assert f"The backup {shared / 'b.json'} is in a folder other users can write" in result.err
    assert f"chmod 700 {shared}" in result.err and "Nothing was restored" in result.err
    assert store_bytes(sound) == before


def test_a_regular_user_cannot_back_up_or_restore_and_is_logged(elp, sound, tmp_path, portal):
    copy = tmp_path / "b.json"
    assert elp("backup", str(copy)).code == 0
    portal.sign_in(ANA)  # invited when her licenses were generated
    for argv in (["backup", str(tmp_path / "mine.json")], ["restore", str(copy), "--yes"]):
        before = store_tables(sound)
        result = elp(*argv, user=ANA)
        assert result.code == 1 and "only organization admins" in result.err
        only_refusal_logged(before, store_tables(sound), ANA, {"backup": "elp backup", "restore": "restore"}[argv[0]])
    assert not (tmp_path / "mine.json").exists()
    assert not list(sound.parent.glob("elp.json.before-restore*"))
    result = elp("restore", str(copy), "--yes", user=None)
    assert result.code == 1 and "--as EMAIL" in result.err


def test_demo_force_over_a_real_store_keeps_it_and_replaces_a_demo_freely(elp, sound):
    real = sound.read_bytes()
    result = elp("demo", "--force", "--no-open", user=None)
    assert result.code == 0, result.err
    [kept] = sound.parent.glob("elp.json.before-demo-*")
    assert kept.read_bytes() == real and mode(kept) == 0o600 and str(kept) in result.out
    assert elp("demo", "--force", "--no-open", user=None).code == 0  # a demo over a demo: nothing kept
    assert len(list(sound.parent.glob("elp.json.before-demo-*"))) == 1
