"""How the app and the CLI name the portal's stored values a user reads: a credit request's state,
why a ledger entry charged credits, a team member's seat. Message ids (N_), translated where shown."""

from __future__ import annotations

from elp_tui.i18n import N_

# A request to the vendor (credits or seats): waiting, granted or declined.
REQUEST_STATE_NAMES = {"requested": N_("requested"), "granted": N_("granted"), "declined": N_("declined")}

# Why credits were charged (models.LedgerEntry.reason).
LEDGER_REASON_NAMES = {
    "generate": N_("generation"),
    "renew": N_("renewal"),
    "renew-computers": N_("more computers at renewal"),
}

# A team member's seat in the team's pool (portal/seats.py `_seat_states`).
SEAT_STATE_NAMES = {"active": N_("active"), "pending": N_("pending"), "unassigned": N_("unassigned")}
