"""elp banks … and elp licenses …: credit banks and the licenses they pay for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from elp_tui.store.files import atomic_write

from elp_tui.cli.console import Column, Console, only, plain
from elp_tui.cli.session import Session
from elp_tui.i18n import _
from elp_tui.portal.alerts import bank_expiring_soon
from elp_tui.portal.feed import feed_note
from elp_tui.portal.base import normalise_email
from elp_tui.portal.quotes import TYPE_NAMES

BANK_KEYS = (
    "id", "product", "credits_requested", "credits_granted", "used", "remaining", "forfeited",
    "start", "expires_on", "product_version", "portable",
)
LICENSE_KEYS = (
    "activation_id", "product", "bank", "type", "computers", "assignee", "start", "expires_on", "status",
    "credits_used", "bank_start", "bank_expires_on",
)
BANK_COLUMNS = (
    Column("id", "BANK"),
    Column("product", "PRODUCT", flex=True),
    Column("credits_granted", "GRANTED", right=True),
    Column("used", "USED", right=True),
    Column("remaining", "REMAINING", right=True),
    Column("forfeited", "FORFEITED", right=True, drop=2),
    Column("start", "START", drop=3),
    Column("expires_on", "EXPIRES", ),
    Column("product_version", "VERSION", drop=4),
    Column("portable", "PORTABLE", drop=5),
    Column("credits_requested", "REQUESTED", right=True, drop=6),
)
LICENSE_COLUMNS = (
    Column("activation_id", "ACTIVATION ID"),
    Column("product", "PRODUCT", flex=True, drop=3),
    Column("type", "TYPE"),
    Column("computers", "PCS", right=True),
    Column("assignee", "ASSIGNEE", flex=True, show=lambda v: v or "-"),
    Column("start", "START", drop=5),
    Column("expires_on", "EXPIRES"),
    Column("status", "STATUS"),
    Column("credits_used", "CREDITS", right=True, drop=4),
    Column("bank", "BANK", drop=6),
    Column("bank_start", "BANK START", drop=8),
    Column("bank_expires_on", "BANK EXPIRES", drop=7),
)


# -- banks -------------------------------------------------------------------------
def show_banks(console: Console, banks: list[dict[str, Any]]) -> None:
    console.table(BANK_COLUMNS, banks, empty="No credit banks yet: the vendor grants them ('elp banks request' asks for more).")
    for bank in banks:
        if bank.get("expired") and bank["forfeited"]:
            console.line(f"  {plain(bank['id'])} expired on {bank['expires_on']}: {bank['forfeited']} unused credit(s) were lost.")
        elif bank_expiring_soon(bank):  # the portal decides what "soon" is, for the screens too
            console.line(
                f"! {plain(bank['id'])}: {bank['remaining']} credit(s) will be lost on {bank['expires_on']} "
                f"({bank['days_left']} day(s) left): use them before then."
            )


def banks_list(s: Session) -> None:
    banks = s.portal.list_banks(s.actor)
    if s.args.json:
        s.console.json([only(b, BANK_KEYS) for b in banks])
    else:
        show_banks(s.console, banks)


def banks_add(s: Session) -> None:
    a = s.args
    bank = s.portal.add_bank(
        s.actor, organization=a.org or "", product=a.product, credits=a.credits, start=a.start, expires_on=a.expires,
        product_version=a.product_version, portable=a.portable,
    )
    if a.json:
        s.console.json(only(bank, BANK_KEYS))
        return
    s.console.line(
        f"Bank {plain(bank['id'])} granted to {plain(a.org)}: {bank['credits_granted']} credits of {plain(bank['product'])}, "
        f"valid {bank['start']} until {bank['expires_on']} (exclusive)."
    )


def banks_request(s: Session) -> None:
    quote = s.portal.quote_request_credits(s.actor, s.args.bank_id, s.args.credits)
    credits, product, bank_id = quote["credits"], quote["product"], quote["bank"]
    vendor = s.portal.vendor_contact(s.actor, product) or {}
    s.console.line(_(
        "Request {credits} more credit(s) of {product} for bank {bank}: the request is recorded and an email to "
        "the vendor's enterprise team ({vendor}) is queued."
    ).format(credits=credits, product=plain(product), bank=plain(bank_id), vendor=plain(vendor.get("email"))))
    s.console.confirm(s.args.yes)
    request = s.portal.request_credits(s.actor, bank_id, credits, expected=quote)
    s.console.line(f"Request #{request['id']} recorded: {credits} credit(s) of {plain(product)} asked from the vendor.")
    say_posted(s, request)


def say_posted(s: Session, request: dict[str, Any]) -> None:
    """Whether a request also reached the vendor's feed (when one is configured)."""
    note = feed_note(request)
    if note and request.get("posted"):
        s.console.line(plain(note))
    elif note:
        s.console.note(f"elp: {plain(note)}")


