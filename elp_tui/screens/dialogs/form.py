"""A form that checks as you type and says what is wrong beside the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, SelectionList, Static

from elp_tui.i18n import N_, _
from elp_tui.portal.base import MAX_NAME, check_text, clean_name, normalise_email, positive_int
from elp_tui.portal.dates import parse_date
from elp_tui.portal.errors import PermissionDenied, PortalError
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import SafeDisplay, content, plain


@dataclass
class Field:
    """One form field. kind: text | name | email | date | int | select | multi | info."""

    name: str
    label: str
    kind: str = "text"
    value: Any = ""
    options: list[tuple[str, Any]] = field(default_factory=list)
    minimum: int = 1
    required: bool = True
    placeholder: str = ""
    check: Callable[[str], str | None] | None = None


def field_error(spec: Field, raw: Any) -> str | None:
    """What is wrong with this value, in the user's language, or None.

    The portal's own checks say it (the CLI gives the same words): a control or invisible
    character named, the range of a number, the calendar's days, the email's one form."""
    if spec.kind in ("info",):
        return None
    if spec.kind == "multi":
        if spec.required and not raw:
            return _("Select at least one.")
        return None
    if spec.kind == "select":
        if spec.required and (raw is None or raw is Select.NULL):
            return _("Choose one.")
        return None
    what = _(spec.label)
    try:
        # Before the blank check: a value of only a control character is not blank, it is refused.
        check_text(raw, what, limit=len(str(raw or "")))
        text = "" if raw is None else str(raw).strip()
        if not text:
            return _("Required.") if spec.required else None
        if spec.kind == "email":
            normalise_email(text)
        elif spec.kind == "date":
            parse_date(text, what)
        elif spec.kind == "int":
            positive_int(text, what, minimum=spec.minimum)
        elif spec.kind == "name":
            clean_name(text, what)
        else:  # an ID or a name typed to verify: as long as a name at most
            check_text(text, what, limit=MAX_NAME)
    except PortalError as exc:
        return str(exc)
    if spec.check is not None:
        return spec.check(text)
    return None


KEEP_FORM = object()
"""What a form's submit returns when the confirmation was cancelled: the form stays open."""


class FormInput(Input):
    """A form's one-line input. A paste goes in whole: Textual's Input keeps only its first line,
    which would accept `ana@x.com` out of `ana@x.com\r\nBcc: ...` silently; here the line break
    stays in the value and the form refuses it, naming it."""

    def _on_paste(self, event: events.Paste) -> None:
        if event.text:
            if self.selection.is_empty:
                self.insert_text_at_cursor(event.text)
            else:
                self.replace(event.text, *self.selection)
        event.stop()
        event.prevent_default()  # Input's own handler (first line only) must not run too


