"""The vendor's side (SPEC.md §1): its settings, its staff, and what only it does.

The vendor's team are users with role vendor, in no organization. They grant credit banks and
seat pools to organizations, top banks up, publish builds, and answer the requests the
organizations' admins send. Organization admins can no longer grant themselves anything: each
operation here is `@vendor_only` (portal/authority.py), and an organization member's attempt is
refused and written to their organization's activity log.

A request's life: requested -> granted (which bank or pool, how many) or declined (why). Closing
one is `_close_request`, the one place that does it, for the vendor's staff here and for the
vendor's feed (portal/feed.py), in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable
from urllib.parse import urlsplit

from elp_tui.i18n import _
from elp_tui.models import Bank, Build, Product, RequestState, Role, SeatPool, User, UserStatus, Vendor
from elp_tui.portal import inputs, mail
from elp_tui.portal.authority import vendor_only
from elp_tui.portal.base import (
    T_BANKS, T_LICENSES, T_ORGS, T_POOLS, T_PRODUCTS, T_REQUESTS, T_USERS, T_VENDORS, MAX_NAME, PortalBase, check_text,
    clean_name, normalise_email, positive_int, rows,
)
from elp_tui.portal.clock import clock_meta
from elp_tui.portal.dates import parse_date
from elp_tui.portal.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from elp_tui.portal.inputs import check_new_name, name_key
from elp_tui.store.db import StoreExists
from elp_tui.store.repository import Transaction, View

# Where a build may be downloaded for.
BUILD_SYSTEMS = ("windows", "macos", "linux")
MAX_URL = 2_000
MAX_REASON = 1_000


def no_vendor() -> str:
    return _(
        "No vendor is set up in this store, so a request has nowhere to go: the vendor's team must run "
        "'elp vendor setup --name NAME --email ADDRESS --staff EMAIL' first."
    )


def check_url(text: Any, what: str) -> str:
    """An http or https URL, one line, with a host."""
    url = check_text(str(text or "").strip(), what, limit=MAX_URL)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        raise InvalidInput(_("{what} must be an http:// or https:// address, not {value}.").format(what=what, value=inputs.shown(url)))
    return url


def as_date(value: dt.date | str, what: str) -> dt.date:
    return value if isinstance(value, dt.date) else parse_date(value, what)


class VendorMixin(PortalBase):
    # -- settings and staff ------------------------------------------------------
    def setup_vendor(self, name: str, email: str, staff: str, feed: str | None = None,
                     products: Iterable[str] = ()) -> dict[str, Any]:
        """The first set-up of the vendor: its name, the address requests go to, its first staff
        member, its feed. Needs no actor (like `init_organization`: whoever can write the store);
        once a vendor exists, its staff change it with `update_vendor`. Creates the store if needed."""
        name = clean_name(name, _("The vendor's name"))
        if not name:
            raise InvalidInput(_("A vendor name is needed (--name NAME)."))
        address = normalise_email(email)
        member = normalise_email(staff)
        feed = check_url(feed, _("The vendor feed")) if str(feed or "").strip() else None
        lines = self._product_names(products)
        if not self.store.exists():
            try:
                self.store.create(meta=clock_meta(self.clock))
            except StoreExists:
                pass  # another process created it meanwhile
        with self.store.transaction() as db:
            if db.all(T_VENDORS):
                raise RuleViolation(
                    _("The vendor is already set up: its staff change it with 'elp vendor setup ... --as STAFF_EMAIL'.")
                )
            self._new_staff(db, member)
            vendor = Vendor(id="vendor", name=name, email=address, feed=feed, products=lines)
            db.insert(T_VENDORS, vendor.to_doc())
            self._log(db, None, member, "vendor-setup", name, f"vendor {name} set up: requests to {address}, staff {member}")
            return vendor.to_doc()

    @vendor_only
    def update_vendor(self, actor: str, *, name: str | None = None, email: str | None = None,
                      feed: str | None = None, products: Iterable[str] | None = None) -> dict[str, Any]:
        """Change the vendor's settings (what is given); `feed=""` removes the feed."""
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = clean_name(name, _("The vendor's name"))
            if not changes["name"]:
                raise InvalidInput(_("A vendor name is needed (--name NAME)."))
        if email is not None:
            changes["email"] = normalise_email(email)
        if feed is not None:
            changes["feed"] = check_url(feed, _("The vendor feed")) if feed.strip() else None
        if products is not None:
            changes["products"] = self._product_names(products)
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            vendor = self._vendor_for(db)
            if vendor is None:
                raise NotFound(_("No vendor is set up yet: run 'elp vendor setup' without --as first."))
            if changes:
                db.update(T_VENDORS, changes, id=vendor["id"])
                said = ", ".join(f"{k}={v}" for k, v in changes.items())
                self._log(db, None, me["email"], "vendor-update", vendor["name"], f"vendor settings changed: {said}")
            return {**vendor, **changes}

    @vendor_only
    def add_vendor_staff(self, actor: str, email: str) -> dict[str, Any]:
        """Another member of the vendor's team (active at once: they belong to no organization)."""
        address = normalise_email(email)
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            user = self._new_staff(db, address)
            self._log(db, None, me["email"], "vendor-staff", address, "joined the vendor's team")
            return user

    @vendor_only
    def vendor_settings(self, actor: str) -> dict[str, Any]:
        """The vendor's settings and its staff."""
        db = self.store.read()
        self._vendor_actor(db, actor)
        vendor = self._vendor_for(db) or {}
        staff = sorted(u["email"] for u in db.find(T_USERS, role=Role.vendor.value))
        return {**vendor, "staff": staff}

    def vendor_contact(self, actor: str, product: str | None = None) -> dict[str, Any] | None:
        """Who a request for `product` goes to (name, email), or None when no vendor is set up."""
        db = self.store.read()
        self._actor(db, actor)
        vendor = self._vendor_for(db, product)
        return {"name": vendor["name"], "email": vendor["email"]} if vendor else None

    def _new_staff(self, db: Transaction, address: str) -> dict[str, Any]:
        existing = self._user(db, address)
        if existing is not None:
            if existing["role"] == Role.vendor.value:
                raise RuleViolation(_("{email} is already on the vendor's team.").format(email=address))
            raise RuleViolation(
                _("{email} is a member of an organization: the vendor's staff belong to none. Use another address.").format(
                    email=address)
            )
        user = User(email=address, organization=None, role=Role.vendor, status=UserStatus.active,
                    invited_on=self.today(), signed_in_on=self.today())
        db.insert(T_USERS, user.to_doc())
        return user.to_doc()

    @staticmethod
    def _product_names(products: Iterable[str] | str) -> list[str]:
        if isinstance(products, str):
            products = products.split(",")
        names = [clean_name(p, _("The product name")) for p in products or ()]
        return sorted({n for n in names if n})

    def _vendor_or_refuse(self, db: View, product: str) -> dict[str, Any]:
        """The vendor a request for `product` goes to; refused when none is set up."""
        vendor = self._vendor_for(db, product)
        if vendor is None:
            raise RuleViolation(no_vendor())
        return vendor

    # -- organizations -------------------------------------------------------------
    def _org(self, db: View, organization: str) -> dict[str, Any]:
        """An organization by its ID, else by its name (case and spaces aside)."""
        wanted = check_text(str(organization or "").strip(), _("The organization"), limit=MAX_NAME)
        if not wanted:
            raise InvalidInput(_("Say which organization: --org ID ('elp vendor orgs' lists them)."))
        org = db.get(T_ORGS, id=wanted) or db.get(T_ORGS, id=wanted.lower())
        if org is None:
            org = next((o for o in rows(db, T_ORGS) if name_key(o["name"]) == name_key(wanted)), None)
        if org is None:
            raise NotFound(_("No organization {org!r}: 'elp vendor orgs' lists them.").format(org=organization))
        return org

    @vendor_only
    def list_organizations(self, actor: str) -> list[dict[str, Any]]:
        """Every organization with its language, banks, seat pools and open requests."""
        db = self.store.read()
        self._vendor_actor(db, actor)
        out = []
        for org in sorted(rows(db, T_ORGS), key=lambda o: o["id"]):
            requests = db.find(T_REQUESTS, organization=org["id"])
            out.append({
                "id": org["id"],
                "name": org["name"],
                "language": org.get("language") or "en",
                "banks": len(db.find(T_BANKS, organization=org["id"])),
                "pools": len(db.find(T_POOLS, organization=org["id"])),
                "open_requests": sum(1 for r in requests if r.get("state", "requested") == RequestState.requested.value),
                "admins": sorted(u["email"] for u in self._active_admins(db, org["id"])),
            })
        return out

    @staticmethod
    def _active_admins(db: View, org_id: str) -> list[dict[str, Any]]:
        return [u for u in db.find(T_USERS, organization=org_id)
                if u["role"] == Role.admin.value and u["status"] == UserStatus.active.value]

    # -- granting ------------------------------------------------------------------
    @vendor_only
    def add_bank(
        self,
        actor: str,
        *,
        organization: str,
        product: str,
        credits: int,
        start: dt.date | str,
        expires_on: dt.date | str,
        product_version: str | None = None,
        portable: bool = False,
    ) -> dict[str, Any]:
        """A credit bank granted to `organization`."""
        product = clean_name(product, _("The product name"))
        if not product:
            raise InvalidInput(_("A product name is needed (e.g. --product 'Quillstone Animate')."))
        credits = positive_int(credits, _("Credits"))
        product_version = inputs.product_version(product_version) if str(product_version or "").strip() else None
        start_d = as_date(start, _("Start"))
        end_d = as_date(expires_on, _("Expiry"))
        if end_d <= start_d:
            raise InvalidInput(
                _("The bank must expire after it starts ({start} .. {end}): give a later --expires.").format(start=start_d, end=end_d)
            )
        if end_d <= self.today():
            raise InvalidInput(
                _("The bank would expire on {end}, which is not after today ({today}): its credits could never be "
                  "spent. Give a later --expires.").format(end=end_d, today=self.today()))
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            org = self._org(db, organization)
            check_new_name(product, (p["name"] for p in rows(db, T_PRODUCTS)), _("The product"), reuse=True)
            catalog = db.get(T_PRODUCTS, name=product)
            if catalog is not None and catalog.get("kind") == "seats":
                raise RuleViolation(_("{product} is sold as seats, not credits: use 'elp seats add'.").format(product=product))
            if catalog is None:
                db.insert(T_PRODUCTS, Product(name=product, kind="credits").to_doc())
            bank = Bank(
                id=self._next_id(db, T_BANKS, "BK-"), organization=org["id"], product=product,
                credits_requested=credits, credits_granted=credits, start=start_d, expires_on=end_d,
                product_version=product_version, portable=portable,
            )
            db.insert(T_BANKS, bank.to_doc())
            self._log(
                db, org["id"], me["email"], "bank-add", bank.id,
                f"{product}: {credits} credits granted by the vendor, {start_d} .. {end_d}", credits=credits,
            )
            return self._bank_row(bank.to_doc(), 0)  # type: ignore[attr-defined]

    @vendor_only
    def add_seats(self, actor: str, organization: str, product: str, seats: int) -> dict[str, Any]:
        """Seats granted to `organization`: a new pool for the product, or more seats in its pool."""
        product = clean_name(product, _("The product name"))
        if not product:
            raise InvalidInput(_("A product name is needed (--product NAME)."))
        seats = positive_int(seats, _("Seats"))
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            org = self._org(db, organization)
            check_new_name(product, (p["name"] for p in rows(db, T_PRODUCTS)), _("The product"), reuse=True)
            catalog = db.get(T_PRODUCTS, name=product)
            if catalog is not None and catalog.get("kind") != "seats":
                raise RuleViolation(_("{product} is sold as credits, not seats: use 'elp banks add'.").format(product=product))
            if catalog is None:
                db.insert(T_PRODUCTS, Product(name=product, kind="seats").to_doc())
            existing = [p for p in db.find(T_POOLS, organization=org["id"]) if p["product"] == product]
            if existing:
                pool = dict(existing[0])
                pool["seats"] += seats
                db.update(T_POOLS, {"seats": pool["seats"]}, id=pool["id"])
            else:
                pool = SeatPool(id=self._next_id(db, T_POOLS, "SP-"), organization=org["id"], product=product, seats=seats).to_doc()
                db.insert(T_POOLS, pool)
            self._log(db, org["id"], me["email"], "seats-add", pool["id"],
                      f"{product}: +{seats} seats granted by the vendor ({pool['seats']} in all)", seats=seats)
            return self._pool_row(db, pool)  # type: ignore[attr-defined]

    @vendor_only
    def top_up_bank(self, actor: str, bank_id: str, *, credits: int | None = None,
                    expires_on: dt.date | str | None = None) -> dict[str, Any]:
        """More credits in a bank (added to granted and requested), and/or a new expiry: never
        before the expiry of a license the bank already pays for, never on or before its start.
        Credits go only to a bank that is valid (after the change)."""
        if credits is None and expires_on is None:
            raise InvalidInput(_("Say what to top up: --credits N, --expires DATE, or both."))
        more = positive_int(credits, _("Credits")) if credits is not None else 0
        new_end = as_date(expires_on, _("Expiry")) if expires_on is not None else None
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            bank = self._any_bank(db, bank_id)
            start = dt.date.fromisoformat(bank["start"])
            end = new_end or dt.date.fromisoformat(bank["expires_on"])
            if new_end is not None:
                if new_end <= start:
                    raise InvalidInput(
                        _("Bank {bank} starts on {start}: it must expire after that, not on {end}.").format(
                            bank=bank["id"], start=start, end=new_end)
                    )
                covered = max((lic["expires_on"] for lic in db.find(T_LICENSES, bank=bank["id"])), default=None)
                if covered is not None and new_end.isoformat() < covered:
                    raise RuleViolation(
                        _("Bank {bank} pays for a license that runs until {covered}: its expiry cannot move before "
                          "that (asked: {end}).").format(bank=bank["id"], covered=covered, end=new_end)
                    )
            if more and self.today() >= end:
                raise RuleViolation(
                    _("Bank {bank} expires on {end}: credits added to it would be lost at once. Move its expiry "
                      "later (--expires) or grant a new bank.").format(bank=bank["id"], end=end)
                )
            changes: dict[str, Any] = {}
            said = []
            if more:
                changes["credits_granted"] = bank["credits_granted"] + more
                changes["credits_requested"] = bank["credits_requested"] + more
                said.append(f"+{more} credits ({changes['credits_granted']} granted)")
            if new_end is not None and new_end.isoformat() != bank["expires_on"]:
                changes["expires_on"] = new_end.isoformat()
                said.append(f"expiry {bank['expires_on']} -> {new_end}")
            if not changes:
                raise RuleViolation(_("Bank {bank} already expires on {end}: nothing to change.").format(bank=bank["id"], end=end))
            db.update(T_BANKS, changes, id=bank["id"])
            self._log(db, bank["organization"], me["email"], "bank-topup", bank["id"],
                      f"{bank['product']}: {', '.join(said)}", credits=more)
            fresh = {**bank, **changes}
            return self._bank_row(fresh, self._used_by_bank(db).get(bank["id"], 0))  # type: ignore[attr-defined]

    @vendor_only
    def add_build(self, actor: str, product: str, version: str, released: dt.date | str,
                  downloads: dict[str, str] | None = None) -> dict[str, Any]:
        """A new build of a product of the catalog, with its download links (windows, macos, linux)."""
        version = inputs.product_version(version, _("The build version"))
        released_d = as_date(released, _("Release date"))
        links = {}
        for system, url in (downloads or {}).items():
            if system not in BUILD_SYSTEMS:
                raise InvalidInput(_("Downloads are for windows, macos or linux, not {system}.").format(system=inputs.shown(system)))
            if url:
                links[system] = check_url(url, _("The {system} download").format(system=system))
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            wanted = check_text(str(product or "").strip(), _("The product name"), limit=MAX_NAME)
            catalog = db.get(T_PRODUCTS, name=wanted) or next(
                (p for p in rows(db, T_PRODUCTS) if name_key(p["name"]) == name_key(wanted)), None)
            if catalog is None:
                raise NotFound(
                    _("No product {product!r} in the catalog: it appears with its first bank or seat pool "
                      "('elp banks add', 'elp seats add').").format(product=product)
                )
            builds = list(catalog.get("builds") or [])
            if any(b["version"] == version for b in builds):
                raise RuleViolation(_("{product} already has a build {version}.").format(product=catalog["name"], version=version))
            build = Build(version=version, released=released_d, downloads=links).to_doc()
            db.update(T_PRODUCTS, {"builds": builds + [build]}, name=catalog["name"])
            self._log(db, None, me["email"], "build-add", catalog["name"], f"build {version} released {released_d}")
            return {"product": catalog["name"], **build}

    def _any_bank(self, db: View, bank_id: str) -> dict[str, Any]:
        wanted = check_text((bank_id or "").strip(), _("The bank ID"), limit=MAX_NAME).upper()
        bank = db.get(T_BANKS, id=wanted)
        if bank is None:
            raise NotFound(_("No bank {bank!r}: 'elp banks list --as ADMIN' shows an organization's banks.").format(bank=bank_id))
        return bank

    # -- requests --------------------------------------------------------------------
    def _request_row(self, db: View, request: dict[str, Any]) -> dict[str, Any]:
        return {
            **request,
            "state": request.get("state") or RequestState.requested.value,
            "organization_name": self._organization_name_in(db, request["organization"]),
        }

    def list_requests(self, actor: str) -> list[dict[str, Any]]:
        """The organization's requests to the vendor, every state, newest first."""
        db = self.store.read()
        me = self._actor(db, actor)
        found = db.find(T_REQUESTS, organization=me["organization"])
        found.sort(key=lambda r: r["id"], reverse=True)
        return [self._request_row(db, r) for r in found]

    @vendor_only
    def vendor_requests(self, actor: str, open_only: bool = True) -> list[dict[str, Any]]:
        """Requests of every organization (only the open ones unless `open_only` is False), newest first."""
        db = self.store.read()
        self._vendor_actor(db, actor)
        found = [r for r in rows(db, T_REQUESTS)
                 if not open_only or r.get("state", "requested") == RequestState.requested.value]
        found.sort(key=lambda r: r["id"], reverse=True)
        return [self._request_row(db, r) for r in found]

    @vendor_only
    def vendor_request(self, actor: str, request_id: Any) -> dict[str, Any]:
        """One request of any organization, by its number (#12 or 12)."""
        db = self.store.read()
        self._vendor_actor(db, actor)
        return self._request_row(db, self._request(db, request_id))

    def _request(self, db: View, request_id: Any) -> dict[str, Any]:
        number = positive_int(str(request_id).strip().lstrip("#"), _("The request number"))
        request = db.get(T_REQUESTS, id=number)
        if request is None:
            raise NotFound(_("No request #{id}: 'elp vendor requests' lists the open ones.").format(id=number))
        return request

    @vendor_only
    def grant_request(self, actor: str, request_id: Any, amount: int | None = None, target: str | None = None) -> dict[str, Any]:
        """Grant a request: its amount (or `amount`) to its bank or pool (or `target`, another
        bank or pool of the same organization and product), in the transaction that closes it."""
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            request = self._request(db, request_id)
            return self._close_request(db, request, "granted", by=me["email"], amount=amount, target=target)

    @vendor_only
    def quote_grant(self, actor: str, request_id: Any, amount: int | None = None, target: str | None = None) -> dict[str, Any]:
        """What granting a request would do, before confirming: the bank or pool it goes to and its
        figure before and after (refused as the grant itself would be, nothing written)."""
        db = self.store.read()
        self._vendor_actor(db, actor)
        request = self._request(db, request_id)
        if request.get("state", "requested") != "requested":
            raise RuleViolation(_("Request #{id} was already {state} on {date} by {by}: it cannot be answered twice.").format(
                id=request["id"], state=request["state"], date=request.get("answered_on"), by=request.get("answered_by")))
        moved = positive_int(request["amount"] if amount is None else amount, _("The amount granted"))
        where = (target or "").strip() or request["target"]
        credits = request["kind"] == "credits"
        goal = self._grant_target_bank(db, request, where) if credits else self._grant_target_pool(db, request, where)
        before = goal["credits_granted"] if credits else goal["seats"]
        return {
            "request": request["id"], "organization": request["organization"],
            "organization_name": self._organization_name_in(db, request["organization"]), "product": request["product"],
            "kind": request["kind"], "asked": request["amount"], "amount": moved, "target": goal["id"],
            "before": before, "after": before + moved, "expires_on": goal.get("expires_on"),
        }

    @vendor_only
    def decline_request(self, actor: str, request_id: Any, reason: str) -> dict[str, Any]:
        """Decline a request, saying why (the organization's admins are told)."""
        why = check_text(str(reason or "").strip(), _("The reason"), limit=MAX_REASON)
        if not why:
            raise InvalidInput(_("Say why the request is declined (--reason TEXT): it goes in the email to the organization's admins."))
        with self.store.transaction() as db:
            me = self._vendor_actor(db, actor)
            request = self._request(db, request_id)
            return self._close_request(db, request, "declined", by=me["email"], reason=why)

    def _close_request(self, db: Transaction, request: dict[str, Any], state: str, *, by: str,
                       amount: int | None = None, target: str | None = None, reason: str | None = None,
                       apply: bool = True, log: bool = True) -> dict[str, Any]:
        """Close `request` as granted or declined, in the caller's transaction: the request's
        answer, the figures it moves, one activity entry in its organization, the answer queued to
        each active admin of the organization. Returns the closed request.

        granted: `amount` (default: what was asked) to `target` (default: the bank or pool asked
        for; another one of the same organization and product may be named; a bank must not have
        expired). With `apply`, the bank's granted credits (or the pool's seats) rise by `amount`,
        and the request's asked credits on the bank's requested figure are replaced by the granted
        ones. The feed passes apply=False: its banks already carry the new totals. Without `log`,
        no activity entry of its own (the feed's refresh names the requests it closed in its one entry).
        declined: with `apply`, the asked credits leave the bank's requested figure.
        Refused (nothing written): a request already answered, a target of another organization or
        product, an expired bank, an unknown target."""
        if state not in (RequestState.granted.value, RequestState.declined.value):
            raise InvalidInput(_("A request is granted or declined, not {state}.").format(state=inputs.shown(state)))
        current = request.get("state") or RequestState.requested.value
        if current != RequestState.requested.value:
            raise RuleViolation(
                _("Request #{id} was already {state} on {date} by {by}: it cannot be answered twice.").format(
                    id=request["id"], state=current, date=request.get("answered_on"), by=request.get("answered_by"))
            )
        org_id = request["organization"]
        credits_kind = request["kind"] == "credits"
        moved = 0
        changes: dict[str, Any] = {"answered_on": self.today().isoformat(), "answered_by": by, "state": state}
        if state == RequestState.granted.value:
            moved = positive_int(request["amount"] if amount is None else amount, _("The amount granted"))
            where = (target or "").strip() or request["target"]
            if credits_kind:
                goal = self._grant_target_bank(db, request, where)
            else:
                goal = self._grant_target_pool(db, request, where)
            changes.update(granted=moved, granted_target=goal["id"], reason=reason)
            if apply and credits_kind:
                self._move_requested(db, request["target"], -request["amount"])
                fresh = db.get(T_BANKS, id=goal["id"])
                assert fresh is not None
                db.update(T_BANKS, {"credits_granted": fresh["credits_granted"] + moved,
                                    "credits_requested": fresh["credits_requested"] + moved}, id=goal["id"])
            elif apply:
                db.update(T_POOLS, {"seats": goal["seats"] + moved}, id=goal["id"])
            unit = "credits" if credits_kind else "seats"
            details = f"request #{request['id']} granted: {moved} {unit} of {request['product']} to {goal['id']}"
            subject = goal["id"]
        else:
            changes.update(granted=None, granted_target=None, reason=reason)
            if apply and credits_kind:
                self._move_requested(db, request["target"], -request["amount"])
            unit = "credits" if credits_kind else "seats"
            details = f"request #{request['id']} for {request['amount']} {unit} declined: {reason or ''}".rstrip(": ")
            subject = request["target"]
        db.update(T_REQUESTS, changes, id=request["id"])
        closed = {**request, **changes}
        shown_moved = moved if apply else 0
        if log:
            self._log(db, org_id, by, f"request-{state}", subject, details,
                      credits=shown_moved if credits_kind else 0, seats=0 if credits_kind else shown_moved)
        lang = self._org_language(db, org_id)
        org_name = self._organization_name_in(db, org_id)
        for admin in sorted(self._active_admins(db, org_id), key=lambda u: u["email"]):
            self._queue(db, mail.request_answer(lang, org_id=org_id, org=org_name, to=admin["email"], request=closed))
        return closed

    def _move_requested(self, db: Transaction, bank_id: str, delta: int) -> None:
        bank = db.get(T_BANKS, id=bank_id)
        if bank is not None:
            db.update(T_BANKS, {"credits_requested": max(bank["credits_granted"], bank["credits_requested"] + delta)},
                      id=bank_id)

    def _grant_target_bank(self, db: View, request: dict[str, Any], where: str) -> dict[str, Any]:
        wanted = check_text(where, _("The bank ID"), limit=MAX_NAME).upper()
        bank = db.get(T_BANKS, id=wanted)
        if bank is None:
            raise NotFound(_("No bank {bank!r} to grant request #{id} to.").format(bank=where, id=request["id"]))
        if bank["organization"] != request["organization"]:
            raise RuleViolation(
                _("Bank {bank} belongs to another organization: request #{id} came from {org}.").format(
                    bank=bank["id"], id=request["id"], org=request["organization"])
            )
        if bank["product"] != request["product"]:
            raise RuleViolation(
                _("Bank {bank} is for {product}: request #{id} asks for {asked}.").format(
                    bank=bank["id"], product=bank["product"], id=request["id"], asked=request["product"])
            )
        if self.today().isoformat() >= bank["expires_on"]:
            raise RuleViolation(
                _("Bank {bank} expired on {date}: credits granted to it would be lost at once. Grant them to a "
                  "valid bank (--to BANK_ID), top this one up with a later expiry first, or grant a new bank.").format(
                    bank=bank["id"], date=bank["expires_on"])
            )
        return bank

    def _grant_target_pool(self, db: View, request: dict[str, Any], where: str) -> dict[str, Any]:
        wanted = check_text(where, _("The seat pool"), limit=MAX_NAME)
        pool = db.get(T_POOLS, id=wanted.upper())
        if pool is None:
            raise NotFound(_("No seat pool {pool!r} to grant request #{id} to.").format(pool=where, id=request["id"]))
        if pool["organization"] != request["organization"]:
            raise RuleViolation(
                _("Seat pool {pool} belongs to another organization: request #{id} came from {org}.").format(
                    pool=pool["id"], id=request["id"], org=request["organization"])
            )
        if pool["product"] != request["product"]:
            raise RuleViolation(
                _("Seat pool {pool} is for {product}: request #{id} asks for {asked}.").format(
                    pool=pool["id"], product=pool["product"], id=request["id"], asked=request["product"])
            )
        return pool


__all__ = ["VendorMixin", "no_vendor", "BUILD_SYSTEMS", "PermissionDenied"]
