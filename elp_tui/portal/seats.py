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
from elp_tui.portal.authority import any_member, team_scoped
from elp_tui.portal.errors import AdminRequired, InvalidInput, NotFound, PortalError, RuleViolation
from elp_tui.portal.quotes import Quote, SeatRequestQuote, TeamAddQuote, TeamRemoveQuote, keep_promise
from elp_tui.store.repository import View
from elp_tui.portal.inputs import check_new_name, name_key, name_taken


class TeamAdminQuote(Quote):
    """Making a member the Team Admin of a team (`admin`), or no longer (seed 002)."""

    team: str
    email: str
    admin: bool
    status: str

    def lines(self) -> list[tuple[str, str]]:
        before, after = (_("no"), _("yes")) if self.admin else (_("yes"), _("no"))
        return [(_("Team"), self.team), (_("Member"), self.email), (_("Team Admin"), f"{before} → {after}")]


def no_unused_seat(row: dict[str, Any]) -> str:
    """Why joining a team is refused when its pool (a `_pool_row`) has no unused seat left."""
    return _(
        "No unused seat left in the {product} pool ({purchased} purchased: "
        "{active} active, {pending} pending, {unassigned} unassigned). "
        "Free one by deleting a member from the organization, or request more seats."
    ).format(
        product=row["product"], purchased=row["purchased"], active=row["active"], pending=row["pending"],
        unassigned=row["unassigned"],
    )


