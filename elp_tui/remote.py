"""The client of `elp serve`: a Portal whose operations run on a server, over HTTP (httpx).

`RemotePortal(server_url, token)` offers every public Portal method, with the same signatures,
so the CLI and every screen use it unchanged:

- an operation (`generate`, `list_licenses`, `quote_renew`, ...) is `POST /v1/call/{method}`
  with its arguments bound to their names by the Portal method's own signature (a positional
  call works as in-process), sent and read back in the wire format (elp_tui.wire): the result is
  the very value the Portal would return (a typed quote, a date, a CSV row), and a refusal is the
  same exception class with the same message (a StaleQuote with its fresh quote, AdminRequired,
  NotFound...). The server acts as the token's user: `actor` is that user's email.
- the pure helpers (`license_row_actions`, `license_term`) run here, as they read no store;
- `today()` is the server's (from /v1/whoami, asked again once a minute);
- `version()` is fed by a thread reading the server's announcements (`GET /v1/events`,
  server-sent events), so the app's live refresh sees another session's commit as soon as the
  server does; while that stream is down, `GET /v1/version`, else the last value seen. The
  thread reconnects with a backoff, and `connected` says whether the server is there now (the
  app tells its user it lost the server, and that it is back).
- what belongs to the host that holds the store (set-up, backups, the check, mail delivery, SSH
  sign-in: wire.LOCAL_ONLY) is refused with one line that says to run it there.

A server that cannot be reached, or whose answer was lost, is `ServerUnavailable`: one line
naming the server and what to do, never a traceback; when the request may have reached the
server before the answer was lost, the line says the change may have been made.

No textual import here: the CLI uses this module without loading the UI.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import re
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import orjson

if "httpx" not in sys.modules:
    # httpx loads its own command line (click, rich, pygments: about 40 ms) when they are installed,
    # as textual's are; the CLI, a client of a server, needs none of it (nor rich) to start.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx  # noqa: E402

from elp_tui import wire
from elp_tui.errors import PortalError
from elp_tui.i18n import _
from elp_tui.portal import Portal
from elp_tui.portal.authority import public_methods
from elp_tui.portal.credits import license_row_actions, license_term
from elp_tui.portal.errors import InvalidInput, SignInRefused

# How long a request may take: a connection is made within CONNECT_S; a large batch may take a while.
CONNECT_S = 5.0
ANSWER_S = 120.0
# `version()` while the event stream is down asks GET /v1/version, but waits no longer than this.
VERSION_S = 2.0
# The event stream's read timeout: the server sends a keep-alive every 15 s, so a silence this
# long means the connection is gone even if no socket said so.
EVENTS_SILENCE_S = 40.0
# Reconnecting: the first retry after RETRY_FIRST_S, doubling, at most RETRY_MAX_S apart.
RETRY_FIRST_S = 0.25
RETRY_MAX_S = 4.0
# How long the server's today is trusted before it is asked again (it changes at midnight).
TODAY_S = 60.0

# The Portal methods that only read (a lost answer cannot have changed anything).
READ_PREFIXES = ("list_", "quote_", "my_")
READS = frozenset({
    "activity", "bank_details", "dashboard", "export_csv", "flag_expiring_banks", "license_actions", "license_details",
    "licenses_expiring", "organization_name", "outbox", "report", "seats_overview", "team_details", "user_details",
    "vendor_contact", "vendor_outbox", "vendor_request", "vendor_requests", "vendor_settings", "open_admin_page",
})


class ServerUnavailable(PortalError):
    """The ELP server could not be reached, or its answer was lost: one line saying which server
    and what to do (and, for a change whose answer was lost, that it may have been made)."""


class HostOnly(PortalError):
    """An operation of the host that holds the store (set-up, backup, check, mail delivery,
    SSH sign-in): refused through a server, saying to run it there."""


def is_read(method: str) -> bool:
    return method.startswith(READ_PREFIXES) or method in READS


def check_server_url(url: str) -> str:
    """The server's address as given (ELP_SERVER, --server), without a trailing slash; anything
    that is not an http(s) address is refused, saying what one looks like."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput(_("{url} is not an ELP server address: give it as http://HOST:PORT or https://HOST "
                             "(ELP_SERVER or --server).").format(url=repr(text)), field="server")
    return text.rstrip("/")


