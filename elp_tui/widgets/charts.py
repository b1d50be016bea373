"""Charts drawn in the terminal with textual-plotext: a bank's burn-down with its forecast, the
licenses expiring per week, a seat pool's use over time.

Each chart takes plain data (ISO dates and numbers; no portal here) and shows, below the plot,
the same figures as text: a Static a screen reader reads and a person selects and copies. The
plot itself is drawn without colour (plotext's "clear" theme: the terminal's own foreground and
background, so it follows the app's theme) and every series has its own marker and a legend
label, so nothing is told by colour alone and the chart reads the same in monochrome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot
import plotext._utility as _plotext_utility

from elp_tui.i18n import _, ngettext, number
from elp_tui.widgets.safe import content

# One marker per series (not colour): what a monochrome terminal and a colour-blind reader tell apart.
# plotext removes duplicate points through a set, so the same data drew differently from one process
# to the next (string hashes are salted per process): a tick label one column off. Keep the first
# of each, in order, so one report always draws the same chart.
_plotext_utility.no_duplicates = lambda data: list(dict.fromkeys(data))

MARK_REMAINING = "•"
MARK_FORECAST = "·"
MARK_EXPIRY = "│"
MARK_BAR = "█"
MARK_ACTIVE = "●"
MARK_PENDING = "+"
MARK_UNASSIGNED = "x"


def _day(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _y_ticks(top: int) -> list[int]:
    """0, the middle and the top, as whole numbers (credits and seats are never fractions)."""
    top = max(int(top), 1)
    return sorted({0, top // 2, top})


def _date_ticks(first: dt.date, last: dt.date, wanted: Sequence[dt.date] = ()) -> tuple[list[int], list[str]]:
    """X positions (days from `first`) and their date labels: the first day, the `wanted` ones
    (today, the expiry), the last; plotext drops a label that would overlap its neighbour."""
    days = sorted({first, last, *(d for d in wanted if first <= d <= last)})
    return [(d - first).days for d in days], [d.isoformat() for d in days]


class Chart(Vertical):
    """A plot with its figures as text below it."""

    DEFAULT_CSS = """
    Chart { height: auto; width: 1fr; }
    Chart > .chart-title { text-style: bold; height: auto; }
    Chart > PlotextPlot { height: 12; width: 1fr; }
    Chart > .chart-figures { height: auto; color: $text; }
    """

    def __init__(self, title: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.figures = ""
        # Made here, not in compose: a chart can be given its data before it is mounted.
        self._title = Static(content(title), classes="chart-title")
        self.plot = PlotextPlot(classes="chart-plot")
        self.plot.theme = "clear"  # no colour of its own: the terminal's, as the app's theme draws it
        self._figures = Static("", classes="chart-figures")

    def compose(self) -> ComposeResult:
        yield self._title
        yield self.plot
        yield self._figures

    def _show(self, title: str, figures: str) -> None:
        self.title, self.figures = title, figures
        self._title.update(content(title))
        self._figures.update(content(figures))
        self.plot.refresh()

    def _fresh(self):  # noqa: ANN202 - the plotext figure, emptied
        plt = self.plot.plt
        plt.clear_figure()
        plt.theme("clear")
        return plt


class BurnDownChart(Chart):
    """A bank's remaining credits over time, the forecast to its expiry (its own dotted
    marker) and the expiry day (a vertical line)."""

    def show(self, title: str, dates: Sequence[str], remaining: Sequence[int], *, today: str, expires_on: str,
             forecast_dates: Sequence[str] = (), forecast_remaining: Sequence[int] = (), summary: str = "") -> None:
        plt = self._fresh()
        days = [_day(d) for d in dates]
        ahead = [_day(d) for d in forecast_dates]
        expiry, now = _day(expires_on), _day(today)
        first = min([*days, *ahead, expiry, now])
        last = max([*days, *ahead, expiry, now])
        top = max([*remaining, *forecast_remaining, 1])
        if days:
            plt.plot([(d - first).days for d in days], list(remaining), marker=MARK_REMAINING,
                     label=_("remaining"))
        if ahead:
            plt.plot([(d - first).days for d in ahead], list(forecast_remaining), marker=MARK_FORECAST,
                     label=_("forecast"))
        x = (expiry - first).days
        plt.plot([x, x], [0, top], marker=MARK_EXPIRY, label=_("expires {date}").format(date=expires_on))
        plt.xticks(*_date_ticks(first, last, [now]))
        plt.yticks(_y_ticks(top))
        plt.ylim(0, top)
        self._show(title, burn_down_figures(dates, remaining, today=today, expires_on=expires_on,
                                            forecast_dates=forecast_dates, forecast_remaining=forecast_remaining,
                                            summary=summary))


class WeeklyBarsChart(Chart):
    """Licenses expiring per week: one bar per week, numbered from the next seven days."""

    def show(self, title: str, weeks: Sequence[tuple[str, str, int]]) -> None:
        """`weeks`: (first day, last day, licenses) per week, in order."""
        plt = self._fresh()
        counts = [n for _first, _last, n in weeks]
        plt.bar([str(i) for i in range(1, len(weeks) + 1)], counts, marker=MARK_BAR, width=0.6)
        plt.xlabel(_("week (1 = the next 7 days)"))
        top = max([*counts, 1])
        plt.yticks(_y_ticks(top))
        plt.ylim(0, top)
        self._show(title, weekly_figures(weeks))


class SeatUseChart(Chart):
    """A seat pool's active, pending and unassigned seats over time (a step per change)."""

    def show(self, title: str, dates: Sequence[str], active: Sequence[int], pending: Sequence[int],
             unassigned: Sequence[int], *, purchased: int | None = None) -> None:
        plt = self._fresh()
        days = [_day(d) for d in dates]
        if days:
            first, last = days[0], days[-1]
            xs = [(d - first).days for d in days]
            for values, marker, label in ((active, MARK_ACTIVE, _("active")), (pending, MARK_PENDING, _("pending")),
                                          (unassigned, MARK_UNASSIGNED, _("unassigned"))):
                plt.plot(xs, list(values), marker=marker, label=label)
            plt.xticks(*_date_ticks(first, last))
        top = max([*active, *pending, *unassigned, purchased or 0, 1])
        plt.yticks(_y_ticks(top))
        plt.ylim(0, top)
        self._show(title, seat_figures(dates, active, pending, unassigned))


