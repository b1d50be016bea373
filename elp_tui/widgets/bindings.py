"""Binding texts are written in English at class level and translated per instance.

Textual merges class BINDINGS once, when the class is defined; the language is only known
at start-up, so each node translates its own copy of the bindings when it is created.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from elp_tui.i18n import _


class TranslatedBindings:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bindings = getattr(self, "_bindings", None)
        if bindings is None:
            return
        for key, items in bindings.key_to_bindings.items():
            bindings.key_to_bindings[key] = [
                replace(b, description=_(b.description) if b.description else "", tooltip=_(b.tooltip) if b.tooltip else "")
                for b in items
            ]