class FormDialog(TranslatedBindings, ModalScreen[dict[str, Any] | None]):
    DEFAULT_CLASSES = "dialog"  # its frame and parts: elp.tcss
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    BINDINGS = [
        Binding("ctrl+s", "submit", N_("Submit"), id="dialog.submit"),
        Binding("escape", "cancel", N_("Cancel"), id="dialog.cancel"),
    ]

    def __init__(
        self, title: str, fields: list[Field], *, submit_label: str = N_("Continue"), note: str = "",
        submit: Callable[[dict[str, Any]], Awaitable[Any]] | None = None, refusal_field: str | None = None,
    ):
        """`submit(values)`: what Continue does while the form stays open (the portal's quote, the
        confirmation, the commit). It returns the form's result, or KEEP_FORM (the confirmation was
        cancelled: the form is back as it was typed); a refusal it raises is shown beside the field
        it names (`PortalError.field`, else `refusal_field`, else above the buttons) and that field
        gets the focus. Without `submit` the form dismisses with the checked values."""
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.submit_label = submit_label
        self.note = note
        self.submit = submit
        self.refusal_field = refusal_field
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="form-frame"):
            yield Static(content(self.title_text), classes="dialog-title")
            if self.note:
                yield Static(content(self.note), classes="dialog-note")
            with VerticalScroll(id="form-fields"):
                for spec in self.fields:
                    with Horizontal(classes="form-row"):
                        yield Static(content(_(spec.label)), classes="form-label")
                        yield self._widget(spec)
                    yield Static("", id=f"error-{spec.name}", classes="form-error -ok")
            yield Static("", id="form-refusal", classes="form-error -ok")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Cancel") + " (esc)", id="cancel")
                yield Button(_(self.submit_label) + " (ctrl+s)", id="submit", variant="primary")

    def _widget(self, spec: Field):  # noqa: ANN202 - a widget
        wid = f"field-{spec.name}"
        if spec.kind == "info":
            return Static(content(spec.value), id=wid, classes="form-info")
        if spec.kind == "select":
            value = spec.value if spec.value not in ("", None) else Select.NULL
            return Select(
                [(label, v) for label, v in spec.options], value=value, id=wid, allow_blank=not spec.value, prompt=_("Select")
            )
        if spec.kind == "multi":
            chosen = set(spec.value or [])
            return SelectionList(*[(label, v, v in chosen) for label, v in spec.options], id=wid)
        return FormInput(
            value="" if spec.value is None else str(spec.value), id=wid, placeholder=spec.placeholder,
            classes="form-input", select_on_focus=False, highlighter=SafeDisplay(),
        )

    def on_mount(self) -> None:
        for spec in self.fields:
            if spec.kind != "info":
                self.query_one(f"#field-{spec.name}").focus()
                break
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """The fields scroll within what the screen leaves after the title, the note and the
        buttons: a form taller than the terminal (Add licenses at 100x30) keeps its buttons in
        sight, and the focused field scrolls into view (Textual scrolls focus within its container)."""
        frame = self.query_one("#form-frame", Vertical)
        fields = self.query_one("#form-fields", VerticalScroll)
        others = sum(w.outer_size.height + w.styles.margin.height for w in frame.children if w is not fields and w.display)
        room = int(self.size.height * 0.95) - frame.styles.gutter.height - others
        fields.styles.max_height = max(3, room)
        focused = self.focused
        if focused is not None:
            focused.scroll_visible(animate=False)
            refusal = self.query(f"#error-{(focused.id or '').removeprefix('field-')}")
            if refusal and not refusal.first().has_class("-ok"):
                refusal.first().scroll_visible(animate=False)  # the field's refusal in sight too

    def _raw(self, spec: Field) -> Any:
        widget = self.query_one(f"#field-{spec.name}")
        if isinstance(widget, Input):
            return widget.value
        if isinstance(widget, Select):
            return widget.value
        if isinstance(widget, SelectionList):
            return list(widget.selected)
        return spec.value

    def _show_error(self, spec: Field, message: str | None) -> None:
        label = self.query_one(f"#error-{spec.name}", Static)
        label.update(content(message or ""))
        label.set_class(not message, "-ok")

    def shown_error(self, name: str | None = None) -> str:
        """What the form says beside field `name` (None: above the buttons), as the user reads it."""
        label = self.query_one(f"#error-{name}" if name else "#form-refusal", Static)
        return "" if label.has_class("-ok") else str(label.render())

    def _show_refusal(self, message: str | None) -> None:
        """A refusal that names no field of this form: above the buttons, in the form."""
        label = self.query_one("#form-refusal", Static)
        label.update(content(message or ""))
        label.set_class(not message, "-ok")
        self.call_after_refresh(self._fit)

    def refused(self, exc: PortalError) -> None:
        """Show the portal's refusal beside the field it names and put the focus there; the
        form stays open with everything typed."""
        names = {spec.name: spec for spec in self.fields}
        name = getattr(exc, "field", None) or self.refusal_field
        spec = names.get(name or "")
        if spec is None:
            self._show_refusal(str(exc))
            return
        self._show_refusal(None)
        self._show_error(spec, str(exc))
        label = self.query_one(f"#error-{spec.name}", Static)
        if spec.kind != "info":
            self.query_one(f"#field-{spec.name}").focus()
        # The field and its refusal both in sight (the field above it comes along).
        self.call_after_refresh(label.scroll_visible, animate=False)

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        for spec in self.fields:
            if spec.name == name:
                self._show_error(spec, field_error(spec, event.value) if event.value else None)

    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    def _chosen(self, event: Select.Changed | SelectionList.SelectedChanged) -> None:
        """A new choice clears the refusal shown beside it (the portal judges it again on Continue)."""
        widget = event.control if isinstance(event, SelectionList.SelectedChanged) else event.select
        name = (widget.id or "").removeprefix("field-")
        for spec in self.fields:
            if spec.name == name:
                self._show_error(spec, None)

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        inputs = [w for w in self.query(Input).results() if w.id and w.id.startswith("field-")]
        if event.input is inputs[-1]:
            self.action_submit()
        else:
            self.focus_next()

    def values(self) -> tuple[dict[str, Any], list[str]]:
        values: dict[str, Any] = {}
        invalid: list[str] = []
        for spec in self.fields:
            raw = self._raw(spec)
            error = field_error(spec, raw)
            self._show_error(spec, error)
            if error:
                invalid.append(spec.name)
            value = raw.strip() if isinstance(raw, str) else raw
            if spec.kind == "int" and not error and value not in ("", None):
                value = positive_int(value, _(spec.label), minimum=spec.minimum)  # as field_error read it
            # A select with nothing chosen holds Select.NULL (Select.BLANK is Widget.BLANK, i.e. False).
            values[spec.name] = None if spec.kind == "select" and value is Select.NULL else value
        return values, invalid

    def action_submit(self) -> None:
        if self.busy:  # the quote, the confirmation or the commit of this form is on its way
            return
        values, invalid = self.values()
        if invalid:
            self.query_one(f"#field-{invalid[0]}").focus()
            return
        if self.submit is None:
            self.dismiss(values)
            return
        self.busy = True
        self._show_refusal(None)
        self.run_worker(self._submitting(values), group="form-submit", exclusive=True)

    async def _submitting(self, values: dict[str, Any]) -> None:
        try:
            result = await self.submit(values)  # type: ignore[misc]
        except PermissionDenied as exc:
            # Not something the form can fix (demoted meanwhile, say): it closes and says why.
            self.notify(plain(str(exc)), title=_("Refused"), severity="error", timeout=8, markup=False)
            self.dismiss(None)
            return
        except PortalError as exc:
            self.refused(exc)
            return
        finally:
            self.busy = False
        if result is KEEP_FORM:
            return  # the confirmation was cancelled: back to the form, as typed
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_cancel()
