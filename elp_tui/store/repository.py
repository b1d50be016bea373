"""The seam between the portal and a store: what the portal may ask of the data, and nothing else.

The portal never sees how documents are kept (one JSON file, a journal, PostgreSQL): it reads
through a `View` and changes through a `Transaction`, both of which answer the same questions:

- `get(table, **where)`: the one document whose fields equal `where` (an identifier: a
  license by activation_id, a user by email, a bank by id), or None;
- `find(table, where=None, **fields)`: every document whose fields equal `fields` and, if
  given, for which `where(doc)` is true (a bank's licenses, a pool's holders);
- `all(table)`, `count(table)`;
- in a transaction: `insert`, `insert_many`, `update`, `remove`, `upsert`, and `next_seq`,
  the next number of a numbered table (activity seq, ledger id, outbox id, request id), kept
  rather than counted.

Documents come back as plain dicts that the caller may keep and change: a view never hands out
the store's own copy. Lookups on the fields named in `INDEXED` are dictionary lookups, kept with
the data; lookups on other fields scan the table.

`Tables` is the in-memory implementation every backend that holds documents in memory uses:
the committed documents with their indexes, and a `Transaction` as an overlay of changes on top
of them (nothing is copied until it is changed), applied in one step on commit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator

from elp_tui.store.journal import Counters

# The fields looked up by equality, per table: kept as indexes (value -> document keys).
INDEXED: dict[str, tuple[str, ...]] = {
    "organizations": ("id",),
    "users": ("email", "organization"),
    "products": ("name",),
    "restrictions": ("organization",),
    "banks": ("id", "organization"),
    "licenses": ("activation_id", "organization", "assignee", "bank"),
    "ledger": ("bank", "license"),
    "seat_pools": ("id", "organization"),
    "seat_holders": ("pool", "email"),
    "teams": ("id", "organization", "pool"),
    "requests": ("organization",),
    "activity": ("organization",),
    "outbox": ("state", "organization"),
    "vendors": ("id",),
    "ssh_keys": ("fingerprint", "email"),
    "tokens": ("id", "hash", "email"),
}

Doc = dict[str, Any]
Where = Callable[[Doc], bool] | None


def _matches(doc: Doc, fields: dict[str, Any], where: Where) -> bool:
    return all(doc.get(name) == value for name, value in fields.items()) and (where is None or where(doc))


class Tables:
    """Committed documents of every table (table -> document key -> document), with indexes
    built on first use and kept up to date by `applied`.

    A store that keeps its tables on disk passes a `loader` (a table's documents as of this
    state, read when first asked for) and the `counters` it keeps (next keys, last numbers, each
    bank's used credits), so a command that reads two small tables never loads the big ones."""

    def __init__(
        self,
        data: dict[str, dict[str, Doc]] | None = None,
        *,
        loader: Callable[[str], dict[str, Doc]] | None = None,
        counters: Counters | None = None,
        lock: Any = None,
    ):
        self.data: dict[str, dict[str, Doc]] = data if data is not None else {}
        self.loader = loader
        self._counters = counters
        self._lock = lock if lock is not None else threading.RLock()
        self._index: dict[tuple[str, str], dict[Any, set[str]]] = {}
        self._sums: dict[tuple[str, str, str], dict[Any, int]] = {}

    # -- reading ------------------------------------------------------------------------
    def docs(self, table: str) -> dict[str, Doc]:
        found = self.data.get(table)
        if found is None and self.loader is not None:
            with self._lock:
                found = self.data.get(table)
                if found is None:
                    found = self.data[table] = self.loader(table)
        return found if found is not None else {}

    def loaded(self, table: str) -> bool:
        return table in self.data or self.loader is None

    def everything(self) -> dict[str, dict[str, Doc]]:
        """Every table, loading those not read yet (a new snapshot, a backup, a check)."""
        if self.loader is not None:
            with self._lock:
                for table in self.loader.names():  # type: ignore[attr-defined]
                    self.docs(table)
                self.loader = None  # every table is in memory: a table new to a commit is created there
        return self.data

    @property
    def counters(self) -> Counters:
        if self._counters is None:
            self._counters = Counters.of(self.data)
        return self._counters

    def holds(self, table: str, fields: dict[str, Any]) -> bool | None:
        """Whether a document of a table not read yet has this one text field value (a new
        activation ID), answered by the store without reading the table (None: not known so)."""
        if self.loaded(table) or len(fields) != 1:
            return None
        [(field, value)] = fields.items()
        holds = getattr(self.loader, "holds", None)
        return holds(table, field, value) if holds is not None and isinstance(value, str) else None

    def index(self, table: str, field: str) -> dict[Any, set[str]]:
        found = self._index.get((table, field))
        if found is None:
            found = {}
            for key, doc in self.docs(table).items():
                found.setdefault(_hashable(doc.get(field)), set()).add(key)
            self._index[(table, field)] = found
        return found

    def candidates(self, table: str, fields: dict[str, Any], *, build: bool = True) -> Iterable[str] | None:
        """The keys that may match `fields` through an index, or None if no field is indexed
        (or, with `build` False, none is built yet: a one-off scan is cheaper than building one)."""
        for name, value in fields.items():
            if name in INDEXED.get(table, ()) and (build or (table, name) in self._index):
                return self.index(table, name).get(_hashable(value), ())
        return None

    def sums(self, table: str, field: str, by: str) -> dict[Any, int]:
        """The sum of `field` per value of `by` (a bank's used credits: ledger credits by bank)."""
        if (table, field, by) == ("ledger", "credits", "bank"):
            return self.counters.used
        found = self._sums.get((table, field, by))
        if found is None:
            found = {}
            for doc in self.docs(table).values():
                group = _hashable(doc.get(by))
                found[group] = found.get(group, 0) + int(doc.get(field) or 0)
            self._sums[(table, field, by)] = found
        return found

    def next_key(self, table: str) -> int:
        return self.counters.next_key.get(table, 1)

    def last_seq(self, table: str) -> int:
        return self.counters.last_seq.get(table, 0)

    # -- changing (a commit) ----------------------------------------------------------------
    def applied(self, changes: dict[str, dict[str, Doc | None]], loader: Any = None) -> "Tables":
        """The tables with `changes` put in (None: a removed document), as a new Tables. A changed
        table, and each of its indexes, is the old one's shared documents plus a small layer of
        changes (`Layered`): a commit costs what it changes, not a copy of 100k licenses, and a
        view of the old tables, held by another thread, never sees half a commit. A table not
        loaded yet stays so (`loader`, the new state's, reads it with the changes)."""
        new = Tables.__new__(Tables)
        new.data = dict(self.data)
        new.loader = loader if loader is not None else self.loader
        new._lock = self._lock
        new._counters = self.counters.copy()
        new._index = dict(self._index)
        new._sums = {}
        for table, docs in changes.items():
            if not docs:
                continue
            loaded = table in self.data or self.loader is None
            stored = self.data.get(table, {}) if loaded else {}
            for key, doc in docs.items():
                new._counters.apply(table, key, stored.get(key), doc)
            if not loaded:
                continue
            new.data[table] = Layered.of(stored).updated(docs)
            for (t, field), index in self._index.items():
                if t != table:
                    continue
                sets: dict[Any, set[str] | None] = {}

                def keys_of(value: Any) -> set[str]:
                    value = _hashable(value)
                    if value not in sets:
                        sets[value] = set(index.get(value, ()))
                    return sets[value]  # type: ignore[return-value]

                for key, doc in docs.items():
                    old = stored.get(key)
                    if old is not None:
                        keys_of(old.get(field)).discard(key)
                    if doc is not None:
                        keys_of(doc.get(field)).add(key)
                new._index[(table, field)] = Layered.of(index).updated(
                    {value: keys if keys else None for value, keys in sets.items()})
        return new


_GONE = object()


class Layered(Mapping[Any, Any]):
    """A read-only mapping: a shared `base` dict (never changed) and a small `top` layer of what
    changed since (a value, or gone). `updated()` copies only the layer; once the layer grows
    past a sixteenth of the base (at least 1024 entries) it is folded into a new base, so a
    lookup stays one or two dictionary reads and a commit's cost stays its own size."""

    __slots__ = ("base", "top", "_len")

    def __init__(self, base: dict[Any, Any], top: dict[Any, Any] | None = None, length: int | None = None):
        self.base = base
        self.top = top or {}
        self._len = len(base) if length is None else length

    @staticmethod
    def of(mapping: Mapping[Any, Any]) -> "Layered":
        return mapping if isinstance(mapping, Layered) else Layered(mapping)  # type: ignore[arg-type]

    def updated(self, changes: dict[Any, Any]) -> "Layered":
        """A new mapping with `changes` (None: remove the key)."""
        top = dict(self.top)
        length = self._len
        for key, value in changes.items():
            present = key in self
            if value is None:
                if present:
                    length -= 1
                    if key in self.base:
                        top[key] = _GONE
                    else:
                        top.pop(key, None)
                continue
            if not present:
                length += 1
            top[key] = value
        if len(top) > max(1024, len(self.base) >> 4):
            base = dict(self.base)
            for key, value in top.items():
                if value is _GONE:
                    base.pop(key, None)
                else:
                    base[key] = value
            return Layered(base)
        return Layered(self.base, top, length)

    def __getitem__(self, key: Any) -> Any:
        if key in self.top:
            value = self.top[key]
            if value is _GONE:
                raise KeyError(key)
            return value
        return self.base[key]

    def get(self, key: Any, default: Any = None) -> Any:
        value = self.top.get(key, None) if key in self.top else self.base.get(key, default)
        return default if value is _GONE else value

    def __contains__(self, key: object) -> bool:
        if key in self.top:
            return self.top[key] is not _GONE
        return key in self.base

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Any]:
        top = self.top
        for key in self.base:
            if key not in top or top[key] is not _GONE:
                yield key
        for key, value in top.items():
            if value is not _GONE and key not in self.base:
                yield key

    def items(self) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        top = self.top
        for key, value in self.base.items():
            if key in top:
                value = top[key]
                if value is _GONE:
                    continue
            yield key, value
        for key, value in top.items():
            if value is not _GONE and key not in self.base:
                yield key, value

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        for _key, value in self.items():
            yield value


