"""The service layer: every portal operation, its rules, its checks, its log entry.

Never imports textual: the CLI and the screens call the very same functions.
"""

from elp_tui.portal.alerts import AlertsMixin
from elp_tui.portal.authority import authority_checked
from elp_tui.portal.backups import BackupsMixin
from elp_tui.portal.batches import ALL_OR_NOTHING, ALLOWED_ONLY, BatchesMixin, read_batch_csv
from elp_tui.portal.check import CheckMixin
from elp_tui.portal.clock import fixed_clock, system_clock
from elp_tui.portal.credits import CreditsMixin
from elp_tui.portal.details import DetailsMixin
from elp_tui.portal.feed import FeedError, FeedMixin
from elp_tui.portal.insight import InsightMixin
from elp_tui.portal.keys import KeysMixin
from elp_tui.portal.outbox import OutboxMixin
from elp_tui.portal.errors import (
    AdminRequired, InvalidInput, NotFound, PermissionDenied, PortalError, RuleViolation, SignInRefused, StaleQuote,
    VendorRequired,
)
from elp_tui.portal.people import PeopleMixin
from elp_tui.portal.quotes import GenerateQuote, RenewQuote
from elp_tui.portal.seats import SeatsMixin
from elp_tui.portal.tokens import TokensMixin
from elp_tui.portal.vendor import VendorMixin


@authority_checked
class Portal(CreditsMixin, PeopleMixin, SeatsMixin, VendorMixin, OutboxMixin, CheckMixin, AlertsMixin, BackupsMixin,
             FeedMixin, KeysMixin, TokensMixin, DetailsMixin, BatchesMixin, InsightMixin):
    """One object for every operation; each takes the acting user's email first.

    Every public method is guarded (portal/authority.py): one taking `actor` first is for admins
    unless marked `@any_member` (every member) or `@vendor_only` (the vendor's team), and each refusal of authority is written to the activity log."""


__all__ = [
    "Portal", "PortalError", "PermissionDenied", "AdminRequired", "NotFound", "InvalidInput", "RuleViolation", "SignInRefused",
    "StaleQuote", "FeedError", "ALLOWED_ONLY", "ALL_OR_NOTHING", "read_batch_csv", "VendorRequired", "GenerateQuote", "RenewQuote", "fixed_clock", "system_clock",
]
