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
from textual.actions import SkipAction
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from elp_tui.i18n import N_, _, ngettext
from elp_tui.widgets.bindings import TranslatedBindings
from elp_tui.widgets.safe import one_line


@dataclass(frozen=True)
class Column:
    """One column. `width` is what it takes when there is room; the table gives it back down to
    `min_width` when the screen is narrow, and lets it grow up to `max_width` when wide (an email).
    `priority` 1 columns stay on screen first; when even their narrowest widths do not fit, the
    columns of a higher number move past the right edge (left/right bring them in). `fit`: the
    column takes the width of its longest value (a sequence number on a large log)."""

    key: str
    label: str  # message id, translated when drawn
    width: int
    align: str = "left"
    format: Callable[[Any], str] | None = None
    min_width: int = 0  # 0: the same as width
    max_width: int = 0  # 0: the same as width
    priority: int = 2
    fit: bool = False

    @property
    def narrowest(self) -> int:
        return min(self.width, self.min_width) if self.min_width else self.width

    @property
    def widest(self) -> int:
        return max(self.width, self.max_width)


MARK = "✓"  # in the first cell of a marked row (the cell before the first column)
GAP = 2  # spaces between two columns (and one before the first, one after the last)


def layout_columns(columns: list[Column], room: int) -> list[Column]:
    """The columns in the order they are drawn, with their widths for `room` cells.

    The important columns (priority 1 and 2) at their declared width and as many of the others
    at their narrowest as fit (by priority, then declared order) are drawn, in declared order;
    the rest follow past the right edge. When even the important ones do not fit, as many of
    them as fit at their narrowest, strictly by priority. Space left over goes back to the
    columns on screen: the important ones up to their declared width, then up to their widest
    (a whole email); then the others."""
    if not columns:
        return []
    ranked_all = sorted(range(len(columns)), key=lambda i: (columns[i].priority, i))

    def comfortable(indices: list[int]) -> bool:
        """The important columns at their declared width, the others at their narrowest."""
        cols = [columns[i] for i in indices]
        return sum((c.width if c.priority <= 2 else c.narrowest) + GAP for c in cols) <= room

    keep = len(ranked_all)
    while keep and not comfortable(ranked_all[:keep]):
        keep -= 1  # the least important columns step past the right edge first
    important = [i for i in ranked_all if columns[i].priority <= 2]
    if keep >= len(important):
        chosen = set(ranked_all[:keep])
    else:  # even the important columns do not fit at their width: as many as fit at their narrowest
        chosen = set()
        used = 0
        for i in important:
            need = columns[i].narrowest + GAP
            if used + need > room and chosen:
                break  # strictly by priority: a small column does not jump the queue
            chosen.add(i)
            used += need
    on_screen = [replace(c, width=c.narrowest) for i, c in enumerate(columns) if i in chosen]
    declared = {c.key: c for c in columns}
    spare = room - sum(c.width + GAP for c in on_screen)
    ranked = sorted(range(len(on_screen)), key=lambda i: (on_screen[i].priority, i))
    # The important columns get their width, then grow (a whole email), before the others get theirs.
    for goal, most in (("width", 2), ("widest", 2), ("width", 99), ("widest", 99)):
        for i in ranked:
            column = on_screen[i]
            if spare <= 0 or column.priority > most:
                continue
            target = declared[column.key].width if goal == "width" else declared[column.key].widest
            if column.width < target:
                grow = min(spare, target - column.width)
                on_screen[i] = replace(column, width=column.width + grow)
                spare -= grow
    rest = [c for i, c in enumerate(columns) if i not in chosen]
    return on_screen + rest


def _text(value: Any, column: Column) -> str:
    if column.format is not None:
        text = column.format(value)
    elif value is None:
        text = "—"
    elif isinstance(value, bool):
        text = _("yes") if value else _("no")
    else:
        text = str(value)
    return one_line(text)


