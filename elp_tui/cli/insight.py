"""`elp report [--json]`: where the credits go (issue 13) — per bank its burn rate, forecast and
credits at risk; the licenses expiring per week; seat use over time. The figures are
`Portal.report`'s, the same the app's charts draw; --json prints them whole."""

from __future__ import annotations

import datetime as dt
from typing import Any

from elp_tui.cli.console import Column, plain
from elp_tui.cli.session import Session
from elp_tui.i18n import _, number
from elp_tui.portal.dates import add_months
from elp_tui.portal.insight import seat_use_on

# How far back the text shows seat use: the end of this day in each of the last months.
SEAT_MONTHS = 6

BANK_COLUMNS = (
    Column("bank", "BANK"),
    Column("product", "PRODUCT", flex=True, drop=3),
    Column("remaining", "REMAINING", right=True),
    Column("rate", "PER DAY", right=True, show=lambda v: f"{v:.2f}"),
    Column("expires_on", "EXPIRES"),
    Column("runs_out_on", "RUNS OUT", show=lambda v: v or "-"),
    Column("credits_at_risk", "AT RISK", right=True),
)
WEEK_COLUMNS = (
    Column("week", "WEEK", right=True),
    Column("from", "FROM"),
    Column("to", "TO"),
    Column("licenses", "LICENSES", right=True),
)
SEAT_COLUMNS = (
    Column("on", "ON"),
    Column("active", "ACTIVE", right=True),
    Column("pending", "PENDING", right=True),
    Column("unassigned", "UNASSIGNED", right=True),
)


def report(s: Session) -> None:
    r: dict[str, Any] = s.portal.report(s.actor)
    c = s.console
    if s.args.json:
        c.json(r)
        return
    c.line(_("Credit banks: burn rate over the last {days} days, forecast to each bank's expiry (today {today}).").format(
        days=r["window_days"], today=r["today"]))
    c.table(BANK_COLUMNS, r["banks"], empty=_("No credit banks yet: the vendor grants them."))
    for bank in r["banks"]:
        c.line("  " + plain(bank["sentence"]))
    c.line()
    c.line(_("Licenses expiring per week:"))
    c.table(WEEK_COLUMNS, r["expiring_per_week"])
    today = dt.date.fromisoformat(r["today"])
    for pool in r["seats"]:
        c.line()
        c.line(_("Seat use, {product} ({pool}): {purchased} purchased, {unused} unused today.").format(
            product=plain(pool["product"]), pool=plain(pool["pool"]), purchased=number(pool["purchased"]),
            unused=number(pool["unused"])))
        days = [add_months(today, -k) for k in range(SEAT_MONTHS - 1, -1, -1)]
        c.table(SEAT_COLUMNS, [{"on": d.isoformat(), **seat_use_on(pool["points"], d)} for d in days], indent="  ")
    if not r["seats"]:
        c.line()
        c.line(_("No seat pools yet: the vendor grants them."))
