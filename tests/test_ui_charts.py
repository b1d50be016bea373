"""The charts in the app (issue 13): Manage Banks shows the selected bank's forecast and burn-down,
the Dashboard the forecasts of every bank, the licenses expiring per week and the seat use. Real
keys on the small demo at a fixed day; every figure the charts show as text is compared with
`Portal.report` read by another session on the same file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from textual.widgets import Static

from elp_tui.app import make_app
from elp_tui.demo import write_demo
from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store
from elp_tui.widgets.charts import MARK_EXPIRY, MARK_FORECAST, MARK_REMAINING, BurnDownChart, SeatUseChart
from elp_tui.widgets.table import RecordTable
from tests.helpers import copy_store, until

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("charts-demo") / "elp.json"
    info = write_demo(path, size="small", force=True, progress=False, today=TODAY)
    return path, info["admin"]


@pytest.fixture
def demo(demo_template, tmp_path):
    template, admin = demo_template
    store = tmp_path / "data" / "elp.json"
    store.parent.mkdir(parents=True)
    copy_store(template, store)
    return store, admin


def report_of(store, admin) -> dict[str, Any]:
    """The report as another session reads it from the file."""
    return Portal(Store(store), fixed_clock(TODAY)).report(admin)


def app_for(demo, tmp_path):
    store, admin = demo
    return make_app(store, admin, clock=TODAY, settings_file=tmp_path / "settings.json")


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_page(pilot, key: str, page_id: str) -> None:
    await settle(pilot)
    await pilot.press(key)
    await until(pilot, lambda: pilot.app.screen.query_one(f"#page-{page_id}").loaded, page_id)
    await settle(pilot)


def text(widget: Static) -> str:
    return widget.content.plain  # type: ignore[union-attr]


def points_in(lines: list[str], heading: str) -> list[tuple[str, int]]:
    """The points under `heading`, one a line ('  2026-01-01: 1,200') -> [(date, credits), ...]."""
    start = lines.index(heading) + 1
    points = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        day, n = line.strip().split(": ")
        points.append((day, int(n.replace(",", ""))))
    return points


def figure_lines(chart) -> list[str]:
    return text(chart.query_one(".chart-figures", Static)).splitlines()


# -- Manage Banks ------------------------------------------------------------------------------
async def test_manage_banks_shows_each_selected_banks_forecast_and_burn_down_as_the_report_has_them(demo, tmp_path):
    store, admin = demo
    report = report_of(store, admin)
    by_id = {row["bank"]: row for row in report["banks"]}
    app = app_for(demo, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(pilot, "3", "banks")
        table = app.screen.query_one("#banks-table", RecordTable)
        chart = app.screen.query_one("#banks-chart", BurnDownChart)
        seen = set()
        for _row in range(len(by_id)):
            bank = table.current_row
            row = by_id[bank["id"]]
            seen.add(bank["id"])
            assert text(app.screen.query_one("#banks-forecast", Static)) == row["sentence"]
            lines = figure_lines(chart)
            assert lines[0] == "Burn rate: {rate} credits a day over the last {days} days ({credits} credits).".format(
                rate=row["rate"], days=row["window_days"], credits=row["window_credits"])
            assert points_in(lines, "Remaining credits:") == [(p["on"], p["remaining"]) for p in row["burn_down"]]
            if row["kind"] in ("runs-out", "on-track"):
                assert points_in(lines, f"Forecast from {report['today']}:") == [
                    (report["today"], row["remaining"]), (row["runs_out_on"], 0)]
            elif row["kind"] in ("loses", "idle"):
                assert points_in(lines, f"Forecast from {report['today']}:") == [
                    (report["today"], row["remaining"]), (row["expires_on"], row["credits_at_risk"])]
            else:  # expired or used up: nothing ahead to forecast
                assert not any(line.startswith("Forecast") for line in lines)
            assert lines[-1] == f"Expires on {row['expires_on']}."
            await pilot.press("j")
            await pilot.pause()
        assert seen == set(by_id)  # every bank of the report was shown


async def test_the_burn_down_reads_without_colour_each_series_its_own_marker_and_label(demo, tmp_path):
    """Monochrome: the plot carries no colour of its own; the remaining credits, the forecast and
    the expiry each have their own marker and a legend label."""
    store, admin = demo
    row = next(b for b in report_of(store, admin)["banks"] if b["bank"] == "BK-0005")
    assert row["kind"] == "runs-out"  # so there is a forecast to draw
    app = app_for(demo, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_page(pilot, "3", "banks")
        await pilot.press("j")
        await pilot.pause()
        chart = app.screen.query_one("#banks-chart", BurnDownChart)
        drawn = chart.plot.render()
        assert all(span.style is None or not getattr(span.style, "color", None) for span in drawn.spans)
        plain = drawn.plain
        for marker, label in ((MARK_REMAINING, "remaining"), (MARK_FORECAST, "forecast"), (MARK_EXPIRY, f"expires {row['expires_on']}")):
            assert f"{marker}{marker} {label}" in plain
        assert row["expires_on"] in plain.splitlines()[-1]  # the expiry day is on the time axis


async def test_at_80x24_the_figures_are_there_and_reached_by_keys(demo, tmp_path):
    store, admin = demo
    row = next(b for b in report_of(store, admin)["banks"] if b["bank"] == "BK-0005")
    app = app_for(demo, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_page(pilot, "3", "banks")
        await pilot.press("j")
        await pilot.pause()
        chart = app.screen.query_one("#banks-chart", BurnDownChart)
        figures = chart.query_one(".chart-figures", Static)
        assert points_in(figure_lines(chart), "Remaining credits:") == [(p["on"], p["remaining"]) for p in row["burn_down"]]
        # Below the bank's text at this size: tab to the box, end shows the figures on screen.
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#banks-detail-box")
        await pilot.press("end")
        await pilot.pause()
        assert app.screen.find_widget(figures).visible_region.area > 0


# -- Dashboard ---------------------------------------------------------------------------------
async def test_dashboard_summarises_every_forecast_the_weeks_and_the_seat_use(demo, tmp_path):
    store, admin = demo
    report = report_of(store, admin)
    app = app_for(demo, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_page(pilot, "2", "dashboard")
        screen = app.screen
        assert text(screen.query_one("#dashboard-forecasts", Static)).splitlines() == [
            row["summary"] for row in report["banks"]]
        weeks = figure_lines(screen.query_one("#dashboard-weeks"))
        assert len(weeks) == 12
        for line, week in zip(weeks, report["expiring_per_week"]):
            noun = "license expires" if week["licenses"] == 1 else "licenses expire"
            assert line == f"Week {week['week']}, {week['from']} to {week['to']}: {week['licenses']} {noun}"
        charts = list(screen.query(SeatUseChart).results())
        assert len(charts) == len(report["seats"]) >= 1
        for chart, pool in zip(charts, report["seats"]):
            assert pool["product"] in chart.title
            assert figure_lines(chart) == [
                f"{p['on']}: {p['active']} active, {p['pending']} pending, {p['unassigned']} unassigned"
                for p in pool["points"]]
