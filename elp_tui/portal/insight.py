"""Where the credits go (issue 13): per bank a burn-down and a forecast to its expiry, the
licenses expiring per week, and seat-pool use over time — the figures the report, the Manage
Banks chart and the Dashboard's summary show. Read-only: nothing here writes (except the log
entry of a refused authority). For an organization's admins; the vendor's staff have no
organization's report (SPEC §1: they grant, they do not manage an organization's credits).

What the forecast counts
------------------------
- The bank's remaining credits today: granted minus its ledger (SPEC §3). A license that starts
  later (scheduled) was charged when it was generated, so it is already in the ledger: its
  credits are counted once, as spent. Renewals are charged when they are made: ELP holds no
  charge still to come, so "the renewals already scheduled" are exactly those in the ledger, and
  nothing else is added.
- The burn rate: the credits the ledger charged in the last BURN_WINDOW_DAYS days (today
  included), per day — or over the days since the bank's start (or its first charge, if earlier)
  when that is shorter, so a young bank is not judged on days it did not exist.
- At that rate the credits last `remaining / rate` days: the bank runs out on the first day they
  are all spent (today + that many days, rounded up). Before its expiry: "runs out around DATE, N
  months before it expires". Otherwise the credits still left on the expiry day are lost: "will
  lose about N credits on EXPIRY" (remaining - rate x days until expiry, rounded half up); none
  charged in the window: all of them.

The arithmetic is in pure functions (hand-made ledgers in tests have known answers); the
`InsightMixin` only reads the store and puts them together.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from fractions import Fraction
from typing import Any, Iterable

from dateutil.relativedelta import relativedelta

from elp_tui.i18n import _, ngettext, number
from elp_tui.portal.base import T_ACTIVITY, T_BANKS, T_LEDGER, T_LICENSES, T_POOLS, T_TEAMS, PortalBase

BURN_WINDOW_DAYS = 90
WEEKS_AHEAD = 12

# The kinds of forecast, one sentence each (`forecast_sentence`).
RUNS_OUT = "runs-out"  # spent before the bank expires
LOSES = "loses"  # credits left on the expiry day are lost
IDLE = "idle"  # nothing charged in the window: every remaining credit is lost at expiry
ON_TRACK = "on-track"  # spent around the expiry day, about none lost
USED_UP = "used-up"  # nothing left, not expired
EXPIRED = "expired"  # expired: what was left is lost already


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _round(value: Fraction) -> int:
    """Half up, as a person rounds 216.5 credits: 217."""
    return math.floor(value + Fraction(1, 2))


# -- a bank ------------------------------------------------------------------------------------
def burn_down(bank: dict[str, Any], ledger: Iterable[dict[str, Any]], today: dt.date) -> list[dict[str, Any]]:
    """The bank's remaining credits over time: one point where it begins (its start, or its first
    charge if earlier) with all of today's grant, then one per day that charged credits
    (remaining at that day's end), then today (or the expiry day, once passed: remaining 0 from
    then on, the rest lost). `ledger`: the bank's entries (`on`, `credits`)."""
    granted = bank["credits_granted"]
    per_day: dict[str, int] = defaultdict(int)  # ISO day -> credits (ISO days sort as dates)
    for entry in ledger:
        per_day[entry["on"]] += entry["credits"]
    start, expires = _day(bank["start"]), _day(bank["expires_on"])
    first = min([start.isoformat(), *per_day])
    points = [{"on": first, "remaining": granted}]
    left = granted
    for day in sorted(per_day):
        left -= per_day[day]
        if day == first:
            points[0]["remaining"] = max(0, left)
        else:
            points.append({"on": day, "remaining": max(0, left)})
    end = min(today, expires).isoformat()
    if end > points[-1]["on"]:
        points.append({"on": end, "remaining": max(0, left)})
    if today >= expires:
        points.append({"on": expires.isoformat(), "remaining": 0})
    return points


def burn_rate(bank: dict[str, Any], ledger: Iterable[dict[str, Any]], today: dt.date,
              window: int = BURN_WINDOW_DAYS) -> dict[str, Any]:
    """Credits charged per day over the last `window` days (today included), or since the bank
    began (its start, or its first charge if earlier) when that is fewer days; none before it
    began or from a future day. {from, days, credits, per_day (a float), exact (a Fraction)}."""
    entries = [(e["on"], e["credits"]) for e in ledger]  # ISO days compare as dates
    began = _day(min([bank["start"], *(day for day, _credits in entries)]))
    first = max(today - dt.timedelta(days=window - 1), began)
    days = (today - first).days + 1
    if days <= 0:
        return {"from": None, "days": 0, "credits": 0, "per_day": 0.0, "exact": Fraction(0)}
    since, until = first.isoformat(), today.isoformat()
    credits = sum(c for day, c in entries if since <= day <= until)
    exact = Fraction(credits, days)
    return {"from": since, "days": days, "credits": credits, "per_day": float(exact), "exact": exact}


