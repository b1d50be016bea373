"""What `elp serve` exposes: the Portal methods a client may call, how a call's arguments are
bound to a method, and the OpenAPI document that describes them.

Every public Portal method except `wire.LOCAL_ONLY` is a route `POST /v1/call/{method}`; its
request schema is built from the method's own signature (a pydantic model per method, named
`<method>_args`), so a new portal operation is on the wire, and in the document, without a
line here. The arguments are checked by name only: the portal checks the values itself, as it
does for the CLI (which hands it text) and the screens.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.json_schema import models_json_schema

from elp_tui import wire
from elp_tui.i18n import _
from elp_tui.portal import Portal
from elp_tui.portal.authority import public_methods, takes_actor

# The argument that names the acting user, per method shape: `actor` first, or sign_in's `email`.
ACTOR_ARGS = {"sign_in": "email"}


class BadCall(Exception):
    """A call this server cannot bind to a method: unknown name, unknown or missing argument.
    `status`: 404 for an unknown method, 400 otherwise."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@functools.cache
def methods() -> dict[str, Callable[..., Any]]:
    """Every Portal method a client may call, by name."""
    return {name: method for name, method in sorted(public_methods(Portal).items()) if name not in wire.LOCAL_ONLY}


def actor_arg(name: str) -> str | None:
    """The argument of `name` that says who acts (`actor`, sign_in's `email`), or None."""
    if name in ACTOR_ARGS:
        return ACTOR_ARGS[name]
    return "actor" if takes_actor(methods()[name]) else None


def signature(name: str) -> inspect.Signature:
    return inspect.signature(methods()[name])


def bind(name: str, args: dict[str, Any]) -> inspect.BoundArguments:
    """`args` bound to the method's parameters (self excluded), or BadCall saying what is wrong."""
    if name not in methods():
        raise BadCall(_("There is no method {name!r} on this server: GET /openapi.json lists them.").format(name=name), 404)
    params = list(signature(name).parameters.values())[1:]
    known = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    unknown = sorted(set(args) - known)
    if unknown:
        raise BadCall(_("{method} takes no argument {names}: it takes {known}.").format(
            method=name, names=", ".join(unknown), known=", ".join(sorted(known)) or "-"))
    missing = [p.name for p in params if p.default is p.empty and p.name not in args
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if missing:
        raise BadCall(_("{method} needs the argument(s) {names}.").format(method=name, names=", ".join(missing)))
    return inspect.Signature(params).bind(**args)


def schema_problem(name: str, arguments: dict[str, Any]) -> str | None:
    """What in `arguments` does not fit `name`'s request schema (its signature's types), in one
    line, or None. Asked only when the portal failed on them with something else than a refusal:
    the portal's own checks (and messages) come first, as in-process."""
    from pydantic import ValidationError

    try:
        args_model(name).model_validate(arguments)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "args"
        return _("{method}: the argument {name} is not of its type: {problem}.").format(
            method=name, name=where, problem=first.get("msg", "invalid"))
    except Exception:
        return None
    return None


# -- the OpenAPI document ------------------------------------------------------------------
REF = "#/components/schemas/{model}"


def _hints(name: str) -> dict[str, Any]:
    method = methods()[name]
    try:
        return typing.get_type_hints(method)
    except Exception:  # an annotation that cannot be resolved: described as any value
        return {}


@functools.cache
def args_model(name: str) -> type[BaseModel]:
    """A pydantic model of `name`'s keyword arguments (what `args` holds), from its signature."""
    hints = _hints(name)
    fields: dict[str, Any] = {}
    for param in list(signature(name).parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is param.empty else param.default
        if param.name == actor_arg(name):
            annotation, default = str | None, None  # the server fills it in: the token's user
        if not _describable(annotation):
            annotation = Any
        fields[param.name] = (annotation, default)
    doc = inspect.getdoc(methods()[name]) or ""
    return create_model(f"{name}_args", __config__=ConfigDict(arbitrary_types_allowed=True),
                        __doc__=doc or None, **fields)


def _describable(annotation: Any) -> bool:
    """Whether pydantic can write a JSON schema for `annotation` (Any otherwise)."""
    try:
        create_model("probe", value=(annotation, ...)).model_json_schema()
        return True
    except Exception:
        return False


def _tagged(schema: Any, models: set[str]) -> Any:
    """A schema of plain JSON values turned into one of the wire's tagged values: a date is
    {"$date": ...}, a datetime {"$datetime": ...}, a tuple {"$tuple": [...]}, a portal model
    {"$model": NAME, "data": <its schema>}, an enum {"$enum": NAME, "value": ...}."""
    if isinstance(schema, list):
        return [_tagged(item, models) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name in wire.ENUMS:
            return _object({"$enum": {"const": name}, "value": {"$ref": ref}})
        if name in models:
            return _object({"$model": {"const": name}, "data": {"$ref": ref}})
        return schema
    if schema.get("type") == "string" and schema.get("format") in ("date", "date-time"):
        tag = "$date" if schema["format"] == "date" else "$datetime"
        return _object({tag: {"type": "string", "format": schema["format"]}})
    if schema.get("type") == "array" and "prefixItems" in schema:
        inner = {k: _tagged(v, models) for k, v in schema.items()}
        return _object({"$tuple": inner})
    return {key: _tagged(value, models) for key, value in schema.items()}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _error_schema() -> dict[str, Any]:
    return _object({"error": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "description": "the portal's exception class (PermissionDenied, StaleQuote, ...)"},
            "message": {"type": "string", "description": "one line written for the user"},
            "field": {"type": ["string", "null"]},
            "fresh": {"description": "StaleQuote: the quote as it stands now (a tagged $model), or null"},
        },
        "required": ["type", "message"],
    }})


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": "malformed JSON, a value the wire format does not make, an unknown or missing argument",
    "401": "no token, an unknown token, a revoked token, a token of an inactive user",
    "403": "refused: not allowed (the portal's PermissionDenied), or acting as another user than the token's",
    "404": "unknown method, or the portal's NotFound",
    "409": "StaleQuote: the data changed since the quote; `fresh` is the quote as it stands now",
    "413": "the request body is larger than the limit",
    "422": "refused by a rule (InvalidInput, RuleViolation, ...)",
    "429": "too many failed authentications from this address: wait a minute",
    "500": "internal error (logged by the server under the id in the message; no traceback here)",
    "503": "the store cannot be read or locked now",
}


