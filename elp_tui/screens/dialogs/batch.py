"""The confirmation of a batch (many licenses, or users from a file): the portal's batch quote,
scrolling when long, and the choice between committing the allowed rows only and all or nothing.

Nothing is written before a choice; the commit re-checks the quote (a stale one comes back fresh)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from elp_tui.i18n import N_, _, ngettext
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content

# The portal's two commit modes (elp_tui.portal.batches.ALLOWED_ONLY / ALL_OR_NOTHING).
ALLOWED = "allowed"
ALL = "all"
LABEL_MAX = 34


def batch_summary(quote: Any, done: str) -> str:
    """One line above the rows: how many rows go through and how many are refused."""
    allowed, refused = quote.allowed_count(), len(quote.refused)
    if not refused:
        text = ngettext("{n} row: all allowed, {done} in one go.", "{n} rows: all allowed, {done} in one go.",
                        allowed).format(n=allowed, done=done)
    else:
        text = ngettext("{allowed} of {total} row allowed; {refused} refused (listed below with the reason).",
                        "{allowed} of {total} rows allowed; {refused} refused (listed below with the reason).",
                        quote.total()).format(allowed=allowed, total=quote.total(), refused=refused)
    credits = getattr(quote, "credits", None)
    if credits is not None:
        text += " " + _("Credits to deduct: {n}.").format(n=credits)
    return text


class BatchConfirmDialog(TranslatedBindings, ModalScreen[str | None]):
    """Dismisses with ALLOWED ("only the allowed rows"), ALL ("all or nothing") or None (cancel).

    With no refused row there is one choice, Confirm (y). With refused rows: `y` commits only the
    allowed rows, `a` all or nothing (the portal then writes nothing, and says why). The rows
    scroll (j/k, pgup/pgdn) between the title and the buttons, which stay in sight at 80x24."""

    DEFAULT_CLASSES = "dialog"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall"), (40, "-taller")]

    BINDINGS = [
        Binding("y", "choose('allowed')", N_("Confirm"), id="dialog.confirm"),
        Binding("a", "choose('all')", N_("All or nothing"), id="dialog.all_or_nothing"),
        Binding("n,escape", "cancel", N_("Cancel"), id="dialog.cancel"),
        Binding("j,down", "scroll(1)", N_("Down"), show=False),
        Binding("k,up", "scroll(-1)", N_("Up"), show=False),
        Binding("pagedown,space", "scroll(8)", N_("Page down"), show=False),
        Binding("pageup", "scroll(-8)", N_("Page up"), show=False),
        Binding("home,g", "scroll(-100000)", N_("First row"), show=False),
        Binding("end,G", "scroll(100000)", N_("Last row"), show=False),
    ]

    def __init__(self, title: str, quote: Any, *, summary: str, warning: str = "", confirm_label: str = N_("Confirm"),
                 careful: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.quote = quote
        self.rows: list[tuple[str, str]] = quote.lines()
        self.summary = summary
        self.warning = warning
        self.confirm_label = confirm_label
        self.careful = careful
        self.has_refused = bool(quote.refused)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(content(self.title_text), classes="dialog-title")
            yield Static(content(self.summary), id="batch-summary")
            refused_labels = {r.label() for r in self.quote.refused}
            with VerticalScroll(id="batch-rows"):
                for label, value in self.rows:
                    refused = label in refused_labels
                    with Horizontal(classes="quote-row" + (" -refused" if refused else "")):
                        yield Static(content(_(label)), classes="quote-label")
                        yield Static(content(value), classes="quote-value")
            if self.warning:
                yield Static(content(self.warning), classes="dialog-warning", id="dialog-warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Cancel") + " (n)", id="cancel")
                if self.has_refused:
                    yield Button(_("All or nothing") + " (a)", id="all")
                    yield Button(_("Only the allowed rows") + " (y)", id="allowed", variant="primary")
                else:
                    yield Button(_(self.confirm_label) + " (y)", id="allowed", variant="primary")

    def on_mount(self) -> None:
        # Many credits or a return: never one stray Enter away (y still confirms).
        self.query_one("#cancel" if self.careful else "#allowed", Button).focus()
        # The labels as wide as the longest (an activation ID, a row and its email), up to LABEL_MAX.
        width = min(LABEL_MAX, max((cell_len(_(label)) for label, _value in self.rows), default=10)) + 2
        for label in self.query(".quote-label"):
            label.styles.width = width
        self.call_after_refresh(self._say_if_scrolls)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose" and parameters == (ALL,) and not self.has_refused:
            return False  # nothing is refused: "all or nothing" is the same as Confirm
        return True

    def on_resize(self) -> None:
        self.call_after_refresh(self._say_if_scrolls)

    def _say_if_scrolls(self) -> None:
        """When the rows do not all fit, the summary says how to see the rest."""
        rows = self.query_one("#batch-rows", VerticalScroll)
        hint = _("j/k, pgup/pgdn or the mouse scroll the rows.") if rows.max_scroll_y > 0 else ""
        self.query_one("#batch-summary", Static).update(content(self.summary + ("\n" + hint if hint else "")))

    def action_scroll(self, step: int) -> None:
        rows = self.query_one("#batch-rows", VerticalScroll)
        rows.scroll_to(y=max(0, min(rows.max_scroll_y, rows.scroll_target_y + step)), animate=False, immediate=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id in (ALLOWED, ALL) else None)

    def action_choose(self, mode: str) -> None:
        self.dismiss(mode)

    def action_cancel(self) -> None:
        self.dismiss(None)
