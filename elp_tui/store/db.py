"""One JSON file holding every table, read and written as a whole.

Why not TinyDB's stock JSONStorage: it rewrites the file in place, so a process killed
mid-write leaves a torn file, and it has no notion of another process writing meanwhile.
Here TinyDB works on an in-memory copy; a transaction takes an exclusive file lock,
re-reads the file if another process replaced it, lets the caller check and apply, and
writes once: temp file in the same folder, fsync, os.replace, fsync of the folder.
A reader never needs the lock: the file is only ever replaced whole.

Knowing whether the cached copy is still the file (cheaply, even for a 100 MB store):
every commit writes `_meta` first in the file, with a `generation` (the previous one + 1)
and a new `commit` token, so the file starts with
`{"_meta":{"1":{"schema":1,"generation":7,"commit":"9f0c..."}},...`. Before trusting its
cache — on every read, and under the lock at the start of every transaction — a Store opens
the file and compares, on that open file:
  1. the stamp (inode, mtime_ns, size): if it differs, the whole file is read and parsed;
  2. if it is the same, the generation and commit token found in the first 4 KB: the same
     as cached means the same content; anything else (different, missing, unreadable,
     `_meta` not first: a hand-edited file or a store written before generations) counts
     as changed and the whole file is read and parsed.
The stamp alone is not enough: the inode freed by one os.replace is often reused by the
next temp file, and with a coarse mtime and an equal size a different file looks the same,
so a transaction would start from stale data and lose the other commit. The token lives in
the file it describes, so it is replaced atomically with the data (a sidecar file could
disagree with the store after a crash). An unchanged store thus costs an open, an fstat and
a 4 KB read per transaction, never a parse. The generation only grows while the store lives;
the token also tells apart two files with the same generation (e.g. a restored copy, or a
store created anew with `overwrite`). A transaction's token is random (free); `create()`'s
is a digest of the tables, so the same tables give the same bytes (reproducible demos).

Permissions: `create()` makes a missing folder 0700; a folder that already exists is left as
it is (its owner chose its mode; ELP does not tighten it), but one other users can write,
sticky or not, is refused for every use. The store file itself is always 0600, whatever the
folder: every write is a new temp file (0600) renamed over it. The temp file is named
`.<store>.<pid>.<random>.elp.tmp`: a commit removes only such files of a dead writer.

Files around the store (files.py, lock.py): the lock is ours (see lock.py), and a file kept
before the store is replaced (`.before-restore-<time>`, `.before-demo-<time>`) is named and
created under the lock, exclusively, from the very bytes replaced. A store path that is a
symbolic link is resolved once, when the Store is made: the real file is locked, read and
replaced, so the link stays a link.
"""

from __future__ import annotations

import hashlib

try:
    import fcntl
except ImportError:  # not POSIX: the store's lock alone keeps writers apart
    fcntl = None  # type: ignore[assignment]
import os
import re
import secrets
import shlex
import stat
import threading
import time
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
from elp_tui.errors import PortalError
from elp_tui.i18n import _
from elp_tui.models import SCHEMA_VERSION
from elp_tui.store.files import abandoned_temps, atomic_write, keep_copy, store_temp, sync_folder
from elp_tui.store.lock import LockError, StoreLock
from elp_tui.store.journal import COMPACT_BYTES, Counters, JournalDamaged, encode_entry, encode_snapshot, journal_path_of, read_entries
from elp_tui.store.repository import Tables, Transaction, View, plain
from elp_tui.store.schema import listed, problems, read_json, written_problems

META_TABLE = "_meta"
LOCK_TIMEOUT_S = 30.0
# How much of the file's start is read first for its `_meta` (more is read if the index of a
# large store's tables and banks is longer), and the most it may take.
HEAD_BYTES = 4096
MAX_HEAD_BYTES = 8 * 1024 * 1024
READABLE_SCHEMAS = (1, SCHEMA_VERSION)
_HEAD = re.compile(rb'\A\{"_meta":\{"1":(\{[^{}]*\})\}')


class StoreError(PortalError):
    """The store file cannot be used; the message says why and what to do. `problem`, when
    set, is what is wrong with the file, worded to follow its name ("is empty ...")."""

    def __init__(self, message: str, *, problem: str | None = None):
        super().__init__(message)
        self.problem = problem


class StoreDamaged(StoreError):
    """The file is an ELP store but its documents are malformed or point to missing ones."""

    def __init__(self, message: str, problems: list[str], *, problem: str | None = None):
        super().__init__(message, problem=problem)
        self.problems = problems


class StoreExists(StoreError):
    """`create()` found a store already there and left it untouched."""


def _no_store(path: Path) -> str:
    return _("No store at {path}. Create one with 'elp init --org NAME --admin EMAIL' or 'elp demo'.").format(path=path)


