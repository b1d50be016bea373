"""The CLI and RemotePortal as clients of a real `elp serve` (a process on 127.0.0.1).

- Every command prints through the server what it prints on the store itself: the same lists,
  the same confirmations, the same refusals word for word (and the same refusal logged).
- A license generated through the server is in the store's file, checked by a fresh portal.
- A quote that went stale meanwhile comes back as StaleQuote with its fresh quote.
- A server that is down, a wrong token, --as another user, a command of the store's host: one
  line on stderr, exit 1, nothing changed, never a traceback.
- An answer lost after the request reached the server: the line says the change may have been made.
"""

from __future__ import annotations

import inspect
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from elp_tui.cli import main
from elp_tui.portal import AdminRequired, GenerateQuote, Portal, PortalError, StaleQuote, fixed_clock
from elp_tui.portal.authority import public_methods
from elp_tui.remote import HostOnly, RemotePortal, ServerUnavailable
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.elp_server import ElpServer
from tests.helpers import Result, cli_env, copy_store, store_bytes, store_tables  # noqa: F401
from tests.smtp_server import free_port

pytestmark = pytest.mark.usefixtures("cli_env")

ROOT = Path(__file__).resolve().parents[1]
PROCS = Path(__file__).resolve().parent / "procs"
ANA = "ana@lf.io"
AID = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")


def server_env() -> dict[str, str]:
    return {**os.environ, "ELP_TODAY": TODAY.isoformat(),
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def fresh(path: Path) -> Portal:
    """The store as yet another session reads it."""
    return Portal(Store(path), fixed_clock(TODAY))


@pytest.fixture(autouse=True)
def own_data_home(tmp_path, monkeypatch):
    """What the CLI remembers about a server (banks refresh) goes to this test's folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))


@pytest.fixture
def world(portal, bank):
    """ADMIN's organization with a bank, a member ANA holding two licenses, and a seat pool."""
    from tests.helpers import grant_seats

    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    for _n in range(2):
        quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=1, start=TODAY,
                                      email=ANA)
        portal.generate(ADMIN, quote)
    grant_seats(portal, "Quillstone Review", 3)
    portal.create_team(ADMIN, "Layout", "Quillstone Review")
    return portal


@pytest.fixture
def tokens(world) -> dict[str, str]:
    """An API token each for ADMIN, ANA and VENDOR (skipped, saying so, on a build without tokens)."""
    if not hasattr(world, "create_token"):
        pytest.skip("API tokens (Portal.create_token / token_user) are not in this build")
    return {email: world.create_token(email)["token"] for email in (ADMIN, ANA, VENDOR)}


@pytest.fixture
def server(world, tokens):
    """`elp serve` on the world's store; each token used once already (the server notes the day a
    token was last used: that bookkeeping is done before a test compares the store's bytes)."""
    srv = ElpServer(world.store.path, env=server_env())
    srv.start()
    for token in tokens.values():
        with RemotePortal(srv.url, token) as portal:
            portal.whoami()
    yield srv
    srv.stop()


def cli(capsys, *argv: str) -> Result:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return Result(code, out, err)


def local(capsys, path: Path, user: str, *args: str) -> Result:
    return cli(capsys, "--store", str(path), "--as", user, *args)


def remote(capsys, server: ElpServer, token: str, *args: str) -> Result:
    return cli(capsys, "--server", server.url, "--token", token, *args)


