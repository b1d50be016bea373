"""Running `elp serve`: the listening socket, uvicorn, TLS, the log, a graceful stop on SIGTERM."""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import socket
import ssl
import sys
from typing import Any

from elp_tui.i18n import _
from elp_tui.portal.errors import InvalidInput

DEFAULT_LISTEN = "127.0.0.1:8750"
# How long a stop waits for requests in flight (event streams end at once).
GRACEFUL_S = 10

log = logging.getLogger("elp.serve")


class ServeRefused(InvalidInput):
    """`elp serve` cannot start: the one line says why and what to do."""


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 address in brackets: [::1]:8750) or refused, naming what is wrong."""
    match = re.fullmatch(r"\[([^\]]+)\]:(\d{1,5})|([^:\[\]\s]+):(\d{1,5})", (text or "").strip())
    if match is None:
        raise ServeRefused(_("--listen {value!r} is not HOST:PORT (e.g. 127.0.0.1:8750, or [::1]:8750).").format(value=text))
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if port > 65535:
        raise ServeRefused(_("--listen {value!r}: the port must be between 1 and 65535.").format(value=text))
    return host, port


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or one line saying why it cannot be had (address in use, no such address)."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise ServeRefused(_("Cannot listen on {where}: {host} is not an address of this machine's network "
                             "(use an IP address, e.g. 127.0.0.1, or a name that resolves).").format(
                                 where=where, host=host)) from None
    family, kind, proto, _canon, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            message = _("Cannot listen on {where}: the port is in use by another program "
                        "(stop it, or choose another port with --listen).")
        elif exc.errno == errno.EADDRNOTAVAIL:
            message = _("Cannot listen on {where}: this machine has no such address (use one of its own, e.g. 127.0.0.1).")
        elif exc.errno == errno.EACCES:
            message = _("Cannot listen on {where}: permission denied (ports below 1024 need privileges: "
                        "use a higher port, or a reverse proxy).")
        else:
            message = _("Cannot listen on {where}: {problem}.").format(where="{where}", problem=exc.strerror or exc)
        raise ServeRefused(message.format(where=where)) from None
    sock.set_inheritable(True)
    return sock


def _log_to_stderr() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s elp serve %(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def serve(store: Any, *, listen: str = DEFAULT_LISTEN, ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
          auth_failures: int | None = None, workers: int = 1) -> int:
    """Serve `store` until SIGTERM or SIGINT (then requests in flight finish, event streams end,
    and the process exits 0). Refusals to start raise ServeRefused (one line).

    `workers` > 1: that many server processes share the listening socket (forked once it is
    bound), each with its own connection to the store; the first process passes SIGTERM on."""
    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise ServeRefused(_("TLS needs both --ssl-certfile and --ssl-keyfile."))
    if workers < 1 or (workers > 1 and not hasattr(os, "fork")):
        raise ServeRefused(_("--workers must be 1 on this system, or a whole number of processes of 1 or more."))
    host, port = parse_listen(listen)
    _log_to_stderr()
    if ssl_certfile:  # what uvicorn will load, tried first: a bad file is one line, before anything listens
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(ssl_certfile, ssl_keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise ServeRefused(_("Cannot use the TLS certificate {cert} with the key {key}: {problem}.").format(
                cert=ssl_certfile, key=ssl_keyfile, problem=getattr(exc, "strerror", None) or exc)) from None
    sock = bind(host, port)
    scheme = "https" if ssl_certfile else "http"
    bound = sock.getsockname()
    shown = f"[{bound[0]}]:{bound[1]}" if sock.family == socket.AF_INET6 else f"{bound[0]}:{bound[1]}"
    where = getattr(store, "path", store)
    log.info("serving %s on %s://%s%s", where, scheme, shown, f" ({workers} processes)" if workers > 1 else "")
    if not store.exists():
        log.warning("there is no store at %s yet: every call is refused until one is created (elp init)", where)
    options = {"ssl_certfile": ssl_certfile, "ssl_keyfile": ssl_keyfile, "auth_failures": auth_failures}
    try:
        if workers == 1:
            _run_one(store, sock, **options)
        else:
            _close(store)
            _run_workers(getattr(store, "url", None) or str(store.path), workers, sock, **options)
    finally:
        sock.close()
        _close(store)
    log.info("stopped")
    return 0


def _close(store: Any) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


def _run_one(store: Any, sock: socket.socket, *, ssl_certfile: str | None, ssl_keyfile: str | None,
             auth_failures: int | None) -> None:
    """One uvicorn server on `sock` until SIGTERM / SIGINT."""
    import uvicorn

    from elp_tui.server.app import AUTH_FAILURES, create_app

    app = create_app(store, auth_failures=auth_failures or AUTH_FAILURES)
    service = app.state.service
    config = uvicorn.Config(app, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, log_level="info",
                            timeout_graceful_shutdown=GRACEFUL_S, server_header=False, lifespan="on",
                            proxy_headers=True)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            service.watcher.stop()  # event streams end now: a stop does not wait for their clients
            super().handle_exit(sig, frame)

    # uvicorn raises a signal it caught again once it has stopped: exit 0 then, a stop asked for.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        Server(config).run(sockets=[sock])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_workers(target: str, workers: int, sock: socket.socket, **options: Any) -> None:
    """`workers` forked processes, each serving its own store of `target` on `sock`; SIGTERM or
    SIGINT here is passed on to each, and this returns once they have all stopped."""
    from elp_tui.store import open_store

    children: list[int] = []
    for _n in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                store = open_store(target)
                try:
                    _run_one(store, sock, **options)
                finally:
                    _close(store)
            except BaseException:
                log.exception("a server process failed")
                code = 1
            finally:
                os._exit(code)
        children.append(pid)

    def pass_on(sig: int, frame: Any) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            while True:
                try:
                    os.waitpid(child, 0)
                    break
                except ChildProcessError:
                    break
                except InterruptedError:
                    continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stopped(sig: int, frame: Any) -> None:
    raise SystemExit(0)
