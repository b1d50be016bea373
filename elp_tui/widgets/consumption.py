"""The seat consumption bar: active / pending / unassigned / unused, with a legend of numbers.

Each state has its own glyph as well as its own theme colour, so the bar still reads on a
monochrome terminal or to someone who cannot tell the colours apart; the legend spells out
every number, and `describe()` gives the same as one plain sentence.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from elp_tui.i18n import N_, _
from elp_tui.widgets.safe import content, plain

# state, legend label (message id), glyph
SEGMENTS: list[tuple[str, str, str]] = [
    ("active", N_("Active"), "█"),
    ("pending", N_("Pending"), "▓"),
    ("unassigned", N_("Unassigned"), "▒"),
    ("unused", N_("Unused"), "░"),
]


def segment_widths(counts: list[int], width: int) -> list[int]:
    """Cells per segment, adding up to `width`: proportional (largest remainder), and every
    non-zero count gets at least one cell so a single pending seat is never invisible."""
    total = sum(counts)
    if width <= 0 or total <= 0:
        return [0 for _ in counts]
    exact = [c * width / total for c in counts]
    cells = [int(x) for x in exact]
    order = sorted(range(len(counts)), key=lambda i: exact[i] - cells[i], reverse=True)
    for i in order[: width - sum(cells)]:
        cells[i] += 1
    for i, count in enumerate(counts):
        if count and not cells[i]:
            donor = max(range(len(cells)), key=lambda j: cells[j])
            if cells[donor] > 1:
                cells[donor] -= 1
                cells[i] = 1
    return cells


class ConsumptionBar(Widget):
    """A horizontal bar of four segments sized by their counts, then the legend."""

    DEFAULT_CSS = """
    ConsumptionBar { height: auto; width: 1fr; }
    ConsumptionBar > .consumption--title { text-style: bold; }
    ConsumptionBar > .consumption--active { color: $success; }
    ConsumptionBar > .consumption--pending { color: $warning; }
    ConsumptionBar > .consumption--unassigned { color: $error; }
    ConsumptionBar > .consumption--unused { color: $text-muted; }
    ConsumptionBar > .consumption--total { color: $text-muted; }
    """
    COMPONENT_CLASSES = {
        "consumption--title",
        "consumption--active",
        "consumption--pending",
        "consumption--unassigned",
        "consumption--unused",
        "consumption--total",
    }

    def __init__(self, title: str = "", counts: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.title = title
        self.counts: dict[str, int] = {}
        self.purchased = 0
        if counts is not None:
            self.update(counts, title=title)

    def update(self, counts: dict[str, Any], *, title: str | None = None) -> None:
        """Counts of a seat pool (`active`, `pending`, `unassigned`, `unused`, `purchased`)."""
        self.counts = {state: int(counts.get(state) or 0) for state, _label, _glyph in SEGMENTS}
        self.purchased = int(counts.get("purchased") or sum(self.counts.values()))
        if title is not None:
            self.title = title
        self.tooltip = content(self.describe())
        self.refresh(layout=True)

    def describe(self) -> str:
        """The bar as one sentence (for the tooltip and screen readers)."""
        return _("{active} active, {pending} pending, {unassigned} unassigned, {unused} unused of {purchased} seats").format(
            purchased=self.purchased, **self.counts
        )

    # -- layout ----------------------------------------------------------------------
    def _legend_items(self) -> list[tuple[str, str, str]]:
        """(state, glyph, text) per legend entry, then the purchased total."""
        items = [(state, glyph, f" {_(label)} {self.counts.get(state, 0)}") for state, label, glyph in SEGMENTS]
        items.append(("total", "", _("{n} purchased").format(n=self.purchased)))
        return items

    def _legend_lines(self, width: int) -> list[list[tuple[str, str, str]]]:
        lines: list[list[tuple[str, str, str]]] = [[]]
        used = 0
        for item in self._legend_items():
            size = cell_len(item[1] + item[2])
            if lines[-1] and used + 2 + size > width:
                lines.append([])
                used = 0
            used += size + (2 if lines[-1] else 0)
            lines[-1].append(item)
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return (1 if self.title else 0) + 1 + len(self._legend_lines(max(1, width)))

    # -- drawing ---------------------------------------------------------------------
    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"consumption--{name}")

    def render(self) -> Text:
        width = max(1, self.content_size.width)
        out = Text(no_wrap=True, overflow="crop")
        if self.title:
            out.append(plain(self.title), self._style("title"))
            out.append("\n")
        counts = [self.counts.get(state, 0) for state, _label, _glyph in SEGMENTS]
        cells = segment_widths(counts, width)
        if sum(cells):
            for (state, _label, glyph), size in zip(SEGMENTS, cells):
                if size:
                    out.append(glyph * size, self._style(state))
        else:
            out.append(_("no seats purchased"), self._style("total"))
        for line in self._legend_lines(width):
            out.append("\n")
            for number, (state, glyph, label) in enumerate(line):
                if number:
                    out.append("  ")
                if glyph:
                    out.append(glyph, self._style(state))
                out.append(label, self._style("total") if state == "total" else None)
        return out
