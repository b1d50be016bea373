"""Helpers shared by the test files: refusals that must change nothing, waiting on the app."""

from __future__ import annotations

import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest


@pytest.fixture
def cli_env(monkeypatch):
    """The CLI as scripts meet it: a fixed today, no user, store or language from the
    environment, and no terminal on stdin unless a test gives one. Import it as an autouse
    fixture: `pytestmark = pytest.mark.usefixtures("cli_env")` after `from tests.helpers import cli_env`."""
    from tests.conftest import TODAY

    monkeypatch.setenv("ELP_TODAY", TODAY.isoformat())
    for name in ("ELP_USER", "ELP_STORE", "ELP_LANG", "COLUMNS", "ELP_SERVER", "ELP_TOKEN"):
        # set, then delete: the undo then also removes what a command sets (elp --lang)
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


@dataclass
class Result:
    """What one `elp` command did: exit status, stdout, stderr."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        import json

        return json.loads(self.out)


@pytest.fixture
def elp(store_path, capsys) -> Callable[..., Result]:
    """Run `elp --store STORE [--as USER] ARGS...` in-process (STORE: the test's store, or `store=`)."""
    from elp_tui.cli import main
    from tests.conftest import ADMIN

    def run(*args: str, user: str | None = ADMIN, store: Any = None) -> Result:
        argv = ["--store", str(store or store_path)] + (["--as", user] if user else []) + list(args)
        code = main(argv)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


JOURNAL_MARK = b"\n--journal--\n"


def journal_path(path: Any) -> Path:
    """The store's journal: beside the snapshot, named after it (P -> P.journal)."""
    path = Path(path)
    return path.with_name(path.name + ".journal")


def store_bytes(path: Any) -> bytes:
    """Everything the store at `path` holds on disk: the snapshot's bytes, then (once the store
    keeps a journal) a mark and the journal's bytes. A commit may append to the journal and leave
    the snapshot as it was, so "nothing changed" and "it committed" compare this, not the snapshot.
    A PostgreSQL store (a URL): its committed generation and every table, as JSON."""
    if _is_url(path):
        import orjson

        tables = store_tables(path)
        return orjson.dumps(tables, option=orjson.OPT_SORT_KEYS)
    path = Path(path)
    raw = path.read_bytes()
    journal = journal_path(path)
    if journal.exists():
        raw += JOURNAL_MARK + journal.read_bytes()
    return raw


def store_mtimes(path: Any) -> tuple[int, int | None]:
    """When the snapshot and (if there is one) the journal were last written, in ns: unchanged
    stamps with unchanged `store_bytes` show nothing rewrote the store, not even with the same bytes."""
    path = Path(path)
    journal = journal_path(path)
    return os.stat(path).st_mtime_ns, (os.stat(journal).st_mtime_ns if journal.exists() else None)


def copy_store(source: Any, target: Any) -> Path:
    """A private copy (0600 files) of the store at `source`: its snapshot, and its journal if it
    keeps one, under `target`'s name (the folder must exist)."""
    source, target = Path(source), Path(target)
    for src, dst in ((source, target), (journal_path(source), journal_path(target))):
        if dst is target or src.exists():
            dst.write_bytes(src.read_bytes())
            dst.chmod(0o600)
    return target


def store_tables(path: Any) -> dict[str, dict[str, Any]]:
    """The committed tables of the store at `path` as the store itself reads them (snapshot plus
    journal), `_meta` included."""
    from elp_tui.store import open_store

    store = open_store(path)
    try:
        return store.tables()
    finally:
        store.close()


def _is_url(target: Any) -> bool:
    from elp_tui.store import is_url

    return is_url(target)


def store_args(target: Any) -> list[str]:
    """The CLI's option naming a store: --store PATH, or --db URL for a PostgreSQL store."""
    return ["--db", str(target)] if _is_url(target) else ["--store", str(target)]


def file_bytes(portal: Any) -> bytes:
    return store_bytes(portal.store.path)


def refused(portal: Any, exc_type: type[Exception], fn: Callable[..., Any], *args: Any, match: str | None = None, **kw: Any) -> Exception:
    """Call must raise `exc_type` and leave the store file byte-for-byte as it was."""
    before = file_bytes(portal)
    with pytest.raises(exc_type, match=match) as info:
        fn(*args, **kw)
    assert file_bytes(portal) == before, "a refusal changed the store"
    assert str(info.value).strip(), "a refusal must say what was wrong"
    return info.value


def only_refusal_logged(
    old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], actor: str, operation: str | None = None
) -> dict[str, Any]:
    """A refusal of authority: every table as it was except one new 'refused' activity entry
    (and `_meta`, which counts the commit). `old` and `new` are `store_tables(...)` before and
    after. Returns that entry."""
    assert set(old) | {"activity"} == set(new), "a refusal added or removed a table"
    for table in new:
        if table not in ("_meta", "activity"):
            assert new[table] == old.get(table), f"a refusal of authority changed table {table!r}"
    old_log, new_log = old.get("activity", {}), new["activity"]
    added = [doc for key, doc in new_log.items() if key not in old_log]
    assert {k: new_log[k] for k in old_log} == old_log, "a refusal changed earlier activity entries"
    assert len(added) == 1, f"a refusal of authority must add exactly one activity entry, added {added}"
    entry = added[0]
    assert entry["seq"] == len(old_log) + 1
    assert (entry["action"], entry["actor"]) == ("refused", actor)
    assert entry["organization"], "the refusal is logged to the actor's organization"
    if operation is not None:
        assert entry["target"] == operation
    return entry


