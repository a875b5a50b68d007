"""Callbacks at simulated instants without a SimPy process (or heap entry) each.

Thousands of pods bound in the same instant all become Running at the same later instant;
they share one SimPy timeout. DESIGN.md: heap depth, not process count, is what slows SimPy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy


class Timers:
    """Run ``fn(arg)`` at absolute sim time ``t``; same-instant calls share one timeout."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._due: dict[float, list[tuple[Callable[[Any], None], Any]]] = {}

    def at(self, t: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` at time *t* (now if *t* is in the past), in the order added."""
        t = max(t, self.env.now)
        bucket = self._due.get(t)
        if bucket is None:
            bucket = self._due[t] = []
            ev = self.env.timeout(t - self.env.now)

            def fire(_ev: Any, t: float = t) -> None:
                self._fire(t)

            ev.callbacks.append(fire)
        bucket.append((fn, arg))

    def after(self, delay: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` *delay* seconds from now."""
        self.at(self.env.now + delay, fn, arg)

    def _fire(self, t: float) -> None:
        bucket = self._due.pop(t)
        i = 0
        while i < len(bucket):  # callbacks may add to this same instant
            fn, arg = bucket[i]
            fn(arg)
            i += 1
