"""What a sound store file looks like: the tables, the fields of their documents, the
references between them, the identifiers that must be unique. Checked every time a store
file is read whole, before anything uses it, so a damaged file (a missing field, a license
pointing to a missing bank, "7" for a number) is refused on open with the file and the
problem named, instead of failing later half-way. `problems()` adds the portal's rules on
the well-formed documents: that one list is what opening, `elp check` and a restore report.

The document models are the pydantic models of `elp_tui.models`. They are validated here
as TypedDicts derived from those models, in strict mode: the same fields, with whole numbers
that are ints (not bool, str or float) in range, days and versions as patterns checked by
pydantic's core, enums as their stored strings — without building a model instance per
document or calling back into Python per value (the 100k-license demo checks in about 0.5 s).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from enum import Enum
from functools import lru_cache
from types import UnionType
from typing import Annotated, Any, Callable, Iterable, Literal, Union, get_args, get_origin

import orjson
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from elp_tui.i18n import _
from elp_tui.models import (
    Activity, Bank, Email, LedgerEntry, License, Organization, Product, Request, Restriction, SeatHolder, SeatPool, Team, User,
    SshKey, Vendor, ApiToken,
)

META_TABLE = "_meta"
T_ORGS = "organizations"
T_USERS = "users"
T_PRODUCTS = "products"
T_RESTRICTIONS = "restrictions"
T_BANKS = "banks"
T_LICENSES = "licenses"
T_LEDGER = "ledger"
T_POOLS = "seat_pools"
T_HOLDERS = "seat_holders"
T_TEAMS = "teams"
T_REQUESTS = "requests"
T_ACTIVITY = "activity"
T_OUTBOX = "outbox"
T_VENDORS = "vendors"
T_KEYS = "ssh_keys"
T_TOKENS = "tokens"

TABLES: dict[str, type[BaseModel]] = {
    T_ORGS: Organization,
    T_USERS: User,
    T_PRODUCTS: Product,
    T_RESTRICTIONS: Restriction,
    T_BANKS: Bank,
    T_LICENSES: License,
    T_LEDGER: LedgerEntry,
    T_POOLS: SeatPool,
    T_HOLDERS: SeatHolder,
    T_TEAMS: Team,
    T_REQUESTS: Request,
    T_ACTIVITY: Activity,
    T_OUTBOX: Email,
    T_VENDORS: Vendor,
    T_KEYS: SshKey,
    T_TOKENS: ApiToken,
}

# (table, field, table it points to, field there). Only references that must always hold:
# a license's assignee may be a deleted user (an expired license keeps its last holder).
REFERENCES: list[tuple[str, str, str, str]] = [
    (T_USERS, "organization", T_ORGS, "id"),
    (T_RESTRICTIONS, "organization", T_ORGS, "id"),
    (T_BANKS, "organization", T_ORGS, "id"),
    (T_LICENSES, "organization", T_ORGS, "id"),
    (T_LICENSES, "bank", T_BANKS, "id"),
    (T_LEDGER, "bank", T_BANKS, "id"),
    (T_LEDGER, "license", T_LICENSES, "activation_id"),
    (T_POOLS, "organization", T_ORGS, "id"),
    (T_HOLDERS, "pool", T_POOLS, "id"),
    (T_TEAMS, "organization", T_ORGS, "id"),
    (T_TEAMS, "pool", T_POOLS, "id"),
    (T_REQUESTS, "organization", T_ORGS, "id"),
    (T_ACTIVITY, "organization", T_ORGS, "id"),
]
# References that may be empty: a user removed from every organization, a log entry of no organization.
_OPTIONAL = {(T_USERS, "organization"), (T_ACTIVITY, "organization")}

# Fields that name a document in messages, so a problem can be found in the file.
_LABEL = {
    T_ORGS: "id", T_USERS: "email", T_BANKS: "id", T_LICENSES: "activation_id", T_LEDGER: "id", T_POOLS: "id",
    T_TEAMS: "name", T_REQUESTS: "id", T_ACTIVITY: "seq", T_OUTBOX: "id", T_PRODUCTS: "name", T_HOLDERS: "email",
    T_VENDORS: "id", T_KEYS: "fingerprint", T_TOKENS: "id",
}


# What a value may be, written as patterns pydantic's core checks without calling back into
# Python (so 100k documents stay fast). A day is exactly YYYY-MM-DD and a day of the calendar
# (leap years included, year 0001 to 9999): not a datetime, not a number, not 2026-02-30.
DAY = (
    r"^(?:(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})-"
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29)$"
)
VERSION = r"^[0-9]+(\.[0-9]+)*$"  # 25.1, 2025.3.2: ASCII digits and dots, compared part by part
# TinyDB numbers documents "1", "2", ...; at most 18 digits, so every key is a whole number below 2**63.
DOC_KEY = r"^[1-9][0-9]{0,17}$"
LIMIT = 2**63  # every number ELP stores fits a signed 64-bit integer

Count = Annotated[int, Field(ge=0, lt=LIMIT)]
Positive = Annotated[int, Field(ge=1, lt=LIMIT)]
Signed = Annotated[int, Field(gt=-LIMIT, lt=LIMIT)]
Day = Annotated[str, Field(pattern=DAY)]
Version = Annotated[str, Field(pattern=VERSION)]
DocKey = Annotated[str, Field(pattern=DOC_KEY)]

# Whole numbers are counts (0 or more) unless listed here.
_INTS: dict[tuple[str, str], Any] = {
    ("License", "computers"): Positive,
    ("LedgerEntry", "id"): Positive,
    ("LedgerEntry", "credits"): Positive,
    ("Request", "id"): Positive,
    ("Request", "amount"): Positive,
    ("Activity", "seq"): Positive,
    ("Activity", "credits"): Signed,  # the log records what moved, both ways (seats freed: -2)
    ("Activity", "seats"): Signed,
    ("Email", "id"): Positive,
}
_VERSIONS = {("Bank", "product_version"), ("Build", "version"), ("Restriction", "builds")}
# Text fields with a fixed form. A token's hash is a SHA-256 in hex: a secret stored in its place
# (`elp_...`, shown once and never kept) makes the store refuse to open.
TOKEN_ID = r"^tok-[0-9]{4,18}$"
SHA256_HEX = r"^[0-9a-f]{64}$"
_PATTERNS = {("ApiToken", "id"): TOKEN_ID, ("ApiToken", "hash"): SHA256_HEX}


class Meta(TypedDict):
    """The `_meta` document: the schema version (checked first, on its own), the commit counter."""

    schema: int
    # The next commit writes generation + 1, which must still be in range.
    generation: NotRequired[Annotated[int, Field(ge=0, lt=LIMIT - 1)]]
    commit: NotRequired[str]
    demo: NotRequired[bool]


def _shape(kind: Any, model: str, field: str) -> Any:
    """The strict type of a model's field, as stored in JSON."""
    origin, args = get_origin(kind), get_args(kind)
    if kind is dt.date:
        return Day
    if kind is int:
        return _INTS.get((model, field), Count)
    if kind is str:
        if (model, field) in _PATTERNS:
            return Annotated[str, Field(pattern=_PATTERNS[(model, field)])]
        return Version if (model, field) in _VERSIONS else str
    if kind in (bool, float, type(None)):
        return kind
    if isinstance(kind, type) and issubclass(kind, Enum):
        return Literal[tuple(member.value for member in kind)]  # the stored strings, no Enum objects: 2x faster
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return _typed_dict(kind)
    if origin is Literal:
        return kind
    if origin is list:
        return list[_shape(args[0], model, field)]  # type: ignore[misc]
    if origin is dict:
        return dict[_shape(args[0], model, field), _shape(args[1], model, field)]  # type: ignore[misc]
    if origin in (Union, UnionType):
        return Union[tuple(_shape(arg, model, field) for arg in args)]
    raise TypeError(f"no stored shape for {model}.{field}: {kind!r}")


