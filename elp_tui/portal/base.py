"""Shared plumbing of the service layer: acting user, lookups, activity log, outbox, IDs."""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets
from typing import Any, Callable

from elp_tui.i18n import _
from elp_tui.models import Activity, Email, Role, User, UserStatus
from elp_tui.portal.clock import Clock, system_clock
from elp_tui.portal.errors import AdminRequired, InvalidInput, NotFound, PermissionDenied, SignInRefused, VendorRequired
from elp_tui.store import Store
from elp_tui.store.repository import Transaction, View

def public_user(user: dict[str, Any]) -> dict[str, Any]:
    """A user document without its secrets (the enrolment code's hash): what sign-in hands out."""
    return {k: v for k, v in user.items() if not k.startswith("enrol_")}


def not_a_user(email: str) -> str:
    return _("{email} is not an ELP user: ask your organization admin for an invitation.").format(email=email)


def inactive_user(email: str) -> str:
    return _("{email} is inactive: ask an admin of your organization to reactivate you.").format(email=email)


def admins_only(email: str) -> str:
    return _(
        "{email} is a regular user: only organization admins can do this. "
        "Ask an admin, or use 'elp licenses mine' for your own licenses."
    ).format(email=email)


def vendor_staff_here(email: str) -> str:
    return _(
        "{email} is on the vendor's team, not a member of an organization: this is for an organization's "
        "members. The vendor's commands are 'elp vendor ...'."
    ).format(email=email)


def vendors_only(email: str) -> str:
    return _(
        "{email} is not on the vendor's team: only the vendor grants credits and seats, tops up banks, "
        "publishes builds and answers requests. Ask the vendor with 'elp banks request' or 'elp seats request'."
    ).format(email=email)


# Readable aloud: no 0/O, 1/I/L, no U/V confusion.
ACTIVATION_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
# The activity action of a refusal of authority; its target is the refused operation.
REFUSED = "refused"

# The table names live with the store's schema; the portal names them the same way.
from elp_tui.store.schema import (  # noqa: E402
    T_ACTIVITY, T_BANKS, T_HOLDERS, T_LEDGER, T_LICENSES, T_ORGS, T_OUTBOX, T_POOLS, T_PRODUCTS, T_REQUESTS,
    T_RESTRICTIONS, T_TEAMS, T_USERS, T_VENDORS, T_KEYS,
)
from elp_tui.portal import mail  # noqa: E402
from elp_tui.portal.mail import Message  # noqa: E402


def mail_domain(address: str) -> str:
    """The domain of a Message-ID: the recipient's (ASCII letters, digits, dots and hyphens only)."""
    domain = address.rpartition("@")[2]
    return domain if domain and re.fullmatch(r"[A-Za-z0-9.-]+", domain) else "elp.invalid"


# The checks every typed value goes through live in inputs.py; they are re-exported here, where
# the portal's modules (and the CLI and forms) have always found them.
from elp_tui.portal.inputs import MAX_COUNT, MAX_NAME, check_text, clean_name, normalise_email, positive_int  # noqa: E402,F401


def rows(db: View, table: str) -> list[dict[str, Any]]:
    """All documents of a table (copies the caller may keep)."""
    return db.all(table)


