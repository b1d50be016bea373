"""Store text is data: never markup, never a terminal escape."""

from __future__ import annotations

import re

from rich.text import Text
from textual.content import Content

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(value: object) -> str:
    """The value as printable text: control characters (escapes) shown as '?'."""
    text = "" if value is None else str(value)
    return _CONTROL.sub("?", text)


def content(value: object) -> Content:
    """Literal content for a widget: square brackets and [@click=...] stay text."""
    return Content(plain(value))


def text(value: object, style: str = "") -> Text:
    return Text(plain(value), style=style)
