"""The HTTP JSON API of `elp serve` (Starlette): the portal's operations for clients elsewhere.

Authority stays in the portal. The server only says who is asking: the API token in
`Authorization: Bearer` names a user (`Portal.token_user`), and every call is made as that user
by a Portal of its own (`via_key = "token:<id>"`, so the activity log says the change came
through that token). A call naming another user as its actor is refused; everything else (an
admin operation asked by a regular user, another organization's data) is refused, and logged,
by the portal exactly as in-process. Portal calls block, so they run in a thread pool.

Errors are `wire.encode_error` bodies: the portal's one-line message, never a traceback (an
unexpected error is logged with its traceback on the server's log, stderr, under an id the
client is told).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import secrets
import threading
import time
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from elp_tui import wire
from elp_tui.errors import PortalError
from elp_tui.i18n import _
from elp_tui.portal import InvalidInput, NotFound, Portal, PermissionDenied, RuleViolation, SignInRefused, StaleQuote
from elp_tui.portal.clock import FixedClockRefused, store_clock
from elp_tui.server import api
from elp_tui.store import StoreError

log = logging.getLogger("elp.serve")

# Failed authentications one client address may make in `AUTH_WINDOW_S` before it is refused
# (429) until the window has passed.
AUTH_FAILURES = 10
AUTH_WINDOW_S = 60.0
KEEP_ALIVE_S = 15.0


class Refusal(Exception):
    """An answer other than 200: `status` and the portal error whose body is sent."""

    def __init__(self, status: int, error: PortalError):
        super().__init__(str(error))
        self.status = status
        self.error = error


def status_of(exc: PortalError) -> int:
    """The HTTP status of a portal refusal."""
    if isinstance(exc, StaleQuote):
        return 409
    if isinstance(exc, (StoreError, FixedClockRefused)):
        return 503
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, (PermissionDenied, SignInRefused)):
        return 403
    return 422  # InvalidInput, RuleViolation and every other refusal by a rule


def version_text(marker: Any) -> str:
    """The store's marker as an opaque text that changes whenever it does."""
    return hashlib.sha256(repr(marker).encode()).hexdigest()[:24]


class FailedAuthentications:
    """Failed authentications per client address over a sliding window."""

    def __init__(self, limit: int = AUTH_FAILURES, window: float = AUTH_WINDOW_S):
        self.limit = limit
        self.window = window
        self._failures: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> collections.deque[float]:
        times = self._failures.setdefault(address, collections.deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, address: str) -> bool:
        with self._lock:
            now = time.monotonic()
            blocked = len(self._recent(address, now)) >= self.limit
            if not blocked and not self._failures[address]:
                del self._failures[address]
            return blocked

    def record(self, address: str) -> int:
        with self._lock:
            times = self._recent(address, time.monotonic())
            times.append(time.monotonic())
            return len(times)


class Watcher:
    """One thread that waits for the store's commits and tells every connected event stream."""

    def __init__(self, store: Any):
        self.store = store
        self.version: str | None = None
        self.stopping = threading.Event()
        self._subscribers: dict[asyncio.Queue[str], asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="elp-serve-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def subscribe(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        with self._lock:
            self._subscribers[queue] = asyncio.get_running_loop()
        self.start()
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        with self._lock:
            self._subscribers.pop(queue, None)

    def _run(self) -> None:
        marker: Any = None
        first = True
        while not self.stopping.is_set():
            try:
                marker = self.store.marker() if first else self.store.wait_for_change(marker, 1.0)
            except Exception:  # the store unreadable for a moment: try again, say it once a second at most
                log.warning("cannot read the store's version", exc_info=True)
                time.sleep(1.0)
                continue
            first = False
            version = version_text(marker)
            if version == self.version:
                continue
            self.version = version
            with self._lock:
                listeners = list(self._subscribers.items())
            for queue, loop in listeners:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, version)
                except RuntimeError:  # its loop has closed
                    self.unsubscribe(queue)


