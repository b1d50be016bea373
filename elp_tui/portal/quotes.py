"""What a confirmation shows: computed by the portal, re-checked when committed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from elp_tui.i18n import N_, _
from elp_tui.models import LicenseType
from elp_tui.portal.errors import StaleQuote

# How a quote (and a refusal) names a license type.
TYPE_NAMES = {"node-lock": N_("node-lock"), "multiseat": N_("multiseat"), "floating": N_("floating")}


def cut_note(months: int) -> str:
    """Why the expiry is earlier than asked."""
    return _("(cut by the bank's expiry; {months} months asked)").format(months=months)


def credits_detail(credits: int, computers: int, months: int) -> str:
    return _("{credits} ({computers} computer(s) x {months} month(s))").format(credits=credits, computers=computers, months=months)


class GenerateQuote(BaseModel):
    bank: str
    product: str
    type: LicenseType
    months: int
    quantity: int
    start: dt.date
    email: str
    licenses: int  # how many licenses will be created
    computers: int  # computers per license
    expires_on: dt.date
    cut_by_bank: bool  # expiry capped at the bank's expiry
    bank_expires_on: dt.date
    months_charged: int
    credits: int
    remaining_before: int
    remaining_after: int
    invites_recipient: bool  # recipient is not a member yet: the action invites them

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs in the order a confirmation lists them, in the current language."""
        expiry = self.expires_on.isoformat()
        if self.cut_by_bank:
            expiry += " " + cut_note(self.months)
        recipient = self.email
        if self.invites_recipient:
            recipient += " " + _("(will be invited)")
        rows = [
            (_("Product"), self.product),
            (_("Bank"), self.bank),
            (_("Licenses to create"), str(self.licenses)),
            (_("Type"), _(TYPE_NAMES[self.type.value])),
            (_("Computers per license"), str(self.computers)),
            (_("Start"), self.start.isoformat()),
            (_("Expires on"), expiry),
            (_("Recipient"), recipient),
            (_("Credits to deduct"), credits_detail(self.credits, self.licenses * self.computers, self.months_charged)),
            (_("Bank remaining"), f"{self.remaining_before} → {self.remaining_after}"),
        ]
        return rows


