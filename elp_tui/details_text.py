"""The details of one thing (issue 12) as words, for the app and for the CLI alike: a license, a
member, a bank or a team from `Portal.license_details` / `user_details` / `bank_details` /
`team_details`, turned into sections a reader reads — every word translated, every stored value
(status, type, role, ledger reason, request and seat state) by its name.

A section is a heading and rows; a row is a (label, value) pair, drawn in two columns, or a `Line`
of text. A line is made of pieces, each with a style name ("" plain, "muted", "bold"): the details
screen maps them to its styles, the CLI prints the text alone. Headings, labels and values are
already translated; store text (emails, names, log details) is left as it is, for each surface to
make safe its own way (`widgets.safe.content` on screen, `cli.console.plain` in a terminal).

No textual here (like portal/ and cli/): `elp licenses show` must not pull in the UI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from elp_tui.i18n import N_, _, ngettext
from elp_tui.portal.credits import LICENSE_STATUS_NAMES
from elp_tui.portal.names import LEDGER_REASON_NAMES, REQUEST_STATE_NAMES, SEAT_STATE_NAMES
from elp_tui.portal.quotes import ROLE_WORDS, STATUS_WORDS, TYPE_NAMES

_BREAKS = re.compile("[\t\n\r\u2028\u2029]")

Piece = tuple[str, str]  # (text, style name: "", "muted" or "bold")


@dataclass(frozen=True)
class Line:
    """One line of text in pieces; a line break in store text becomes a space (a line is one line)."""

    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _style in self.pieces)


Pair = tuple[str, str]
Row = Pair | Line
Section = tuple[str, list[Row]]


def line(*pieces: str | Piece) -> Line:
    """A line from plain strings and (text, style) pieces."""
    parts = [(p, "") if isinstance(p, str) else p for p in pieces]
    return Line(tuple((_BREAKS.sub(" ", str(text)), style) for text, style in parts))


def named(table: dict[str, str], value: Any) -> str:
    """A stored value by its translated name (the value itself when the table does not know it)."""
    return "—" if value is None else _(table.get(str(value), str(value)))


def field(label: str, value: Any) -> Pair:
    """A (label, value) pair: the label a message id, translated here; an empty value as "—"."""
    return _(label), "—" if value is None or value == "" else str(value)


# Where the rest is when a list is cut short: the app's pages, or the CLI's commands.
MORE = {
    "app": {
        "history": N_("… and {n} earlier entries on the Activity page."),
        "licenses": N_("… and {n} more on Manage Licenses."),
    },
    "cli": {
        "history": N_("… and {n} earlier entries ('elp log' has them all)"),
        "licenses": N_("… and {n} more ('elp licenses list' has them all)."),
    },
}


def history_lines(entries: list[dict[str, Any]], total: int, where: str = "app") -> list[Row]:
    """The activity entries about one thing, newest first: when and who (muted), what (bold), the details."""
    if not entries:
        return [line(_("Nothing in the activity log yet."))]
    lines: list[Row] = []
    for entry in entries:
        amounts = []
        if entry.get("credits"):
            amounts.append(_("{n:+d} credits").format(n=entry["credits"]))
        if entry.get("seats"):
            amounts.append(_("{n:+d} seats").format(n=entry["seats"]))
        tail = f" ({', '.join(amounts)})" if amounts else ""
        lines.append(line(
            (f"#{entry['seq']} {entry['on']} {entry['actor']}", "muted"), " ", (entry["action"], "bold"), " ",
            entry.get("details") or entry.get("target") or "", tail,
        ))
    if total > len(entries):
        more = MORE[where]["history"]
        lines.append(line(_(more).format(n=total - len(entries))))
    return lines


def ledger_lines(entries: list[dict[str, Any]], total: int, *, by_license: bool) -> list[Row]:
    """What was charged: when, how many credits, why (by name), which license or bank, by whom."""
    if not entries:
        return [line(_("No credits charged."))]
    lines: list[Row] = [line(_("{on} · {credits} credits · {reason} · {what} · by {actor}").format(
        on=e["on"], credits=e["credits"], reason=named(LEDGER_REASON_NAMES, e["reason"]),
        what=e["license"] if by_license else e["bank"], actor=e["actor"])) for e in entries]
    if total > len(entries):
        lines.append(line(_("… and {n} earlier charges.").format(n=total - len(entries))))
    return lines


def license_line(row: dict[str, Any], *, holder: bool = True) -> Line:
    text = _("{aid} · {status} · {type} × {computers} · until {expires}").format(
        aid=row["activation_id"], status=named(LICENSE_STATUS_NAMES, row["status"]), type=named(TYPE_NAMES, row["type"]),
        computers=row["computers"], expires=row["expires_on"])
    if holder:
        text += " · " + (row.get("assignee") or _("nobody (returned)"))
    return line(text)


def _expiry(bank: dict[str, Any]) -> str:
    return bank["expires_on"] + (" · " + _("expired") if bank["expired"] else "")


def _version(bank: dict[str, Any]) -> str:
    portable = _("portable") if bank["portable"] else _("not portable")
    return f"{bank.get('product_version') or '—'} · {portable}"


# -- one layout per kind of thing -------------------------------------------------------------
def license_fields(d: dict[str, Any]) -> list[Pair]:
    """A license's own fields (the first section of its details)."""
    lic = d["license"]
    return [
        field(N_("Activation ID"), lic["activation_id"]),
        field(N_("Product"), lic["product"]),
        field(N_("Type"), named(TYPE_NAMES, lic["type"])),
        field(N_("Computers"), lic["computers"]),
        field(N_("Status"), named(LICENSE_STATUS_NAMES, lic["status"])),
        field(N_("Assigned to"), lic.get("assignee") or _("nobody (returned)")),
        field(N_("Start date"), lic["start"]),
        field(N_("Expires on"), lic["expires_on"]),
        field(N_("Credits used"), lic["credits_used"]),
        field(N_("Created on"), d.get("created_on")),
    ]


