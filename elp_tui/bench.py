"""`make bench`: the project's own speed figures, each a ratio against a baseline of the same run.

1. Table with every license of the large demo (100k): our windowed RecordTable against the stock
   DataTable — time until the rows are on screen, and one keystroke afterwards.
2. CLI start-up: `elp banks list` against a bare `python -c pass` and against importing Textual.
3. One portal transaction (invite) on the large store against the same on the small store.
4. Writing the large demo (must stay under a minute).
5. Opening the large store with every check of a damaged file (keys written twice, strict
   fields, references, identifiers, the portal's rules: what `elp check` lists) against parsing
   its JSON alone: what refusing damaged stores on open costs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

TODAY = dt.date(2026, 11, 23)


def _timed(fn: Callable[[], Any], repeat: int = 1) -> float:
    best = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best.append(time.perf_counter() - start)
    return statistics.median(best)


def _line(what: str, ours: float, base: float, base_name: str) -> str:
    if ours <= base:
        verdict = f"{base / ours:>7.1f}x faster than {base_name}"
    else:
        verdict = f"{ours / base:>7.1f}x the time of {base_name}"
    return f"{what:<46} {ours * 1000:>9.1f} ms  vs {base * 1000:>9.1f} ms  {verdict}"


async def _table_times(rows: list[dict[str, Any]], stock: bool = True) -> tuple[float, float, float, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from elp_tui.screens.licenses import LicensesPage
    from elp_tui.widgets.table import RecordTable

    class Ours(App[None]):
        def compose(self) -> ComposeResult:
            yield RecordTable(LicensesPage.COLUMNS if hasattr(LicensesPage, "COLUMNS") else [], id="t")

    class Stock(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="t")

    columns = list(rows[0].keys())
    ours = Ours()
    async with ours.run_test(size=(120, 36)) as pilot:
        table = ours.query_one(RecordTable)
        if not table.columns:
            from elp_tui.widgets.table import Column

            table.columns = [Column(c, c, 12) for c in columns]
        start = time.perf_counter()
        table.set_rows(rows)
        await pilot.pause()
        ours_load = time.perf_counter() - start
        table.focus()
        start = time.perf_counter()
        await pilot.press("j")
        await pilot.pause()
        ours_key = time.perf_counter() - start
    if not stock:
        return ours_load, 0.0, ours_key, 0.0
    stock_app = Stock()
    async with stock_app.run_test(size=(120, 36)) as pilot:
        table2 = stock_app.query_one(DataTable)
        start = time.perf_counter()
        table2.add_columns(*columns)
        table2.add_rows([[str(r[c]) for c in columns] for r in rows])
        await pilot.pause()
        stock_load = time.perf_counter() - start
        table2.focus()
        start = time.perf_counter()
        await pilot.press("down")
        await pilot.pause()
        stock_key = time.perf_counter() - start
    return ours_load, stock_load, ours_key, stock_key


def _cli_time(args: list[str], env: dict[str, str], repeat: int = 5) -> float:
    return _timed(lambda: subprocess.run(args, env=env, check=True, capture_output=True), repeat)


def main() -> int:
    from elp_tui.demo import write_demo
    from elp_tui.portal import Portal, fixed_clock
    from elp_tui.store import Store

    out: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small" / "elp.json"
        large = Path(tmp) / "large" / "elp.json"
        small_info = write_demo(small, size="small", force=True, progress=False, today=TODAY)
        start = time.perf_counter()
        large_info = write_demo(large, size="large", force=True, progress=True, today=TODAY)
        demo_time = time.perf_counter() - start
        out.append(f"{'large demo written (limit: 60 s)':<44} {demo_time:>10.1f} s    ratio to limit {60 / demo_time:>6.1f}x")

        portal = Portal(Store(large), fixed_clock(TODAY))
        start = time.perf_counter()
        rows = portal.list_licenses(large_info["admin"])
        list_time = time.perf_counter() - start
        out.append(f"{'portal.list_licenses on ' + str(len(rows)) + ' licenses':<44} {list_time * 1000:>10.1f} ms")

        ours_load, stock_load, ours_key, stock_key = asyncio.run(_table_times(rows))
        out.append(_line(f"table of {len(rows)} rows on screen", ours_load, stock_load, "stock DataTable"))
        out.append(_line("one keystroke in that table", ours_key, stock_key, "stock DataTable"))
        tiny_load, _, tiny_key, _ = asyncio.run(_table_times(rows[:100], stock=False))
        out.append(_line("one keystroke at 90k rows vs at 100 rows", ours_key, tiny_key, "the same table at 100 rows"))

        env = {**os.environ, "ELP_TODAY": TODAY.isoformat()}
        bare = _cli_time([sys.executable, "-c", "pass"], env)
        textual = _cli_time([sys.executable, "-c", "import textual.app, textual.widgets"], env)
        cli = _cli_time([sys.executable, "-m", "elp_tui", "--store", str(small), "--as", small_info["admin"], "banks", "list"], env)
        out.append(_line("CLI start-up: elp banks list (small)", cli, textual, "importing Textual alone"))
        out.append(_line("CLI start-up: elp banks list (small)", cli, bare, "python -c pass"))

        small_portal = Portal(Store(small), fixed_clock(TODAY))
        base = _timed(lambda: small_portal.invite(small_info["admin"], f"bench{time.perf_counter_ns()}@lumenfox.studio"), 3)
        ours = _timed(lambda: portal.invite(large_info["admin"], f"bench{time.perf_counter_ns()}@lumenfox.studio"), 3)
        out.append(_line("one transaction (invite) on the large store", ours, base, "small store"))

        import orjson

        parse_only = _timed(lambda: orjson.loads(large.read_bytes()), 3)
        checked = _timed(lambda: Portal(Store(large), fixed_clock(TODAY)).store.tables(), 3)
        out.append(_line("open the large store, with every check", checked, parse_only, "parsing its JSON alone"))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
