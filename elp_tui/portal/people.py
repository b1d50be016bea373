"""Organizations, users and roles (SPEC.md §6), product versions (§5), activity log."""

from __future__ import annotations

import re
from typing import Any


from elp_tui.i18n import N_, _
from elp_tui.models import Organization, Restriction, Role, User, UserStatus
from elp_tui.portal.base import (
    T_ACTIVITY,
    T_BANKS,
    T_HOLDERS,
    T_KEYS,
    T_LICENSES,
    T_ORGS,
    T_POOLS,
    T_PRODUCTS,
    T_RESTRICTIONS,
    T_TEAMS,
    T_USERS,
    PortalBase,
    MAX_NAME,
    check_text,
    clean_name,
    normalise_email,
    rows,
)
from elp_tui.portal.authority import any_member
from elp_tui.store.schema import T_TOKENS
from elp_tui.portal.clock import clock_meta
from elp_tui.portal.credits import license_status
from elp_tui.portal.errors import InvalidInput, LicensesHeld, NotFound, RuleViolation
from elp_tui.portal.quotes import (
    DeleteUserQuote, InviteQuote, RestrictQuote, RoleQuote, StatusQuote, keep_promise,
)
from elp_tui.store.repository import View
from elp_tui.portal.inputs import check_new_name, product_version
from elp_tui.store.db import StoreExists

# How a refusal names a role or a status ("... is already regular").
ROLE_NAMES = {"admin": N_("admin"), "regular": N_("regular")}
STATUS_NAMES = {"active": N_("active"), "inactive": N_("inactive")}