def one_line(result: Result) -> str:
    assert result.code == 1, (result.code, result.out, result.err)
    assert result.err.startswith("elp: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err + result.out
    return result.err


# -- the same portal, over HTTP --------------------------------------------------------------
def test_the_remote_portal_offers_every_public_portal_method_with_its_signature():
    for name, method in public_methods(Portal).items():
        mine = getattr(RemotePortal, name, None)
        assert mine is not None, f"RemotePortal lacks {name}"
        assert inspect.signature(mine) == inspect.signature(method), name


def test_the_client_loads_no_ui():
    """The CLI through a server starts without textual or rich (httpx brings rich for its own
    command line, which the client keeps out)."""
    code = ("import sys\nimport elp_tui.remote, elp_tui.cli.client\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'click')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=server_env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


READS = [
    (ADMIN, ["banks", "list"]), (ADMIN, ["banks", "list", "--json"]), (ADMIN, ["licenses", "list"]),
    (ADMIN, ["licenses", "export"]), (ADMIN, ["users", "list"]), (ADMIN, ["users", "show", ANA]),
    (ADMIN, ["seats", "show"]), (ADMIN, ["teams", "list"]), (ADMIN, ["report"]), (ADMIN, ["log"]),
    (ADMIN, ["versions", "list"]), (ADMIN, ["outbox", "list"]), (ANA, ["licenses", "mine"]), (ANA, ["signin"]),
    (VENDOR, ["vendor", "orgs"]), (VENDOR, ["vendor", "requests", "--all"]),
]


def test_commands_through_the_server_print_what_they_print_on_the_store(tokens, server, world, capsys):
    path = world.store.path
    before = store_bytes(path)
    for user, args in READS:
        here = local(capsys, path, user, *args)
        there = remote(capsys, server, tokens[user], *args)
        assert here.code == 0, (args, here.err)
        assert (there.code, there.out, there.err) == (here.code, here.out, here.err), args
    assert store_bytes(path) == before, "a read through the server wrote to the store"


def test_a_license_generated_through_the_server_is_in_the_store_file(tokens, server, world, bank, capsys, tmp_path):
    path = world.store.path
    twin = copy_store(path, tmp_path / "twin.json")  # the same store, for the same command run locally
    had = {lic["activation_id"] for lic in world.list_licenses(ADMIN)}
    args = ["licenses", "generate", "--bank", bank["id"], "--type", "node-lock", "--months", "3", "--quantity", "2",
            "--start", TODAY.isoformat(), "--email", ANA, "--yes"]
    there = remote(capsys, server, tokens[ADMIN], *args)
    here = local(capsys, twin, ADMIN, *args)
    assert there.code == 0, there.err
    assert "Created 2 license(s)" in there.out
    # Word for word the local output, but for the activation IDs (random, each side its own).
    assert (there.code, AID.sub("ID", there.out), there.err) == (here.code, AID.sub("ID", here.out), here.err)

    after = fresh(path)
    made = [lic for lic in after.list_licenses(ADMIN) if lic["activation_id"] not in had]
    assert len(made) == 2 and {lic["assignee"] for lic in made} == {ANA}
    assert {lic["activation_id"] for lic in made} == set(AID.findall(there.out))
    assert after.check() == []
    assert next(b for b in after.list_banks(ADMIN) if b["id"] == bank["id"])["remaining"] == 100 - 4 - 6
    entry = max(after.activity(ADMIN), key=lambda e: e["seq"])
    assert entry["actor"] == ADMIN and (entry.get("via") or "").startswith("token"), entry  # came through a token


def test_refusals_through_the_server_are_the_local_ones_word_for_word(tokens, server, world, bank, capsys, tmp_path):
    path = world.store.path
    cases = [
        (ANA, ["banks", "list"]),  # a regular user, an admin command: refused and logged
        (ADMIN, ["licenses", "generate", "--bank", bank["id"], "--type", "node-lock", "--months", "12",
                 "--quantity", "50", "--start", TODAY.isoformat(), "--email", ANA, "--yes"]),  # short of credits
        (ADMIN, ["licenses", "show", "AAAA-BBBB-CCCC-DDDD"]),  # not found
        (ADMIN, ["users", "invite", "not an email"]),  # invalid input
        (ADMIN, ["vendor", "orgs"]),  # not the vendor's staff: refused and logged
    ]
    for user, args in cases:
        twin = copy_store(path, tmp_path / "twin.json")
        old_twin, old = store_tables(twin), store_tables(path)
        here = local(capsys, twin, user, *args)
        there = remote(capsys, server, tokens[user], *args)
        one_line(there)
        assert (there.code, there.out, there.err) == (here.code, here.out, here.err), args
        # The same writes, if any: a refusal of authority logs one entry on both sides, others none.
        added_here = len(store_tables(twin).get("activity", {})) - len(old_twin.get("activity", {}))
        added_there = len(store_tables(path).get("activity", {})) - len(old.get("activity", {}))
        assert added_there == added_here, args
        new = store_tables(path)
        assert {t: new[t] for t in new if t not in ("_meta", "activity")} == \
            {t: old[t] for t in old if t not in ("_meta", "activity")}, args


def test_remote_refusals_are_the_same_exception_classes_with_their_data(tokens, server, world, bank):
    with RemotePortal(server.url, tokens[ANA]) as ana:
        with pytest.raises(AdminRequired) as info:
            ana.list_banks(ANA)
        assert "regular user" in str(info.value) and info.value.logged
    with RemotePortal(server.url, tokens[ADMIN]) as admin:
        quote = admin.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY,
                                     email="new@lf.io")
        assert isinstance(quote, GenerateQuote)
        # positional arguments are bound by name, as in-process
        renew = admin.quote_renew(ADMIN, admin.list_licenses(ADMIN)[0]["activation_id"])
        assert renew.months == 2
        assert admin.today() == TODAY  # the server's today, not this machine's


def test_a_stale_quote_comes_back_with_the_fresh_quote(tokens, server, world, bank):
    with RemotePortal(server.url, tokens[ADMIN]) as admin:
        quote = admin.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=1, start=TODAY,
                                     email=ANA)
        assert ("Recipient", ANA) in quote.lines()
        _delete(world.store.path, ANA)
        before = store_bytes(world.store.path)
        with pytest.raises(StaleQuote) as info:
            admin.generate(ADMIN, quote)
        assert "data changed" in str(info.value)
        assert isinstance(info.value.fresh, GenerateQuote)
        assert ("Recipient", f"{ANA} (will be invited)") in info.value.fresh.lines()
        assert store_bytes(world.store.path) == before, "a stale commit wrote something"
        made = admin.generate(ADMIN, info.value.fresh)  # the fresh quote, confirmed, goes through
        assert len(made) == 1 and made[0]["assignee"] == ANA


