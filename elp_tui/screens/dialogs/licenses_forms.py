"""The forms of Manage Licenses (add, renew, return, assign) and the CSV export result.

Field lists only: what to ask and how to check a typed value against the selected row.
Every rule (credits, expiry, who may receive a license) stays in the portal's quote.
"""

from __future__ import annotations

from typing import Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Select, Static

from elp_tui.i18n import N_, _
from elp_tui.portal import PortalError
from elp_tui.portal.base import normalise_email
from elp_tui.portal.quotes import TYPE_NAMES
from elp_tui.screens.dialogs.form import Field, FormDialog
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import content, plain, text

LICENSE_TYPES = [
    ("node-lock", N_("Node-lock: one computer per license")),
    ("multiseat", N_("Multiseat: one key, N computers")),
    ("floating", N_("Floating: server key, N clients")),
]

DEFAULT_MONTHS = 12
# What the quantity counts (SPEC §4 Generate): node-lock makes that many licenses; multiseat and
# floating make one license for that many computers.
QUANTITY_LABELS = {
    "node-lock": N_("Number of licenses"), "multiseat": N_("Number of computers"), "floating": N_("Number of computers"),
}


def quantity_label(license_type: Any) -> str:
    return QUANTITY_LABELS.get(license_type, QUANTITY_LABELS["node-lock"])


def bank_option(bank: dict[str, Any]) -> str:
    """How a bank reads in the Add licenses select: id, product, what is left, until when."""
    return _("{bank} · {product} · {remaining} credits left · until {expires}").format(
        bank=plain(bank["id"]), product=plain(bank["product"]), remaining=bank["remaining"], expires=bank["expires_on"],
    )


def generate_fields(banks: list[dict[str, Any]], values: dict[str, Any], today: str) -> list[Field]:
    """Bank, type, months, number of licenses, start date, recipient (values: last input, kept on refusal).
    The start proposed is one the preselected bank accepts (the portal's `first_start`: today, or the
    bank's start when it starts later)."""
    chosen = next((b for b in banks if b["id"] == values.get("bank")), None)
    start = (chosen or {}).get("first_start") or today
    return [
        Field("bank", N_("Bank"), kind="select", value=values.get("bank") or "",
              options=[(text(bank_option(b)), b["id"]) for b in banks]),
        Field("type", N_("License type"), kind="select", value=values.get("type") or "node-lock",
              options=[(text(_(label)), value) for value, label in LICENSE_TYPES]),
        Field("months", N_("Months"), kind="int", value=values.get("months", DEFAULT_MONTHS)),
        Field("quantity", quantity_label(values.get("type") or "node-lock"), kind="int", value=values.get("quantity", 1)),
        Field("start", N_("Start date"), kind="date", value=values.get("start") or start, placeholder="YYYY-MM-DD"),
        Field("email", N_("Recipient email"), kind="email", value=values.get("email") or "",
              placeholder=_("e.g. ana@studio.com")),
    ]


class GenerateForm(FormDialog):
    """Add licenses: the quantity's label follows the type chosen (licenses for node-lock,
    computers for multiseat and floating), and so does what a refusal of it calls it."""

    @on(Select.Changed, "#field-type")
    def _type_chosen(self, event: Select.Changed) -> None:
        label = quantity_label(event.value)
        for spec in self.fields:
            if spec.name == "quantity":
                spec.label = label
        row = self.query_one("#field-quantity").parent
        if row is not None:
            row.query_one(".form-label", Static).update(content(_(label)))


GENERATE_NOTE = N_(
    "Node-lock: that many licenses, 1 computer each. Multiseat and floating: one license for that many "
    "computers. 1 month = 1 credit per computer; you confirm the credits next."
)


def renew_fields(row: dict[str, Any], values: dict[str, Any] | None = None, term: int | None = None) -> list[Field]:
    """Months (and computers for multiseat); `values` keeps what was typed when a quote was refused;
    `term`: the license's current term (the portal's `license_term`), the months proposed."""
    values = values or {}
    fields = [
        Field("license", N_("License"), kind="info", value=f"{row['activation_id']} · {row['product']}"),
        Field("expires", N_("Expires on"), kind="info", value=row["expires_on"]),
    ]
    # A renewal follows the previous settings: the license's current term (the portal's figure).
    term = term or row.get("term_months") or DEFAULT_MONTHS
    if row["type"] == "multiseat":
        # A multiseat renewal may only raise the computers, so 0 months is allowed here; at the
        # bank's expiry nothing else is possible, so 0 is the default there.
        at_bank_end = row["expires_on"] >= row["bank_expires_on"]
        months = values.get("months", 0 if at_bank_end else term)
        fields.append(Field("months", N_("Months"), kind="int", value=months, minimum=0))
        fields.append(Field("computers", N_("Computers"), kind="int", value=values.get("computers", row["computers"]),
                            minimum=row["computers"]))
    else:
        fields.append(Field("months", N_("Months"), kind="int", value=values.get("months", term)))
    return fields


