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
import os
import re
import secrets
import shlex
import stat
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
from elp_tui.i18n import _
from elp_tui.models import SCHEMA_VERSION
from elp_tui.store.files import abandoned_temps, atomic_write, keep_copy, store_temp
from elp_tui.store.lock import LockError, StoreLock
from elp_tui.store.repository import Tables, Transaction, View
from elp_tui.store.schema import listed, problems, read_json

META_TABLE = "_meta"
LOCK_TIMEOUT_S = 30.0
# How much of the file's start holds the `_meta` document (it is ~80 bytes).
HEAD_BYTES = 4096
_HEAD = re.compile(rb'\A\{"_meta":\{"1":(\{[^{}]*\})\}')


class StoreError(Exception):
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


def _head_commit(head: bytes) -> tuple[int, str] | None:
    """(generation, commit token) read from the start of a store file; None if not found there."""
    return _commit_of(_head_meta(head))


class Store:
    def __init__(self, path: str | os.PathLike[str], rules: Callable[[dict[str, Any]], list[str]] | None = None):
        # The real file, resolved once: a store reached through a symbolic link is read, locked
        # and replaced where it lives, so the link stays a link and both names see one store.
        self.path = Path(os.path.realpath(Path(path).expanduser()))
        # The portal's rules over the well-formed documents (sums, seats, members, the log), checked
        # with the structure on every whole read; the portal sets them (a bare Store checks structure).
        self.rules = rules
        self._data: dict[str, dict[str, Any]] | None = None
        self._tables: Tables | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._commit: tuple[int, str] | None = None  # (generation, token) of the cached copy
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
        if type(version) is not int or version != SCHEMA_VERSION:  # true == 1 and 1.0 == 1 in Python, not here
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
        return self.problems(*self._read(raw))

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
        if os.name != "posix":
            return
        try:
            fst = os.stat(folder)
        except FileNotFoundError:
            return
        if fst.st_mode & 0o022:
            quoted = shlex.quote(str(folder))
            raise StoreError(
                _("The folder {folder} of the store can be written by other users (mode {mode:o}): they could replace "
                  "the store. It was not opened. Fix it with: chmod 700 {quoted}").format(
                    folder=folder, mode=stat.S_IMODE(fst.st_mode), quoted=quoted),
                problem=_("is in a folder other users can write (mode {mode:o}), where they could replace it "
                          "(fix it with: chmod 700 {quoted})").format(mode=stat.S_IMODE(fst.st_mode), quoted=quoted),
            )

    def _current(self) -> dict[str, dict[str, Any]]:
        """The latest committed tables (re-read if another process committed since)."""
        with self._cache_lock:
            self._load_if_changed()
            assert self._data is not None
            return self._data

    def _load_if_changed(self) -> None:
        """Keep the cached copy if the file still holds it (stamp and commit), else re-read it."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            raise StoreError(_no_store(self.path)) from None
        except PermissionError:
            raise StoreError(f"Cannot read the store {self.path}: permission denied.") from None
        with fh:
            # Stamp, head and content all come from this one open file, so they agree even
            # when another process replaces the store meanwhile.
            st = os.fstat(fh.fileno())
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self._data is not None and self._commit is not None and stamp == self._stamp:
                if _head_commit(fh.read(HEAD_BYTES)) == self._commit:
                    return
                fh.seek(0)
            raw = fh.read()
        self._private(self.path, st)
        data = self._parse(raw)
        self._data = data
        self._stamp = stamp
        self._commit = _commit_of(data[META_TABLE].get("1"))

    def _write(
        self, data: dict[str, dict[str, Any]], *, base: Any, token_from_content: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Commit `data` with the next generation and a new commit token, `_meta` first in the
        file; returns what was written. The token is random, or with `token_from_content` a
        digest of the tables (`create()`: the same tables give the same bytes). `base` is the
        `marker()` of the file the commit started from (None: there was none): the file is
        replaced only if it is still that one and this process still holds the lock."""
        meta = dict(data.get(META_TABLE, {}).get("1") or {"schema": SCHEMA_VERSION})
        previous = _commit_of(meta)
        meta["generation"] = (previous[0] if previous else 0) + 1
        tables = {name: docs for name, docs in data.items() if name != META_TABLE}
        body = orjson.dumps(tables)
        meta["commit"] = hashlib.sha256(body).hexdigest()[:16] if token_from_content else secrets.token_hex(8)
        # {"_meta":{...}, then the other tables: serialised once, _meta first whatever the dict order.
        head = b'{"' + META_TABLE.encode() + b'":' + orjson.dumps({"1": meta})
        payload = b"".join((head, b",", memoryview(body)[1:])) if tables else head + b"}"
        # Called only under the lock: a temp file of this store whose writer is dead was left by a
        # writer killed mid-write; remove it, or every crash would leave a full copy behind.
        # Nothing else is ever removed, whatever its name (see files.abandoned_temps).
        for stale in abandoned_temps(self.path):
            try:
                stale.unlink()
            except FileNotFoundError:
                pass
        atomic_write(self.path, payload, temp=store_temp(self.path), before_replace=lambda: self._still_base(base))
        self._stamp = _stamp(self.path)
        self._commit = _commit_of(meta)
        return {META_TABLE: {"1": meta}, **tables}

    def _still_base(self, base: Any) -> None:
        """Just before a commit replaces the file: refuse unless this process still holds the lock
        and the file is still the one the commit started from. Both hold unless someone removed
        or replaced the lock file meanwhile, letting another writer in: then nothing is written."""
        if self._lock.still_held():
            now = self._read_file(HEAD_BYTES)[1]
            if now is None and base is None:
                return
            if now is not None and base is not None and now[0] == base[0] and now[1] in (None, base[1]):
                return
        raise StoreError(
            _("The store {path} was changed by another process while this change was being saved, although this one "
              "held its lock (its lock file {lock} was removed or replaced). Nothing was saved: try again.").format(
                path=self.path, lock=self._lock.path)
        )

    def _read_file(self, size: int = -1) -> tuple[bytes | None, Any]:
        """The file's bytes (the first `size`, or all) and its stamp and head commit, as
        `marker()` gives them, from one open file; (None, None) if there is no file."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return None, None
        with fh:
            st = os.fstat(fh.fileno())
            raw = fh.read(size)
        return raw, ((st.st_ino, st.st_mtime_ns, st.st_size), _head_commit(raw[:HEAD_BYTES]))

    def head_meta(self) -> dict[str, Any] | None:
        """The `_meta` document at the start of the file, without parsing the rest; None if the
        file is missing or does not start with one."""
        try:
            with open(self.path, "rb") as fh:
                return _head_meta(fh.read(HEAD_BYTES))
        except FileNotFoundError:
            return None

    @staticmethod
    def head_meta_of(raw: bytes) -> dict[str, Any] | None:
        """The `_meta` document at the start of a store file's bytes; None if it does not start with one."""
        return _head_meta(raw[:HEAD_BYTES])

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
                    kept = keep_copy(self.path, keep_previous, raw)
                data: dict[str, dict[str, Any]] = dict(tables or {})
                data[META_TABLE] = {"1": {**(meta or {}), "schema": SCHEMA_VERSION}}
                with self._cache_lock:
                    self._data = self._write(data, base=base, token_from_content=True)
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
        with self._locked():  # no commit lands half-way through the copy
            raw = self.path.read_bytes()
        self._private(self.path)
        tables = self._parse(raw)  # a damaged store is refused, not copied
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
        if os.name != "posix":
            return
        try:
            fst = os.stat(folder)
        except FileNotFoundError:
            return
        if fst.st_mode & 0o022:
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
            current_generation = base[1][0] if base is not None and base[1] else 0
            kept = None
            if raw is not None and keep_previous is not None:
                try:
                    kept = keep_copy(self.path, keep_previous, raw)
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
                self._data = self._write(data, base=base)
                return self._data, kept

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

    def marker(self) -> tuple[tuple[int, int, int] | None, tuple[int, str] | None] | None:
        """What a session compares to notice another session's commit: the stamp and the
        (generation, commit) found at the file's start, from one open file. The stamp alone
        can miss a commit (inode reused, same mtime and size); the token cannot. An open, an
        fstat and a 4 KB read, never a parse; None while there is no file."""
        try:
            with open(self.path, "rb") as fh:
                return (_stamp(fh.fileno()), _head_commit(fh.read(HEAD_BYTES)))
        except FileNotFoundError:
            return None

    # -- access ----------------------------------------------------------------
    @staticmethod
    def view(tables: dict[str, dict[str, Any]]) -> View:
        """A read-only view over tables already in memory (e.g. those `inspect()` returns)."""
        return View(Tables(tables))

    def _committed(self) -> Tables:
        """The latest committed tables with their indexes (kept while the file does not change)."""
        with self._cache_lock:
            data = self._current()
            if self._tables is None or self._tables.data is not data:
                self._tables = Tables(data)
            return self._tables

    def read(self) -> View:
        """A view of the latest committed state (no lock: files are replaced whole)."""
        return View(self._committed())

    def tables(self) -> dict[str, dict[str, Any]]:
        """The raw tables of the latest committed state, for fast whole-table scans."""
        return self._current()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Lock, refresh, yield a Transaction to check and change, write once on success.

        The body's changes are an overlay on the committed tables, so a view handed out by
        `read()` — e.g. to a UI worker thread — never sees a half-applied change, and a body
        that raises leaves the committed state exactly as it was.
        """
        with self._locked():
            committed = self._committed()
            base = (self._stamp, self._commit)
            tx = Transaction(committed)
            yield tx
            if tx.dirty:
                new = committed.applied(tx.changes)
                with self._cache_lock:
                    try:
                        written = self._write(new.data, base=base)
                    except BaseException:
                        self._data = None
                        self._tables = None
                        self._stamp = None
                        self._commit = None
                        raise
                    self._data = written
                    new.data = written
                    self._tables = new
