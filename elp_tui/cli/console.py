"""What the CLI prints: aligned plain-text tables, JSON, confirmations, refusals.

Text from the store (product, team and organization names, notes) is printed through
`plain()`, so a control character in it is shown escaped, never run by the terminal.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TextIO

import orjson

ELLIPSIS = "…"
GAP = "  "


class Refused(Exception):
    """A refusal made by the CLI itself (no confirmation, cancelled): exit 1, one line."""


def plain(value: Any) -> str:
    """One printable line: control and bidi-format characters shown as escapes."""
    if type(value) is str and value.isprintable():
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or (ch == " "):
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # JSON spells characters beyond the BMP as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def to_json(data: Any) -> str:
    """Indented UTF-8 JSON with ISO dates (orjson: fast on 100k licenses).

    orjson escapes ASCII control characters; the non-printable rest (C1 controls, bidi
    overrides) is escaped here, so store text never reaches the terminal raw. Outside
    strings JSON holds only printable ASCII, so escaping char by char is safe."""
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2, default=_json_default).decode("utf-8")
    if all(line.isprintable() for line in text.split("\n")):
        return text
    return "".join(ch if ch.isprintable() or ch in "\n " else _json_escape(ch) for ch in text)


def only(row: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The documented JSON shape: exactly these keys, in this order."""
    return {key: row.get(key) for key in keys}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    right: bool = False  # numbers align right
    flex: bool = False  # may be cut with an ellipsis to fit the width
    drop: int = 0  # 0 = always shown; higher numbers are dropped first when too wide
    show: Callable[[Any], str] | None = None


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + ELLIPSIS


def fit_columns(columns: Sequence[Column], cells: list[list[str]], width: int | None) -> tuple[list[int], list[int]]:
    """Which columns to show (indices) and how wide, so a line fits in `width`."""
    natural = [max([len(c.header)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))

    def total(indices: list[int], widths: list[int]) -> int:
        return sum(widths[i] for i in indices) + len(GAP) * (len(indices) - 1)

    widths = list(natural)
    if width is None:
        return shown, widths
    while total(shown, widths) > width:
        droppable = [i for i in shown if columns[i].drop > 0]
        if not droppable:
            break
        shown.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    excess = total(shown, widths) - width
    flexible = [i for i in shown if columns[i].flex]
    while excess > 0 and flexible:
        widest = max(flexible, key=lambda i: widths[i])
        floor = max(len(columns[widest].header), 8)
        if widths[widest] <= floor:
            flexible.remove(widest)
            continue
        widths[widest] -= 1
        excess -= 1
    return shown, widths


class Console:
    """Where a command's output goes; `as_json` sends all chatter to stderr."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        stdin: TextIO | None = None,
        *,
        as_json: bool = False,
    ):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin
        self.as_json = as_json

    # -- streams -----------------------------------------------------------------
    @property
    def chatter(self) -> TextIO:
        """Human notes: stderr when stdout carries JSON, so the JSON stays parseable."""
        return self.err if self.as_json else self.out

    def width(self) -> int | None:
        """The terminal's width; with no terminal, $COLUMNS if set, else no limit (scripts)."""
        try:
            tty = self.out.isatty()
        except (AttributeError, ValueError):
            tty = False
        if tty:
            return shutil.get_terminal_size((80, 24)).columns
        columns = os.environ.get("COLUMNS", "")
        return int(columns) if columns.isascii() and columns.isdigit() and int(columns) > 0 else None

    def line(self, text: str = "") -> None:
        """A line the CLI wrote itself; store text inside must already be `plain()`."""
        print(text, file=self.chatter)

    def note(self, text: str) -> None:
        print(text, file=self.err)

    def raw(self, text: str) -> None:
        self.out.write(text)

    def json(self, data: Any) -> None:
        print(to_json(data), file=self.out)

    # -- tables ------------------------------------------------------------------
    def table(self, columns: Sequence[Column], rows: Iterable[dict[str, Any]], *, indent: str = "", empty: str = "") -> None:
        cells = [[plain(c.show(row.get(c.key)) if c.show else row.get(c.key)) for c in columns] for row in rows]
        if not cells:
            if empty:
                self.line(indent + empty)
            return
        width = self.width()
        shown, widths = fit_columns(columns, cells, None if width is None else width - len(indent))
        layout = [(i, widths[i], columns[i].right) for i in shown]

        def render(values: list[str]) -> str:
            parts = []
            for i, w, right in layout:
                text = values[i] if len(values[i]) <= w else _cut(values[i], w)
                parts.append(text.rjust(w) if right else text.ljust(w))
            return (indent + GAP.join(parts)).rstrip()

        header = render([c.header for c in columns])
        # one write for the whole table: 100k rows print in a fraction of a second
        self.chatter.write("\n".join([header] + [render(row) for row in cells]) + "\n")

    def pairs(self, items: Sequence[tuple[str, Any]], *, indent: str = "  ") -> None:
        """A label: value list (a quote, a record)."""
        if not items:
            return
        label_width = max(len(label) for label, _ in items)
        for label, value in items:
            self.line(f"{indent}{plain(label) + ':':<{label_width + 1}} {plain(value)}")

    # -- confirmation ------------------------------------------------------------
    def stdin_is_terminal(self) -> bool:
        try:
            return bool(self.stdin.isatty())
        except (AttributeError, ValueError):
            return False

    def confirm(self, yes: bool) -> None:
        """Go on only when --yes was given or the person at the terminal says y."""
        if yes:
            return
        if not self.stdin_is_terminal():
            raise Refused("this changes the store and there is no terminal to confirm on: nothing was changed. "
                          "Check the summary above, then pass --yes.")
        stream = self.chatter
        stream.write("Proceed? [y/N] ")
        stream.flush()
        answer = self.stdin.readline()
        if not answer:
            stream.write("\n")
        if answer.strip().lower() not in ("y", "yes"):
            raise Refused("cancelled: nothing was changed.")
