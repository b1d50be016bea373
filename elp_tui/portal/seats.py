"""Seat pools and teams (SPEC.md §7)."""

from __future__ import annotations

import re
from typing import Any


from elp_tui.i18n import _
from elp_tui.models import Product, Request, SeatHolder, SeatPool, Team
from elp_tui.portal.base import (
    T_HOLDERS,
    T_POOLS,
    T_PRODUCTS,
    T_REQUESTS,
    T_TEAMS,
    MAX_NAME,
    PortalBase,
    check_text,
    clean_name,
    normalise_email,
    positive_int,
    rows,
)
from elp_tui.portal import mail
from elp_tui.portal.errors import InvalidInput, NotFound, RuleViolation
from elp_tui.portal.quotes import SeatRequestQuote, TeamAddQuote, TeamRemoveQuote, keep_promise
from elp_tui.store.repository import View
from elp_tui.portal.inputs import check_new_name, name_key, name_taken


# What a team ID looks like (T-0001); a team name may not look like one, or it could shadow it.
TEAM_ID = re.compile(r"T-\d+", re.IGNORECASE)


class SeatsMixin(PortalBase):
    def _pool_by_product(self, db: View, org: str, product: str) -> dict[str, Any]:
        product = check_text(product, _("The product name"), limit=MAX_NAME)
        for pool in rows(db, T_POOLS):
            if pool["organization"] == org and (name_key(pool["product"]) == name_key(product or "") or pool["id"] == product):
                return pool
        raise NotFound(_("No seat pool for {product!r} in your organization: 'elp seats show' lists the pools.").format(product=product))

    def _team(self, db: View, org: str, name: str) -> dict[str, Any]:
        """A team of the organization by its exact ID first, then by name (`name_key`: case, width and
        spaces aside)."""
        pools = {p["id"] for p in rows(db, T_POOLS) if p["organization"] == org}
        teams = [t for t in rows(db, T_TEAMS) if t["pool"] in pools]
        wanted = check_text((name or "").strip(), _("The team name"), limit=MAX_NAME)
        for team in teams:
            if team["id"] == wanted:
                return team
        for team in teams:
            if name_key(team["name"]) == name_key(wanted):
                return team
        raise NotFound(_("No team {name!r} in your organization: 'elp teams list' shows them.").format(name=name))

    def _seat_states(self, db: View, pool: dict[str, Any]) -> dict[str, str]:
        """email -> active | pending | unassigned for every holder of a seat of this pool."""
        users = {u["email"]: u for u in rows(db, "users")}
        in_team: set[str] = set()
        for team in rows(db, T_TEAMS):
            if team["pool"] == pool["id"]:
                in_team.update(team["members"])
        states = {}
        for holder in rows(db, T_HOLDERS):
            if holder["pool"] != pool["id"]:
                continue
            email = holder["email"]
            if email not in in_team:
                states[email] = "unassigned"
            elif self._never_signed_in(users.get(email, {})):
                states[email] = "pending"
            else:
                states[email] = "active"
        return states

    @staticmethod
    def _never_signed_in(user: dict[str, Any]) -> bool:
        """Pending means never signed in: no first sign-in recorded, whatever the status
        (invited, deactivated before signing in, or marked active without signing in)."""
        return not user.get("signed_in_on")

    def _pool_row(self, db: View, pool: dict[str, Any]) -> dict[str, Any]:
        states = self._seat_states(db, pool)
        counts = {s: sum(1 for v in states.values() if v == s) for s in ("active", "pending", "unassigned")}
        teams = []
        for team in sorted((t for t in rows(db, T_TEAMS) if t["pool"] == pool["id"]), key=lambda t: t["name"].lower()):
            teams.append(
                {
                    "id": team["id"],
                    "name": team["name"],
                    "members": [{"email": m, "state": states.get(m, "active")} for m in team["members"]],
                }
            )
        unassigned = sorted(e for e, s in states.items() if s == "unassigned")
        return {
            "id": pool["id"],
            "product": pool["product"],
            "purchased": pool["seats"],
            **counts,
            "unused": pool["seats"] - len(states),
            "teams": teams,
            "unassigned_members": unassigned,
        }

    def seats_overview(self, actor: str) -> list[dict[str, Any]]:
        db = self.store.read()
        me = self._actor(db, actor)
        pools = sorted((p for p in rows(db, T_POOLS) if p["organization"] == me["organization"]), key=lambda p: p["product"])
        return [self._pool_row(db, p) for p in pools]

    def _quote_request_seats(self, db: View, me: dict[str, Any], product: str, seats: Any) -> SeatRequestQuote:
        seats = positive_int(seats, _("Seats requested"))
        pool = self._pool_by_product(db, me["organization"], product)
        self._vendor_or_refuse(db, pool["product"])  # type: ignore[attr-defined]
        return SeatRequestQuote(pool=pool["id"], product=pool["product"], seats=seats, purchased=pool["seats"])

    def quote_request_seats(self, actor: str, product: str, seats: Any) -> SeatRequestQuote:
        """What a seat request would ask for, before confirming (refused as the request would be)."""
        db = self.store.read()
        return self._quote_request_seats(db, self._actor(db, actor), product, seats)

    def request_seats(self, actor: str, product: str, seats: int, expected: Any = None) -> dict[str, Any]:
        """Record a seat request and mail the vendor. `expected`: the quote the admin confirmed, re-checked here."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            quote = self._quote_request_seats(db, me, product, seats)
            keep_promise(expected, quote)
            seats = quote["seats"]
            pool = self._pool_by_product(db, me["organization"], quote["product"])
            request = Request(
                id=db.next_seq(T_REQUESTS), organization=me["organization"], kind="seats", target=pool["id"],
                product=pool["product"], amount=seats, actor=me["email"], on=self.today(),
            )
            db.insert(T_REQUESTS, request.to_doc())
            vendor = self._vendor_or_refuse(db, pool["product"])  # type: ignore[attr-defined]
            self._queue(db, mail.vendor_request(
                self._org_language(db, me["organization"]), org_id=me["organization"],
                org=self._organization_name_in(db, me["organization"]), to=vendor["email"], request=request.to_doc(),
            ))
            self._log(db, me["organization"], me["email"], "seats-request", pool["id"], f"{seats} seats requested from the vendor")
            doc = request.to_doc()
        return self._send_request(doc)  # to the vendor's feed, once committed (portal/feed.py)

    def list_teams(self, actor: str) -> list[dict[str, Any]]:
        out = []
        for pool in self.seats_overview(actor):
            for team in pool["teams"]:
                out.append({**team, "pool": pool["id"], "product": pool["product"]})
        return out

    def create_team(self, actor: str, name: str, pool_product: str) -> dict[str, Any]:
        name = clean_name(name, _("The team name"))
        if not name:
            raise InvalidInput(_("A team name is needed."))
        if TEAM_ID.fullmatch(name_key(name)):
            raise InvalidInput(
                _("{name!r} looks like a team ID (such as T-0001), which would make lookups ambiguous: pick another name.").format(name=name)
            )
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            pool = self._pool_by_product(db, me["organization"], pool_product)
            try:
                existing = self._team(db, me["organization"], name)
            except NotFound:
                pass
            else:
                raise name_taken(_("The team"), name, existing["name"])
            team = Team(id=self._next_id(db, T_TEAMS, "T-"), organization=me["organization"], pool=pool["id"], name=name)
            db.insert(T_TEAMS, team.to_doc())
            self._log(db, me["organization"], me["email"], "team-create", name, f"team of the {pool['product']} pool")
            return team.to_doc()

    def _quote_team_add(self, db: View, me: dict[str, Any], team: dict[str, Any], address: str) -> TeamAddQuote:
        """Whether adding `address` to `team` takes an unused seat or reuses theirs; refusals raised."""
        if address in team["members"]:
            raise RuleViolation(_("{email} is already in team {team}.").format(email=address, team=team["name"]))
        pool = db.get(T_POOLS, id=team["pool"])
        assert pool is not None
        user = self._user(db, address)
        if user is not None and user.get("organization") != me["organization"]:
            raise RuleViolation(_("{email} belongs to another organization: they must be removed there first.").format(email=address))
        holds = db.exists(T_HOLDERS, pool=pool["id"], email=address)
        row = self._pool_row(db, pool)
        if not holds and row["unused"] <= 0:
            raise RuleViolation(
                _(
                    "No unused seat left in the {product} pool ({purchased} purchased: "
                    "{active} active, {pending} pending, {unassigned} unassigned). "
                    "Free one by deleting a member from the organization, or request more seats."
                ).format(
                    product=pool["product"], purchased=row["purchased"], active=row["active"], pending=row["pending"],
                    unassigned=row["unassigned"],
                )
            )
        return TeamAddQuote(
            team=team["name"], email=address, product=pool["product"], takes_seat=not holds, invites=user is None,
            unused_before=row["unused"], unused_after=row["unused"] - (0 if holds else 1),
        )

    def quote_team_add(self, actor: str, team_name: str, email: str) -> TeamAddQuote:
        """What adding a member to a team would do (seat taken or reused, invitation); writes nothing."""
        address = normalise_email(email)
        db = self.store.read()
        me = self._actor(db, actor)
        team = self._team(db, me["organization"], team_name)
        return self._quote_team_add(db, me, team, address)

    def team_add(self, actor: str, team_name: str, email: str, expected: Any = None) -> dict[str, Any]:
        """Add a member to a team. `expected`: the quote the admin confirmed; if the data changed
        since, StaleQuote(fresh=quote as it stands now) and nothing is written."""
        address = normalise_email(email)
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            team = self._team(db, me["organization"], team_name)
            quote = self._quote_team_add(db, me, team, address)
            keep_promise(expected, quote)  # the same seat taken or reused, the same invitation
            pool = db.get(T_POOLS, id=team["pool"])
            assert pool is not None
            user = self._user(db, address)
            seats_moved = 0
            if quote["takes_seat"]:
                db.insert(T_HOLDERS, SeatHolder(pool=pool["id"], email=address, since=self.today()).to_doc())
                seats_moved = 1
            if user is None:
                self._invite_in(db, me, address, f"to join team {team['name']}", reason="team", about=team["name"])
            db.update(T_TEAMS, {"members": team["members"] + [address]}, id=team["id"])
            how = "took an unused seat" if seats_moved else "reuses their seat"
            self._log(db, me["organization"], me["email"], "team-add", team["name"], f"{address} joined ({how})", seats=seats_moved)
            org_id = me["organization"]
            self._queue(db, mail.team_joined(self._org_language(db, org_id), org_id=org_id,
                                             org=self._organization_name_in(db, org_id), to=address, inviter=me["email"],
                                             team=team["name"], product=pool["product"]))
            return self._pool_row(db, pool)

    def _quote_team_remove(self, db: View, me: dict[str, Any], team: dict[str, Any], address: str) -> TeamRemoveQuote:
        """What removing `address` from `team` does: whether they keep their seat unassigned
        (in no other team of the pool) or stay active through another team; refusals raised."""
        if address not in team["members"]:
            raise RuleViolation(_("{email} is not in team {team}.").format(email=address, team=team["name"]))
        pool = db.get(T_POOLS, id=team["pool"])
        assert pool is not None
        other_teams = sorted(
            t["name"] for t in rows(db, T_TEAMS)
            if t["pool"] == pool["id"] and t["id"] != team["id"] and address in t["members"]
        )
        return TeamRemoveQuote(
            team=team["name"], email=address, product=pool["product"], other_teams=other_teams,
            becomes_unassigned=not other_teams,  # still holds the seat, in no team
        )

    def quote_team_remove(self, actor: str, team_name: str, email: str) -> TeamRemoveQuote:
        """What removing a member from a team would do (their seat stays theirs); writes nothing."""
        address = normalise_email(email)
        db = self.store.read()
        me = self._actor(db, actor)
        return self._quote_team_remove(db, me, self._team(db, me["organization"], team_name), address)

    def team_remove(self, actor: str, team_name: str, email: str, expected: Any = None) -> dict[str, Any]:
        """Remove a member from a team. `expected`: the quote the admin confirmed, re-checked here."""
        address = normalise_email(email)
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            team = self._team(db, me["organization"], team_name)
            keep_promise(expected, self._quote_team_remove(db, me, team, address))
            db.update(T_TEAMS, {"members": [m for m in team["members"] if m != address]}, id=team["id"])
            pool = db.get(T_POOLS, id=team["pool"])
            assert pool is not None
            row = self._pool_row(db, pool)
            note = " (now unassigned: still holds the seat)" if address in row["unassigned_members"] else ""
            self._log(db, me["organization"], me["email"], "team-remove", team["name"], f"{address} left{note}")
            return row