def license_sections(d: dict[str, Any], where: str = "app") -> list[Section]:
    bank = d["bank"]
    bank_fields: list[Row] = [
        field(N_("Bank"), f"{bank['id']} · {bank['product']}"),
        field(N_("Bank start"), bank["start"]),
        field(N_("Bank expiry"), _expiry(bank)),
        field(N_("Bank credits"), _("{remaining} remaining of {granted} granted").format(
            remaining=bank["remaining"], granted=bank["credits_granted"])),
        field(N_("Version"), _version(bank)),
    ]
    return [
        (_("License"), list(license_fields(d))),
        (_("Bank"), bank_fields),
        (_("Credits charged"), ledger_lines(d["ledger"], len(d["ledger"]), by_license=False)),
        (_("History"), history_lines(d["history"], d["history_total"], where)),
    ]


def user_sections(d: dict[str, Any], where: str = "app") -> list[Section]:
    user = d["user"]
    fields: list[Row] = [
        field(N_("Email"), user["email"]),
        field(N_("Role"), named(ROLE_WORDS, user["role"])),
        field(N_("Status"), named(STATUS_WORDS, user["status"])),
        field(N_("Invited on"), user.get("invited_on")),
        field(N_("First sign-in"), user.get("signed_in_on") or _("never")),
    ]
    teams: list[Row] = [line(
        t["name"] + f" ({t['product']})" + (" · " + _("Team Admin") if t["team_admin"] else "")
        + ("" if t["member"] else " · " + _("not a member"))) for t in d["teams"]] or [line(_("In no team."))]
    seats: list[Row] = [line(_("{product} since {since}").format(**s)) for s in d["seats"]] or [line(_("No seat."))]
    licenses: list[Row] = [license_line(row, holder=False) for row in d["licenses"]] or [line(_("No license."))]
    keys: list[Row] = [line(_(
        "{fingerprint} · {type} · {comment} · added {added_on} by {added_by} · last used {last}").format(
        fingerprint=k["fingerprint"], type=k["type"], comment=k.get("comment") or "—", added_on=k["added_on"],
        added_by=k["added_by"], last=k.get("last_used_on") or _("never"))) for k in d["keys"]] or [line(_("No SSH key."))]
    tokens: list[Row] = [line(_("{id} · {name} · created {created_on} · last used {last}").format(
        id=t["id"], name=t.get("name") or "—", created_on=t["created_on"], last=t.get("last_used_on") or _("never")))
        for t in d.get("tokens", [])] or [line(_("No API token."))]
    return [
        (_("Member"), fields),
        (_("Teams"), teams),
        (_("Seats"), seats),
        (_("Licenses"), licenses),
        (_("SSH keys"), keys),
        (_("API tokens"), tokens),
        (_("History"), history_lines(d["history"], d["history_total"], where)),
    ]


