"""`elp licenses show`, `elp users show`, `elp banks show`, `elp teams show`: one thing whole, as
the app's details show it (issue 12) — the same portal functions, the same refusals, and the same
words: the sections come from elp_tui.details_text, as the details screen's do."""

from __future__ import annotations

from typing import Any

from elp_tui.cli.console import Console, plain
from elp_tui.cli.session import Session
from elp_tui.details_text import Line, Pair, Section, bank_sections, license_sections, team_sections, user_sections
from elp_tui.i18n import _


def _section(c: Console, heading: str, rows: list[Pair | Line]) -> None:
    """The heading, then the pairs aligned as `label: value` and the lines as they read (styles dropped)."""
    c.line(_("{heading}:").format(heading=plain(heading)))
    pairs: list[Pair] = []
    for row in rows + [None]:  # type: ignore[operator]
        if isinstance(row, tuple):
            pairs.append(row)
            continue
        if pairs:
            c.pairs(pairs)
            pairs = []
        if row is not None:
            c.line("  " + plain(row.text))


def _actions(c: Console, actions: dict[str, str | None], commands: dict[str, str]) -> None:
    c.line(_("Actions:"))
    for name, why in actions.items():
        if name in commands:
            c.line(plain(f"  {commands[name]}: " + (_("available") if why is None else _("not possible: {why}").format(why=why))))


def _show(c: Console, title: str, sections: list[Section], actions: dict[str, str | None] | None = None,
          commands: dict[str, str] | None = None) -> None:
    """The title, the thing's own fields, what can be done (the CLI's command for each), the rest."""
    c.line(plain(title))
    for number, (heading, rows) in enumerate(sections):
        _section(c, heading, rows)
        if number == 0 and actions is not None and commands:
            _actions(c, actions, commands)


def licenses_show(s: Session) -> None:
    d: dict[str, Any] = s.portal.license_details(s.actor, s.args.activation_id)
    if s.args.json:
        s.console.json(d)
        return
    _show(s.console, _("License {aid}").format(aid=d["license"]["activation_id"]), license_sections(d, "cli"),
          d["actions"], {"renew": "renew", "return": "return", "assign": "assign"})


def users_show(s: Session) -> None:
    d = s.portal.user_details(s.actor, s.args.email)
    if s.args.json:
        s.console.json(d)
        return
    _show(s.console, _("Member {email}").format(email=d["user"]["email"]), user_sections(d, "cli"),
          d["actions"], {"role": "set-role", "status": "set-status", "delete": "delete", "add_key": "keys add",
                         "revoke_key": "keys revoke", "reinvite": "reinvite"})


def banks_show(s: Session) -> None:
    d = s.portal.bank_details(s.actor, s.args.bank_id)
    if s.args.json:
        s.console.json(d)
        return
    _show(s.console, _("Bank {bank}").format(bank=d["bank"]["id"]), bank_sections(d, "cli"),
          d["actions"], {"request_credits": "banks request"})


def teams_show(s: Session) -> None:
    d = s.portal.team_details(s.actor, s.args.team)
    if s.args.json:
        s.console.json(d)
        return
    _show(s.console, _("Team {team}").format(team=d["team"]["name"]), team_sections(d, "cli"))