class PortalBase:
    def __init__(
        self,
        store: Store,
        clock: Clock = system_clock,
        rng: random.Random | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ):
        self.store = store
        self.clock = clock
        self.rng = rng or secrets.SystemRandom()
        self._now = now
        # The SSH key fingerprint this portal acts through (set by `ssh_sign_in` / `enrol`): every
        # activity entry it writes records it. None: used locally, by whoever can write the store.
        self.via_key: str | None = None

    # -- the version signal ------------------------------------------------------
    def version(self) -> object:
        """A value that changes with every commit, by anyone (compare it with an earlier one to
        know whether what is on screen is stale); cheap enough to ask twice a second."""
        return self.store.marker()

    # -- time --------------------------------------------------------------------
    def today(self) -> dt.date:
        return self.clock()

    def _stamp(self) -> str:
        if self._now is not None:
            return self._now().isoformat(timespec="seconds")
        now = dt.datetime.now()
        today = self.today()
        return dt.datetime.combine(today, now.time()).isoformat(timespec="seconds")

    # -- identity ----------------------------------------------------------------
    def _user(self, db: View, email: str) -> dict[str, Any] | None:
        try:
            address = normalise_email(email)
        except InvalidInput:
            address = (email or "").strip().lower()
        return db.get(T_USERS, email=address)

    def _actor(self, db: View, email: str | None, *, admin: bool = True) -> dict[str, Any]:
        if not email:
            raise PermissionDenied(_("Say who you are: pass --as EMAIL or set ELP_USER."))
        user = self._user(db, email)
        if user is None:
            raise PermissionDenied(not_a_user(email))
        if user["status"] == UserStatus.inactive.value:
            raise PermissionDenied(inactive_user(user["email"]))
        if user["status"] == UserStatus.invited.value:
            raise PermissionDenied(
                _("{email} has not signed in yet: sign in first (run any command --as them).").format(email=user["email"])
            )
        if user["role"] == Role.vendor.value:
            raise PermissionDenied(vendor_staff_here(user["email"]))
        if not user.get("organization"):
            raise PermissionDenied(_("{email} belongs to no organization.").format(email=user["email"]))
        if admin and user["role"] != Role.admin.value:
            # Marked for the activity log: the Portal's guard writes it once (portal/authority.py).
            raise self._admin_required_refusal(user, None)
        return dict(user)

    def _vendor_actor(self, db: View, email: str | None) -> dict[str, Any]:
        """The vendor's staff member acting, or the refusal (an organization member's is logged)."""
        if not email:
            raise PermissionDenied(_("Say who you are: pass --as EMAIL or set ELP_USER."))
        user = self._user(db, email)
        if user is None:
            raise PermissionDenied(not_a_user(email))
        if user["status"] == UserStatus.inactive.value:
            raise PermissionDenied(inactive_user(user["email"]))
        if user["role"] != Role.vendor.value or user.get("organization"):
            raise self._vendor_required_refusal(user, None)
        return dict(user)

    def _vendor_required_refusal(self, user: dict[str, Any], operation: str | None) -> PermissionDenied:
        if not user.get("organization"):
            return PermissionDenied(vendors_only(user["email"]))
        return VendorRequired(vendors_only(user["email"]), organization=user["organization"], actor=user["email"],
                              role=user["role"], operation=operation)

    def _log_refusal(self, exc: AdminRequired, operation: str) -> None:
        """A refusal of authority, in its own transaction: the refused one wrote nothing.
        (Refusals of unknown emails are never logged: they belong to no organization's log.)"""
        with self.store.transaction() as db:
            self._log(db, exc.organization, exc.actor, REFUSED, operation, exc.details)

    def _admin_required_refusal(self, user: dict[str, Any], operation: str | None) -> PermissionDenied:
        if not user.get("organization"):  # no organization, so no log to write it to
            return PermissionDenied(admins_only(user["email"]))
        return AdminRequired(admins_only(user["email"]), organization=user["organization"], actor=user["email"],
                             operation=operation)

    def _may_sign_in(self, db: View, address: str, admin_required: bool, operation: str | None,
                     vendor_required: bool = False, vendor_allowed: bool = False,
                     team_admin_allowed: bool = False) -> dict[str, Any]:
        """The user who signs in, or the refusal: unknown, inactive, a regular user for an admin
        task (unless `team_admin_allowed` and they are a Team Admin: the operation then checks
        which teams), an organization member for a vendor task, the vendor's staff for an
        organization's task."""
        user = self._user(db, address)
        if user is None:
            raise SignInRefused(not_a_user(address))
        if user["status"] == UserStatus.inactive.value:
            raise SignInRefused(inactive_user(address))
        if vendor_required:
            if user["role"] != Role.vendor.value or user.get("organization"):
                raise self._vendor_required_refusal(user, operation)
            return user
        if admin_required and user["role"] == Role.vendor.value:
            if vendor_allowed:
                return user
            raise SignInRefused(vendor_staff_here(address))
        if admin_required and user["role"] != Role.admin.value:
            if team_admin_allowed and self._teams_administered(db, user):  # type: ignore[attr-defined]
                return user
            raise self._admin_required_refusal(user, operation)
        return user

    def sign_in(self, email: str, *, admin_required: bool = False, operation: str | None = None,
                vendor_required: bool = False, vendor_allowed: bool = False,
                team_admin_allowed: bool = False) -> dict[str, Any]:
        """First sign-in activates an invited user; inactive and unknown users are refused.

        `admin_required`: the user signs in to do something only admins may do (`operation`, e.g.
        the CLI command); a regular user is then refused before anything else is written, even on
        a first sign-in (they stay invited): the refusal's activity entry is the only write.
        `vendor_required`: the same for an operation of the vendor's team (anyone else refused);
        `vendor_allowed`: an admin task the vendor's staff may run too (their side of it);
        `team_admin_allowed`: an admin task a Team Admin may run on their own teams (seed 002)."""
        try:
            address = normalise_email(email)
        except InvalidInput as exc:
            raise SignInRefused(str(exc)) from None
        user = self._may_sign_in(self.store.read(), address, admin_required, operation, vendor_required, vendor_allowed,
                                 team_admin_allowed)
        if user["status"] == UserStatus.active.value and user.get("signed_in_on"):
            return public_user(user)
        with self.store.transaction() as db:
            user = self._may_sign_in(db, address, admin_required, operation, vendor_required,  # changed meanwhile?
                                     vendor_allowed, team_admin_allowed)
            if user["status"] == UserStatus.invited.value:
                db.update(T_USERS, {"status": UserStatus.active.value, "signed_in_on": self.today().isoformat()},
                          email=address)
                self._log(db, user.get("organization"), address, "sign-in", address, "first sign-in: invited -> active")
            elif user["status"] == UserStatus.active.value and not user.get("signed_in_on"):
                # Marked active without ever signing in (older stores): this is the first sign-in.
                db.update(T_USERS, {"signed_in_on": self.today().isoformat()}, email=address)
                self._log(db, user.get("organization"), address, "sign-in", address, "first sign-in recorded")
            user = self._user(db, address)
        return public_user(user)  # type: ignore[arg-type]

    def organization_name(self, org_id: str | None) -> str:
        return self._organization_name_in(self.store.read(), org_id) if org_id else ""

    def _organization_name_in(self, db: View, org_id: str) -> str:
        org = db.get(T_ORGS, id=org_id)
        return org["name"] if org else org_id

    def _invite_in(self, db: Transaction, me: dict[str, Any], address: str, why: str | None = None,
                   role: Role = Role.regular, *, reason: str | None = None, about: str | None = None) -> dict[str, Any]:
        """Invite a new member: the user document, the invitation email (with its enrolment code),
        the log entry. `why`: the other action it is part of (the confirmation said so), if any;
        `reason` / `about`: the same for the email, in the organization's language (licenses /
        license / team)."""
        user = User(email=address, organization=me["organization"], role=role, status=UserStatus.invited, invited_on=self.today())
        db.insert(T_USERS, user.to_doc())
        self._send_invitation(db, me, address, role, why=why, reason=reason, about=about)
        self._log(db, me["organization"], me["email"], "user-invite", address,
                  f"invited as {role.value} ({why})" if why else f"invited as {role.value}")
        return dict(self._user(db, address) or user.to_doc())

    def _send_invitation(self, db: Transaction, me: dict[str, Any], address: str, role: Role, *, why: str | None = None,
                         reason: str | None = None, about: str | None = None) -> None:
        """The invitation email. Its one-time enrolment code is made as it is sent (`_claim` in
        outbox.py): until then the queued body holds a mask, and the store only ever the code's hash."""
        from elp_tui.config import ssh_login

        org = self._organization_name_in(db, me["organization"])
        self._queue(db, mail.invitation(
            self._org_language(db, me["organization"]), org_id=me["organization"], org=org, inviter=me["email"],
            to=address, role=role.value, why=why, reason=reason, about=about, ssh=ssh_login(),
            code=mail.CODE_MASK, code_expires=mail.EXPIRY_MASK,
        ))

    def _allowed_builds(self, db: View, org: str, product: str) -> list[dict[str, Any]]:
        """The builds of `product` the organization's members may download, newest first."""
        catalog = db.get(T_PRODUCTS, name=product) or {}
        rule = db.get(T_RESTRICTIONS, organization=org, product=product)
        builds = [b for b in catalog.get("builds", []) if not (rule and rule.get("enabled")) or b["version"] in rule["builds"]]
        return sorted(builds, key=lambda b: b["released"], reverse=True)

    def _queue_license_notice(self, db: Transaction, me: dict[str, Any], to: str, event: str,
                              licenses: list[dict[str, Any]]) -> None:
        """The license email to `to`: what they got (or lost), with the download links."""
        org_id = me["organization"]
        self._queue(db, mail.license_notice(
            self._org_language(db, org_id), org_id=org_id, org=self._organization_name_in(db, org_id), to=to,
            event=event, licenses=licenses, builds=self._allowed_builds(db, org_id, licenses[0]["product"]),
            by=me["email"],
        ))

    # -- writes that go with every change ------------------------------------------
    def _log(
        self,
        db: Transaction,
        org: str | None,
        actor: str,
        action: str,
        target: str = "",
        details: str = "",
        *,
        credits: int = 0,
        seats: int = 0,
    ) -> None:
        entry = Activity(
            seq=db.next_seq(T_ACTIVITY),
            organization=org,
            on=self.today(),
            at=self._stamp(),
            actor=actor,
            action=action,
            target=target,
            details=details,
            credits=credits,
            seats=seats,
            via=self.via_key,
        )
        db.insert(T_ACTIVITY, entry.to_doc())

    def _queue(self, db: Transaction, message: Message, *, check_key: bool = True) -> dict[str, Any] | None:
        """Queue `message` in the outbox, in the caller's transaction (so it is sent if and only
        if the change that causes it is committed). A message with a `key` is queued once: None
        if one with that key is already in the outbox (a reminder sent before)."""
        if check_key and message.key is not None and db.exists(T_OUTBOX, key=message.key):
            return None
        number = db.next_seq(T_OUTBOX)
        mail = Email(
            id=number, to=message.to, subject=message.subject, body=message.body, created_on=self.today(),
            kind=message.kind, organization=message.organization, language=message.language,  # type: ignore[arg-type]
            key=message.key, enrol=message.enrol, message_id=f"<elp.{number}.{secrets.token_hex(8)}@{mail_domain(message.to)}>",
        )
        doc = mail.to_doc()
        db.insert(T_OUTBOX, doc)
        return doc

    # -- the organization's language, the vendor's settings ----------------------
    @staticmethod
    def _org_language(db: View, org_id: str | None) -> str:
        org = db.get(T_ORGS, id=org_id) if org_id else None
        return (org or {}).get("language") or "en"

    @staticmethod
    def _vendor_for(db: View, product: str | None = None) -> dict[str, Any] | None:
        """The vendor document that answers for `product`: the one naming it, else the one naming
        no product (the default line); None when the store has no vendor set up."""
        vendors = db.all(T_VENDORS)
        for vendor in vendors:
            if product and product in (vendor.get("products") or []):
                return vendor
        for vendor in vendors:
            if not vendor.get("products"):
                return vendor
        return vendors[0] if vendors else None

    # -- identifiers -------------------------------------------------------------
    def _activation_id(self, db: View, taken: set[str]) -> str:
        """A new activation ID: in no license of the store (an indexed lookup) nor in `taken`."""
        while True:
            raw = "".join(self.rng.choice(ACTIVATION_ALPHABET) for _ in range(16))
            aid = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
            if aid not in taken and not db.exists(T_LICENSES, activation_id=aid):
                taken.add(aid)
                return aid

    @staticmethod
    def _next_id(db: View, table: str, prefix: str, field: str = "id") -> str:
        highest = 0
        for doc in rows(db, table):
            match = re.fullmatch(rf"{re.escape(prefix)}(\d+)", str(doc.get(field, "")))
            if match:
                highest = max(highest, int(match.group(1)))
        return f"{prefix}{highest + 1:04d}"
