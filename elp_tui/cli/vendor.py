"""elp vendor …, and elp banks requests: the vendor's side of the portal from the command line.

The same portal operations as the screens: granting banks and seat pools, top-ups, builds, and
answering the requests organizations send. Run as a member of the vendor's team (--as STAFF).
"""

from __future__ import annotations

from typing import Any

from elp_tui.cli.console import Column, Refused, plain
from elp_tui.cli.credits import BANK_KEYS
from elp_tui.cli.session import Session
from elp_tui.i18n import _
from elp_tui.models import Role
from elp_tui.portal.base import normalise_email

ORG_COLUMNS = (
    Column("id", "ORGANIZATION"),
    Column("name", "NAME", flex=True),
    Column("language", "LANG"),
    Column("banks", "BANKS", right=True),
    Column("pools", "POOLS", right=True),
    Column("open_requests", "OPEN REQUESTS", right=True),
)
REQUEST_KEYS = (
    "id", "organization", "organization_name", "kind", "product", "target", "amount", "actor", "on", "state",
    "answered_on", "answered_by", "granted_target", "granted", "reason",
)


def _answer(row: dict[str, Any]) -> str:
    if row["state"] == "granted":
        return f"{row['granted']} -> {row['granted_target']}"
    if row["state"] == "declined":
        return row.get("reason") or ""
    return ""


REQUEST_COLUMNS = (
    Column("id", "#", right=True),
    Column("organization", "ORGANIZATION", drop=3),
    Column("product", "PRODUCT", flex=True),
    Column("target", "FOR"),
    Column("amount", "ASKED", right=True),
    Column("kind", "OF", drop=4),
    Column("on", "ON", drop=5),
    Column("actor", "BY", flex=True, drop=2),
    Column("state", "STATE"),
    Column("answer", "ANSWER", flex=True, drop=1),
)


def show_requests(s: Session, requests: list[dict[str, Any]], empty: str) -> None:
    if s.args.json:
        s.console.json([{k: r.get(k) for k in REQUEST_KEYS} for r in requests])
        return
    s.console.table(REQUEST_COLUMNS, [{**r, "answer": _answer(r)} for r in requests], empty=empty)


# -- settings and staff -------------------------------------------------------------
def setup(s: Session) -> None:
    """The first set-up needs no one signed in; once a vendor exists, its staff change it."""
    a = s.args
    products = a.products.split(",") if a.products is not None else None
    # The first set-up is the store's host's (through a server, the vendor's staff sign in below).
    if s.server is None and (not s.portal.store.exists() or not s.portal.store.read().all("vendors")):
        missing = [flag for flag, value in (("--name", a.name), ("--email", a.email), ("--staff", a.staff)) if not value]
        if missing:
            raise Refused(_("The vendor's first set-up needs {flags}: its name, the address requests go to, and its "
                            "first staff member.").format(flags=", ".join(missing)))
        vendor = s.portal.setup_vendor(a.name, a.email, a.staff, feed=a.feed, products=products or ())
        staff = normalise_email(a.staff)
        s.console.line(
            _("Vendor {name} set up: requests go to {email}; staff: {staff}.").format(
                name=plain(vendor["name"]), email=plain(vendor["email"]), staff=plain(staff))
        )
        s.console.line(_("Grant an organization a bank with:"))
        s.console.line(f"  elp --store {plain(s.store_path)} --as {plain(staff)} "
                       "banks add --org ORG_ID --product NAME --credits N --start DATE --expires DATE")
        return
    s.sign_in(vendor_required=True)
    if a.staff is not None and normalise_email(a.staff) not in s.portal.vendor_settings(s.actor)["staff"]:
        # A typo must not make a new account with the vendor's powers: new staff only by name.
        raise Refused(_("{email} is not on the vendor's team: add them with 'elp vendor staff {email}'. "
                        "Nothing was changed.").format(email=plain(normalise_email(a.staff))))
    if all(value is None for value in (a.name, a.email, a.feed, products)):
        raise Refused(_("Nothing to change: give --name, --email, --feed (\"\" removes it) or --products."))
    vendor = s.portal.update_vendor(s.actor, name=a.name, email=a.email, feed=a.feed, products=products)
    s.console.line(
        _("Vendor settings saved: {name}, requests to {email}{feed}.").format(
            name=plain(vendor["name"]), email=plain(vendor["email"]),
            feed=_(", feed {url}").format(url=plain(vendor["feed"])) if vendor.get("feed") else "")
    )


def staff(s: Session) -> None:
    user = s.portal.add_vendor_staff(s.actor, s.args.email)
    s.console.line(_("{email} joined the vendor's team.").format(email=plain(user["email"])))


def orgs(s: Session) -> None:
    rows = s.portal.list_organizations(s.actor)
    if s.args.json:
        s.console.json(rows)
        return
    s.console.table(ORG_COLUMNS, rows, empty=_("No organizations yet: an organization starts with 'elp init'."))