def not_team_admin_of(email: str, team: str, mine: list[str]) -> str:
    return _(
        "{email} is not a Team Admin of team {team}: a Team Admin manages only their own teams ({mine}). "
        "Ask an organization admin."
    ).format(email=email, team=team, mine=", ".join(mine))


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
                    "admins": list(team.get("admins") or []),
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

    # -- Team Admins (seed 002) ----------------------------------------------------------
    @staticmethod
    def _teams_administered(db: View, me: dict[str, Any]) -> list[dict[str, Any]]:
        """The teams of `me`'s organization whose Team Admin `me` is (none for an org admin)."""
        if me.get("role") != "regular" or not me.get("organization"):
            return []
        pools = {p["id"] for p in rows(db, T_POOLS) if p["organization"] == me["organization"]}
        return sorted((t for t in rows(db, T_TEAMS) if t["pool"] in pools and me["email"] in (t.get("admins") or [])),
                      key=lambda t: t["name"].lower())

    def _scoped_actor(self, db: View, actor: str) -> dict[str, Any]:
        """The member acting on teams: an admin, or a Team Admin of at least one team; a regular
        user who is neither is refused like any admin operation (AdminRequired, logged)."""
        me = self._actor(db, actor, admin=False)
        if me["role"] != "admin" and not self._teams_administered(db, me):
            raise self._admin_required_refusal(me, None)
        return me

    def _managed_team(self, db: View, actor: str, team_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The member acting and the team they act on, for the team operations: a regular user who
        is no Team Admin is refused before the input is read, a Team Admin on another team after."""
        me = self._scoped_actor(db, actor)
        team = self._team(db, me["organization"], team_name)
        self._may_manage_team(db, me, team)
        return me, team

    def _may_manage_team(self, db: View, me: dict[str, Any], team: dict[str, Any]) -> None:
        """An admin manages every team of the organization; a Team Admin only their own: acting on
        another is refused, and logged like every refusal of authority."""
        if me["role"] == "admin" or me["email"] in (team.get("admins") or []):
            return
        mine = [t["name"] for t in self._teams_administered(db, me)]
        exc = AdminRequired(not_team_admin_of(me["email"], team["name"], mine), organization=me["organization"],
                            actor=me["email"])
        exc.details = f"team admin operation refused: not a Team Admin of {team['name']}"
        raise exc

    @any_member
    def my_team_admin(self, actor: str) -> list[str]:
        """The names of the teams `actor` is the Team Admin of (an org admin: none, they manage all)."""
        db = self.store.read()
        return [t["name"] for t in self._teams_administered(db, self._actor(db, actor, admin=False))]

    def _quote_team_admin(self, db: View, me: dict[str, Any], team_name: str, email: str, admin: bool) -> TeamAdminQuote:
        address = normalise_email(email)
        team = self._team(db, me["organization"], team_name)
        user = self._user(db, address)
        if user is None or user.get("organization") != me["organization"]:
            raise NotFound(_(
                "{email} is not a member of your organization: invite them first ('elp teams add {team} {email}' "
                "invites them into the team), then make them its Team Admin."
            ).format(email=address, team=team["name"]))
        admins = team.get("admins") or []
        if admin:
            if user["role"] == "admin":
                raise RuleViolation(_(
                    "{email} is an organization admin and already manages every team: only a regular member is made "
                    "a Team Admin."
                ).format(email=address))
            if user["status"] == "inactive":
                raise RuleViolation(_(
                    "{email} is inactive: reactivate them first ('elp users set-status {email} active'), then make "
                    "them a Team Admin."
                ).format(email=address))
            if address in admins:
                raise RuleViolation(_("{email} is already a Team Admin of {team}.").format(email=address, team=team["name"]))
        elif address not in admins:
            raise RuleViolation(_(
                "{email} is not a Team Admin of {team}: 'elp teams list' shows each team's admins."
            ).format(email=address, team=team["name"]))
        return TeamAdminQuote(team=team["name"], email=address, admin=admin, status=user["status"])

    def quote_set_team_admin(self, actor: str, team_name: str, email: str, admin: bool = True) -> TeamAdminQuote:
        """What making a member a team's Team Admin (or no longer) would do, or its refusal; writes nothing."""
        db = self.store.read()
        return self._quote_team_admin(db, self._actor(db, actor), team_name, email, admin)

    def set_team_admin(self, actor: str, team_name: str, email: str, admin: bool = True,
                       expected: Any = None) -> dict[str, Any]:
        """Make a regular member (invited or active) the Team Admin of a team, or no longer
        (`admin=False`). `expected`: the quote the admin confirmed, re-checked here."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            quote = self._quote_team_admin(db, me, team_name, email, admin)
            keep_promise(expected, quote)
            team = self._team(db, me["organization"], quote.team)
            admins = [a for a in (team.get("admins") or []) if a != quote.email]
            if admin:
                admins.append(quote.email)
            db.update(T_TEAMS, {"admins": admins}, id=team["id"])
            details = f"{quote.email} made Team Admin" if admin else f"{quote.email} no longer Team Admin"
            self._log(db, me["organization"], me["email"], "team-admin", team["name"], details)
            return {"id": team["id"], "name": team["name"], "admins": admins}

    # -- seat pools ---------------------------------------------------------------------
    @team_scoped
    def seats_overview(self, actor: str) -> list[dict[str, Any]]:
        """Every pool of the organization (an admin), or a Team Admin's: the pools of their teams,
        with the pool's seat usage and only their teams."""
        db = self.store.read()
        me = self._scoped_actor(db, actor)
        pools = sorted((p for p in rows(db, T_POOLS) if p["organization"] == me["organization"]), key=lambda p: p["product"])
        if me["role"] == "admin":
            return [self._pool_row(db, p) for p in pools]
        mine = {t["id"] for t in self._teams_administered(db, me)}
        out = []
        for pool in pools:
            row = self._pool_row(db, pool)
            row["teams"] = [t for t in row["teams"] if t["id"] in mine]
            if row["teams"]:
                row["unassigned_members"] = []  # members outside their teams are not theirs to see
                out.append(row)
        return out

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

    @team_scoped
    def list_teams(self, actor: str) -> list[dict[str, Any]]:
        """The teams an admin (every team) or a Team Admin (their own) sees, with members and admins."""
        self._scoped_actor(self.store.read(), actor)  # a refusal names list_teams, not seats_overview
        out = []
        for pool in self.seats_overview(actor):
            for team in pool["teams"]:
                out.append({**team, "pool": pool["id"], "product": pool["product"]})
        return out

    def _check_new_team(self, db: View, me: dict[str, Any], name: str, pool_product: str) -> tuple[str, dict[str, Any]]:
        """The new team's name as it will be stored and its pool, or the refusal: every rule of a
        new team, once (the quote before the confirmation and the commit ask the same)."""
        try:
            name = clean_name(name, _("The team name"))
        except PortalError as exc:
            exc.field = "name"
            raise
        if not name:
            raise InvalidInput(_("A team name is needed."), field="name")
        if TEAM_ID.fullmatch(name_key(name)):
            raise InvalidInput(
                _("{name!r} looks like a team ID (such as T-0001), which would make lookups ambiguous: pick another name.").format(name=name),
                field="name",
            )
        pool = self._pool_by_product(db, me["organization"], pool_product)
        try:
            existing = self._team(db, me["organization"], name)
        except NotFound:
            pass
        else:  # one name with another team's, case, width and spaces aside (`animation` beside `Animation`)
            taken = name_taken(_("The team"), name, existing["name"])
            taken.field = "name"
            raise taken
        return name, pool

    def quote_create_team(self, actor: str, name: str, pool_product: str) -> dict[str, Any]:
        """The team a create would make (its name as stored, its pool's product), or the refusal;
        writes nothing (asked before the confirmation)."""
        db = self.store.read()
        name, pool = self._check_new_team(db, self._actor(db, actor), name, pool_product)
        return {"name": name, "product": pool["product"]}

    def create_team(self, actor: str, name: str, pool_product: str) -> dict[str, Any]:
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            name, pool = self._check_new_team(db, me, name, pool_product)
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
            raise RuleViolation(no_unused_seat(row))
        return TeamAddQuote(
            team=team["name"], email=address, product=pool["product"], takes_seat=not holds, invites=user is None,
            unused_before=row["unused"], unused_after=row["unused"] - (0 if holds else 1),
        )

    @team_scoped
    def quote_team_add(self, actor: str, team_name: str, email: str) -> TeamAddQuote:
        """What adding a member to a team would do (seat taken or reused, invitation); writes nothing."""
        db = self.store.read()
        me, team = self._managed_team(db, actor, team_name)
        address = normalise_email(email)
        return self._quote_team_add(db, me, team, address)

    @team_scoped
    def team_add(self, actor: str, team_name: str, email: str, expected: Any = None) -> dict[str, Any]:
        """Add a member to a team (an admin, or the team's Team Admin). `expected`: the quote
        confirmed; if the data changed since, StaleQuote(fresh=quote as it stands now) and
        nothing is written."""
        with self.store.transaction() as db:
            me, team = self._managed_team(db, actor, team_name)
            address = normalise_email(email)
            quote = self._quote_team_add(db, me, team, address)
            keep_promise(expected, quote)  # the same seat taken or reused, the same invitation
            pool = self._write_team_add(db, me, team, address, quote["takes_seat"])
            return self._pool_row(db, pool)

    def _write_team_add(self, db: Any, me: dict[str, Any], team: dict[str, Any], address: str,
                        takes_seat: bool) -> dict[str, Any]:
        """What joining a team writes (single or in a users import): the seat when one is taken, the
        invitation of one who is not a member yet, the team, its activity entry, the email; returns the pool."""
        pool = db.get(T_POOLS, id=team["pool"])
        assert pool is not None
        team = db.get(T_TEAMS, id=team["id"]) or team  # as it is now (an import adds several members)
        user = self._user(db, address)
        seats_moved = 0
        if takes_seat:
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
        return pool

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

    @team_scoped
    def quote_team_remove(self, actor: str, team_name: str, email: str) -> TeamRemoveQuote:
        """What removing a member from a team would do (their seat stays theirs); writes nothing."""
        db = self.store.read()
        me, team = self._managed_team(db, actor, team_name)
        address = normalise_email(email)
        return self._quote_team_remove(db, me, team, address)

    @team_scoped
    def team_remove(self, actor: str, team_name: str, email: str, expected: Any = None) -> dict[str, Any]:
        """Remove a member from a team (an admin, or the team's Team Admin). `expected`: the quote
        confirmed, re-checked here."""
        with self.store.transaction() as db:
            me, team = self._managed_team(db, actor, team_name)
            address = normalise_email(email)
            keep_promise(expected, self._quote_team_remove(db, me, team, address))
            db.update(T_TEAMS, {"members": [m for m in team["members"] if m != address]}, id=team["id"])
            pool = db.get(T_POOLS, id=team["pool"])
            assert pool is not None
            row = self._pool_row(db, pool)
            note = " (now unassigned: still holds the seat)" if address in row["unassigned_members"] else ""
            self._log(db, me["organization"], me["email"], "team-remove", team["name"], f"{address} left{note}")
            return row
