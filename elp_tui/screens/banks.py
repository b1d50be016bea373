"""Manage Banks: the credit banks the vendor granted, refresh, and requests for more credits."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual import events
from textual.content import Content
from textual.widgets import Static

from elp_tui.i18n import N_, _, ngettext
from elp_tui.portal import FeedError, PortalError
from elp_tui.portal.feed import feed_note
from elp_tui.portal.insight import IDLE, LOSES, ON_TRACK, RUNS_OUT
from elp_tui.screens.base import Page
from elp_tui.widgets.commands import Command
from elp_tui.screens.dashboard import in_days, open_licenses_of
from elp_tui.screens.details import DetailAction, bank_sections, show_details
from elp_tui.screens.dialogs import ConfirmDialog, Field, FormDialog
from elp_tui.screens.requests import RequestsPanel
from elp_tui.widgets.charts import BurnDownChart
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable

MAX_CHANGES_SHOWN = 8


def _blank_zero(value: Any) -> str:
    return "" if not value else str(value)


def _version(value: Any) -> str:
    return value or "—"


def burn_down_data(row: dict[str, Any], today: str) -> dict[str, Any]:
    """A bank of `Portal.report` as the chart's plain data: its burn-down points, and the forecast
    from today's remaining credits to where it ends (0 on the day it runs out, or the credits
    lost on its expiry day); no forecast for an expired or used-up bank."""
    points = row["burn_down"]
    data: dict[str, Any] = {
        "dates": [p["on"] for p in points], "remaining": [p["remaining"] for p in points],
        "today": today, "expires_on": row["expires_on"], "forecast_dates": [], "forecast_remaining": [],
    }
    if row["kind"] in (RUNS_OUT, ON_TRACK) and row["runs_out_on"]:
        data["forecast_dates"], data["forecast_remaining"] = [today, row["runs_out_on"]], [row["remaining"], 0]
    elif row["kind"] in (LOSES, IDLE):
        data["forecast_dates"] = [today, row["expires_on"]]
        data["forecast_remaining"] = [row["remaining"], row["credits_at_risk"]]
    return data


class BanksPage(Page):
    PAGE_ID = "banks"
    TITLE = N_("Manage Banks")
    ADMIN_ONLY = True

    COMMANDS = [
        Command("banks.request", "more", "request_credits", N_("Request credits"),
                N_("Ask the vendor for more credits in the selected bank")),
        Command("banks.licenses", "product", "open_licenses", N_("Licenses"),
                N_("Manage the licenses of this bank's product"),
                title=N_("Manage licenses of the selected bank's product")),
        Command("banks.details", "details", "details", N_("Details"),
                N_("The selected bank's licenses, ledger, requests and history"),
                title=N_("Bank details"), show=False),
    ]

    DEFAULT_CSS = """
    BanksPage #banks-warning { color: $warning; height: auto; }
    BanksPage #banks-table { height: auto; max-height: 50%; min-height: 4; }
    BanksPage #banks-detail-box { height: 1fr; min-height: 4; border-top: solid $panel; layout: horizontal; }
    BanksPage #banks-detail-text { height: auto; width: 1fr; }
    BanksPage #banks-detail { height: auto; }
    BanksPage #banks-forecast { height: auto; margin-bottom: 1; text-style: bold; }
    BanksPage #banks-chart { width: 1fr; margin-left: 1; }
    BanksPage #banks-chart PlotextPlot { height: 10; }
    BanksPage.-narrow #banks-table { height: 1fr; max-height: 100%; }
    BanksPage.-narrow #banks-detail-box { layout: vertical; }
    /* Narrow, and the user moved into the bank's text and chart: they take most of the page
       (the selected row stays in view; shift+tab: back to the table). */
    BanksPage.-narrow.-reading #banks-warning, BanksPage.-narrow.-reading #banks-filter { display: none; }
    BanksPage.-narrow.-reading #banks-table { height: 4; min-height: 4; }
    BanksPage.-narrow.-reading #banks-requests { max-height: 2; }
    BanksPage.-narrow #banks-chart { margin-left: 0; margin-top: 1; }
    BanksPage #banks-requests { height: auto; max-height: 7; border-top: solid $panel; }
    BanksPage #banks-requests-table { height: auto; max-height: 5; }
    """

    # Remaining and the expiration date come early: they must show at 120 columns.
    COLUMNS = [
        Column("label", N_("Bank"), 9, priority=1),
        Column("product", N_("Product"), 21, min_width=14),
        Column("remaining", N_("Remaining"), 9, "right", priority=1),
        Column("expires_on", N_("Expiration date"), 15, min_width=10, priority=1),
        Column("credits_granted", N_("Granted"), 7, "right", priority=3),
        Column("used", N_("Used"), 5, "right", priority=3),
        Column("credits_requested", N_("Requested"), 9, "right", priority=3),
        Column("start", N_("Start date"), 10, priority=3),
        Column("forfeited", N_("Forfeited"), 9, "right", _blank_zero, priority=3),
        Column("product_version", N_("Version"), 7, format=_version, priority=3),
        Column("portable", N_("Portable"), 8, priority=3),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: list[dict[str, Any]] | None = None
        self.requests: list[dict[str, Any]] = []
        self.report: dict[str, Any] | None = None  # Portal.report: each bank's burn-down and forecast

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.COLUMNS, id="banks-table", muted=lambda r: r["expired"], sort=("product", False))
        yield self.title_widget()
        yield Static(
            Content.assemble(("⚠ ", "bold"), content(_("Once the expiration date passes, any unused term credits will be lost."))),
            id="banks-warning",
        )
        yield FilterBar(self.table, id="banks-filter")
        yield self.table
        # The bank's text beside its chart (one below the other when narrow), scrolling as one.
        # Focusable: the chart's figures can be below the fold; tab, then the arrows.
        with VerticalScroll(id="banks-detail-box"):
            with Vertical(id="banks-detail-text"):
                yield Static("", id="banks-forecast")
                yield Static("", id="banks-detail")
            yield BurnDownChart(id="banks-chart")
        yield RequestsPanel("credits", N_("Credit requests"), id="banks-requests")

    def on_resize(self, event: events.Resize) -> None:
        # Beside the bank's text, a chart needs about 40 columns: below it when the page is narrower.
        self.set_class(event.size.width < 84, "-narrow")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.set_class(event.widget.id == "banks-detail-box", "-reading")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if event.widget.id == "banks-detail-box":
            self.remove_class("-reading")

    # -- data --------------------------------------------------------------------------
    def fetch(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        return (self.portal.flag_expiring_banks(self.portal.list_banks(self.me)), self.portal.list_requests(self.me),
                self.portal.report(self.me))

    def show_data(self, data: tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]) -> None:
        data, self.requests, self.report = data
        self.query_one(RequestsPanel).show(self.requests)
        self.rows = data
        marked = [{**row, "label": row["id"] + (" ⚠" if row["expiring_soon"] else "")} for row in data]
        self.table.set_rows(marked, keep="id")
        soon = sum(1 for row in data if row["expiring_soon"])
        warning = _("Once the expiration date passes, any unused term credits will be lost.")
        if soon:
            warning += " " + ngettext(
                "{n} bank (marked ⚠) loses its unused credits within 30 days.",
                "{n} banks (marked ⚠) lose their unused credits within 30 days.",
                soon,
            ).format(n=soon)
        self.query_one("#banks-warning", Static).update(Content.assemble(("⚠ ", "bold"), content(warning)))
        self._show_detail(self.table.current_row)

    @on(RecordTable.Highlighted, "#banks-table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_detail(event.row)

    def _show_detail(self, bank: dict[str, Any] | None) -> None:
        detail = self.query_one("#banks-detail", Static)
        self._show_chart(bank)
        if bank is None:
            if self.rows == []:
                detail.update(content(_("No credit bank yet. Banks appear when the vendor grants credits to your organization; press r to refresh.")))
            else:
                detail.update(content(_("No bank matches the filter.") if self.rows else ""))
            return
        lines: list[Content] = []
        portable = _("portable") if bank["portable"] else _("not portable")
        lines.append(content(_("{bank} · {product} · version {version} · {portable}").format(
            bank=bank["id"], product=bank["product"], version=_version(bank["product_version"]), portable=portable,
        )))
        lines.append(content(_("Credits: {requested} requested · {granted} granted · {used} used · {remaining} remaining").format(
            requested=bank["credits_requested"], granted=bank["credits_granted"], used=bank["used"], remaining=bank["remaining"],
        )))
        if bank["expired"]:
            lines.append(Content.assemble(("⚠ ", "$warning"), content(
                _("Expired on {date}: {n} unused credits were lost.").format(date=bank["expires_on"], n=bank["forfeited"])
            )))
        else:
            lines.append(content(_("Valid from {start} until {end} (expires {when}).").format(
                start=bank["start"], end=bank["expires_on"], when=in_days(bank["days_left"]),
            )))
            if bank["expiring_soon"]:
                lines.append(Content.assemble(("⚠ ", "$warning"), content(
                    _("{n} unused credits will be lost on {date} ({when}): use them before then.").format(
                        n=bank["remaining"], date=bank["expires_on"], when=in_days(bank["days_left"]),
                    )
                )))
        waiting = [r for r in self.requests if r.get("kind") == "credits" and r.get("target") == bank["id"]
                   and r.get("state") == "requested"]
        if waiting:
            lines.append(content(_("Waiting for the vendor: {requests}.").format(
                requests=", ".join(_("#{id}: {n} credits asked on {day}").format(id=r["id"], n=r["amount"], day=r["on"])
                                   for r in waiting))))
        if bank["return_blocked"]:
            lines.append(content(_("Returns: {reason}.").format(reason=bank["return_blocked"])))
        lines.append(content(_("enter: details · {product}: manage this product's licenses · {more}: request credits · "
                               "r: refresh banks").format(product=self.key_of("open_licenses"), more=self.key_of("request_credits"))))
        detail.update(Content("\n").join(lines))

    def _show_chart(self, bank: dict[str, Any] | None) -> None:
        """The selected bank's forecast sentence and burn-down chart (hidden: no bank selected)."""
        chart = self.query_one("#banks-chart", BurnDownChart)
        sentence = self.query_one("#banks-forecast", Static)
        row = None
        if bank is not None and self.report is not None:
            row = next((b for b in self.report["banks"] if b["bank"] == bank["id"]), None)
        chart.display = sentence.display = row is not None
        if row is None:
            return
        sentence.update(content(row["sentence"]))
        chart.show(_("Burn-down of {bank}: remaining credits").format(bank=row["bank"]),
                   **burn_down_data(row, self.report["today"]),  # type: ignore[index]
                   summary=_("Burn rate: {rate} credits a day over the last {days} days ({credits} credits).").format(
                       rate=row["rate"], days=row["window_days"], credits=row["window_credits"]))

    # -- refresh -----------------------------------------------------------------------
    def refresh_page(self) -> None:
        """`r` here also asks the vendor's feed for the latest grants, and says what changed."""
        self.loaded = True
        self._refresh_worker(self.rows)

    @work(thread=True, exclusive=True, group="load")
    def _refresh_worker(self, previous: list[dict[str, Any]] | None) -> None:
        try:
            rows, changes = self.portal.refresh_banks(self.me, previous)
            rows = self.portal.flag_expiring_banks(rows)
            requests = self.portal.list_requests(self.me)
            report = self.portal.report(self.me)
        except FeedError as exc:  # offline, refused, slow or malformed: one line, nothing changed
            self.app.call_from_thread(self.elp.notify, str(exc), title=_("Vendor feed"), severity="error", timeout=10,
                                      markup=False)
            return
        except PortalError as exc:
            self.app.call_from_thread(self.elp.refuse, exc)
            return
        self.app.call_from_thread(self._refreshed, rows, requests, report, changes)

    def _refreshed(self, rows: list[dict[str, Any]], requests: list[dict[str, Any]], report: dict[str, Any],
                   changes: list[str]) -> None:
        self.show_data((rows, requests, report))
        if not changes:
            self.elp.notify(_("No change: the banks are as they were."), title=_("Banks refreshed"), timeout=4, markup=False)
            return
        shown = changes[:MAX_CHANGES_SHOWN]
        text = "\n".join(f"• {line}" for line in shown)
        if len(changes) > len(shown):
            text += "\n" + _("… and {n} more").format(n=len(changes) - len(shown))
        title = ngettext("Banks refreshed: {n} change", "Banks refreshed: {n} changes", len(changes)).format(n=len(changes))
        self.elp.notify(text, title=title, timeout=10, markup=False)

    # -- actions -----------------------------------------------------------------------
    @on(RecordTable.Selected, "#banks-table")
    def _bank_chosen(self, event: RecordTable.Selected) -> None:
        """Enter on a bank: its details (licenses, ledger, requests, history) and its actions."""
        event.stop()
        if event.row is not None:
            self._details_flow(event.row["id"])

    def action_details(self) -> None:
        bank = self._selected_bank()
        if bank is not None:
            self._details_flow(bank["id"])

    @work(exclusive=True, group="banks-details")
    async def _details_flow(self, bank_id: str) -> None:
        details = await self.call_portal(self.portal.bank_details, self.me, bank_id)
        if details is None:
            return
        why = details["actions"]
        actions = [
            DetailAction("request_credits", self.key_of("request_credits"), N_("Request credits"),
                         why["request_credits"]),
            DetailAction("open_licenses", self.key_of("open_licenses"), N_("Manage this product's licenses"),
                         why["open_licenses"], N_("Licenses")),
        ]
        show_details(self, _("Bank {bank}").format(bank=details["bank"]["id"]), bank_sections(details), actions,
                     {"request_credits": self.action_request_credits, "open_licenses": self.action_open_licenses})

    def _selected_bank(self) -> dict[str, Any] | None:
        bank = self.table.current_row
        if bank is None:
            self.elp.notify(_("Select a bank first."), timeout=3, markup=False)
        return bank

    def action_open_licenses(self) -> None:
        bank = self._selected_bank()
        if bank is not None:
            open_licenses_of(self, bank["product"])

    def action_request_credits(self) -> None:
        bank = self._selected_bank()
        if bank is not None:
            self._request_credits(bank)

    @work(exclusive=True, group="banks-request")
    async def _request_credits(self, bank: dict[str, Any]) -> None:
        contact: dict[str, str] = {}

        def quote_with_contact(values: dict[str, Any]) -> Any:
            # An expired bank, a bad number, no vendor set up: said in the form, before confirming.
            quoted = self.portal.quote_request_credits(self.me, bank["id"], values["credits"])
            contact["email"] = (self.portal.vendor_contact(self.me, quoted["product"]) or {}).get("email", "")
            return quoted

        async def submit(values: dict[str, Any]) -> Any:
            return await self.quote_confirm_commit(
                lambda: quote_with_contact(values),
                lambda q: ConfirmDialog(
                    _("Request {n} credits from the vendor?").format(n=q["credits"]),
                    [
                        (N_("Bank"), q["bank"]),
                        (N_("Product"), q["product"]),
                        (N_("Credits requested"), str(q["credits"])),
                        (N_("Requested so far"), str(q["requested"])),
                        (N_("Granted so far"), str(q["granted"])),
                        (N_("Email to (queued)"), contact["email"]),
                    ],
                    confirm_label=N_("Record request"),
                ),
                lambda q: (q, self.portal.request_credits(self.me, q["bank"], q["credits"], q)),
            )

        form = FormDialog(
            _("Request credits"),
            [
                Field("bank", N_("Bank"), kind="info", value=f"{bank['id']} · {bank['product']}"),
                Field("credits", N_("Credits wanted"), kind="int", placeholder=_("e.g. 100")),
            ],
            note=_("The vendor's enterprise team receives the request by email and grants the credits; refresh the banks to see them."),
            submit=submit, refusal_field="credits",
        )
        result = await self.app.push_screen_wait(form)
        if not result:
            return
        quote, done = result
        vendor_email = contact["email"]
        credits = quote["credits"]
        self.elp.notify(
            _("Request for {n} credits of {product} recorded; its email to the vendor ({email}) is queued.").format(
                n=credits, product=bank["product"], email=vendor_email,
            ),
            timeout=6, markup=False,
        )
        note = feed_note(done)
        if note:  # the request is recorded either way; whether the vendor's feed has it too
            self.elp.notify(note, severity="information" if done.get("posted") else "warning", timeout=8, markup=False)
        self.reload()
