"""Credit banks and the licenses they pay for (SPEC.md §3, §4)."""

from __future__ import annotations

import datetime as dt
import re
from operator import itemgetter
from typing import Any, Collection, NamedTuple


from elp_tui.i18n import NC_, N_, _
from elp_tui.models import Bank, LedgerEntry, License, LicenseStatus, LicenseType, Product, Request, UserStatus
from elp_tui.portal.base import (
    T_BANKS,
    T_LEDGER,
    T_LICENSES,
    T_PRODUCTS,
    T_REQUESTS,
    MAX_NAME,
    check_text,
    PortalBase,
    clean_name,
    normalise_email,
    positive_int,
    rows,
)
from elp_tui.portal.dates import add_months, months_to_cover, parse_date, version_key
from elp_tui.portal.errors import InvalidInput, NotFound, PortalError, RuleViolation, StaleQuote
from elp_tui.portal import inputs, mail
from elp_tui.portal.quotes import (
    TYPE_NAMES, AssignQuote, CreditRequestQuote, GenerateQuote, RenewQuote, keep_promise,
)
from elp_tui.store.repository import View

RETURN_MIN_VERSION = (25, 1)
# How the screens and messages name a license status (in French a license is feminine: "retournée",
# where a user is "actif": hence the context).
LICENSE_STATUS_NAMES = {
    "active": NC_("license", "active"), "scheduled": NC_("license", "scheduled"),
    "expired": NC_("license", "expired"), "returned": NC_("license", "returned"),
}
# What `refresh_banks` compares, with the name it gives each field in a change line.
REFRESH_FIELDS = {
    "credits_requested": N_("credits_requested"),
    "credits_granted": N_("credits_granted"),
    "used": N_("used"),
    "remaining": N_("remaining"),
    "expires_on": N_("expires_on"),
}
CSV_COLUMNS = [
    "activation_id",
    "product",
    "type",
    "computers",
    "assignee",
    "start",
    "expires_on",
    "status",
    "credits_used",
    "bank",
    "bank_start",
    "bank_expires_on",
]


# -- what a license costs (SPEC §4): one place, used by the quotes and by the demo's builder ----
class Charge(NamedTuple):
    """A term of `months` from `start`, capped by the bank's expiry: when it ends, whether the
    bank cut it, and the months charged (a partial month cut by the bank counts as one; nothing
    is charged for months the bank cannot cover). Credits = computers x months_charged."""

    expires_on: dt.date
    cut_by_bank: bool
    months_charged: int


def charge(start: dt.date, months: int, bank_end: dt.date) -> Charge:
    """The charge of a new license starting on `start`, or of a renewal extending from `start` (its expiry)."""
    full_end = add_months(start, months)
    return Charge(min(full_end, bank_end), full_end > bank_end, min(months, months_to_cover(start, bank_end)))


def added_computers_months(term_from: dt.date, expires: dt.date) -> int:
    """Months a renewal charges each added computer: the rest of the current term, from `term_from`
    (today, or the license's start if later) to its present expiry; a partial month counts as one."""
    return months_to_cover(term_from, expires)


def license_term(doc: dict[str, Any]) -> int:
    """The license's current term in months: what a renewal repeats by default ("a 1-month
    license renews for another month", SPEC §4). The months last asked (generation or renewal);
    for a license written before ELP kept them, the months its dates cover."""
    term = doc.get("term_months")
    if term:
        return int(term)
    return max(1, months_to_cover(dt.date.fromisoformat(doc["start"]), dt.date.fromisoformat(doc["expires_on"])))


def first_start(bank: dict[str, Any], today: dt.date) -> dt.date:
    """The earliest start a new license of this bank may have: today, or the bank's start if later."""
    return max(today, dt.date.fromisoformat(bank["start"]))


def license_status(doc: dict[str, Any], today_iso: str) -> str:
    """Derived from the clock (ISO strings compare as dates)."""
    if today_iso >= doc["expires_on"]:
        return LicenseStatus.expired.value
    if not doc.get("assignee"):
        return LicenseStatus.returned.value
    if today_iso < doc["start"]:
        return LicenseStatus.scheduled.value
    return LicenseStatus.active.value


def return_blocked_reason(bank: dict[str, Any]) -> str | None:
    """Why licenses of this bank cannot be returned or reassigned, or None if they can."""
    if not bank.get("portable"):
        return _("bank is not portable: licenses cannot be returned once assigned")
    if version_key(bank.get("product_version")) < RETURN_MIN_VERSION:
        version = bank.get("product_version") or _("unknown")
        return _("bank product version {version} is before 25.1: licenses cannot be returned").format(version=version)
    return None