@functools.cache
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this server: every route, every method's arguments, the
    portal's models (the typed quotes) as components."""
    models = dict(wire.MODELS)
    (_, defs) = models_json_schema([(model, "serialization") for model in models.values()],
                                   ref_template=REF)
    components: dict[str, Any] = dict(defs.get("$defs", {}))
    errors = {code: {"description": text, **_json_body({"$ref": REF.format(model="Error")})} for code, text in ERRORS.items()}
    components["Error"] = _error_schema()
    security = [{"bearer": []}]
    paths: dict[str, Any] = {
        "/v1/health": {"get": {"summary": "Whether the server answers (no token needed)", "security": [],
                               "responses": {"200": {"description": "ok", **_json_body(_object({"ok": {"const": True}}))}}}},
        "/v1/whoami": {"get": {"summary": "The token's user, the server's today and the store's version",
                               "responses": {"200": {"description": "the user", **_json_body(_object({
                                   "user": {"type": "object"},
                                   "today": _object({"$date": {"type": "string", "format": "date"}}),
                                   "version": {"type": "string"}}))}, "401": errors["401"], "429": errors["429"]}}},
        "/v1/version": {"get": {"summary": "A value that changes with every commit, by anyone",
                                "responses": {"200": {"description": "the version", **_json_body(_object({"version": {"type": "string"}}))},
                                              "401": errors["401"]}}},
        "/v1/events": {"get": {"summary": "Server-sent events: `event: change` with `data: {\"version\": ...}` at once and on every commit; a `: keep-alive` comment every 15 s",
                               "responses": {"200": {"description": "an event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                                             "401": errors["401"]}}},
    }
    for name in methods():
        model = args_model(name)
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        for key, value in schema.pop("$defs", {}).items():
            components.setdefault(key, value)
        args_schema = _tagged(schema, set(models))
        components[f"{name}_args"] = args_schema
        who = actor_arg(name)
        note = (f" `{who}` may be left out: the server acts as the token's user (naming anyone else is refused, 403)."
                if who else "")
        doc = (inspect.getdoc(methods()[name]) or "").strip()
        paths[f"/v1/call/{name}"] = {"post": {
            "operationId": name,
            "summary": doc.splitlines()[0] if doc else name,
            "description": (doc + "\n\n" if doc else "") + "Arguments by name, each a tagged wire value." + note,
            "requestBody": {"required": True, **_json_body(_object({"args": {"$ref": REF.format(model=f"{name}_args")}}))},
            "responses": {"200": {"description": "the method's result, a tagged wire value",
                                  **_json_body(_object({"result": {}}))},
                          **{code: errors[code] for code in ("400", "401", "403", "404", "409", "413", "422", "429", "500", "503")}},
        }}
    # The models' own schemas are plain JSON (what `data` of a $model holds): only the arguments
    # are tagged, above.
    return {
        "openapi": "3.1.0",
        "info": {"title": "ELP, the Enterprise License Portal", "version": wire.API_VERSION,
                 "description": "Every portal operation over HTTP, with quote and commit as two calls. Values are "
                                "JSON, with the tags of elp_tui/wire.py for dates, tuples, typed quotes and enums."},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "an API token (`elp tokens create`)"}}},
        "security": security,
    }