def bank_sections(d: dict[str, Any], where: str = "app") -> list[Section]:
    bank = d["bank"]
    fields: list[Row] = [
        field(N_("Bank"), bank["id"]),
        field(N_("Product"), bank["product"]),
        field(N_("Version"), _version(bank)),
        field(N_("Start date"), bank["start"]),
        field(N_("Expires on"), _expiry(bank)),
        field(N_("Requested"), bank["credits_requested"]),
        field(N_("Granted"), bank["credits_granted"]),
        field(N_("Used"), bank["used"]),
        field(N_("Remaining"), bank["remaining"]),
        field(N_("Forfeited"), bank["forfeited"] or "—"),
    ]
    if bank.get("return_blocked"):
        fields.append(field(N_("Returns"), bank["return_blocked"]))
    licenses: list[Row] = [license_line(row) for row in d["licenses"]] or [line(_("No license from this bank."))]
    if d["licenses_total"] > len(d["licenses"]):
        more = MORE[where]["licenses"]
        licenses.append(line(_(more).format(n=d["licenses_total"] - len(d["licenses"]))))
    requests: list[Row] = [line(_("#{id} · {on} · {amount} credits · {state} · by {actor}").format(
        id=r["id"], on=r["on"], amount=r["amount"], state=named(REQUEST_STATE_NAMES, r["state"]), actor=r["actor"]))
        for r in d["requests"]] or [line(_("No credit request."))]
    return [
        (_("Bank"), fields),
        (ngettext("{n} license", "{n} licenses", d["licenses_total"]).format(n=d["licenses_total"]), licenses),
        (_("Ledger"), ledger_lines(d["ledger"], d["ledger_total"], by_license=True)),
        (_("Credit requests"), requests),
        (_("History"), history_lines(d["history"], d["history_total"], where)),
    ]


def team_sections(d: dict[str, Any], where: str = "app") -> list[Section]:
    team, pool = d["team"], d["pool"]
    fields: list[Row] = [
        field(N_("Team"), team["name"]),
        field(N_("Seat pool"), pool["product"]),
        field(N_("Seats"), _("{purchased} purchased · {active} active · {pending} pending · {unassigned} unassigned · "
                             "{unused} unused").format(**pool)),
        field(N_("Team Admins"), ", ".join(team["admins"]) or _("none")),
    ]
    members: list[Row] = [line(_("{email} · {state} · since {since}").format(
        email=m["email"], state=named(SEAT_STATE_NAMES, m["state"]), since=m.get("since") or "—")
        + (" · " + _("Team Admin") if m["team_admin"] else "")) for m in d["members"]] or [line(_("No member yet."))]
    return [
        (_("Team"), fields),
        (ngettext("{n} member", "{n} members", len(d["members"])).format(n=len(d["members"])), members),
        (_("History"), history_lines(d["history"], d["history_total"], where)),
    ]

