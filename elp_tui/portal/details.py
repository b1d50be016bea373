"""One thing whole (issue 12): a license, a member, a bank or a team with everything the portal
knows about it — its fields, what can be done with it and why not, and its history from the
activity log. Read-only: nothing here writes, except the log entry of a refused authority.

Who may look: an admin at everything of their organization; a regular member at their own
license and at themselves; a Team Admin at their own teams (the same rules as the lists).
"""

from __future__ import annotations

import re
from typing import Any

from elp_tui.i18n import _
from elp_tui.models import Role
from elp_tui.portal.authority import any_member, team_scoped
from elp_tui.portal.base import (
    T_ACTIVITY, T_BANKS, T_HOLDERS, T_KEYS, T_LEDGER, T_LICENSES, T_POOLS, T_REQUESTS, T_TEAMS, PortalBase, admins_only,
    rows,
)
from elp_tui.portal.credits import license_row_actions
from elp_tui.portal.errors import PortalError
from elp_tui.store.repository import View
from elp_tui.store.schema import T_TOKENS

# The most history entries (and ledger lines, and a bank's licenses) one detail view carries: the
# Activity page and `elp licenses list` have the rest. `*_total` says how many there are in all.
HISTORY_LIMIT = 200


def _mentions(email: str) -> re.Pattern[str]:
    """`email` as a whole word of an activity entry ("ana@x.io", not "diana@x.io")."""
    return re.compile(r"(?<![\w.+-])" + re.escape(email) + r"(?![\w.-])", re.IGNORECASE)


def _newest(entries: list[dict[str, Any]], key: str = "seq") -> tuple[list[dict[str, Any]], int]:
    entries.sort(key=lambda e: e[key], reverse=True)
    return entries[:HISTORY_LIMIT], len(entries)