def cannot_return(activation_id: str, reason: str) -> str:
    return _("License {id} cannot be returned: {reason}.").format(id=activation_id, reason=reason)


def cannot_reassign(activation_id: str, reason: str) -> str:
    return _("License {id} cannot be reassigned: {reason}.").format(id=activation_id, reason=reason)


# -- what a license allows ---------------------------------------------------------------
# One rule per action, written once: the commits (quote_renew, quote_return, quote_assign) raise
# these reasons, and `license_actions` / `license_row_actions` return the very same sentences so a
# screen or the CLI can say why an action is not available instead of guessing.
LICENSE_ACTIONS = ("renew", "return", "assign")


def renew_refusal(row: dict[str, Any], *, extending: bool = True) -> str | None:
    """Why the license of this row (`_license_row`) cannot be renewed, or None. `extending`: the
    renewal adds months (a multiseat renewal may only raise its computers, and that stays possible
    at the bank's expiry)."""
    aid, status = row["activation_id"], row["status"]
    if status == LicenseStatus.expired.value:
        return _("License {id} expired on {date}: expired licenses cannot be renewed; generate a new one.").format(
            id=aid, date=row["expires_on"])
    if status == LicenseStatus.returned.value:
        return _("License {id} is returned (nobody holds it): assign it to a member first, then renew it.").format(id=aid)
    if extending and row["expires_on"] >= row["bank_expires_on"]:
        return _(
            "License {id} already ends at its bank's expiry ({date}): it cannot be extended. "
            "Generate a new license from a newer bank."
        ).format(id=aid, date=row["bank_expires_on"])
    return None


def renewal_short(bank_id: str, remaining: int, credits: int) -> str:
    """Why a renewal does not fit in its bank (a batch says it of the row that no longer fits)."""
    return _(
        "Bank {bank} has {remaining} credits left; this renewal needs {credits}: {short} short. "
        "Renew for fewer months, or request credits."
    ).format(bank=bank_id, remaining=remaining, credits=credits, short=credits - remaining)


def return_refusal(row: dict[str, Any]) -> str | None:
    """Why the license of this row cannot be returned, or None (whoever holds it)."""
    aid, status = row["activation_id"], row["status"]
    if row.get("return_blocked"):
        return cannot_return(aid, row["return_blocked"])
    if status == LicenseStatus.expired.value:
        return _("License {id} has expired: there is nothing to return.").format(id=aid)
    if status == LicenseStatus.returned.value:
        return _("License {id} is already returned: assign it instead.").format(id=aid)
    return None


def assign_refusal(row: dict[str, Any]) -> str | None:
    """Why the license of this row cannot be assigned (to anyone), or None."""
    aid, status = row["activation_id"], row["status"]
    if row.get("return_blocked"):
        return cannot_reassign(aid, row["return_blocked"])
    if status == LicenseStatus.expired.value:
        return _("License {id} has expired: it cannot be assigned.").format(id=aid)
    if status != LicenseStatus.returned.value:
        return _("License {id} is assigned to {email}: return it first, then assign it.").format(
            id=aid, email=row.get("assignee") or "")
    return None


def license_row_actions(row: dict[str, Any]) -> dict[str, str | None]:
    """{"renew" | "return" | "assign": None when available, else the reason the commit would give}."""
    return {
        "renew": renew_refusal(row, extending=row["type"] != LicenseType.multiseat.value),
        "return": return_refusal(row),
        "assign": assign_refusal(row),
    }


def expired_bank_request(bank_id: str, expires_on: str) -> str:
    return _(
        "Bank {bank} expired on {date}: its unused credits are lost and it takes no more. "
        "Request the credits on a valid bank instead."
    ).format(bank=bank_id, date=expires_on)