def _pad(text: str, column: Column) -> str:
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
    """Rows of dicts with a fixed header, cursor, filter and sort.

    Columns fit the width (see `layout_columns`); left/right scroll by one whole column, the
    first column staying in place as the row's name; home returns to the first column. A key
    the table cannot use (j on the last row, pgdn on a table that shows all its rows) goes on
    to the page, so a table inside a scrolling page scrolls the page."""

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
        Binding("g,ctrl+home", "cursor_top", N_("Top"), show=False),
        Binding("G", "cursor_bottom", N_("Bottom"), show=False),
        Binding("end,ctrl+end", "end", N_("Bottom"), show=False),
        Binding("pagedown", "page_down", N_("Page down"), show=False),
        Binding("pageup", "page_up", N_("Page up"), show=False),
        Binding("right", "column_right", N_("Next column"), id="table.column_right", show=False,
                tooltip=N_("Scroll the table right by one column")),
        Binding("left", "column_left", N_("Previous column"), id="table.column_left", show=False,
                tooltip=N_("Scroll the table left by one column")),
        Binding("home", "column_home", N_("First column"), id="table.column_home", show=False,
                tooltip=N_("Back to the first column (and to the top row when already there)")),
        Binding("enter", "select", N_("Select"), show=False),
        Binding("o", "sort", N_("Sort"), id="table.sort", tooltip=N_("Choose the column to sort by")),
        Binding("escape", "clear_marks", N_("Clear the marks"), id="table.clear_marks", show=False,
                tooltip=N_("Unmark every marked row (with no marks: back)")),
        Binding("greater_than_sign", "sort_step(1)", N_("Sort by the next column"), id="table.sort_next", show=False),
        Binding("less_than_sign", "sort_step(-1)", N_("Sort by the previous column"), id="table.sort_previous", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)
    counts: reactive[tuple[int, int]] = reactive((0, 0), always_update=True)  # (rows shown by the filter, all rows)

    class Highlighted(_RowMessage):
        """The cursor moved to `row` (None when the table is empty)."""

    class Selected(_RowMessage):
        """Enter or a double click on `row`."""

    class MarksChanged(Message):
        """Rows were marked or unmarked (`table.marked` holds their keys)."""

        def __init__(self, table: "RecordTable"):
            super().__init__()
            self.table = table

        @property
        def control(self) -> "RecordTable":
            return self.table

    def __init__(
        self,
        columns: list[Column],
        *,
        muted: Callable[[dict[str, Any]], bool] | None = None,
        flex: str | None = None,
        flex_max: int = 60,
        sort: tuple[str, bool] | None = None,
        mark: str | None = None,
        **kwargs: Any,
    ):
        """`flex`: the key of a column that may grow up to `flex_max` (the same as its
        `max_width`). `sort`: (column key, descending) the rows arrive in, shown by the arrow
        on that column's header before anyone sorts. `mark`: the key field of a row (an
        activation ID) when rows can be marked: marked rows show MARK in their first cell, and
        keep it across `set_rows` while a row with that key is still there."""
        super().__init__(**kwargs)
        if flex is not None:
            columns = [replace(c, max_width=max(c.max_width, flex_max)) if c.key == flex else c for c in columns]
        self.columns = columns
        self._rows: list[dict[str, Any]] = []
        self._haystack: list[str] = []
        self._view: list[int] = []
        self._filter = ""
        self._arrival_sort = sort
        self.sort_key: str | None = sort[0] if sort else None
        self.sort_reverse = bool(sort[1]) if sort else False
        self._muted = muted
        self._fit: dict[str, int] = {}  # width of `fit` columns, from their longest value
        self._room = 0
        self._order: list[Column] = list(columns)  # laid out for `_room`
        self.first_column = 0  # how many columns (after the first) are scrolled past on the left
        self.mark_key = mark
        self.marked: set[Any] = set()  # the `mark` field of the marked rows

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
        if self.marked:  # a mark lives as long as its row: rows that vanished drop theirs
            still = self.marked & {r.get(self.mark_key) for r in rows}
            if still != self.marked:
                self.marked = still
                self.post_message(self.MarksChanged(self))
        self._measure()
        self._rebuild()
        if keep and current is not None:
            for pos, index in enumerate(self._view):
                if self._rows[index].get(keep) == current.get(keep):
                    self.cursor = pos
                    break

    def _measure(self) -> None:
        fit = {}
        for column in self.columns:
            if column.fit:
                longest = max((cell_len(_text(r.get(column.key), column)) for r in self._rows), default=0)
                fit[column.key] = max(column.width, min(longest, column.widest) if column.max_width else longest)
        if fit != self._fit:
            self._fit = fit
            self._relayout()

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
        arrived_sorted = self._arrival_sort is not None and (self.sort_key, self.sort_reverse) == (
            self._arrival_sort[0], bool(self._arrival_sort[1]))
        if self.sort_key is not None and not arrived_sorted:
            key = self.sort_key
            rows = self._rows

            def sort_value(i: int) -> tuple[int, Any]:
                value = rows[i].get(key)
                if value is None:
                    return (1, "")
                return (0, value if isinstance(value, (int, float)) else str(value).lower())

            view.sort(key=sort_value, reverse=self.sort_reverse)
        self._view = view
        self.virtual_size = Size(self._room, len(view) + 1)
        self.cursor = min(self.cursor, max(0, len(view) - 1))
        self.counts = (len(view), len(self._rows))
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

    # -- marks ---------------------------------------------------------------------
    def is_marked(self, row: dict[str, Any]) -> bool:
        return self.mark_key is not None and row.get(self.mark_key) in self.marked

    def marked_rows(self) -> list[dict[str, Any]]:
        """The marked rows in the order the table shows them (the filter may hide some: they
        come after, in their stored order)."""
        if not self.marked:
            return []
        shown = [self._rows[i] for i in self._view if self.is_marked(self._rows[i])]
        seen = {r.get(self.mark_key) for r in shown}
        return shown + [r for r in self._rows if self.is_marked(r) and r.get(self.mark_key) not in seen]

    def _marks_changed(self) -> None:
        self.refresh()
        self.post_message(self.MarksChanged(self))

    def toggle_mark(self) -> bool | None:
        """Mark or unmark the highlighted row: True marked, False unmarked, None no row."""
        row = self.current_row
        if row is None or self.mark_key is None:
            return None
        key = row.get(self.mark_key)
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self._marks_changed()
        return key in self.marked

    def mark_shown(self) -> int:
        """Mark every row the filter shows; when all of them are marked already, unmark them.
        How many rows changed: positive marked, negative unmarked."""
        if self.mark_key is None:
            return 0
        keys = {self._rows[i].get(self.mark_key) for i in self._view}
        if keys and keys <= self.marked:
            self.marked -= keys
            self._marks_changed()
            return -len(keys)
        added = keys - self.marked
        self.marked |= added
        self._marks_changed()
        return len(added)

    def clear_marks(self) -> int:
        n = len(self.marked)
        if n:
            self.marked = set()
            self._marks_changed()
        return n

    def action_clear_marks(self) -> None:
        """escape: unmark every row (said); with no marks the key goes on (back)."""
        n = self.clear_marks()
        if not n:
            raise SkipAction()
        self.notify(ngettext("{n} mark cleared: nothing was changed.", "{n} marks cleared: nothing was changed.", n).format(n=n),
                    timeout=3, markup=False)

    # -- columns -------------------------------------------------------------------
    def _relayout(self) -> None:
        sized = [replace(c, width=self._fit[c.key]) if c.key in self._fit else c for c in self.columns]
        self._order = layout_columns(sized, self._room)
        self.first_column = min(self.first_column, max(0, len(self._order) - 2))
        self.virtual_size = Size(self._room, len(self._view) + 1)
        self.refresh()

    def shown_columns(self) -> list[tuple[Column, int]]:
        """The columns drawn now, each with the width it is drawn at: the first column, then
        the rest from `first_column` on, the last one cut only if it keeps its narrowest width."""
        if not self._order:
            return []
        columns = [self._order[0], *self._order[1 + self.first_column:]]
        out: list[tuple[Column, int]] = []
        left = self._room
        for column in columns:
            if column.width + GAP <= left:
                out.append((column, column.width))
                left -= column.width + GAP
            else:
                if left - GAP >= max(column.narrowest, 3) or not out:
                    out.append((column, max(1, left - GAP)))
                break
        return out

    @property
    def columns_beyond(self) -> int:
        """How many columns are past the right edge (not drawn, or drawn cut)."""
        shown = self.shown_columns()
        drawn = len(shown) + self.first_column
        cut = 1 if shown and shown[-1][1] < shown[-1][0].width else 0
        return len(self._order) - drawn + cut

    def header_text(self) -> str:
        """The header line as drawn, arrows included (what a person reads at the top)."""
        return self._header_line().rstrip()

    def _header_line(self) -> str:
        line = "‹" if self.first_column else " "
        overflow = 0  # cells the previous label took from the gap after it
        for n, (column, width) in enumerate(self.shown_columns()):
            label = _(column.label)
            arrow = ""
            if column.key == self.sort_key:
                arrow = " ▼" if self.sort_reverse else " ▲"
            # The arrow may take the first cell of the gap after its column, so a label as wide
            # as its column still reads whole: "Expiration▼".
            if cell_len(label) + cell_len(arrow) > width:
                arrow = arrow.strip()
            room = width + 1 - cell_len(arrow) if arrow else width
            if cell_len(label) > room:
                label = set_cell_size(label, max(0, room - 1)) + "…" if room > 1 else ""
            text = label + arrow
            if n:
                line += " " * (GAP - overflow)
            overflow = max(0, cell_len(text) - width)
            pad = " " * max(0, width - cell_len(text))
            line += (pad + text) if column.align == "right" else (text + pad)
        after = "›" if self.columns_beyond else " "
        return line + " " * max(0, self._room - cell_len(line) - 1) + after

    def _row_line(self, row: dict[str, Any]) -> str:
        lead = MARK if self.is_marked(row) else " "
        return lead + "  ".join(_pad(_text(row.get(c.key), c), replace(c, width=w)) for c, w in self.shown_columns()) + " "

    def action_column_right(self) -> None:
        if not self.columns_beyond:
            raise SkipAction()
        self.first_column += 1
        self.refresh()

    def action_column_left(self) -> None:
        if not self.first_column:
            raise SkipAction()
        self.first_column -= 1
        self.refresh()

    def action_column_home(self) -> None:
        if self.first_column:
            self.first_column = 0
            self.refresh()
        elif self._shows_all_rows():
            raise SkipAction()  # the page around a table that shows all its rows goes to its top
        else:
            self.action_cursor_top()

    def action_end(self) -> None:
        if self._shows_all_rows():
            raise SkipAction()
        self.action_cursor_bottom()

    # -- cursor --------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row))

    def _shows_all_rows(self) -> bool:
        return len(self._view) + 1 <= self.scrollable_content_region.height

    def _scroll_to_cursor(self) -> None:
        parent = self.parent
        if isinstance(parent, ScrollableContainer) and parent.allow_vertical_scroll and self._shows_all_rows():
            if not self.has_focus:
                return  # new rows arriving do not move the page under the reader
            # A table that shows all its rows inside a scrolling page (the dashboard): the page
            # follows the cursor. The header comes along with the first row.
            area = self.virtual_region
            top = area.y + (0 if self.cursor == 0 else self.cursor + 1)
            parent.scroll_to_region(Region(area.x, top, area.width, 2 if self.cursor == 0 else 1), animate=False)
            return
        body = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False)

    def _move(self, to: int) -> None:
        """Move the cursor; a move that goes nowhere passes the key on to the page."""
        if not self._view:
            raise SkipAction()
        to = max(0, min(len(self._view) - 1, to))
        if to == self.cursor:
            raise SkipAction()
        self.cursor = to

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_cursor_top(self) -> None:
        self._move(0)

    def action_cursor_bottom(self) -> None:
        self._move(len(self._view) - 1)

    def action_page_down(self) -> None:
        if self._shows_all_rows():
            raise SkipAction()  # nothing of its own to page: the page around it scrolls
        self._move(self.cursor + max(1, self.scrollable_content_region.height - 2))

    def action_page_up(self) -> None:
        if self._shows_all_rows():
            raise SkipAction()
        self._move(self.cursor - max(1, self.scrollable_content_region.height - 2))

    def action_select(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.Selected(self, row))

    def action_sort(self) -> None:
        from elp_tui.widgets.sort_menu import SortMenu

        choices = [(c.key, _(c.label)) for c in self.columns]
        self.app.push_screen(SortMenu(choices, self.sort_key, self.sort_reverse), self._sorted)

    def action_sort_step(self, step: int) -> None:
        keys = [c.key for c in self.columns]
        at = keys.index(self.sort_key) if self.sort_key in keys else (-1 if step > 0 else 0)
        self._sorted((keys[(at + step) % len(keys)], False))

    def _sorted(self, choice: tuple[str, bool] | None) -> None:
        if choice is None:
            return
        self.sort_by(*choice)
        self.notify(self.sort_description(), timeout=2)

    def sort_description(self) -> str:
        label = next((_(c.label) for c in self.columns if c.key == self.sort_key), "")
        arrow = "▼" if self.sort_reverse else "▲"
        return _("Sorted by {column} {arrow}").format(column=label, arrow=arrow)

    def on_resize(self, event: events.Resize) -> None:
        # Room for a vertical scrollbar is always kept, so rows arriving never change the layout.
        room = max(1, event.size.width - self.styles.scrollbar_size_vertical)
        if room != self._room:
            self._room = room
            self._relayout()

    # -- mouse ---------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            edge = 0
            for column, width in self.shown_columns():
                edge += width + GAP
                if event.x < edge:
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
        scroll_y = int(self.scroll_y)
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header_style = base + self.get_component_rich_style("recordtable--header")
            return Strip([Segment(self._header_line(), header_style)]).crop_extend(0, width, header_style)
        pos = scroll_y + y - 1
        if pos >= len(self._view):
            if pos == 0 and self._rows and self._filter:
                muted = base + self.get_component_rich_style("recordtable--muted")
                return Strip([Segment(" " + _("no rows match"), muted)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        row = self._rows[self._view[pos]]
        style: Style = base
        if self._muted is not None and self._muted(row):
            style = base + self.get_component_rich_style("recordtable--muted")
        if pos == self.cursor:
            style = base + self.get_component_rich_style("recordtable--cursor")
        return Strip([Segment(self._row_line(row), style)]).crop_extend(0, width, style)