def forecast(bank: dict[str, Any], ledger: Iterable[dict[str, Any]], today: dt.date,
             window: int = BURN_WINDOW_DAYS) -> dict[str, Any]:
    """Where the bank ends at its recent burn rate (module docstring: what it counts).

    {bank, product, kind (RUNS_OUT, LOSES, IDLE, ON_TRACK, USED_UP, EXPIRED), remaining (today),
    expires_on, rate (credits per day, rounded to 2 places), window_days, window_credits,
    runs_out_on (RUNS_OUT, ON_TRACK; else None), months_before_expiry / days_before_expiry
    (RUNS_OUT), credits_at_risk (credits lost at expiry: LOSES, IDLE; lost already: EXPIRED)}."""
    ledger = list(ledger)
    granted = bank["credits_granted"]
    left = max(0, granted - sum(e["credits"] for e in ledger))
    expires = _day(bank["expires_on"])
    # An expired bank's rate is the one it ended with (its last valid day), not today's nothing.
    rate = burn_rate(bank, ledger, min(today, expires - dt.timedelta(days=1)), window)
    out: dict[str, Any] = {
        "bank": bank["id"], "product": bank.get("product"), "kind": None,
        "remaining": 0 if today >= expires else left, "expires_on": expires.isoformat(),
        "rate": round(rate["per_day"], 2), "window_days": rate["days"], "window_credits": rate["credits"],
        "runs_out_on": None, "months_before_expiry": None, "days_before_expiry": None, "credits_at_risk": 0,
    }
    if today >= expires:
        return {**out, "kind": EXPIRED, "credits_at_risk": left}
    if left == 0:
        return {**out, "kind": USED_UP}
    exact: Fraction = rate["exact"]
    days_left = (expires - today).days
    if exact == 0:
        return {**out, "kind": IDLE, "credits_at_risk": left}
    lasts = left / exact  # days
    runs_out = today + dt.timedelta(days=int(-(-lasts // 1)))  # the first day they are all spent
    if runs_out < expires:
        gap = relativedelta(expires, runs_out)
        return {**out, "kind": RUNS_OUT, "runs_out_on": runs_out.isoformat(),
                "months_before_expiry": gap.years * 12 + gap.months, "days_before_expiry": (expires - runs_out).days}
    lost = _round(left - exact * days_left)
    if lost <= 0:
        return {**out, "kind": ON_TRACK, "runs_out_on": expires.isoformat()}
    return {**out, "kind": LOSES, "credits_at_risk": lost}


def forecast_sentence(f: dict[str, Any]) -> str:
    """The forecast as one sentence a person reads (the report, Manage Banks, the CLI)."""
    kind, bank, expires = f["kind"], f["bank"], f["expires_on"]
    if kind == RUNS_OUT:
        months = f["months_before_expiry"]
        if months >= 1:
            return ngettext("{bank} runs out around {date}, {months} month before it expires.",
                            "{bank} runs out around {date}, {months} months before it expires.", months).format(
                bank=bank, date=f["runs_out_on"], months=number(months))
        days = f["days_before_expiry"]
        return ngettext("{bank} runs out around {date}, {days} day before it expires.",
                        "{bank} runs out around {date}, {days} days before it expires.", days).format(
            bank=bank, date=f["runs_out_on"], days=number(days))
    if kind == LOSES:
        lost = f["credits_at_risk"]
        return ngettext("At this rate {bank} will lose about {credits} credit on {date}.",
                        "At this rate {bank} will lose about {credits} credits on {date}.", lost).format(
            bank=bank, credits=number(lost), date=expires)
    if kind == IDLE and not f["window_days"]:  # a bank that begins later and has charged nothing yet
        lost = f["credits_at_risk"]
        return ngettext("{bank} has charged no credits yet: at this rate its {credits} credit will be lost on {date}.",
                        "{bank} has charged no credits yet: at this rate all its {credits} credits will be lost on "
                        "{date}.", lost).format(bank=bank, credits=number(lost), date=expires)
    if kind == IDLE:
        lost = f["credits_at_risk"]
        return ngettext("{bank} has charged no credits in the last {days} days: at this rate its {credits} credit "
                        "will be lost on {date}.",
                        "{bank} has charged no credits in the last {days} days: at this rate all its {credits} "
                        "credits will be lost on {date}.", lost).format(
            bank=bank, days=number(f["window_days"]), credits=number(lost), date=expires)
    if kind == ON_TRACK:
        return _("At this rate {bank} uses its credits up around its expiry on {date}: about none will be lost.").format(
            bank=bank, date=expires)
    if kind == USED_UP:
        return _("{bank} is used up: no credits left before it expires on {date}.").format(bank=bank, date=expires)
    lost = f["credits_at_risk"]
    if lost == 0:
        return _("{bank} expired on {date} with every credit used.").format(bank=bank, date=expires)
    return ngettext("{bank} expired on {date}: {credits} unused credit was lost.",
                    "{bank} expired on {date}: {credits} unused credits were lost.", lost).format(
        bank=bank, date=expires, credits=number(lost))


def bank_summary(f: dict[str, Any]) -> str:
    """The Dashboard's one line for a bank: what is left and where it is heading, short."""
    kind, bank, product = f["kind"], f["bank"], f.get("product") or ""
    left = f["remaining"]
    if kind == RUNS_OUT:
        return ngettext("{bank} {product}: {remaining} credit left, runs out around {date}",
                        "{bank} {product}: {remaining} credits left, runs out around {date}", left).format(
            bank=bank, product=product, remaining=number(left), date=f["runs_out_on"])
    if kind in (LOSES, IDLE):
        return ngettext("{bank} {product}: {remaining} credit left, about {lost} lost on {date}",
                        "{bank} {product}: {remaining} credits left, about {lost} lost on {date}", left).format(
            bank=bank, product=product, remaining=number(left), lost=number(f["credits_at_risk"]), date=f["expires_on"])
    if kind == ON_TRACK:
        return ngettext("{bank} {product}: {remaining} credit left, used up around its expiry on {date}",
                        "{bank} {product}: {remaining} credits left, used up around its expiry on {date}", left).format(
            bank=bank, product=product, remaining=number(left), date=f["expires_on"])
    if kind == USED_UP:
        return _("{bank} {product}: used up, expires on {date}").format(bank=bank, product=product, date=f["expires_on"])
    return _("{bank} {product}: expired on {date}, {lost} lost").format(
        bank=bank, product=product, date=f["expires_on"], lost=number(f["credits_at_risk"]))


# -- licenses and seats --------------------------------------------------------------------------
def expiring_per_week(licenses: Iterable[dict[str, Any]], today: dt.date, weeks: int = WEEKS_AHEAD) -> list[dict[str, Any]]:
    """Licenses (any status: returned ones expire too) whose expiry falls in each of the next
    `weeks` weeks: week 1 is the expiry days today+1 .. today+7 (as the Dashboard's "expiring
    within 30 days": a license whose expiry is today has already expired). {week, from, to
    (inclusive), licenses}."""
    counts = [0] * weeks
    after, last = today.isoformat(), (today + dt.timedelta(days=7 * weeks)).isoformat()
    for lic in licenses:
        expires = lic["expires_on"]
        if after < expires <= last:
            counts[((dt.date.fromisoformat(expires) - today).days - 1) // 7] += 1
    return [
        {"week": i + 1, "from": (today + dt.timedelta(days=7 * i + 1)).isoformat(),
         "to": (today + dt.timedelta(days=7 * i + 7)).isoformat(), "licenses": n}
        for i, n in enumerate(counts)
    ]


def seat_use_over_time(entries: Iterable[dict[str, Any]], team_pools: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Per pool, its seats in use after each day of the activity log that changed them:
    {pool id: [{on, active, pending, unassigned}, ...]}, oldest first.

    A replay of the organization's log, in order (`entries`: dicts with seq, on, action, target,
    details): `team-add` (target the team, details "EMAIL joined ...") gives the member a seat of
    the team's pool and puts them in the team; `team-remove` ("EMAIL left ...") takes them out
    of the team (the seat stays theirs: unassigned when in no team of the pool); `user-delete`
    (target EMAIL) frees every seat they held; `sign-in` (target EMAIL): from pending to active
    (SPEC §7). `team_pools`: team name -> pool id (teams are never renamed nor deleted)."""
    holds: dict[str, set[str]] = defaultdict(set)  # email -> pools they hold a seat of
    teams_of: dict[str, set[str]] = defaultdict(set)  # email -> their teams
    in_pool: dict[tuple[str, str], int] = defaultdict(int)  # (pool, email) -> how many of its teams they are in
    signed_in: set[str] = set()
    tally: dict[str, dict[str, int]] = defaultdict(lambda: {"active": 0, "pending": 0, "unassigned": 0})
    series: dict[str, list[dict[str, Any]]] = {}

    def state(pool: str, email: str) -> str | None:
        if pool not in holds[email]:
            return None
        if not in_pool[(pool, email)]:
            return "unassigned"
        return "active" if email in signed_in else "pending"

    def change(pool: str, email: str, before: str | None) -> None:
        after = state(pool, email)
        if before != after:
            if before:
                tally[pool][before] -= 1
            if after:
                tally[pool][after] += 1

    def record(day: str, pools: set[str]) -> None:
        for pool in pools:
            point = {"on": day, **tally[pool]}
            points = series.setdefault(pool, [])
            if points and points[-1]["on"] == day:
                points[-1] = point
            elif not points or any(points[-1][k] != point[k] for k in ("active", "pending", "unassigned")):
                points.append(point)

    for entry in sorted(entries, key=lambda e: e["seq"]):
        action, target = entry["action"], entry["target"]
        touched: set[str] = set()
        if action in ("team-add", "team-remove") and target in team_pools:
            email = (entry["details"] or "").split(" ", 1)[0].lower()
            pool = team_pools[target]
            before = state(pool, email)
            if action == "team-add" and target not in teams_of[email]:
                teams_of[email].add(target)
                in_pool[(pool, email)] += 1
                holds[email].add(pool)
            elif action == "team-remove" and target in teams_of[email]:
                teams_of[email].discard(target)
                in_pool[(pool, email)] -= 1
            change(pool, email, before)
            touched.add(pool)
        elif action == "user-delete":
            email = target.lower()
            for pool in list(holds[email]):
                before = state(pool, email)
                holds[email].discard(pool)
                change(pool, email, before)
                touched.add(pool)
            for team in teams_of.pop(email, set()):
                in_pool[(team_pools[team], email)] = 0
            signed_in.discard(email)
        elif action == "sign-in":
            email = target.lower()
            befores = {pool: state(pool, email) for pool in holds[email]}
            signed_in.add(email)
            for pool, before in befores.items():
                change(pool, email, before)
            touched = set(befores)
        if touched:
            record(entry["on"], touched)
    return series


def seat_use_on(points: list[dict[str, Any]], day: dt.date) -> dict[str, int]:
    """A pool's seats in use at the end of `day`, from its `seat_use_over_time` points (none before the first)."""
    shown = {"active": 0, "pending": 0, "unassigned": 0}
    wanted = day.isoformat()
    for point in points:
        if point["on"] > wanted:
            break
        shown = {k: point[k] for k in shown}
    return shown


class InsightMixin(PortalBase):
    def report(self, actor: str) -> dict[str, Any]:
        """Everything the Insight pages and `elp report` show, as JSON-able figures: per bank its
        burn-down, burn rate, forecast and its sentence; licenses expiring per week for the next
        WEEKS_AHEAD weeks; per seat pool its use over time from the activity log. For admins."""
        db = self.store.read()
        me = self._actor(db, actor)
        org = me["organization"]
        today = self.today()

        banks = db.find(T_BANKS, organization=org)
        banks.sort(key=lambda b: (b["product"], b["expires_on"], b["id"]))
        ledgers: dict[str, list[dict[str, Any]]] = {b["id"]: [] for b in banks}
        for entry in db.find(T_LEDGER, copy=False):  # one pass, not one scan per bank
            if entry["bank"] in ledgers:
                ledgers[entry["bank"]].append(entry)
        bank_rows = []
        for bank in banks:
            ledger = ledgers[bank["id"]]
            f = forecast(bank, ledger, today)
            used = sum(e["credits"] for e in ledger)
            bank_rows.append({
                **f,
                "credits_granted": bank["credits_granted"], "used": used, "start": bank["start"],
                "sentence": forecast_sentence(f), "summary": bank_summary(f),
                "burn_down": burn_down(bank, ledger, today),
            })

        weeks = expiring_per_week(db.find(T_LICENSES, copy=False, organization=org), today)

        pools = sorted(db.find(T_POOLS, organization=org), key=lambda p: p["product"])
        pool_ids = {p["id"] for p in pools}
        teams = [t for t in db.find(T_TEAMS, copy=False, organization=org) if t["pool"] in pool_ids]
        series = seat_use_over_time(db.find(T_ACTIVITY, copy=False, organization=org),
                                    {t["name"]: t["pool"] for t in teams})
        seat_rows = []
        for pool in pools:
            states = list(self._seat_states(db, pool).values())  # type: ignore[attr-defined]  # today's, SPEC §7
            now = {state: states.count(state) for state in ("active", "pending", "unassigned")}
            points = list(series.get(pool["id"], []))
            last = points[-1] if points else None
            if last is None or any(last[k] != now[k] for k in now):
                # The log does not account for today's seats (a store written by hand, or older
                # than the log's seat entries): today's own figures end the series.
                if last is not None and last["on"] == today.isoformat():
                    points.pop()
                points.append({"on": today.isoformat(), **now})
            seat_rows.append({"pool": pool["id"], "product": pool["product"], "purchased": pool["seats"], **now,
                              "unused": max(0, pool["seats"] - sum(now.values())), "points": points})

        return {
            "today": today.isoformat(),
            "window_days": BURN_WINDOW_DAYS,
            "banks": bank_rows,
            "expiring_per_week": weeks,
            "seats": seat_rows,
        }