# -- requests -------------------------------------------------------------------------
def requests(s: Session) -> None:
    rows = s.portal.vendor_requests(s.actor, open_only=not s.args.all)
    show_requests(s, rows, _("No open requests.") if not s.args.all else _("No requests yet."))


def banks_requests(s: Session) -> None:
    """An organization admin: their organization's requests, every state. The vendor: the open
    requests of every organization."""
    if s.user and s.user.get("role") == Role.vendor.value:
        rows = s.portal.vendor_requests(s.actor, open_only=True)
        show_requests(s, rows, _("No open requests."))
        return
    rows = s.portal.list_requests(s.actor)
    show_requests(s, rows, _("No requests yet: ask the vendor with 'elp banks request' or 'elp seats request'."))


def grant(s: Session) -> None:
    a = s.args
    row = s.portal.vendor_request(s.actor, a.request_id)
    unit = _("credit(s)") if row["kind"] == "credits" else _("seat(s)")
    if row["state"] == "requested":  # an answered one is refused by the portal, with when and by whom
        quote = s.portal.quote_grant(s.actor, row["id"], amount=a.amount, target=a.to)
        s.console.line(
            _("Grant request #{id} of {org}: {amount} {unit} of {product} to {target} (asked: {asked}).").format(
                id=row["id"], org=plain(quote["organization_name"]), amount=quote["amount"], unit=unit,
                product=plain(quote["product"]), target=plain(quote["target"]), asked=quote["asked"])
        )
        s.console.line(_("{target}: {before} → {after} {unit} granted.").format(
            target=plain(quote["target"]), before=quote["before"], after=quote["after"], unit=unit))
        s.console.confirm(a.yes)
    closed = s.portal.grant_request(s.actor, row["id"], amount=a.amount, target=a.to)
    s.console.line(
        _("Request #{id} granted: {amount} {unit} added to {target}; an email to the organization's admins is queued.").format(
            id=closed["id"], amount=closed["granted"], unit=unit, target=plain(closed["granted_target"]))
    )


def decline(s: Session) -> None:
    if not (s.args.reason or "").strip():  # the portal says what a reason must be, before anything else
        s.portal.decline_request(s.actor, s.args.request_id, s.args.reason)
    row = s.portal.vendor_request(s.actor, s.args.request_id)
    if row["state"] == "requested":  # an answered one is refused by the portal, with when and by whom
        unit = _("credit(s)") if row["kind"] == "credits" else _("seat(s)")
        s.console.line(
            _("Decline request #{id} of {org}: {amount} {unit} of {product}, because: {reason}").format(
                id=row["id"], org=plain(row["organization_name"]), amount=row["amount"], unit=unit,
                product=plain(row["product"]), reason=plain(s.args.reason))
        )
        s.console.confirm(s.args.yes)
    closed = s.portal.decline_request(s.actor, row["id"], s.args.reason)
    s.console.line(
        _("Request #{id} declined; an email with the reason to the organization's admins is queued.").format(id=closed["id"])
    )


# -- banks, builds --------------------------------------------------------------------------
def topup(s: Session) -> None:
    a = s.args
    if a.credits is None and a.expires is None:
        raise Refused(_("Say what changes: --credits N (added to the granted credits) and/or --expires DATE."))
    changes = []
    if a.credits is not None:
        changes.append(_("+{n} credits").format(n=a.credits))
    if a.expires is not None:
        changes.append(_("expiry moved to {day}").format(day=plain(a.expires)))
    if not a.json:
        s.console.line(_("Top up bank {bank}: {changes}.").format(bank=plain(a.bank_id), changes=", ".join(changes)))
    s.console.confirm(a.yes)
    bank = s.portal.top_up_bank(s.actor, a.bank_id, credits=a.credits, expires_on=a.expires)
    if a.json:
        s.console.json({k: bank.get(k) for k in BANK_KEYS})
        return
    s.console.line(
        _("Bank {bank} ({product}): {granted} credits granted, {used} used, valid until {end} (exclusive).").format(
            bank=plain(bank["id"]), product=plain(bank["product"]), granted=bank["credits_granted"], used=bank["used"],
            end=bank["expires_on"])
    )


def build(s: Session) -> None:
    a = s.args
    downloads = {system: url for system, url in (("windows", a.windows), ("macos", a.macos), ("linux", a.linux)) if url}
    added = s.portal.add_build(s.actor, a.product, a.version, a.released, downloads)
    s.console.line(
        _("Build {version} of {product} published ({released}); downloads: {systems}.").format(
            version=plain(added["version"]), product=plain(added["product"]), released=added["released"],
            systems=", ".join(sorted(added["downloads"])) or _("none"))
    )
