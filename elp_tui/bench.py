"""`make bench`: the project's speed figures, measured in one run, printed as a table and
written to `bench.json` (in the current folder) with their targets and PASS/MISS.

Everything runs on two demo stores built at the start in a temp folder (small and large,
today = 2026-11-23), through public entry points only — the `elp` CLI in subprocesses,
`Portal`, `Store(path)`, `make_app`, `write_demo` — so the instrument keeps working when the
store engine underneath changes.

Figures (the keys of bench.json):
- commit_generate_ms_p50_{large,small}: one `portal.generate` in-process (quote made before the
  timer), confirm until durable on disk; p50 of 9. commit_generate_ratio_large_to_small.
- baseline_tinydb_commit_ms_large: the same insert (license, ledger entry, activity entry)
  through stock TinyDB JSONStorage on a copy of the large store's data: three `insert`s, as
  stock TinyDB has no transaction (each one reads, rewrites and fsyncs the whole file); p50 of 3.
  commit_vs_tinydb_ratio = baseline / ours.
- cli_generate_s_*, cli_banks_list_s_*, cli_export_s_large: whole `elp` processes (median of 3);
  peak_rss_mb_cli_large: the largest peak RSS of the large `licenses generate --yes` processes.
  Every process is started through a small launcher that times it and takes its ru_maxrss
  with os.wait4 (see _LAUNCHER: why not straight from this process).
- app_first_frame_s_*: from spawning `python -m elp_tui.bench --child-app STORE ADMIN` until it
  says the Dashboard's data is on screen (median of 3); peak_rss_mb_app_large: the largest
  peak RSS of those children on the large store.
- app_other_session_sees_change_s_large: an app child shows the Dashboard; this process commits
  a generate through its own Portal; the time from that commit returning until the child's
  Dashboard shows different data (median of 3; the app polls every STORE_POLL_S).
- filter_keystroke_ms_p{50,95}_large, scroll_page_ms_p50_large, table_fill_s_large against
  baseline_datatable_fill_s_large (table_fill_ratio = baseline / ours): RecordTable + FilterBar
  with every license of the large demo, in a headless app. A key pressed through Textual's test
  harness (press, then wait for the screen) costs about 80 ms before any of our code runs: the
  same key into a bare Input is measured in the same run (pilot_keystroke_floor_ms), and the
  keystroke figures are what our table and filter add to it (the raw times are kept as
  *_raw_ms_* in bench.json).
- report_s_large: `Portal.report` (issue 13: every bank's burn-down and forecast, licenses
  expiring per week, seat use replayed from the activity log) on the open large store, median of
  3 after a first call (report_cold_s_large: that first call, which also loads the tables it
  reads); against baseline_dashboard_s_large, `Portal.dashboard` on the same portal, measured
  the same way (report_ratio_to_dashboard). cli_report_s_large: a whole `elp report --json`
  process, against cli_banks_list_s_large (cli_report_ratio_to_banks_list).
- server_commits_per_s_1, server_commits_per_s_2, server_generate_ms_p50, server_generate_ms_p95
  (issue 14; elp_tui/bench_server.py): 8 client processes generating (quote, then commit) through
  one, then two `elp serve` processes on one PostgreSQL the bench starts itself, loaded with the
  small demo; server_vs_inprocess_ratio = server_generate_ms_p50 / commit_generate_ms_p50_small;
  where the time goes (CPU per generate of the servers, PostgreSQL, the clients; one commit
  alone on PostgreSQL against the same on the JSON store): see elp_tui/bench_server.py.
  Skipped, with the reason under "skipped" in bench.json, where PostgreSQL is missing.
- demo_write_s_large, store_open_s_large, cli_startup_s_small against python_bare_s and
  python_import_textual_s: the older figures, kept.

A figure that could not be measured is null in bench.json and named under "errors"; the
command then exits 1 (a MISS alone does not fail it: the targets are goals). A figure this
machine cannot measure (no PostgreSQL) is null, named under "skipped" with why, and printed as
SKIP: that does not fail the command.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

TODAY = dt.date(2026, 11, 23)
OUTPUT = "bench.json"
CHILD_TIMEOUT_S = 180.0
COMMIT_RUNS = 9
CLI_RUNS = 3
APP_RUNS = 3
TINYDB_RUNS = 3
PAGE_DOWNS = 10
REPORT_RUNS = 3
# An ed25519 public key no store knows (any 32 bytes make one): what sshd passes as %k.
BENCH_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIGJlbmNoLWtleS1ub2JvZHktaGFzLWl0LWF0LWFsbCE="

# key: (comparison, bound, what the issue asks)
TARGETS: dict[str, tuple[str, float]] = {
    "commit_generate_ratio_large_to_small": ("<=", 3),
    "commit_vs_tinydb_ratio": (">=", 20),
    "commit_generate_ms_p50_large": ("<", 30),
    "cli_generate_ratio_large_to_small": ("<=", 2),
    "cli_banks_list_ratio_large_to_small": ("<=", 2),
    "cli_export_s_large": ("<=", 1),
    "app_first_frame_s_large": ("<=", 1.5),
    "app_other_session_sees_change_s_large": ("<=", 1),
    "peak_rss_mb_cli_large": ("<=", 300),
    "peak_rss_mb_app_large": ("<=", 500),
    "filter_keystroke_ms_p50_large": ("<=", 50),
    "filter_keystroke_ms_p95_large": ("<=", 100),
    "scroll_page_ms_p50_large": ("<=", 30),
    "table_fill_ratio": (">=", 50),
    "demo_write_s_large": ("<=", 60),
    # sshd runs `elp ssh authorized-keys` for every key offered at every connection (issue 11).
    "ssh_authorized_keys_ratio_large_to_small": ("<=", 2),
    # "Computing the report for the large demo takes under a second" (issue 13).
    "report_s_large": ("<=", 1),
    # elp serve on PostgreSQL, 8 concurrent clients, on the 2-core machine (issue 14).
    "server_commits_per_s_1": (">=", 200),
    "server_commits_per_s_2": (">=", 200),
    "server_generate_ms_p95": ("<=", 100),
}

# What the server section measures (skipped together, with the reason, where PostgreSQL is missing).
SERVER_FIGURES = ("server_commits_per_s_1", "server_commits_per_s_2", "server_generate_ms_p50", "server_generate_ms_p95")

# The printed table: what, ours (key, unit), baseline (key, name), ratio key, target key.
ROWS: list[tuple[str, str, str, str | None, str | None, str | None]] = [
    ("commit generate, large vs small (p50)", "commit_generate_ms_p50_large", "ms", "commit_generate_ms_p50_small",
     "commit_generate_ratio_large_to_small", "commit_generate_ratio_large_to_small"),
    ("commit generate, large vs stock TinyDB", "commit_generate_ms_p50_large", "ms", "baseline_tinydb_commit_ms_large",
     "commit_vs_tinydb_ratio", "commit_vs_tinydb_ratio"),
    ("commit generate, large (aim)", "commit_generate_ms_p50_large", "ms", None, None, "commit_generate_ms_p50_large"),
    ("elp licenses generate, large vs small", "cli_generate_s_large", "s", "cli_generate_s_small",
     "cli_generate_ratio_large_to_small", "cli_generate_ratio_large_to_small"),
    ("elp banks list, large vs small", "cli_banks_list_s_large", "s", "cli_banks_list_s_small",
     "cli_banks_list_ratio_large_to_small", "cli_banks_list_ratio_large_to_small"),
    ("elp licenses export, large", "cli_export_s_large", "s", None, None, "cli_export_s_large"),
    ("elp ssh authorized-keys (sshd asks), large vs small", "ssh_authorized_keys_s_large", "s",
     "ssh_authorized_keys_s_small", "ssh_authorized_keys_ratio_large_to_small", "ssh_authorized_keys_ratio_large_to_small"),
    ("app first frame, large vs small", "app_first_frame_s_large", "s", "app_first_frame_s_small",
     "app_first_frame_ratio_large_to_small", "app_first_frame_s_large"),
    ("other session sees a change, large", "app_other_session_sees_change_s_large", "s", None, None,
     "app_other_session_sees_change_s_large"),
    ("peak RSS, elp licenses generate, large", "peak_rss_mb_cli_large", "MB", None, None, "peak_rss_mb_cli_large"),
    ("peak RSS, app, large", "peak_rss_mb_app_large", "MB", None, None, "peak_rss_mb_app_large"),
    ("test harness: one key into a bare Input (p50)", "pilot_keystroke_floor_ms", "ms", None, None, None),
    ("filter keystroke, large, beyond the harness (p50)", "filter_keystroke_ms_p50_large", "ms", None, None, "filter_keystroke_ms_p50_large"),
    ("filter keystroke, large, beyond the harness (p95)", "filter_keystroke_ms_p95_large", "ms", None, None, "filter_keystroke_ms_p95_large"),
    ("page down, large, beyond the harness (p50)", "scroll_page_ms_p50_large", "ms", None, None, "scroll_page_ms_p50_large"),
    ("table filled and on screen, large vs DataTable", "table_fill_s_large", "s", "baseline_datatable_fill_s_large",
     "table_fill_ratio", "table_fill_ratio"),
    ("report computed, large vs dashboard", "report_s_large", "s", "baseline_dashboard_s_large",
     "report_ratio_to_dashboard", "report_s_large"),
    ("elp report --json, large vs elp banks list", "cli_report_s_large", "s", "cli_banks_list_s_large",
     "cli_report_ratio_to_banks_list", None),
    ("server generates/s, 8 clients, 1 server", "server_commits_per_s_1", "/s", None, None,
     "server_commits_per_s_1"),
    ("server generates/s, 8 clients, 2 servers", "server_commits_per_s_2", "/s", None, None,
     "server_commits_per_s_2"),
    ("server generate p50 vs in-process commit, small", "server_generate_ms_p50", "ms", "commit_generate_ms_p50_small",
     "server_vs_inprocess_ratio", None),
    ("server generate p95, 8 clients, 2 servers", "server_generate_ms_p95", "ms", None, None, "server_generate_ms_p95"),
    ("  CPU a generate, 2 servers: elp serve", "server_cpu_ms_per_generate_serve_2", "ms", None, None, None),
    ("  CPU a generate, 2 servers: PostgreSQL", "server_cpu_ms_per_generate_postgres_2", "ms", None, None, None),
    ("  CPU a generate, 2 servers: the 8 clients", "server_cpu_ms_per_generate_clients_2", "ms", None, None, None),
    ("  one commit alone on PostgreSQL vs JSON, small", "pg_commit_generate_ms_p50_small", "ms",
     "commit_generate_ms_p50_small", "pg_commit_ratio_to_json", None),
    ("large demo written", "demo_write_s_large", "s", None, None, "demo_write_s_large"),
    ("open the large store (all checks) vs JSON parse", "store_open_s_large", "s", "json_parse_s_large",
     "store_open_ratio_to_json_parse", None),
    ("CLI start-up (banks list, small) vs import Textual", "cli_startup_s_small", "s", "python_import_textual_s",
     "cli_startup_ratio_to_textual", None),
    ("CLI start-up (banks list, small) vs python -c pass", "cli_startup_s_small", "s", "python_bare_s",
     "cli_startup_ratio_to_bare", None),
]


# -- small helpers ------------------------------------------------------------------------
def _p(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _elp() -> list[str]:
    """The `elp` command of this Python (the console script beside it, else `-m elp_tui`)."""
    script = Path(sys.executable).with_name("elp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "elp_tui"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ELP_USER", "ELP_STORE", "ELP_LANG")}
    env["ELP_TODAY"] = TODAY.isoformat()
    return env


class ChildFailed(RuntimeError):
    pass


# Every measured process is started through this small launcher, which waits for it with
# os.wait4 and writes its ru_maxrss and its start and end (CLOCK_MONOTONIC, the same clock in
# every process). Why not spawn directly: on Linux a child's ru_maxrss starts from its parent's
# peak (fork or vfork, then exec, keeps the old memory's high-water mark), and this process
# holds two stores and 100k table rows, so every child would seem to need 1 GB.
_LAUNCHER = """
import json, os, sys, time
result, args = sys.argv[1], sys.argv[2:]
start = time.monotonic()
pid = os.posix_spawn(args[0], args, os.environ)
_pid, status, usage = os.wait4(pid, 0)
end = time.monotonic()
with open(result, "w") as fh:
    json.dump({"start": start, "end": end, "code": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss}, fh)
