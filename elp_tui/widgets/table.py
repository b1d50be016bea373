"""A windowed table: renders only the visible lines, so 100k rows never block a keystroke.

The stock DataTable builds every row up front (about 20 s at 100k rows). Here rows stay
plain dicts; `render_line` formats just the line asked for (the Toolong `ScrollView` +
`render_line` model). Filtering scans a precomputed lower-case text per row; sorting is one
`list.sort` of row indices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from elp_tui.i18n import N_, _
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import one_line


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # message id, translated when drawn
    width: int
    align: str = "left"
    format: Callable[[Any], str] | None = None


def _cell(value: Any, column: Column) -> str:
    if column.format is not None:
        text = column.format(value)
    elif value is None:
        text = "—"
    elif isinstance(value, bool):
        text = _("yes") if value else _("no")
    else:
        text = str(value)
    text = one_line(text)
    width = column.width
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…"
    pad = width - cell_len(text)
    return (" " * pad + text) if column.align == "right" else (text + " " * pad)


class _RowMessage(Message):
    def __init__(self, table: "RecordTable", row: dict[str, Any] | None):
        super().__init__()
        self.table = table
        self.row = row

    @property
    def control(self) -> "RecordTable":
        return self.table


class RecordTable(TranslatedBindings, ScrollView, can_focus=True):
    """Rows of dicts with a fixed header, cursor, filter and sort."""

    DEFAULT_CSS = """
    RecordTable {
        height: 1fr;
        background: $surface;
    }
    RecordTable > .recordtable--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    RecordTable > .recordtable--cursor {
        background: $block-cursor-blurred-background;
    }
    RecordTable:focus > .recordtable--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    RecordTable > .recordtable--muted {
        color: $text-muted;
    }
    """
    COMPONENT_CLASSES = {"recordtable--header", "recordtable--cursor", "recordtable--muted"}

    BINDINGS = [
        Binding("j,down", "cursor_down", N_("Down"), show=False),
        Binding("k,up", "cursor_up", N_("Up"), show=False),
        Binding("g,home", "cursor_top", N_("Top"), show=False),
        Binding("G,end", "cursor_bottom", N_("Bottom"), show=False),
        Binding("pagedown", "page_down", N_("Page down"), show=False),
        Binding("pageup", "page_up", N_("Page up"), show=False),
        Binding("enter", "select", N_("Select"), show=False),
        Binding("o", "sort", N_("Sort"), tooltip=N_("Sort by the next column; press again to reverse")),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(_RowMessage):
        """The cursor moved to `row` (None when the table is empty)."""

    class Selected(_RowMessage):
        """Enter or a double click on `row`."""

    def __init__(
        self,
        columns: list[Column],
        *,
        muted: Callable[[dict[str, Any]], bool] | None = None,
        flex: str | None = None,
        flex_max: int = 60,
        **kwargs: Any,
    ):
        """`flex`: the key of a column that takes the width the others leave, from its declared
        width up to `flex_max` (so an email column fits 80 columns and uses 120)."""
        super().__init__(**kwargs)
        self.columns = columns
        self._flex = flex
        self._flex_bounds = (next((c.width for c in columns if c.key == flex), 0), flex_max)
        self._rows: list[dict[str, Any]] = []
        self._haystack: list[str] = []
        self._view: list[int] = []
        self._filter = ""
        self.sort_key: str | None = None
        self.sort_reverse = False
        self._muted = muted

    # -- data ----------------------------------------------------------------------
    @staticmethod
    def build_haystack(columns: list[Column], rows: list[dict[str, Any]]) -> list[str]:
        """The lower-case text the filter scans; pure, so a worker thread can build it for 100k rows."""
        keys = [c.key for c in columns]
        return [" ".join(str(r.get(k, "") or "") for k in keys).lower() for r in rows]

    def set_rows(
        self, rows: list[dict[str, Any]], *, keep: str | None = None, haystack: list[str] | None = None
    ) -> None:
        """Replace the rows; keep the cursor on the row whose `keep` field matches, if any.

        `haystack`: `build_haystack(columns, rows)` computed off the UI thread (optional).
        """
        current = self.current_row
        self._rows = rows
        if haystack is None or len(haystack) != len(rows):
            haystack = self.build_haystack(self.columns, rows)
        self._haystack = haystack
        self._rebuild()
        if keep and current is not None:
            for pos, index in enumerate(self._view):
                if self._rows[index].get(keep) == current.get(keep):
                    self.cursor = pos
                    break

    def set_filter(self, text: str) -> None:
        self._filter = text.strip().lower()
        self._rebuild()
        self.cursor = 0

    @property
    def filter_text(self) -> str:
        return self._filter

    def sort_by(self, key: str, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = (not self.sort_reverse) if key == self.sort_key else False
        self.sort_key, self.sort_reverse = key, reverse
        self._rebuild()

    def _rebuild(self) -> None:
        needle = self._filter
        if needle:
            view = [i for i, text in enumerate(self._haystack) if needle in text]
        else:
            view = list(range(len(self._rows)))
        if self.sort_key is not None:
            key = self.sort_key
            rows = self._rows

            def sort_value(i: int) -> tuple[int, Any]:
                value = rows[i].get(key)
                if value is None:
                    return (1, "")
                return (0, value if isinstance(value, (int, float)) else str(value).lower())

            view.sort(key=sort_value, reverse=self.sort_reverse)
        self._view = view
        width = sum(c.width + 2 for c in self.columns)
        self.virtual_size = Size(width, len(view) + 1)
        self.cursor = min(self.cursor, max(0, len(view) - 1))
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self._view)

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def current_row(self) -> dict[str, Any] | None:
        if not self._view or self.cursor >= len(self._view):
            return None
        return self._rows[self._view[self.cursor]]

    def visible_rows(self) -> list[dict[str, Any]]:
        return [self._rows[i] for i in self._view]

    # -- cursor --------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row))

    def _scroll_to_cursor(self) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False)

    def _move(self, to: int) -> None:
        if self._view:
            self.cursor = max(0, min(len(self._view) - 1, to))

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_cursor_top(self) -> None:
        self._move(0)

    def action_cursor_bottom(self) -> None:
        self._move(len(self._view) - 1)

    def action_page_down(self) -> None:
        self._move(self.cursor + max(1, self.scrollable_content_region.height - 2))

    def action_page_up(self) -> None:
        self._move(self.cursor - max(1, self.scrollable_content_region.height - 2))

    def action_select(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.Selected(self, row))

    def action_sort(self) -> None:
        keys = [c.key for c in self.columns]
        if self.sort_key in keys:
            index = keys.index(self.sort_key)
            if not self.sort_reverse:
                self.sort_by(keys[index], reverse=True)
                return
            self.sort_by(keys[(index + 1) % len(keys)], reverse=False)
        else:
            self.sort_by(keys[0], reverse=False)
        self.notify(self.sort_description(), timeout=2)

    def sort_description(self) -> str:
        label = next((_(c.label) for c in self.columns if c.key == self.sort_key), "")
        arrow = "↓" if self.sort_reverse else "↑"
        return _("Sorted by {column} {arrow}").format(column=label, arrow=arrow)

    def on_resize(self, event: events.Resize) -> None:
        if self._flex is None:
            return
        low, high = self._flex_bounds
        # Room for a vertical scrollbar is always kept, so rows arriving never add a horizontal one.
        others = sum(c.width for c in self.columns if c.key != self._flex) + 2 * len(self.columns)
        width = max(low, min(high, event.size.width - self.styles.scrollbar_size_vertical - others))
        self.columns = [replace(c, width=width) if c.key == self._flex else c for c in self.columns]
        self.virtual_size = Size(sum(c.width + 2 for c in self.columns), len(self._view) + 1)
        self.refresh()

    # -- mouse ---------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        x = event.x + int(self.scroll_x)
        if event.y == 0:
            edge = 0
            for column in self.columns:
                edge += column.width + 2
                if x < edge:
                    self.sort_by(column.key)
                    self.notify(self.sort_description(), timeout=2)
                    return
            return
        row = int(self.scroll_y) + event.y - 1
        if 0 <= row < len(self._view):
            if row == self.cursor and event.chain >= 2:
                self.action_select()
            self.cursor = row

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        pass

    # -- drawing -------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header_style = self.get_component_rich_style("recordtable--header")
            cells = []
            for c in self.columns:
                label = _(c.label)
                if c.key == self.sort_key:
                    label += " ↓" if self.sort_reverse else " ↑"
                cells.append(_cell(label, Column(c.key, c.label, c.width, c.align)))
            line = " " + "  ".join(cells) + " "
            return Strip([Segment(line, base + header_style)]).crop_extend(scroll_x, scroll_x + width, base + header_style)
        pos = scroll_y + y - 1
        if pos >= len(self._view):
            return Strip.blank(width, base)
        row = self._rows[self._view[pos]]
        line = " " + "  ".join(_cell(row.get(c.key), c) for c in self.columns) + " "
        style: Style = base
        if self._muted is not None and self._muted(row):
            style = base + self.get_component_rich_style("recordtable--muted")
        if pos == self.cursor:
            style = base + self.get_component_rich_style("recordtable--cursor")
        return Strip([Segment(line, style)]).crop_extend(scroll_x, scroll_x + width, style)
