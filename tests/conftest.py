"""Shared fixtures: a fresh store on disk, a portal on a fixed clock, an organization with an admin."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from elp_tui.i18n import set_language
from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store, open_store
from tests.feed_server import feed_server, no_vendor_feed, vendor_feed  # noqa: F401  (the vendor's feed over HTTP, one server a session)

TODAY = dt.date(2026, 11, 23)
ADMIN = "admin@lumenfox.studio"
VENDOR = "desk@quillstone.example.com"  # the vendor's staff member every test store has
VENDOR_EMAIL = "enterprise@quillstone.example.com"  # where requests to the vendor go


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Tests read English messages whatever the developer's locale (LANG=fr_FR would turn the
    CLI and the app French); a test that switches to French leaves English behind it."""
    for name in ("ELP_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.setenv(name, "")  # set, then delete: the undo also removes what a command sets (elp --lang)
        monkeypatch.delenv(name)
    monkeypatch.setenv("LANG", "C.UTF-8")
    set_language("en")
    yield
    set_language("en")


@pytest.fixture(autouse=True)
def no_mail_server(monkeypatch, tmp_path_factory):
    """No test delivers mail to a server of the developer's (their environment or config file):
    only the tests that ask for the `inbox` fixture point ELP at the test SMTP server."""
    for name in ("ELP_SMTP_HOST", "ELP_SMTP_PORT", "ELP_SMTP_USER", "ELP_SMTP_PASSWORD", "ELP_SMTP_TLS", "ELP_MAIL_FROM",
                 "ELP_SSH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ELP_CONFIG", str(tmp_path_factory.getbasetemp() / "no-settings.json"))


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "data" / "elp.json"


# The portal's rule tests run on both backends (as Harlequin runs its functional tests over
# adapters): in these modules, `backend` is "json" (a store file) and "pg" (a PostgreSQL database).
BOTH_BACKENDS = {"test_rules_credits.py", "test_rules_people.py", "test_rules_seats.py", "test_quote_promises.py",
                 "test_batches.py"}


# Modules whose `portal` is always on PostgreSQL (the backend's own tests).
PG_ONLY = {"test_pg_store.py"}


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames:
        return
    if any(mark.args and mark.args[0] == "backend" for mark in metafunc.definition.iter_markers("parametrize")):
        return  # the test names its backends itself
    if metafunc.definition.path.name in BOTH_BACKENDS:
        metafunc.parametrize("backend", ["json", "pg"], indirect=True)
    elif metafunc.definition.path.name in PG_ONLY:
        metafunc.parametrize("backend", ["pg"], indirect=True)


@pytest.fixture
def backend(request) -> str:
    """The store's backend: "json" unless the module runs on both (BOTH_BACKENDS)."""
    return getattr(request, "param", "json")


@pytest.fixture
def store_target(backend, request, store_path):
    """Where the `portal` fixture's store lives: the store file `store_path`, or (backend "pg") the
    URL of a new database holding ELP's schema, dropped after the test."""
    if backend != "pg":
        yield store_path
        return
    server = request.getfixturevalue("pg_server")
    url = server.migrated_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def portal(store_target) -> Portal:
    """A portal on a new store, today = 2026-11-23, one organization 'Lumenfox Studios' with ADMIN,
    and the vendor (Quillstone, requests to VENDOR_EMAIL) with one staff member, VENDOR. On the
    backend the module runs on (`store_target`)."""
    p = Portal(open_store(store_target), fixed_clock(TODAY), rng=random.Random(7))
    p.init_organization("Lumenfox Studios", ADMIN)
    p.setup_vendor("Quillstone", VENDOR_EMAIL, VENDOR)
    return p


@pytest.fixture
def bank(portal) -> dict:
    """A portable 25.1 bank of 100 credits valid 2026-11-01 .. 2027-05-01."""
    from tests.helpers import grant_bank

    return grant_bank(
        portal, product="Quillstone Animate", credits=100, start="2026-11-01", expires_on="2027-05-01",
        product_version="25.1", portable=True,
    )


# -- email: one real SMTP server on 127.0.0.1 for the whole session (tests/smtp_server.py) --
@pytest.fixture(scope="session")
def smtp_server():
    from tests.smtp_server import session_server

    return session_server()


@pytest.fixture(scope="session")
def tls_smtp_servers(smtp_server, tmp_path_factory):
    """The same server's mailbox behind STARTTLS and behind implicit TLS, with a self-signed
    certificate for 127.0.0.1 (made once with openssl): (starttls server, tls server, certificate)."""
    from tests.smtp_server import SmtpServer, self_signed_certificate

    certificate = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    if certificate is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    servers = [SmtpServer(smtp_server.handler, certificate=certificate, implicit_tls=implicit) for implicit in (False, True)]
    for server in servers:
        server.start()
    yield servers[0], servers[1], certificate[0]
    for server in servers:
        server.stop()


@pytest.fixture
def inbox(smtp_server, monkeypatch, tmp_path):
    """What the session's SMTP server receives during this test; ELP's delivery settings point at
    it (environment), and no config file of the developer's is read."""
    from tests.smtp_server import HOST, MAIL_FROM, Inbox

    monkeypatch.setenv("ELP_CONFIG", str(tmp_path / "no-settings.json"))
    monkeypatch.setenv("ELP_SMTP_HOST", HOST)
    monkeypatch.setenv("ELP_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("ELP_SMTP_TLS", "none")
    monkeypatch.setenv("ELP_MAIL_FROM", MAIL_FROM)
    for name in ("ELP_SMTP_USER", "ELP_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    box = Inbox(smtp_server)
    yield box
    box.accept_all()


# -- SSH: one real OpenSSH server on 127.0.0.1 a session (per xdist worker), tests/sshd_server.py --
@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """The system's sshd with the `Match User` block `elp ssh setup` prints; skipped, saying why,
    where OpenSSH is missing."""
    from tests.sshd_server import Sshd, missing

    why = missing()
    if why:
        pytest.skip(why)
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ssh_store(sshd):
    """The store sshd's AuthorizedKeysCommand names, emptied for this test."""
    return sshd.reset_store()


# Files .ci/run runs on the oldest Python only (marker "once", pyproject.toml): their subject is
# OpenSSH, killed processes (servers racing and killed too), the app's input matrices (the portal checks they drive run on every
# Python through test_hostile_cli) or the large demo's size; the rest runs on every Python.
ONCE_FILES = {"test_ssh.py", "test_hostile_app.py", "test_processes.py", "test_large_store.py", "test_server_races.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in ONCE_FILES:
            item.add_marker(pytest.mark.once)


# -- PostgreSQL: one real server on 127.0.0.1 a session (per xdist worker), tests/pg_server.py --
@pytest.fixture(scope="session")
def pg_server():
    """The system's PostgreSQL in a temporary folder; skipped, saying why, where it is missing."""
    import shutil

    from tests.pg_server import missing, session_server

    why = missing()
    if why:
        pytest.skip(why)
    server, folder = session_server()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server) -> str:
    """A new, empty database of the session's server (no ELP schema yet), dropped after the test."""
    url = pg_server.fresh_database()
    yield url
    pg_server.drop_database(url)