@lru_cache(maxsize=None)
def _typed_dict(model: type[BaseModel]) -> Any:
    fields = {}
    for name, info in model.model_fields.items():
        kind = _shape(info.annotation, model.__name__, name)
        fields[name] = kind if info.is_required() else NotRequired[kind]
    return TypedDict(model.__name__, fields)  # type: ignore[operator]


@lru_cache(maxsize=None)
def _adapter(table: str) -> TypeAdapter[Any]:
    """{doc id: TypedDict with the model's fields, strict types and ranges} for one table."""
    if table == META_TABLE:
        return TypeAdapter(dict[Literal["1"], Meta])
    return TypeAdapter(dict[DocKey, _typed_dict(TABLES[table])])  # type: ignore[valid-type]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        if pattern == DAY:
            return _("{value} is not a day written YYYY-MM-DD (a day of the calendar, no time)").format(value=_shown(error["input"]))
        if pattern == VERSION:
            return _("{value} is not a version: digits separated by dots, such as 25.1").format(value=_shown(error["input"]))
        if pattern == SHA256_HEX:
            # Not shown: it may be a secret stored in clear.
            return _("not a SHA-256 in hex (64 characters 0-9 a-f): a token is kept hashed, never in clear. "
                     "Revoke it and create a new one")
        if pattern == TOKEN_ID:
            return _("{value} is not a token id such as tok-0001").format(value=_shown(error["input"]))
    return _("{reason} (found {value})").format(reason=error["msg"], value=_shown(error["input"]))


