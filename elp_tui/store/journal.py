"""The snapshot and the journal: how a store is laid out on disk (schema 2).

A store at `P` is two files:

- `P`, the **snapshot**: one TinyDB JSON document, `{"_meta":{"1":{...}},"organizations":{...},...}`,
  `_meta` first. Its `_meta` says where each table's JSON lies in the file (`tables`: name, start,
  end, CRC-32 of those bytes, next document key, last number), what the ledger adds up to per
  bank (`used`) and the CRC-32 of everything after the head (`crc`), so a command reads the head
  and then only the tables it needs: `elp banks list` never parses 100k licenses. The CRCs are of
  the bytes that were validated when written; opening checks the whole file's (a read, no
  parse): a file whose bytes no longer match was edited by hand, and is read whole and validated
  in full before use, exactly as `elp check` judges it.
- `P.journal`, the **journal**: one line per commit since the snapshot,
  `<16 hex digits of SHA-256 of the JSON> <JSON>\\n`, the JSON being
  `{"g": generation, "base": the snapshot's commit token, "ops": [[table, key, document or null], ...]}`.
  A commit appends its line and fsyncs; opening reads the snapshot and replays the lines whose
  `base` is the snapshot's (lines of an older snapshot, left by a compaction cut short, are
  skipped). A last line without its newline or with a bad checksum is a write cut short by a
  crash: ignored, and cut off by the next writer before it appends. A bad line with good lines
  after it is damage: the store is refused. When the journal passes `COMPACT_BYTES`, the next
  commit writes a new snapshot (atomically, under the lock) and empties the journal.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

META_TABLE = "_meta"
# Past this, a commit folds the journal into a new snapshot (a few thousand commits).
COMPACT_BYTES = 8 * 1024 * 1024
# Numbered tables: the field that numbers their documents (kept in the snapshot's index).
NUMBERED = {"activity": "seq", "ledger": "id", "outbox": "id", "requests": "id"}


def journal_path_of(path: Any) -> Any:
    return path.with_name(path.name + ".journal")


# -- the snapshot ------------------------------------------------------------------------------
@dataclass
class Counters:
    """What a command needs to know of a table without reading it: the next document key, the last
    number of a numbered table, and each bank's used credits (the ledger's sum per bank)."""

    next_key: dict[str, int] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, tables: dict[str, dict[str, Any]]) -> "Counters":
        counters = cls()
        for name, docs in tables.items():
            if name == META_TABLE or not isinstance(docs, dict):
                continue
            counters.next_key[name] = max((int(k) for k in docs), default=0) + 1
            if name in NUMBERED:
                number = NUMBERED[name]
                counters.last_seq[name] = max((int(d.get(number) or 0) for d in docs.values()), default=0)
        for entry in tables.get("ledger", {}).values():
            counters.used[entry["bank"]] = counters.used.get(entry["bank"], 0) + int(entry["credits"])
        return counters

    def copy(self) -> "Counters":
        return Counters(dict(self.next_key), dict(self.last_seq), dict(self.used))

    def apply(self, table: str, key: str, old: dict[str, Any] | None, doc: dict[str, Any] | None) -> None:
        """Follow one change (`old` None: a new document)."""
        if doc is not None:
            self.next_key[table] = max(self.next_key.get(table, 1), int(key) + 1)
            if table in NUMBERED:
                self.last_seq[table] = max(self.last_seq.get(table, 0), int(doc.get(NUMBERED[table]) or 0))
        if table == "ledger":
            for sign, counted in ((-1, old), (1, doc)):
                if counted is not None:
                    self.used[counted["bank"]] = self.used.get(counted["bank"], 0) + sign * int(counted["credits"])


def encode_snapshot(tables: dict[str, dict[str, Any]], meta: dict[str, Any]) -> bytes:
    """The snapshot file for `tables` (`_meta` first, then every table in order), with the index
    and counters in `_meta`. `meta` must already hold schema, generation and commit (they are
    written first, so `marker()` finds them in the first bytes)."""
    names = [name for name in tables if name != META_TABLE]
    counters = Counters.of(tables)
    index, chunks, position = [], [], 0
    for name in names:
        key = b',"' + name.encode() + b'":'
        part = orjson.dumps(tables[name])
        position += len(key)
        index.append([name, position, position + len(part), zlib.crc32(part),
                      counters.next_key.get(name, 1), counters.last_seq.get(name, 0)])
        position += len(part)
        chunks += [key, part]
    body = b"".join(chunks) + b"}"
    full = {**meta, "tables": index, "used": sorted([bank, n] for bank, n in counters.used.items()),
            "crc": zlib.crc32(body)}
    head = b'{"' + META_TABLE.encode() + b'":' + orjson.dumps({"1": full})
    return head + body


# -- the journal ------------------------------------------------------------------------------
class JournalDamaged(Exception):
    """A journal line that is not a write cut short (a bad line with good lines after it)."""


@dataclass
class Entry:
    generation: int
    base: str
    ops: list[list[Any]]  # [table, key, document or None]
    end: int  # offset just after this line


def encode_entry(generation: int, base: str, ops: list[list[Any]]) -> bytes:
    body = orjson.dumps({"g": generation, "base": base, "ops": ops})
    return hashlib.sha256(body).hexdigest()[:16].encode() + b" " + body + b"\n"


def read_entries(raw: bytes, offset: int = 0) -> tuple[list[Entry], int]:
    """The whole lines of `raw` (a journal's bytes from `offset`), and where the good part ends
    (past it: nothing, or a last line cut short). Raises JournalDamaged for a bad line that is
    followed by another line."""
    entries: list[Entry] = []
    position = 0
    good_end = offset
    while position < len(raw):
        newline = raw.find(b"\n", position)
        if newline < 0:
            break  # the last line, still being written or cut short by a crash
        line = raw[position:newline]
        entry = _entry(line, offset + newline + 1)
        if entry is None:
            if raw.find(b"\n", newline + 1) >= 0 or raw[newline + 1:].strip():
                raise JournalDamaged(
                    f"line at byte {offset + position} has a bad checksum or is not an ELP journal line, "
                    "and lines follow it")
            break  # a last line whose bytes did not all reach the disk
        entries.append(entry)
        position = newline + 1
        good_end = offset + position
    return entries, good_end


def _entry(line: bytes, end: int) -> Entry | None:
    if len(line) < 18 or line[16:17] != b" ":
        return None
    body = line[17:]
    if hashlib.sha256(body).hexdigest()[:16].encode() != line[:16]:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not (isinstance(data, dict) and type(data.get("g")) is int and isinstance(data.get("base"), str)
            and isinstance(data.get("ops"), list)):
        return None
    return Entry(data["g"], data["base"], data["ops"], end)