def _reason(exc: BaseException) -> str:
    """A transport error in a few words ("connection refused"), without errno numbers."""
    if isinstance(exc, httpx.TimeoutException):
        return _("no answer in time")
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        detail = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text.rpartition("certificate verify failed:")[2]).strip()
        return _("its TLS certificate is not trusted here: {detail}; if it is right, point SSL_CERT_FILE at the "
                 "certificate of its authority").format(detail=detail or "?")
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text.splitlines()[-1] if text.splitlines() else text).strip().rstrip(".")
    return (text[:1].lower() + text[1:]) if text else type(exc).__name__


def _sendable(value: Any) -> Any:
    """An argument as the wire carries it: a generator or other one-pass iterable becomes a list
    (the Portal accepts any iterable there; the wire needs the values)."""
    if isinstance(value, (str, bytes, dict, list, tuple, set, frozenset)) or value is None:
        return value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (Iterator, range)) or (isinstance(value, Iterable) and not hasattr(value, "model_dump")):
        return list(value)
    return value


def _operation(method: str) -> Callable[..., Any]:
    """The RemotePortal method that runs Portal.`method` on the server."""
    original = getattr(Portal, method)
    signature = inspect.signature(original)

    def call(self: RemotePortal, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)  # a wrong call fails here, as it would in-process
        arguments = {name: _sendable(value) for name, value in list(bound.arguments.items())[1:]}
        return self.call(method, arguments)

    functools.update_wrapper(call, original, assigned=("__name__", "__doc__"), updated=())
    call.__qualname__ = f"RemotePortal.{method}"
    call.__signature__ = signature  # type: ignore[attr-defined]
    return call


def _host_only(method: str) -> Callable[..., Any]:
    original = getattr(Portal, method)

    def refused(self: RemotePortal, *args: Any, **kwargs: Any) -> Any:
        raise HostOnly(_("{operation} runs on the host that holds the store, not through the server {url}: run it "
                         "there (elp --store PATH, or --db URL).").format(operation=method, url=self.server_url))

    functools.update_wrapper(refused, original, assigned=("__name__", "__doc__"), updated=())
    refused.__qualname__ = f"RemotePortal.{method}"
    refused.__signature__ = inspect.signature(original)  # type: ignore[attr-defined]
    return refused


# The LOCAL_ONLY methods a client still answers: itself (today, version) or by pure computation.
ANSWERED_HERE = frozenset({"today", "version", "license_row_actions", "license_term"})


