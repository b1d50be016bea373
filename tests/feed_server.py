"""A real HTTP server on 127.0.0.1 playing the vendor's feed: the standard library's
ThreadingHTTPServer in a thread, started once per test session (`feed_server`), serving the feeds
each test registers under its own path (`vendor_feed`, which also points ELP_VENDOR_FEED at it).

GET <path>?organization=ID answers the registered feed (or status); POST <path>/requests records
the JSON body and answers the registered status. A feed registered with `hold=True` answers only
when the test ends: a server that is too slow, without a timed assertion.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Route:
    body: bytes = b"{}"
    status: int = 200
    post_status: int = 201
    hold: threading.Event | None = None
    gets: list[dict[str, Any]] = field(default_factory=list)  # each GET: query and headers seen
    posts: list[dict[str, Any]] = field(default_factory=list)  # each POST: JSON body and headers


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: pytest shows failures, not traffic
                pass

            def _route(self, path: str) -> Route | None:
                with server.lock:
                    return server.routes.get(path)

            def _answer(self, status: int, body: bytes = b"") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (a timeout test): nothing to tell it
                    pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                route = self._route(parts.path)
                if route is None:
                    return self._answer(404, b'{"error": "no such feed"}')
                route.gets.append({"query": parse_qs(parts.query), "headers": dict(self.headers)})
                if route.hold is not None:
                    route.hold.wait(60)
                self._answer(route.status, route.body if route.status == 200 else b'{"error": "refused"}')

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                base = parts.path.removesuffix("/requests")
                route = self._route(base) if parts.path.endswith("/requests") else None
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if route is None:
                    return self._answer(404)
                route.posts.append({"json": json.loads(raw or b"null"), "headers": dict(self.headers)})
                self._answer(route.post_status, b'{"ok": true}')

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="feed-server", daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        with self.lock:
            for route in self.routes.values():
                if route.hold is not None:
                    route.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def no_vendor_feed(monkeypatch, tmp_path_factory):
    """No test reads a vendor feed of the developer's (their environment or config file): only the
    tests that ask for `vendor_feed` point ELP at the test server."""
    for name in ("ELP_VENDOR_FEED", "ELP_VENDOR_TOKEN", "ELP_FEED_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ELP_CONFIG", str(tmp_path_factory.getbasetemp() / "no-settings.json"))


@pytest.fixture(scope="session")
def feed_server():
    server = FeedServer()
    yield server
    server.close()


_paths = itertools.count(1)


class VendorFeed:
    """One test's feed on the session's server; ELP_VENDOR_FEED points at it."""

    def __init__(self, server: FeedServer, path: str):
        self.server, self.path = server, path
        self.url = server.url(path)
        self.route = Route()
        with server.lock:
            server.routes[path] = self.route

    def serve(self, feed: Any = None, *, raw: bytes | None = None, status: int = 200, hold: bool = False,
              post_status: int | None = None) -> None:
        """What the next GETs answer: `feed` as JSON, or `raw` bytes, or `status`."""
        self.route.body = raw if raw is not None else json.dumps(feed).encode()
        self.route.status = status
        if post_status is not None:
            self.route.post_status = post_status
        if hold:
            self.route.hold = threading.Event()

    @property
    def gets(self) -> list[dict[str, Any]]:
        return self.route.gets

    @property
    def posts(self) -> list[dict[str, Any]]:
        return self.route.posts

    def release(self) -> None:
        if self.route.hold is not None:
            self.route.hold.set()


@pytest.fixture
def vendor_feed(feed_server, monkeypatch, tmp_path):
    """A feed of this test's own on the session's server, with ELP_VENDOR_FEED and ELP_VENDOR_TOKEN
    set (and no config file of the developer's read)."""
    feed = VendorFeed(feed_server, f"/feeds/{next(_paths)}")
    monkeypatch.setenv("ELP_VENDOR_FEED", feed.url)
    monkeypatch.setenv("ELP_VENDOR_TOKEN", "s3cret-token")
    monkeypatch.setenv("ELP_FEED_TIMEOUT", "5")
    monkeypatch.setenv("ELP_CONFIG", str(tmp_path / "config" / "settings.json"))
    yield feed
    feed.release()
    with feed_server.lock:
        feed_server.routes.pop(feed.path, None)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (taken, then given back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
