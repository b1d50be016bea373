"""Forms and confirmations that forgive (issue 12): keys a person presses, then the store read back.

A form stays open while the portal quotes, the admin confirms and the change is committed: a
refusal shows beside the field it names with the focus there, cancelling the confirmation returns
to the form with what was typed, and anything that affects yourself, invites someone new, deletes
or spends many credits opens its confirmation on Cancel."""

from __future__ import annotations

from textual.widgets import Button

from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import FormDialog
from tests.conftest import ADMIN
from tests.helpers import messages, store_bytes, until
from tests.test_ui_licenses import app_for, confirmation, form, open_page, settle

ANA = "ana@lf.io"


def in_sight(dialog, widget) -> bool:
    """The widget is drawn whole: inside the terminal and, for a field, inside the scrolled fields."""
    region = widget.region
    fields = dialog.query_one("#form-fields")
    inside = fields.region if fields in widget.ancestors else dialog.region
    return region.height > 0 and dialog.region.contains_region(region) and inside.contains_region(region)


# -- a form taller than the screen -----------------------------------------------------
async def test_add_licenses_at_100x30_keeps_the_focused_field_and_the_buttons_in_sight(portal, bank, tmp_path):
    before = store_bytes(portal.store.path)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_page(app, pilot)
        await pilot.press("a")
        dialog = await form(pilot, app)
        buttons = [dialog.query_one("#cancel", Button), dialog.query_one("#submit", Button)]
        # bank -> type -> months -> quantity -> start -> email: each one in sight when it has the focus
        for _ in range(5):
            await pilot.press("tab")
            await pilot.pause()
            assert in_sight(dialog, dialog.focused), dialog.focused
            assert all(in_sight(dialog, b) for b in buttons)
        assert dialog.focused.id == "field-email"
        await pilot.press(*ANA, "shift+tab", "ctrl+u", *"2026-01-01", "ctrl+s")
        # The start-date refusal: beside the start date, the focus there, both in sight; no toast.
        await until(pilot, lambda: "in the past" in dialog.shown_error("start"), "refusal beside the start")
        await pilot.pause()
        assert app.screen is dialog and dialog.focused.id == "field-start"
        assert in_sight(dialog, dialog.focused) and in_sight(dialog, dialog.query_one("#error-start"))
        assert all(in_sight(dialog, b) for b in buttons)
        assert "in the past" not in messages(app)
        values, _invalid = dialog.values()
        assert values["email"] == ANA and values["start"] == "2026-01-01"
        await pilot.press("escape")
        await settle(pilot, app)
    assert store_bytes(portal.store.path) == before