def _where(table: str, key: str, doc: Any) -> str:
    label = doc.get(_LABEL.get(table, "")) if isinstance(doc, dict) else None
    return f"{table} #{key}" + (f" ({label})" if label not in (None, "") else "")


def _field_problems(table: str, docs: Any) -> tuple[list[str], set[str]]:
    if not isinstance(docs, dict):
        return [_("table {table} is not a set of documents").format(table=table)], set()
    try:
        _adapter(table).validate_python(docs, strict=True)
    except ValidationError as exc:
        problems, bad = [], set()
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            key = str(loc[0]) if loc else "?"
            doc = docs.get(key)
            bad.add(key)
            if loc[1:2] == ("[key]",):
                problems.append(
                    _("{table}: document key {key} is not a number 1, 2, 3 ... (how ELP numbers documents)").format(
                        table=table, key=_shown(key))
                )
                continue
            field = ".".join(str(part) for part in loc[1:])
            if not field:
                problems.append(_("{where}: {reason}").format(where=_where(table, key, doc), reason=_reason(error)))
            elif error["type"] == "missing":
                problems.append(_("{where}: field '{field}' is missing").format(where=_where(table, key, doc), field=field))
            else:
                problems.append(
                    _("{where}: field '{field}': {reason}").format(where=_where(table, key, doc), field=field, reason=_reason(error))
                )
        return problems, bad
    return [], set()


def _reference_problems(data: dict[str, Any], bad: dict[str, set[str]]) -> list[str]:
    problems: list[str] = []
    known: dict[tuple[str, str], set[Any]] = {}
    for table, field, target, target_field in REFERENCES:
        docs = data.get(table)
        if not isinstance(docs, dict):
            continue
        if (target, target_field) not in known:
            targets = data.get(target) if isinstance(data.get(target), dict) else {}
            # Malformed documents count as present: they are reported once, not once more per reference.
            known[(target, target_field)] = {
                d[target_field] for d in targets.values() if isinstance(d, dict) and isinstance(d.get(target_field), str)
            }
        present = known[(target, target_field)]
        if table not in bad:  # well-formed documents: one set difference finds whether any is missing
            allowed = present | {None} if (table, field) in _OPTIONAL else present
            if {doc.get(field) for doc in docs.values()} <= allowed:
                continue
        for key, doc in docs.items():
            if key in bad.get(table, ()) or not isinstance(doc, dict):
                continue
            value = doc.get(field)
            if value is None and (table, field) in _OPTIONAL:
                continue
            if value not in present:
                problems.append(
                    _("{where}: {field} {value} does not exist in table {target}").format(
                        where=_where(table, key, doc), field=field, value=value, target=target
                    )
                )
    return problems


