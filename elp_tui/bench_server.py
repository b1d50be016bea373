"""`make bench`, the server figures (issue 14): generates through `elp serve` on PostgreSQL.

The bench starts everything itself, in a temp folder: a PostgreSQL the way the tests start one
(tests/pg_server.py: the system's initdb and postgres, 127.0.0.1, a free port, durability as
PostgreSQL ships it: fsync and synchronous_commit on), the small demo store moved into a
database of it with `elp migrate`, a bank of a million credits granted there by the demo's
vendor, an API token of the demo's admin, and `elp serve --db` processes (tests/elp_server.py).

Then CLIENTS client processes (`python -m elp_tui.bench --child-clients ...`), each with its own
httpx connection to one server (client k to server k mod n), generate one one-month node-lock
license after another as a user does: POST quote_generate, then POST generate with that quote.
They start together (a go file holding the start time, CLOCK_MONOTONIC) and count the generates
committed in the next LOAD_S seconds, after a warm-up of their own.

Figures:
- server_commits_per_s_1, server_commits_per_s_2: generates committed per second by all clients
  together, against one server and against two servers on the one database;
- server_generate_ms_p50, server_generate_ms_p95: the generate call (the commit, as the client
  sees it: request, server, database, answer) in the two-server run; *_1 the same with one server;
  server_quote_ms_p50: the quote call, for scale;
- server_vs_inprocess_ratio: server_generate_ms_p50 / commit_generate_ms_p50_small (the same
  commit in-process on the JSON store of the same demo, measured in the same run);
- where the time goes: server_cpu_ms_per_generate_{serve,postgres,clients}_{1,2}, the CPU the
  `elp serve` processes, PostgreSQL (all its processes) and the clients used during the load's
  seconds, per generate committed (quote and commit: two requests); and
  pg_commit_generate_ms_p50_small, one generate committed in-process on the database, alone: the
  store commits one transaction at a time (a row lock held through PostgreSQL's commit, its WAL
  flush included), so 1000 / it bounds the commits a second any number of servers can reach.

Where PostgreSQL (or the tests' helpers, or API tokens) is missing, the figures are skipped with
the reason: null in bench.json, named under "skipped", and the bench still succeeds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

CLIENTS = 8
LOAD_S = 5.0
WARMUP_GENERATES = 3
ROOT = Path(__file__).resolve().parents[1]  # the source tree: its tests/ holds the PostgreSQL and server starters


def missing() -> str | None:
    """Why the server figures cannot be measured here, or None."""
    if not (ROOT / "tests" / "pg_server.py").is_file() or not (ROOT / "tests" / "elp_server.py").is_file():
        return "run from the source tree: tests/pg_server.py and tests/elp_server.py start PostgreSQL and elp serve"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.pg_server import missing as pg_missing

    why = pg_missing()
    if why:
        return why
    from elp_tui.portal import Portal

    if not hasattr(Portal, "create_token"):
        return "this build has no API tokens (Portal.create_token)"
    return None


def _env(folder: Path) -> dict[str, str]:
    """The servers' and the clients' environment: none of the developer's ELP settings, and no
    ELP_TODAY either: the servers run on the system clock, as in production (with ELP_TODAY set,
    every request would also check that the store may have its clock fixed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELP_")}
    env.update(ELP_CONFIG=str(folder / "no-settings.json"), LANG="C.UTF-8")
    return env


def measure_server(folder: Path, small_store: Path, admin: str, vendor: str, today: Any,
                   pick_bank: Callable[[Any, str], str],
                   say: Callable[[str], None] = lambda _text: None) -> dict[str, Any]:
    """The server figures (see the module's docstring). `folder`: where the clients' files go."""
    from tests.elp_server import ElpServer
    from tests.pg_server import Postgres

    from elp_tui.portal import Portal, fixed_clock
    from elp_tui.store import open_store

    out: dict[str, Any] = {}
    # Not under `folder`: when the bench runs as root, PostgreSQL runs as `postgres`, which must
    # reach its folder (a TemporaryDirectory is 0700 root's).
    pg_folder = Path(tempfile.mkdtemp(prefix="elp-bench-pg-"))
    postgres = Postgres(pg_folder)
    servers: list[Any] = []
    env = _env(folder)
    now = dt.date.today()  # the servers' today: licenses start on it
    try:
        postgres.start()
        url = postgres.fresh_database()
        done = subprocess.run([sys.executable, "-m", "elp_tui", "migrate", "--from", str(small_store), "--to", url],
                              env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"elp migrate: {done.stdout}{done.stderr}")
        store = open_store(url)
        portal = Portal(store, fixed_clock(today))
        demo_bank = pick_bank(portal, admin)
        [row] = [b for b in portal.list_banks(admin) if b["id"] == demo_bank]
        me = store.read().get("users", email=admin)
        until = max(today, now)
        bank = portal.add_bank(vendor, organization=me["organization"], product=row["product"], credits=1_000_000,
                               start=min(today, now).isoformat(), expires_on=until.replace(year=until.year + 2).isoformat())["id"]
        token = portal.create_token(admin)["token"]
        out["server_store_licenses"] = len(store.read().all("licenses"))
        # The same commit in-process on the database (quote made before the timer): one commit
        # at a time holds the store's row lock this long, so 1000 / it is the most commits a
        # second the database takes, whatever the servers do.
        from elp_tui.bench import commit_generate_ms

        out["pg_commit_generate_ms_p50_small"] = commit_generate_ms(portal, admin, bank)
        store.close()

        for count in (1, 2):
            while len(servers) < count:
                server = ElpServer(url, env=env, log_path=folder / f"serve-{len(servers)}.log")
                server.start()
                servers.append(server)
            say(f"  {CLIENTS} clients, {count} server(s)")
            run = load([s.url for s in servers], token, bank, admin, now.isoformat(), folder / f"load-{count}",
                       servers=[s.pid for s in servers], postgres=postgres.process.pid if postgres.process else None)
            out[f"server_commits_per_s_{count}"] = run["commits_per_s"]
            out[f"server_generate_ms_p50_{count}"] = run["generate_ms_p50"]
            out[f"server_generate_ms_p95_{count}"] = run["generate_ms_p95"]
            out[f"server_quote_ms_p50_{count}"] = run["quote_ms_p50"]
            out[f"server_failures_{count}"] = run["failures"]
            for who in ("serve", "postgres", "clients"):
                out[f"server_cpu_ms_per_generate_{who}_{count}"] = run[f"cpu_ms_per_generate_{who}"]
        out["server_generate_ms_p50"] = out["server_generate_ms_p50_2"]
        out["server_generate_ms_p95"] = out["server_generate_ms_p95_2"]
        out["server_quote_ms_p50"] = out["server_quote_ms_p50_2"]
        for server in servers:
            if "Traceback" in server.log():
                raise RuntimeError(f"elp serve logged an error: {server.log()[-2000:]}")
    finally:
        for server in servers:
            server.stop()
        postgres.stop()
        shutil.rmtree(pg_folder, ignore_errors=True)
    return out


def _p(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    """`root` and every process below it (PostgreSQL's postmaster and its backends)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _cpu_of(pids: list[int]) -> dict[int, float]:
    return {pid: _cpu_s(pid) for pid in pids}


def load(urls: list[str], token: str, bank: str, admin: str, today: str, prefix: Path, *,
         servers: Sequence[int] = (), postgres: int | None = None) -> dict[str, Any]:
    """CLIENTS client processes against `urls` for LOAD_S seconds: the merged figures, and where
    the CPU went during those seconds (Linux /proc: the `servers` processes, the tree under
    `postgres`, and the clients' own count) per generate committed."""
    go = prefix.with_name(prefix.name + ".go")
    children = []
    for k in range(CLIENTS):
        args = [sys.executable, "-m", "elp_tui.bench", "--child-clients", urls[k % len(urls)], token, bank, admin,
                today, str(go), str(LOAD_S)]
        children.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         stdin=subprocess.DEVNULL))
    try:
        for child in children:
            line = child.stdout.readline() if child.stdout else ""
            if line.strip() != "ready":
                raise RuntimeError(f"a client did not start: {line!r} {child.stderr.read() if child.stderr else ''}")
        start = time.monotonic() + 0.2
        watched = list(servers) + (_tree(postgres) if postgres else [])
        before = _cpu_of(watched)
        go.write_text(repr(start))
        time.sleep(max(0.0, start + LOAD_S - time.monotonic()))
        after = _cpu_of(watched)
        results = []
        for child in children:
            stdout, stderr = child.communicate(timeout=LOAD_S + 120)
            if child.returncode != 0:
                raise RuntimeError(f"a client failed: {stderr[-2000:]}")
            results.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    commits = [ms for r in results for ms in r["generate_ms"]]
    quotes = [ms for r in results for ms in r["quote_ms"]]
    used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}

    def per_generate(seconds: float) -> float | None:
        return seconds * 1000 / len(commits) if commits else None

    return {
        "cpu_ms_per_generate_serve": per_generate(sum(used.get(pid, 0.0) for pid in servers)),
        "cpu_ms_per_generate_postgres": per_generate(sum(v for pid, v in used.items() if pid not in servers)),
        "cpu_ms_per_generate_clients": per_generate(sum(r["cpu_s"] for r in results)),
        "commits_per_s": len(commits) / LOAD_S,
        "generate_ms_p50": _p(commits, 0.5),
        "generate_ms_p95": _p(commits, 0.95),
        "quote_ms_p50": _p(quotes, 0.5),
        "failures": sum(r["failures"] for r in results),
    }


