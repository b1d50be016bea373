"""Seeing one thing whole (issue 12): `enter` on a license, a member, a bank or a team opens its
details — every field, what can be done and why not (the portal's words), its history from the
activity log — with the page's own keys for its actions.

The details come from the portal (`license_details`, `user_details`, `bank_details`,
`team_details`); this module only lays them out. An action key closes the details and the page
runs that action on the same row (its usual form and confirmation); a key whose action is not
possible says why and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from elp_tui.i18n import N_, _, ngettext
# The portal's own names (a license's status agrees with the license, a user's with the user).
from elp_tui.portal.credits import LICENSE_STATUS_NAMES
from elp_tui.portal.quotes import ROLE_WORDS as ROLE_NAMES, STATUS_WORDS as USER_STATUS_NAMES, TYPE_NAMES
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content, one_line, plain



@dataclass(frozen=True)
class DetailAction:
    """One action the details offer: the page's key for it, its label, and why not (None: possible)."""

    id: str
    key: str
    label: str
    why_not: str | None = None
    short: str = ""  # the footer's word for it (the label when empty)


# A section: its heading and its rows; a row is a line of text, or a (label, value) pair drawn in two
# columns so that a long value (a refusal, an email) wraps under itself, not under the label.
Row = Content | tuple[str, str]
Section = tuple[str, list[Row]]


def _named(table: dict[str, str], value: Any) -> str:
    return "—" if value is None else _(table.get(str(value), str(value)))


def field(label: str, value: Any) -> tuple[str, str]:
    """A (label, value) row; the label a message id, the value shown as plain text (never markup)."""
    return label, "—" if value is None or value == "" else plain(value)


def history_lines(entries: list[dict[str, Any]], total: int) -> list[Content]:
    """The activity entries about one thing, newest first: when, who, what, the details."""
    if not entries:
        return [content(_("Nothing in the activity log yet."))]
    lines = []
    for entry in entries:
        amounts = []
        if entry.get("credits"):
            amounts.append(_("{n:+d} credits").format(n=entry["credits"]))
        if entry.get("seats"):
            amounts.append(_("{n:+d} seats").format(n=entry["seats"]))
        tail = f" ({', '.join(amounts)})" if amounts else ""
        lines.append(Content.assemble(
            (f"#{entry['seq']} {entry['on']} {one_line(entry['actor'])}", "$text-muted"), " ",
            (one_line(entry["action"]), "bold"), " ", one_line(entry.get("details") or entry.get("target") or ""), tail,
        ))
    if total > len(entries):
        lines.append(content(_("… and {n} earlier entries on the Activity page.").format(n=total - len(entries))))
    return lines


def _ledger_lines(entries: list[dict[str, Any]], total: int, *, by_license: bool) -> list[Content]:
    if not entries:
        return [content(_("No credits charged."))]
    lines = [content(_("{on} · {credits} credits · {reason} · {what} · by {actor}").format(
        on=e["on"], credits=e["credits"], reason=e["reason"], what=e["license"] if by_license else e["bank"],
        actor=e["actor"])) for e in entries]
    if total > len(entries):
        lines.append(content(_("… and {n} earlier charges.").format(n=total - len(entries))))
    return lines


def _license_line(row: dict[str, Any], *, holder: bool = True) -> Content:
    line = _("{aid} · {status} · {type} × {computers} · until {expires}").format(
        aid=row["activation_id"], status=_named(LICENSE_STATUS_NAMES, row["status"]), type=_named(TYPE_NAMES, row["type"]),
        computers=row["computers"], expires=row["expires_on"])
    if holder:
        line += " · " + (row.get("assignee") or _("nobody (returned)"))
    return content(line)


# -- one layout per kind of thing -------------------------------------------------------------
def license_sections(d: dict[str, Any]) -> list[Section]:
    lic, bank = d["license"], d["bank"]
    fields = [
        field(N_("Activation ID"), lic["activation_id"]),
        field(N_("Product"), lic["product"]),
        field(N_("Type"), _named(TYPE_NAMES, lic["type"])),
        field(N_("Computers"), lic["computers"]),
        field(N_("Status"), _named(LICENSE_STATUS_NAMES, lic["status"])),
        field(N_("Assigned to"), lic.get("assignee") or _("nobody (returned)")),
        field(N_("Start date"), lic["start"]),
        field(N_("Expires on"), lic["expires_on"]),
        field(N_("Credits used"), lic["credits_used"]),
        field(N_("Created on"), d.get("created_on")),
    ]
    portable = _("portable") if bank["portable"] else _("not portable")
    bank_fields = [
        field(N_("Bank"), f"{bank['id']} · {bank['product']}"),
        field(N_("Bank start"), bank["start"]),
        field(N_("Bank expiry"), bank["expires_on"] + (" · " + _("expired") if bank["expired"] else "")),
        field(N_("Bank credits"), _("{remaining} remaining of {granted} granted").format(
            remaining=bank["remaining"], granted=bank["credits_granted"])),
        field(N_("Version"), f"{bank.get('product_version') or '—'} · {portable}"),
    ]
    return [
        (N_("License"), fields),
        (N_("Bank"), bank_fields),
        (N_("Credits charged"), _ledger_lines(d["ledger"], len(d["ledger"]), by_license=False)),
        (N_("History"), history_lines(d["history"], d["history_total"])),
    ]


