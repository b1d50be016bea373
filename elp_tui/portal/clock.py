"""The one clock: ELP_TODAY=YYYY-MM-DD fixes "today" for demos and tests."""

from __future__ import annotations

import datetime as dt
import os
from typing import Callable

from elp_tui.i18n import _

Clock = Callable[[], dt.date]


def system_clock() -> dt.date:
    fixed = os.environ.get("ELP_TODAY")
    if fixed:
        try:
            return dt.date.fromisoformat(fixed)
        except ValueError:
            raise ValueError(_("ELP_TODAY={value!r} is not a date: use YYYY-MM-DD.").format(value=fixed)) from None
    return dt.date.today()


def fixed_clock(day: dt.date | str) -> Clock:
    value = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return lambda: value