def _delete(path: Path, email: str) -> None:
    """Another admin, in another process, removes `email` (their licenses go back first)."""
    env = {**os.environ, "ELP_TODAY": TODAY.isoformat()}
    for lic in fresh(path).list_licenses(ADMIN):
        if lic.get("assignee") == email:
            done = subprocess.run([sys.executable, "-m", "elp_tui", "--store", str(path), "--as", ADMIN, "licenses",
                                   "return", lic["activation_id"], "--email", email, "--yes"],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "elp_tui", "--store", str(path), "--as", ADMIN, "users", "delete",
                           email, "--yes"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_cli_shows_the_fresh_quote_when_the_server_says_stale(tokens, server, world, bank, tmp_path):
    """A real `elp` process quotes through the server, waits, and commits after another admin
    removed the recipient: exit 1, one line saying the data changed, the fresh quote on stdout."""
    ready, go = tmp_path / "ready", tmp_path / "go"
    env = {**server_env(), "XDG_DATA_HOME": str(tmp_path / "data-home")}
    racer = subprocess.Popen(
        [sys.executable, str(PROCS / "cli_racer.py"), str(ready), str(go), "--server", server.url, "--token",
         tokens[ADMIN], "licenses", "generate", "--bank", bank["id"], "--type", "node-lock", "--months", "1",
         "--quantity", "1", "--start", TODAY.isoformat(), "--email", ANA, "--yes"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert racer.poll() is None, racer.communicate()
        assert time.monotonic() < deadline, "the racer never quoted"
        time.sleep(0.01)
    _delete(world.store.path, ANA)
    before = store_bytes(world.store.path)
    go.touch()
    out, err = racer.communicate(timeout=60)
    assert racer.returncode == 1, (out, err)
    assert err.startswith("elp: ") and err.count("\n") == 1 and "data changed" in err, err
    assert "The quote as it stands now" in out and f"{ANA} (will be invited)" in out, out
    assert store_bytes(world.store.path) == before


def test_over_tls_the_client_trusts_the_certificate_it_is_told_to_and_no_other(tokens, world, capsys, tmp_path,
                                                                              monkeypatch):
    from tests.smtp_server import self_signed_certificate

    made = self_signed_certificate(tmp_path)
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = made
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    srv = ElpServer(world.store.path, env=server_env(), extra=["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
                    verify=ssl.create_default_context(cafile=str(cert)))
    srv.start()
    try:
        assert srv.url.startswith("https://")
        err = one_line(remote(capsys, srv, tokens[ANA], "licenses", "mine"))  # a certificate nobody vouches for
        assert f"Cannot reach the ELP server at {srv.url}" in err and "certificate is not trusted" in err, err
        assert "SSL_CERT_FILE" in err and "_ssl.c" not in err, err
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the server's certificate (or its CA's), trusted
        mine = remote(capsys, srv, tokens[ANA], "licenses", "mine")
        assert mine.code == 0 and mine.out == local(capsys, world.store.path, ANA, "licenses", "mine").out
    finally:
        srv.stop()


# -- refused before anything is sent ---------------------------------------------------------
def test_a_server_that_is_down_is_one_clear_line_and_exit_1(tmp_path):
    port = free_port()  # nothing listens there
    env = {**server_env(), "XDG_DATA_HOME": str(tmp_path / "data-home")}
    for argv in (["banks", "list"], ["licenses", "generate", "--bank", "BK-0001", "--type", "node-lock", "--months",
                                     "1", "--quantity", "1", "--start", TODAY.isoformat(), "--email", ANA, "--yes"]):
        done = subprocess.run([sys.executable, "-m", "elp_tui", "--server", f"http://127.0.0.1:{port}", "--token",
                               "elp_SOMETOKEN", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith(f"elp: Cannot reach the ELP server at http://127.0.0.1:{port}"), done.stderr
        assert "nothing was changed" in done.stderr and "elp serve" in done.stderr


def test_the_environment_names_the_server_and_the_token(tokens, server, world, capsys, monkeypatch):
    monkeypatch.setenv("ELP_SERVER", server.url)
    monkeypatch.setenv("ELP_TOKEN", tokens[ANA])
    mine = cli(capsys, "licenses", "mine")
    assert mine.code == 0 and mine.out == local(capsys, world.store.path, ANA, "licenses", "mine").out
    # --store on the command line wins over the environment's server: the store itself
    assert cli(capsys, "--store", str(world.store.path), "--as", ADMIN, "check").code == 0


def test_a_wrong_revoked_or_missing_token_is_refused_in_one_line(tokens, server, world, capsys):
    assert remote(capsys, server, tokens[ANA], "licenses", "mine").code == 0  # the right one works
    before = store_bytes(world.store.path)
    err = one_line(remote(capsys, server, "elp_NOTATOKENNOTATOKENNOTATOKEN23", "licenses", "mine"))
    assert "token" in err.lower()
    err = one_line(cli(capsys, "--server", server.url, "licenses", "mine"))
    assert "No token for the server" in err and "ELP_TOKEN" in err
    assert store_bytes(world.store.path) == before
    spare = world.create_token(ANA)
    assert remote(capsys, server, spare["token"], "licenses", "mine").code == 0
    world.revoke_token(ANA, spare["id"])
    err = one_line(remote(capsys, server, spare["token"], "licenses", "mine"))
    assert "revoked" in err and spare["id"] in err


def test_acting_as_anyone_but_the_tokens_user_is_refused(tokens, server, world, capsys, monkeypatch):
    before = store_bytes(world.store.path)
    err = one_line(remote(capsys, server, tokens[ADMIN], "--as", ANA, "licenses", "mine"))
    assert f"--as {ANA} refused: the token given belongs to {ADMIN}" in err
    monkeypatch.setenv("ELP_USER", ANA)
    err = one_line(remote(capsys, server, tokens[ADMIN], "licenses", "list"))
    assert f"ELP_USER {ANA} refused" in err
    monkeypatch.setenv("ELP_USER", ADMIN)  # naming the token's own user is fine
    assert remote(capsys, server, tokens[ADMIN], "licenses", "list").code == 0
    assert store_bytes(world.store.path) == before


HOST_COMMANDS = [
    ["init", "--org", "X", "--admin", "x@x.io"], ["demo"], ["check"], ["backup", "/tmp/never.json"],
    ["restore", "/tmp/never.json", "--yes"], ["outbox", "send"], ["ssh", "setup"],
]


def test_commands_of_the_stores_host_are_refused_through_a_server_before_it_is_asked(capsys):
    port = free_port()  # nothing listens: the refusal needs no server
    for argv in HOST_COMMANDS:
        err = one_line(cli(capsys, "--server", f"http://127.0.0.1:{port}", "--token", "t", *argv))
        assert "runs on the host that holds the store" in err and "--store PATH" in err, argv
    with pytest.raises(HostOnly, match="runs on the host that holds the store"):
        RemotePortal(f"http://127.0.0.1:{port}", "t").check()


def test_server_and_store_together_or_a_malformed_address_are_refused(capsys, world):
    err = one_line(cli(capsys, "--server", "http://127.0.0.1:9", "--store", str(world.store.path), "licenses", "mine"))
    assert "--server and --store" in err
    err = one_line(cli(capsys, "--server", "127.0.0.1:8750", "--token", "t", "licenses", "mine"))
    assert "is not an ELP server address" in err and "http://HOST:PORT" in err


# -- an answer lost on the way back ----------------------------------------------------------
class Vanishing:
    """A server that reads a whole request, then closes the connection without answering (it
    died after the request reached it), or gives `reply` (a proxy's page, a crash's 500): a real
    socket on 127.0.0.1."""

    def __init__(self, reply: bytes | None = None) -> None:
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _sep, body = data.partition(b"\r\n\r\n")
                length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1)) if b"ength" in head else 0
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests.append(head + body)
                if self.reply is not None:
                    conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()


def test_a_commit_whose_answer_was_lost_says_it_may_have_been_made():
    gone = Vanishing()
    try:
        portal = RemotePortal(gone.url, "t")
        with pytest.raises(ServerUnavailable) as info:
            portal.return_license(ADMIN, "AAAA-BBBB-CCCC-DDDD", ANA)
        message = str(info.value)
        assert gone.url in message and "may or may not have been made" in message and "\n" not in message
        assert gone.requests and b"/v1/call/return_license" in gone.requests[0]
        with pytest.raises(ServerUnavailable) as info:
            portal.list_licenses(ADMIN)
        assert "nothing was changed" in str(info.value) and "may or may not" not in str(info.value)
    finally:
        gone.close()


def http_reply(status: str, content_type: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


def test_an_error_the_server_did_not_foresee_on_a_change_says_it_may_have_been_made():
    crash = Vanishing(http_reply("500 Internal Server Error", "application/json",
                                 b'{"error": {"type": "PortalError", "message": "internal error (logged as 1a2b3c4d)"}}'))
    proxy = Vanishing(http_reply("502 Bad Gateway", "text/html", b"<h1>Bad Gateway</h1>"))
    try:
        with pytest.raises(ServerUnavailable, match="may or may not have been made") as info:
            RemotePortal(crash.url, "t").return_license(ADMIN, "AAAA-BBBB-CCCC-DDDD", ANA)
        assert "internal error (logged as 1a2b3c4d)" in str(info.value)
        with pytest.raises(PortalError) as info:  # a read: the server's line as it is
            RemotePortal(crash.url, "t").list_licenses(ADMIN)
        assert str(info.value) == "internal error (logged as 1a2b3c4d)"
        with pytest.raises(ServerUnavailable, match="may or may not have been made") as info:
            RemotePortal(proxy.url, "t").return_license(ADMIN, "AAAA-BBBB-CCCC-DDDD", ANA)
        assert "HTTP 502 Bad Gateway" in str(info.value) and "\n" not in str(info.value)
    finally:
        crash.close()
        proxy.close()
