"""Dashboard: credits left per product, seat pools as consumption bars, what needs attention soon.

Every figure comes from `portal.dashboard(actor)`; this page only lays it out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.actions import SkipAction
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from elp_tui.i18n import N_, _, ngettext
from elp_tui.screens.base import OpenPage, Page
from elp_tui.widgets.commands import Command
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.charts import SeatUseChart, WeeklyBarsChart
from elp_tui.widgets.consumption import ConsumptionBar
from elp_tui.widgets.safe import content, plain
from elp_tui.widgets.table import Column, RecordTable

if TYPE_CHECKING:
    from textual.widget import Widget


def open_licenses_of(page: "Widget", product: str) -> None:
    """Ask for Manage Licenses, narrowed to one product (the main screen shows it)."""
    page.post_message(OpenPage("licenses", narrow=product))


def in_days(days: int) -> str:
    return ngettext("in {n} day", "in {n} days", days).format(n=days)


def _or_dash(value: Any) -> str:
    return "—" if value is None else str(value)


class TeamDistributionDialog(TranslatedBindings, ModalScreen[None]):
    """The FAQ's "Details": members per team and seat state, for every seat pool."""

    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    BINDINGS = [Binding("escape,w,q", "close", N_("Close"), id="dialog.close")]

    def __init__(self, pools: list[dict[str, Any]]):
        super().__init__()
        self.pools = pools

    @staticmethod
    def _line(name: str, members: Any, active: Any, pending: Any) -> str:
        name = plain(name)
        if len(name) > 34:
            name = name[:33] + "…"
        return f"{name:<34} {members!s:>8} {active!s:>8} {pending!s:>8}"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(content(_("Seat distribution per team")), classes="dialog-title")
            if not self.pools:
                yield Static(content(_("Your organization has no seat pool.")), classes="muted")
            for pool in self.pools:
                yield Static(
                    content(_("{product}: {purchased} seats purchased").format(product=pool["product"], purchased=pool["purchased"])),
                    classes="pool-title",
                )
                yield Static(content(self._line(_("Team"), _("Members"), _("Active"), _("Pending"))), classes="team-header")
                if not pool["teams"]:
                    yield Static(content(_("No team in this pool yet.")), classes="muted")
                for team in pool["teams"]:
                    yield Static(content(self._line(team["name"], team["member_count"], team["active"], team["pending"])))
                unassigned = pool.get("unassigned_members") or []
                yield Static(
                    content(
                        _("Unassigned (in no team, still holding a seat): {n}").format(n=pool["unassigned"])
                        + ("\n  " + "\n  ".join(unassigned) if unassigned else "")
                    ),
                    classes="muted",
                )
                yield Static(content(_("Unused seats: {n}").format(n=pool["unused"])), classes="muted")
            yield Static(content(_("A member in several teams holds one seat. escape: close")), classes="dialog-note")

    def action_close(self) -> None:
        self.dismiss(None)


class DashboardBody(VerticalScroll, can_focus=False):
    """The dashboard scrolls as one page: its tables show all their rows, and the keys they
    cannot use (j past the last row, pgdn, space, end) scroll the page instead."""

    BINDINGS = [
        Binding("j,down", "scroll_down", N_("Scroll down"), show=False),
        Binding("k,up", "scroll_up", N_("Scroll up"), show=False),
        Binding("space,pagedown", "page_down", N_("Page down"), show=False),
        Binding("pageup", "page_up", N_("Page up"), show=False),
        Binding("G,end", "scroll_end", N_("Bottom"), show=False),
        Binding("g,home", "scroll_home", N_("Top"), show=False),
    ]

    def action_scroll_down(self) -> None:
        if self.scroll_y >= self.max_scroll_y:
            raise SkipAction()
        self.scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        if self.scroll_y <= 0:
            raise SkipAction()
        self.scroll_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)