"""


class Child:
    """A process started through the launcher; its stdout may be read line by line."""

    def __init__(self, args: list[str], *, stdout: Any = subprocess.DEVNULL):
        self.args = args
        self.err = tempfile.TemporaryFile()
        fd, name = tempfile.mkstemp(prefix="elp-bench-", suffix=".json")
        os.close(fd)
        self.result_path = Path(name)
        self.proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, name, *args], env=_env(), stdout=stdout,
                                     stderr=self.err, stdin=subprocess.DEVNULL, text=True)
        self.result: dict[str, Any] = {}

    def fail(self, why: str) -> ChildFailed:
        self.err.seek(0)
        return ChildFailed(f"{' '.join(self.args)}: {why}: {self.err.read().decode(errors='replace')[-2000:]}")

    def readline(self, word: str) -> tuple[float, float]:
        """The next line must be `word VALUE`: (time.monotonic() when it came, VALUE)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        now = time.monotonic()
        if not line.startswith(word + " "):
            self.kill()
            raise self.fail(f"said {line!r} instead of {word!r}")
        return now, float(line.split()[1])

    def wait(self) -> dict[str, Any]:
        """Wait for its end: {"start", "end", "code", "maxrss_kib"}; raises if it failed."""
        self.proc.wait()
        try:
            self.result = json.loads(self.result_path.read_text() or "{}")
        except (OSError, ValueError):
            self.result = {}
        if self.proc.returncode != 0 or self.result.get("code") != 0:
            raise self.fail(f"exited {self.result.get('code', self.proc.returncode)}")
        return self.result

    @property
    def peak_rss_mb(self) -> float:
        return self.result["maxrss_kib"] / 1024  # ru_maxrss: KiB on Linux

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.err.close()
        self.result_path.unlink(missing_ok=True)


