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

from elp_tui.details_text import (  # noqa: F401  (the pages import the sections from here)
    Line, Row, Section, bank_sections, license_sections, team_sections, user_sections,
)
from elp_tui.i18n import N_, _
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content, plain


@dataclass(frozen=True)
class DetailAction:
    """One action the details offer: the page's key for it, its label, and why not (None: possible)."""

    id: str
    key: str
    label: str
    why_not: str | None = None
    short: str = ""  # the footer's word for it (the label when empty)


# The sections come from elp_tui.details_text (the same words `elp licenses show` prints): a pair is
# drawn in two columns so that a long value (a refusal, an email) wraps under itself, not under the
# label; a line keeps its emphasis (muted, bold) as this screen's styles.
STYLES = {"": "", "muted": "$text-muted", "bold": "bold"}


def line_content(row: Line) -> Content:
    """A details line as literal content (never markup), its pieces styled."""
    return Content.assemble(*((plain(text), STYLES.get(style, "")) for text, style in row.pieces))


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
        if isinstance(row, Line):
            lines.append(line_content(row))
            continue
        if lines:
            yield Static(Content("\n").join(lines), classes="details-lines")
            lines = []
        if row is not None:
            label, value = row
            with Horizontal(classes="details-row"):
                yield Static(content(label), classes="details-label")
                yield Static(content(value), classes="details-value")


class DetailsScreen(TranslatedBindings, ModalScreen[str | None]):
    """The details of one thing; dismisses with the id of the action whose key was pressed (None: closed)."""

    DEFAULT_CLASSES = "dialog"  # the modal frame, and its own size: elp.tcss

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
                    yield Static(heading, classes="details-heading", markup=False)
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
