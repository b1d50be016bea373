"""Two `elp serve` processes on one PostgreSQL database, raced by client processes through HTTP.

Everything is real: a PostgreSQL started by the tests (tests/pg_server.py), `python -m elp_tui
serve` processes (tests/elp_server.py), and clients that are separate OS processes speaking HTTP
and the wire format with httpx (tests/procs/http_racer.py), each recording every commit it saw
acknowledged and every refusal it was given. After the race the database is read by a fresh
process and `elp check --db` runs on it:

- 0 lost: every acknowledged commit is in the database (and, with no crash, nothing else is);
- 0 overdrawn: `elp check` is clean, a bank's used credits never pass its granted credits, a
  pool's holders never pass its seats;
- every refusal explained: each one is the portal's own error body (its class and its one-line
  message, the one that says why: the credits are short, the seat is gone, the data changed since
  the quote), never a traceback, a 500 or a dropped connection.

A server SIGKILLed while clients commit through it loses no commit a client saw acknowledged:
a restarted server reads every one of them back, and the database passes `elp check`.

Skipped, saying why, where PostgreSQL is missing (`pg_server`) or the build has no API tokens.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from elp_tui import wire
from elp_tui.portal import Portal, fixed_clock
from elp_tui.portal.quotes import STALE
from elp_tui.store import open_store
from tests.conftest import ADMIN, TODAY, VENDOR, VENDOR_EMAIL
from tests.elp_server import ElpServer
from tests.helpers import grant_bank, grant_seats

ROOT = Path(__file__).resolve().parents[1]
RACER = Path(__file__).resolve().parent / "procs" / "http_racer.py"
WORKERS = 4

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX processes")


def env(folder: Path) -> dict[str, str]:
    """A server's or a client's environment: no ELP settings of the developer's, English, today
    fixed (the database was made with a fixed clock, so ELP_TODAY may steer it)."""
    out = {k: v for k, v in os.environ.items()
           if not k.startswith("ELP_") and k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    out.update(LANG="C.UTF-8", ELP_TODAY=TODAY.isoformat(), ELP_CONFIG=str(folder / "no-settings.json"),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return out


@dataclass
class Site:
    """One database, the portal that set it up, the servers in front of it, an admin's token."""

    url: str
    portal: Portal
    folder: Path
    token: str
    servers: list[ElpServer] = field(default_factory=list)

    def serve(self) -> ElpServer:
        server = ElpServer(self.url, env=env(self.folder), log_path=self.folder / f"serve-{len(self.servers)}.log")
        server.start()
        self.servers.append(server)
        return server

    def fresh(self) -> Portal:
        """The database as yet another process reads it (nothing cached)."""
        return Portal(open_store(self.url), fixed_clock(TODAY))

    def check(self) -> None:
        """`elp --db URL check`, a process of its own: clean."""
        done = subprocess.run([sys.executable, "-m", "elp_tui", "--db", self.url, "check"], cwd=ROOT,
                              env=env(self.folder), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def no_server_failed(self) -> None:
        for server in self.servers:
            log = server.log()
            assert "Traceback" not in log and "internal error" not in log, log[-3000:]


@pytest.fixture
def site(pg_server, tmp_path) -> Iterator[Site]:
    url = pg_server.migrated_database()
    portal = Portal(open_store(url), fixed_clock(TODAY))
    portal.init_organization("Lumenfox Studios", ADMIN)
    portal.setup_vendor("Quillstone", VENDOR_EMAIL, VENDOR)
    if not hasattr(portal, "create_token"):
        pytest.skip("API tokens (Portal.create_token) are not in this build")
    made = Site(url, portal, tmp_path, portal.create_token(ADMIN)["token"])
    yield made
    for server in made.servers:
        server.kill()
    pg_server.drop_database(url)


# -- the client processes -------------------------------------------------------------------
@dataclass
class Race:
    lines: list[dict[str, Any]]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["kind"] == kind]

    @property
    def acks(self) -> list[dict[str, Any]]:
        return self.of("ack")

    @property
    def refusals(self) -> list[dict[str, Any]]:
        return self.of("refused")


