"""Every invariant of the store, checked from the documents alone (`elp check`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from elp_tui.portal.base import (
    T_BANKS, T_HOLDERS, T_LEDGER, T_LICENSES, T_ORGS, T_POOLS, T_TEAMS, T_USERS, PortalBase, rows,
)


class CheckMixin(PortalBase):
    def check(self) -> list[str]:
        """Drift found, one sentence each; an empty list means the store is consistent."""
        db = self.store.read()
        problems: list[str] = []
        orgs = {o["id"] for o in rows(db, T_ORGS)}
        users = rows(db, T_USERS)
        emails = Counter(u["email"].lower() for u in users)
        problems += [f"email {e} is used by {n} users" for e, n in emails.items() if n > 1]
        problems += [f"email {u['email']} is not stored in lower case" for u in users if u["email"] != u["email"].lower()]
        for u in users:
            if u.get("organization") and u["organization"] not in orgs:
                problems.append(f"user {u['email']} belongs to unknown organization {u['organization']}")
        for org in orgs:
            if not any(u.get("organization") == org and u["role"] == "admin" and u["status"] == "active" for u in users):
                problems.append(f"organization {org} has no active admin")

        banks = {b["id"]: b for b in rows(db, T_BANKS)}
        licenses = rows(db, T_LICENSES)
        ids = Counter(lic["activation_id"] for lic in licenses)
        problems += [f"activation ID {a} is used {n} times" for a, n in ids.items() if n > 1]
        ledger = rows(db, T_LEDGER)
        by_bank: dict[str, int] = defaultdict(int)
        by_license: dict[str, int] = defaultdict(int)
        for e in ledger:
            if e["credits"] <= 0:
                problems.append(f"ledger entry {e['id']} charges {e['credits']} credits (must be positive)")
            if e["bank"] not in banks:
                problems.append(f"ledger entry {e['id']} names unknown bank {e['bank']}")
            by_bank[e["bank"]] += e["credits"]
            by_license[e["license"]] += e["credits"]
        license_sum_by_bank: dict[str, int] = defaultdict(int)
        for lic in licenses:
            bank: dict[str, Any] | None = banks.get(lic["bank"])
            aid = lic["activation_id"]
            if bank is None:
                problems.append(f"license {aid} names unknown bank {lic['bank']}")
                continue
            license_sum_by_bank[bank["id"]] += lic["credits_used"]
            if by_license.get(aid, 0) != lic["credits_used"]:
                problems.append(f"license {aid}: credits_used {lic['credits_used']} but its ledger sums to {by_license.get(aid, 0)}")
            if lic["computers"] < 1:
                problems.append(f"license {aid} has {lic['computers']} computers")
            if lic["start"] >= lic["expires_on"]:
                problems.append(f"license {aid} ends ({lic['expires_on']}) before it starts ({lic['start']})")
            if lic["expires_on"] > bank["expires_on"]:
                problems.append(f"license {aid} outlives its bank ({lic['expires_on']} > {bank['expires_on']})")
            if lic["product"] != bank["product"] or lic["organization"] != bank["organization"]:
                problems.append(f"license {aid} does not match its bank's product or organization")
        for bank_id, bank in banks.items():
            used = by_bank.get(bank_id, 0)
            if used != license_sum_by_bank.get(bank_id, 0):
                problems.append(f"bank {bank_id}: ledger sums to {used} but its licenses used {license_sum_by_bank.get(bank_id, 0)}")
            if used > bank["credits_granted"]:
                problems.append(f"bank {bank_id}: {used} credits used of {bank['credits_granted']} granted (remaining below zero)")
            if bank["credits_granted"] < 0 or bank["credits_requested"] < 0:
                problems.append(f"bank {bank_id} has negative credits")

        pools = {p["id"]: p for p in rows(db, T_POOLS)}
        holders = rows(db, T_HOLDERS)
        held = Counter((h["pool"], h["email"]) for h in holders)
        problems += [f"{e} holds {n} seats of pool {p}" for (p, e), n in held.items() if n > 1]
        per_pool = Counter(h["pool"] for h in holders)
        user_org = {u["email"]: u.get("organization") for u in users}
        for pool_id, pool in pools.items():
            if per_pool.get(pool_id, 0) > pool["seats"]:
                problems.append(f"pool {pool_id}: {per_pool[pool_id]} seats held of {pool['seats']} purchased (unused below zero)")
        for h in holders:
            pool = pools.get(h["pool"])
            if pool is None:
                problems.append(f"seat of {h['email']} names unknown pool {h['pool']}")
            elif user_org.get(h["email"]) != pool["organization"]:
                problems.append(f"{h['email']} holds a seat of pool {h['pool']} but is not a member of its organization")
        for team in rows(db, T_TEAMS):
            for member in team["members"]:
                if (team["pool"], member) not in held:
                    problems.append(f"{member} is in team {team['name']} without holding a seat of its pool")
            if len(set(team["members"])) != len(team["members"]):
                problems.append(f"team {team['name']} lists a member twice")
        return problems
