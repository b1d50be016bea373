"""Calendar arithmetic of SPEC.md §2: months clamp to the month's end, periods are [start, end)."""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta

from elp_tui.i18n import _


def add_months(day: dt.date, months: int) -> dt.date:
    """Jan 31 + 1 month = Feb 28 (or 29); always counted from `day`, never chained.

    Past the end of the calendar the answer is `date.max`: every bank's expiry caps it.
    """
    try:
        return day + relativedelta(months=months)
    except (ValueError, OverflowError):
        return dt.date.max


def months_to_cover(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from `start` needed to reach `end`; a partial month counts as one."""
    if end <= start:
        return 0
    delta = relativedelta(end, start)
    months = delta.years * 12 + delta.months
    while months > 0 and add_months(start, months - 1) >= end:
        months -= 1
    while add_months(start, months) < end:
        months += 1
    return months


def parse_date(text: str, what: str | None = None) -> dt.date:
    """`what` names the field in the refusal (already translated); by default "date"."""
    from elp_tui.portal.errors import InvalidInput

    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(
            _("{what} {text!r} is not a date: write it as YYYY-MM-DD (e.g. 2026-12-01).").format(what=what or _("date"), text=text)
        ) from None


def version_key(version: str | None) -> tuple[int, ...]:
    """'25.1' < '25.10' < '26': compare numerically, part by part."""
    if not version:
        return ()
    parts = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