def user_sections(d: dict[str, Any]) -> list[Section]:
    user = d["user"]
    fields = [
        field(N_("Email"), user["email"]),
        field(N_("Role"), _named(ROLE_NAMES, user["role"])),
        field(N_("Status"), _named(USER_STATUS_NAMES, user["status"])),
        field(N_("Invited on"), user.get("invited_on")),
        field(N_("First sign-in"), user.get("signed_in_on") or _("never")),
    ]
    teams = [content(
        t["name"] + f" ({t['product']})" + (" · " + _("Team Admin") if t["team_admin"] else "")
        + ("" if t["member"] else " · " + _("not a member"))) for t in d["teams"]] or [content(_("In no team."))]
    seats = [content(_("{product} since {since}").format(**s)) for s in d["seats"]] or [content(_("No seat."))]
    licenses = [_license_line(row, holder=False) for row in d["licenses"]] or [content(_("No license."))]
    keys = [content(_("{fingerprint} · {type} · {comment} · added {added_on} by {added_by} · last used {last}").format(
        fingerprint=k["fingerprint"], type=k["type"], comment=k.get("comment") or "—", added_on=k["added_on"],
        added_by=k["added_by"], last=k.get("last_used_on") or _("never"))) for k in d["keys"]] or [content(_("No SSH key."))]
    return [
        (N_("Member"), fields),
        (N_("Teams"), teams),
        (N_("Seats"), seats),
        (N_("Licenses"), licenses),
        (N_("SSH keys"), keys),
        (N_("History"), history_lines(d["history"], d["history_total"])),
    ]


def bank_sections(d: dict[str, Any]) -> list[Section]:
    bank = d["bank"]
    portable = _("portable") if bank["portable"] else _("not portable")
    fields = [
        field(N_("Bank"), bank["id"]),
        field(N_("Product"), bank["product"]),
        field(N_("Version"), f"{bank.get('product_version') or '—'} · {portable}"),
        field(N_("Start date"), bank["start"]),
        field(N_("Expires on"), bank["expires_on"] + (" · " + _("expired") if bank["expired"] else "")),
        field(N_("Requested"), bank["credits_requested"]),
        field(N_("Granted"), bank["credits_granted"]),
        field(N_("Used"), bank["used"]),
        field(N_("Remaining"), bank["remaining"]),
        field(N_("Forfeited"), bank["forfeited"] or "—"),
    ]
    if bank.get("return_blocked"):
        fields.append(field(N_("Returns"), bank["return_blocked"]))
    licenses = [_license_line(row) for row in d["licenses"]] or [content(_("No license from this bank."))]
    if d["licenses_total"] > len(d["licenses"]):
        licenses.append(content(_("… and {n} more on Manage Licenses.").format(n=d["licenses_total"] - len(d["licenses"]))))
    requests = [content(_("#{id} · {on} · {amount} credits · {state} · by {actor}").format(
        id=r["id"], on=r["on"], amount=r["amount"], state=r["state"], actor=r["actor"])) for r in d["requests"]] \
        or [content(_("No credit request."))]
    return [
        (N_("Bank"), fields),
        (ngettext("{n} license", "{n} licenses", d["licenses_total"]).format(n=d["licenses_total"]), licenses),
        (N_("Ledger"), _ledger_lines(d["ledger"], d["ledger_total"], by_license=True)),
        (N_("Credit requests"), requests),
        (N_("History"), history_lines(d["history"], d["history_total"])),
    ]


def team_sections(d: dict[str, Any]) -> list[Section]:
    team, pool = d["team"], d["pool"]
    fields = [
        field(N_("Team"), team["name"]),
        field(N_("Seat pool"), pool["product"]),
        field(N_("Seats"), _("{purchased} purchased · {active} active · {pending} pending · {unassigned} unassigned · "
                             "{unused} unused").format(**pool)),
        field(N_("Team Admins"), ", ".join(team["admins"]) or _("none")),
    ]
    members = [content(_("{email} · {state} · since {since}").format(
        email=m["email"], state=m["state"], since=m.get("since") or "—") + (" · " + _("Team Admin") if m["team_admin"] else ""))
        for m in d["members"]] or [content(_("No member yet."))]
    return [
        (N_("Team"), fields),
        (ngettext("{n} member", "{n} members", len(d["members"])).format(n=len(d["members"])), members),
        (N_("History"), history_lines(d["history"], d["history_total"])),
    ]


