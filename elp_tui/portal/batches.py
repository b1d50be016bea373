"""Many at once (issue 13): renew, return and assign many licenses, import users from a CSV file.

A batch is one quote and one commit. The quote runs each row through the very rules of the
single operation (`_quote_renew`, `_check_return`, `_quote_assign`, `_check_invite`,
`_quote_team_add`), so a refused row says the same sentence a single operation would; and it
counts what the rows before it take, so two renewals from one bank do not both fit when only one
does (the second is refused with the bank's reason), and two members do not take the last seat.

The commit re-quotes in its one store transaction: if the fresh quote promises something else
than the confirmed one (a row allowed or refused otherwise, another expiry, another recipient),
`StaleQuote` carries the fresh batch quote and nothing is written. Mode `allowed` (the default)
commits the allowed rows; mode `all` ("all or nothing") writes nothing if any row is refused.

Each license (or member) gets the activity entries its single operation writes, so its details
and history show them; the batch adds one entry of its own listing them. That entry carries no
credits or seats of its own (the per-license entries do): summing the log counts nothing twice.
No textual import here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

from pydantic import BaseModel

from elp_tui.i18n import _, ngettext
from elp_tui.models import Role
from elp_tui.portal.base import T_HOLDERS, T_LICENSES, T_POOLS, PortalBase, normalise_email, positive_int
from elp_tui.portal.credits import license_status, license_term, renewal_short, return_refusal
from elp_tui.portal.errors import InvalidInput, PortalError, RuleViolation, StaleQuote
from elp_tui.i18n import number as grouped
from elp_tui.portal.inputs import check_text, name_key, shown
from elp_tui.portal.quotes import STALE, AssignQuote, Quote, RenewQuote, promise
from elp_tui.portal.seats import no_unused_seat
from elp_tui.store.repository import View

# The two commit modes.
ALLOWED_ONLY = "allowed"
ALL_OR_NOTHING = "all"
MODES = (ALLOWED_ONLY, ALL_OR_NOTHING)
# A batch file: at most this many bytes and rows (a spreadsheet of a team, not a database dump).
MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 5_000
# The first cell of a header row, lower case without spaces, dashes or underscores.
ASSIGN_HEADERS = {"activationid", "activation", "license", "licence", "id"}
USERS_HEADERS = {"email", "emailaddress", "mail", "address", "user"}
TEAM_SEPARATOR = ";"


class CsvRow(NamedTuple):
    """One record of a batch file: its row number as a spreadsheet shows it (the header is row 1)
    and its cells."""

    row: int
    cells: list[str]


# -- the quotes --------------------------------------------------------------------------------
class BatchRefusal(BaseModel):
    """A row the batch leaves out, and why (the single operation's sentence)."""

    ref: str  # the activation ID or email as given (or as stored, once recognised)
    reason: str
    row: int | None = None  # its row in the file, for a batch read from one

    def label(self) -> str:
        return _("row {row}: {ref}").format(row=self.row, ref=self.ref) if self.row else self.ref


class BankTotal(BaseModel):
    bank: str
    product: str
    licenses: int
    credits: int
    remaining_before: int
    remaining_after: int


def _refused_lines(refused: list[BatchRefusal]) -> list[tuple[str, str]]:
    return [(r.label(), _("refused: {reason}").format(reason=r.reason)) for r in refused]


class BatchQuote(Quote):
    """What every batch quote has: the refused rows; `promise()` is what its commit re-checks."""

    refused: list[BatchRefusal]

    def promise(self) -> Any:
        raise NotImplementedError

    def allowed_count(self) -> int:
        raise NotImplementedError

    def total(self) -> int:
        return self.allowed_count() + len(self.refused)


class BatchRenewQuote(BatchQuote):
    activation_ids: list[str]  # as asked
    months: int | None  # as asked: None = each license's current term
    allowed: list[RenewQuote]  # remaining_before/after: the bank's, cumulative across the batch
    banks: list[BankTotal]
    credits: int

    def promise(self) -> Any:
        return {"months": self.months, "allowed": [promise(q) for q in self.allowed],
                "refused": [r.ref for r in self.refused]}

    def allowed_count(self) -> int:
        return len(self.allowed)

    def lines(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for b in self.banks:
            rows.append((_("Bank {bank}").format(bank=b.bank), _("{credits} credit(s) for {n} license(s), remaining {before} → {after}").format(
                credits=b.credits, n=b.licenses, before=b.remaining_before, after=b.remaining_after)))
        for q in self.allowed:
            expiry = f"{q.expires_before.isoformat()} → {q.expires_after.isoformat()}"
            if q.cut_by_bank:
                expiry += " " + _("(cut short by bank {bank}; {months} months asked)").format(bank=q.bank, months=q.months)
            rows.append((q.activation_id, _("{expiry}, {credits} credit(s) from {bank}").format(
                expiry=expiry, credits=q.credits, bank=q.bank)))
        rows += _refused_lines(self.refused)
        rows.append((_("Credits to deduct"), str(self.credits)))
        return rows


class ReturnRow(Quote):
    activation_id: str
    product: str
    type: str
    computers: int
    expires_on: str
    email: str  # who holds it now and gets the notice


class BatchReturnQuote(BatchQuote):
    activation_ids: list[str]
    allowed: list[ReturnRow]

    def promise(self) -> Any:
        return {"allowed": [r.model_dump() for r in self.allowed], "refused": [r.ref for r in self.refused]}

    def allowed_count(self) -> int:
        return len(self.allowed)

    def lines(self) -> list[tuple[str, str]]:
        rows = [(r.activation_id, _("returned by {email} (expires on {date}; no credits come back)").format(
            email=r.email, date=r.expires_on)) for r in self.allowed]
        return rows + _refused_lines(self.refused)


class AssignAsk(BaseModel):
    activation_id: str
    email: str
    row: int | None = None
    cells: int = 0  # how many cells the row has, when it has too many (refused)


class BatchAssignQuote(BatchQuote):
    asked: list[AssignAsk]
    allowed: list[AssignQuote]

    def promise(self) -> Any:
        return {"allowed": [q.model_dump() for q in self.allowed], "refused": [(r.row, r.ref) for r in self.refused]}

    def allowed_count(self) -> int:
        return len(self.allowed)

    def lines(self) -> list[tuple[str, str]]:
        rows = []
        for q in self.allowed:
            to = q.email + (" " + _("(will be invited)") if q.invites else "")
            rows.append((q.activation_id, _("{product}, expires on {date} → {email}").format(
                product=q.product, date=q.expires_on, email=to)))
        return rows + _refused_lines(self.refused)


class ImportAsk(BaseModel):
    email: str
    role: str = ""
    teams: str = ""
    row: int | None = None
    cells: int = 0  # how many cells the row has, when it has too many (refused)


class ImportRow(BaseModel):
    email: str
    role: str
    teams: list[str]  # the teams they will join (a member already in one is not asked again)
    seats: list[str]  # the seat pools (products) where they take an unused seat
    row: int | None = None
    note: str | None = None


class PoolTotal(BaseModel):
    product: str
    taken: int
    unused_before: int
    unused_after: int


class UsersImportQuote(BatchQuote):
    asked: list[ImportAsk]
    new: list[ImportRow]  # invited, then joining their teams
    members: list[ImportRow]  # already members: joining the teams they are not in yet (maybe none)
    pools: list[PoolTotal]

    def promise(self) -> Any:
        return {"new": [r.model_dump(exclude={"note"}) for r in self.new],
                "members": [r.model_dump(exclude={"note"}) for r in self.members],
                "refused": [(r.row, r.ref) for r in self.refused]}

    def allowed_count(self) -> int:
        return len(self.new) + len(self.members)

    def changes(self) -> int:
        """Rows that write something: the new members, and members joining a team."""
        return len(self.new) + sum(1 for r in self.members if r.teams)

    def lines(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for r in self.new:
            what = _("new: invited as {role}").format(role=r.role)
            if r.teams:
                what += ", " + _("joins {teams}").format(teams=", ".join(r.teams))
            rows.append((_label(r.row, r.email), what))
        for r in self.members:
            what = _("already there")
            if r.teams:
                what += ", " + _("joins {teams}").format(teams=", ".join(r.teams))
            if r.note:
                what += " (" + r.note + ")"
            rows.append((_label(r.row, r.email), what))
        rows += _refused_lines(self.refused)
        for p in self.pools:
            rows.append((_("Seat pool {product}").format(product=p.product),
                         _("{taken} seat(s) taken, unused {before} → {after}").format(
                             taken=p.taken, before=p.unused_before, after=p.unused_after)))
        return rows


def _label(row: int | None, ref: str) -> str:
    return _("row {row}: {ref}").format(row=row, ref=ref) if row else ref


# -- reading a batch file ---------------------------------------------------------------------
def _header_key(cell: str) -> str:
    return "".join(ch for ch in cell.lower() if ch not in " -_.")


def read_batch_file(name: str) -> bytes:
    """The bytes of the batch file at `name` (`~` expanded), at most one more than a batch file may
    hold (so that read_batch_csv says it is too large); or InvalidInput saying why it cannot be read.
    The CLI and the app's import form both read through here."""
    path = Path(name).expanduser()
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_CSV_BYTES + 1)
    except IsADirectoryError:
        raise InvalidInput(_("{file} is a folder, not a CSV file: nothing was changed.").format(file=name)) from None
    except OSError as exc:
        raise InvalidInput(_("cannot read {file} ({reason}): nothing was changed.").format(
            file=name, reason=exc.strerror or exc)) from None


def read_batch_csv(data: bytes, name: str, kind: str) -> list[CsvRow]:
    """The records of a batch file (`kind`: "assign": activation ID, email; "users": email, role,
    teams), its header row (optional) left out; or InvalidInput, one sentence naming the file,
    when it is too large, not UTF-8, not CSV, or holds no row. A hostile cell is not refused here:
    its row is, by the operation's own checks, with its row number."""
    expected = _("activation ID, email") if kind == "assign" else _("email, role, teams")
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput(_("{file} is {size} bytes; a batch file holds at most {limit}: split it into smaller files.").format(
            file=name, size=grouped(len(data)), limit=grouped(MAX_CSV_BYTES)))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(_("{file} is not UTF-8 text (byte {at} is not): save it as \"CSV UTF-8\" and try again.").format(
            file=name, at=grouped(exc.start + 1))) from None
    if text.count("\x00") * 10 > len(text):  # UTF-16, a spreadsheet's own format: a NUL or two is a hostile cell
        raise InvalidInput(_("{file} is not a CSV file (it holds binary data): export the sheet as CSV with the columns {columns}.").format(
            file=name, columns=expected))
    records: list[CsvRow] = []
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), strict=True), start=1):
            if not any(c.strip() for c in cells):
                continue
            if len(records) >= MAX_CSV_ROWS:
                raise InvalidInput(_("{file} has more than {limit} rows: split it into smaller files.").format(
                    file=name, limit=grouped(MAX_CSV_ROWS)))
            records.append(CsvRow(number, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise InvalidInput(_("{file} is not a readable CSV file ({reason}): export the sheet as CSV with the columns {columns}.").format(
            file=name, reason=str(exc), columns=expected)) from None
    headers = ASSIGN_HEADERS if kind == "assign" else USERS_HEADERS
    if records and _header_key(records[0].cells[0]) in headers:
        records = records[1:]
    if not records:
        raise InvalidInput(_("{file} holds no rows: one row per line, with the columns {columns}.").format(
            file=name, columns=expected))

    def looks_right(record: CsvRow) -> bool:
        cells = record.cells
        if kind == "assign":
            return len(cells) >= 2 and "@" in cells[1]
        return "@" in cells[0]

    if not any(looks_right(r) for r in records):
        raise InvalidInput(_("{file} does not look like a CSV file with the columns {columns}: no row has an email where one belongs.").format(
            file=name, columns=expected))
    return records


def _extra_cells(record: CsvRow, limit: int) -> int:
    """How many cells the row has when it has more than `limit` filled ones (0: it fits)."""
    return len(record.cells) if any(c for c in record.cells[limit:]) else 0


def assign_asks(records: Iterable[CsvRow | tuple[str, str]]) -> list[AssignAsk]:
    """The pairs of a batch assignment: file records, or (activation ID, email) pairs."""
    asks = []
    for item in records:
        if isinstance(item, CsvRow):
            cells = item.cells + ["", ""]
            asks.append(AssignAsk(activation_id=cells[0], email=cells[1], row=item.row, cells=_extra_cells(item, 2)))
        else:
            asks.append(AssignAsk(activation_id=item[0], email=item[1]))
    return asks


def import_asks(records: Iterable[CsvRow | dict[str, Any]]) -> list[ImportAsk]:
    asks = []
    for item in records:
        if isinstance(item, CsvRow):
            cells = item.cells + ["", "", ""]
            asks.append(ImportAsk(email=cells[0], role=cells[1], teams=cells[2], row=item.row, cells=_extra_cells(item, 3)))
        else:
            asks.append(ImportAsk(**item))
    return asks


# -- the operations ---------------------------------------------------------------------------
class BatchesMixin(PortalBase):
    # -- choosing licenses ------------------------------------------------------
    def licenses_expiring(self, actor: str, within_days: Any, *, product: str | None = None, bank: str | None = None,
                          assignee: str | None = None) -> list[str]:
        """The activation IDs of the licenses that have not expired and expire within `within_days`
        days from today (filtered by product, bank, assignee), soonest first: what `elp licenses
        renew --expiring-within` renews. Returned ones are listed too: the quote says why they are not renewed."""
        days = positive_int(within_days, _("Days"), minimum=0)
        db = self.store.read()
        me = self._actor(db, actor)
        today = self.today()
        last = (today + dt.timedelta(days=days)).isoformat()
        today_iso = today.isoformat()
        wanted_product = name_key(check_text(product, _("The product name"))) if product else None
        wanted_bank = self._org_bank(db, me, bank)["id"] if bank else None  # type: ignore[attr-defined]
        wanted_assignee = normalise_email(assignee) if assignee else None
        chosen = []
        for lic in db.find(T_LICENSES, copy=False, organization=me["organization"]):
            if license_status(lic, today_iso) == "expired" or lic["expires_on"] > last:
                continue
            if wanted_product and name_key(lic["product"]) != wanted_product:
                continue
            if wanted_bank and lic["bank"] != wanted_bank:
                continue
            if wanted_assignee and lic.get("assignee") != wanted_assignee:
                continue
            chosen.append(lic)
        chosen.sort(key=lambda lic: (lic["expires_on"], lic["activation_id"]))
        return [lic["activation_id"] for lic in chosen]

    # -- renew ------------------------------------------------------------------
    def _quote_batch_renew(self, db: View, me: dict[str, Any], activation_ids: Sequence[str], months: Any) -> BatchRenewQuote:
        if months not in (None, ""):
            months = positive_int(months, _("Months"))  # a wrong --months refuses the whole batch, as it would one
        else:
            months = None
        allowed: list[RenewQuote] = []
        refused: list[BatchRefusal] = []
        spent: dict[str, int] = defaultdict(int)
        first_remaining: dict[str, int] = {}
        seen: set[str] = set()
        for asked in activation_ids:
            try:
                lic = self._org_license(db, me, asked)  # type: ignore[attr-defined]
                aid = lic["activation_id"]
                if aid in seen:
                    raise RuleViolation(_("License {id} is listed twice in this batch: it is renewed once.").format(id=aid))
                quote = self._quote_renew(db, me, aid, months or license_term(lic), None)  # type: ignore[attr-defined]
                left = quote.remaining_before - spent[quote.bank]
                if quote.credits > left:  # what the rows before it take from the same bank
                    raise RuleViolation(renewal_short(quote.bank, left, quote.credits))
            except PortalError as exc:
                refused.append(BatchRefusal(ref=str(asked), reason=str(exc)))
                continue
            seen.add(aid)
            first_remaining.setdefault(quote.bank, quote.remaining_before)
            allowed.append(quote.model_copy(update={"remaining_before": left, "remaining_after": left - quote.credits}))
            spent[quote.bank] += quote.credits
        banks = []
        for bank_id, before in first_remaining.items():
            rows = [q for q in allowed if q.bank == bank_id]
            banks.append(BankTotal(bank=bank_id, product=rows[0].product, licenses=len(rows), credits=spent[bank_id],
                                   remaining_before=before, remaining_after=before - spent[bank_id]))
        banks.sort(key=lambda b: b.bank)
        return BatchRenewQuote(activation_ids=[str(a) for a in activation_ids], months=months, allowed=allowed,
                               refused=refused, banks=banks, credits=sum(spent.values()))

    def quote_batch_renew(self, actor: str, activation_ids: Sequence[str], *, months: Any = None) -> BatchRenewQuote:
        """What renewing these licenses would do, each for `months` (None: each its current term):
        the allowed rows with their new expiry, the refused rows and why, the totals per bank."""
        db = self.store.read()
        return self._quote_batch_renew(db, self._actor(db, actor), activation_ids, months)

    def batch_renew(self, actor: str, quote: BatchRenewQuote, mode: str = ALLOWED_ONLY) -> BatchRenewQuote:
        """Renew the allowed licenses of the confirmed `quote` in one transaction (mode "all": none
        if any is refused). Returns the quote as committed."""
        check_mode(mode)
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            fresh = self._quote_batch_renew(db, me, quote.activation_ids, quote.months)
            keep_batch_promise(quote, fresh, mode, _("renewed"))
            notices: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for q in fresh.allowed:
                updated = self._write_renewal(db, me, q)  # type: ignore[attr-defined]
                if updated.get("assignee"):
                    notices[(updated["assignee"], updated["product"])].append(updated)
            for (to, _product), licenses in notices.items():
                self._queue_license_notice(db, me, to, "renewed", licenses)
            per_bank = "; ".join(f"{b.credits} credits from {b.bank} ({b.remaining_before} -> {b.remaining_after})"
                                 for b in fresh.banks)
            self._log_batch(db, me, "license-batch-renew", [q.activation_id for q in fresh.allowed],
                            f"{len(fresh.allowed)} license(s) renewed: {per_bank}", fresh.refused)
            return fresh

    # -- return -----------------------------------------------------------------
    def _quote_batch_return(self, db: View, me: dict[str, Any], activation_ids: Sequence[str]) -> BatchReturnQuote:
        allowed: list[ReturnRow] = []
        refused: list[BatchRefusal] = []
        seen: set[str] = set()
        for asked in activation_ids:
            try:
                lic = self._org_license(db, me, asked)  # type: ignore[attr-defined]
                aid = lic["activation_id"]
                if aid in seen:
                    raise RuleViolation(_("License {id} is listed twice in this batch: it is returned once.").format(id=aid))
                bank = self._org_bank(db, me, lic["bank"])  # type: ignore[attr-defined]
                refusal = return_refusal(self._license_row(lic, bank))  # type: ignore[attr-defined]
                if refusal:
                    raise RuleViolation(refusal)
                lic, bank, address = self._check_return(db, me, aid, lic["assignee"])  # type: ignore[attr-defined]
            except PortalError as exc:
                refused.append(BatchRefusal(ref=str(asked), reason=str(exc)))
                continue
            seen.add(aid)
            allowed.append(ReturnRow(activation_id=aid, product=lic["product"], type=lic["type"], computers=lic["computers"],
                                     expires_on=lic["expires_on"], email=address))
        return BatchReturnQuote(activation_ids=[str(a) for a in activation_ids], allowed=allowed, refused=refused)

    def quote_batch_return(self, actor: str, activation_ids: Sequence[str]) -> BatchReturnQuote:
        """What taking these licenses back from whoever holds them would do, and which are refused."""
        db = self.store.read()
        return self._quote_batch_return(db, self._actor(db, actor), activation_ids)

    def batch_return(self, actor: str, quote: BatchReturnQuote, mode: str = ALLOWED_ONLY) -> BatchReturnQuote:
        check_mode(mode)
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            fresh = self._quote_batch_return(db, me, quote.activation_ids)
            keep_batch_promise(quote, fresh, mode, _("returned"))
            notices: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for r in fresh.allowed:
                lic = self._org_license(db, me, r.activation_id)  # type: ignore[attr-defined]
                self._write_return(db, me, lic, r.email)  # type: ignore[attr-defined]
                notices[(r.email, lic["product"])].append(lic)
            for (to, _product), licenses in notices.items():
                self._queue_license_notice(db, me, to, "returned", licenses)
            self._log_batch(db, me, "license-batch-return", [r.activation_id for r in fresh.allowed],
                            f"{len(fresh.allowed)} license(s) returned; no credits come back", fresh.refused)
            return fresh

    # -- assign -----------------------------------------------------------------
    def _quote_batch_assign(self, db: View, me: dict[str, Any], asks: list[AssignAsk]) -> BatchAssignQuote:
        allowed: list[AssignQuote] = []
        refused: list[BatchRefusal] = []
        first_row: dict[str, int | None] = {}
        invited: set[str] = set()
        for ask in asks:
            try:
                if ask.cells:
                    raise InvalidInput(_("This row has {n} cells; a row holds an activation ID and an email.").format(n=ask.cells))
                if not ask.activation_id.strip() or not ask.email.strip():
                    raise InvalidInput(_("This row lacks {what}: a row holds an activation ID and an email.").format(
                        what=_("the email") if ask.activation_id.strip() else _("the activation ID")))
                quote = self._quote_assign(db, me, ask.activation_id, ask.email)  # type: ignore[attr-defined]
                if quote.activation_id in first_row:
                    raise RuleViolation(_("License {id} is listed twice (first on row {row}): only that row counts.").format(
                        id=quote.activation_id, row=first_row[quote.activation_id] or "?"))
            except PortalError as exc:
                refused.append(BatchRefusal(ref=ask.activation_id, reason=str(exc), row=ask.row))
                continue
            first_row[quote.activation_id] = ask.row
            if quote.invites and quote.email in invited:  # invited by an earlier row of this batch
                quote = quote.model_copy(update={"invites": False})
            if quote.invites:
                invited.add(quote.email)
            allowed.append(quote)
        return BatchAssignQuote(asked=asks, allowed=allowed, refused=refused)

    def quote_batch_assign(self, actor: str, pairs: Iterable[CsvRow | tuple[str, str]]) -> BatchAssignQuote:
        """What assigning each returned license to its email would do (pairs, or the records of
        `read_batch_csv(..., "assign")`), and which rows are refused."""
        db = self.store.read()
        return self._quote_batch_assign(db, self._actor(db, actor), assign_asks(pairs))

    def batch_assign(self, actor: str, quote: BatchAssignQuote, mode: str = ALLOWED_ONLY) -> BatchAssignQuote:
        check_mode(mode)
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            fresh = self._quote_batch_assign(db, me, quote.asked)
            keep_batch_promise(quote, fresh, mode, _("assigned"))
            notices: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for q in fresh.allowed:
                lic = self._org_license(db, me, q.activation_id)  # type: ignore[attr-defined]
                self._write_assign(db, me, lic, q)  # type: ignore[attr-defined]
                notices[(q.email, lic["product"])].append(lic)
            for (to, _product), licenses in notices.items():
                self._queue_license_notice(db, me, to, "reassigned", licenses)
            recipients = sorted({q.email for q in fresh.allowed})
            self._log_batch(db, me, "license-batch-assign", [q.activation_id for q in fresh.allowed],
                            f"{len(fresh.allowed)} license(s) assigned to {', '.join(recipients)}", fresh.refused)
            return fresh

    # -- users import -----------------------------------------------------------
    def _quote_users_import(self, db: View, me: dict[str, Any], asks: list[ImportAsk]) -> UsersImportQuote:
        new: list[ImportRow] = []
        members: list[ImportRow] = []
        refused: list[BatchRefusal] = []
        first_row: dict[str, int | None] = {}
        taken: dict[str, int] = defaultdict(int)  # pool id -> seats taken by the rows before
        holders: set[tuple[str, str]] = set()  # (pool id, email) seats taken by the rows before
        pools_seen: dict[str, tuple[str, int]] = {}  # pool id -> (product, unused before the batch)
        for ask in asks:
            try:
                if ask.cells:
                    raise InvalidInput(_("This row has {n} cells; a row holds an email, a role and the teams: put several "
                                         "teams in one cell, separated by ';'.").format(n=ask.cells))
                address = normalise_email(ask.email)
                if address in first_row:
                    raise RuleViolation(_("{email} is listed twice (first on row {row}): only that row counts.").format(
                        email=address, row=first_row[address] or "?"))
                role = check_text(ask.role, _("The role")).strip().lower() or Role.regular.value
                if role not in (Role.admin.value, Role.regular.value):
                    raise InvalidInput(_("Role {role!r} is unknown: use admin or regular.").format(role=role))
                user = self._user(db, address)
                note = None
                if user is None or user.get("organization") != me["organization"]:
                    self._check_invite(db, me, address, role)  # type: ignore[attr-defined]  # another organization's: refused
                elif user["role"] != role:
                    note = _("role stays {role}: 'elp users set-role' changes it").format(role=user["role"])
                names = [n.strip() for n in check_text(ask.teams, _("The teams")).split(TEAM_SEPARATOR) if n.strip()]
                joins: list[str] = []
                seats: list[str] = []
                row_taken: list[str] = []
                team_ids: set[str] = set()
                for name in names:
                    team = self._team(db, me["organization"], name)  # type: ignore[attr-defined]
                    if team["id"] in team_ids or (user is not None and address in team["members"]):
                        continue  # named twice, or already in it: nothing to do
                    team_ids.add(team["id"])
                    tq = self._quote_team_add(db, me, team, address)  # type: ignore[attr-defined]
                    pool = team["pool"]
                    if pool not in pools_seen:
                        pools_seen[pool] = (tq.product, tq.unused_before)
                    if tq.takes_seat and (pool, address) not in holders and pool not in row_taken:
                        if tq.unused_before - taken[pool] <= 0:
                            pool_doc = db.get(T_POOLS, id=pool)
                            assert pool_doc is not None
                            row = self._pool_row(db, pool_doc)  # type: ignore[attr-defined]
                            row["pending"] += taken[pool]  # the members this batch adds are pending
                            raise RuleViolation(no_unused_seat(row))
                        row_taken.append(pool)
                        seats.append(tq.product)
                    joins.append(team["name"])
            except PortalError as exc:
                refused.append(BatchRefusal(ref=ask.email, reason=str(exc), row=ask.row))
                continue
            first_row[address] = ask.row
            for pool in row_taken:
                taken[pool] += 1
                holders.add((pool, address))
            entry = ImportRow(email=address, role=role if user is None else user["role"], teams=joins, seats=seats,
                              row=ask.row, note=note)
            (new if user is None else members).append(entry)
        pools = [PoolTotal(product=product, taken=taken[pool], unused_before=before, unused_after=before - taken[pool])
                 for pool, (product, before) in pools_seen.items()]
        pools.sort(key=lambda p: p.product)
        return UsersImportQuote(asked=asks, new=new, members=members, refused=refused, pools=pools)

    def quote_users_import(self, actor: str, rows: Iterable[CsvRow | dict[str, Any]]) -> UsersImportQuote:
        """What importing these rows (email, role, teams separated by ';') would do: who is new
        (invited, joining their teams), who is already there, which rows are refused and why."""
        db = self.store.read()
        return self._quote_users_import(db, self._actor(db, actor), import_asks(rows))

    def users_import(self, actor: str, quote: UsersImportQuote, mode: str = ALLOWED_ONLY) -> UsersImportQuote:
        check_mode(mode)
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            fresh = self._quote_users_import(db, me, quote.asked)
            keep_batch_promise(quote, fresh, mode, _("imported"), writes=fresh.changes())
            for r in fresh.new:
                self._invite_in(db, me, r.email, role=Role(r.role))
            for r in fresh.new + fresh.members:
                for name in r.teams:
                    team = self._team(db, me["organization"], name)  # type: ignore[attr-defined]
                    pool_doc = db.get(T_POOLS, id=team["pool"]) or {}
                    takes = pool_doc.get("product") in r.seats and not db.exists(T_HOLDERS, pool=team["pool"], email=r.email)
                    self._write_team_add(db, me, team, r.email, takes)  # type: ignore[attr-defined]
            invited = ", ".join(r.email for r in fresh.new) or "nobody"
            joined = ", ".join(f"{r.email} ({', '.join(r.teams)})" for r in fresh.new + fresh.members if r.teams) or "nobody"
            self._log_batch(db, me, "users-import", [], f"invited {invited}; joined teams: {joined}", fresh.refused,
                            target=f"{len(fresh.asked)} row(s)")
            return fresh

    # -- the batch's own activity entry ------------------------------------------
    def _log_batch(self, db: Any, me: dict[str, Any], action: str, ids: list[str], details: str,
                   refused: list[BatchRefusal], *, target: str | None = None) -> None:
        if refused:
            details += f"; {len(refused)} refused: " + ", ".join(f"row {r.row}" if r.row else _logged(r.ref) for r in refused)
        self._log(db, me["organization"], me["email"], action, ", ".join(ids) if target is None else target, details)


def _logged(ref: str) -> str:
    """A refused row's reference as the activity log keeps it: as given when it is clean text,
    else quoted with its escapes visible (the log never stores what a terminal would run)."""
    try:
        return check_text(ref, "", limit=60)
    except InvalidInput:
        return shown(ref)


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InvalidInput(_("Batch mode {mode!r} is unknown: use allowed (the allowed rows only) or all (all or nothing).").format(
            mode=mode))


def keep_batch_promise(expected: BatchQuote | None, fresh: BatchQuote, mode: str, done: str,
                       writes: int | None = None) -> None:
    """The batch's re-check, in its commit's transaction: a confirmed quote that no longer holds
    is stale (StaleQuote with the fresh one); all or nothing with a refused row, or nothing to
    do, is refused. `done`: the past participle of the operation ("renewed") for the refusals."""
    if expected is not None and expected.promise() != fresh.promise():
        raise StaleQuote(_(STALE), fresh)
    if mode == ALL_OR_NOTHING and fresh.refused:
        first = fresh.refused[0]
        raise RuleViolation(ngettext(
            "All or nothing: {n} of {total} rows would be refused, so nothing was {done}. {label}: {reason}",
            "All or nothing: {n} of {total} rows would be refused, so nothing was {done}. First, {label}: {reason}",
            len(fresh.refused),
        ).format(n=len(fresh.refused), total=fresh.total(), done=done, label=first.label(), reason=first.reason))
    if (fresh.allowed_count() if writes is None else writes) == 0:
        if fresh.refused:
            first = fresh.refused[0]
            raise RuleViolation(_("Nothing to do: every row is refused, so nothing was {done}. {label}: {reason}").format(
                done=done, label=first.label(), reason=first.reason))
        raise RuleViolation(_("Nothing to do: no row changes anything, so nothing was {done}.").format(done=done))