class PeopleMixin(PortalBase):
    # -- organizations -----------------------------------------------------------
    def init_organization(self, name: str, admin_email: str) -> dict[str, Any]:
        """Create an organization and its first (active) admin; creates the store if needed."""
        name = clean_name(name, _("The organization name"))
        if not name:
            raise InvalidInput(_("An organization name is needed (--org NAME)."))
        address = normalise_email(admin_email)
        if not self.store.exists():
            try:
                self.store.create(meta=clock_meta(self.clock))
            except StoreExists:
                pass  # another process created it meanwhile; any other failure says why
        with self.store.transaction() as db:
            check_new_name(name, (o["name"] for o in rows(db, T_ORGS)), _("The organization"))
            if self._user(db, address) is not None:
                raise RuleViolation(
                    _("{email} already belongs to an organization: a user belongs to one organization at a time.").format(email=address)
                )
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "org"
            org_id, n = slug, 1
            taken = {o["id"] for o in rows(db, T_ORGS)}
            while org_id in taken:
                n += 1
                org_id = f"{slug}-{n}"
            org = Organization(id=org_id, name=name, created_on=self.today())
            db.insert(T_ORGS, org.to_doc())
            admin = User(email=address, organization=org_id, role=Role.admin, status=UserStatus.active,
                         invited_on=self.today(), signed_in_on=self.today())
            db.insert(T_USERS, admin.to_doc())
            self._log(db, org_id, address, "org-create", name, f"organization created with admin {address}")
            return org.to_doc()

    # -- users -------------------------------------------------------------------
    @staticmethod
    def _user_row(user: dict[str, Any]) -> dict[str, Any]:
        return {
            "email": user["email"],
            "role": user["role"],
            "status": user["status"],
            "organization": user.get("organization"),
        }

    def list_users(self, actor: str) -> list[dict[str, Any]]:
        db = self.store.read()
        me = self._actor(db, actor)
        users = db.find(T_USERS, organization=me["organization"])
        users.sort(key=lambda u: u["email"])
        return [self._user_row(u) for u in users]

    def _check_invite(self, db: View, me: dict[str, Any], email: str, role: str) -> tuple[str, Role]:
        """The address as it will be stored and the role, or the refusal: every invite rule, once."""
        try:
            role_v = Role(role)
        except ValueError:
            raise InvalidInput(_("Role {role!r} is unknown: use admin or regular.").format(role=role)) from None
        address = normalise_email(email)
        existing = self._user(db, address)
        if existing is not None:
            if existing.get("organization") == me["organization"]:
                raise RuleViolation(_("{email} is already a member of your organization.").format(email=address),
                                    field="email")
            raise RuleViolation(
                _(
                    "{email} belongs to another organization: a user belongs to one organization at a time. "
                    "They must be removed there first (and hold no licenses there)."
                ).format(email=address), field="email",
            )
        return address, role_v

    def quote_invite(self, actor: str, email: str, role: str = "regular") -> InviteQuote:
        """What inviting would do (the address in its stored form), before asking to confirm."""
        db = self.store.read()
        address, role_v = self._check_invite(db, self._actor(db, actor), email, role)
        return InviteQuote(email=address, role=role_v.value)

    def invite(self, actor: str, email: str, role: str = "regular", expected: Any = None) -> dict[str, Any]:
        """Invite a new member. `expected`: the quote the admin confirmed, re-checked here."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            address, role_v = self._check_invite(db, me, email, role)
            keep_promise(expected, InviteQuote(email=address, role=role_v.value))
            return self._user_row(self._invite_in(db, me, address, role=role_v))

    def _member(self, db: View, me: dict[str, Any], email: str) -> dict[str, Any]:
        address = normalise_email(email)
        user = self._user(db, address)
        if user is None or user.get("organization") != me["organization"]:
            raise NotFound(_("{email} is not a member of your organization: 'elp users list' shows them.").format(email=address))
        return dict(user)

    def _other_active_admins(self, db: View, org: str, email: str) -> int:
        return sum(
            1
            for u in rows(db, T_USERS)
            if u.get("organization") == org and u["role"] == "admin" and u["status"] == "active" and u["email"] != email
        )

    def _guard_last_admin(self, db: View, user: dict[str, Any], doing: str) -> None:
        if user["role"] == "admin" and user["status"] == "active" and not self._other_active_admins(db, user["organization"], user["email"]):
            raise RuleViolation(
                _(
                    "{email} is the last active admin of the organization: {doing} is refused. "
                    "Make another member an admin first."
                ).format(email=user["email"], doing=doing)
            )

    def _quote_role(self, db: View, me: dict[str, Any], email: str, role: str) -> RoleQuote:
        """What changing a member's role does; refusals (unknown role, no change, last admin) raised."""
        try:
            role_v = Role(role)
        except ValueError:
            raise InvalidInput(_("Role {role!r} is unknown: use admin or regular.").format(role=role)) from None
        user = self._member(db, me, email)
        if user["role"] == role_v.value:
            raise RuleViolation(_("{email} is already {role}.").format(email=user["email"], role=_(ROLE_NAMES[role_v.value])))
        if role_v is Role.regular:
            self._guard_last_admin(db, user, _("demoting them"))
        return RoleQuote(email=user["email"], role_before=user["role"], role=role_v.value, status=user["status"],
                         yourself=user["email"] == me["email"])

    def quote_set_role(self, actor: str, email: str, role: str) -> RoleQuote:
        """What a role change would do, or its refusal, before confirming; writes nothing."""
        db = self.store.read()
        return self._quote_role(db, self._actor(db, actor), email, role)

    def set_role(self, actor: str, email: str, role: str, expected: Any = None) -> dict[str, Any]:
        """Make a member an admin or a regular user. `expected`: the quote the admin confirmed,
        re-checked here (StaleQuote with the fresh one if the member changed meanwhile)."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            quote = self._quote_role(db, me, email, role)
            keep_promise(expected, quote)
            user = self._member(db, me, quote["email"])
            db.update(T_USERS, {"role": quote["role"]}, email=user["email"])
            details = f"role {user['role']} -> {quote['role']}"
            if quote["role"] == "admin":  # an admin manages every team: no longer a Team Admin of some
                led = [t for t in rows(db, T_TEAMS) if user["email"] in (t.get("admins") or [])]
                for team in led:
                    db.update(T_TEAMS, {"admins": [a for a in team["admins"] if a != user["email"]]}, id=team["id"])
                if led:
                    details += f" (no longer Team Admin of {', '.join(sorted(t['name'] for t in led))}: admins manage every team)"
            self._log(db, me["organization"], me["email"], "user-role", user["email"], details)
            user["role"] = quote["role"]
            return self._user_row(user)

    def _quote_status(self, db: View, me: dict[str, Any], email: str, status: str) -> StatusQuote:
        """What setting a member active or inactive does; refusals raised. One who never signed in
        and is set active goes back to invited (`note` says so)."""
        if status not in ("active", "inactive"):
            raise InvalidInput(_("Status {status!r} is unknown: use active or inactive.").format(status=status))
        user = self._member(db, me, email)
        note = None
        if status == "active" and not user.get("signed_in_on"):
            # Only a first sign-in makes a user active: one who never signed in goes back to invited.
            if user["status"] == "invited":
                raise RuleViolation(
                    _("{email} has not signed in yet: they become active at their first sign-in.").format(email=user["email"])
                )
            status = "invited"
            note = _("{email} has never signed in: they are invited again and become active at their first sign-in.").format(
                email=user["email"]
            )
        if user["status"] == status:
            raise RuleViolation(_("{email} is already {status}.").format(email=user["email"], status=_(STATUS_NAMES[status])))
        if status == "inactive":
            self._guard_last_admin(db, user, _("deactivating them"))
        return StatusQuote(email=user["email"], status_before=user["status"], status=status, role=user["role"],
                           yourself=user["email"] == me["email"], note=note)

    def quote_set_status(self, actor: str, email: str, status: str) -> StatusQuote:
        """What a status change would do, or its refusal, before confirming; writes nothing."""
        db = self.store.read()
        return self._quote_status(db, self._actor(db, actor), email, status)

    def set_status(self, actor: str, email: str, status: str, expected: Any = None) -> dict[str, Any]:
        """Set a member active or inactive. `expected`: the quote the admin confirmed, re-checked here."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            quote = self._quote_status(db, me, email, status)
            keep_promise(expected, quote)
            user = self._member(db, me, quote["email"])
            db.update(T_USERS, {"status": quote["status"]}, email=user["email"])
            details = f"status {user['status']} -> {quote['status']}"
            if quote["note"]:
                details += " (never signed in: active at their first sign-in)"
            self._log(db, me["organization"], me["email"], "user-status", user["email"], details)
            user["status"] = quote["status"]
            row = self._user_row(user)
            if quote["note"]:
                row["note"] = quote["note"]
            return row

    def _held_licenses(self, db: View, org: str, email: str) -> list[str]:
        today_iso = self.today().isoformat()
        return sorted(
            lic["activation_id"]
            for lic in db.find(T_LICENSES, assignee=email, organization=org)
            if license_status(lic, today_iso) != "expired"
        )

    def _guard_delete(self, db: View, me: dict[str, Any], user: dict[str, Any]) -> None:
        self._guard_last_admin(db, user, _("deleting them"))
        held = self._held_licenses(db, me["organization"], user["email"])
        if held:
            listed = ", ".join(held[:10]) + (_(" and {n} more").format(n=len(held) - 10) if len(held) > 10 else "")
            raise LicensesHeld(
                _(
                    "{email} still holds {n} unexpired license(s): {listed}. "
                    "Return them (portable banks) or wait until they expire, then delete."
                ).format(email=user["email"], n=len(held), listed=listed),
                held,
            )

    def _quote_delete(self, db: View, me: dict[str, Any], email: str) -> DeleteUserQuote:
        """What deleting a member does (teams left, seats returned), or the refusal (last admin,
        licenses held)."""
        user = self._member(db, me, email)
        self._guard_delete(db, me, user)
        pools = {p["id"]: p for p in rows(db, T_POOLS) if p["organization"] == me["organization"]}
        held_pools = {h["pool"] for h in rows(db, T_HOLDERS) if h["email"] == user["email"] and h["pool"] in pools}
        teams = sorted(t["name"] for t in rows(db, T_TEAMS) if t["pool"] in pools and user["email"] in t["members"])
        return DeleteUserQuote(
            **self._user_row(user), seats_returned=sorted(pools[p]["product"] for p in held_pools), teams=teams)

    def quote_delete_user(self, actor: str, email: str) -> DeleteUserQuote:
        """What deleting a member would do, or the refusal (last admin, licenses held); writes nothing."""
        db = self.store.read()
        return self._quote_delete(db, self._actor(db, actor), email)

    def delete_user(self, actor: str, email: str, expected: Any = None) -> dict[str, Any]:
        """Remove a member from the organization. `expected`: the quote the admin confirmed,
        re-checked here: if the member's role, status, teams or seats changed since, StaleQuote
        with the fresh quote and nothing is written."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            keep_promise(expected, self._quote_delete(db, me, email))
            user = self._member(db, me, email)
            pools = {p["id"] for p in rows(db, T_POOLS) if p["organization"] == me["organization"]}
            for team in rows(db, T_TEAMS):
                admins = team.get("admins") or []
                if team["pool"] in pools and (user["email"] in team["members"] or user["email"] in admins):
                    # They leave every team, and stop being Team Admin of any.
                    db.update(T_TEAMS, {"members": [m for m in team["members"] if m != user["email"]],
                                        "admins": [a for a in admins if a != user["email"]]}, id=team["id"])
            freed = db.remove(T_HOLDERS, lambda h: h["pool"] in pools, email=user["email"])
            # Their keys no longer sign anyone in, and sshd is told nothing for them (not the enrolment).
            for key in db.find(T_KEYS, email=user["email"]):
                if not key.get("revoked_on"):
                    db.update(T_KEYS, {"revoked_on": self.today().isoformat(), "revoked_by": me["email"]},
                              fingerprint=key["fingerprint"])
            # Their API tokens too: the server refuses them from now on.
            for token in db.find(T_TOKENS, email=user["email"]):
                if not token.get("revoked_on"):
                    db.update(T_TOKENS, {"revoked_on": self.today().isoformat(), "revoked_by": me["email"]}, id=token["id"])
            db.remove(T_USERS, email=user["email"])
            self._log(
                db, me["organization"], me["email"], "user-delete", user["email"],
                f"removed from the organization; {freed} seat(s) returned to the pool", seats=-freed,
            )
            return self._user_row(user)

    # -- product versions --------------------------------------------------------
    @staticmethod
    def _org_products(db: View, org: str) -> set[str]:
        """The products an organization has: those of its banks and seat pools."""
        return {b["product"] for b in rows(db, T_BANKS) if b["organization"] == org} | {
            p["product"] for p in rows(db, T_POOLS) if p["organization"] == org
        }

    def _org_product(self, db: View, org: str, product: str) -> dict[str, Any]:
        """The catalog entry of a product the organization has; refused otherwise."""
        product = check_text(product, _("The product name"), limit=MAX_NAME)
        catalog = db.get(T_PRODUCTS, name=product)
        if catalog is None:
            raise NotFound(_("No product {product!r} in the catalog: 'elp versions list' shows them.").format(product=product))
        if product not in self._org_products(db, org):
            raise NotFound(
                _(
                    "Your organization has no bank or seat pool for {product}: its versions are not yours to restrict. "
                    "'elp versions list' shows your organization's products."
                ).format(product=product)
            )
        return dict(catalog)

    def list_versions(self, actor: str) -> list[dict[str, Any]]:
        """The builds of the products this organization has (banks or seat pools), not the whole catalog."""
        db = self.store.read()
        me = self._actor(db, actor)
        restrictions = {r["product"]: r for r in rows(db, T_RESTRICTIONS) if r["organization"] == me["organization"]}
        mine = self._org_products(db, me["organization"])
        out = []
        for product in sorted((p for p in rows(db, T_PRODUCTS) if p["name"] in mine), key=lambda p: p["name"]):
            rule = restrictions.get(product["name"])
            enabled = bool(rule and rule["enabled"])
            selected = set(rule["builds"]) if rule else set()
            builds = sorted(product.get("builds", []), key=lambda b: b["released"], reverse=True)
            out.append(
                {
                    "product": product["name"],
                    "kind": product.get("kind", "credits"),
                    "restriction": "enabled" if enabled else "disabled",
                    "builds": [
                        {**b, "selected": b["version"] in selected, "accessible": (not enabled) or b["version"] in selected}
                        for b in builds
                    ],
                }
            )
        return out

    def _quote_restrict(self, db: View, me: dict[str, Any], product: str, builds: list[str]) -> RestrictQuote:
        """Which builds stay accessible once the restriction is enabled; refusals raised."""
        wanted = [product_version(b, _("A build version")) for b in builds if b and b.strip()]
        catalog = self._org_product(db, me["organization"], product)
        if not wanted:
            raise InvalidInput(_("Enabling the restriction with no build selected is refused: select at least one build."),
                               field="builds")
        known = {b["version"] for b in catalog.get("builds", [])}
        unknown = [b for b in wanted if b not in known]
        if unknown:
            raise InvalidInput(
                _("{product} has no build {builds}: known builds are {known}.").format(
                    product=product, builds=", ".join(unknown), known=", ".join(sorted(known)) or _("none")
                )
            )
        return RestrictQuote(product=catalog["name"], builds=sorted(set(wanted)), blocked=sorted(known - set(wanted)))

    def quote_restrict(self, actor: str, product: str, builds: list[str]) -> RestrictQuote:
        """What restricting a product to `builds` would do, or its refusal; writes nothing."""
        db = self.store.read()
        return self._quote_restrict(db, self._actor(db, actor), product, builds)

    def restrict(self, actor: str, product: str, builds: list[str], expected: Any = None) -> dict[str, Any]:
        """Enable the restriction: only `builds` stay accessible. `expected`: the quote the admin
        confirmed, re-checked here (a build published meanwhile would be blocked unseen)."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            quote = self._quote_restrict(db, me, product, builds)
            keep_promise(expected, quote)
            rule = Restriction(organization=me["organization"], product=quote["product"], enabled=True, builds=quote["builds"])
            db.upsert(T_RESTRICTIONS, rule.to_doc(), organization=me["organization"], product=quote["product"])
            self._log(db, me["organization"], me["email"], "versions-restrict", quote["product"], f"only builds {', '.join(rule.builds)}")
            return rule.to_doc()

    def unrestrict(self, actor: str, product: str) -> dict[str, Any]:
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            self._org_product(db, me["organization"], product)
            rule = db.get(T_RESTRICTIONS, organization=me["organization"], product=product)
            if rule is None or not rule["enabled"]:
                raise RuleViolation(_("{product} is not restricted: all builds are already accessible.").format(product=product))
            db.update(T_RESTRICTIONS, {"enabled": False}, organization=me["organization"], product=product)
            self._log(db, me["organization"], me["email"], "versions-unrestrict", product, "all builds accessible")
            return {**rule, "enabled": False}

    # -- navigation ----------------------------------------------------------------
    def open_admin_page(self, actor: str, page: str) -> None:
        """`actor` asks the app for an admin page (a key, the palette, an action string): only
        admins may. Reads and writes nothing for an admin; a regular user's attempt is refused
        and logged by the authority guard, like any admin operation."""

    # -- my licenses -------------------------------------------------------------
    @staticmethod
    def _accessible_downloads(db: View, org: str) -> Any:
        """product -> the download links of its builds this organization allows, newest first (SPEC §5)."""
        catalog = {p["name"]: p for p in rows(db, T_PRODUCTS)}
        restrictions = {r["product"]: r for r in rows(db, T_RESTRICTIONS) if r["organization"] == org and r["enabled"]}
        cache: dict[str, list[dict[str, Any]]] = {}

        def downloads(product: str) -> list[dict[str, Any]]:
            if product not in cache:
                rule = restrictions.get(product)
                builds = [b for b in catalog.get(product, {}).get("builds", []) if rule is None or b["version"] in rule["builds"]]
                builds.sort(key=lambda b: b["released"], reverse=True)
                cache[product] = [{"version": b["version"], "released": b["released"], "urls": b["downloads"]} for b in builds]
            return [dict(d) for d in cache[product]]

        return downloads

    @any_member
    def my_licenses(self, actor: str) -> list[dict[str, Any]]:
        """The signed-in user's own licenses, with download links for accessible builds only."""
        db = self.store.read()
        me = self._actor(db, actor, admin=False)
        org = me["organization"]
        downloads = self._accessible_downloads(db, org)
        today_iso = self.today().isoformat()
        out = []
        for lic in db.find(T_LICENSES, assignee=me["email"], organization=org):
            status = license_status(lic, today_iso)
            out.append(
                {
                    "activation_id": lic["activation_id"],
                    "product": lic["product"],
                    "type": lic["type"],
                    "computers": lic["computers"],
                    "start": lic["start"],
                    "expires_on": lic["expires_on"],
                    "status": status,
                    # An expired license offers no downloads (nothing it could activate): `expired` says why.
                    "downloads": [] if status == "expired" else downloads(lic["product"]),
                }
            )
        out.sort(key=lambda r: (r["status"] == "expired", r["expires_on"]))
        return out

    @any_member
    def my_seats(self, actor: str) -> list[dict[str, Any]]:
        """The seats of seat pools the signed-in user holds (SPEC §7): the product, the teams they
        are in, since when they hold the seat, its state, and the download links of the builds
        their organization allows. A seat held in no team (unassigned) offers no downloads."""
        db = self.store.read()
        me = self._actor(db, actor, admin=False)
        org = me["organization"]
        downloads = self._accessible_downloads(db, org)
        pools = {p["id"]: p for p in rows(db, T_POOLS) if p["organization"] == org}
        out = []
        for holder in rows(db, T_HOLDERS):
            pool = pools.get(holder["pool"])
            if pool is None or holder["email"] != me["email"]:
                continue
            teams = sorted((t["name"] for t in rows(db, T_TEAMS) if t["pool"] == pool["id"] and me["email"] in t["members"]),
                           key=str.lower)
            state = "active" if teams else "unassigned"
            out.append({
                "pool": pool["id"],
                "product": pool["product"],
                "teams": teams,
                "since": holder["since"],
                "state": state,
                "downloads": downloads(pool["product"]) if teams else [],
            })
        out.sort(key=lambda r: r["product"].lower())
        return out

    # -- activity ----------------------------------------------------------------
    def activity(self, actor: str) -> list[dict[str, Any]]:
        db = self.store.read()
        me = self._actor(db, actor)
        entries = db.find(T_ACTIVITY, organization=me["organization"])
        entries.sort(key=lambda a: a["seq"], reverse=True)
        return entries