# -- the figures as text ------------------------------------------------------------------------
def burn_down_figures(dates: Sequence[str], remaining: Sequence[int], *, today: str, expires_on: str,
                      forecast_dates: Sequence[str] = (), forecast_remaining: Sequence[int] = (),
                      summary: str = "") -> str:
    """The burn-down as text: every point (date, remaining), the forecast's points, the expiry."""
    lines = [summary] if summary else []
    lines.append(_("Remaining credits:") if dates else _("Remaining credits: none recorded."))
    # One point a line: a wrapped line never parts a date from its number.
    lines += [f"  {d}: {number(n)}" for d, n in zip(dates, remaining)]
    if forecast_dates:
        lines.append(_("Forecast from {today}:").format(today=today))
        lines += [f"  {d}: {number(n)}" for d, n in zip(forecast_dates, forecast_remaining)]
    lines.append(_("Expires on {date}.").format(date=expires_on))
    return "\n".join(lines)


def weekly_figures(weeks: Sequence[tuple[str, str, int]]) -> str:
    """One line per week: its number, its days, how many licenses expire."""
    return "\n".join(
        ngettext("Week {n}, {first} to {last}: {licenses} license expires",
                 "Week {n}, {first} to {last}: {licenses} licenses expire", count).format(
            n=i, first=first, last=last, licenses=number(count))
        for i, (first, last, count) in enumerate(weeks, start=1)
    )


def seat_figures(dates: Sequence[str], active: Sequence[int], pending: Sequence[int], unassigned: Sequence[int]) -> str:
    """One line per change: the day and its active / pending / unassigned seats."""
    if not dates:
        return _("No seat use recorded yet.")
    return "\n".join(
        _("{date}: {active} active, {pending} pending, {unassigned} unassigned").format(
            date=d, active=number(a), pending=number(p), unassigned=number(u))
        for d, a, p, u in zip(dates, active, pending, unassigned)
    )