def messages(app: Any) -> str:
    """Every notification the app has shown: title and message, one per line."""
    return "\n".join(f"{n.title}\n{n.message}" if n.title else str(n.message) for n in app._notifications)


def confirm_text(dialog: Any) -> str:
    rows = "\n".join(f"{label}: {value}" for label, value in dialog.rows)
    return f"{dialog.title_text}\n{rows}\n{dialog.warning}"


async def until(pilot: Any, condition: Callable[[], bool], what: str = "condition", timeout: float = 20) -> None:
    """Poll (a busy machine running tests in parallel can be slow, never wrong)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (screen on top: {pilot.app.screen!r})")
        await pilot.pause(0.01)


def hand_edit(path: Any, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the store's file as a person with an editor would: the journal folded into the
    snapshot first (one file), then its JSON changed and written back (0600). ELP sees the file no
    longer matches what it wrote and judges it in full when it next opens it."""
    import orjson

    from elp_tui.store import Store

    Store(path).compact()
    data = orjson.loads(Path(path).read_bytes())
    change(data)
    Path(path).write_bytes(orjson.dumps(data))
    Path(path).chmod(0o600)


# -- what the vendor grants (tests set up banks and pools through these, never through an admin) --
ORG = "lumenfox-studios"  # the organization the `portal` fixture creates


def vendor_of(portal: Any) -> str:
    """The vendor's staff member of `portal`'s store: VENDOR, set up first if the store has no vendor
    yet (a second store a test makes with init_organization)."""
    from tests.conftest import VENDOR, VENDOR_EMAIL

    if not portal.store.read().all("vendors"):
        portal.setup_vendor("Quillstone", VENDOR_EMAIL, VENDOR)
    return VENDOR


def admins_org(portal: Any) -> str:
    """The organization of ADMIN in `portal`'s store (ORG, unless a test made another one for them)."""
    from tests.conftest import ADMIN

    user = portal.store.read().get("users", email=ADMIN)
    return user["organization"] if user and user.get("organization") else ORG


def grant_bank(portal: Any, *, org: str | None = None, **fields: Any) -> dict[str, Any]:
    """A credit bank granted by the vendor to `org` (default: ADMIN's organization), fields as
    Portal.add_bank takes them. A bank that has expired by the portal's today was granted back
    when it was valid (the vendor refuses to grant one already expired): on its start day."""
    import datetime as dt

    from elp_tui.portal import fixed_clock

    expires = dt.date.fromisoformat(str(fields.get("expires_on")))
    if expires <= portal.today():
        granting = type(portal)(portal.store, fixed_clock(dt.date.fromisoformat(str(fields["start"]))))
        return granting.add_bank(vendor_of(portal), organization=org or admins_org(portal), **fields)
    return portal.add_bank(vendor_of(portal), organization=org or admins_org(portal), **fields)


def grant_seats(portal: Any, product: str, seats: int, *, org: str | None = None) -> dict[str, Any]:
    """Seats granted by the vendor to `org`'s pool of `product` (default: ADMIN's organization)."""
    return portal.add_seats(vendor_of(portal), org or admins_org(portal), product, seats)