class DashboardPage(Page):
    PAGE_ID = "dashboard"
    TITLE = N_("Dashboard")
    ADMIN_ONLY = True

    COMMANDS = [
        Command("dashboard.licenses", "product", "open_licenses", N_("Licenses"),
                N_("Manage the licenses of the selected product (enter works too)"),
                title=N_("Manage licenses of the selected product")),
        Command("dashboard.teams", "who", "team_details", N_("Team details"),
                N_("Members per team and seat state, for every seat pool")),
    ]

    DEFAULT_CSS = """
    DashboardPage #dashboard-body { height: 1fr; }
    DashboardPage .section { text-style: bold; color: $accent; height: 1; margin-top: 1; }
    DashboardPage .section.-first { margin-top: 0; }
    DashboardPage #dashboard-products { height: auto; }
    DashboardPage #dashboard-pools { height: auto; }
    DashboardPage #dashboard-expiring { height: auto; }
    DashboardPage ConsumptionBar { margin-bottom: 1; }
    DashboardPage #dashboard-alerts { height: auto; }
    DashboardPage #dashboard-forecasts { height: auto; }
    DashboardPage #dashboard-seat-use { height: auto; }
    DashboardPage Chart { margin-bottom: 1; }
    """

    COLUMNS = [
        Column("product", N_("Product"), 21, min_width=14, priority=1),
        Column("remaining", N_("Remaining credits"), 17, "right", min_width=9, priority=1),
        # The bank that expires first: its own credits and date (the total does not all expire then).
        Column("expiring_first", N_("Expiring first"), 18, format=_or_dash, priority=1),
        Column("days_left", N_("Days left"), 9, "right", _or_dash, priority=1),
        Column("valid_banks", N_("Banks"), 5, "right", priority=3),
    ]
    EXPIRING_COLUMNS = [
        Column("expires_on", N_("Expiration date"), 15, min_width=10, priority=1),
        Column("activation_id", N_("Activation ID"), 19, priority=1),
        Column("product", N_("Product"), 21, min_width=14),
        Column("assignee", N_("Assigned to"), 28, format=lambda v: v or _("(returned)"), min_width=16, max_width=40),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.COLUMNS, id="dashboard-products", muted=lambda r: not r["valid_banks"])
        self.expiring = RecordTable(self.EXPIRING_COLUMNS, id="dashboard-expiring")
        yield self.title_widget()
        with DashboardBody(id="dashboard-body"):
            yield Static(content(_("Monthly term credits per product")), classes="section -first")
            yield self.table
            yield Static(content(self._products_note()), classes="page-note", id="dashboard-products-note")
            yield Static(content(_("Forecasts at the recent burn rate")), classes="section")
            yield Static("", id="dashboard-forecasts")
            yield Static(content(_("Seat pools")), classes="section")
            yield Vertical(id="dashboard-pools")
            yield Static(content(_("{key}: members per team").format(key=self.key_of("team_details"))), classes="page-note", id="dashboard-pools-note")
            yield Static(content(_("Alerts: the next 30 days")), classes="section")
            yield Static("", id="dashboard-alerts")
            yield self.expiring
            yield Static(content(_("Licenses expiring per week")), classes="section")
            yield WeeklyBarsChart(id="dashboard-weeks")
            yield Static(content(_("Seat use over time")), classes="section", id="dashboard-seat-use-title")
            yield Vertical(id="dashboard-seat-use")

    # -- data --------------------------------------------------------------------------
    # An overview: always as the store is now (licenses made elsewhere change it).
    RELOAD_ON_SHOW = True

    def fetch(self) -> dict[str, Any]:
        return {**self.portal.dashboard(self.me), "report": self.portal.report(self.me)}

    def show_data(self, data: dict[str, Any]) -> None:
        self.data = data
        products = [{**p, "expiring_first": self.expiring_first(p)} for p in data["products"]]
        self.table.set_rows(products, keep="product")
        self.table.display = bool(products)
        note = self.query_one("#dashboard-products-note", Static)
        if products:
            note.update(content(self._products_note()))
        else:
            note.update(content(_("No credit bank yet: credits the vendor grants appear here and on Manage Banks.")))
        self._show_pools(data["pools"])
        self.query_one("#dashboard-alerts", Static).update(self._alerts(data))
        self.expiring.set_rows(data["alerts"]["licenses"], keep="activation_id")
        self.expiring.display = bool(data["alerts"]["licenses"])
        self._show_report(data["report"])

    def _show_report(self, report: dict[str, Any]) -> None:
        """Part of `Portal.report`: one line per bank's forecast, the licenses expiring per week,
        each seat pool's use over time."""
        lines = [row["summary"] for row in report["banks"]]
        self.query_one("#dashboard-forecasts", Static).update(content(
            "\n".join(lines) if lines else _("No credit bank yet: nothing to forecast.")))
        weeks = [(w["from"], w["to"], w["licenses"]) for w in report["expiring_per_week"]]
        self.query_one("#dashboard-weeks", WeeklyBarsChart).show(
            _("Licenses expiring in each of the next {n} weeks").format(n=len(weeks)), weeks)
        holder = self.query_one("#dashboard-seat-use", Vertical)
        charts = list(holder.query(SeatUseChart).results())
        pools = report["seats"]
        if len(charts) != len(pools):
            holder.remove_children()
            charts = [SeatUseChart() for _pool in pools]
            if charts:
                holder.mount(*charts)
        self.query_one("#dashboard-seat-use-title", Static).display = bool(pools)
        for chart, pool in zip(charts, pools):
            points = pool["points"]
            chart.show(
                _("{product}: seats in use over time").format(product=pool["product"]),
                [p["on"] for p in points], [p["active"] for p in points], [p["pending"] for p in points],
                [p["unassigned"] for p in points], purchased=pool["purchased"])

    def _products_note(self) -> str:
        return _("enter or {key}: manage the licenses of the selected product").format(key=self.key_of("open_licenses"))

    @staticmethod
    def expiring_first(product: dict[str, Any]) -> str | None:
        """"40 on 2026-12-12": the credits of the product's bank that expires first, and when."""
        if product.get("nearest_expiry") is None:
            return None
        return _("{credits} on {date}").format(credits=product["nearest_remaining"], date=product["nearest_expiry"])

    def _show_pools(self, pools: list[dict[str, Any]]) -> None:
        holder = self.query_one("#dashboard-pools", Vertical)
        bars = list(holder.query(ConsumptionBar).results())
        if len(bars) != len(pools):
            holder.remove_children()
            bars = [ConsumptionBar() for _pool in pools]
            if bars:
                holder.mount(*bars)
        for bar, pool in zip(bars, pools):
            bar.update(pool, title=_("{product} · {purchased} seats purchased").format(product=pool["product"], purchased=pool["purchased"]))
        note = self.query_one("#dashboard-pools-note", Static)
        note.update(content(_("{key}: members per team").format(key=self.key_of("team_details")) if pools else _("No seat pool: products sold as seats appear here.")))

    def _alerts(self, data: dict[str, Any]) -> Content:
        alerts = data["alerts"]
        warn = "$warning"
        lines: list[Content] = []
        for bank in alerts["banks"]:
            text = _("{bank} · {product}: {credits} unused credits will be lost on {date} ({when}).").format(
                credits=bank["remaining"], product=bank["product"], bank=bank["id"], date=bank["expires_on"],
                when=in_days(bank["days_left"]),
            )
            lines.append(Content.assemble(("⚠ ", warn), content(text)))
        count = alerts["licenses_expiring"]
        if count:
            text = ngettext(
                "{n} license expires within {days} days; the nearest:",
                "{n} licenses expire within {days} days; the nearest:",
                count,
            ).format(n=count, days=data["window_days"])
            lines.append(Content.assemble(("⚠ ", warn), content(text)))
        if not lines:
            lines.append(content(_("Nothing needs attention in the next {days} days.").format(days=data["window_days"])))
        return Content("\n").join(lines)

    # -- actions -----------------------------------------------------------------------
    @on(RecordTable.Selected, "#dashboard-products, #dashboard-expiring")
    def _product_chosen(self, event: RecordTable.Selected) -> None:
        event.stop()
        open_licenses_of(self, event.row["product"])

    def action_open_licenses(self) -> None:
        table = self.expiring if self.expiring.has_focus else self.table
        row = table.current_row
        if row is None:
            self.elp.notify(_("No credit product yet: nothing to open."), timeout=3, markup=False)
            return
        open_licenses_of(self, row["product"])

    def action_team_details(self) -> None:
        pools = (self.data or {}).get("pools", [])
        self.app.push_screen(TeamDistributionDialog(pools))
