"""The app (Pilot) as a client of a real `elp serve` process on 127.0.0.1.

- Real keys generate licenses through the server: they are in the store's file.
- A change made by another process (the CLI on the store, or a second client through the
  server) shows on screen, no key pressed (polled with a deadline).
- The server killed (SIGKILL), then started again on its address: the app says it lost the
  server (and a key pressed meanwhile is refused in one line, nothing half-done), then that it
  reconnected, and it is live again.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elp_tui.app import make_app
from elp_tui.portal import Portal, fixed_clock
from elp_tui.remote import RemotePortal
from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.licenses import LicensesPage
from elp_tui.screens.main import MainScreen
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.elp_server import ElpServer
from tests.helpers import messages, until


ROOT = Path(__file__).resolve().parents[1]
ANA = "ana@lf.io"
SHOWS_S = 10.0  # a deadline to poll against on a busy machine, not a measure: the promise is 1 s


def env() -> dict[str, str]:
    return {**os.environ, "ELP_TODAY": TODAY.isoformat(),
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def fresh(path: Path) -> Portal:
    return Portal(Store(path), fixed_clock(TODAY))


@pytest.fixture
def world(portal, bank):
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=1, start=TODAY, email=ANA)
    portal.generate(ADMIN, quote)
    return portal


@pytest.fixture
def server(world):
    srv = ElpServer(world.store.path, env=env())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def token(world) -> str:
    """ADMIN's API token (skipped, saying so, on a build without tokens)."""
    if not hasattr(world, "create_token"):
        pytest.skip("API tokens (Portal.create_token / token_user) are not in this build")
    return world.create_token(ADMIN)["token"]


@pytest.fixture
def remote_app(token, server, tmp_path):
    portal = RemotePortal(server.url, token)
    app = make_app(portal, None, settings_file=tmp_path / "settings.json")
    yield app
    portal.close()