def _snapshot_path(store_path: Path | str) -> Path:
    """What `banks refresh` saw last time, per user, next to the store (not inside it); for a
    PostgreSQL database, in the user data folder, named after the database."""
    if isinstance(store_path, str):
        import hashlib

        from elp_tui.store import default_store_path
        from elp_tui.store.pg import display_url

        digest = hashlib.sha256(display_url(store_path).encode()).hexdigest()[:16]
        return default_store_path().with_name(f".db-{digest}.banks-seen.json")
    return store_path.with_name(f".{store_path.name}.banks-seen.json")


def _load_snapshot(path: Path, actor: str) -> list[dict[str, Any]] | None:
    try:
        seen = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    banks = seen.get(actor) if isinstance(seen, dict) else None
    return banks if isinstance(banks, list) else None


def _save_snapshot(path: Path, actor: str, banks: list[dict[str, Any]]) -> None:
    try:
        seen = orjson.loads(path.read_bytes())
        if not isinstance(seen, dict):
            seen = {}
    except (OSError, orjson.JSONDecodeError):
        seen = {}
    seen[actor] = [only(b, BANK_KEYS) for b in banks]
    path.parent.mkdir(parents=True, exist_ok=True)  # a server's: the user data folder, maybe not there yet
    atomic_write(path, orjson.dumps(seen), fsync_folder=False)


def banks_refresh(s: Session) -> None:
    path = _snapshot_path(s.store_path)
    previous = _load_snapshot(path, s.actor)
    banks, changes = s.portal.refresh_banks(s.actor, previous)
    show_banks(s.console, banks)
    s.console.line()
    if changes:  # from the vendor's feed (what it changed), else since this user's last refresh
        s.console.line("Changed since your last refresh:")
        for change in changes:
            s.console.line(f"  {plain(change)}")
    elif previous is None:
        s.console.line("First refresh: nothing to compare with yet. The next refresh shows what changed.")
    else:
        s.console.line("Nothing changed since your last refresh.")
    try:
        _save_snapshot(path, s.actor, banks)
    except OSError as exc:
        s.console.note(f"elp: could not remember this refresh ({exc.strerror}): the next one will not show changes.")


# -- licenses ----------------------------------------------------------------------
def show_licenses(console: Console, licenses: list[dict[str, Any]], empty: str = "") -> None:
    console.table(LICENSE_COLUMNS, licenses, empty=empty)


def licenses_list(s: Session) -> None:
    licenses = s.portal.list_licenses(s.actor)
    if s.args.json:
        s.console.json([only(lic, LICENSE_KEYS) for lic in licenses])
    else:
        show_licenses(s.console, licenses, "No licenses yet: add some with 'elp licenses generate'.")


def _quiet(s: Session) -> bool:
    """--yes --json: a script asked for data only, no quote."""
    return bool(s.args.yes and getattr(s.args, "json", False))


def show_quote(console: Console, title: str, lines: list[tuple[str, str]]) -> None:
    console.line(title)
    console.pairs(lines)


def licenses_generate(s: Session) -> None:
    a = s.args
    quote = s.portal.quote_generate(
        s.actor, bank=a.bank, type=a.license_type, months=a.months, quantity=a.quantity, start=a.start, email=a.email,
    )
    if not _quiet(s):
        show_quote(s.console, "Add licenses:", quote.lines())
    s.console.confirm(a.yes)
    created = s.portal.generate(s.actor, quote)
    if a.json:
        s.console.json([only(lic, LICENSE_KEYS) for lic in created])
        return
    s.console.line(
        f"Created {len(created)} license(s) for {plain(quote.email)}; {quote.credits} credit(s) deducted "
        f"from {plain(quote.bank)} ({quote.remaining_after} left)."
    )
    show_licenses(s.console, created)


def licenses_renew(s: Session) -> None:
    a = s.args
    quote = s.portal.quote_renew(s.actor, a.activation_id, months=a.months, computers=a.computers)
    if not _quiet(s):
        show_quote(s.console, "Renew license:", quote.lines())
    s.console.confirm(a.yes)
    lic = s.portal.renew(s.actor, quote)
    if a.json:
        s.console.json(only(lic, LICENSE_KEYS))
        return
    s.console.line(
        f"License {plain(lic['activation_id'])} now expires on {lic['expires_on']} ({lic['computers']} computer(s)); "
        f"{quote.credits} credit(s) deducted from {plain(quote.bank)} ({quote.remaining_after} left)."
    )