class Service:
    """What every request shares: the store, the failure counter, the change watcher."""

    def __init__(self, store: Any, *, auth_failures: int = AUTH_FAILURES, auth_window: float = AUTH_WINDOW_S):
        self.store = store
        self.failures = FailedAuthentications(auth_failures, auth_window)
        self.watcher = Watcher(store)
        self._clock: Any = None

    def portal(self) -> Portal:
        """A Portal for one request, on the store's clock (ELP_TODAY only steers a demo or test store)."""
        return Portal(self.store, self.clock())

    def clock(self) -> Any:
        """The store's clock (`store_clock`: a set ELP_TODAY is refused on a real store), asked
        again until there is a store, then kept: whether a store may have its today fixed is
        written when it is created."""
        if self._clock is not None:
            return self._clock
        clock = store_clock(self.store)
        if self.store.exists():
            self._clock = clock
        return clock

    # -- authentication ----------------------------------------------------------------
    async def authenticate(self, request: Request) -> tuple[dict[str, Any], Portal]:
        """The token's user (public user document) and the request's Portal, acting through the
        token (`token_user` sets its `via_key`, "token:<id>", written on every activity entry it
        makes), or a Refusal (401, 429)."""
        address = request.client.host if request.client else "unknown"
        if self.failures.blocked(address):
            log.warning("refused a request from %s: too many failed authentications", address)
            raise Refusal(429, SignInRefused(_(
                "Too many failed authentications from {address}: wait a minute, then try again with a valid token."
            ).format(address=address)))
        header = request.headers.get("authorization", "")
        scheme, _sep, secret = header.strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise Refusal(401, SignInRefused(_(
                "No API token: send 'Authorization: Bearer <token>' (create a token with 'elp tokens create')."
            )))
        portal = self.portal()
        try:
            user = await run_in_threadpool(portal.token_user, secret)
        except SignInRefused as exc:
            count = self.failures.record(address)
            log.warning("failed authentication from %s (%d in the last minute): %s", address, count, exc)
            raise Refusal(401, exc) from None
        portal.via_key = portal.via_key or "token"
        return user, portal


# -- requests ------------------------------------------------------------------------------
def error_response(status: int, exc: PortalError) -> JSONResponse:
    return JSONResponse(wire.encode_error(exc), status_code=status)


def internal_error(where: str) -> JSONResponse:
    """A 500 whose body names only an id; the traceback goes to the server's log under it."""
    ident = secrets.token_hex(4)
    log.exception("internal error %s in %s", ident, where)
    return error_response(500, PortalError(_("internal error (logged as {id})").format(id=ident)))


async def read_body(request: Request) -> bytes:
    """The request body, refused (413) past wire.MAX_BODY_BYTES without reading the rest."""
    too_large = Refusal(413, InvalidInput(_(
        "The request is larger than {limit} bytes: send less at once (e.g. split the batch)."
    ).format(limit=wire.MAX_BODY_BYTES)))
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise Refusal(400, InvalidInput(_("The request's Content-Length is not a number.")))
        if int(length) > wire.MAX_BODY_BYTES:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > wire.MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def decode_args(raw: bytes) -> dict[str, Any]:
    """`{"args": {...}}` from the body, each value decoded from the wire, or a Refusal (400)."""
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, InvalidInput(_("The request body is not JSON: send a JSON object whose \"args\" maps each argument's name to its value."))) from None
    if not isinstance(data, dict) or set(data) - {"args"} or not isinstance(data.get("args", {}), dict):
        raise Refusal(400, InvalidInput(_("The request body must be a JSON object whose \"args\" maps each argument's name to its value.")))
    try:
        return {str(name): wire.decode(value) for name, value in data.get("args", {}).items()}
    except wire.WireError as exc:
        raise Refusal(400, InvalidInput(_("A value of the request is not one the wire format makes: {problem}").format(
            problem=exc))) from None


def same_user(given: Any, email: str) -> bool:
    return isinstance(given, str) and given.strip().lower() == email.strip().lower()


def handler(where: str) -> Callable[[Callable[..., Any]], Callable[[Request], Any]]:
    """A route whose every failure is an error body: a Refusal as itself, a portal error by its
    class, anything else a 500 with an id (the traceback only in the server's log)."""

    def wrap(fn: Callable[..., Any]) -> Callable[[Request], Any]:
        async def route(request: Request) -> Response:
            try:
                return await fn(request)
            except Refusal as exc:
                return error_response(exc.status, exc.error)
            except PortalError as exc:
                return error_response(status_of(exc), exc)
            except ClientDisconnect:
                return Response(status_code=400)
            except Exception:
                return internal_error(where)

        route.__name__ = fn.__name__
        return route

    return wrap