def start_racers(site: Site, tag: str, per_worker: list[list[str]], *, until: Path | None = None,
                 attempts: int | None = None) -> tuple[list[subprocess.Popen], list[Path], Path]:
    """One client process per entry of `per_worker` (its MODE and ARGs), all against every server,
    started together once each has said it is ready."""
    go = site.folder / f"go-{tag}"
    urls = site.folder / f"servers-{tag}"
    urls.write_text(",".join(server.url for server in site.servers))
    outs = [site.folder / f"{tag}-{i}.jsonl" for i in range(len(per_worker))]
    limit = ["--attempts", str(attempts)] if attempts is not None else ["--until", str(until)]
    procs = [subprocess.Popen([sys.executable, str(RACER), str(out), str(go), f"@{urls}", site.token, *args, *limit],
                              cwd=ROOT, env=env(site.folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for out, args in zip(outs, per_worker)]
    for proc in procs:
        line = proc.stdout.readline()
        if line.strip() != "ready":
            for other in procs:
                other.kill()
            raise AssertionError(f"a client did not start: {line!r} {proc.stderr.read()}")
    go.touch()
    return procs, outs, go


def finish(procs: list[subprocess.Popen], outs: list[Path]) -> Race:
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    lines = [json.loads(line) for out in outs for line in out.read_text().splitlines()]
    done = [line for line in lines if line["kind"] == "done"]
    assert len(done) == len(outs), "a client did not finish its run"
    return Race([line for line in lines if line["kind"] != "done"])


def race(site: Site, tag: str, per_worker: list[list[str]], attempts: int) -> Race:
    return finish(*start_racers(site, tag, per_worker, attempts=attempts)[:2])


def assert_explained(race: Race, *reasons: str) -> None:
    """Every refusal is the portal's: its class and a message naming one of `reasons`; nothing
    went unanswered or gave up."""
    assert not race.of("unanswered") and not race.of("gave-up"), race.of("unanswered") + race.of("gave-up")
    for line in race.refusals:
        assert line["type"] in ("RuleViolation", "StaleQuote"), line
        assert line["status"] == (409 if line["type"] == "StaleQuote" else 422), line
        message = line["message"] or ""
        assert "Traceback" not in message and "\n" not in message, line
        assert any(reason in message for reason in reasons), line


def through_both_servers(race: Race) -> None:
    servers = {line["server"] for line in race.acks}
    assert servers == {0, 1}, f"commits were acknowledged by servers {servers} only: the servers never raced"


def decoded(value: Any) -> Any:
    return wire.decode(value)


# -- the races ------------------------------------------------------------------------------
def test_clients_of_two_servers_racing_for_a_bank_s_last_credits(site):
    bank = grant_bank(site.portal, product="Quillstone Animate", credits=30, start="2026-11-01", expires_on="2027-05-01")
    site.serve(), site.serve()
    args = ["generate", bank["id"], ADMIN, TODAY.isoformat()]
    result = race(site, "credits", [args] * WORKERS, attempts=12)  # 48 asked for, 30 to be had

    acked = [aid for line in result.acks for aid in line["result"]]
    assert len(acked) == 30 and len(set(acked)) == 30, result.acks  # every credit spent once
    final = [line for line in result.refusals if "short" in (line["message"] or "")]
    assert len(final) == 48 - 30  # each attempt ended acknowledged or told the credits are short
    assert_explained(result, "short", STALE)
    for line in final:
        assert f"Bank {bank['id']} has 0 credits left" in line["message"], line
    through_both_servers(result)

    after = site.fresh()
    stored = {lic["activation_id"] for lic in after.list_licenses(ADMIN)}
    assert stored == set(acked)  # 0 lost, and nothing a client was not told about
    [row] = after.list_banks(ADMIN)
    assert (row["used"], row["remaining"]) == (30, 0)  # 0 overdrawn
    ledger = [e for e in site.portal.store.tables()["ledger"].values()]
    assert sorted(e["license"] for e in ledger) == sorted(acked)
    site.check()
    site.no_server_failed()


def test_clients_of_two_servers_renewing_the_same_licenses(site):
    bank = grant_bank(site.portal, product="Quillstone Animate", credits=40, start="2026-11-01", expires_on="2036-11-01")
    licenses = [site.portal.generate(ADMIN, site.portal.quote_generate(
        ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ADMIN))[0]
        for _ in range(4)]
    ids = [lic["activation_id"] for lic in licenses]
    site.serve(), site.serve()
    result = race(site, "renew", [["renew", ",".join(ids)]] * WORKERS, attempts=12)  # 48 asked for, 36 to be had

    assert len(result.acks) == 36, result.acks
    final = [line for line in result.refusals if "short" in (line["message"] or "")]
    assert len(final) == 48 - 36
    assert_explained(result, "short", STALE)
    assert any(line["type"] == "StaleQuote" for line in result.refusals), (
        "no renewal ever met another one of the same license: the test proved nothing")
    through_both_servers(result)

    after = site.fresh()
    rows = {lic["activation_id"]: lic for lic in after.list_licenses(ADMIN)}
    ledger = list(site.portal.store.tables()["ledger"].values())
    for aid in ids:
        renewals = [line for line in result.acks if line["result"]["activation_id"] == aid]
        # every acknowledged renewal is there, once: one more month each, one credit each
        assert len([e for e in ledger if e["license"] == aid and e["reason"] == "renew"]) == len(renewals)
        expected_end = dt.date(2026, 12, 23)
        for _ in renewals:
            expected_end = (expected_end.replace(day=1) + dt.timedelta(days=32)).replace(day=23)
        assert str(rows[aid]["expires_on"]) == expected_end.isoformat(), (aid, len(renewals))
        latest = max(str(decoded(line["result"]["expires_on"])) for line in renewals) if renewals else None
        assert latest in (None, expected_end.isoformat())
    [row] = after.list_banks(ADMIN)
    assert (row["used"], row["remaining"]) == (40, 0)
    site.check()
    site.no_server_failed()


def test_clients_of_two_servers_racing_for_the_last_seats(site):
    grant_seats(site.portal, "Race Seats", 5)
    site.portal.create_team(ADMIN, "Racers", "Race Seats")
    site.serve(), site.serve()
    people = [[f"w{w}-{n}@lf.io" for n in range(3)] for w in range(WORKERS)]
    result = race(site, "seats", [["seat", "Racers", ",".join(emails)] for emails in people], attempts=3)

    joined = {line["result"]["email"] for line in result.acks}
    assert len(result.acks) == len(joined) == 5, result.acks  # 12 asked for, 5 seats
    assert len(result.refusals) == 12 - 5
    assert_explained(result, "No unused seat left in the Race Seats pool")
    through_both_servers(result)

    after = site.fresh()
    [pool] = [p for p in after.seats_overview(ADMIN) if p["product"] == "Race Seats"]
    assert (pool["purchased"], pool["unused"]) == (5, 0)
    [team] = after.list_teams(ADMIN)
    assert {member["email"] for member in team["members"]} == joined  # 0 lost, and no one who was refused
    holders = [h for h in site.portal.store.tables()["seat_holders"].values()]
    assert {h["email"] for h in holders} == joined and len(holders) == 5  # 0 over capacity
    site.check()
    site.no_server_failed()


# -- a server killed mid-request ----------------------------------------------------------------
def call(server: ElpServer, token: str, method: str, **args: Any) -> Any:
    response = httpx.post(f"{server.url}/v1/call/{method}", json={"args": {k: wire.encode(v) for k, v in args.items()}},
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert response.status_code == 200, response.text
    return wire.decode(response.json()["result"])


def acked_so_far(outs: list[Path]) -> int:
    count = 0
    for out in outs:
        if out.exists():
            count += sum(1 for line in out.read_text().splitlines(keepends=True)
                         if line.endswith("\n") and '"kind": "ack"' in line)
    return count


def wait_for_acks(outs: list[Path], count: int, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 60
    while acked_so_far(outs) < count:
        assert all(proc.poll() is None for proc in procs), "a client stopped early"
        assert time.monotonic() < deadline, f"only {acked_so_far(outs)} commits acknowledged in 60 s"
        time.sleep(0.02)


def commits_cut(outs: list[Path]) -> list[dict[str, Any]]:
    """The commits a client sent and never had an answer to: the server died with it in flight."""
    cut = []
    for out in outs:
        for line in out.read_text().splitlines(keepends=True):
            if line.endswith("\n") and '"unanswered"' in line:
                entry = json.loads(line)
                if entry["kind"] == "unanswered" and entry["stage"] == "commit" and not entry["error"].startswith("ConnectError"):
                    cut.append(entry)
    return cut


def test_a_server_killed_mid_request_loses_no_acknowledged_commit(site):
    """Clients commit through two servers; one is SIGKILLed (again and again, each time started
    anew) while requests are in flight. Every commit a client saw acknowledged is read back
    through a server started afterwards, and `elp check --db` passes."""
    bank = grant_bank(site.portal, product="Quillstone Animate", credits=1_000_000, start="2026-11-01",
                      expires_on="2036-11-01")
    victim, survivor = site.serve(), site.serve()
    stop = site.folder / "stop"
    args = ["generate", bank["id"], ADMIN, TODAY.isoformat()]
    procs, outs, _go = start_racers(site, "crash", [args] * WORKERS, until=stop)
    target = 0
    for kill in range(8):  # until a commit was cut in flight (3 kills at least)
        target = acked_so_far(outs) + 10
        wait_for_acks(outs, target, procs)  # commits are flowing through both servers
        victim.kill()  # SIGKILL, mid-request: the clients keep requests in flight all the time
        wait_for_acks(outs, acked_so_far(outs) + 5, procs)  # the survivor carries on alone
        victim.start()  # anew (on another port: the clients read the servers' addresses again)
        listed = site.folder / "servers-crash.new"
        listed.write_text(f"{victim.url},{survivor.url}")
        listed.replace(site.folder / "servers-crash")  # whole, never half-written
        if kill >= 2 and commits_cut(outs):
            break
    wait_for_acks(outs, acked_so_far(outs) + 5, procs)
    survivor.kill()  # and the other one too, mid-request
    stop.touch()
    result = finish(procs, outs)

    assert commits_cut(outs), "no commit was in flight when a server was killed: the test proved nothing"
    acked = [aid for line in result.acks for aid in line["result"]]
    assert len(acked) >= target

    reader = site.serve()  # a server started after the crashes reads every acknowledged commit
    stored = {row["activation_id"] for row in call(reader, site.token, "list_licenses")}
    lost = set(acked) - stored
    assert not lost, f"{len(lost)} acknowledged commits lost: {sorted(lost)[:5]}"
    # a commit cut before its answer may be there too, but only whole: one ledger entry a license
    tables = site.portal.store.tables()
    assert sorted(e["license"] for e in tables["ledger"].values()) == sorted(stored)
    [row] = site.fresh().list_banks(ADMIN)
    assert row["used"] == len(stored)
    for line in result.refusals:  # a refusal while a server was down is still the portal's
        assert line["type"] is not None and "Traceback" not in (line["message"] or ""), line
    site.check()
