"""The one clock: ELP_TODAY=YYYY-MM-DD fixes "today" for demos and tests, and only for them.

Today decides what a rule allows (a license still unexpired, a bank still valid), so a fixed
today must never steer a real store: a user could set ELP_TODAY to a date after a license
expires and delete its holder. A store records in its `_meta` whether its clock may be fixed:
`"fixed_clock": true` when it was created with a fixed clock (`elp init` with ELP_TODAY set, or a
portal given a clock in-process, as the tests do), `"demo": true` for `elp demo`'s. On any other
store a set ELP_TODAY is refused (`store_clock`) before the command or the app does anything.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any, Callable

from elp_tui.i18n import _
from elp_tui.portal.errors import PortalError

if TYPE_CHECKING:
    from elp_tui.store import Store

Clock = Callable[[], dt.date]
# The `_meta` field that lets ELP_TODAY steer a store.
FIXED_CLOCK = "fixed_clock"


class FixedClockRefused(PortalError):
    """ELP_TODAY is set, but the store is a real one."""


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


def is_fixed(clock: Clock) -> bool:
    """Whether `clock` is not the calendar: ELP_TODAY is set, or a clock was given in-process."""
    return clock is not system_clock or bool(os.environ.get("ELP_TODAY"))


def clock_meta(clock: Clock) -> dict[str, Any]:
    """What a store created with `clock` records in its `_meta`: whether ELP_TODAY may steer it."""
    return {FIXED_CLOCK: True} if is_fixed(clock) else {}


def may_fix_clock(meta: dict[str, Any] | None) -> bool:
    """A store made for demos or tests, whose today ELP_TODAY may fix."""
    return isinstance(meta, dict) and (meta.get(FIXED_CLOCK) is True or meta.get("demo") is True)


def store_clock(store: Store) -> Clock:
    """The clock of a session on `store` (the CLI's, the app's): `system_clock`, once ELP_TODAY is
    known to be unset, or a valid date and `store` one whose clock may be fixed (or not created
    yet: the session that creates it marks it). Refused otherwise, before anything is written.

    Reads only the first 4 KB of the store, unless its `_meta` is not there (a hand-edited file):
    then the whole store. A store that cannot be read at all says nothing either way: every
    command on it is refused for its damage first, and the one that can still run on it (a
    restore) is refused when it asks for today, before it writes."""
    if not os.environ.get("ELP_TODAY"):
        return system_clock
    system_clock()  # a malformed ELP_TODAY is refused first, as such (ValueError)
    if not store.exists():
        return system_clock
    meta = store.head_meta()
    if meta is None:
        from elp_tui.store import StoreError

        try:
            meta = store.tables().get("_meta", {}).get("1")
        except StoreError:
            return _refusing_clock(store)
    if not may_fix_clock(meta):
        raise _refusal(store)
    return system_clock


def _refusal(store: Store) -> FixedClockRefused:
    return FixedClockRefused(
        _(
            "ELP_TODAY is set, but {path} is a real store, not one made by 'elp demo' or created with ELP_TODAY "
            "set: its today is the calendar's. Unset ELP_TODAY (unset ELP_TODAY) and run the command again; "
            "nothing was done."
        ).format(path=store.path)
    )


def _refusing_clock(store: Store) -> Clock:
    def refuse() -> dt.date:
        raise _refusal(store)

    return refuse