class RemotePortal:
    """Every Portal operation, run by the ELP server at `server_url` as the user of `token`."""

    def __init__(self, server_url: str, token: str):
        self.server_url = check_server_url(server_url)
        self.token = token or ""
        # Set by the CLI like a Portal's; the server records the token a change came through.
        self.via_key: str | None = None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                   "User-Agent": "elp-client"}
        self._http = httpx.Client(base_url=self.server_url, headers=headers,
                                  timeout=httpx.Timeout(ANSWER_S, connect=CONNECT_S), follow_redirects=False)
        self._events_http: httpx.Client | None = None
        self._lock = threading.Lock()
        self._user: dict[str, Any] | None = None
        self._today: tuple[dt.date, float] | None = None
        self._version: object = None
        self._connected: bool | None = None
        self._events: threading.Thread | None = None
        self._events_socket: socket.socket | None = None
        self._streaming = False  # the event stream is open: its versions are current
        self._closed = threading.Event()

    # -- the wire ---------------------------------------------------------------------------
    def call(self, method: str, arguments: dict[str, Any] | None = None) -> Any:
        """`POST /v1/call/{method}`: its result, or its refusal raised as the same exception."""
        try:
            body = orjson.dumps({"args": {k: wire.encode(v) for k, v in (arguments or {}).items()}})
        except (wire.WireError, TypeError) as exc:
            raise InvalidInput(_("{operation}: an argument cannot be sent to the server ({problem}). Nothing was "
                                 "changed.").format(operation=method, problem=exc)) from None
        response = self._send("POST", f"/{wire.API_VERSION}/call/{method}", method, content=body,
                              headers={"Content-Type": "application/json"})
        return self._result(response, method)

    def _send(self, verb: str, path: str, operation: str, **kwargs: Any) -> httpx.Response:
        """One request; a transport failure as ServerUnavailable, honest about what may have happened."""
        try:
            return self._http.request(verb, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
                httpx.WriteTimeout, httpx.UnsupportedProtocol) as exc:
            # The request never got through whole: the server did nothing with it.
            raise ServerUnavailable(self._unreachable(exc)) from None
        except httpx.HTTPError as exc:
            raise ServerUnavailable(self._lost(operation, _reason(exc))) from None
        except OSError as exc:
            raise ServerUnavailable(self._unreachable(exc)) from None

    def _unreachable(self, exc: BaseException) -> str:
        return _("Cannot reach the ELP server at {url} ({reason}): nothing was changed. Check that 'elp serve' runs "
                 "there and that ELP_SERVER (or --server) is right, then try again.").format(
            url=self.server_url, reason=_reason(exc))

    def _lost(self, operation: str, reason: str) -> str:
        if is_read(operation):
            return _("The ELP server at {url} stopped answering ({reason}); nothing was changed. Try again when it "
                     "is back.").format(url=self.server_url, reason=reason)
        return _("The ELP server at {url} stopped answering after it was sent {operation} ({reason}): the change "
                 "may or may not have been made. Look (reload, or list) before trying again.").format(
            url=self.server_url, operation=operation, reason=reason)

    def _result(self, response: httpx.Response, operation: str) -> Any:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and "result" in body:
            try:
                return wire.decode(body["result"])
            except wire.WireError:
                raise ServerUnavailable(self._unreadable(operation, response)) from None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            default = SignInRefused if response.status_code == 401 else PortalError
            error = wire.decode_error(body, default=default)
            if response.status_code >= 500 and type(error) is PortalError and not is_read(operation):
                # An error the server did not foresee: it may have struck after the commit.
                raise ServerUnavailable(_("The ELP server at {url} failed on {operation}: {error}. The change may or "
                                          "may not have been made: look (reload, or list) before trying again.")
                                        .format(url=self.server_url, operation=operation, error=error))
            raise error
        raise ServerUnavailable(self._unreadable(operation, response))

    def _unreadable(self, operation: str, response: httpx.Response) -> str:
        status = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        if is_read(operation) or response.status_code in (400, 401, 403, 404, 405, 413, 429):
            return _("The ELP server at {url} gave an answer this client cannot read ({status}): is it an ELP "
                     "server of this version? Nothing was changed.").format(url=self.server_url, status=status)
        return _("The ELP server at {url} gave an answer this client cannot read ({status}) to {operation}: the "
                 "change may or may not have been made. Look (reload, or list) before trying again.").format(
            url=self.server_url, status=status, operation=operation)

    def _get(self, path: str, operation: str, **kwargs: Any) -> Any:
        response = self._send("GET", path, operation, **kwargs)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        if response.status_code != 200:
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                default = SignInRefused if response.status_code == 401 else PortalError
                raise wire.decode_error(body, default=default)
            raise ServerUnavailable(self._unreadable(operation, response))
        try:
            return wire.decode(body)
        except wire.WireError:
            raise ServerUnavailable(self._unreadable(operation, response)) from None

    # -- who, when ----------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        """The token's user (its public document), as the server says it now; today and the
        version come with it."""
        answer = self._get(f"/{wire.API_VERSION}/whoami", "whoami")
        if not isinstance(answer, dict) or not isinstance(answer.get("user"), dict):
            raise ServerUnavailable(_("The ELP server at {url} did not say whose token this is: is it an ELP server "
                                      "of this version?").format(url=self.server_url))
        with self._lock:
            self._user = answer["user"]
            if isinstance(answer.get("today"), dt.date):
                self._today = (answer["today"], time.monotonic())
            if answer.get("version") is not None and not self._streaming:
                self._version = answer["version"]
        return dict(answer["user"])

    @property
    def user(self) -> dict[str, Any]:
        """The token's user (asked once; `whoami()` asks again)."""
        return dict(self._user) if self._user is not None else self.whoami()

    def today(self) -> dt.date:
        """The server's today (its clock is the one the rules run on)."""
        known = self._today
        if known is None or time.monotonic() - known[1] > TODAY_S:
            try:
                self.whoami()
            except PortalError:
                if known is None:
                    raise
            known = self._today
        if known is None:
            raise ServerUnavailable(_("The ELP server at {url} did not say its date: is it an ELP server of this "
                                      "version?").format(url=self.server_url))
        return known[0]

    # -- the version signal and the connection ----------------------------------------------
    def version(self) -> object:
        """A value that changes with every commit on the server, by anyone: the last one the
        event stream announced (started on the first call); until the stream is open, the
        server's answer to GET /v1/version; while the server is lost, the last value seen (None:
        never reached)."""
        self._start_events()
        if self._streaming or self._connected is False:
            return self._version  # streaming: current; lost: the reader reconnects, and says when
        try:
            answer = self._http.get(f"/{wire.API_VERSION}/version", timeout=VERSION_S)
            version = orjson.loads(answer.content).get("version") if answer.status_code == 200 else None
        except (httpx.HTTPError, OSError, RuntimeError, orjson.JSONDecodeError, AttributeError):
            version = None  # unreachable (or closed): the last value seen
        if version is not None and not self._streaming:
            with self._lock:
                self._version = version
        return self._version

    @property
    def connected(self) -> bool | None:
        """Whether the server is there now, as the event stream knows it (None: not known yet)."""
        return self._connected

    def _start_events(self) -> None:
        with self._lock:
            if self._events is not None or self._closed.is_set():
                return
            self._events = threading.Thread(target=self._read_events, name="elp-server-events", daemon=True)
        self._events.start()

    def _set_connected(self, value: bool) -> None:
        self._connected = value

    def _read_events(self) -> None:
        """Read the server's announcements until closed; reconnect with a backoff when they stop."""
        self._events_http = httpx.Client(
            base_url=self.server_url, follow_redirects=False,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream", "User-Agent": "elp-client"},
            timeout=httpx.Timeout(EVENTS_SILENCE_S, connect=CONNECT_S),
        )
        delay = RETRY_FIRST_S
        while not self._closed.is_set():
            try:
                with self._events_http.stream("GET", f"/{wire.API_VERSION}/events") as response:
                    if response.status_code == 200:
                        self._events_socket = _socket_of(response)
                        for line in response.iter_lines():
                            if self._closed.is_set():
                                break
                            if line.startswith("data:"):
                                self._announced(line[5:].strip())
                                delay = RETRY_FIRST_S
                    elif response.status_code in (401, 403):
                        # The token was revoked meanwhile: the server is there, the next call says why.
                        self._set_connected(True)
            except (httpx.HTTPError, OSError, RuntimeError, ValueError):
                pass  # the server went away (or this portal was closed): below
            finally:
                self._streaming = False
                self._events_socket = None
            if self._closed.is_set():
                break
            if not self._reachable():
                self._set_connected(False)
            self._closed.wait(delay)
            delay = min(delay * 2, RETRY_MAX_S)
        self._events_http.close()

    def _reachable(self) -> bool:
        """The stream stopped: is the server still answering (a stream closed by a proxy) or gone?"""
        try:
            return self._http.get(f"/{wire.API_VERSION}/health", timeout=VERSION_S).status_code == 200
        except (httpx.HTTPError, OSError, RuntimeError):
            return False

    def _announced(self, data: str) -> None:
        try:
            version = orjson.loads(data).get("version")
        except (orjson.JSONDecodeError, AttributeError):
            return
        if version is None:
            return
        with self._lock:
            self._version = version
            self._streaming = True
        self._set_connected(True)

    def close(self) -> None:
        """Stop reading the server's announcements and close the connections."""
        self._closed.set()
        sock = self._events_socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the reader blocked on it
            except OSError:
                pass
        self._http.close()

    def __enter__(self) -> "RemotePortal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- computed here ----------------------------------------------------------------------
    @staticmethod
    def license_term(row: dict[str, Any]) -> int:
        """What a renewal of this license (a `list_licenses` row) repeats by default: its current term in months."""
        return license_term(row)

    @staticmethod
    def license_row_actions(row: dict[str, Any]) -> dict[str, str | None]:
        """{"renew" | "return" | "assign": None when available, else the reason the commit would give}."""
        return license_row_actions(row)

    def __repr__(self) -> str:
        return f"RemotePortal({self.server_url!r})"


def _socket_of(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    try:
        return stream.get_extra_info("socket") if stream is not None else None
    except Exception:  # noqa: BLE001 - a stream that cannot say (then close() waits for the next keep-alive)
        return None


for _name in public_methods(Portal):
    if _name in ANSWERED_HERE:
        continue
    setattr(RemotePortal, _name, _host_only(_name) if _name in wire.LOCAL_ONLY else _operation(_name))
del _name


def state_path(server_url: str) -> Path:
    """Where the CLI keeps what it remembers about a server between runs (what `banks refresh`
    saw last): the user data folder, one file name per server."""
    from platformdirs import user_data_dir

    parts = urlsplit(server_url)
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{parts.hostname}_{parts.port or parts.scheme}{parts.path}").strip("_")
    return Path(user_data_dir("elp", appauthor=False)) / "servers" / f"{name}.json"


__all__ = ["RemotePortal", "ServerUnavailable", "HostOnly", "check_server_url", "state_path"]