def child_clients(url: str, token: str, bank: str, admin: str, today: str, go: str, seconds: str) -> int:
    """One client: quote and generate through `url` as fast as answers come, for `seconds` from
    the time the go file names. Prints `ready`, then one JSON line of its figures."""
    import httpx

    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    quote_args = {"args": {"bank": bank, "type": "node-lock", "months": 1, "quantity": 1, "start": {"$date": today},
                           "email": admin}}

    def generate() -> tuple[float, float]:
        start = time.perf_counter()
        answer = client.post("/v1/call/quote_generate", json=quote_args)
        answer.raise_for_status()
        quoted = time.perf_counter()
        answer = client.post("/v1/call/generate", json={"args": {"quote": answer.json()["result"]}})
        answer.raise_for_status()
        return (quoted - start) * 1000, (time.perf_counter() - quoted) * 1000

    for _ in range(WARMUP_GENERATES):
        generate()
    print("ready", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(go) or not Path(go).read_text().strip():
        if time.monotonic() > deadline:
            return 2
        time.sleep(0.002)
    start = float(Path(go).read_text())
    end = start + float(seconds)
    while time.monotonic() < start:
        time.sleep(0.001)
    cpu_start = time.process_time()
    quote_ms: list[float] = []
    generate_ms: list[float] = []
    failures = 0
    while True:
        try:
            quoted, committed = generate()
        except httpx.HTTPError:
            failures += 1
            if time.monotonic() > end:
                break
            continue
        if time.monotonic() > end:
            break
        quote_ms.append(quoted)
        generate_ms.append(committed)
    cpu_s = time.process_time() - cpu_start
    print(json.dumps({"quote_ms": quote_ms, "generate_ms": generate_ms, "failures": failures, "cpu_s": cpu_s}),
          flush=True)
    return 0
