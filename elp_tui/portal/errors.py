"""Errors a user can cause, each with a message written for that user."""

from __future__ import annotations

from typing import Any


class PortalError(Exception):
    """A refusal: what was wrong and what to do instead. Nothing was changed."""


class PermissionDenied(PortalError):
    pass


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
