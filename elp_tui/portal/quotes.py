"""What a confirmation shows: computed by the portal, re-checked when committed."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from elp_tui.models import LicenseType


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
        """(label, value) pairs in the order a confirmation lists them (untranslated labels)."""
        expiry = self.expires_on.isoformat()
        if self.cut_by_bank:
            expiry += f" (cut by the bank's expiry; {self.months} months asked)"
        rows = [
            ("Product", self.product),
            ("Bank", self.bank),
            ("Licenses to create", str(self.licenses)),
            ("Type", self.type.value),
            ("Computers per license", str(self.computers)),
            ("Start", self.start.isoformat()),
            ("Expires on", expiry),
            ("Recipient", self.email + (" (will be invited)" if self.invites_recipient else "")),
            ("Credits to deduct", f"{self.credits} ({self.licenses * self.computers} computer(s) x {self.months_charged} month(s))"),
            ("Bank remaining", f"{self.remaining_before} -> {self.remaining_after}"),
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

    def lines(self) -> list[tuple[str, str]]:
        expiry = f"{self.expires_before.isoformat()} -> {self.expires_after.isoformat()}"
        if self.cut_by_bank:
            expiry += f" (cut by the bank's expiry; {self.months} months asked)"
        rows = [
            ("License", self.activation_id),
            ("Product", self.product),
            ("Type", self.type.value),
            ("Computers", f"{self.computers_before} -> {self.computers_after}"),
            ("Expires on", expiry),
            ("Renewal credits", f"{self.credits_renewal} ({self.computers_after} computer(s) x {self.months_charged} month(s))"),
        ]
        if self.credits_added_computers:
            added = self.computers_after - self.computers_before
            rows.append(
                (
                    "Added computers, current term",
                    f"{self.credits_added_computers} ({added} computer(s) x {self.term_months_left} month(s))",
                )
            )
        rows += [
            ("Credits to deduct", str(self.credits)),
            ("Bank remaining", f"{self.remaining_before} -> {self.remaining_after}"),
        ]
        return rows
