"""A plain-text progress bar on stderr (no UI toolkit: the demo runs before any app starts)."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    def __init__(self, enabled: bool = True, stream: TextIO | None = None, width: int = 30):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.width = width
        self._shown: tuple[int, str] | None = None

    def update(self, fraction: float, label: str) -> None:
        if not self.enabled:
            return
        percent = max(0, min(100, int(fraction * 100)))
        if self._shown == (percent, label):
            return
        self._shown = (percent, label)
        filled = self.width * percent // 100
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\rBuilding demo [{bar}] {percent:3d}% {label:<10}")
        self.stream.flush()

    def done(self, label: str = "done") -> None:
        if not self.enabled:
            return
        self.update(1.0, label)
        self.stream.write("\n")
        self.stream.flush()