class DetailsMixin(PortalBase):
    # -- what the log says about one thing ------------------------------------------------
    @staticmethod
    def _history(db: View, org: str, about: Any) -> tuple[list[dict[str, Any]], int]:
        """The organization's activity entries `about(entry)` accepts, newest first (at most
        HISTORY_LIMIT), and how many there are in all. Refusals of authority are about the
        operation refused, not about the thing: they stay on the Activity page."""
        return _newest([e for e in db.find(T_ACTIVITY, organization=org) if e["action"] != "refused" and about(e)])

    # -- a license --------------------------------------------------------------------------
    def _license_why_not(self, me: dict[str, Any], row: dict[str, Any]) -> dict[str, str | None]:
        """renew / return / assign -> None when the portal would go ahead, else the sentence its
        commit refuses with (`license_row_actions`, the rules of portal/credits.py); a regular
        member may do none of them."""
        if me["role"] != Role.admin.value:
            refusal = admins_only(me["email"])
            return {"renew": refusal, "return": refusal, "assign": refusal}
        return license_row_actions(row)

    @any_member
    def license_details(self, actor: str, activation_id: str) -> dict[str, Any]:
        """Every field of a license (and of its bank), which of renew / return / assign the
        portal would refuse and why, its ledger entries and its history. An admin sees any
        license of the organization; a regular member only one assigned to them."""
        db = self.store.read()
        me = self._actor(db, actor, admin=False)
        lic = self._org_license(db, me, activation_id)  # type: ignore[attr-defined]
        if me["role"] != Role.admin.value and lic.get("assignee") != me["email"]:
            raise self._admin_required_refusal(me, "license_details")
        bank = db.get(T_BANKS, id=lic["bank"]) or {}
        used = sum(e["credits"] for e in db.find(T_LEDGER, bank=lic["bank"]))
        aid = lic["activation_id"]
        history, total = self._history(db, me["organization"], lambda e: aid in e["target"].split(", "))
        ledger, _ledger_total = _newest(db.find(T_LEDGER, license=aid), "id")
        row = self._license_row(lic, bank)  # type: ignore[attr-defined]
        return {
            "license": row,
            "created_on": lic.get("created_on"),
            "bank": self._bank_row(bank, used),  # type: ignore[attr-defined]
            "actions": self._license_why_not(me, row),
            "ledger": ledger,
            "history": history,
            "history_total": total,
        }

    # -- a member --------------------------------------------------------------------------
    @any_member
    def user_details(self, actor: str, email: str) -> dict[str, Any]:
        """A member's role, status, dates, teams (and which they are Team Admin of), seats,
        licenses, SSH keys, what an admin could change and why not, and their history (what
        was done to them or names them). An admin sees every member; a member only themselves."""
        db = self.store.read()
        me = self._actor(db, actor, admin=False)
        user = self._member(db, me, email)  # type: ignore[attr-defined]
        if me["role"] != Role.admin.value and user["email"] != me["email"]:
            raise self._admin_required_refusal(me, "user_details")
        org, address = me["organization"], user["email"]
        pools = {p["id"]: p for p in rows(db, T_POOLS) if p["organization"] == org}
        teams = [
            {"name": t["name"], "product": pools[t["pool"]]["product"], "member": address in t["members"],
             "team_admin": address in (t.get("admins") or [])}
            for t in rows(db, T_TEAMS)
            if t["pool"] in pools and (address in t["members"] or address in (t.get("admins") or []))
        ]
        teams.sort(key=lambda t: t["name"].lower())
        seats = sorted(({"product": pools[h["pool"]]["product"], "since": h["since"]}
                        for h in db.find(T_HOLDERS, email=address) if h["pool"] in pools), key=lambda s: s["product"])
        banks = {b["id"]: b for b in db.find(T_BANKS, organization=org)}
        licenses = [self._license_row(lic, banks[lic["bank"]])  # type: ignore[attr-defined]
                    for lic in db.find(T_LICENSES, assignee=address, organization=org)]
        licenses.sort(key=lambda r: (r["status"] == "expired", r["expires_on"], r["activation_id"]))
        keys = [self._key_row(k) for k in db.find(T_KEYS, email=address) if not k.get("revoked_on")]  # type: ignore[attr-defined]
        tokens = [self._token_row(t) for t in db.find(T_TOKENS, email=address) if not t.get("revoked_on")]  # type: ignore[attr-defined]
        tokens.sort(key=lambda t: (t["created_on"], t["id"]))
        named = _mentions(address)
        history, total = self._history(
            db, org, lambda e: e["target"].lower() == address or bool(named.search(e["details"])))
        return {
            "user": {**self._user_row(user), "invited_on": user.get("invited_on"),  # type: ignore[attr-defined]
                     "signed_in_on": user.get("signed_in_on")},
            "teams": teams,
            "seats": seats,
            "licenses": licenses,
            "keys": keys,
            "tokens": tokens,
            "actions": self._user_why_not(db, me, user, bool(keys)),
            "history": history,
            "history_total": total,
        }

    def _user_why_not(self, db: View, me: dict[str, Any], user: dict[str, Any], has_keys: bool) -> dict[str, str | None]:
        """role / status / delete / add_key / revoke_key / reinvite -> None or the portal's refusal."""
        names = ("role", "status", "delete", "add_key", "revoke_key", "reinvite")
        if me["role"] != Role.admin.value:
            return {name: admins_only(me["email"]) for name in names}
        address = user["email"]
        refusal = self._refusal_of

        other_role = "regular" if user["role"] == "admin" else "admin"
        other_status = "active" if user["status"] == "inactive" else "inactive"
        return {
            "role": refusal(lambda: self._quote_role(db, me, address, other_role)),  # type: ignore[attr-defined]
            "status": refusal(lambda: self._quote_status(db, me, address, other_status)),  # type: ignore[attr-defined]
            "delete": refusal(lambda: self._quote_delete(db, me, address)),  # type: ignore[attr-defined]
            "add_key": None if user["status"] != "inactive" else _(
                "{email} is inactive: reactivate them first.").format(email=address),
            "revoke_key": None if has_keys else _("{email} has no SSH key.").format(email=address),
            "reinvite": None if user["status"] == "invited" else _(
                "{email} has already signed in: only an invited member gets a new invitation.").format(email=address),
        }

    # -- a bank ------------------------------------------------------------------------------
    def bank_details(self, actor: str, bank_id: str) -> dict[str, Any]:
        """A bank's figures and dates, its licenses, its ledger (what each license charged), the
        requests for more credits in it, and its history. For admins."""
        db = self.store.read()
        me = self._actor(db, actor)
        bank = self._org_bank(db, me, bank_id)  # type: ignore[attr-defined]
        ledger_all = db.find(T_LEDGER, bank=bank["id"])
        row = self._bank_row(bank, sum(e["credits"] for e in ledger_all))  # type: ignore[attr-defined]
        today_iso = self.today().isoformat()
        licenses = [self._license_row(lic, bank, today_iso, row["return_blocked"])  # type: ignore[attr-defined]
                    for lic in db.find(T_LICENSES, copy=False, bank=bank["id"])]
        licenses.sort(key=lambda r: (r["expires_on"], r["activation_id"]), reverse=True)
        ledger, ledger_total = _newest(ledger_all, "id")
        requests = sorted((r for r in db.find(T_REQUESTS, organization=me["organization"])
                           if r["kind"] == "credits" and bank["id"] in (r["target"], r.get("granted_target"))),
                          key=lambda r: r["id"], reverse=True)
        history, total = self._history(db, me["organization"], lambda e: e["target"] == bank["id"])
        return {
            "bank": row,
            "licenses": licenses[:HISTORY_LIMIT],
            "licenses_total": len(licenses),
            "ledger": ledger,
            "ledger_total": ledger_total,
            "requests": [{**r, "state": r.get("state") or "requested"} for r in requests],
            "actions": {
                "request_credits": self._refusal_of(
                    lambda: self._check_credit_request(db, me, bank["id"], 1)),  # type: ignore[attr-defined]
                "open_licenses": None,
            },
            "history": history,
            "history_total": total,
        }

    @staticmethod
    def _refusal_of(check: Any) -> str | None:
        try:
            check()
        except PortalError as exc:
            return str(exc)
        return None

    # -- a team ------------------------------------------------------------------------------
    @team_scoped
    def team_details(self, actor: str, team_name: str) -> dict[str, Any]:
        """A team's seat pool and its usage, its members (seat state, since when), its Team
        Admins and its history. For admins, and for the team's own Team Admins."""
        db = self.store.read()
        me, team = self._managed_team(db, actor, team_name)  # type: ignore[attr-defined]
        pool = db.get(T_POOLS, id=team["pool"]) or {}
        pool_row = self._pool_row(db, pool)  # type: ignore[attr-defined]
        since = {h["email"]: h["since"] for h in db.find(T_HOLDERS, pool=pool.get("id"))}
        mine = next((t for t in pool_row["teams"] if t["id"] == team["id"]), {"members": []})
        members = [{**m, "since": since.get(m["email"]), "team_admin": m["email"] in (team.get("admins") or [])}
                   for m in mine["members"]]
        history, total = self._history(db, me["organization"], lambda e: e["target"] == team["name"])
        pool_summary = {k: pool_row[k] for k in ("id", "product", "purchased", "active", "pending", "unassigned", "unused")}
        return {
            "team": {"id": team["id"], "name": team["name"], "product": pool.get("product"),
                     "admins": list(team.get("admins") or [])},
            "pool": pool_summary,
            "members": members,
            "history": history,
            "history_total": total,
        }
