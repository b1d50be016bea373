"""The texts of every email ELP sends, built as `Message`s the portal queues in the outbox in the
same transaction as the change that causes them (PortalBase._queue).

Each builder takes the organization's language and every value the text shows; values are data
(names, emails typed by users) and are never trusted in a header (see outbox delivery).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Message(BaseModel):
    kind: str
    to: str
    subject: str
    body: str
    organization: str | None = None  # whose Outbox page shows it (None: the vendor's side)
    language: str = "en"
    key: str | None = None  # set for a message sent at most once (a reminder)


def invitation(lang: str, *, org_id: str, org: str, inviter: str, to: str, role: str, why: str | None = None) -> Message:
    reason = f" ({why})" if why else f" as {role}"
    return Message(
        kind="invitation", to=to, organization=org_id, language=lang,
        subject=f"You are invited to {org} on the Enterprise License Portal",
        body=f"{inviter} invited you to {org}{reason}. Sign in with this email address to accept.",
    )


def license_notice(lang: str, *, org_id: str, org: str, to: str, event: str, licenses: list[dict[str, Any]],
                   builds: list[dict[str, Any]]) -> Message:
    """`event`: assigned (generated for them), reassigned (a returned license given to them),
    renewed, returned. `builds`: the builds they may download ({version, released, downloads})."""
    first = licenses[0]
    lines = [
        f"{lic['activation_id']}  {lic['type']}  {lic['computers']} computer(s)  {lic['start']} .. {lic['expires_on']}"
        for lic in licenses
    ]
    return Message(
        kind="license", to=to, organization=org_id, language=lang,
        subject=f"{first['product']} license {event}",
        body="\n".join([f"{org}: {first['product']} license(s) {event}.", *lines]),
    )


def team_joined(lang: str, *, org_id: str, org: str, to: str, inviter: str, team: str, product: str) -> Message:
    return Message(
        kind="team", to=to, organization=org_id, language=lang,
        subject=f"You joined team {team}",
        body=f"{inviter} added you to team {team} ({product}) of {org}.",
    )


def vendor_request(lang: str, *, org_id: str, org: str, to: str, request: dict[str, Any]) -> Message:
    """To the vendor: `request` is the Request document (kind, product, amount, actor, target, id)."""
    unit = "credits" if request["kind"] == "credits" else "seats"
    return Message(
        kind="request", to=to, organization=org_id, language=lang,
        subject=f"{unit.capitalize()} request #{request['id']}: {request['amount']} {unit} of {request['product']} for {org}",
        body=f"{request['actor']} of {org} requests {request['amount']} more {unit} of {request['product']} "
        f"({request['target']}).",
    )


def request_answer(lang: str, *, org_id: str, org: str, to: str, request: dict[str, Any]) -> Message:
    """To an admin of the organization: the vendor granted or declined `request` (its document, answered)."""
    unit = "credits" if request["kind"] == "credits" else "seats"
    if request["state"] == "granted":
        text = f"granted: {request['granted']} {unit} added to {request['granted_target']}"
    else:
        text = f"declined: {request.get('reason') or ''}"
    return Message(
        kind="answer", to=to, organization=org_id, language=lang,
        subject=f"Request #{request['id']} {request['state']}",
        body=f"Your request #{request['id']} for {request['amount']} {unit} of {request['product']} was {text}.",
    )


def credits_expiring(lang: str, *, org_id: str, org: str, to: str, bank: dict[str, Any], days: int) -> Message:
    """To an admin: `bank` (a bank row: id, product, remaining, expires_on) loses its unused credits in `days` days."""
    return Message(
        kind="credits-expiring", to=to, organization=org_id, language=lang,
        key=f"credits-expiring:{bank['id']}:{days}:{to}",
        subject=f"{bank['remaining']} credits of {bank['product']} will be lost on {bank['expires_on']}",
        body=f"Bank {bank['id']} of {org} expires on {bank['expires_on']}: use its {bank['remaining']} credits before then.",
    )


def license_expiring(lang: str, *, org_id: str, org: str, to: str, license: dict[str, Any], days: int) -> Message:
    """To the license's user and the admins: `license` expires in `days` days."""
    return Message(
        kind="license-expiring", to=to, organization=org_id, language=lang,
        key=f"license-expiring:{license['activation_id']}:{days}:{to}",
        subject=f"Your {license['product']} license expires on {license['expires_on']}",
        body=f"License {license['activation_id']} of {org} expires on {license['expires_on']}.",
    )
