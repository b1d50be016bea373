"""One JSON file holding every table, read and written as a whole.

Why not TinyDB's stock JSONStorage: it rewrites the file in place, so a process killed
mid-write leaves a torn file, and it has no notion of another process writing meanwhile.
Here TinyDB works on an in-memory copy; a transaction takes an exclusive file lock,
re-reads the file if another process replaced it, lets the caller check and apply, and
writes once: temp file in the same folder, fsync, os.replace, fsync of the folder.
A reader never needs the lock: the file is only ever replaced whole.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import orjson
from filelock import FileLock, Timeout
from tinydb import TinyDB
from tinydb.storages import Storage

from elp_tui.models import SCHEMA_VERSION
from elp_tui.store.files import atomic_write

META_TABLE = "_meta"
LOCK_TIMEOUT_S = 30.0


class StoreError(Exception):
    """The store file cannot be used; the message says why and what to do."""


def default_store_path() -> Path:
    env = os.environ.get("ELP_STORE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("elp", appauthor=False)) / "elp.json"


class _Holder:
    """The in-memory tables TinyDB reads and writes during a transaction."""

    def __init__(self, data: dict[str, dict[str, Any]]):
        self.data = data
        self.dirty = False


class _MemoryStorage(Storage):
    def __init__(self, holder: _Holder):
        self._holder = holder

    def read(self) -> dict[str, dict[str, Any]]:
        return self._holder.data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._holder.data = data
        self._holder.dirty = True

    def close(self) -> None:  # nothing to release: the file is handled by Store
        pass


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class Store:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).expanduser()
        self._data: dict[str, dict[str, Any]] | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S, mode=0o600)

    # -- files -----------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def _parse(self, raw: bytes) -> dict[str, dict[str, Any]]:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise StoreError(
                f"The store {self.path} is not valid JSON ({exc}). It was left untouched: "
                "restore it from a backup, or point --store at another file."
            ) from None
        if not isinstance(data, dict):
            raise StoreError(f"The store {self.path} is not an ELP store (no tables). It was left untouched.")
        meta = data.get(META_TABLE, {}).get("1") if isinstance(data.get(META_TABLE), dict) else None
        version = meta.get("schema") if isinstance(meta, dict) else None
        if version is None:
            raise StoreError(
                f"The store {self.path} has no schema version: it is not an ELP store. "
                "It was left untouched: point --store at an ELP store or run 'elp init'."
            )
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"The store {self.path} has schema version {version!r}; this ELP reads version "
                f"{SCHEMA_VERSION}. It was left untouched: use the ELP release that wrote it."
            )
        return data

    def _load_if_changed(self) -> None:
        stamp = _stamp(self.path)
        if stamp is None:
            raise StoreError(
                f"No store at {self.path}. Create one with 'elp init --org NAME --admin EMAIL' "
                "or 'elp demo'."
            )
        if self._data is not None and stamp == self._stamp:
            return
        try:
            raw = self.path.read_bytes()
        except PermissionError:
            raise StoreError(f"Cannot read the store {self.path}: permission denied.") from None
        self._data = self._parse(raw)
        self._stamp = stamp

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        folder = self.path.parent
        # Called only under the lock, so any temp file left here belongs to a writer that
        # was killed mid-write: remove it, or every crash would leave a full copy behind.
        for stale in folder.glob(f".{self.path.name}.*.tmp"):
            try:
                stale.unlink()
            except FileNotFoundError:
                pass
        atomic_write(self.path, orjson.dumps(data))
        self._stamp = _stamp(self.path)

    def create(self, tables: dict[str, dict[str, Any]] | None = None, *, overwrite: bool = False) -> None:
        """Write a new store (0600 in a 0700 folder). Refuses to replace an existing file."""
        folder = self.path.parent
        if not folder.exists():
            os.makedirs(folder, mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        with self._locked():
            if self.path.exists() and not overwrite:
                raise StoreError(f"A store already exists at {self.path}; it was left untouched.")
            data: dict[str, dict[str, Any]] = {META_TABLE: {"1": {"schema": SCHEMA_VERSION}}}
            data.update(tables or {})
            data[META_TABLE] = {"1": {"schema": SCHEMA_VERSION}}
            self._write(data)
            self._data = data

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._lock.acquire()
        except Timeout:
            raise StoreError(
                f"The store {self.path} stayed locked by another ELP process for "
                f"{LOCK_TIMEOUT_S:.0f} s. Try again; if no other ELP runs, delete {self.path}.lock."
            ) from None
        except PermissionError:
            raise StoreError(f"Cannot lock the store {self.path}: permission denied.") from None
        try:
            yield
        finally:
            self._lock.release()

    # -- access ----------------------------------------------------------------
    def read(self) -> TinyDB:
        """A view of the latest committed state (no lock: files are replaced whole)."""
        self._load_if_changed()
        assert self._data is not None
        return TinyDB(_Holder(self._data), storage=_MemoryStorage)

    def tables(self) -> dict[str, dict[str, Any]]:
        """The raw tables of the latest committed state, for fast whole-table scans."""
        self._load_if_changed()
        assert self._data is not None
        return self._data

    @contextmanager
    def transaction(self) -> Iterator[TinyDB]:
        """Lock, refresh, yield a TinyDB to check and change, write once on success.

        The body works on a private copy (tables and documents copied one level deep), so a
        view handed out by `read()` — e.g. to a UI worker thread — never sees a half-applied
        change, and a body that raises leaves the committed state exactly as it was.
        """
        with self._locked():
            self._load_if_changed()
            assert self._data is not None
            committed = self._data
            working = {name: {key: dict(doc) for key, doc in docs.items()} for name, docs in committed.items()}
            holder = _Holder(working)
            db = TinyDB(holder, storage=_MemoryStorage)
            yield db
            if holder.dirty:
                try:
                    self._write(holder.data)
                except BaseException:
                    self._data = None
                    self._stamp = None
                    raise
                self._data = holder.data
