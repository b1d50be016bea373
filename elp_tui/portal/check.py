"""Every invariant of the store, checked from the documents alone: what `elp check` lists, and
what makes opening a store (every command, the app) and restoring a backup refuse it."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from elp_tui.i18n import _
from elp_tui.models import LicenseType
from elp_tui.portal.base import (
    T_KEYS,
    T_ACTIVITY, T_BANKS, T_HOLDERS, T_LEDGER, T_LICENSES, T_ORGS, T_POOLS, T_PRODUCTS, T_REQUESTS, T_RESTRICTIONS, T_TEAMS, T_USERS, PortalBase,
)
from elp_tui.portal.credits import return_blocked_reason
from elp_tui.portal.inputs import control_character
from elp_tui.store.schema import T_TOKENS, gaps


_TEXT_FIELDS = [
    (T_ORGS, "name"), (T_USERS, "email"), (T_TEAMS, "name"), (T_PRODUCTS, "name"), (T_BANKS, "product"),
    (T_POOLS, "product"), (T_LICENSES, "assignee"), (T_HOLDERS, "email"),
]


def months_charged(start: str, end: str) -> int:
    """`months_to_cover` (portal/dates.py) for two stored days, without building dates: the
    calendar months from `start` needed to reach `end`, a partial month counting as one. Same
    answer (tests/test_strict_store.py), many times faster: the check runs on every open.

    start + n months lands in end's month on start's day, clamped to that month's length; as
    end's day is a day of that month, the clamped day falls short of it exactly when start's day
    does: one more month is needed then."""
    if end <= start:
        return 0
    months = (int(end[0:4]) - int(start[0:4])) * 12 + int(end[5:7]) - int(start[5:7])
    return months + 1 if start[8:10] < end[8:10] else months


_MULTISEAT = LicenseType.multiseat.value


def least_charged(lic: dict[str, Any]) -> int:
    """The fewest credits a license can have cost, whatever was done to it: 1 credit per computer
    per month covered from its start to its expiry (a partial month counts as one). A multiseat
    license may have had computers added during a term, charged only for the rest of that term
    (one month at least each): so at least every month once, plus one per added computer."""
    months = months_charged(lic["start"], lic["expires_on"])
    if lic["type"] == _MULTISEAT:
        return months + lic["computers"] - 1
    return lic["computers"] * months


def _docs(tables: dict[str, dict[str, Any]], table: str) -> list[dict[str, Any]]:
    """The documents of a table, read in place (the check changes nothing: no copies)."""
    return list(tables.get(table, {}).values())


class CheckMixin(PortalBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Opening the store (every command, the app), `elp check` and a restore judge a file by the
        # same list: the store's structure, then these rules on this portal's today.
        self.store.rules = self.invariant_problems

    def check(self) -> list[str]:
        """Every problem of the store file, one sentence each (the very list that makes opening
        it refuse); an empty list means the store is consistent."""
        problems, _tables = self.store.inspect()
        return problems

    def invariant_problems(self, tables: dict[str, dict[str, Any]]) -> list[str]:
        """The rules the documents must keep together (sums, seats, members, the log), on the
        well-formed documents of a store (`schema.problems` leaves the malformed ones out)."""
        problems: list[str] = []
        # Text that reached the store around the input checks (an import, a hand edit).
        for table, field in _TEXT_FIELDS:
            docs = _docs(tables, table)
            if control_character("".join(str(doc.get(field) or "") for doc in docs)) is None:
                continue  # the usual case: one search over the whole column
            for doc in docs:
                char = control_character(str(doc.get(field) or ""))
                if char:
                    problems.append(
                        _("{table}: {field} {value} holds a control character ({char}): correct it").format(
                            table=table, field=field, value=ascii(doc.get(field)), char=char)
                    )
        orgs = {o["id"] for o in _docs(tables, T_ORGS)}
        users = _docs(tables, T_USERS)
        # A key that signs someone in belongs to a user of the store (a revoked one is only a record).
        known = {u["email"] for u in users}
        problems += [
            _("SSH key {fingerprint} is bound to {email}, who is not a user: revoke it").format(
                fingerprint=k["fingerprint"], email=k["email"])
            for k in _docs(tables, T_KEYS) if not k.get("revoked_on") and k["email"] not in known
        ]
        problems += [
            _("API token {id} belongs to {email}, who is not a user: revoke it").format(id=t["id"], email=t["email"])
            for t in _docs(tables, T_TOKENS) if not t.get("revoked_on") and t["email"] not in known
        ]
        emails = Counter(u["email"].lower() for u in users)
        problems += [_("email {email} is used by {n} users").format(email=e, n=n) for e, n in emails.items() if n > 1]
        problems += [
            _("email {email} is not stored in lower case").format(email=u["email"]) for u in users if u["email"] != u["email"].lower()
        ]
        problems += [
            _("user {email} is active but has never signed in").format(email=u["email"])
            for u in users
            if u["status"] == "active" and not u.get("signed_in_on")
        ]
        # The vendor's staff belong to no organization, and everyone else to one: a vendor role
        # inside an organization would let a member grant their own organization credits.
        for u in users:
            if u.get("role") == "vendor" and u.get("organization"):
                problems.append(_("user {email} is on the vendor's team but belongs to organization {org}").format(
                    email=u["email"], org=u["organization"]))
            elif u.get("role") != "vendor" and not u.get("organization"):
                problems.append(_("user {email} belongs to no organization").format(email=u["email"]))
        user_org = {u["email"]: u.get("organization") for u in users}
        for org in orgs:
            if not any(u.get("organization") == org and u["role"] == "admin" and u["status"] == "active" for u in users):
                problems.append(_("organization {org} has no active admin").format(org=org))

        banks = {b["id"]: b for b in _docs(tables, T_BANKS)}
        licenses = _docs(tables, T_LICENSES)
        license_bank = {lic["activation_id"]: lic["bank"] for lic in licenses}
        by_bank: dict[str, int] = defaultdict(int)
        by_license: dict[str, int] = defaultdict(int)
        # The ledger and the licenses in one pass each: every charge is to its license's bank, and
        # each license's charges sum to its credits_used.
        for e in _docs(tables, T_LEDGER):
            by_bank[e["bank"]] += e["credits"]
            by_license[e["license"]] += e["credits"]
            charged = license_bank.get(e["license"])
            if charged is not None and charged != e["bank"]:
                problems.append(
                    _("ledger entry {entry} charges bank {bank} for license {id} of bank {license_bank}").format(
                        entry=e["id"], bank=e["bank"], id=e["license"], license_bank=charged)
                )
        license_sum_by_bank: dict[str, int] = defaultdict(int)
        today_iso = self.today().isoformat()
        for lic in licenses:
            bank: dict[str, Any] | None = banks.get(lic["bank"])
            aid = lic["activation_id"]
            if bank is None:  # reported with the damage
                continue
            license_sum_by_bank[bank["id"]] += lic["credits_used"]
            if by_license.get(aid, 0) != lic["credits_used"]:
                problems.append(
                    _("license {id}: credits_used {used} but its ledger sums to {ledger}").format(
                        id=aid, used=lic["credits_used"], ledger=by_license.get(aid, 0)
                    )
                )
            if lic["start"] >= lic["expires_on"]:
                problems.append(
                    _("license {id} ends ({end}) before it starts ({start})").format(id=aid, end=lic["expires_on"], start=lic["start"])
                )
            elif lic["credits_used"] < least_charged(lic):
                problems.append(
                    _("license {id}: {used} credits charged, fewer than its {computers} computer(s) from {start} to {end} "
                      "cost (at least {least}): it was never paid for").format(
                        id=aid, used=lic["credits_used"], computers=lic["computers"], start=lic["start"], end=lic["expires_on"],
                        least=least_charged(lic))
                )
            if lic["expires_on"] > bank["expires_on"]:
                problems.append(
                    _("license {id} outlives its bank ({end} > {bank_end})").format(id=aid, end=lic["expires_on"], bank_end=bank["expires_on"])
                )
            if lic["start"] < bank["start"]:
                problems.append(
                    _("license {id} starts ({start}) before its bank ({bank_start})").format(id=aid, start=lic["start"], bank_start=bank["start"])
                )
            if lic["product"] != bank["product"] or lic["organization"] != bank["organization"]:
                problems.append(_("license {id} does not match its bank's product or organization").format(id=aid))
            assignee = lic.get("assignee")
            if assignee and today_iso < lic["expires_on"] and user_org.get(assignee) != lic["organization"]:  # unexpired
                problems.append(
                    _("unexpired license {id} is assigned to {email}, who is not a member of its organization {org}").format(
                        id=aid, email=assignee, org=lic["organization"]
                    )
                )
            if not assignee:
                blocked = return_blocked_reason(bank)
                if blocked:
                    problems.append(
                        _("license {id} is unassigned but its bank {bank} does not allow returns ({reason})").format(
                            id=aid, bank=bank["id"], reason=blocked
                        )
                    )
        for bank_id, bank in banks.items():
            if bank["start"] >= bank["expires_on"]:
                problems.append(
                    _("bank {bank} ends ({end}) before it starts ({start})").format(
                        bank=bank_id, end=bank["expires_on"], start=bank["start"])
                )
            used = by_bank.get(bank_id, 0)
            if used != license_sum_by_bank.get(bank_id, 0):
                problems.append(
                    _("bank {bank}: ledger sums to {used} but its licenses used {licenses}").format(
                        bank=bank_id, used=used, licenses=license_sum_by_bank.get(bank_id, 0)
                    )
                )
            if used > bank["credits_granted"]:
                problems.append(
                    _("bank {bank}: {used} credits used of {granted} granted (remaining below zero)").format(
                        bank=bank_id, used=used, granted=bank["credits_granted"]
                    )
                )

        pools = {p["id"]: p for p in _docs(tables, T_POOLS)}
        holders = _docs(tables, T_HOLDERS)
        held = Counter((h["pool"], h["email"]) for h in holders)
        problems += [_("{email} holds {n} seats of pool {pool}").format(email=e, n=n, pool=p) for (p, e), n in held.items() if n > 1]
        per_pool = Counter(h["pool"] for h in holders)
        for pool_id, pool in pools.items():
            if per_pool.get(pool_id, 0) > pool["seats"]:
                problems.append(
                    _("pool {pool}: {held} seats held of {seats} purchased (unused below zero)").format(
                        pool=pool_id, held=per_pool[pool_id], seats=pool["seats"]
                    )
                )
        for h in holders:
            pool = pools.get(h["pool"])
            if pool is not None and user_org.get(h["email"]) != pool["organization"]:
                problems.append(
                    _("{email} holds a seat of pool {pool} but is not a member of its organization").format(email=h["email"], pool=h["pool"])
                )
        names = Counter((t.get("organization"), t["name"].lower()) for t in _docs(tables, T_TEAMS))
        problems += [
            _("organization {org} has {n} teams named {name}").format(org=org, n=n, name=name)
            for (org, name), n in names.items()
            if n > 1
        ]
        for team in _docs(tables, T_TEAMS):
            team_pool = pools.get(team["pool"])
            if team_pool is not None and team_pool["organization"] != team.get("organization"):
                problems.append(
                    _("team {team} of organization {org} uses pool {pool} of another organization ({pool_org})").format(
                        team=team["name"], org=team.get("organization"), pool=team["pool"], pool_org=team_pool["organization"]
                    )
                )
            for member in team["members"]:
                if (team["pool"], member) not in held:
                    problems.append(
                        _("{email} is in team {team} without holding a seat of its pool").format(email=member, team=team["name"])
                    )
            if len(set(team["members"])) != len(team["members"]):
                problems.append(_("team {team} lists a member twice").format(team=team["name"]))
            for admin in team.get("admins") or []:
                if team_pool is not None and user_org.get(admin) != team_pool["organization"]:
                    problems.append(
                        _("{email} is a Team Admin of team {team} but not a member of its organization").format(
                            email=admin, team=team["name"])
                    )
            if len(set(team.get("admins") or [])) != len(team.get("admins") or []):
                problems.append(_("team {team} lists a Team Admin twice").format(team=team["name"]))

        for rule in _docs(tables, T_RESTRICTIONS):
            if rule.get("enabled") and not rule.get("builds"):
                problems.append(
                    _("the restriction of {product} in organization {org} is enabled with no build selected").format(
                        product=rule["product"], org=rule["organization"]
                    )
                )

        for req in _docs(tables, T_REQUESTS):
            state = req.get("state") or "requested"
            if state == "granted" and (not req.get("granted") or not req.get("granted_target")):
                problems.append(_("request #{id} is granted without saying how much or to which bank or pool").format(id=req["id"]))
            if state != "requested" and not req.get("answered_on"):
                problems.append(_("request #{id} is {state} but has no answer date").format(id=req["id"], state=state))
            if state == "requested" and req.get("answered_on"):
                problems.append(_("request #{id} is open but has an answer date").format(id=req["id"]))
        numbers = Counter(a["seq"] for a in _docs(tables, T_ACTIVITY))
        problems += [_("activity seq {seq} is used {n} times").format(seq=s, n=n) for s, n in sorted(numbers.items()) if n > 1]
        missing = gaps(set(numbers))
        if missing:
            problems.append(_("the activity log has no entry with seq {seqs}").format(seqs=missing))
        return problems
