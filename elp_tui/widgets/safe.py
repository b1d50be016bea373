"""Store text is data: never markup, never a terminal escape."""

from __future__ import annotations

import re

from rich.highlighter import Highlighter
from rich.text import Text
from textual.content import Content

from elp_tui.portal.inputs import BIDI_CONTROLS

# C0/C1 controls (ESC starts terminal escapes) and the bidi overrides that reorder what a
# reader sees; newline and tab are kept for multi-line text, see `one_line` for cells.
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


def plain(value: object) -> str:
    """The value as printable text: control characters (escapes) shown as '?'."""
    text = "" if value is None else str(value)
    return _CONTROL.sub("?", text)


def one_line(value: object) -> str:
    """Printable text for a one-line cell: line breaks and tabs become spaces."""
    return plain(_BREAKS.sub(" ", "" if value is None else str(value)))


def content(value: object) -> Content:
    """Literal content for a widget: square brackets and [@click=...] stay text."""
    return Content(plain(value))


def text(value: object, style: str = "") -> Text:
    return Text(plain(value), style=style)


class SafeDisplay(Highlighter):
    """What an Input shows of its value: a control character or line break pasted in (ESC, OSC 52,
    C1, LF) is drawn as '?', never sent to the terminal; the value keeps it, and the form refuses
    it by name."""

    def __call__(self, text: str | Text) -> Text:
        source = text if isinstance(text, Text) else Text(text)
        shown = plain(_BREAKS.sub("?", source.plain))  # a one-line input: a pasted line break is drawn too
        if shown == source.plain:
            return source
        safe = source.copy()
        safe.plain = shown  # one '?' per character: the cursor stays where it was
        return safe

    def highlight(self, text: Text) -> None:  # the whole job is in __call__
        pass