def action_rows(actions: Iterable[DetailAction]) -> ComposeResult:
    """One row per action: its key and label, then "available" or the portal's reason why not."""
    for action in actions:
        possible = action.why_not is None
        with Horizontal(classes="details-row " + ("-available" if possible else "-blocked"), id=f"details-action-{action.id}"):
            yield Static(Content.assemble((f"{action.key} ", "bold"), _(action.label)), classes="details-label")
            yield Static(content(_("available") if possible else _("not possible: {why}").format(why=action.why_not)),
                         classes="details-value")


def section_rows(rows: list[Row]) -> ComposeResult:
    """Two-column rows for the (label, value) pairs; consecutive lines of text as one block."""
    lines: list[Content] = []
    for row in rows + [None]:  # type: ignore[operator]
        if isinstance(row, Content):
            lines.append(row)
            continue
        if lines:
            yield Static(Content("\n").join(lines), classes="details-lines")
            lines = []
        if row is not None:
            label, value = row
            with Horizontal(classes="details-row"):
                yield Static(content(_(label)), classes="details-label")
                yield Static(content(value), classes="details-value")


class DetailsScreen(TranslatedBindings, ModalScreen[str | None]):
    """The details of one thing; dismisses with the id of the action whose key was pressed (None: closed)."""

    DEFAULT_CSS = """
    DetailsScreen { align: center middle; }
    DetailsScreen > Vertical {
        width: 110; max-width: 100%; height: 1fr; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    DetailsScreen .dialog-title { text-style: bold; color: $accent; height: 1; }
    DetailsScreen #details-body { height: 1fr; }
    DetailsScreen .details-heading { text-style: bold; color: $accent; margin-top: 1; }
    DetailsScreen .details-lines { height: auto; }
    DetailsScreen .details-row { height: auto; }
    DetailsScreen .details-label { width: 24; color: $text-muted; }
    DetailsScreen .details-value { width: 1fr; }
    DetailsScreen .-available .details-value { color: $success; }
    DetailsScreen .-blocked .details-value, DetailsScreen .-blocked .details-label { color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="details.close"),
        Binding("j", "scroll('down')", N_("Down"), show=False),
        Binding("k", "scroll('up')", N_("Up"), show=False),
    ]

    def __init__(self, title: str, sections: list[Section], actions: list[DetailAction]):
        super().__init__()
        self.title_text = title
        self.sections = sections
        self.actions = {a.id: a for a in actions}
        for action in actions:  # the page's own keys, shown in this screen's footer
            self._bindings.bind(action.key, f"run('{action.id}')", _(action.short or action.label), show=True)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(content(self.title_text), classes="dialog-title", id="details-title")
            with VerticalScroll(id="details-body"):
                if self.actions:
                    yield Static(_("Actions"), classes="details-heading", markup=False)
                    yield from action_rows(self.actions.values())
                for heading, rows in self.sections:
                    yield Static(_(heading), classes="details-heading", markup=False)
                    yield from section_rows(rows)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#details-body", VerticalScroll).focus()

    def text(self) -> str:
        """Everything the details say, as plain text (what a reader of the screen reads)."""
        parts = [self.title_text]
        for widget in self.query_one("#details-body").children:
            cells = widget.query(Static).results() if isinstance(widget, Horizontal) else [widget]
            parts.append("  ".join(str(cell.render()) for cell in cells))
        return "\n".join(parts)

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#details-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()

    def action_run(self, action_id: str) -> None:
        action = self.actions[action_id]
        if action.why_not is not None:
            self.notify(plain(_("{label} not possible: {why}").format(label=_(action.label), why=action.why_not)),
                        severity="warning", timeout=8, markup=False)
            return
        self.dismiss(action_id)

    def action_close(self) -> None:
        self.dismiss(None)


def show_details(page: Any, title: str, sections: list[Section], actions: list[DetailAction],
                 run: dict[str, Callable[[], None]]) -> None:
    """Push the details; an action chosen there runs on the page once they are closed."""

    def chosen(action_id: str | None) -> None:
        if action_id is not None and action_id in run:
            run[action_id]()

    page.app.push_screen(DetailsScreen(title, sections, actions), callback=chosen)
