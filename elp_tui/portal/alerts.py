"""The dashboard: credits left per product, seat pools, and what needs attention soon.

Credits about to be lost (SPEC.md §3) and licenses about to expire are decided here, once,
so the screens and the CLI only show them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from elp_tui.portal.base import T_LICENSES, PortalBase
from elp_tui.portal.credits import license_status

ALERT_WINDOW_DAYS = 30
NEAREST_LICENSES = 5


def bank_expiring_soon(bank: dict[str, Any], window: int = ALERT_WINDOW_DAYS) -> bool:
    """A valid bank (a `list_banks` row) whose unused credits are lost within `window` days."""
    return not bank["expired"] and bank["remaining"] > 0 and bank["days_left"] <= window


class AlertsMixin(PortalBase):
    def flag_expiring_banks(self, banks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`list_banks` rows, each with `expiring_soon` (unused credits lost within the alert window)."""
        return [{**b, "expiring_soon": bank_expiring_soon(b)} for b in banks]

    def dashboard(self, actor: str) -> dict[str, Any]:
        """Per credit product: remaining credits over its banks that have not expired (valid now,
        or later for a bank that starts in the future) and the nearest of their expiries; every
        seat pool with its per-team distribution; alerts for the next 30 days."""
        banks = self.flag_expiring_banks(self.list_banks(actor))  # type: ignore[attr-defined]
        pools = self.seats_overview(actor)  # type: ignore[attr-defined]
        db = self.store.read()
        me = self._actor(db, actor)
        today = self.today()
        today_iso = today.isoformat()
        horizon = (today + dt.timedelta(days=ALERT_WINDOW_DAYS)).isoformat()

        by_product: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for bank in banks:
            by_product[bank["product"]].append(bank)
        products = []
        for product in sorted(by_product, key=str.lower):
            valid = [b for b in by_product[product] if not b["expired"]]
            nearest = min(valid, key=lambda b: b["expires_on"]) if valid else None
            products.append(
                {
                    "product": product,
                    "remaining": sum(b["remaining"] for b in valid),
                    "valid_banks": len(valid),
                    "nearest_expiry": nearest["expires_on"] if nearest else None,
                    "nearest_bank": nearest["id"] if nearest else None,
                    # The credits of that bank alone: what expires first, not the product's total.
                    "nearest_remaining": nearest["remaining"] if nearest else None,
                    "days_left": nearest["days_left"] if nearest else None,
                    "credits_at_risk": sum(b["remaining"] for b in valid if b["expiring_soon"]),
                }
            )

        bank_alerts = [
            {
                "id": b["id"],
                "product": b["product"],
                "remaining": b["remaining"],
                "expires_on": b["expires_on"],
                "days_left": b["days_left"],
            }
            for b in sorted((b for b in banks if b["expiring_soon"]), key=lambda b: (b["expires_on"], b["id"]))
        ]

        expiring = [
            lic
            for lic in db.find(T_LICENSES, organization=me["organization"])
            if today_iso < lic["expires_on"] <= horizon
        ]
        expiring.sort(key=lambda lic: (lic["expires_on"], lic["activation_id"]))
        nearest_licenses = [
            {
                "activation_id": lic["activation_id"],
                "product": lic["product"],
                "assignee": lic.get("assignee"),
                "expires_on": lic["expires_on"],
                "days_left": (dt.date.fromisoformat(lic["expires_on"]) - today).days,
                "status": license_status(lic, today_iso),
            }
            for lic in expiring[:NEAREST_LICENSES]
        ]

        for pool in pools:
            for team in pool["teams"]:
                states = [m["state"] for m in team["members"]]
                team["member_count"] = len(states)
                team["active"] = states.count("active")
                team["pending"] = states.count("pending")
        return {
            "today": today_iso,
            "window_days": ALERT_WINDOW_DAYS,
            "products": products,
            "pools": pools,
            "alerts": {
                "banks": bank_alerts,
                "licenses_expiring": len(expiring),
                "licenses": nearest_licenses,
            },
        }