class RenewQuote(BaseModel):
    activation_id: str
    bank: str
    product: str
    type: LicenseType
    months: int
    computers_before: int
    computers_after: int
    expires_before: dt.date
    expires_after: dt.date
    cut_by_bank: bool
    bank_expires_on: dt.date
    months_charged: int
    credits_renewal: int  # computers_after x months covered
    credits_added_computers: int  # added computers x rest of the current term
    term_months_left: int
    credits: int
    remaining_before: int
    remaining_after: int
    term_months: int = 0  # the license's current term, what a renewal repeats by default

    def months_text(self) -> str:
        """The months asked, and whether they repeat the license's current term."""
        if self.months == 0:
            return _("0 (computers only)")
        if self.months == self.term_months:
            return _("{months} (the license's current term)").format(months=self.months)
        return _("{months} (its current term is {term})").format(months=self.months, term=self.term_months)

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs in the order a confirmation lists them, in the current language."""
        expiry = f"{self.expires_before.isoformat()} → {self.expires_after.isoformat()}"
        if self.cut_by_bank:
            expiry += " " + cut_note(self.months)
        rows = [
            (_("License"), self.activation_id),
            (_("Product"), self.product),
            (_("Type"), _(TYPE_NAMES[self.type.value])),
            (_("Months"), self.months_text()),
            (_("Computers"), f"{self.computers_before} → {self.computers_after}"),
            (_("Expires on"), expiry),
            (_("Renewal credits"), credits_detail(self.credits_renewal, self.computers_after, self.months_charged)),
        ]
        if self.credits_added_computers:
            added = self.computers_after - self.computers_before
            rows.append(
                (
                    _("Added computers, current term"),
                    credits_detail(self.credits_added_computers, added, self.term_months_left),
                )
            )
        rows += [
            (_("Credits to deduct"), str(self.credits)),
            (_("Bank remaining"), f"{self.remaining_before} → {self.remaining_after}"),
        ]
        return rows


# Figures a confirmation shows for information only: they move with other admins' commits (the
# bank's remaining credits, the pool's unused seats, what was requested before) without changing
# what the confirmed operation does. Everything else in a quote is its promise: what it charges,
# from which bank or pool, for whom, until when, and who it affects how.
INFORMATIONAL = frozenset({
    "remaining_before", "remaining_after", "unused_before", "unused_after", "requested", "granted", "purchased",
})
STALE = N_("The data changed since the quote was shown; nothing was written. Check the new quote.")


def promise(quote: Any) -> dict[str, Any]:
    """What a quote promises: its fields less the informational ones."""
    fields = quote.model_dump() if isinstance(quote, BaseModel) else dict(quote)
    return {name: value for name, value in fields.items() if name not in INFORMATIONAL}


def keep_promise(expected: Any, fresh: Any) -> None:
    """Commit only what was confirmed: `fresh` is the quote recomputed in the commit's transaction
    (its refusals already raised); if it promises something else than `expected`, the confirmation
    is stale and the fresh quote goes back to be confirmed. `expected` None: nothing was shown
    (a script without a confirmation), the fresh quote is what happens."""
    if expected is not None and promise(expected) != promise(fresh):
        raise StaleQuote(_(STALE), fresh)


# -- the other confirmations: typed too, read like a mapping by older callers (quote["email"]) --
ROLE_WORDS = {"admin": N_("admin"), "regular": N_("regular user")}
STATUS_WORDS = {"active": N_("active"), "invited": N_("invited"), "inactive": N_("inactive")}


def _word(words: dict[str, str], value: str) -> str:
    return _(words[value]) if value in words else value


class Quote(BaseModel):
    """What a confirmation shows and a commit re-checks (`keep_promise`): typed, with its own
    `lines()`, so the screens, the CLI and a future HTTP front show and check the same object.
    It also reads like a mapping (`quote["email"]`, `"invites" in quote`, `{**quote}`)."""

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields

    def keys(self) -> list[str]:
        return list(type(self).model_fields)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in type(self).model_fields else default

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):
            return self.model_dump() == other
        return super().__eq__(other)

    def lines(self) -> list[tuple[str, str]]:
        return []


class InviteQuote(Quote):
    email: str
    role: str

    def lines(self) -> list[tuple[str, str]]:
        return [(_("Email"), self.email), (_("Role"), _word(ROLE_WORDS, self.role)), (_("Status"), _("invited"))]


class RoleQuote(Quote):
    email: str
    role_before: str
    role: str
    status: str
    yourself: bool

    def lines(self) -> list[tuple[str, str]]:
        return [(_("Email"), self.email),
                (_("Role"), f"{_word(ROLE_WORDS, self.role_before)} → {_word(ROLE_WORDS, self.role)}"),
                (_("Status"), _word(STATUS_WORDS, self.status))]


class StatusQuote(Quote):
    email: str
    status_before: str
    status: str
    role: str
    yourself: bool
    note: str | None = None

    def lines(self) -> list[tuple[str, str]]:
        return [(_("Email"), self.email), (_("Role"), _word(ROLE_WORDS, self.role)),
                (_("Status"), f"{_word(STATUS_WORDS, self.status_before)} → {_word(STATUS_WORDS, self.status)}")]


class DeleteUserQuote(Quote):
    email: str
    role: str
    status: str
    organization: str | None
    seats_returned: list[str]
    teams: list[str]

    def lines(self) -> list[tuple[str, str]]:
        return [(_("Email"), self.email), (_("Role"), _word(ROLE_WORDS, self.role)),
                (_("Status"), _word(STATUS_WORDS, self.status)),
                (_("Teams left"), ", ".join(self.teams) or _("none")),
                (_("Seats returned to the pool"), ", ".join(self.seats_returned) or _("none"))]


class TeamAddQuote(Quote):
    team: str
    email: str
    product: str
    takes_seat: bool
    invites: bool
    unused_before: int
    unused_after: int

    def lines(self) -> list[tuple[str, str]]:
        seat = _("takes an unused seat") if self.takes_seat else _("reuses the seat they already hold")
        return [(_("Team"), self.team), (_("Member"), self.email), (_("Seat pool"), self.product), (_("Seat"), seat),
                (_("Unused seats"), f"{self.unused_before} → {self.unused_after}")]


class TeamRemoveQuote(Quote):
    team: str
    email: str
    product: str
    other_teams: list[str]
    becomes_unassigned: bool

    def lines(self) -> list[tuple[str, str]]:
        if self.becomes_unassigned:
            seat = _("kept, unassigned (in no team of the pool)")
        else:
            seat = _("kept (still in {teams})").format(teams=", ".join(self.other_teams))
        return [(_("Team"), self.team), (_("Member"), self.email), (_("Seat pool"), self.product), (_("Seat"), seat)]

    def seat_effect(self) -> str:
        """What happens to the member's seat, said once for the confirmation and the CLI (SPEC §7:
        a seat returns to the pool only when its holder is deleted from the organization)."""
        if self.becomes_unassigned:
            return _("{email} becomes unassigned: they keep their seat until they join another team "
                     "or are deleted from the organization.").format(email=self.email)
        return _("{email} stays in {teams} and keeps their seat.").format(email=self.email, teams=", ".join(self.other_teams))


class RestrictQuote(Quote):
    product: str
    builds: list[str]
    blocked: list[str]

    def lines(self) -> list[tuple[str, str]]:
        return [(_("Product"), self.product), (_("Accessible builds"), ", ".join(self.builds)),
                (_("Not accessible"), ", ".join(self.blocked) or _("none"))]


class CreditRequestQuote(Quote):
    bank: str
    product: str
    credits: int
    requested: int
    granted: int

    def lines(self) -> list[tuple[str, str]]:
        return [(_("Bank"), self.bank), (_("Product"), self.product), (_("Credits requested"), str(self.credits)),
                (_("Requested so far"), str(self.requested)), (_("Granted so far"), str(self.granted))]


class SeatRequestQuote(Quote):
    pool: str
    product: str
    seats: int
    purchased: int

    def lines(self) -> list[tuple[str, str]]:
        return [(_("Seat pool"), self.product), (_("Seats requested"), str(self.seats)),
                (_("Purchased now"), str(self.purchased))]


class AssignQuote(Quote):
    activation_id: str
    product: str
    type: str
    computers: int
    expires_on: str
    email: str
    invites: bool

    def lines(self) -> list[tuple[str, str]]:
        return [(_("Activation ID"), self.activation_id), (_("Product"), self.product),
                (_("Type"), _(TYPE_NAMES.get(self.type, self.type))), (_("Computers"), str(self.computers)),
                (_("Expires on"), self.expires_on), (_("Assign to"), self.email)]
