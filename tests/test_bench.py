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


def test_a_figure_skipped_for_want_of_postgresql_says_skip_and_why_not_err():
    figures = {"commit_generate_ms_p50_small": 5.0, "server_generate_ms_p50": 20.0}
    bench.derive(figures)
    assert figures["server_vs_inprocess_ratio"] == 4.0
    passed = bench.verdicts(figures)
    assert passed["server_commits_per_s_2"] is None
    why = {key: "PostgreSQL is not installed" for key in bench.SERVER_FIGURES}
    rows = {line.split("  ")[0]: line for line in bench.report(figures, passed, why).splitlines()}
    [two] = [line for what, line in rows.items() if what.startswith("server generates/s, 8 clients, 2")]
    assert two.endswith("SKIP") and ">= 200 /s" in two
    unexplained = [line for line in bench.report(figures, passed).splitlines() if line.startswith("server generates/s")]
    assert all(line.endswith("ERR") for line in unexplained)  # without a reason, a figure missing is an error


def test_client_mode_takes_a_server_a_token_a_bank_and_its_run():
    args = bench.parse_args(["--child-clients", "http://127.0.0.1:8750", "elp_x", "B-0001", "ana@studio.com",
                             "2026-11-23", "/tmp/go", "5"])
    assert args.child_clients[0] == "http://127.0.0.1:8750" and args.child_clients[-1] == "5"