def _describe(lic: dict[str, Any]) -> str:
    return (
        f"{plain(lic['activation_id'])} ({plain(lic['product'])}, {lic['type']}, {lic['computers']} computer(s), "
        f"expires on {lic['expires_on']})"
    )


def licenses_return(s: Session) -> None:
    address = normalise_email(s.args.email)
    # Every refusal (bank rules, expired, wrong email) before asking, never after (SPEC §4).
    lic = s.portal.quote_return(s.actor, s.args.activation_id, address)
    s.console.line(f"Return license {_describe(lic)} from {plain(address)}.")
    s.console.line("It keeps its expiry and no credits come back; it can then be assigned to another member.")
    s.console.confirm(s.args.yes)
    s.portal.return_license(s.actor, lic["activation_id"], address)
    s.console.line(
        f"License {plain(lic['activation_id'])} returned. Assign it with "
        f"'elp licenses assign {plain(lic['activation_id'])} --email EMAIL'."
    )


def assign_lines(quote: dict[str, Any]) -> list[tuple[str, str]]:
    """What `portal.quote_assign` says assigning a license does, as a confirmation lists it."""
    recipient = quote["email"] + (" " + _("(will be invited)") if quote["invites"] else "")
    return [
        (_("Activation ID"), quote["activation_id"]),
        (_("Product"), quote["product"]),
        (_("Type"), _(TYPE_NAMES.get(quote["type"], quote["type"]))),
        (_("Computers"), str(quote["computers"])),
        (_("Expires on"), quote["expires_on"]),
        (_("Assign to"), recipient),
    ]


def licenses_assign(s: Session) -> None:
    # The portal's quote refuses first (not returned, another organization's member, inactive user).
    quote = s.portal.quote_assign(s.actor, s.args.activation_id, s.args.email)
    show_quote(s.console, _("Assign license (an email to the recipient is queued):"), assign_lines(quote))
    s.console.confirm(s.args.yes)
    s.portal.assign_license(s.actor, quote["activation_id"], quote["email"], expected=quote)
    s.console.line(
        _("License {id} assigned to {email}.").format(id=plain(quote["activation_id"]), email=plain(quote["email"]))
    )


def licenses_export(s: Session) -> None:
    text = s.portal.export_csv(s.actor)
    if s.console.out.isatty():
        # On a screen, a control character in a cell must not reach the terminal raw.
        text = "\n".join(plain(line) for line in text.split("\n"))
    s.console.raw(text)


def _downloads(c: Any, downloads: list[dict[str, Any]]) -> None:
    c.line("  Downloads:")
    for build in downloads:
        c.line(f"    {plain(build['version'])} (released {plain(build['released'])})")
        for os_name, url in sorted(build.get("urls", {}).items()):
            c.line(f"      {plain(os_name):<8} {plain(url)}")


def licenses_mine(s: Session) -> None:
    """My licenses, then the seats of seat pools I hold (SPEC §7), each with its download links."""
    licenses = s.portal.my_licenses(s.actor)
    seats = s.portal.my_seats(s.actor)
    if s.args.json:
        s.console.json([{"kind": "license", **lic} for lic in licenses] + [{"kind": "seat", **seat} for seat in seats])
        return
    c = s.console
    if not licenses and not seats:
        c.line("No licenses are assigned to you. Ask your organization admin.")
        return
    for n, lic in enumerate(licenses):
        if n:
            c.line()
        c.line(f"{plain(lic['activation_id'])}  {plain(lic['product'])}  [{lic['status']}]")
        c.pairs([
            ("Type", lic["type"]),
            ("Computers", lic["computers"]),
            ("Valid", f"{lic['start']} until {lic['expires_on']} (exclusive)"),
        ])
        if not lic["downloads"] and lic["status"] == "expired":
            c.line("  Downloads: none (the license has expired; ask your admin to renew it).")
            continue
        if not lic["downloads"]:
            c.line("  Downloads: none accessible (your admin restricted the builds, or none are published).")
            continue
        _downloads(c, lic["downloads"])
    for n, seat in enumerate(seats):
        if n or licenses:
            c.line()
        c.line(f"Team seat  {plain(seat['product'])}  [{seat['state']}]")
        c.pairs([
            ("Teams", ", ".join(plain(t) for t in seat["teams"]) or "none (ask your admin to add you to a team)"),
            ("Since", seat["since"]),
        ])
        if not seat["teams"]:
            c.line("  Downloads: none (you are in no team of this product now).")
        elif not seat["downloads"]:
            c.line("  Downloads: none accessible (your admin restricted the builds, or none are published).")
        else:
            _downloads(c, seat["downloads"])
