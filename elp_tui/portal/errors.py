"""Errors a user can cause, each with a message written for that user."""

from __future__ import annotations

from typing import Any


from elp_tui.errors import PortalError  # noqa: E402  (the one error type of every front end)


class PermissionDenied(PortalError):
    pass


class AdminRequired(PermissionDenied):
    """A regular user asked for an admin operation. Unlike every other refusal it is written down:
    the portal adds one activity entry (who, when, which operation) to `organization`'s log."""

    def __init__(self, message: str, *, organization: str, actor: str, operation: str | None = None):
        super().__init__(message)
        self.organization = organization
        self.actor = actor
        self.operation = operation  # None: the name of the Portal method that refused
        self.logged = False

    # What the activity entry says about the refusal.
    details = "admin operation refused: regular user"


class VendorRequired(AdminRequired):
    """A member of an organization (admin or regular) asked for an operation of the vendor's team
    (granting banks or seats, answering requests). Logged in their organization's activity log,
    like every refusal of authority."""

    def __init__(self, message: str, *, organization: str, actor: str, role: str, operation: str | None = None):
        super().__init__(message, organization=organization, actor=actor, operation=operation)
        self.details = f"vendor operation refused: {role}"


class NotFound(PortalError):
    pass


class InvalidInput(PortalError):
    pass


class RuleViolation(PortalError):
    pass


class SignInRefused(PortalError):
    pass


class LicensesHeld(RuleViolation):
    """A member cannot leave the organization while holding unexpired licenses (listed)."""

    def __init__(self, message: str, activation_ids: list[str]):
        super().__init__(message)
        self.activation_ids = list(activation_ids)


class StaleQuote(PortalError):
    """The data changed since the quote was shown; `fresh` is the quote as it stands now."""

    def __init__(self, message: str, fresh: Any = None):
        super().__init__(message)
        self.fresh = fresh