# What identifies a document: two documents with the same value make every lookup ambiguous.
# (Emails, seat holders and the activity seq are checked with the portal's rules, case-folded.)
_UNIQUE: list[tuple[str, tuple[str, ...]]] = [
    (T_ORGS, ("id",)), (T_BANKS, ("id",)), (T_POOLS, ("id",)), (T_LICENSES, ("activation_id",)), (T_TEAMS, ("id",)),
    (T_LEDGER, ("id",)), (T_REQUESTS, ("id",)), (T_OUTBOX, ("id",)), (T_PRODUCTS, ("name",)), (T_VENDORS, ("id",)),
    (T_RESTRICTIONS, ("organization", "product")), (T_POOLS, ("organization", "product")),
    (T_TOKENS, ("id",)), (T_TOKENS, ("hash",)),
]
# Numbered 1, 2, 3 ... by the portal (the next is the count + 1), never deleted: a gap would make
# the next one a duplicate.
_NUMBERED = [(T_LEDGER, "id"), (T_REQUESTS, "id"), (T_OUTBOX, "id")]


def _duplicate_problems(data: dict[str, Any], bad: dict[str, set[str]]) -> list[str]:
    """Identifiers that other documents point to must be unique, or a reference is ambiguous."""
    problems: list[str] = []
    for table, fields in _UNIQUE:
        docs = data.get(table)
        if not isinstance(docs, dict):
            continue
        skip = bad.get(table, ())
        if len(fields) == 1:
            values = [d[fields[0]] for k, d in docs.items() if k not in skip]
            if len(set(values)) == len(values):  # the usual case, without counting
                continue
        counts = Counter(tuple(d[f] for f in fields) for k, d in docs.items() if k not in skip)
        problems += [
            _("{table}: {field} {value} is used by {n} documents").format(
                table=table, field="+".join(fields), value="/".join(str(v) for v in values), n=n)
            for values, n in counts.items()
            if n > 1
        ]
    for table, field in _NUMBERED:
        docs = data.get(table)
        if not isinstance(docs, dict):
            continue
        skip = bad.get(table, ())
        missing = gaps({d[field] for k, d in docs.items() if k not in skip})
        if missing:
            problems.append(
                _("{table}: no document with {field} {numbers} (they run 1, 2, 3 ...: the next one would be a duplicate)").format(
                    table=table, field=field, numbers=missing)
            )
    return problems


def gaps(numbers: set[int], limit: int = 10) -> str:
    """The numbers missing from 1 .. max(numbers), the first `limit` of them ("" if none); walks
    the numbers present, never the range (a number may be as large as 2**63 - 1)."""
    missing = max(numbers, default=0) - len(numbers)
    if missing <= 0:
        return ""
    shown: list[int] = []
    expected = 1
    for n in sorted(numbers):
        while expected < n and len(shown) < limit:
            shown.append(expected)
            expected += 1
        if len(shown) >= limit:
            break
        expected = n + 1
    text = ", ".join(str(n) for n in shown)
    return text + (_(" and {n} more").format(n=missing - len(shown)) if missing > len(shown) else "")


def _table_problems(data: dict[str, Any]) -> list[str]:
    return [
        _("table {table} is not an ELP table (a misspelt name?): ELP would ignore it").format(table=_shown(name))
        for name in data
        if name != META_TABLE and name not in TABLES
    ]


def damage(data: dict[str, Any]) -> tuple[list[str], dict[str, set[str]]]:
    """Every structural problem of a parsed store, one sentence each, and the ids of the
    documents that are malformed (per table), which the portal's rules leave out."""
    problems: list[str] = _table_problems(data)
    bad: dict[str, set[str]] = {}
    for table in (META_TABLE, *TABLES):
        if table in data:
            found, keys = _field_problems(table, data[table])
            problems += found
            if keys:
                bad[table] = keys
    problems += _reference_problems(data, bad)
    problems += _duplicate_problems(data, bad)
    return problems, bad


