"""`make bench`, the measuring instrument: its parts that need no timing."""

from __future__ import annotations

import sys

from elp_tui import bench


def test_child_app_mode_takes_a_store_and_an_admin_and_an_optional_watch():
    args = bench.parse_args(["--child-app", "/tmp/s/elp.json", "ana@studio.com", "--watch"])
    assert args.child_app == ["/tmp/s/elp.json", "ana@studio.com"]
    assert args.watch
    plain = bench.parse_args([])
    assert plain.child_app is None and not plain.watch and plain.output == "bench.json"


def test_a_child_s_peak_memory_is_its_own_not_the_bench_process_s():
    ballast = bytearray(300 * 1024 * 1024)
    ballast[:: 4096] = b"\x01" * len(ballast[:: 4096])  # touched: resident in this process
    _seconds, peak_mb = bench._run([sys.executable, "-c", "pass"])
    assert peak_mb < 150, f"a bare python shows {peak_mb:.0f} MB: this process's memory leaked into the figure"
    del ballast


def test_a_figure_that_could_not_be_measured_is_neither_pass_nor_miss():
    figures = {"commit_generate_ms_p50_large": 12.0, "commit_generate_ms_p50_small": 6.0, "cli_export_s_large": 4.0}
    bench.derive(figures)
    assert figures["commit_generate_ratio_large_to_small"] == 2.0
    passed = bench.verdicts(figures)
    assert passed["commit_generate_ratio_large_to_small"] is True
    assert passed["cli_export_s_large"] is False
    assert passed["table_fill_ratio"] is None
    table = bench.report(figures, passed)
    assert "PASS" in table and "MISS" in table and "ERR" in table