def neutralise_cell(value: Any) -> str:
    """A spreadsheet must show a cell, never run it as a formula."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def csv_row(cells: list[str]) -> str:
    """One RFC 4180 row ending in "\n". The csv module, given "\n" as the line end, writes a cell
    holding a lone CR bare, and a spreadsheet splits the row there: here any cell holding a comma,
    a quote, a CR or an LF is quoted."""
    line = ",".join(cells)
    if line.count(",") == len(cells) - 1 and not _QUOTE_OR_BREAK.search(line):  # the usual row: nothing to quote
        return line + "\n"
    return ",".join('"' + c.replace('"', '""') + '"' if _NEEDS_QUOTES.search(c) else c for c in cells) + "\n"


_QUOTE_OR_BREAK = re.compile('["\r\n]')


_NEEDS_QUOTES = re.compile('[,"\r\n]')


def _needs_care(line: str) -> bool:
    """Whether a joined row may hold a cell starting like a formula, or one to quote (a few
    substring scans: much faster than a regular expression over 100k rows)."""
    return line[:1] in _FORMULA_STARTS or any(mark in line for mark in _CAREFUL)


_FORMULA_STARTS = set("=+-@\t\r")
_CAREFUL = ('"', "\r", "\n", ",=", ",+", ",-", ",@", ",\t")


class CreditsMixin(PortalBase):
    # -- banks -------------------------------------------------------------------
    @staticmethod
    def _used_by_bank(db: View) -> dict[str, int]:
        """Each bank's used credits: the sum of its ledger entries, kept with the ledger."""
        return db.sums(T_LEDGER, "credits", by="bank")

    def _bank_row(self, bank: dict[str, Any], used: int) -> dict[str, Any]:
        today = self.today().isoformat()
        granted = bank["credits_granted"]
        expired = today >= bank["expires_on"]
        left = max(0, granted - used)
        return {
            "id": bank["id"],
            "product": bank["product"],
            "credits_requested": bank["credits_requested"],
            "credits_granted": granted,
            "used": used,
            "remaining": 0 if expired else left,
            "forfeited": left if expired else 0,
            "start": bank["start"],
            "expires_on": bank["expires_on"],
            "product_version": bank.get("product_version"),
            "portable": bool(bank.get("portable")),
            "expired": expired,
            "days_left": (dt.date.fromisoformat(bank["expires_on"]) - self.today()).days,
            "first_start": first_start(bank, self.today()).isoformat(),  # what Add licenses proposes
            "return_blocked": return_blocked_reason(bank),
        }

    def list_banks(self, actor: str) -> list[dict[str, Any]]:
        db = self.store.read()
        me = self._actor(db, actor)
        used = self._used_by_bank(db)
        banks = db.find(T_BANKS, organization=me["organization"])
        banks.sort(key=lambda b: (b["product"], b["expires_on"], b["id"]))
        return [self._bank_row(b, used.get(b["id"], 0)) for b in banks]

    def _check_credit_request(self, db: View, me: dict[str, Any], bank_id: str, credits: Any) -> tuple[dict[str, Any], int]:
        """The bank and the number of credits, or the refusal: every credit-request rule, once."""
        credits = positive_int(credits, _("Credits requested"))
        bank = self._org_bank(db, me, bank_id)
        self._vendor_or_refuse(db, bank["product"])  # type: ignore[attr-defined]
        if self.today().isoformat() >= bank["expires_on"]:
            raise RuleViolation(expired_bank_request(bank["id"], bank["expires_on"]), field="bank")
        return bank, credits

    def _quote_request_credits(self, db: View, me: dict[str, Any], bank_id: str, credits: Any) -> CreditRequestQuote:
        bank, credits = self._check_credit_request(db, me, bank_id, credits)
        return CreditRequestQuote(bank=bank["id"], product=bank["product"], credits=credits,
                                  requested=bank["credits_requested"], granted=bank["credits_granted"])

    def quote_request_credits(self, actor: str, bank_id: str, credits: Any) -> CreditRequestQuote:
        """What a credit request would ask for, before confirming (refused as the request would be)."""
        db = self.store.read()
        return self._quote_request_credits(db, self._actor(db, actor), bank_id, credits)

    def request_credits(self, actor: str, bank_id: str, credits: int, expected: Any = None) -> dict[str, Any]:
        """Record a credit request and mail the vendor. `expected`: the quote the admin confirmed,
        re-checked here (StaleQuote with the fresh one if it no longer holds)."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            quote = self._quote_request_credits(db, me, bank_id, credits)
            keep_promise(expected, quote)
            bank, credits = self._org_bank(db, me, quote["bank"]), quote["credits"]
            request = Request(
                id=db.next_seq(T_REQUESTS), organization=me["organization"], kind="credits",
                target=bank["id"], product=bank["product"], amount=credits, actor=me["email"], on=self.today(),
            )
            db.insert(T_REQUESTS, request.to_doc())
            db.update(T_BANKS, {"credits_requested": bank["credits_requested"] + credits}, id=bank["id"])
            vendor = self._vendor_or_refuse(db, bank["product"])  # type: ignore[attr-defined]
            self._queue(db, mail.vendor_request(
                self._org_language(db, me["organization"]), org_id=me["organization"],
                org=self._organization_name_in(db, me["organization"]), to=vendor["email"], request=request.to_doc(),
            ))
            self._log(db, me["organization"], me["email"], "credits-request", bank["id"], f"{credits} credits requested from the vendor")
            doc = request.to_doc()
        return self._send_request(doc)  # to the vendor's feed, once committed (portal/feed.py)

    def refresh_banks(self, actor: str, previous: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], list[str]]:
        """Reload the latest grants and say what changed since `previous`. With a vendor feed
        configured, the grants come from it (portal/feed.py) and the lines say what it changed."""
        feed = self._vendor_feed()
        if feed is not None:
            changes = self._pull_feed(actor, feed)
            if changes:
                return self.list_banks(actor), changes
            # Nothing new from the vendor: say what changed since `previous` (another admin's refresh).
        current = self.list_banks(actor)
        changes: list[str] = []
        before = {b["id"]: b for b in previous or []}
        for bank in current:
            old = before.pop(bank["id"], None)
            if old is None:
                if previous is not None:
                    changes.append(
                        _("new bank {bank} ({product}): {credits} credits").format(
                            bank=bank["id"], product=bank["product"], credits=bank["credits_granted"]
                        )
                    )
                continue
            for field in REFRESH_FIELDS:
                if old.get(field) != bank[field]:
                    changes.append(
                        _("{bank} {field}: {old} → {new}").format(
                            bank=bank["id"], field=_(REFRESH_FIELDS[field]), old=old.get(field), new=bank[field]
                        )
                    )
        for gone in before.values():
            changes.append(_("bank {bank} is gone").format(bank=gone["id"]))
        return current, changes

    def _org_bank(self, db: View, me: dict[str, Any], bank_id: str) -> dict[str, Any]:
        wanted = check_text((bank_id or "").strip(), _("The bank ID"), limit=MAX_NAME).upper()
        bank = db.get(T_BANKS, id=wanted)
        if bank is None or bank["organization"] != me["organization"]:
            raise NotFound(_("No bank {bank!r} in your organization: 'elp banks list' shows their IDs.").format(bank=bank_id))
        return bank

    def _remaining(self, db: View, bank: dict[str, Any]) -> int:
        return self._bank_row(bank, self._used_by_bank(db).get(bank["id"], 0))["remaining"]

    # -- recipients --------------------------------------------------------------
    def _recipient(self, db: View, me: dict[str, Any], email: str) -> tuple[str, bool]:
        """The normalised email and whether the action will invite them."""
        address = normalise_email(email)
        user = self._user(db, address)
        if user is None:
            return address, True
        if user.get("organization") != me["organization"]:
            raise RuleViolation(
                _(
                    "{email} belongs to another organization: they must be removed there before they can "
                    "receive licenses here."
                ).format(email=address), field="email",
            )
        if user["status"] == UserStatus.inactive.value:
            raise RuleViolation(_("{email} is inactive: reactivate them on the Users page first.").format(email=address),
                                field="email")
        return address, False

    # -- generate ----------------------------------------------------------------
    def _quote_generate(
        self, db: View, me: dict[str, Any], bank_id: str, license_type: str | LicenseType, months: Any,
        quantity: Any, start: dt.date | str, email: str, product: str | None,
    ) -> GenerateQuote:
        try:
            kind = LicenseType(license_type)
        except ValueError:
            raise InvalidInput(
                _("License type {type!r} is unknown: use node-lock, multiseat or floating.").format(type=license_type)
            ) from None
        months = positive_int(months, _("Months"))
        quantity = positive_int(quantity, _("Quantity"))
        start_d = start if isinstance(start, dt.date) else parse_date(start, _("Start date"))
        bank = self._org_bank(db, me, bank_id)
        today = self.today()
        bank_start = dt.date.fromisoformat(bank["start"])
        bank_end = dt.date.fromisoformat(bank["expires_on"])
        if product and product != bank["product"]:
            raise RuleViolation(
                _("Bank {bank} holds {bank_product} credits, not {product}: pick a {product} bank.").format(
                    bank=bank["id"], bank_product=bank["product"], product=product
                ), field="bank",
            )
        if today >= bank_end:
            raise RuleViolation(
                _("Bank {bank} expired on {date}: its credits are lost. Pick a valid bank or request credits.").format(
                    bank=bank["id"], date=bank_end
                ), field="bank",
            )
        # The allowed starts, said in every refusal: today or later, within the bank's validity.
        first, last = first_start(bank, today), bank_end - dt.timedelta(days=1)
        if start_d < today:
            raise InvalidInput(
                _("Start date {start} is in the past: pick a start from {first} to {last} (bank {bank} runs until {bank_end}).").format(
                    start=start_d, first=first, last=last, bank=bank["id"], bank_end=bank_end
                ), field="start",
            )
        if start_d < bank_start:
            raise RuleViolation(
                _("Start date {start} is before bank {bank} starts ({bank_start}): pick a start from {first} to {last}.").format(
                    start=start_d, bank=bank["id"], bank_start=bank_start, first=first, last=last
                ), field="start",
            )
        if start_d >= bank_end:
            raise RuleViolation(
                _("Start date {start} is not before bank {bank} expires ({bank_end}): pick a start from {first} to {last}.").format(
                    start=start_d, bank=bank["id"], bank_end=bank_end, first=first, last=last
                ), field="start",
            )
        address, invites = self._recipient(db, me, email)
        expires, cut_by_bank, charged_months = charge(start_d, months, bank_end)
        licenses, computers = (quantity, 1) if kind is LicenseType.node_lock else (1, quantity)
        credits = licenses * computers * charged_months
        remaining = self._remaining(db, bank)
        if credits > remaining:
            raise RuleViolation(
                _(
                    "Bank {bank} has {remaining} credits left; this needs {credits} "
                    "({computers} computer(s) x {months} month(s)): {short} short. "
                    "Lower the months or quantity, or request credits."
                ).format(
                    bank=bank["id"], remaining=remaining, credits=credits, computers=licenses * computers,
                    months=charged_months, short=credits - remaining,
                ), field="quantity",
            )
        return GenerateQuote(
            bank=bank["id"], product=bank["product"], type=kind, months=months, quantity=quantity, start=start_d,
            email=address, licenses=licenses, computers=computers, expires_on=expires,
            cut_by_bank=cut_by_bank, bank_expires_on=bank_end, months_charged=charged_months,
            credits=credits, remaining_before=remaining, remaining_after=remaining - credits, invites_recipient=invites,
        )

    def quote_generate(
        self, actor: str, *, bank: str, type: str | LicenseType, months: Any, quantity: Any,
        start: dt.date | str, email: str, product: str | None = None,
    ) -> GenerateQuote:
        db = self.store.read()
        me = self._actor(db, actor)
        return self._quote_generate(db, me, bank, type, months, quantity, start, email, product)

    def generate(self, actor: str, quote: GenerateQuote) -> list[dict[str, Any]]:
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            try:
                fresh = self._quote_generate(db, me, quote.bank, quote.type, quote.months, quote.quantity, quote.start, quote.email, quote.product)
            except PortalError as exc:
                raise StaleQuote(_("The data changed since the quote: {reason}").format(reason=exc), None) from None
            keep_promise(quote, fresh)  # the same charge, bank, recipient and dates: go ahead with today's figures
            if fresh.invites_recipient:
                self._invite_in(db, me, fresh.email, f"to receive {fresh.product} licenses", reason="licenses",
                                about=fresh.product)
            taken: set[str] = set()
            created: list[dict[str, Any]] = []
            for _n in range(fresh.licenses):
                lic = License(
                    activation_id=self._activation_id(db, taken), organization=me["organization"], product=fresh.product,
                    bank=fresh.bank, type=fresh.type, computers=fresh.computers, assignee=fresh.email,
                    start=fresh.start, expires_on=fresh.expires_on,
                    credits_used=fresh.computers * fresh.months_charged, created_on=self.today(), term_months=fresh.months,
                )
                created.append(lic.to_doc())
            db.insert_many(T_LICENSES, created)
            db.insert_many(T_LEDGER, (
                LedgerEntry(
                    id=db.next_seq(T_LEDGER), bank=fresh.bank, license=lic_doc["activation_id"], credits=lic_doc["credits_used"],
                    reason="generate", actor=me["email"], on=self.today(),
                ).to_doc()
                for lic_doc in created
            ))
            ids = ", ".join(d["activation_id"] for d in created)
            self._queue_license_notice(db, me, fresh.email, "assigned", created)
            self._log(
                db, me["organization"], me["email"], "license-generate", ids,
                f"{fresh.licenses} x {fresh.type.value} {fresh.product} for {fresh.email}, {fresh.start} .. {fresh.expires_on}"
                + (" (cut by bank expiry)" if fresh.cut_by_bank else ""),
                credits=fresh.credits,
            )
            bank = self._org_bank(db, me, fresh.bank)
            return [self._license_row(d, bank) for d in created]

    # -- renew -------------------------------------------------------------------
    def _org_license(self, db: View, me: dict[str, Any], activation_id: str) -> dict[str, Any]:
        aid = check_text((activation_id or "").strip(), _("The activation ID"), limit=MAX_NAME).upper()
        lic = db.get(T_LICENSES, activation_id=aid)
        if lic is None or lic["organization"] != me["organization"]:
            raise NotFound(
                _("No license {id!r} in your organization: 'elp licenses list' shows activation IDs.").format(id=activation_id)
            )
        return dict(lic)

    def _quote_renew(self, db: View, me: dict[str, Any], activation_id: str, months: Any, computers: Any) -> RenewQuote:
        lic = self._org_license(db, me, activation_id)
        kind = LicenseType(lic["type"])
        term = license_term(lic)
        if months in (None, ""):
            # No months given: the license's current term; a multiseat at its bank's expiry can
            # only gain computers, so there it is 0.
            bank_doc = db.get(T_BANKS, id=lic["bank"])
            at_bank_end = bank_doc is not None and lic["expires_on"] >= bank_doc["expires_on"]
            months = 0 if (kind is LicenseType.multiseat and at_bank_end) else term
        months = positive_int(months, _("Months"), minimum=0)
        new_computers = lic["computers"] if computers in (None, "") else positive_int(computers, _("Computers"))
        if new_computers != lic["computers"] and kind is not LicenseType.multiseat:
            raise RuleViolation(
                _("Only multiseat licenses change their computer count; {id} is {type}.").format(
                    id=lic["activation_id"], type=_(TYPE_NAMES[kind.value])
                )
            )
        if new_computers < lic["computers"]:
            raise RuleViolation(
                _("A renewal cannot lower the computers ({before} → {after}): keep {before} or more.").format(
                    before=lic["computers"], after=new_computers
                )
            )
        if months == 0 and new_computers == lic["computers"]:
            raise InvalidInput(_("Months must be at least 1 (or raise the computers of a multiseat license)."))
        today = self.today()
        expires = dt.date.fromisoformat(lic["expires_on"])
        start = dt.date.fromisoformat(lic["start"])
        bank = db.get(T_BANKS, id=lic["bank"])
        assert bank is not None
        bank_end = dt.date.fromisoformat(bank["expires_on"])
        refusal = renew_refusal(self._license_row(lic, bank, blocked=None), extending=bool(months))
        if refusal:
            raise RuleViolation(refusal)
        new_expires, cut_by_bank, charged_months = charge(expires, months, bank_end)
        added = new_computers - lic["computers"]
        term_left = added_computers_months(max(today, start), expires)
        credits_renewal = new_computers * charged_months
        credits_added = added * term_left
        credits = credits_renewal + credits_added
        remaining = self._remaining(db, dict(bank))
        if credits > remaining:
            raise RuleViolation(renewal_short(bank["id"], remaining, credits))
        return RenewQuote(
            activation_id=lic["activation_id"], bank=bank["id"], product=lic["product"], type=kind, months=months,
            computers_before=lic["computers"], computers_after=new_computers, expires_before=expires,
            expires_after=new_expires, cut_by_bank=cut_by_bank, bank_expires_on=bank_end,
            months_charged=charged_months, credits_renewal=credits_renewal, credits_added_computers=credits_added,
            term_months_left=term_left, credits=credits, remaining_before=remaining, remaining_after=remaining - credits,
            term_months=term,
        )

    def quote_renew(self, actor: str, activation_id: str, *, months: Any = None, computers: Any = None) -> RenewQuote:
        """What renewing would do. `months` None: the license's current term (`license_term`)."""
        db = self.store.read()
        me = self._actor(db, actor)
        return self._quote_renew(db, me, activation_id, months, computers)

    def renew(self, actor: str, quote: RenewQuote) -> dict[str, Any]:
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            # A quote that kept the computers keeps them as they are now (another admin may have
            # raised them meanwhile: a fresh quote, not "cannot lower"); a raise is re-quoted as asked.
            computers = None if quote.computers_after == quote.computers_before else quote.computers_after
            try:
                fresh = self._quote_renew(db, me, quote.activation_id, quote.months, computers)
            except PortalError as exc:
                raise StaleQuote(_("The data changed since the quote: {reason}").format(reason=exc), None) from None
            keep_promise(quote, fresh)
            updated = self._write_renewal(db, me, fresh)
            bank = self._org_bank(db, me, fresh.bank)
            if updated.get("assignee"):
                self._queue_license_notice(db, me, updated["assignee"], "renewed", [updated])
            return self._license_row(updated, bank)

    def _write_renewal(self, db: Any, me: dict[str, Any], fresh: RenewQuote) -> dict[str, Any]:
        """What a renewal writes (its ledger entries, the license, its activity entry), for a
        single renewal and each license of a batch alike; returns the license as it now is."""
        lic = self._org_license(db, me, fresh.activation_id)
        for credits, reason in ((fresh.credits_renewal, "renew"), (fresh.credits_added_computers, "renew-computers")):
            if credits:
                db.insert(T_LEDGER, LedgerEntry(
                    id=db.next_seq(T_LEDGER), bank=fresh.bank, license=fresh.activation_id, credits=credits,
                    reason=reason, actor=me["email"], on=self.today(),
                ).to_doc())
        db.update(
            T_LICENSES,
            {
                "expires_on": fresh.expires_after.isoformat(),
                "computers": fresh.computers_after,
                "credits_used": lic["credits_used"] + fresh.credits,
                "term_months": fresh.months or license_term(lic),  # the next renewal repeats these months
            },
            activation_id=fresh.activation_id,
        )
        detail = f"expires {fresh.expires_before} -> {fresh.expires_after}"
        if fresh.computers_after != fresh.computers_before:
            detail += f", computers {fresh.computers_before} -> {fresh.computers_after}"
        if fresh.cut_by_bank:
            detail += " (cut by bank expiry)"
        self._log(db, me["organization"], me["email"], "license-renew", fresh.activation_id, detail, credits=fresh.credits)
        return self._org_license(db, me, fresh.activation_id)

    # -- return / assign ---------------------------------------------------------
    def _check_return(self, db: View, me: dict[str, Any], activation_id: str, email: str) -> tuple[dict[str, Any], dict[str, Any], str]:
        """The license, its bank and the verified email, or the refusal: every return rule, once."""
        lic = self._org_license(db, me, activation_id)
        bank = self._org_bank(db, me, lic["bank"])
        address = normalise_email(email)
        refusal = return_refusal(self._license_row(lic, bank))
        if refusal:
            raise RuleViolation(refusal)
        if lic["assignee"] != address:
            raise RuleViolation(
                _("License {id} is not assigned to {email}: check the email (it is assigned to someone else).").format(
                    id=lic["activation_id"], email=address
                )
            )
        return lic, bank, address

    def quote_return(self, actor: str, activation_id: str, email: str) -> dict[str, Any]:
        """The license row a return would change, or the refusal; writes nothing (asked before confirming)."""
        db = self.store.read()
        me = self._actor(db, actor)
        lic, bank, _address = self._check_return(db, me, activation_id, email)
        return self._license_row(lic, bank)

    def return_license(self, actor: str, activation_id: str, email: str) -> dict[str, Any]:
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            lic, bank, address = self._check_return(db, me, activation_id, email)
            self._write_return(db, me, lic, address)
            self._queue_license_notice(db, me, address, "returned", [lic])
            lic["assignee"] = None
            return self._license_row(lic, bank)

    def _write_return(self, db: Any, me: dict[str, Any], lic: dict[str, Any], address: str) -> None:
        """What a return writes (single or in a batch): the license unassigned, its activity entry."""
        db.update(T_LICENSES, {"assignee": None}, activation_id=lic["activation_id"])
        self._log(db, me["organization"], me["email"], "license-return", lic["activation_id"], f"returned by {address}; no credits come back")

    def _quote_assign(self, db: View, me: dict[str, Any], activation_id: str, email: str) -> AssignQuote:
        """What assigning a returned license to `email` does; every refusal raised here."""
        lic = self._org_license(db, me, activation_id)
        bank = self._org_bank(db, me, lic["bank"])
        refusal = assign_refusal(self._license_row(lic, bank))
        if refusal:
            raise RuleViolation(refusal)
        address, invites = self._recipient(db, me, email)
        return AssignQuote(
            activation_id=lic["activation_id"], product=lic["product"], type=lic["type"], computers=lic["computers"],
            expires_on=lic["expires_on"], email=address, invites=invites,
        )

    def quote_assign(self, actor: str, activation_id: str, email: str) -> AssignQuote:
        """What assigning a returned license would do (the recipient invited or not), or the
        refusal (another organization's member, an inactive user, ...); writes nothing."""
        db = self.store.read()
        me = self._actor(db, actor)
        return self._quote_assign(db, me, activation_id, email)

    def assign_license(
        self, actor: str, activation_id: str, email: str, expected: Any = None
    ) -> dict[str, Any]:
        """Assign a returned license. `expected`: the quote the admin confirmed; if the data changed
        since, StaleQuote(fresh=quote as it stands now) and nothing is written."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            quote = self._quote_assign(db, me, activation_id, email)
            keep_promise(expected, quote)
            lic = self._org_license(db, me, activation_id)
            bank = self._org_bank(db, me, lic["bank"])
            address = quote["email"]
            self._write_assign(db, me, lic, quote)
            self._queue_license_notice(db, me, address, "reassigned", [lic])
            return self._license_row(lic, bank)

    def _write_assign(self, db: Any, me: dict[str, Any], lic: dict[str, Any], quote: AssignQuote) -> None:
        """What an assignment writes (single or in a batch): the invitation when the quote says
        so, the license assigned, its activity entry; `lic` is updated in place."""
        address = quote.email
        if quote.invites:
            self._invite_in(db, me, address, f"to receive license {lic['activation_id']}", reason="license",
                            about=lic["activation_id"])
        db.update(T_LICENSES, {"assignee": address}, activation_id=lic["activation_id"])
        self._log(db, me["organization"], me["email"], "license-assign", lic["activation_id"], f"assigned to {address}")
        lic["assignee"] = address

    # -- lists and export --------------------------------------------------------
    def _license_row(
        self, lic: dict[str, Any], bank: dict[str, Any], today_iso: str | None = None, blocked: Any = ...,
    ) -> dict[str, Any]:
        today_iso = today_iso or self.today().isoformat()
        return {
            "activation_id": lic["activation_id"],
            "product": lic["product"],
            "bank": lic["bank"],
            "type": lic["type"],
            "computers": lic["computers"],
            "assignee": lic.get("assignee"),
            "start": lic["start"],
            "expires_on": lic["expires_on"],
            "status": license_status(lic, today_iso),
            "credits_used": lic["credits_used"],
            "term_months": lic.get("term_months"),  # None for a license of an older store: see license_term
            "bank_start": bank["start"],
            "bank_expires_on": bank["expires_on"],
            "return_blocked": return_blocked_reason(bank) if blocked is ... else blocked,
        }

    def license_actions(self, actor: str, activation_id: str) -> dict[str, str | None]:
        """Which actions the license allows now: {"renew" | "return" | "assign": None when
        available, else the one sentence the commit would refuse with}. Read fresh from the store."""
        db = self.store.read()
        me = self._actor(db, actor)
        lic = self._org_license(db, me, activation_id)
        return license_row_actions(self._license_row(lic, self._org_bank(db, me, lic["bank"])))

    @staticmethod
    def license_term(row: dict[str, Any]) -> int:
        """What a renewal of this license (a `list_licenses` row) repeats by default: its current term in months."""
        return license_term(row)

    @staticmethod
    def license_row_actions(row: dict[str, Any]) -> dict[str, str | None]:
        """The same answer for a row `list_licenses` returned (no store read: a table's highlight)."""
        return license_row_actions(row)

    def list_licenses(self, actor: str) -> list[dict[str, Any]]:
        db = self.store.read()
        me = self._actor(db, actor)
        org = me["organization"]
        banks = {b["id"]: b for b in db.find(T_BANKS, organization=org)}
        blocked = {bank_id: return_blocked_reason(bank) for bank_id, bank in banks.items()}  # once per bank, not per row
        today_iso = self.today().isoformat()
        out = [
            self._license_row(lic, banks[lic["bank"]], today_iso, blocked[lic["bank"]])
            for lic in db.find(T_LICENSES, copy=False, organization=org)
        ]
        out.sort(key=lambda r: (r["expires_on"], r["activation_id"]), reverse=True)
        return out

    def export_csv(self, actor: str, only: Collection[str] | None = None) -> str:
        """Every license of the actor's organization as CSV; `only`: just these activation IDs
        (the rows a filter shows)."""
        db = self.store.read()
        org = self._actor(db, actor)["organization"]
        banks = {b["id"]: b for b in db.find(T_BANKS, organization=org)}
        today_iso = self.today().isoformat()
        licenses = db.find(T_LICENSES, copy=False, organization=org)
        if only is not None:
            licenses = [lic for lic in licenses if lic["activation_id"] in only]
        licenses.sort(key=itemgetter("expires_on", "activation_id"), reverse=True)  # as list_licenses
        lines = [csv_row(CSV_COLUMNS)]
        commas = len(CSV_COLUMNS) - 1
        for lic in licenses:
            bank = banks[lic["bank"]]
            cells = [lic["activation_id"], lic["product"], lic["type"], str(lic["computers"]), lic.get("assignee") or "",
                     lic["start"], lic["expires_on"], license_status(lic, today_iso), str(lic["credits_used"]),
                     lic["bank"], bank["start"], bank["expires_on"]]
            line = ",".join(cells)
            if line.count(",") == commas and not _needs_care(line):
                lines.append(line + "\n")  # the usual row: no cell to neutralise or quote
            else:
                lines.append(csv_row([neutralise_cell(cell) for cell in cells]))
        return "".join(lines)