async def elp(*argv: str) -> tuple[int, str, str]:
    """Another session: a real `elp` process, awaited without blocking the app under test."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "elp_tui", *argv, cwd=ROOT, env=env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode(), err.decode()


def generate_args(bank_id: str, quantity: int) -> list[str]:
    return ["licenses", "generate", "--bank", bank_id, "--type", "node-lock", "--months", "1",
            "--quantity", str(quantity), "--start", TODAY.isoformat(), "--email", ANA, "--yes"]


async def open_licenses(app, pilot) -> LicensesPage:
    number = [p.PAGE_ID for p in app.allowed_pages()].index("licenses") + 1
    await pilot.press(str(number))
    page = app.screen.query_one(LicensesPage)
    await until(pilot, lambda: page._fetched and page.display and page.table.has_focus, "licenses loaded")
    return page


async def test_real_keys_generate_licenses_through_the_server(remote_app, world, bank):
    app = remote_app
    path = world.store.path
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.user_email == ADMIN and app.is_admin  # the token's user
        page = await open_licenses(app, pilot)
        assert page.table.total_count == 1
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "form")
        # bank (the only one) -> type -> months 2 -> quantity -> start -> email
        await pilot.press("tab", "tab", "ctrl+u", "2", "tab", "tab", "tab", *ANA, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "confirmation")
        assert ("Bank remaining", "98 → 96") in app.screen.rows  # quoted by the server
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and page.table.total_count == 2, "generated")
    after = fresh(path)
    assert len(after.list_licenses(ADMIN)) == 2
    assert next(b for b in after.list_banks(ADMIN) if b["id"] == bank["id"])["remaining"] == 96
    assert after.check() == []


async def test_another_processes_change_shows_without_a_key(remote_app, world, bank, server, token):
    app = remote_app
    path = world.store.path
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_licenses(app, pilot)
        assert page.table.total_count == 1
        # the CLI on the store itself, beside the server
        code, _out, err = await elp("--store", str(path), "--as", ADMIN, *generate_args(bank["id"], 2))
        assert code == 0, err
        await until(pilot, lambda: page.table.total_count == 3, "the store's change on screen", timeout=SHOWS_S)
        # a second client, through the server
        code, _out, err = await elp("--server", server.url, "--token", token, *generate_args(bank["id"], 1))
        assert code == 0, err
        await until(pilot, lambda: page.table.total_count == 4, "the other client's change", timeout=SHOWS_S)
        assert "Refused" not in messages(app)


async def test_the_app_says_it_lost_the_server_and_that_it_reconnected(remote_app, world, bank, server):
    app = remote_app
    path = world.store.path
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_licenses(app, pilot)
        server.kill()  # SIGKILL: no goodbye
        await until(pilot, lambda: f"Lost the server at {server.url}" in messages(app), "told it is lost",
                    timeout=SHOWS_S)
        top = lambda: str(app.screen.query_one("#signed-in").render())  # noqa: E731
        assert f"lost the server at {server.url}: reconnecting" in top()
        await pilot.press("r")  # reload meanwhile: refused in one line
        await until(pilot, lambda: f"Cannot reach the ELP server at {server.url}" in messages(app), "refused")
        before = page.table.total_count

        # Meanwhile, a change on the store; then the server comes back on the same address.
        code, _out, err = await elp("--store", str(path), "--as", ADMIN, *generate_args(bank["id"], 1))
        assert code == 0, err
        await asyncio.to_thread(restart, server)
        await until(pilot, lambda: f"Reconnected to the server at {server.url}" in messages(app), "told it is back",
                    timeout=SHOWS_S)
        await until(pilot, lambda: "lost the server" not in top() and server.url in top(), "the top line")
        await until(pilot, lambda: page.table.total_count == before + 1, "refreshed", timeout=SHOWS_S)
        # and live again
        code, _out, err = await elp("--store", str(path), "--as", ADMIN, *generate_args(bank["id"], 1))
        assert code == 0, err
        await until(pilot, lambda: page.table.total_count == before + 2, "live again", timeout=SHOWS_S)


def restart(server: ElpServer) -> None:
    """`elp serve` again on the address the app knows (server.port), as a service manager would."""
    server.process = subprocess.Popen(server.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=server.env)
    assert server._ready(30), "the server did not start again"


def test_elp_with_a_server_and_a_token_opens_the_app_in_a_terminal(world, server, token, tmp_path):
    """`ELP_SERVER=URL ELP_TOKEN=T elp` in a real terminal: the app as the token's user, naming the
    server; the server killed, the top line says it is lost; started again, it is back; ctrl+q, exit 0."""
    import shlex
    import shutil

    from tests.test_ssh import Tmux

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: .ci/run installs it")
    tmux = Tmux(tmp_path)
    status = tmp_path / "status"
    variables = {"ELP_SERVER": server.url, "ELP_TOKEN": token, "XDG_DATA_HOME": str(tmp_path / "data-home"),
                 "ELP_CONFIG": str(tmp_path / "settings.json"), "PYTHONPATH": env()["PYTHONPATH"]}
    command = "env -u COLUMNS -u LINES " + " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
    command += f" {shlex.quote(sys.executable)} -m elp_tui"
    tmux.run("new-session", "-d", "-s", "elp", "-x", "130", "-y", "36", "-c", str(ROOT),
             f"{command}; echo $? > {shlex.quote(str(status))}; sleep 30")
    try:
        tmux.wait_for(f"{ADMIN} (admin) · {server.url}", "Dashboard")
        server.kill()
        tmux.wait_for(f"lost the server at {server.url}: reconnecting")
        restart(server)
        tmux.wait_for(f"{ADMIN} (admin) · {server.url}", "Reconnected to the server")
        tmux.run("send-keys", "-t", "elp", "C-q")
        deadline = time.monotonic() + 60
        while not status.exists() or not status.read_text().strip():
            assert time.monotonic() < deadline, tmux.screen()
            time.sleep(0.1)
        assert status.read_text().strip() == "0"
        assert "Traceback" not in tmux.screen()
    finally:
        subprocess.run(["tmux", "-S", tmux.socket, "kill-server"], capture_output=True)


@pytest.mark.parametrize("backend", ["pg"], indirect=True)
async def test_a_change_through_the_other_server_on_one_database_shows_on_screen(world, bank, store_target, token,
                                                                               tmp_path):
    """Two `elp serve` on one PostgreSQL database: the app is a client of the first; a change made
    through the second reaches its screen by itself (NOTIFY between the servers, then the first
    server's event stream), with no key pressed."""
    first, second = ElpServer(store_target, env=env()), ElpServer(store_target, env=env())
    first.start()
    second.start()
    portal = RemotePortal(first.url, token)
    app = make_app(portal, None, settings_file=tmp_path / "settings.json")
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            page = await open_licenses(app, pilot)
            assert page.table.total_count == 1
            code, _out, err = await elp("--server", second.url, "--token", token, *generate_args(bank["id"], 2))
            assert code == 0, err
            await until(pilot, lambda: page.table.total_count == 3, "the other server's change on screen",
                        timeout=SHOWS_S)
            assert "Refused" not in messages(app)
    finally:
        portal.close()
        first.stop()
        second.stop()
