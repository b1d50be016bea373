"""Builds the demo store in memory: plain dicts shaped exactly like the models' `to_doc()`.

Why not the portal's own operations: the large demo has 100k licenses, and one
transaction per operation (each rewriting the whole file) would take hours. Instead the
history is planned with the portal's own date arithmetic (`add_months`, `months_to_cover`)
and charged with the portal's own charging rules (`charge`, `added_computers_months`: the very
functions the quotes use), then written once. `Portal.check()` proves the result.

Determinism: one `random.Random` with a fixed seed, no wall clock, no set iteration;
every date (and every activity timestamp) is derived from `today`.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from elp_tui.demo.catalog import (
    DEPARTMENTS, FIRST_NAMES, FRAMELOOP, LARGE, LAST_NAMES, OTHER_CREDIT_PRODUCT, PRODUCTS, PROFILES, SHOWS, SMALL,
    START_DAYS, ANIMATE, STORYBOARD, OrgPlan, download_urls,
)
from elp_tui.portal.base import (
    ACTIVATION_ALPHABET, T_ACTIVITY, T_BANKS, T_HOLDERS, T_LEDGER, T_LICENSES, T_ORGS, T_OUTBOX, T_POOLS, T_PRODUCTS,
    T_REQUESTS, T_RESTRICTIONS, T_TEAMS, T_USERS, T_VENDORS,
)
from elp_tui.models import Email, MailState, Request, Role, User, UserStatus, Vendor
from elp_tui.portal import mail
from elp_tui.portal.credits import added_computers_months, charge, return_blocked_reason
from elp_tui.portal.dates import add_months, months_to_cover

SIZES = {"small": SMALL, "large": LARGE}
SEEDS = {"small": 20251, "large": 20252}
ONE_DAY = dt.timedelta(days=1)
OUTBOX_SIZE = 12

# Within one day, causes are logged before their effects.
PRIORITY = {
    "org-create": 0, "bank-add": 1, "seats-add": 1, "user-invite": 2, "sign-in": 3, "team-create": 4, "team-add": 5, "team-admin": 5,
    "license-generate": 6, "license-renew": 7, "license-return": 8, "license-assign": 9, "team-remove": 10,
    "user-status": 11, "versions-restrict": 12, "versions-unrestrict": 13, "credits-request": 14, "seats-request": 14,
    "request-granted": 15, "request-declined": 15,
}
# The vendor's side: its settings and the staff member who grants and answers.
VENDOR_NAME = "Quillstone"
VENDOR_MAIL = "enterprise@quillstone.example.com"
VENDOR_STAFF = "desk@quillstone.example.com"
LEDGER_ORDER = {"generate": 0, "renew": 1, "renew-computers": 2}
LICENSE_TYPES = ("node-lock", "multiseat", "floating")
TYPE_WEIGHTS = (0.6, 0.25, 0.15)
COMPUTERS = (2, 2, 3, 3, 4, 5, 5, 6, 8, 10, 12, 15, 20, 25)
# Share of licenses on each kind of bank (before jitter).
BANK_WEIGHT = {"expired": 22, "expiring": 18, "healthy": 35, "exhausted": 20, "pending": 18, "fresh": 15, "future": 10, "steady": 20}

Progress = Callable[[float, str], None]


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


@dataclass(frozen=True)
class Pinned:
    """A license the small demo must always show, whatever today is."""

    want: str  # expired | active | scheduled | returned
    type: str
    renew: bool = False
    grow: bool = False  # a multiseat renewal that also adds computers
    holder: str | None = None  # "regular" | "invited" | "inactive"
    reassign: bool = False  # returned once, then assigned to someone else


# Pinned licenses of the first organization, on the first bank of each kind.
PINNED: dict[str, list[Pinned]] = {
    "healthy": [
        Pinned("active", "multiseat", renew=True, grow=True),
        Pinned("active", "node-lock", holder="regular"),
        Pinned("returned", "node-lock"),
        Pinned("active", "node-lock", reassign=True),
        Pinned("active", "floating", renew=True),
    ],
    "expired": [Pinned("expired", "node-lock", holder="regular"), Pinned("expired", "floating", renew=True)],
    "fresh": [Pinned("scheduled", "multiseat", holder="regular"), Pinned("scheduled", "node-lock", holder="invited")],
    "pending": [Pinned("active", "node-lock", holder="inactive"), Pinned("active", "multiseat")],
    "expiring": [Pinned("active", "floating")],
    "future": [Pinned("returned", "node-lock")],
}


@dataclass
class Member:
    email: str
    role: str
    status: str
    invited_on: dt.date
    signed_in_on: dt.date | None
    deactivated_on: dt.date | None = None

    def can_receive(self, day: dt.date) -> bool:
        """Could an admin hand them a license on `day` (invited by then, not yet inactive)?"""
        return self.invited_on <= day and (self.deactivated_on is None or day < self.deactivated_on)

    def doc(self, org_id: str) -> dict[str, Any]:
        return {
            "email": self.email,
            "organization": org_id,
            "role": self.role,
            "status": self.status,
            "invited_on": self.invited_on.isoformat(),
            "signed_in_on": self.signed_in_on.isoformat() if self.signed_in_on else None,
            "enrol_code": None,  # demo members sign in locally (--as); an admin's `elp users reinvite` gives one a code
            "enrol_expires_on": None,
            "enrol_failures": 0,
        }


@dataclass
class OrgState:
    plan: OrgPlan
    id: str
    created: dt.date
    members: list[Member] = field(default_factory=list)  # sorted by invited_on
    invited_days: list[dt.date] = field(default_factory=list)
    admins: list[Member] = field(default_factory=list)  # active admins, sorted by signed_in_on
    admin_days: list[dt.date] = field(default_factory=list)
    named: dict[str, Member] = field(default_factory=dict)  # founder / regular / invited / inactive

    def email(self, local: str) -> str:
        return f"{local}@{self.plan.domain}"


@dataclass
class BankState:
    org: OrgState
    kind: str
    jitter: int
    product: str
    start: dt.date
    expires_on: dt.date
    version: str
    portable: bool
    add_day: dt.date
    id: str = ""
    used: int = 0
    granted: int = 0
    requested: int = 0
    returnable: bool = False


@dataclass
class Term:
    """The planned life of one license: generation, at most one renewal."""

    start: dt.date
    created: dt.date
    months: int
    first_end: dt.date
    computers: int
    renew_on: dt.date | None = None
    renew_months: int = 0
    added: int = 0
    end: dt.date | None = None

    @property
    def expires_on(self) -> dt.date:
        return self.end or self.first_end


@dataclass
class DemoData:
    tables: dict[str, dict[str, dict[str, Any]]]
    admin: str
    regular: str
    vendor: str = VENDOR_STAFF
    team_admin: str | None = None  # a regular member of the first organization, Team Admin of one team (seed 002)
    team_admin_of: str | None = None


class DemoBuilder:
    def __init__(self, today: dt.date, size: str = "small", scale: float = 1.0, progress: Progress | None = None):
        if size not in SIZES:
            raise ValueError(f"Demo size {size!r} is unknown: use small or large.")
        self.today = today
        self.size = size
        self.rng = random.Random(SEEDS[size])
        self.progress = progress or (lambda fraction, label: None)
        self.plans = [_scaled(p, scale) for p in SIZES[size]]
        self.orgs: list[OrgState] = []
        self.banks: list[BankState] = []
        self.licenses: list[tuple[dt.date, int, dict[str, Any]]] = []
        self.ledger: list[tuple[dt.date, int, int, dict[str, Any]]] = []
        self.events: list[tuple] = []
        self.mails: list[tuple] = []
        self.requests: list[tuple] = []
        self.pools: list[dict[str, Any]] = []
        self.holders: list[dict[str, Any]] = []
        self.teams: list[dict[str, Any]] = []
        self.restrictions: list[dict[str, Any]] = []
        self.team_admin: tuple[str, str] | None = None  # (email, team name) of the demo's Team Admin
        self.activation_ids: set[str] = set()
        self._add_cache: dict[tuple[dt.date, int], dt.date] = {}
        self._cover_cache: dict[tuple[dt.date, dt.date], int] = {}
        self._charge_cache: dict[tuple[dt.date, int, dt.date], Any] = {}

    # -- small helpers -------------------------------------------------------------
    def _add(self, day: dt.date, months: int) -> dt.date:
        key = (day, months)
        value = self._add_cache.get(key)
        if value is None:
            value = self._add_cache[key] = add_months(day, months)
        return value

    def _cover(self, start: dt.date, end: dt.date) -> int:
        key = (start, end)
        value = self._cover_cache.get(key)
        if value is None:
            value = self._cover_cache[key] = months_to_cover(start, end)
        return value

    def _charge_of(self, start: dt.date, months: int, bank_end: dt.date) -> Any:
        """The portal's `charge` (when it ends, cut or not, months charged), remembered: many
        licenses of the large demo share a start, a term and a bank."""
        key = (start, months, bank_end)
        value = self._charge_cache.get(key)
        if value is None:
            value = self._charge_cache[key] = charge(start, months, bank_end)
        return value

    def _day(self, lo: dt.date, hi: dt.date) -> dt.date:
        """A day in [lo, hi] (lo when the range is empty)."""
        span = (hi - lo).days
        return lo if span <= 0 else lo + dt.timedelta(days=self.rng.randint(0, span))

    def _activation_id(self) -> str:
        while True:
            raw = "".join(self.rng.choices(ACTIVATION_ALPHABET, k=16))
            aid = f"{raw[0:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:16]}"
            if aid not in self.activation_ids:
                self.activation_ids.add(aid)
                return aid

    def _log(self, day: dt.date, org: str | None, actor: str, action: str, target: str = "", details: str = "",
             credits: int = 0, seats: int = 0) -> None:
        self.events.append((day, PRIORITY[action], len(self.events), org, actor, action, target, details, credits, seats))

    def _mail(self, day: dt.date, action: str, to: str, subject: str | Callable[[], Any], body: str = "") -> None:
        """`subject` may be a function giving the Message (a request's text names its final number,
        known once every request is dated)."""
        if day >= self.today - days(7):  # the outbox only keeps the last few
            self.mails.append((day, PRIORITY[action], len(self.mails), to, subject, body))

    def _admin(self, org: OrgState, day: dt.date) -> str:
        """An admin who could act on `day` (signed in by then)."""
        n = bisect.bisect_right(org.admin_days, day)
        return org.admins[self.rng.randrange(n)].email if n > 1 else org.admins[0].email

    def _member(self, org: OrgState, day: dt.date, exclude: str | None = None) -> Member:
        """A member who could receive a license on `day`."""
        n = bisect.bisect_right(org.invited_days, day)
        for _ in range(12):
            member = org.members[self.rng.randrange(max(n, 1))]
            if member.email != exclude and member.can_receive(day):
                return member
        return org.members[0] if org.members[0].email != exclude else org.admins[-1]

    # -- build ---------------------------------------------------------------------
    def build(self) -> DemoData:
        self.progress(0.0, "people")
        for index, plan in enumerate(self.plans):
            self._organization(index, plan)
        self._banks()
        self.progress(0.05, "licenses")
        total = sum(p.licenses for p in self.plans) or 1
        done = 0
        for org in self.orgs:
            done = self._licenses(org, done, total)
        self._finish_banks()
        self.progress(0.70, "teams")
        for org in self.orgs:
            self._seats(org)
        self._versions()
        self.progress(0.78, "activity")
        tables = self._tables()
        main = self.orgs[0]
        return DemoData(tables=tables, admin=main.named["founder"].email, regular=main.named["regular"].email,
                        team_admin=self.team_admin[0] if self.team_admin else None,
                        team_admin_of=self.team_admin[1] if self.team_admin else None)

    # -- organizations and people ----------------------------------------------------
    def _organization(self, index: int, plan: OrgPlan) -> None:
        today, rng = self.today, self.rng
        created = self._add(today, -plan.months_old)
        org_id = re.sub(r"[^a-z0-9]+", "-", plan.name.lower()).strip("-")  # as Portal.init_organization
        org = OrgState(plan=plan, id=org_id, created=created)
        self.orgs.append(org)
        founder = Member(org.email(plan.founder), "admin", "active", created, created)
        members = [founder]
        org.named["founder"] = founder
        for n, local in enumerate(plan.admins, start=1):
            invited = created + days(2 * n)
            members.append(Member(org.email(local), "admin", "active", invited, invited + ONE_DAY))
        named_locals = {plan.founder, *plan.admins}
        if plan.regular:
            invited = created + days(15)
            regular = Member(org.email(plan.regular), "regular", "active", invited, invited + ONE_DAY)
            members.append(regular)
            org.named["regular"] = regular
            named_locals.add(plan.regular)
        others = plan.users - len(members)
        n_invited = max(1, round(plan.users * plan.invited)) if plan.invited else 0
        n_inactive = max(1, round(plan.users * plan.inactive)) if plan.inactive else 0
        for n, local in enumerate(self._locals(others, named_locals)):
            if n < n_invited:
                member = Member(org.email(local), "regular", "invited", self._day(today - days(20), today - ONE_DAY), None)
                org.named.setdefault("invited", member)
            elif n < n_invited + n_inactive:
                invited = self._day(created + days(3), today - days(200))
                member = Member(org.email(local), "regular", "inactive", invited, invited + days(rng.randint(0, 5)),
                                deactivated_on=self._day(today - days(60), today - days(5)))
                org.named.setdefault("inactive", member)
            else:
                invited = self._day(created + days(3), today - days(40))
                member = Member(org.email(local), "regular", "active", invited, invited + days(rng.randint(0, 5)))
            members.append(member)
        order = sorted(range(len(members)), key=lambda i: (members[i].invited_on, i))
        org.members = [members[i] for i in order]
        org.invited_days = [m.invited_on for m in org.members]
        org.admins = sorted((m for m in members if m.role == "admin" and m.status == "active"),
                            key=lambda m: (m.signed_in_on, m.email))
        org.admin_days = [m.signed_in_on for m in org.admins]  # type: ignore[misc]

        self._log(created, org_id, founder.email, "org-create", plan.name, f"organization created with admin {founder.email}")
        for member in org.members[1:]:
            actor = self._admin(org, member.invited_on)
            self._log(member.invited_on, org_id, actor, "user-invite", member.email, f"invited as {member.role}")
            self._mail(member.invited_on, "user-invite", member.email,
                       f"You are invited to {plan.name} on the Enterprise License Portal",
                       f"{actor} invited you to {plan.name} as {member.role}. Sign in with this email address to accept.")
            if member.signed_in_on:
                self._log(member.signed_in_on, org_id, member.email, "sign-in", member.email, "first sign-in: invited -> active")
            if member.deactivated_on:
                self._log(member.deactivated_on, org_id, self._admin(org, member.deactivated_on), "user-status",
                          member.email, "status active -> inactive")

    def _locals(self, count: int, taken: set[str]) -> list[str]:
        """`count` distinct first.last names, none of them in `taken`."""
        width = len(LAST_NAMES)
        picks = self.rng.sample(range(len(FIRST_NAMES) * width), min(count + len(taken), len(FIRST_NAMES) * width))
        out = []
        for i in picks:
            local = f"{FIRST_NAMES[i // width]}.{LAST_NAMES[i % width]}"
            if local not in taken:
                out.append(local)
                if len(out) == count:
                    break
        return out

    # -- banks -----------------------------------------------------------------------
    def _banks(self) -> None:
        today = self.today
        for org in self.orgs:
            plan = org.plan
            for i in range(plan.bank_count):
                kind = plan.banks[i % len(plan.banks)]
                j = i // len(plan.banks)
                profile = PROFILES[kind]
                product = profile.product if j % 2 == 0 else OTHER_CREDIT_PRODUCT[profile.product]
                if kind in START_DAYS:
                    start = today + days(START_DAYS[kind] + 3 * (j % 5))
                    end = self._add(start, profile.end_months + 6 * (j % 2))
                elif kind == "expiring":
                    start = self._add(today, profile.start_months - j % 3)
                    end = today + days(profile.end_days + (7 * j) % 11)
                elif kind == "expired":
                    start = self._add(today, profile.start_months - j % 6)
                    end = self._add(today, profile.end_months - j % 4)
                else:
                    start = self._add(today, profile.start_months - j % 4)
                    end = self._add(today, profile.end_months + j % 3) + days(profile.end_days)
                start = max(start, org.created + days(20))
                add_day = min(max(org.created + ONE_DAY, start - days(self.rng.randint(3, 20))), today)
                bank = BankState(org, kind, j, product, start, end, profile.version, profile.portable, add_day)
                bank.returnable = return_blocked_reason({"portable": bank.portable, "product_version": bank.version}) is None
                self.banks.append(bank)
        order = sorted(range(len(self.banks)), key=lambda i: (self.banks[i].add_day, i))
        self.banks = [self.banks[i] for i in order]
        for n, bank in enumerate(self.banks, start=1):
            bank.id = f"BK-{n:04d}"

    def _finish_banks(self) -> None:
        """Grants follow from the usage, so each bank shows its case whatever the random draws."""
        answered: list[str] = []  # the main organization's answered requests: one granted, one declined
        def up(value: float, step: int) -> int:
            return max(step, -(-int(value) // step) * step)

        for bank in self.banks:
            used = bank.used
            if bank.kind == "exhausted":
                granted = used + max(1, used // 40)  # less than 5% left
            elif bank.kind in ("expired", "expiring"):
                granted = up(used * 1.35 + 20, 50)  # unused credits: forfeited / about to be lost
            else:
                share = {"healthy": 0.55, "pending": 0.6, "fresh": 0.3, "future": 0.25}.get(bank.kind, 0.5)
                granted = up(used / share + 1, 100)
            requested = granted
            at_first = granted
            if bank.kind == "pending":
                amount = up(granted * 0.4, 100)
                requested += amount
                on = max(bank.add_day + ONE_DAY, self.today - days(6 + bank.jitter % 20))
                self._request(bank, on, amount)
            elif bank.org is self.orgs[0] and bank.kind in ("healthy", "steady", "exhausted") and len(answered) < 2:
                # The main organization shows a request the vendor granted and one it declined.
                on = max(bank.add_day + ONE_DAY, self.today - days(30))
                answer = min(on + days(2), self.today)
                if bank.start <= on and answer < bank.expires_on and (answered or granted > 100):
                    amount = 100
                    request = self._request(bank, on, amount)
                    if not answered:
                        at_first = granted - amount  # the grant raised the bank to what it holds now
                        self._answer(bank, request, answer, "granted", granted=amount)
                    else:
                        self._answer(bank, request, answer, "declined",
                                     reason="Your current banks cover this year's use: ask again when they run low.")
                    answered.append(bank.id)
            bank.granted, bank.requested = granted, requested
            self._log(bank.add_day, bank.org.id, VENDOR_STAFF, "bank-add", bank.id,
                      f"{bank.product}: {at_first} credits granted by the vendor, {bank.start} .. {bank.expires_on}",
                      credits=at_first)

    def _request(self, bank: BankState, on: dt.date, amount: int) -> dict[str, Any]:
        """An admin's request for `amount` more credits of `bank`, on `on` (open until answered)."""
        actor = self._admin(bank.org, on)
        doc = {"organization": bank.org.id, "kind": "credits", "target": bank.id, "product": bank.product,
               "amount": amount, "actor": actor, "on": on.isoformat(), "id": len(self.requests) + 1}
        self.requests.append((on, len(self.requests), doc))
        self._log(on, bank.org.id, actor, "credits-request", bank.id, f"{amount} credits requested from the vendor")
        self._mail(on, "credits-request", VENDOR_MAIL, lambda: mail.vendor_request(
            "en", org_id=bank.org.id, org=bank.org.plan.name, to=VENDOR_MAIL, request=doc))
        return doc

    def _answer(self, bank: BankState, request: dict[str, Any], on: dt.date, state: str, *, granted: int = 0,
                reason: str | None = None) -> None:
        """The vendor's answer to `request`, as Portal._close_request writes it."""
        request.update(state=state, answered_on=on.isoformat(), answered_by=VENDOR_STAFF, reason=reason,
                       granted=granted if state == "granted" else None,
                       granted_target=bank.id if state == "granted" else None)
        if state == "granted":
            details = f"request #{request['id']} granted: {granted} credits of {bank.product} to {bank.id}"
        else:
            details = f"request #{request['id']} for {request['amount']} credits declined: {reason}"
        self._log(on, bank.org.id, VENDOR_STAFF, f"request-{state}", bank.id, details, credits=granted)
        admin = self._admin(bank.org, on)
        self._mail(on, f"request-{state}", admin, lambda: mail.request_answer(
            "en", org_id=bank.org.id, org=bank.org.plan.name, to=admin, request=request))

    # -- licenses --------------------------------------------------------------------
    def _feasible(self, bank: BankState, want: str) -> bool:
        today, bs, be = self.today, bank.start, bank.expires_on
        if want == "expired":
            return min(be, today) - days(31) >= bs
        if want == "active":
            return bs <= today < be
        if want == "scheduled":
            return max(bs, today + ONE_DAY) <= min(be - ONE_DAY, today + days(75))
        return bank.returnable and (self._feasible(bank, "active") or self._feasible(bank, "scheduled"))

    def _plan(self, bank: BankState, want: str, computers: int, renew: bool, grow: bool) -> Term:
        """One random history of a license that ends in status `want` (checked by the caller)."""
        rng, today = self.rng, self.today
        bs, be = bank.start, bank.expires_on
        if want == "expired":
            start = self._day(bs, min(be, today) - days(31))
            created = max(start - days(rng.randint(0, 10)), bank.add_day)
            months = rng.choice((1, 2, 3, 6, 12))
            while months > 1 and self._add(start, months) > today:
                months -= 1
        elif want == "active":
            start = self._day(max(bs, today - days(330)), today)
            created = max(start - days(rng.randint(0, 10)), bank.add_day)
            months = rng.randint(1, 6) if renew else self._cover(start, today + ONE_DAY) + rng.randint(0, 8)
        else:  # scheduled
            start = self._day(max(bs, today + ONE_DAY), min(be - ONE_DAY, today + days(75)))
            created = self._day(max(bank.add_day, today - days(30)), today)
            months = rng.choice((3, 6, 12))
        term = Term(start, created, months, self._charge_of(start, months, be).expires_on, computers)
        if renew and term.first_end < be:
            last = min(term.first_end - ONE_DAY, today)
            term.renew_on = self._day(max(created, min(term.first_end - days(25), last)), last)
            if want == "expired":
                more = rng.choice((1, 2, 3, 6))
                while more > 1 and self._add(term.first_end, more) > today:
                    more -= 1
            elif want == "active":
                more = max(1, self._cover(term.first_end, today + ONE_DAY)) + rng.randint(0, 5)
            else:
                more = rng.choice((3, 6))
            term.renew_months = more
            term.end = self._charge_of(term.first_end, more, be).expires_on
            term.added = rng.randint(1, 4) if grow else 0
        return term

    def _status(self, term: Term) -> str:
        if term.expires_on <= self.today:
            return "expired"
        return "scheduled" if term.start > self.today else "active"

    def _statuses(self, bank: BankState, count: int) -> list[str]:
        """`count` statuses in the bank's mix (largest remainder), shuffled."""
        mix = {s: w for s, w in PROFILES[bank.kind].statuses.items() if self._feasible(bank, s)}
        if not mix:
            mix = {s: 1.0 for s in ("active", "expired", "scheduled") if self._feasible(bank, s)}
        total = math.fsum(mix.values())  # exactly rounded: the same demo on every Python (3.12 changed sum())
        exact = {s: count * w / total for s, w in mix.items()}
        counts = {s: int(v) for s, v in exact.items()}
        for s in sorted(exact, key=lambda s: counts[s] - exact[s])[: count - sum(counts.values())]:
            counts[s] += 1
        out = [s for s in mix for _ in range(counts[s])]
        self.rng.shuffle(out)
        return out

    def _licenses(self, org: OrgState, done: int, total: int) -> int:
        plan = org.plan
        banks = [b for b in self.banks if b.org is org]
        weights = [BANK_WEIGHT[b.kind] * (0.5 + self.rng.random() if b.jitter else 1.0) for b in banks]
        total_weight = math.fsum(weights)  # not sum(): see _statuses
        exact = [plan.licenses * w / total_weight for w in weights]
        counts = [int(x) for x in exact]
        for i in sorted(range(len(banks)), key=lambda i: counts[i] - exact[i])[: plan.licenses - sum(counts)]:
            counts[i] += 1
        pinned_kinds: set[str] = set()
        step = max(1, total // 100)
        for bank, count in zip(banks, counts):
            specs: list[Pinned] = []
            if org is self.orgs[0] and bank.kind not in pinned_kinds:
                pinned_kinds.add(bank.kind)
                specs = list(PINNED.get(bank.kind, []))[:count]
            for want in self._statuses(bank, count - len(specs)):
                kind = self.rng.choices(LICENSE_TYPES, TYPE_WEIGHTS)[0]
                renew = self.rng.random() < 0.14
                grow = kind == "multiseat" and renew and self.rng.random() < 0.3
                reassign = want == "active" and bank.returnable and self.rng.random() < 0.08
                specs.append(Pinned(want, kind, renew, grow, None, reassign))
            for spec in specs:
                self._license(org, bank, spec)
                done += 1
                if done % step == 0:
                    self.progress(0.05 + 0.65 * done / total, "licenses")
        return done

    def _license(self, org: OrgState, bank: BankState, spec: Pinned) -> None:
        rng, today = self.rng, self.today
        want = spec.want
        if not self._feasible(bank, want):
            want = next((w for w in ("active", "expired", "scheduled") if self._feasible(bank, w)), "")
            if not want:
                return
        base = want
        if want == "returned":
            can_schedule = self._feasible(bank, "scheduled")
            base = "scheduled" if can_schedule and (not self._feasible(bank, "active") or rng.random() < 0.25) else "active"
        computers = 1 if spec.type == "node-lock" else rng.choice(COMPUTERS)
        holder = org.named.get(spec.holder) if spec.holder else None
        term = None
        # A renewal may not fit (an expired license on a bank that started weeks ago): then plan without.
        for attempt in range(80):
            renew = spec.renew and attempt < 40
            candidate = self._plan(bank, base, computers, renew, spec.grow and renew)
            if self._status(candidate) != base:
                continue
            if holder is not None and not holder.can_receive(candidate.created):
                continue
            term = candidate
            break
        if term is None:
            return
        aid = self._activation_id()
        first = holder if holder is not None else self._member(org, term.created)
        actor = self._admin(org, term.created)
        be = bank.expires_on
        first_charge = self._charge_of(term.start, term.months, be)
        credits = computers * first_charge.months_charged
        self._charge(bank, aid, credits, "generate", actor, term.created)
        cut = " (cut by bank expiry)" if first_charge.cut_by_bank else ""
        self._log(term.created, org.id, actor, "license-generate", aid,
                  f"1 x {spec.type} {bank.product} for {first.email}, {term.start} .. {term.first_end}{cut}", credits=credits)
        self._mail(term.created, "license-generate", first.email, f"New {bank.product} license(s) assigned to you",
                   f"{actor} assigned you 1 {spec.type} license(s) of {bank.product}: {aid}. Valid {term.start} until "
                   f"{term.first_end} (exclusive), {computers} computer(s) each.")
        computers_now = computers
        if term.renew_on is not None:
            day = term.renew_on
            renewer = self._admin(org, day)
            computers_now = computers + term.added
            renewal_charge = self._charge_of(term.first_end, term.renew_months, be)
            renewal = computers_now * renewal_charge.months_charged
            self._charge(bank, aid, renewal, "renew", renewer, day)
            detail = f"expires {term.first_end} -> {term.expires_on}"
            extra = 0
            if term.added:
                extra = term.added * added_computers_months(max(day, term.start), term.first_end)
                self._charge(bank, aid, extra, "renew-computers", renewer, day)
                detail += f", computers {computers} -> {computers_now}"
            if renewal_charge.cut_by_bank:
                detail += " (cut by bank expiry)"
            credits += renewal + extra
            self._log(day, org.id, renewer, "license-renew", aid, detail, credits=renewal + extra)
        assignee: str | None = first.email
        if want == "returned" or spec.reassign:
            back = self._day(max(term.created, term.renew_on or term.created), today)
            self._log(back, org.id, self._admin(org, back), "license-return", aid, f"returned by {first.email}; no credits come back")
            assignee = None
            if spec.reassign:
                again = self._day(back, today)
                second = self._member(org, again, exclude=first.email)
                self._log(again, org.id, self._admin(org, again), "license-assign", aid, f"assigned to {second.email}")
                self._mail(again, "license-assign", second.email, f"A {bank.product} license was assigned to you",
                           f"License {aid} ({spec.type}, {computers_now} computer(s)) is yours until {term.expires_on}.")
                assignee = second.email
        self.licenses.append((term.created, len(self.licenses), {
            "activation_id": aid,
            "organization": org.id,
            "product": bank.product,
            "bank": bank.id,
            "type": spec.type,
            "computers": computers_now,
            "assignee": assignee,
            "start": term.start.isoformat(),
            "expires_on": term.expires_on.isoformat(),
            "credits_used": credits,
            "created_on": term.created.isoformat(),
            "term_months": term.renew_months or term.months,
        }))

    def _charge(self, bank: BankState, aid: str, credits: int, reason: str, actor: str, day: dt.date) -> None:
        bank.used += credits
        self.ledger.append((day, LEDGER_ORDER[reason], len(self.ledger), {
            "bank": bank.id, "license": aid, "credits": credits, "reason": reason, "actor": actor, "on": day.isoformat(),
        }))

    # -- seats -----------------------------------------------------------------------
    def _seats(self, org: OrgState) -> None:
        plan, rng, today = org.plan, self.rng, self.today
        if plan.teams <= 0:
            return
        pool_id = f"SP-{len(self.pools) + 1:04d}"
        bought = max(org.created + days(30), self._add(today, -12))
        names = list(plan.team_names[: plan.teams])
        if len(names) < plan.teams:
            combos = [f"{show} {dept}" for show in SHOWS for dept in DEPARTMENTS]
            rng.shuffle(combos)
            names += [c for c in combos if c not in names][: plan.teams - len(names)]
        last_create = today - days(45)
        span = max(0, (last_create - bought).days)
        teams = []
        for i, name in enumerate(names):
            created = bought + days(1 + (span * i) // max(1, len(names)))
            team = {"id": f"T-{len(self.teams) + len(teams) + 1:04d}", "organization": org.id, "pool": pool_id,
                    "name": name, "created": created, "joins": []}
            teams.append(team)
            self._log(created, org.id, self._admin(org, created), "team-create", name, f"team of the {FRAMELOOP} pool")
        created_days = [t["created"] for t in teams]

        actives = [m for m in org.members if m.status == "active"]
        invited = [m for m in org.members if m.status == "invited"]
        inactive = [m for m in org.members if m.status == "inactive"]
        active_holders = rng.sample(actives, round(len(actives) * 0.45))
        pending = rng.sample(invited, round(len(invited) * 0.75))
        # The last few holders leave their only team: unassigned, still holding the seat.
        leavers = len(active_holders) - max(1, round(len(active_holders) * 0.06))
        since: dict[str, dt.date] = {}
        removals: list[tuple[dt.date, dict[str, Any], Member]] = []

        def join(team: dict[str, Any], member: Member, lo: dt.date, hi: dt.date) -> dt.date:
            day = self._day(max(lo, team["created"]), hi)
            team["joins"].append((day, len(team["joins"]), member.email))
            first = member.email not in since  # later joins are never earlier than the first
            if first:
                since[member.email] = day
            how = "took an unused seat" if first else "reuses their seat"
            actor = self._admin(org, day)
            self._log(day, org.id, actor, "team-add", team["name"], f"{member.email} joined ({how})", seats=1 if first else 0)
            self._mail(day, "team-add", member.email, f"You joined team {team['name']}",
                       f"{actor} added you to team {team['name']} ({FRAMELOOP}).")
            return day

        for k, member in enumerate(active_holders):
            home = teams[k % len(teams)] if k < len(teams) else rng.choice(teams)
            day = join(home, member, member.signed_in_on or member.invited_on, today - ONE_DAY)
            if k >= leavers:
                removals.append((self._day(day + ONE_DAY, today), home, member))
                continue
            extra = rng.choices((0, 1, 2), (0.6, 0.3, 0.1))[0]
            for team in rng.sample(teams, min(extra, len(teams))):
                if team is not home:
                    join(team, member, day, today)
        for member in pending:
            join(rng.choice(teams), member, member.invited_on, today)
        for member in inactive:
            assert member.deactivated_on and member.signed_in_on
            n = bisect.bisect_right(created_days, member.deactivated_on - days(3))
            if n == 0 or member.signed_in_on > member.deactivated_on - days(3):
                continue
            team = teams[rng.randrange(n)]
            day = join(team, member, member.signed_in_on, member.deactivated_on - days(2))
            removals.append((self._day(day + ONE_DAY, member.deactivated_on - ONE_DAY), team, member))
        for day, team, member in removals:
            team["joins"] = [j for j in team["joins"] if j[2] != member.email]
            self._log(day, org.id, self._admin(org, day), "team-remove", team["name"],
                      f"{member.email} left (now unassigned: still holds the seat)")

        held = len(since)
        seats = -(-(held + max(3, round(held * 0.08))) // 5) * 5
        self.pools.append({"id": pool_id, "organization": org.id, "product": FRAMELOOP, "seats": seats})
        self._log(bought, org.id, VENDOR_STAFF, "seats-add", pool_id,
                  f"{FRAMELOOP}: +{seats} seats granted by the vendor ({seats} in all)", seats=seats)
        order = sorted(since, key=lambda e: (since[e], e))
        self.holders += [{"pool": pool_id, "email": e, "since": since[e].isoformat()} for e in order]
        team_admin = self._team_admin(org, teams) if org is self.orgs[0] else None
        for team in teams:
            members = [email for _, _, email in sorted(team["joins"])]
            admins = [team_admin.email] if team_admin is not None and team is teams[0] else []
            self.teams.append({"id": team["id"], "organization": org.id, "pool": pool_id, "name": team["name"],
                               "members": members, "admins": admins})
        if org is self.orgs[0]:
            on = today - days(3)
            actor = self._admin(org, on)
            doc = {"organization": org.id, "kind": "seats", "target": pool_id, "product": FRAMELOOP, "amount": 10,
                   "actor": actor, "on": on.isoformat(), "id": len(self.requests) + 1}
            self.requests.append((on, len(self.requests), doc))
            self._log(on, org.id, actor, "seats-request", pool_id, "10 seats requested from the vendor")
            self._mail(on, "seats-request", VENDOR_MAIL, lambda: mail.vendor_request(
                "en", org_id=org.id, org=plan.name, to=VENDOR_MAIL, request=doc))

    def _team_admin(self, org: OrgState, teams: list[dict[str, Any]]) -> Member | None:
        """The first organization's Team Admin (seed 002): an active regular member of its first team
        (not the demo's plain regular user), made so by an admin; no random draw, so the rest of the
        demo is the same with or without them."""
        team = teams[0]
        regular = org.named.get("regular")
        in_team = {email for _, _, email in team["joins"]}
        joined_on = {email: day for day, _, email in sorted(team["joins"], reverse=True)}  # each one's first join
        candidates = sorted((m for m in org.members if m.role == "regular" and m.status == "active" and m.email in in_team
                             and m is not regular and m.signed_in_on), key=lambda m: (joined_on[m.email], m.email))
        if not candidates:
            return None
        member = candidates[0]  # the longest in the team
        joined = joined_on[member.email]
        on = min(joined + ONE_DAY, self.today - ONE_DAY)
        founder = org.named["founder"].email  # not self._admin(): it draws from the rng
        self._log(on, org.id, founder, "team-admin", team["name"], f"{member.email} made Team Admin")
        self.team_admin = (member.email, team["name"])
        return member

    # -- product versions ------------------------------------------------------------
    def _versions(self) -> None:
        org = self.orgs[0]
        today = self.today
        on = today - days(40)
        self._log(on, org.id, self._admin(org, on), "versions-restrict", ANIMATE, "only builds 25.1, 25.2")
        self.restrictions.append({"organization": org.id, "product": ANIMATE, "enabled": True, "builds": ["25.1", "25.2"]})
        on, off = today - days(90), today - days(30)
        self._log(on, org.id, self._admin(org, on), "versions-restrict", STORYBOARD, "only builds 24.2, 25.0")
        self._log(off, org.id, self._admin(org, off), "versions-unrestrict", STORYBOARD, "all builds accessible")
        self.restrictions.append({"organization": org.id, "product": STORYBOARD, "enabled": False, "builds": ["24.2", "25.0"]})

    # -- tables ----------------------------------------------------------------------
    def _products(self) -> list[dict[str, Any]]:
        out = []
        for name, kind, folder, stem, builds in PRODUCTS:
            out.append({
                "name": name,
                "kind": kind,
                "builds": [
                    {"version": v, "released": self._add(self.today, -ago).isoformat(), "downloads": download_urls(folder, stem, v)}
                    for v, ago in builds
                ],
            })
        return out

    def _activity(self) -> list[dict[str, Any]]:
        self.events.sort(key=lambda e: (e[0], e[1], e[2]))
        per_day: dict[dt.date, int] = {}
        for event in self.events:
            per_day[event[0]] = per_day.get(event[0], 0) + 1
        out = []
        index_in_day = 0
        previous = None
        for seq, (day, _, _, org, actor, action, target, details, credits, seats) in enumerate(self.events, start=1):
            index_in_day = index_in_day + 1 if day == previous else 0
            previous = day
            # Spread the day's entries over 08:00-18:00, in order.
            second = 8 * 3600 + (index_in_day * 36000) // per_day[day]
            at = f"{day.isoformat()}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            out.append({
                "seq": seq, "organization": org, "on": day.isoformat(), "at": at, "actor": actor, "action": action,
                "target": target, "details": details, "credits": credits, "seats": seats, "via": None,
            })
        return out

    def _outbox(self) -> list[dict[str, Any]]:
        self.mails.sort(key=lambda m: (m[0], m[1], m[2]))
        # Whose Outbox page shows a message: the organization of its recipient (a member).
        org_of = {m.email: org.id for org in self.orgs for m in org.members}
        out = []
        for n, (day, _, _, to, subject, body) in enumerate(self.mails[-OUTBOX_SIZE:], start=1):
            if callable(subject):
                message = subject()
                subject, body = message.subject, message.body
            sent = day < self.today
            out.append(Email(id=n, to=to, subject=subject, body=body, created_on=day, organization=org_of.get(to),
                             message_id=f"<elp.demo.{n}@{to.rpartition('@')[2]}>", attempts=1 if sent else 0,
                             sent_at=f"{day.isoformat()}T09:0{n % 10}:00" if sent else None,
                             state=MailState.sent if sent else MailState.queued).to_doc())
        return out

    def _tables(self) -> dict[str, dict[str, dict[str, Any]]]:
        self.licenses.sort(key=lambda row: (row[0], row[1]))
        self.ledger.sort(key=lambda row: (row[0], row[1], row[2]))
        self.requests.sort(key=lambda row: (row[0], row[1]))
        ledger = []
        for n, (_, _, _, entry) in enumerate(self.ledger, start=1):
            ledger.append({"id": n, **entry})
        for n, (_, _, doc) in enumerate(self.requests, start=1):
            doc["id"] = n  # numbered in date order; the texts of the outbox are written after this
        requests = [Request.model_validate(doc).to_doc() for _, _, doc in self.requests]
        banks = [{
            "id": b.id, "organization": b.org.id, "product": b.product, "credits_requested": b.requested,
            "credits_granted": b.granted, "start": b.start.isoformat(), "expires_on": b.expires_on.isoformat(),
            "product_version": b.version, "portable": b.portable,
        } for b in self.banks]
        users = [m.doc(org.id) for org in self.orgs for m in org.members]
        first_day = min(o.created for o in self.orgs)
        users.append(User(email=VENDOR_STAFF, organization=None, role=Role.vendor, status=UserStatus.active,
                          invited_on=first_day, signed_in_on=first_day).to_doc())
        vendors = [Vendor(id="vendor", name=VENDOR_NAME, email=VENDOR_MAIL).to_doc()]
        orgs = [{"id": o.id, "name": o.plan.name, "created_on": o.created.isoformat(), "language": "en"} for o in self.orgs]
        self.progress(0.80, "activity")
        activity = self._activity()
        self.progress(0.88, "writing")
        tables = {
            T_ORGS: orgs,
            T_USERS: users,
            T_PRODUCTS: self._products(),
            T_RESTRICTIONS: self.restrictions,
            T_BANKS: banks,
            T_LICENSES: [doc for _, _, doc in self.licenses],
            T_LEDGER: ledger,
            T_POOLS: self.pools,
            T_HOLDERS: self.holders,
            T_TEAMS: self.teams,
            T_REQUESTS: requests,
            T_VENDORS: vendors,
            T_ACTIVITY: activity,
            T_OUTBOX: self._outbox(),
        }
        return {name: {str(n): doc for n, doc in enumerate(docs, start=1)} for name, docs in tables.items()}


def _scaled(plan: OrgPlan, scale: float) -> OrgPlan:
    """A smaller (or larger) copy of an organization plan, keeping every case."""
    if scale == 1.0:
        return plan
    named = 2 + len(plan.admins)
    return dataclasses.replace(
        plan,
        users=max(named + 8, round(plan.users * scale)),
        bank_count=max(len(plan.banks), round(plan.bank_count * scale)),
        licenses=max(4 * len(plan.banks), round(plan.licenses * scale)),
        teams=max(1, round(plan.teams * scale)),
    )


def build_demo(today: dt.date, size: str = "small", *, scale: float = 1.0, progress: Progress | None = None) -> DemoData:
    """The demo store's tables (not written): `{table: {"1": doc, ...}}`."""
    return DemoBuilder(today, size, scale, progress).build()