RENEW_NOTE = N_(
    "The license is extended by these months (its current term unless you change them), up to its "
    "bank's expiry. A multiseat license may also get more computers (never fewer). The next step shows "
    "the credits to deduct."
)


def _same_id(expected: str) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        if text.strip().upper() != expected.upper():
            return _("This is not the activation ID of the selected license ({aid}).").format(aid=expected)
        return None
    return check


def _same_email(expected: str) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        try:
            address = normalise_email(text)
        except PortalError:
            return _("Not a valid email address (e.g. ana@studio.com).")
        if address != expected.lower():
            return _("This license is assigned to {email}: check the email.").format(email=expected)
        return None
    return check


def _summary(row: dict[str, Any]) -> str:
    """Product · type · expiry of a license, the type in the user's language."""
    return f"{row['product']} · {_(TYPE_NAMES.get(row['type'], row['type']))} · {row['expires_on']}"


def return_fields(row: dict[str, Any]) -> list[Field]:
    """Verify the activation ID and the user's email (both prefilled, both checked)."""
    assignee = row.get("assignee") or ""
    return [
        Field("product", N_("Product"), kind="info", value=_summary(row)),
        Field("activation_id", N_("Activation ID"), kind="text", value=row["activation_id"],
              check=_same_id(row["activation_id"])),
        Field("email", N_("User email"), kind="email", value=assignee, check=_same_email(assignee)),
    ]


RETURN_NOTE = N_(
    "Verify the activation ID and the user's email. The license keeps its expiry date and no credits "
    "come back; afterwards you can assign it to another member."
)


def assign_fields(row: dict[str, Any]) -> list[Field]:
    return [
        Field("activation_id", N_("Activation ID"), kind="info", value=row["activation_id"]),
        Field("product", N_("Product"), kind="info", value=_summary(row)),
        Field("email", N_("User email"), kind="email", value="", placeholder=_("e.g. ana@studio.com")),
    ]


ASSIGN_NOTE = N_("Give this returned license to a member of your organization. An email to them is queued.")


def human_size(size: int) -> str:
    if size < 1024:
        return _("{n} bytes").format(n=size)
    if size < 1024 * 1024:
        return _("{n} KB").format(n=f"{size / 1024:.1f}")
    return _("{n} MB").format(n=f"{size / (1024 * 1024):.1f}")


# OSC 52 copies travel through the terminal; many terminals drop very large ones.
LARGE_CLIPBOARD = 1024 * 1024


class ExportDoneDialog(TranslatedBindings, ModalScreen[bool]):
    """Where the CSV was written; `c` copies the CSV to the clipboard, escape closes."""

    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss

    BINDINGS = [
        Binding("c", "copy", N_("Copy CSV"), id="export.copy", tooltip=N_("Copy the CSV to the clipboard (works over SSH)")),
        Binding("escape", "close", N_("Close"), id="export.close"),
    ]

    def __init__(self, path: str, licenses: int, size: int, *, filtered: bool = False):
        super().__init__()
        self.filtered = filtered
        self.path = path
        self.licenses = licenses
        self.byte_size = size

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(content(_("CSV written")), classes="dialog-title")
            if self.filtered:
                said = _("{n} licenses (those the filter showed), {size}, saved to:")
            else:
                said = _("{n} licenses (active, expired and returned), {size}, saved to:")
            yield Static(content(said.format(n=self.licenses, size=human_size(self.byte_size))))
            yield Static(content(self.path), id="export-path")
            yield Static(content(_("Press c to copy the CSV to your clipboard: it works over SSH too.")), classes="dialog-note")
            if self.byte_size > LARGE_CLIPBOARD:
                yield Static(content(_("This CSV is large: some terminals ignore clipboard copies this big. The file is complete either way.")),
                             classes="dialog-warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Close") + " (esc)", id="close")
                yield Button(_("Copy CSV") + " (c)", id="copy", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#copy", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "copy")

    def action_copy(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)