def written_problems(changes: dict[str, dict[str, Any]]) -> list[str]:
    """The problems of documents about to be written (each validated as it is written, so a
    snapshot's tables need no second look when read back: their CRC says they are these bytes)."""
    found: list[str] = []
    for table, docs in changes.items():
        if table not in TABLES:
            found.append(_("table {table} is not one of ELP's").format(table=table))
            continue
        put = {key: doc for key, doc in docs.items() if doc is not None}
        if put:
            found += _field_problems(table, put)[0]
    return found


def problems(
    data: dict[str, Any], rules: Callable[[dict[str, Any]], list[str]] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """Every problem of a parsed store, one sentence each: its structure (fields, types, ranges,
    references, identifiers), then `rules` (the portal's) on its well-formed documents; and those
    documents. Opening a store, `elp check` and a restore all judge a file by this one list."""
    found, bad = damage(data)
    clean = without(data, bad)
    if rules is not None:
        found += rules(clean)
    return found, clean


def read_json(raw: bytes) -> tuple[Any, list[str]]:
    """The parsed file, and every key it holds twice (one sentence each): orjson keeps the last
    of two equal keys without a word, and the next commit would drop the other for good.

    ELP writes its files with orjson.dumps, so the bytes of a file it wrote are exactly
    orjson.dumps of what they parse to (`_meta` first included: the order of keys is kept). Only
    a file whose bytes differ (hand-edited, pretty-printed, a key twice, a number beyond 64 bits)
    is parsed a second time, with the json module, keeping every key. Raises ValueError (with
    orjson's reason) if it is not JSON."""
    data = orjson.loads(raw)
    if orjson.dumps(data) == raw:
        return data, []
    twice: list[tuple[dict[str, Any], str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            for key, _value in items:
                if key in seen:
                    twice.append((obj, key))
                seen.add(key)
        return obj

    try:
        exact = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)
    except (ValueError, RecursionError):  # beyond the json module (4300-digit numbers): orjson's reading stands
        return data, []
    return exact, _where_twice(exact, twice)


def _where_twice(data: Any, twice: list[tuple[dict[str, Any], str]]) -> list[str]:
    if not twice:
        return []
    paths: dict[int, tuple[str, ...]] = {}

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            paths[id(value)] = path
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for n, item in enumerate(value):
                walk(item, (*path, str(n)))

    walk(data, ())
    found = []
    for obj, key in twice:
        path = paths.get(id(obj))
        if path is None:  # inside a document that was itself written twice
            found.append(_("key {key} appears twice in the file").format(key=_shown(key)))
        elif not path:
            found.append(_("table {table} appears twice in the file").format(table=_shown(key)))
        elif len(path) == 1:
            found.append(_("{table}: document #{key} appears twice").format(table=path[0], key=key))
        else:
            table = data.get(path[0])
            where = _where(path[0], path[1], table.get(path[1]) if isinstance(table, dict) else None)
            field = ".".join((*path[2:], key))
            found.append(_("{where}: field '{field}' appears twice").format(where=where, field=field))
    return found


def without(data: dict[str, Any], bad: dict[str, set[str]]) -> dict[str, Any]:
    """The tables minus the malformed documents (and minus tables that are not tables)."""
    clean: dict[str, Any] = {}
    for table, docs in data.items():
        if not isinstance(docs, dict):
            continue
        skip = bad.get(table, set())
        clean[table] = {k: d for k, d in docs.items() if k not in skip} if skip else docs
    return clean


def listed(problems: Iterable[str], limit: int = 3) -> str:
    items = list(problems)
    shown = "; ".join(items[:limit])
    return shown + (_(" (and {n} more)").format(n=len(items) - limit) if len(items) > limit else "")
