"""The small family of modal dialogs: confirmations that show the portal's quote, forms."""

from elp_tui.screens.dialogs.confirm import ConfirmDialog
from elp_tui.screens.dialogs.form import Field, FormDialog

__all__ = ["ConfirmDialog", "FormDialog", "Field"]
