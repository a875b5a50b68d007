"""One progress bar for every long command (``run`` over simulated time, ``sweep`` over runs).

Drawn on stderr only when it is a terminal, at most 10 times a wall second (and at the end),
with the elapsed wall time and an estimate of the time left (elapsed / done x left).
"""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 30
REDRAW_S = 0.1


def _clock(seconds: float) -> str:
    """``75.2`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    s = int(round(seconds))
    h, m = divmod(s, 3600)
    m, s = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Bar:
    """``[#####.....]  42.0% <what> 0:12 elapsed, ETA 0:17``."""

    def __init__(self, total: float, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self._drawn = -1.0

    def draw(self, done: float, what: str, *, force: bool = False) -> None:
        """Redraw for *done* of the total; *what* says it in the command's units."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and done < self.total and now - self._drawn < REDRAW_S:
            return
        self._drawn = now
        frac = min(1.0, done / self.total) if self.total else 1.0
        filled = int(frac * WIDTH)
        wall = now - self.started
        eta = f"ETA {_clock(wall / frac * (1 - frac))}" if 0 < frac < 1 else (
            "done" if frac >= 1 else "ETA ?")
        self.stream.write(f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {100 * frac:5.1f}% {what} "
                          f"{_clock(wall)} elapsed, {eta} \x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
