"""The wire format between `elp serve` and its clients (the app and the CLI through httpx).

One rule: what a Portal method returns in-process is what the client's method returns, the same
Python values. JSON carries most of it as is; the few values JSON cannot tell apart are tagged:

- a date `{"$date": "2026-11-23"}`, a datetime `{"$datetime": "..."}`, a tuple `{"$tuple": [...]}`;
- a dict whose keys are not all text, or that has a key starting with "$": `{"$map": [[k, v], ...]}`;
- a typed quote or any other pydantic model of the portal `{"$model": "RenewQuote", "data": {...}}`
  (`data` is the model's own JSON, `model_dump(mode="json")`, validated back by the model: the
  typed quote *is* the wire format, and its JSON schema is in the OpenAPI document);
- a named tuple of the portal (a CSV row) `{"$row": "CsvRow", "fields": [...]}`;
- an enum member `{"$enum": "LicenseType", "value": "node-lock"}`.

Only the classes registered here are ever built from the wire (`MODELS`, `ROWS`, `ENUMS`): a
name the server does not know is refused, never imported.

A call is `POST /v1/call/{method}` with `{"args": {name: value, ...}}` (keyword arguments, tagged
values); the answer is `{"result": value}` (200) or `{"error": {...}}` (4xx/5xx) made by
`encode_error`, which the client turns back into the same exception class with the same message
(`decode_error`). The acting user is never taken from the body: the server acts as the token's
user (`actor` / `email` in `args` must be that user or absent).

This module knows no HTTP library: the server (elp_tui.server) and the client (elp_tui.remote)
both use it, and it never imports textual.
"""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, ValidationError

from elp_tui.errors import PortalError

API_VERSION = "v1"
# The most a request body may hold (a batch of 10,000 activation IDs is about 200 KB).
MAX_BODY_BYTES = 4 * 1024 * 1024


class WireError(ValueError):
    """A value on the wire that is not one this format makes (a hostile or broken peer)."""


def _registry() -> tuple[dict[str, type[BaseModel]], dict[str, type], dict[str, type[enum.Enum]]]:
    """Every pydantic model, named tuple and enum a Portal method takes or returns."""
    from elp_tui import models
    from elp_tui.portal import batches, keys, quotes
    from elp_tui.portal import credits as credits_mod

    found_models: dict[str, type[BaseModel]] = {}
    rows: dict[str, type] = {}
    enums: dict[str, type[enum.Enum]] = {}
    for module in (quotes, batches, keys, credits_mod, models):
        for name, value in vars(module).items():
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            if issubclass(value, BaseModel):
                found_models[name] = value
            elif issubclass(value, enum.Enum):
                enums[name] = value
            elif issubclass(value, tuple) and hasattr(value, "_fields"):
                rows[name] = value
    return found_models, rows, enums


MODELS, ROWS, ENUMS = _registry()