def plain(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with every table a plain dict (to write a snapshot, to check a store)."""
    return {name: dict(docs.items()) if isinstance(docs, Layered) else docs for name, docs in data.items()}


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class View:
    """A read-only, consistent view of the committed documents."""

    def __init__(self, tables: Tables):
        self._tables = tables

    def _docs(self, table: str, fields: dict[str, Any], where: Where, *, point: bool = False) -> Iterator[tuple[str, Doc]]:
        """The matching (key, document) pairs. `point`: a lookup of one document (a get), which
        builds an index on first use; a list (a find) uses one if built, else scans."""
        docs = self._tables.docs(table)
        keys = self._tables.candidates(table, fields, build=point)
        if keys is None:
            if len(fields) == 1 and where is None:
                [(name, value)] = fields.items()
                for key, doc in docs.items():
                    if doc.get(name) == value:
                        yield key, doc
                return
            for key, doc in docs.items():
                if _matches(doc, fields, where):
                    yield key, doc
            return
        if len(keys) * 4 > len(docs):  # most of the table: a scan in order beats sorting the keys
            for key, doc in docs.items():
                if key in keys and _matches(doc, fields, where):
                    yield key, doc
            return
        for key in sorted(keys, key=int):
            doc = docs[key]
            if _matches(doc, fields, where):
                yield key, doc

    def get(self, table: str, where: Where = None, **fields: Any) -> Doc | None:
        for _key, doc in self._docs(table, fields, where, point=True):
            return dict(doc)
        return None

    def find(self, table: str, where: Where = None, *, copy: bool = True, **fields: Any) -> list[Doc]:
        """The matching documents, in the table's order. `copy=False`: the store's own documents,
        to be read and never changed (a list of 100k licenses, built into rows at once)."""
        if not copy:
            return [doc for _key, doc in self._docs(table, fields, where)]
        return [dict(doc) for _key, doc in self._docs(table, fields, where)]

    def all(self, table: str) -> list[Doc]:
        return [dict(doc) for doc in self._tables.docs(table).values()]

    def count(self, table: str, where: Where = None, **fields: Any) -> int:
        if not fields and where is None:
            return len(self._tables.docs(table))
        return sum(1 for _ in self._docs(table, fields, where))

    def exists(self, table: str, where: Where = None, **fields: Any) -> bool:
        held = self._tables.holds(table, fields) if where is None else None
        if held is not None:
            return held
        return next(self._docs(table, fields, where, point=True), None) is not None

    def sums(self, table: str, field: str, by: str) -> dict[Any, int]:
        """The sum of `field` per value of `by`, kept with the data (a bank's used credits)."""
        return dict(self._tables.sums(table, field, by))


class Transaction(View):
    """A view plus changes: what the body of `Store.transaction()` reads and writes. Reads see
    the transaction's own changes; nothing reaches the committed documents until the store
    commits `changes` (a body that raises leaves them exactly as they were)."""

    def __init__(self, tables: Tables):
        super().__init__(tables)
        self.changes: dict[str, dict[str, Doc | None]] = {}
        self._next_key: dict[str, int] = {}
        self._seq: dict[str, int] = {}

    @property
    def dirty(self) -> bool:
        return any(self.changes.values())

    def _docs(self, table: str, fields: dict[str, Any], where: Where, *, point: bool = False) -> Iterator[tuple[str, Doc]]:
        overlay = self.changes.get(table)
        if not overlay:
            yield from super()._docs(table, fields, where, point=point)
            return
        for key, doc in super()._docs(table, fields, where, point=point):
            if key in overlay:
                continue
            yield key, doc
        for key, doc in overlay.items():
            if doc is None:
                continue
            if _matches(doc, fields, where):
                yield key, doc

    def exists(self, table: str, where: Where = None, **fields: Any) -> bool:
        if self.changes.get(table):
            return next(self._docs(table, fields, where, point=True), None) is not None
        return super().exists(table, where, **fields)

    def all(self, table: str) -> list[Doc]:
        overlay = self.changes.get(table)
        if not overlay:
            return super().all(table)
        out = [dict(doc) for key, doc in self._tables.docs(table).items() if key not in overlay]
        out += [dict(doc) for doc in overlay.values() if doc is not None]
        return out

    def count(self, table: str, where: Where = None, **fields: Any) -> int:
        if not fields and where is None and not self.changes.get(table):
            return len(self._tables.docs(table))
        return sum(1 for _ in self._docs(table, fields, where))

    def sums(self, table: str, field: str, by: str) -> dict[Any, int]:
        totals = super().sums(table, field, by)
        overlay = self.changes.get(table)
        if not overlay:
            return totals
        # A table not read yet has only new documents in this transaction (a change reads first).
        base = self._tables.docs(table) if self._tables.loaded(table) else {}
        for key, doc in overlay.items():
            for sign, counted in ((-1, base.get(key)), (1, doc)):
                if counted is not None:
                    group = _hashable(counted.get(by))
                    totals[group] = totals.get(group, 0) + sign * int(counted.get(field) or 0)
        return totals

    # -- changes --------------------------------------------------------------------------
    def _new_key(self, table: str) -> str:
        key = self._next_key.get(table) or self._tables.next_key(table)
        self._next_key[table] = key + 1
        return str(key)

    def next_seq(self, table: str) -> int:
        """The next number of a numbered table (1 for an empty one), reserved for this transaction."""
        number = self._seq.get(table) or self._tables.last_seq(table) + 1
        self._seq[table] = number + 1
        return number

    def insert(self, table: str, doc: Doc) -> None:
        self.changes.setdefault(table, {})[self._new_key(table)] = dict(doc)

    def insert_many(self, table: str, docs: Iterable[Doc]) -> None:
        for doc in docs:
            self.insert(table, doc)

    def _keys(self, table: str, fields: dict[str, Any], where: Where) -> list[str]:
        return [key for key, _doc in self._docs(table, fields, where)]

    def update(self, table: str, values: Doc | Callable[[Doc], None], where: Where = None, **fields: Any) -> int:
        """Set `values` on every document matching (or call `values` on a copy of each to change
        it in place); how many."""
        keys = self._keys(table, fields, where)
        overlay = self.changes.setdefault(table, {})
        for key in keys:
            current = overlay.get(key) or self._tables.docs(table)[key]
            if callable(values):
                changed = dict(current)
                values(changed)
                overlay[key] = changed
            else:
                overlay[key] = {**current, **values}
        return len(keys)

    def remove(self, table: str, where: Where = None, **fields: Any) -> int:
        keys = self._keys(table, fields, where)
        overlay = self.changes.setdefault(table, {})
        for key in keys:
            overlay[key] = None
        return len(keys)

    def upsert(self, table: str, doc: Doc, where: Where = None, **fields: Any) -> None:
        if not self.update(table, doc, where, **fields):
            self.insert(table, doc)
