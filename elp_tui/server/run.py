"""Running `elp serve`: the listening socket, uvicorn, TLS, the log, a graceful stop on SIGTERM."""

from __future__ import annotations

import errno
import logging
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
          auth_failures: int | None = None) -> int:
    """Serve `store` until SIGTERM or SIGINT (then requests in flight finish, event streams end,
    and the process exits 0). Refusals to start raise ServeRefused (one line)."""
    import uvicorn

    from elp_tui.server.app import AUTH_FAILURES, create_app

    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise ServeRefused(_("TLS needs both --ssl-certfile and --ssl-keyfile."))
    host, port = parse_listen(listen)
    _log_to_stderr()
    app = create_app(store, auth_failures=auth_failures or AUTH_FAILURES)
    service = app.state.service
    config = uvicorn.Config(app, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, log_level="info",
                            timeout_graceful_shutdown=GRACEFUL_S, server_header=False, lifespan="on",
                            proxy_headers=True)
    try:
        config.load()
    except (OSError, ssl.SSLError) as exc:
        raise ServeRefused(_("Cannot use the TLS certificate {cert} with the key {key}: {problem}.").format(
            cert=ssl_certfile, key=ssl_keyfile, problem=getattr(exc, "strerror", None) or exc)) from None
    sock = bind(host, port)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            service.watcher.stop()  # event streams end now: a stop does not wait for their clients
            super().handle_exit(sig, frame)

    server = Server(config)
    scheme = "https" if ssl_certfile else "http"
    bound = sock.getsockname()
    shown = f"[{bound[0]}]:{bound[1]}" if sock.family == socket.AF_INET6 else f"{bound[0]}:{bound[1]}"
    log.info("serving %s on %s://%s", getattr(store, "path", store), scheme, shown)
    if not store.exists():
        log.warning("there is no store at %s yet: every call is refused until one is created (elp init)",
                    getattr(store, "path", store))
    # uvicorn raises a signal it caught again once it has stopped: exit 0 then, a stop asked for.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        close = getattr(store, "close", None)
        if close is not None:
            close()
    log.info("stopped")
    return 0


def _stopped(sig: int, frame: Any) -> None:
    raise SystemExit(0)