def _run(args: list[str], *, stdout: Any = subprocess.DEVNULL) -> tuple[float, float]:
    """Run a process to its end: (wall seconds, peak RSS in MB). Raises if it fails."""
    child = Child(args, stdout=stdout)
    try:
        result = child.wait()
        return result["end"] - result["start"], child.peak_rss_mb
    finally:
        child.close()


def _median_run(args: list[str], runs: int = CLI_RUNS, **kw: Any) -> tuple[float, float]:
    """(median wall seconds, largest peak RSS MB) over `runs` runs."""
    results = [_run(args, **kw) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def pick_bank(portal: Any, admin: str) -> str:
    """A bank of the admin's organization a one-month node-lock license can start today from:
    valid today, already started, the most credits left."""
    banks = [
        b for b in portal.list_banks(admin)
        if not b["expired"] and b["start"] <= TODAY.isoformat() < b["expires_on"] and b["remaining"] >= 50
    ]
    if not banks:
        raise RuntimeError("the demo has no bank with credits valid on " + TODAY.isoformat())
    return max(banks, key=lambda b: (b["remaining"], b["id"]))["id"]


def _quote(portal: Any, admin: str, bank: str) -> Any:
    return portal.quote_generate(admin, bank=bank, type="node-lock", months=1, quantity=1, start=TODAY, email=admin)


# -- in-process commit ----------------------------------------------------------------------
def commit_generate_ms(portal: Any, admin: str, bank: str, runs: int = COMMIT_RUNS) -> float:
    """p50 of `portal.generate` (the quote is made before the timer): confirm until durable."""
    times = []
    for _ in range(runs):
        quote = _quote(portal, admin, bank)
        start = time.perf_counter()
        portal.generate(admin, quote)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def tinydb_document(store_path: Path) -> dict[str, dict[str, Any]]:
    """The store's data as one TinyDB JSON document ({"table": {"doc id": doc}}).

    The one place that knows how to get it: today the store file already is this document;
    if the store becomes several files, build it from Store(path).tables() or its equivalent."""
    from elp_tui.store import Store

    return {name: dict(docs) for name, docs in Store(store_path).tables().items() if not name.startswith("_")}


def baseline_tinydb_commit_ms(store_path: Path, folder: Path, runs: int = TINYDB_RUNS) -> float:
    """p50 of one generate's documents (license, ledger entry, activity entry) inserted through
    stock TinyDB (JSONStorage) into a copy of the store's data."""
    from tinydb import TinyDB

    copy = folder / "tinydb-copy.json"
    data = tinydb_document(store_path)
    copy.write_text(json.dumps(data), encoding="utf-8")

    def template(table: str) -> dict[str, Any]:
        docs = data.get(table) or {}
        return dict(docs[max(docs, key=lambda k: int(k) if str(k).isdigit() else 0)]) if docs else {"bench": True}

    lic, entry, activity = template("licenses"), template("ledger"), template("activity")
    del data
    times = []
    db = TinyDB(copy)
    try:
        for n in range(runs):
            lic = {**lic, "activation_id": f"BNCH-0000-0000-{n:04d}"}
            entry = {**entry, "license": lic["activation_id"]}
            activity = {**activity, "target": lic["activation_id"]}
            start = time.perf_counter()
            db.table("licenses").insert(lic)
            db.table("ledger").insert(entry)
            db.table("activity").insert(activity)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        db.close()
    copy.unlink()
    return statistics.median(times)


# -- the app in a child process ---------------------------------------------------------------
def child_app(store: str, admin: str, watch: bool = False) -> int:
    """The app, headless, on `store` as `admin`. Prints `frame <time.time()>` (or `ready ...`
    with --watch) once the Dashboard's data is on screen; with --watch, then `changed <time>`
    when the Dashboard next shows different data. Exits after its last line."""
    from elp_tui.app import make_app
    from elp_tui.screens.dashboard import DashboardPage

    original = DashboardPage.show_data
    first: list[Any] = []

    def show_data(self: DashboardPage, data: Any) -> None:
        original(self, data)
        now = time.time()
        if not first:
            first.append(data)
            print(("ready " if watch else "frame ") + repr(now), flush=True)
            if not watch:
                self.app.exit()
        elif watch and data != first[0]:
            print("changed " + repr(now), flush=True)
            self.app.exit()

    DashboardPage.show_data = show_data  # type: ignore[method-assign]
    watchdog = threading.Timer(CHILD_TIMEOUT_S, lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()
    app = make_app(store, admin, clock=TODAY)
    app.run(headless=True, size=(120, 36))
    return 0


def _app_child(store: Path, admin: str, watch: bool = False) -> Child:
    """`python -m elp_tui.bench --child-app STORE ADMIN [--watch]`."""
    args = [sys.executable, "-m", "elp_tui.bench", "--child-app", str(store), admin] + (["--watch"] if watch else [])
    return Child(args, stdout=subprocess.PIPE)


def app_first_frame(store: Path, admin: str) -> tuple[float, float]:
    """(seconds from spawn until the Dashboard shows its data, the child's peak RSS MB)."""
    child = _app_child(store, admin)
    try:
        seen, _printed = child.readline("frame")
        result = child.wait()
        return seen - result["start"], child.peak_rss_mb
    finally:
        child.close()


def other_session_sees_change(store: Path, admin: str, portal: Any, bank: str) -> float:
    """Seconds from this process's generate returning until an app child's Dashboard shows it."""
    quote = _quote(portal, admin, bank)
    child = _app_child(store, admin, watch=True)
    try:
        child.readline("ready")
        time.sleep(1.0)  # let it settle: its first store polls are done
        portal.generate(admin, quote)
        committed = time.time()
        _seen, printed = child.readline("changed")
        child.wait()
        return printed - committed
    finally:
        child.close()


# -- the table, in-process -------------------------------------------------------------------------
def _filter_keys(rows: list[dict[str, Any]]) -> list[str]:
    """A realistic filter, one key at a time: the most frequent assignee's email prefix, a
    space, then a product word."""
    from collections import Counter

    assignees = Counter(r.get("assignee") for r in rows if r.get("assignee"))
    email = str(assignees.most_common(1)[0][0]) if assignees else "user"
    prefix = "".join(ch for ch in email.split("@")[0] if ch.isalnum())[:6].lower() or "user"
    products = Counter(str(r.get("product") or "") for r in rows)
    product = products.most_common(1)[0][0] if products else "product"
    word = "".join(ch for ch in product.split()[0] if ch.isalnum())[:7].lower() or "product"
    return list(prefix) + ["space"] + list(word)


async def _pilot_floor(samples: int = 15) -> float:
    """p50 of one key pressed into a bare Input and the screen waited for, under the same test
    harness: what every keystroke figure here costs before any of our code runs."""
    from textual.app import App, ComposeResult
    from textual.widgets import Input

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Input()

    app = Bare()
    times: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one(Input).focus()
        await pilot.pause()
        for n in range(samples):
            start = time.perf_counter()
            await pilot.press("abcdefghijklmnopqrstuvwxyz"[n % 26])
            await pilot.pause()
            times.append((time.perf_counter() - start) * 1000)
    return _p(times, 0.5)


async def _table_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from elp_tui.screens.licenses import LicensesPage
    from elp_tui.widgets.filter import FilterBar
    from elp_tui.widgets.table import RecordTable

    columns = LicensesPage.COLUMNS

    class Ours(App[None]):
        def compose(self) -> ComposeResult:
            table = RecordTable(columns, id="t")
            yield FilterBar(table, id="f")
            yield table

    class Stock(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="t")

    out: dict[str, Any] = {}
    ours = Ours()
    async with ours.run_test(size=(120, 36)) as pilot:
        table = ours.query_one(RecordTable)
        bar = ours.query_one(FilterBar)
        await pilot.pause()
        start = time.perf_counter()
        table.set_rows(rows)
        await pilot.pause()
        out["table_fill_s_large"] = time.perf_counter() - start

        bar.focus()
        await pilot.pause()
        # The test harness's own cost of one key (press, then wait for the screen): a key typed
        # into a bare Input, in this very run. A keystroke's figure is what our table adds to it.
        out["pilot_keystroke_floor_ms"] = await _pilot_floor()
        keys: list[float] = []
        typed = _filter_keys(rows)
        for key in typed:
            start = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            keys.append((time.perf_counter() - start) * 1000)
        floor = out["pilot_keystroke_floor_ms"]
        out["filter_keystroke_raw_ms_p50_large"] = _p(keys, 0.5)
        out["filter_keystroke_ms_p50_large"] = max(0.0, _p(keys, 0.5) - floor)
        out["filter_keystroke_ms_p95_large"] = max(0.0, _p(keys, 0.95) - floor)
        out["filter_keystrokes"] = len(keys)
        out["filter_text"] = "".join(" " if k == "space" else k for k in typed)

        await pilot.press("escape")  # clears the filter, focuses the table
        await pilot.pause()
        table.focus()
        await pilot.pause()
        pages: list[float] = []
        for _ in range(PAGE_DOWNS):
            start = time.perf_counter()
            await pilot.press("pagedown")
            await pilot.pause()
            pages.append((time.perf_counter() - start) * 1000)
        out["scroll_page_raw_ms_p50_large"] = _p(pages, 0.5)
        out["scroll_page_ms_p50_large"] = max(0.0, _p(pages, 0.5) - floor)

    stock = Stock()
    async with stock.run_test(size=(120, 36)) as pilot:
        data_table = stock.query_one(DataTable)
        await pilot.pause()
        start = time.perf_counter()
        data_table.add_columns(*[c.key for c in columns])
        data_table.add_rows([[str(r.get(c.key, "")) for c in columns] for r in rows])
        await pilot.pause()
        out["baseline_datatable_fill_s_large"] = time.perf_counter() - start
    return out


# -- the run ------------------------------------------------------------------------------------------
class Bench:
    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.skipped: dict[str, str] = {}  # figure -> why it could not be measured on this machine (not an error)

    def section(self, name: str, fn: Callable[[], None]) -> None:
        """Run one group of measures; a failure is noted and the others still run."""
        print(f"· {name}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - the instrument reports, it does not stop
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
        print(f"  ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)

    def set(self, **figures: Any) -> None:
        self.figures.update(figures)

    def get(self, key: str) -> Any:
        return self.figures.get(key)


def measure(folder: Path) -> Bench:
    from elp_tui.demo import write_demo
    from elp_tui.portal import Portal, fixed_clock
    from elp_tui.store import Store

    b = Bench()
    small = folder / "small" / "elp.json"
    large = folder / "large" / "elp.json"
    info: dict[str, dict[str, Any]] = {}
    portals: dict[str, Any] = {}
    banks: dict[str, str] = {}

    def demos() -> None:
        info["small"] = write_demo(small, size="small", force=True, progress=False, today=TODAY)
        start = time.perf_counter()
        info["large"] = write_demo(large, size="large", force=True, progress=True, today=TODAY)
        b.set(demo_write_s_large=time.perf_counter() - start,
              licenses_small=info["small"]["counts"].get("licenses"), licenses_large=info["large"]["counts"].get("licenses"))

    b.section("demo stores", demos)
    if len(info) < 2:
        return b
    admin = {size: info[size]["admin"] for size in info}
    stores = {"small": small, "large": large}

    def store_open() -> None:
        start = time.perf_counter()
        Store(large).tables()
        b.set(store_open_s_large=time.perf_counter() - start)
        if large.is_file():  # today's one-file store: parsing it alone, the floor of opening it
            import orjson

            start = time.perf_counter()
            orjson.loads(large.read_bytes())
            b.set(json_parse_s_large=time.perf_counter() - start)

    def commits() -> None:
        for size in ("small", "large"):
            portals[size] = Portal(Store(stores[size]), fixed_clock(TODAY))
            banks[size] = pick_bank(portals[size], admin[size])
            b.figures[f"commit_generate_ms_p50_{size}"] = commit_generate_ms(portals[size], admin[size], banks[size])

    def tinydb() -> None:
        b.set(baseline_tinydb_commit_ms_large=baseline_tinydb_commit_ms(large, folder))

    def cli() -> None:
        elp = _elp()
        b.set(python_bare_s=_median_run([sys.executable, "-c", "pass"])[0],
              python_import_textual_s=_median_run([sys.executable, "-c", "import textual.app, textual.widgets"])[0])
        for size in ("small", "large"):
            base = elp + ["--store", str(stores[size]), "--as", admin[size]]
            b.figures[f"cli_banks_list_s_{size}"] = _median_run(base + ["banks", "list"])[0]
            # What sshd runs for a key offered at a connection (an unknown key: the enrolment line).
            b.figures[f"ssh_authorized_keys_s_{size}"] = _median_run(elp + [
                "--store", str(stores[size]), "ssh", "authorized-keys", "elp", "ssh-ed25519", BENCH_KEY])[0]
            seconds, rss = _median_run(base + [
                "licenses", "generate", "--bank", banks[size], "--type", "node-lock", "--months", "1", "--quantity", "1",
                "--start", TODAY.isoformat(), "--email", admin[size], "--yes"])
            b.figures[f"cli_generate_s_{size}"] = seconds
            if size == "large":
                b.set(peak_rss_mb_cli_large=rss)
        b.set(cli_startup_s_small=b.get("cli_banks_list_s_small"))
        with open(folder / "export.csv", "wb") as out:
            b.set(cli_export_s_large=_median_run(elp + ["--store", str(large), "--as", admin["large"],
                                                        "licenses", "export"], stdout=out)[0])

    def app_frames() -> None:
        for size in ("small", "large"):
            runs = [app_first_frame(stores[size], admin[size]) for _ in range(APP_RUNS)]
            b.figures[f"app_first_frame_s_{size}"] = statistics.median(r[0] for r in runs)
            if size == "large":
                b.set(peak_rss_mb_app_large=max(r[1] for r in runs))

    def other_session() -> None:
        runs = [other_session_sees_change(large, admin["large"], portals["large"], banks["large"]) for _ in range(APP_RUNS)]
        b.set(app_other_session_sees_change_s_large=statistics.median(runs))

    def tables() -> None:
        rows = portals["large"].list_licenses(admin["large"])
        b.set(table_rows_large=len(rows))
        b.set(**asyncio.run(_table_figures(rows)))

    def insight() -> None:
        portal, who = portals["large"], admin["large"]
        start = time.perf_counter()
        portal.report(who)
        b.set(report_cold_s_large=time.perf_counter() - start)

        def median_of(call: Callable[[], Any]) -> float:
            times = []
            for _ in range(REPORT_RUNS):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        b.set(report_s_large=median_of(lambda: portal.report(who)),
              baseline_dashboard_s_large=median_of(lambda: portal.dashboard(who)))
        b.set(cli_report_s_large=_median_run(_elp() + ["--store", str(large), "--as", who, "report", "--json"])[0])

    b.section("open the large store", store_open)
    b.section("in-process commits", commits)
    def server() -> None:
        from elp_tui import bench_server

        why = bench_server.missing()
        if why:
            for key in SERVER_FIGURES:
                b.skipped[key] = why
            print(f"  skipped: {why}", file=sys.stderr, flush=True)
            return
        b.set(**bench_server.measure_server(folder, small, admin["small"], info["small"]["vendor"], TODAY, pick_bank,
                                            say=lambda text: print(text, file=sys.stderr, flush=True)))

    b.section("stock TinyDB baseline", tinydb)
    if "small" in banks:
        b.section("elp serve on PostgreSQL", server)
    if banks.keys() >= {"small", "large"}:
        b.section("CLI processes", cli)
    b.section("app first frame", app_frames)
    if "large" in banks:
        b.section("another session sees a change", other_session)
    if "large" in portals:
        b.section("table, filter, scroll", tables)
        b.section("report", insight)
    return b


def derive(figures: dict[str, Any]) -> None:
    """The ratios, from figures of the same run."""
    g = figures.get
    pairs = {
        "commit_generate_ratio_large_to_small": ("commit_generate_ms_p50_large", "commit_generate_ms_p50_small"),
        "commit_vs_tinydb_ratio": ("baseline_tinydb_commit_ms_large", "commit_generate_ms_p50_large"),
        "cli_generate_ratio_large_to_small": ("cli_generate_s_large", "cli_generate_s_small"),
        "cli_banks_list_ratio_large_to_small": ("cli_banks_list_s_large", "cli_banks_list_s_small"),
        "ssh_authorized_keys_ratio_large_to_small": ("ssh_authorized_keys_s_large", "ssh_authorized_keys_s_small"),
        "app_first_frame_ratio_large_to_small": ("app_first_frame_s_large", "app_first_frame_s_small"),
        "table_fill_ratio": ("baseline_datatable_fill_s_large", "table_fill_s_large"),
        "store_open_ratio_to_json_parse": ("store_open_s_large", "json_parse_s_large"),
        "cli_startup_ratio_to_textual": ("cli_startup_s_small", "python_import_textual_s"),
        "cli_startup_ratio_to_bare": ("cli_startup_s_small", "python_bare_s"),
        "report_ratio_to_dashboard": ("report_s_large", "baseline_dashboard_s_large"),
        "cli_report_ratio_to_banks_list": ("cli_report_s_large", "cli_banks_list_s_large"),
        "server_vs_inprocess_ratio": ("server_generate_ms_p50", "commit_generate_ms_p50_small"),
        "pg_commit_ratio_to_json": ("pg_commit_generate_ms_p50_small", "commit_generate_ms_p50_small"),
    }
    for key, (a, b) in pairs.items():
        figures[key] = _ratio(g(a), g(b))


def verdicts(figures: dict[str, Any]) -> dict[str, bool | None]:
    out: dict[str, bool | None] = {}
    for key, (op, bound) in TARGETS.items():
        value = figures.get(key)
        if value is None:
            out[key] = None
        elif op == "<=":
            out[key] = value <= bound
        elif op == "<":
            out[key] = value < bound
        else:
            out[key] = value >= bound
    return out


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "/s":
        return f"{value:.0f} /s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.2f} s"


def _target_text(key: str, unit: str) -> str:
    op, bound = TARGETS[key]
    suffix = "x" if "ratio" in key else f" {unit}"
    return f"{op} {bound:g}{suffix}"


def report(figures: dict[str, Any], passed: dict[str, bool | None], skipped: dict[str, str] | None = None) -> str:
    """The printed table; a target whose figure was skipped (`skipped`: figure -> why) says SKIP."""
    skipped = skipped or {}
    head = f"{'what':<50} {'ours':>11} {'baseline':>11} {'ratio':>8}  {'target':<10} {'':<4}"
    lines = [head, "-" * len(head)]
    for what, ours_key, unit, base_key, ratio_key, target_key in ROWS:
        ours = _fmt(figures.get(ours_key), unit)
        base = _fmt(figures.get(base_key), unit) if base_key else ""
        ratio_value = figures.get(ratio_key) if ratio_key else None
        ratio = f"{ratio_value:.1f}x" if ratio_value is not None else ("—" if ratio_key else "")
        if target_key:
            target = _target_text(target_key, unit)
            verdict = {True: "PASS", False: "MISS", None: "SKIP" if target_key in skipped else "ERR"}[passed.get(target_key)]
        else:
            target, verdict = "", ""
        lines.append(f"{what:<50} {ours:>11} {base:>11} {ratio:>8}  {target:<10} {verdict:<4}".rstrip())
    return "\n".join(lines)


def run_bench(output: Path) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="elp-bench-") as tmp:
        bench = measure(Path(tmp))
    figures = bench.figures
    derive(figures)
    passed = verdicts(figures)
    document = {
        **figures,
        "targets": {key: {"op": op, "value": bound} for key, (op, bound) in TARGETS.items()},
        "pass": passed,
        "errors": bench.errors,
        "skipped": bench.skipped,
        "meta": {
            "today": TODAY.isoformat(),
            "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "bench_seconds": round(time.perf_counter() - started, 1),
        },
    }
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(report(figures, passed, bench.skipped))
    print(f"\n{sum(1 for v in passed.values() if v)} of {len(passed)} targets met; "
          f"figures in {output} ({document['meta']['bench_seconds']:.0f} s, load average {os.getloadavg()[0]:.1f}).")
    for name, error in bench.errors.items():
        print(f"could not measure ({name}): {error}")
    for why in sorted(set(bench.skipped.values())):
        print(f"skipped ({', '.join(k for k, v in bench.skipped.items() if v == why)}): {why}")
    return 1 if bench.errors else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m elp_tui.bench", description="ELP's speed figures (make bench).")
    parser.add_argument("--child-app", nargs=2, metavar=("STORE", "ADMIN"),
                        help="(internal) run the app headless and say when the Dashboard shows its data")
    parser.add_argument("--watch", action="store_true", help="(internal, with --child-app) then wait for a change")
    parser.add_argument("--child-clients", nargs=7, metavar=("URL", "TOKEN", "BANK", "ADMIN", "TODAY", "GO_FILE", "SECONDS"),
                        help="(internal) one client generating through elp serve (elp_tui.bench_server)")
    parser.add_argument("--output", default=OUTPUT, help=f"where to write the figures (default: ./{OUTPUT})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_app:
        store, admin = args.child_app
        return child_app(store, admin, watch=args.watch)
    if args.child_clients:
        from elp_tui.bench_server import child_clients

        return child_clients(*args.child_clients)
    return run_bench(Path(args.output))


if __name__ == "__main__":
    sys.exit(main())