def default_store_path() -> Path:
    env = os.environ.get("ELP_STORE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("elp", appauthor=False)) / "elp.json"


def _stamp(target: Path | int) -> tuple[int, int, int] | None:
    """(inode, mtime_ns, size) of a path or an open file descriptor; None if there is no file."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _commit_of(meta: Any) -> tuple[int, str] | None:
    """(generation, commit token) of a `_meta` document; None if it has none."""
    if isinstance(meta, dict) and type(meta.get("generation")) is int and isinstance(meta.get("commit"), str):
        return (meta["generation"], meta["commit"])
    return None


def _head_meta(head: bytes) -> dict[str, Any] | None:
    """The `_meta` document at the start of a store file; None if the file does not start with one."""
    match = _HEAD.match(head)
    if match is None:
        return None
    try:
        meta = orjson.loads(match.group(1))
    except orjson.JSONDecodeError:
        return None
    return meta if isinstance(meta, dict) else None


# ELP writes schema, generation and commit first: found in the first bytes, however long the rest.
_QUICK = re.compile(rb'\A\{"_meta":\{"1":\{"schema":2,"generation":([0-9]{1,18}),"commit":"([0-9a-f]{1,64})"')


def _head_commit(head: bytes) -> tuple[int, str] | None:
    """(generation, commit token) read from the start of a store file; None if not found there."""
    quick = _QUICK.match(head)
    if quick is not None:
        return (int(quick.group(1)), quick.group(2).decode())
    return _commit_of(_head_meta(head))


def _read_head(fh: Any) -> bytes:
    """The start of a store file, long enough to hold its `_meta` (which indexes its tables)."""
    head = fh.read(HEAD_BYTES)
    size = HEAD_BYTES
    while _HEAD.match(head) is None and len(head) == size and size < MAX_HEAD_BYTES and head.startswith(b'{"_meta":{"1":{'):
        more = fh.read(size)
        head += more
        size *= 2
        if not more:
            break
    return head


class Store:
    def __init__(self, path: str | os.PathLike[str], rules: Callable[[dict[str, Any]], list[str]] | None = None):
        # The real file, resolved once: a store reached through a symbolic link is read, locked
        # and replaced where it lives, so the link stays a link and both names see one store.
        self.path = Path(os.path.realpath(Path(path).expanduser()))
        # The portal's rules over the well-formed documents (sums, seats, members, the log), checked
        # with the structure on every whole read; the portal sets them (a bare Store checks structure).
        self.rules = rules
        self._snap: _Snapshot | None = None  # the snapshot read, lazily
        self._ops: list[tuple[int, str, str, Any]] = []  # the journal since it: (generation, table, key, doc)
        self._generation = 0  # of the committed state known here
        self._journal_end = 0  # how much of the journal was read (whole lines)
        self._tables: Tables | None = None  # the committed state, with its indexes
        self._holds_asked = 0  # questions answered from a table's bytes (see _Loader.holds)
        self._lock = StoreLock(self.path.with_name(self.path.name + ".lock"), self.path, LOCK_TIMEOUT_S)
        self._folder_checked = False
        # The cached copy and its stamp and commit change together: the UI's worker threads and
        # the live poll read through one Store while a commit replaces them.
        self._cache_lock = threading.RLock()

    # -- files -----------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def _parse(self, raw: bytes) -> dict[str, dict[str, Any]]:
        """The tables of a store file, refused (StoreError naming the file and the problem,
        the file untouched) unless it is a sound ELP store: JSON with no key twice, our schema
        version, and none of the problems `elp check` lists."""
        data, twice = self._read(raw)
        found, _clean = self.problems(data, twice)
        if found:
            raise self._unusable(
                _("is damaged: {problems}").format(problems=listed(found)),
                _("run 'elp check' to list every problem, then {restore} or mend the file").format(
                    restore=_("restore a backup with 'elp restore BACKUP'")),
                found,
            )
        return data

    def problems(self, data: dict[str, Any], twice: list[str] | None = None) -> tuple[list[str], dict[str, Any]]:
        """Every problem of a parsed store file (keys it holds `twice`, its structure, the rules)
        and its well-formed documents. Opening, `elp check` and a restore judge a file by this."""
        found, clean = problems(data, self.rules)
        return list(twice or []) + found, clean

    def _read(self, raw: bytes) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """The tables of a file that is JSON and of our schema version, and the keys it holds
        twice; anything else is refused (StoreError)."""
        restore = _("restore a backup with 'elp restore BACKUP'")
        if not raw.strip():
            raise self._unusable(
                _("is empty: it was cut short, by a full disk or a copy"), restore)
        try:
            data, twice = read_json(raw)
        except ValueError as exc:  # orjson.JSONDecodeError
            raise self._unusable(
                _("is not valid JSON ({reason}): it is truncated or was overwritten").format(reason=exc),
                _("{restore}, or point --store at another file").format(restore=restore),
            ) from None
        if not isinstance(data, dict):
            raise self._unusable(_("is not an ELP store (no tables)"), restore)
        meta = data.get(META_TABLE, {}).get("1") if isinstance(data.get(META_TABLE), dict) else None
        version = meta.get("schema") if isinstance(meta, dict) else None
        if version is None:
            raise self._unusable(
                _("has no schema version: it is not an ELP store"), _("point --store at an ELP store or run 'elp init'"))
        # Schema 1 (one file, no index, no journal) is read and becomes schema 2 at its first commit.
        if type(version) is not int or version not in READABLE_SCHEMAS:  # true == 1 and 1.0 == 1 in Python, not here
            if type(version) is int and version > SCHEMA_VERSION:
                advice = _("it was written by a newer ELP: use that release, or restore a backup made by this one")
            else:
                advice = _("no ELP release writes that schema: {restore}").format(restore=restore)
            raise self._unusable(
                _("has schema version {found!r}; this ELP reads version {ours}").format(found=version, ours=SCHEMA_VERSION),
                advice,
            )
        return data, twice

    def _unusable(self, problem: str, advice: str, problems: list[str] | None = None) -> StoreError:
        message = _("The store {path} {problem}. It was left untouched: {advice}.").format(
            path=self.path, problem=problem, advice=advice)
        if problems is not None:
            return StoreDamaged(message, problems, problem=problem)
        return StoreError(message, problem=problem)

    def inspect(self) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """For `elp check`: every structural problem of the file (not raised), and its
        tables minus the malformed documents, so the invariants can still be checked.
        A file that is not an ELP store at all (not JSON, no or another schema) raises."""
        self._private(self.path)
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise StoreError(_no_store(self.path)) from None
        data, twice = self._read(raw)
        found = self._snapshot_problems(raw, data)
        data = self._with_journal(data)
        more, clean = self.problems(data, twice)
        return found + more, clean

    def _snapshot_problems(self, raw: bytes, data: dict[str, Any]) -> list[str]:
        """What a snapshot's index says of its tables and does not hold: each table's CRC, and the
        kept counters (next keys, last numbers, each bank's used credits) against the documents."""
        meta = data.get(META_TABLE, {}).get("1") if isinstance(data.get(META_TABLE), dict) else None
        if not isinstance(meta, dict) or meta.get("schema") != SCHEMA_VERSION or "tables" not in meta:
            return []
        # A file edited by hand no longer matches its index: it is read whole and judged in full,
        # and its kept counters are not used. Only an index that matches is trusted, so only then
        # must its counters be right.
        if not _indexed(meta, len(raw)):
            return []
        head = len(b'{"_meta":{"1":') + len(orjson.dumps(meta)) + 1
        found: list[str] = []
        if zlib.crc32(raw[head:]) != meta["crc"]:
            return []
        for _name, start, end, crc, _next, _last in meta["tables"]:
            if zlib.crc32(raw[head + start: head + end]) != crc:
                return []
        tables = {name: docs for name, docs in data.items() if name != META_TABLE and isinstance(docs, dict)}
        try:
            counted = Counters.of(tables)
        except (KeyError, TypeError, ValueError, AttributeError):
            return found  # malformed documents: their own problems say so
        kept = {bank: n for bank, n in meta.get("used") or []}
        if {b: n for b, n in counted.used.items() if n} != {b: n for b, n in kept.items() if n}:
            found.append(_("the used credits kept per bank do not add up to the ledger"))
        for name, _start, _end, _crc, next_key, last in meta["tables"]:
            if next_key != counted.next_key.get(name, 1) or last != counted.last_seq.get(name, 0):
                found.append(_("the counters kept for table {table} do not match its documents").format(table=name))
        return found

    def _with_journal(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data` (a snapshot read whole) with the journal's lines of that snapshot applied."""
        meta = data.get(META_TABLE, {}).get("1") or {}
        journal = journal_path_of(self.path)
        try:
            raw = journal.read_bytes()
        except FileNotFoundError:
            return data
        try:
            entries, _end = read_entries(raw)
        except JournalDamaged as exc:
            raise self._unusable(
                _("has a damaged journal ({journal}: {reason})").format(journal=journal.name, reason=exc),
                _("restore a backup with 'elp restore BACKUP'"), [str(exc)]) from None
        data = dict(data)
        generation = meta.get("generation") if type(meta.get("generation")) is int else 0
        for entry in entries:
            if entry.base != meta.get("commit"):
                continue
            if entry.generation != generation + 1:
                raise self._unusable(
                    _("has a journal line out of order (generation {found} after {last})").format(
                        found=entry.generation, last=generation),
                    _("restore a backup with 'elp restore BACKUP'"), [f"journal generation {entry.generation}"])
            generation = entry.generation
            for table, key, doc in entry.ops:
                docs = data[table] = dict(data.get(table) or {})
                if doc is None:
                    docs.pop(key, None)
                else:
                    docs[key] = doc
        return data

    def _private(self, path: Path, st: os.stat_result | None = None) -> None:
        """Refuse a store that other users can read or change; say the chmod that fixes it."""
        if os.name != "posix":
            return
        try:
            st = st or os.stat(path)
        except FileNotFoundError:
            return
        if st.st_mode & 0o077:
            problem = _("can be read by other users (mode {mode:o}), and it holds every license and email").format(
                mode=stat.S_IMODE(st.st_mode))
            raise StoreError(
                _("The store {path} {problem}. It was not opened. Fix it with: chmod 600 {quoted}").format(
                    path=path, problem=problem, quoted=shlex.quote(str(path))),
                problem=problem + _(" (fix it with: chmod 600 {quoted})").format(quoted=shlex.quote(str(path))),
            )
        self._private_folder(path.parent)

    @staticmethod
    def _private_folder(folder: Path) -> None:
        """Refuse a folder other users can write, sticky or not: they could replace the store, or
        plant files beside it (a kept copy's name, a lock file) that no commit could then remove."""
        fst = _writable_by_others(folder)
        if fst is not None:
            quoted = shlex.quote(str(folder))
            raise StoreError(
                _("The folder {folder} of the store can be written by other users (mode {mode:o}): they could replace "
                  "the store. It was not opened. Fix it with: chmod 700 {quoted}").format(
                    folder=folder, mode=stat.S_IMODE(fst.st_mode), quoted=quoted),
                problem=_("is in a folder other users can write (mode {mode:o}), where they could replace it "
                          "(fix it with: chmod 700 {quoted})").format(mode=stat.S_IMODE(fst.st_mode), quoted=quoted),
            )

    # -- reading: the snapshot, then the journal ---------------------------------------------
    def _current(self) -> dict[str, dict[str, Any]]:
        """Every committed table (snapshot and journal), loading those not read yet."""
        with self._cache_lock:
            data = plain(self._refresh().everything())
            meta = dict((data.get(META_TABLE) or {}).get("1") or {})
            meta["generation"] = self._generation  # the snapshot's, plus the journal's commits
            data[META_TABLE] = {"1": meta}
            return data

    def _refresh(self) -> Tables:
        """The committed state, caught up: the same snapshot and only the journal lines not read
        yet, or (another snapshot: a compaction, a restore) everything anew."""
        with self._cache_lock:
            try:
                fh = open(self.path, "rb")
            except FileNotFoundError:
                raise StoreError(_no_store(self.path)) from None
            except PermissionError:
                raise StoreError(_("Cannot read the store {path}: permission denied.").format(path=self.path)) from None
            st = os.fstat(fh.fileno())
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            head = _read_head(fh)
            snap = self._snap
            if snap is None or snap.stamp != stamp or _head_commit(head) != (snap.generation, snap.commit):
                self._private(self.path, st)
                snap = self._open_snapshot(fh, stamp, head)
                self._snap = snap
                self._ops = []
                self._generation = snap.generation
                self._journal_end = 0
                self._tables = Tables(
                    snap.full if snap.full is not None else {}, counters=snap.counters.copy(), lock=self._cache_lock,
                    loader=None if snap.full is not None else _Loader(self, snap, self._ops, snap.generation),
                )
                if snap.full is not None:  # every table in memory: the journal applies to them directly
                    self._tables = Tables(
                        {name: dict(docs) for name, docs in snap.full.items()}, counters=snap.counters.copy(),
                        lock=self._cache_lock)
            else:
                fh.close()
            self._catch_up()
            assert self._tables is not None
            return self._tables

    def _open_snapshot(self, fh: Any, stamp: tuple[int, int, int], head: bytes) -> "_Snapshot":
        """The snapshot in `fh`: read lazily when its head indexes its tables and the file has the
        size the index says; else (a store of schema 1, a hand-edited file) read whole and judged
        in full, as `elp check` would."""
        meta = _head_meta(head)
        if _indexed(meta, stamp[2]):
            assert meta is not None
            head_len = len(_HEAD.match(head).group(0))  # type: ignore[union-attr]
            fh.seek(head_len)
            crc = 0
            while chunk := fh.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
            if crc == meta["crc"]:  # the bytes ELP validated and wrote: tables are read when needed
                return _Snapshot(self, fh, stamp, meta, head_len)
        fh.seek(0)
        raw = fh.read()
        fh.close()
        data = self._parse(raw)
        meta = data[META_TABLE]["1"]
        full = {name: docs for name, docs in data.items()}
        return _Snapshot(self, None, stamp, meta, 0, full=full)

    def _catch_up(self) -> None:
        """Apply the journal lines written since the last look (by anyone) to the committed state."""
        snap = self._snap
        assert snap is not None and self._tables is not None
        journal = journal_path_of(self.path)
        try:
            with open(journal, "rb") as jh:
                size = os.fstat(jh.fileno()).st_size
                if size <= self._journal_end:
                    return
                jh.seek(self._journal_end)
                raw = jh.read(size - self._journal_end)
        except FileNotFoundError:
            return
        try:
            entries, good_end = read_entries(raw, self._journal_end)
        except JournalDamaged as exc:
            raise self._unusable(
                _("has a damaged journal ({journal}: {reason})").format(journal=journal.name, reason=exc),
                _("restore a backup with 'elp restore BACKUP'"), [str(exc)]) from None
        changes: dict[str, dict[str, Any]] = {}
        for entry in entries:
            if entry.base != snap.commit:
                continue  # a line of an older snapshot, left by a compaction cut short
            if entry.generation != self._generation + 1:
                raise self._unusable(
                    _("has a journal line out of order (generation {found} after {last})").format(
                        found=entry.generation, last=self._generation),
                    _("restore a backup with 'elp restore BACKUP'"), [f"journal generation {entry.generation}"])
            for table, key, doc in entry.ops:
                self._ops.append((entry.generation, table, key, doc))
                changes.setdefault(table, {})[key] = doc
            self._generation = entry.generation
        self._journal_end = good_end
        if changes:
            self._tables = self._tables.applied(changes, loader=self._loader())

    def _loader(self) -> "_Loader | None":
        snap = self._snap
        assert snap is not None
        return None if snap.full is not None else _Loader(self, snap, self._ops, self._generation)

    def _load_table(self, snap: "_Snapshot", ops: list[tuple[int, str, str, Any]], table: str, upto: int) -> dict[str, Any]:
        """One table as of generation `upto`: its bytes in the snapshot (their CRC checked: a
        table edited by hand makes the whole file judged in full first), then the journal."""
        docs = snap.table(table)
        for generation, name, key, doc in ops:
            if generation > upto:
                break
            if name == table:
                if doc is None:
                    docs.pop(key, None)
                else:
                    docs[key] = doc
        return docs

    # -- writing ---------------------------------------------------------------------------
    def _write(
        self, data: dict[str, dict[str, Any]], *, base: Any, token_from_content: bool = False,
        generation: int | None = None, journal_end: int | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Write a new snapshot of `data` (every table) with the next generation and a new commit
        token, `_meta` first, and empty the journal; returns what was written. The token is
        random, or with `token_from_content` a digest of the tables (`create()`: the same tables
        give the same bytes). `base` is the `marker()` of the store the commit started from
        (None: there was none): the file is replaced only if it is still that one and this
        process still holds the lock."""
        data = plain(data)
        meta = {key: value for key, value in (data.get(META_TABLE, {}).get("1") or {}).items()
                if key not in ("schema", "generation", "commit", "tables", "used", "crc")}
        previous = data.get(META_TABLE, {}).get("1") or {}
        number = generation if generation is not None else (
            previous["generation"] if type(previous.get("generation")) is int else 0) + 1
        tables = {name: docs for name, docs in data.items() if name != META_TABLE}
        token = hashlib.sha256(orjson.dumps(tables)).hexdigest()[:16] if token_from_content else secrets.token_hex(8)
        head_meta = {"schema": SCHEMA_VERSION, "generation": number, "commit": token, **meta}
        payload = encode_snapshot(tables, head_meta)
        self._remove_abandoned_temps()
        with self._journal_held(create=False) as fd:
            if fd is not None and journal_end is not None and os.fstat(fd).st_size > journal_end:
                # A line this snapshot does not hold (another writer got in): nothing is written.
                tail = os.pread(fd, os.fstat(fd).st_size - journal_end, journal_end)
                try:
                    whole, _end = read_entries(tail, journal_end)
                except JournalDamaged:
                    whole = [None]  # type: ignore[list-item]
                if whole:
                    raise self._changed_meanwhile()
            atomic_write(self.path, payload, temp=store_temp(self.path), before_replace=lambda: self._still_base(base))
            # The new snapshot holds every journal line: empty the journal (its lines name the old
            # snapshot, so a crash before this only leaves lines that are skipped).
            if fd is not None:
                os.ftruncate(fd, 0)
                os.fsync(fd)
        full_meta = self.head_meta_of(payload) or head_meta
        written = {META_TABLE: {"1": full_meta}, **tables}
        st = os.stat(self.path)
        self._snap = _Snapshot(self, None, (st.st_ino, st.st_mtime_ns, st.st_size), full_meta, 0, full=written,
                               counters=Counters.of(tables))
        self._ops = []
        self._generation = number
        self._journal_end = 0
        self._tables = Tables({name: dict(docs) for name, docs in written.items()}, counters=self._snap.counters.copy(),
                              lock=self._cache_lock)
        return written

    @contextmanager
    def _journal_held(self, *, create: bool = True) -> Iterator[int | None]:
        """The journal, open for writing and locked (flock) while a line is checked and written
        or the snapshot replaced and the journal emptied. The store's lock already keeps writers
        apart; this second lock, on the journal itself, keeps them apart even when someone
        removes the lock file while they run (each then holds a lock on a different file)."""
        try:
            fd = os.open(journal_path_of(self.path),
                         os.O_RDWR | (os.O_CREAT if create else 0) | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:  # no journal (a new store): nothing to hold or to empty
            yield None
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the flock

    def _remove_abandoned_temps(self) -> None:
        """Called only under the lock: a temp file of this store whose writer is dead was left by
        a writer killed mid-write; remove it, or every crash would leave a full copy behind.
        Nothing else is ever removed, whatever its name (see files.abandoned_temps)."""
        for stale in abandoned_temps(self.path):
            try:
                stale.unlink()
            except FileNotFoundError:
                pass

    def _append(self, changes: dict[str, dict[str, Any]], base: Any) -> int:
        """Append one commit's changes to the journal, durably; its generation."""
        snap = self._snap
        assert snap is not None
        generation = self._generation + 1
        ops = [[table, key, doc] for table, docs in changes.items() for key, doc in docs.items()]
        line = encode_entry(generation, snap.commit, ops)
        self._remove_abandoned_temps()
        with self._journal_held() as held:
            fd = held
            assert fd is not None
            # Checked while holding the journal itself: another writer got in only if someone
            # removed the lock file under us.
            size = os.fstat(fd).st_size
            if size > self._journal_end:
                # Bytes past the last line read: a line a crash cut short (cut it off), or a whole
                # line another writer added meanwhile (then this commit is refused: try again).
                tail = os.pread(fd, size - self._journal_end, self._journal_end)
                try:
                    entries, _end = read_entries(tail, self._journal_end)
                except JournalDamaged:
                    entries = [None]  # type: ignore[list-item]
                if entries:
                    raise self._changed_meanwhile()
                os.ftruncate(fd, self._journal_end)
            elif size < self._journal_end:
                raise self._changed_meanwhile()
            self._still_base(base)  # the lock still ours, the snapshot still the one this commit read
            try:
                view = memoryview(line)
                position = self._journal_end
                while view:
                    written = os.pwrite(fd, view, position)
                    view, position = view[written:], position + written
                os.fsync(fd)
            except BaseException:
                os.ftruncate(fd, self._journal_end)  # a full disk: no half line stays behind
                raise
        if self._journal_end == 0 and size == 0:
            sync_folder(self.path.parent)  # a new journal file: its name must survive a crash too
        for table, key, doc in ops:
            self._ops.append((generation, table, key, doc))
        self._generation = generation
        self._journal_end += len(line)
        return generation

    def _still_base(self, base: Any) -> None:
        """Just before a commit writes: refuse unless this process still holds the lock and the
        store is still the one the commit started from. Both hold unless someone removed or
        replaced the lock file meanwhile, letting another writer in: then nothing is written."""
        if self._lock.still_held():
            now = self.marker()
            if now is None and base is None:
                return
            # The snapshot: the same file and head. (The journal is checked under its own lock,
            # where a line is written: see _append and _write.)
            if now is not None and base is not None and now[:2] == base[:2]:
                return
        raise self._changed_meanwhile()

    def _changed_meanwhile(self) -> StoreError:
        return StoreError(
            _("The store {path} was changed by another process while this change was being saved, although this one "
              "held its lock (its lock file {lock} was removed or replaced). Nothing was saved: try again.").format(
                path=self.path, lock=self._lock.path)
        )

    def _read_file(self, size: int = -1) -> tuple[bytes | None, Any]:
        """The snapshot file's bytes (the first `size`, or all) and the store's `marker()`;
        (None, None) if there is no file."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return None, None
        with fh:
            raw = fh.read(size)
        return raw, self.marker()

    def head_meta(self) -> dict[str, Any] | None:
        """The `_meta` document at the start of the file, without parsing the rest; None if the
        file is missing or does not start with one."""
        try:
            with open(self.path, "rb") as fh:
                return _head_meta(_read_head(fh))
        except FileNotFoundError:
            return None

    @staticmethod
    def head_meta_of(raw: bytes) -> dict[str, Any] | None:
        """The `_meta` document at the start of a store file's bytes; None if it does not start with one."""
        return _head_meta(raw[:MAX_HEAD_BYTES])

    def create(
        self,
        tables: dict[str, dict[str, Any]] | None = None,
        *,
        overwrite: bool = False,
        meta: dict[str, Any] | None = None,
        keep_previous: str | None = None,
        keep_if: Callable[[bytes], bool] | None = None,
    ) -> Path | None:
        """Write a new store (0600 in a 0700 folder). Refuses to replace an existing file unless
        `overwrite`; then, with `keep_previous` (e.g. `before-demo-<time>`), the replaced file is
        first kept as `<store>.<keep_previous>` (a new file, never an existing one replaced),
        if `keep_if(its bytes)` says so. Returns the kept file's path, or None. The choice and
        the copy happen under the lock, on the file about to be replaced. `meta` adds fields
        to `_meta` (the demo marks its stores)."""
        folder = self.path.parent
        try:
            if not folder.exists():
                os.makedirs(folder, mode=0o700, exist_ok=True)
                os.chmod(folder, 0o700)
            self._private_folder(folder)
            with self._locked():
                raw, base = self._read_file()
                if raw is not None and not overwrite:
                    raise StoreExists(f"A store already exists at {self.path}; it was left untouched.")
                kept = None
                if keep_previous is not None and raw is not None and (keep_if is None or keep_if(raw)):
                    kept = self._keep(keep_previous, raw)
                    base = self.marker()  # keeping it may have folded its journal in
                data: dict[str, dict[str, Any]] = dict(tables or {})
                data[META_TABLE] = {"1": {**(meta or {}), "schema": SCHEMA_VERSION}}
                with self._cache_lock:
                    self._write(data, base=base, token_from_content=True, generation=1)
                return kept
        except OSError as exc:
            raise StoreError(
                _("Cannot create the store {path}: {reason}. Choose another place with --store or ELP_STORE.").format(
                    path=self.path, reason=exc.strerror or exc
                )
            ) from None

    def backup(self, target: Path, *, overwrite: bool = False) -> dict[str, dict[str, Any]]:
        """Copy the committed store to `target` (0600, written atomically); returns its tables.
        Only a sound store is copied: a backup that cannot be restored is no backup."""
        target = Path(target).expanduser()
        if target.resolve() == self.path.resolve():
            raise StoreError(_("The backup cannot be the store itself ({path}): choose another file.").format(path=target))
        if target.exists() and not overwrite:
            raise StoreExists(
                _("{path} already exists; it was left untouched. Choose another file, or add --force to replace it.").format(path=target)
            )
        self._private_backup_folder(target.parent)
        with self._locked(), self._cache_lock:  # no commit lands half-way through the copy
            state = self._refresh()  # a damaged store is refused, not copied
            if self._journal_end:  # the copy is one file: fold the journal into the snapshot first
                self._compact(state, self.marker(), migrate=False)
            snap = self._snap
            raw = self.path.read_bytes()
        if snap is None or snap.full is None:
            tables = self._parse(raw)
        else:
            tables = snap.full
        try:
            if not target.parent.exists():
                os.makedirs(target.parent, mode=0o700, exist_ok=True)
            atomic_write(target, raw)
        except OSError as exc:
            raise StoreError(
                _("Cannot write the backup {path}: {reason}.").format(path=target, reason=exc.strerror or exc)
            ) from None
        return tables

    @staticmethod
    def _private_backup_folder(folder: Path) -> None:
        """Refuse to write a backup (a whole store) where other users could replace it."""
        fst = _writable_by_others(folder)
        if fst is not None:
            raise StoreError(
                _("The folder {folder} can be written by other users (mode {mode:o}): they could replace the backup "
                  "with their own before it is restored. Nothing was written. Fix it with: chmod 700 {quoted}, or "
                  "choose another folder.").format(
                    folder=folder, mode=stat.S_IMODE(fst.st_mode), quoted=shlex.quote(str(folder)))
            )

    def replace_with(
        self, tables_for: Callable[[Path | None], dict[str, dict[str, Any]]], keep_previous: str | None,
    ) -> tuple[dict[str, dict[str, Any]], Path | None]:
        """Make this store hold `tables_for(kept)` (the tables of a sound backup), in one commit;
        the file it replaces, sound or damaged, is first kept as `<store>.<keep_previous>` (a
        new file, never an existing one replaced; `kept` is its path, None if there was no
        file). The name is chosen and the copy made under the lock, from the very file that is
        replaced. The generation keeps growing, so every open session notices the change.
        Returns what was written and the kept file."""
        folder = self.path.parent
        if not folder.exists():
            os.makedirs(folder, mode=0o700, exist_ok=True)
        with self._locked():
            raw, base = self._read_file()
            try:
                with self._cache_lock:
                    self._refresh()
                    current_generation = self._generation
            except StoreError:  # a damaged store is replaced too: its head says how far it went
                current_generation = base[1][0] if base is not None and base[1] else 0
            kept = None
            if raw is not None and keep_previous is not None:
                try:
                    kept = self._keep(keep_previous, raw)
                    base = self.marker()  # keeping it may have folded its journal in
                except OSError as exc:
                    raise StoreError(
                        _("Cannot keep a copy of the store {path} beside it: {reason}. Nothing was replaced.").format(
                            path=self.path, reason=exc.strerror or exc)
                    ) from None
            data = dict(tables_for(kept))
            meta = dict(data[META_TABLE]["1"])
            meta["generation"] = max(current_generation, meta.get("generation") or 0)
            data[META_TABLE] = {"1": meta}
            with self._cache_lock:
                written = self._write(data, base=base)
                return written, kept

    def _keep(self, name: str, raw: bytes) -> Path:
        """Keep the store about to be replaced as `<store>.<name>` (under the lock): one file,
        its journal folded into its snapshot first. A store too damaged to read is kept as its
        files are: the snapshot's bytes, and its journal beside it (`<kept>.journal`)."""
        try:
            journal = journal_path_of(self.path).read_bytes()
        except FileNotFoundError:
            journal = b""
        if journal.strip():
            try:
                with self._cache_lock:
                    self._compact(self._refresh(), self.marker(), migrate=False)
                raw, journal = self.path.read_bytes(), b""
            except StoreError:
                pass
        kept = keep_copy(self.path, name, raw)
        if journal.strip():
            keep_copy(kept, "journal", journal)
        return kept

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if not self._folder_checked:  # once per Store: the lock file is made in that folder
            folder = self.path.parent
            self._private_folder(folder)
            try:
                self._lock.owners.add(os.stat(folder).st_uid)  # the store's owner may own the lock file too
                self._folder_checked = True
            except FileNotFoundError:
                pass
        try:
            self._lock.acquire()
        except LockError as exc:
            raise StoreError(str(exc)) from None
        except FileNotFoundError:
            raise StoreError(_no_store(self.path)) from None
        except PermissionError:
            raise StoreError(_("Cannot lock the store {path}: permission denied.").format(path=self.path)) from None
        try:
            yield
        finally:
            self._lock.release()

    def marker(self) -> tuple[Any, ...] | None:
        """What a session compares to notice another session's commit: the snapshot's stamp and
        the (generation, commit) at its start, from one open file, and the journal's size. The
        stamp alone can miss a new snapshot (inode reused, same mtime and size); the token cannot;
        a commit grows the journal. Two stats and a 4 KB read, never a parse; None while there is
        no store."""
        try:
            with open(self.path, "rb") as fh:
                snapshot = (_stamp(fh.fileno()), _head_commit(fh.read(HEAD_BYTES)))
        except FileNotFoundError:
            return None
        try:
            journal = os.stat(journal_path_of(self.path)).st_size
        except FileNotFoundError:
            journal = 0
        return (*snapshot, journal)

    def wait_for_change(self, marker: Any, timeout: float) -> Any:
        """The current `marker()` as soon as it differs from `marker` (a commit by anyone), or
        after `timeout` seconds: the file is looked at every 50 ms (two stats and a 4 KB read)."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.marker()
            if now != marker or time.monotonic() >= deadline:
                return now
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        """Nothing to let go: every read and commit opens and closes its files (the seam's PgStore has a pool)."""

    # -- access ----------------------------------------------------------------
    @staticmethod
    def view(tables: dict[str, dict[str, Any]]) -> View:
        """A read-only view over tables already in memory (e.g. those `inspect()` returns)."""
        return View(Tables(tables))

    def read(self) -> View:
        """A view of the latest committed state (no lock: a snapshot is replaced whole and the
        journal only grows by whole lines)."""
        return View(self._refresh())

    def tables(self) -> dict[str, dict[str, Any]]:
        """Every table of the latest committed state, for whole-table work (a backup, a check)."""
        return self._current()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Lock, catch up, yield a Transaction to check and change, and commit its changes once:
        one journal line, fsynced (or, past `COMPACT_BYTES` of journal or on a store of an older
        schema, a new snapshot).

        The body's changes are an overlay on the committed tables, so a view handed out by
        `read()` — e.g. to a UI worker thread — never sees a half-applied change, and a body
        that raises leaves the committed state exactly as it was.
        """
        with self._locked():
            committed = self._refresh()
            base = self.marker()
            tx = Transaction(committed)
            yield tx
            if not tx.dirty:
                return
            changes = changes_to_write(tx, self.path)
            with self._cache_lock:
                try:
                    snap = self._snap
                    assert snap is not None
                    if snap.schema != SCHEMA_VERSION or self._journal_end + _size(changes) > COMPACT_BYTES:
                        # Every table read first: a table not read yet would otherwise be read
                        # without these changes (they are in no journal line).
                        committed.everything()
                        self._compact(committed.applied(changes), base, migrate=snap.schema != SCHEMA_VERSION)
                        return
                    self._append(changes, base)
                    self._tables = committed.applied(changes, loader=self._loader())
                except BaseException:
                    self._forget()
                    raise

    def compact(self) -> None:
        """Fold the journal into a new snapshot now (under the lock): the store is then one file.
        Commits do this by themselves when the journal grows past `COMPACT_BYTES`."""
        with self._locked(), self._cache_lock:
            state = self._refresh()
            snap = self._snap
            assert snap is not None
            self._compact(state, self.marker(), migrate=snap.schema != SCHEMA_VERSION)

    def _compact(self, state: Tables, base: Any, *, migrate: bool) -> None:
        """Fold the journal into a new snapshot of `state` (under the lock). A store of an older
        schema is first kept as it was (`<store>.before-schema-<n>-<time>`)."""
        data = plain(state.everything())
        if migrate:
            raw = self.path.read_bytes()
            keep_copy(self.path, f"before-schema-{SCHEMA_VERSION}-{time.strftime('%Y%m%dT%H%M%S')}", raw)
        previous = dict((data.get(META_TABLE) or {}).get("1") or {})
        previous["generation"] = self._generation
        self._write({**data, META_TABLE: {"1": previous}}, base=base, journal_end=self._journal_end)

    def _forget(self) -> None:
        """After a write that failed half-way: read everything afresh next time."""
        self._snap = None
        self._tables = None
        self._ops = []
        self._journal_end = 0


def changes_to_write(tx: Transaction, where: object) -> dict[str, dict[str, Any]]:
    """A transaction's changes, table by table, as a store writes them; refused (StoreError, nothing
    written) if a document is not one the schema allows. Every backend commits through this."""
    changes = {table: docs for table, docs in tx.changes.items() if docs}
    refused = written_problems(changes)
    if refused:
        raise StoreError(
            _("A change was refused before it reached the store {path}: {problems}. Nothing was written.").format(
                path=where, problems=listed(refused)))
    return changes


def _writable_by_others(folder: Path) -> os.stat_result | None:
    """The folder's stat if users other than its owner can write to it (sticky or not); None if
    not, if it does not exist yet, or off POSIX."""
    if os.name != "posix":
        return None
    try:
        fst = os.stat(folder)
    except FileNotFoundError:
        return None
    return fst if fst.st_mode & 0o022 else None


def _size(changes: dict[str, dict[str, Any]]) -> int:
    return sum(len(orjson.dumps(docs)) for docs in changes.values())


def _indexed(meta: dict[str, Any] | None, size: int) -> bool:
    """A snapshot ELP wrote with an index of its tables, whose size is the one the index says."""
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA_VERSION or type(meta.get("schema")) is not int:
        return False
    if type(meta.get("generation")) is not int or not isinstance(meta.get("commit"), str):
        return False
    index = meta.get("tables")
    if not isinstance(index, list) or not isinstance(meta.get("used"), list) or not 0 <= meta["generation"] < 2**63:
        return False
    if type(meta.get("crc")) is not int:
        return False
    for entry in index:
        if not (isinstance(entry, list) and len(entry) == 6 and isinstance(entry[0], str)
                and all(type(n) is int and n >= 0 for n in entry[1:])):
            return False
    try:
        head = len(b'{"_meta":{"1":') + len(orjson.dumps(meta)) + 1
    except TypeError:  # a number orjson cannot write: not a file ELP wrote
        return False
    return size == head + (index[-1][2] if index else 0) + 1


class _Snapshot:
    """One snapshot file as a session reads it: its head, and its tables one at a time (their
    bytes read from the open file, which stays the same file whatever replaces it), or every
    table already in memory (`full`: a store read whole)."""

    def __init__(self, store: "Store", fh: Any, stamp: tuple[int, int, int], meta: dict[str, Any], head_len: int,
                 *, full: dict[str, dict[str, Any]] | None = None, counters: Counters | None = None):
        self.store = store
        self.fh = fh
        self.stamp = stamp
        self.meta = meta
        self.head_len = head_len
        self.full = full
        self.schema = meta.get("schema")
        self.generation = meta.get("generation") if type(meta.get("generation")) is int else 0
        self.commit = meta.get("commit") if isinstance(meta.get("commit"), str) else ""
        self.index = {entry[0]: entry for entry in meta.get("tables") or []} if full is None else {}
        if counters is not None:
            self.counters = counters
        elif full is not None:
            self.counters = Counters.of(full)
        else:
            self.counters = Counters(
                next_key={name: entry[4] for name, entry in self.index.items()},
                last_seq={name: entry[5] for name, entry in self.index.items() if entry[5]},
                used={bank: n for bank, n in meta.get("used") or []},
            )

    def names(self) -> list[str]:
        return list(self.full) if self.full is not None else [META_TABLE, *self.index]

    def holds(self, name: str, needle: bytes) -> bool | None:
        """Whether the bytes of table `name` hold `needle` (None: this snapshot is in memory)."""
        if self.full is not None:
            return None
        entry = self.index.get(name)
        if entry is None:
            return False
        _name, start, end = entry[:3]
        return needle in os.pread(self.fh.fileno(), end - start, self.head_len + start)

    def table(self, name: str) -> dict[str, Any]:
        if self.full is not None:
            return dict(self.full.get(name, {}))
        if name == META_TABLE:
            return {"1": dict(self.meta)}
        entry = self.index.get(name)
        if entry is None:
            return {}
        _name, start, end = entry[:3]
        # The whole file's CRC was checked when it was opened, and this open file stays that file.
        return orjson.loads(os.pread(self.fh.fileno(), end - start, self.head_len + start))


class _Loader:
    """Reads a table of a lazily read snapshot as of one generation (snapshot, then journal)."""

    def __init__(self, store: "Store", snap: _Snapshot, ops: list[tuple[int, str, str, Any]], generation: int):
        self.store, self.snap, self.ops, self.generation = store, snap, ops, generation

    def __call__(self, table: str) -> dict[str, Any]:
        return self.store._load_table(self.snap, self.ops, table, self.generation)

    def names(self) -> list[str]:
        return self.snap.names() + sorted({op[1] for op in self.ops if op[0] <= self.generation} - set(self.snap.names()))

    def holds(self, table: str, field: str, value: str) -> bool | None:
        """Whether the table as of this generation has a document whose `field` is `value`,
        without parsing it: its JSON in the snapshot holds `"field":"value"` exactly as orjson
        writes it (a value that appears only elsewhere in a document of that table would be a
        false yes: harmless for choosing a new ID), or a journal line put or removed one.
        A session that asks again and again (the app, a script's loop) is better served by
        reading the table once and looking its index up: from the third question on, None."""
        self.store._holds_asked += 1
        if self.store._holds_asked > 2:
            return None
        latest: dict[str, Any] = {}  # each document's last journal line: an earlier one no longer counts
        for generation, name, key, doc in reversed(self.ops):
            if generation > self.generation or name != table or key in latest:
                continue
            latest[key] = doc
            if doc is not None and doc.get(field) == value:
                return True
        if any(doc is None for doc in latest.values()):
            return None  # a removal: only the table itself can tell
        found = self.snap.holds(table, orjson.dumps({field: value})[1:-1])
        if found and latest:
            return None  # the snapshot's document holding it may have changed since: the table tells
        return found