def create_app(store: Any, *, auth_failures: int = AUTH_FAILURES, auth_window: float = AUTH_WINDOW_S) -> Starlette:
    """The ASGI application serving `store` (a JSON Store or a PgStore)."""
    service = Service(store, auth_failures=auth_failures, auth_window=auth_window)

    @handler("/v1/health")
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    @handler("/openapi.json")
    async def openapi(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(api.openapi))

    @handler("/v1/whoami")
    async def whoami(request: Request) -> Response:
        user, portal = await service.authenticate(request)

        def answer() -> dict[str, Any]:
            return {"user": wire.encode(user), "today": wire.encode(portal.today()),
                    "version": version_text(store.marker())}

        return JSONResponse(await run_in_threadpool(answer))

    @handler("/v1/version")
    async def version(request: Request) -> Response:
        await service.authenticate(request)
        return JSONResponse({"version": version_text(await run_in_threadpool(store.marker))})

    @handler("/v1/call")
    async def call(request: Request) -> Response:
        name = request.path_params["method"]
        length = request.headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > wire.MAX_BODY_BYTES:
            await read_body(request)  # refused (413) before anything is read
        user, portal = await service.authenticate(request)
        if name in wire.LOCAL_ONLY:
            raise Refusal(404, NotFound(_(
                "{name} is not offered over the network: run it on the host that holds the store."
            ).format(name=name)))
        args = decode_args(await read_body(request))
        who = api.actor_arg(name) if name in api.methods() else None
        if who is not None:
            given = args.get(who)
            if given is None:
                args[who] = user["email"]
            elif not same_user(given, user["email"]):
                raise Refusal(403, PermissionDenied(_(
                    "This token belongs to {owner}: it cannot act as {other}."
                ).format(owner=user["email"], other=given)))
        try:
            bound = api.bind(name, args)
        except api.BadCall as exc:
            error = NotFound(str(exc)) if exc.status == 404 else InvalidInput(str(exc))
            raise Refusal(exc.status, error) from None

        def run() -> Any:
            try:
                value = getattr(portal, name)(*bound.args, **bound.kwargs)
            except PortalError:
                raise
            except Exception:
                # Not a refusal: arguments of the wrong type (a 400 naming the argument), else a bug (500).
                problem = api.schema_problem(name, bound.arguments)
                if problem is None:
                    raise
                log.info("a call of %s refused: %s", name, problem)
                raise Refusal(400, InvalidInput(problem)) from None
            return wire.encode(value)

        return JSONResponse({"result": await run_in_threadpool(run)})

    @handler("/v1/events")
    async def events(request: Request) -> Response:
        await service.authenticate(request)
        secret = request.headers["authorization"].strip().partition(" ")[2].strip()

        def still_valid() -> bool:
            """Whether the token still names an active user (a revoked token's stream ends)."""
            try:
                service.portal().token_user(secret)
            except PortalError:
                return False
            return True
        queue = service.watcher.subscribe()
        first = version_text(await run_in_threadpool(store.marker))

        async def stream() -> AsyncIterator[str]:
            try:
                last = first
                yield f"event: change\ndata: {json.dumps({'version': first})}\n\n"
                quiet_since = time.monotonic()
                while not service.watcher.stopping.is_set():
                    try:
                        version = await asyncio.wait_for(queue.get(), timeout=0.5)
                    except asyncio.TimeoutError:
                        if time.monotonic() - quiet_since >= KEEP_ALIVE_S:
                            quiet_since = time.monotonic()
                            yield ": keep-alive\n\n"
                        continue
                    if version != last:
                        if not await run_in_threadpool(still_valid):
                            log.info("an event stream ended: its token is no longer valid")
                            return
                        last = version
                        quiet_since = time.monotonic()
                        yield f"event: change\ndata: {json.dumps({'version': version})}\n\n"
            finally:
                service.watcher.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return error_response(405, InvalidInput(_("{method} is not allowed on {path}.").format(
                method=request.method, path=request.url.path)))
        return error_response(404, NotFound(_("There is nothing at {path}: GET /openapi.json lists the routes.").format(
            path=request.url.path)))

    async def crashed(request: Request, exc: Exception) -> Response:
        return internal_error(request.url.path)

    routes = [
        Route("/v1/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/whoami", whoami, methods=["GET"]),
        Route("/v1/version", version, methods=["GET"]),
        Route("/v1/events", events, methods=["GET"]),
        Route("/v1/call/{method}", call, methods=["POST"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        service.watcher.stop()

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found, Exception: crashed},
                    lifespan=lifespan)
    app.state.service = service
    return app


__all__ = ["create_app", "Service", "status_of", "version_text", "RuleViolation"]
