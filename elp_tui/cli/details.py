"""`elp licenses show`, `elp users show`, `elp banks show`, `elp teams show`: one thing whole, as
the app's details show it (issue 12) — the same portal functions, the same refusals."""

from __future__ import annotations

from typing import Any

from elp_tui.cli.console import Console, plain
from elp_tui.cli.session import Session
from elp_tui.i18n import _


def _history(c: Console, details: dict[str, Any]) -> None:
    c.line(_("History (newest first):"))
    if not details["history"]:
        c.line("  " + _("nothing in the activity log yet"))
    for e in details["history"]:
        amounts = "".join(f" {e[k]:+d} {k}" for k in ("credits", "seats") if e.get(k))
        c.line(plain(f"  #{e['seq']} {e['on']} {e['actor']} {e['action']}: {e['details'] or e['target']}{amounts}"))
    if details["history_total"] > len(details["history"]):
        c.line("  " + _("… and {n} earlier entries ('elp log' has them all)").format(
            n=details["history_total"] - len(details["history"])))


def _actions(c: Console, actions: dict[str, str | None], commands: dict[str, str]) -> None:
    c.line(_("Actions:"))
    for name, why in actions.items():
        if name in commands:
            c.line(plain(f"  {commands[name]}: " + (_("available") if why is None else _("not possible: {why}").format(why=why))))


def licenses_show(s: Session) -> None:
    d = s.portal.license_details(s.actor, s.args.activation_id)
    if s.args.json:
        s.console.json(d)
        return
    c, lic, bank = s.console, d["license"], d["bank"]
    c.line(_("License {aid}").format(aid=lic["activation_id"]))
    c.pairs([
        (_("Product"), lic["product"]), (_("Type"), lic["type"]), (_("Computers"), lic["computers"]),
        (_("Status"), lic["status"]), (_("Assigned to"), lic["assignee"] or _("nobody (returned)")),
        (_("Start date"), lic["start"]), (_("Expires on"), lic["expires_on"]), (_("Credits used"), lic["credits_used"]),
        (_("Created on"), d.get("created_on") or "—"),
        (_("Bank"), f"{bank['id']} · {bank['start']} .. {bank['expires_on']}"
                    + (" · " + _("expired") if bank["expired"] else "")),
        (_("Bank credits"), _("{remaining} remaining of {granted} granted").format(
            remaining=bank["remaining"], granted=bank["credits_granted"])),
    ])
    _actions(c, d["actions"], {"renew": "renew", "return": "return", "assign": "assign"})
    c.line(_("Credits charged:"))
    for e in d["ledger"]:
        c.line(plain(f"  {e['on']} {e['credits']} credits ({e['reason']}) by {e['actor']}"))
    _history(c, d)


def users_show(s: Session) -> None:
    d = s.portal.user_details(s.actor, s.args.email)
    if s.args.json:
        s.console.json(d)
        return
    c, user = s.console, d["user"]
    c.line(_("Member {email}").format(email=plain(user["email"])))
    c.pairs([
        (_("Role"), user["role"]), (_("Status"), user["status"]), (_("Invited on"), user.get("invited_on") or "—"),
        (_("First sign-in"), user.get("signed_in_on") or _("never")),
        (_("Teams"), ", ".join(t["name"] + (" (Team Admin)" if t["team_admin"] else "") for t in d["teams"]) or "—"),
        (_("Seats"), ", ".join(f"{x['product']} since {x['since']}" for x in d["seats"]) or "—"),
        (_("SSH keys"), ", ".join(k["fingerprint"] for k in d["keys"]) or "—"),
    ])
    c.line(_("Licenses:"))
    for lic in d["licenses"]:
        c.line(plain(f"  {lic['activation_id']} {lic['product']} {lic['type']} x{lic['computers']} "
                     f"{lic['status']} until {lic['expires_on']}"))
    if not d["licenses"]:
        c.line("  —")
    _actions(c, d["actions"], {"role": "set-role", "status": "set-status", "delete": "delete", "add_key": "keys add",
                               "revoke_key": "keys revoke", "reinvite": "reinvite"})
    _history(c, d)


def banks_show(s: Session) -> None:
    d = s.portal.bank_details(s.actor, s.args.bank_id)
    if s.args.json:
        s.console.json(d)
        return
    c, bank = s.console, d["bank"]
    c.line(_("Bank {bank}").format(bank=bank["id"]))
    c.pairs([
        (_("Product"), bank["product"]), (_("Version"), bank.get("product_version") or "—"),
        (_("Portable"), _("yes") if bank["portable"] else _("no")),
        (_("Valid"), f"{bank['start']} .. {bank['expires_on']}" + (" · " + _("expired") if bank["expired"] else "")),
        (_("Credits"), _("{requested} requested · {granted} granted · {used} used · {remaining} remaining").format(
            requested=bank["credits_requested"], granted=bank["credits_granted"], used=bank["used"],
            remaining=bank["remaining"])),
    ])
    c.line(_("Licenses ({n}):").format(n=d["licenses_total"]))
    for lic in d["licenses"]:
        c.line(plain(f"  {lic['activation_id']} {lic['type']} x{lic['computers']} {lic['status']} until "
                     f"{lic['expires_on']} {lic['assignee'] or '(returned)'}"))
    c.line(_("Ledger ({n}):").format(n=d["ledger_total"]))
    for e in d["ledger"]:
        c.line(plain(f"  {e['on']} {e['credits']} credits ({e['reason']}) {e['license']} by {e['actor']}"))
    c.line(_("Credit requests:"))
    for r in d["requests"]:
        c.line(plain(f"  #{r['id']} {r['on']} {r['amount']} credits {r['state']} by {r['actor']}"))
    _actions(c, d["actions"], {"request_credits": "banks request"})
    _history(c, d)


def teams_show(s: Session) -> None:
    d = s.portal.team_details(s.actor, s.args.team)
    if s.args.json:
        s.console.json(d)
        return
    c, team, pool = s.console, d["team"], d["pool"]
    c.line(_("Team {team}").format(team=plain(team["name"])))
    c.pairs([
        (_("Seat pool"), pool["product"]),
        (_("Seats"), _("{purchased} purchased · {active} active · {pending} pending · {unassigned} unassigned · "
                       "{unused} unused").format(**pool)),
        (_("Team Admins"), ", ".join(team["admins"]) or "—"),
    ])
    c.line(_("Members ({n}):").format(n=len(d["members"])))
    for m in d["members"]:
        c.line(plain(f"  {m['email']} {m['state']} since {m.get('since') or '—'}"
                     + (" (Team Admin)" if m["team_admin"] else "")))
    _history(c, d)