def encode(value: Any) -> Any:
    """A Python value as JSON-ready data (see the module docstring for the tags)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, enum.Enum):
            return {"$enum": type(value).__name__, "value": value.value}
        return value
    if isinstance(value, enum.Enum):
        return {"$enum": type(value).__name__, "value": value.value}
    if isinstance(value, BaseModel):
        name = type(value).__name__
        if MODELS.get(name) is not type(value):
            raise WireError(f"{name} is not a model the wire carries")
        return {"$model": name, "data": value.model_dump(mode="json")}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        if hasattr(value, "_fields"):
            name = type(value).__name__
            if ROWS.get(name) is not type(value):
                raise WireError(f"{name} is not a row the wire carries")
            return {"$row": name, "fields": [encode(v) for v in value]}
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, (list, set, frozenset)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"$map": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, PurePath):
        return str(value)
    raise WireError(f"a {type(value).__name__} cannot be sent")


def decode(data: Any) -> Any:
    """The Python value `encode` was given (raises WireError on anything else)."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        raise WireError(f"a {type(data).__name__} is not JSON")
    tags = [k for k in data if k.startswith("$")]
    if not tags:
        return {k: decode(v) for k, v in data.items()}
    tag = tags[0]
    try:
        if tag == "$date" and len(data) == 1:
            return dt.date.fromisoformat(data[tag])
        if tag == "$datetime" and len(data) == 1:
            return dt.datetime.fromisoformat(data[tag])
        if tag == "$tuple" and len(data) == 1:
            return tuple(decode(v) for v in data[tag])
        if tag == "$map" and len(data) == 1:
            return {_key(decode(k)): decode(v) for k, v in data[tag]}
        if tag == "$model" and set(data) == {"$model", "data"}:
            cls = MODELS.get(data["$model"])
            if cls is None:
                raise WireError(f"{data['$model']!r} is not a model the wire carries")
            return cls.model_validate(data["data"])
        if tag == "$row" and set(data) == {"$row", "fields"}:
            cls = ROWS.get(data["$row"])
            if cls is None:
                raise WireError(f"{data['$row']!r} is not a row the wire carries")
            return cls(*(decode(v) for v in data["fields"]))
        if tag == "$enum" and set(data) == {"$enum", "value"}:
            cls = ENUMS.get(data["$enum"])
            if cls is None:
                raise WireError(f"{data['$enum']!r} is not an enum the wire carries")
            return cls(data["value"])
    except WireError:
        raise
    except (TypeError, ValueError, KeyError, ValidationError) as exc:
        raise WireError(f"a malformed {tag} value: {exc}") from None
    raise WireError(f"an unknown tag {tag!r}")


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# -- errors ---------------------------------------------------------------------------------
def _error_classes() -> dict[str, type[PortalError]]:
    """Every PortalError subclass a client may have to raise, by name."""
    import elp_tui.portal  # noqa: F401  (loads every module that defines one)
    import elp_tui.store.db  # noqa: F401

    found: dict[str, type[PortalError]] = {}
    todo: list[type[PortalError]] = [PortalError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found


# The attributes of an error that travel with it (besides its message and `field`).
ERROR_ATTRS = ("organization", "actor", "operation", "details", "activation_ids", "fresh", "problems", "problem")


def encode_error(exc: PortalError) -> dict[str, Any]:
    """An error as `{"error": {...}}`: its class name, its one-line message, its field, its data."""
    body: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc), "field": exc.field}
    for name in ERROR_ATTRS:
        if name in vars(exc):
            try:
                body[name] = encode(vars(exc)[name])
            except WireError:
                continue
    return {"error": body}


def decode_error(body: Any, *, default: type[PortalError] = PortalError) -> PortalError:
    """The exception an `{"error": {...}}` body describes: the same class (or the nearest known
    base, `default` when unknown) with the same message; its attributes set as they were."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return default(str(body)[:500])
    cls = _ERRORS.get(str(error.get("type")), default)
    exc = cls.__new__(cls)
    PortalError.__init__(exc, error["message"], field=error.get("field") if isinstance(error.get("field"), str) else None)
    for name in ERROR_ATTRS:
        if name in error:
            try:
                setattr(exc, name, decode(error[name]))
            except WireError:
                continue
    for name, value in (("fresh", None), ("logged", True), ("activation_ids", []), ("problems", [])):
        if not hasattr(exc, name):
            setattr(exc, name, value)
    exc.logged = True  # the server's portal wrote the refusal's activity entry; a client never does
    return exc


_ERRORS = _error_classes()


# Public Portal methods a client does not call on the server: jobs and set-up that belong to the
# host that holds the store (delivering mail, backups and restores of its files, first set-up,
# SSH enrolment and sign-in by key, the integrity check), and pure helpers the client computes
# itself. `elp serve` refuses them; the client runs the pure ones locally.
LOCAL_ONLY = frozenset({
    "deliver_outbox", "backup", "restore", "quote_restore", "init_organization", "setup_vendor", "enrol",
    "ssh_sign_in", "user_for_key", "invariant_problems", "check", "mail_due", "queue_reminders", "token_user",
    "version", "today", "license_row_actions", "license_term",
})
