"""Calendar arithmetic of SPEC.md §2: months clamp to the month's end, periods are [start, end)."""

from __future__ import annotations

import calendar
import datetime as dt
import re

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


_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_date(text: str, what: str | None = None) -> dt.date:
    """A calendar day written YYYY-MM-DD, nothing else; `what` names the field in the refusal
    (already translated), by default "date". A day the calendar lacks (2026-02-30) is refused as such."""
    from elp_tui.portal.errors import InvalidInput
    from elp_tui.portal.inputs import check_text, shown

    what = what or _("date")
    value = check_text("" if text is None else str(text), what, limit=100).strip()
    match = _ISO_DAY.fullmatch(value)
    if match is None or int(match.group(1)) < dt.MINYEAR:
        raise InvalidInput(
            _("{what} {text} is not a date: write it as YYYY-MM-DD (e.g. 2026-12-01).").format(what=what, text=shown(value))
        )
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        raise InvalidInput(
            _("{what} {text}: there is no month {month}; months go from 01 to 12 (YYYY-MM-DD).").format(
                what=what, text=value, month=match.group(2)
            )
        )
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise InvalidInput(
            _("{what} {text}: no such day, {year}-{month:02d} has {days} days. Pick a day from 01 to {days} (YYYY-MM-DD).").format(
                what=what, text=value, year=year, month=month, days=days
            )
        )
    return dt.date(year, month, day)


def version_key(version: str | None) -> tuple[int, ...]:
    """'25.1' < '25.10' < '26': compare numerically, part by part. A part's ASCII digits count, nothing
    else (a stored '25.²' from before versions were checked is 25.0, not a crash)."""
    if not version:
        return ()
    parts = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if "0" <= ch <= "9")
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
