"""Pacing a run against the wall clock: *speed* simulated seconds per wall second.

Uses the event loop's monotonic clock (as kopf does), not ``simpy.rt.RealtimeEnvironment``,
whose ``time.sleep`` would block the loop; falling behind is reported as lag, not a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable

MIN_SPEED = 0.001
"""The slowest pace: a simulated second every 1,000 wall seconds."""
MAX_SPEED = 1_000_000.0
"""The fastest pace (faster than any run goes: leave the speed out to run unpaced)."""


def speed_problem(speed: object) -> str | None:
    """What is wrong with *speed* (expected and found), or None when it is a valid pace."""
    ok = (isinstance(speed, int | float) and not isinstance(speed, bool)
          and math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED)
    if ok:
        return None
    return (f"expected a number of simulated seconds per wall second from {MIN_SPEED:g} to "
            f"{MAX_SPEED:g} (60 = an hour in a minute; leave it out to run as fast as possible), "
            f"found {speed!r:.60}")


class Pacer:
    """Where simulated time should be now.

    Args:
        speed: simulated seconds per wall second (60 = an hour in a minute).
        clock: a monotonic wall clock in seconds (``loop.time``).

    Raises:
        ValueError: *speed* is not finite or outside ``MIN_SPEED..MAX_SPEED`` (a NaN pace would
            never let the run yield, an infinite one never wait, a tiny one never advance).
    """

    def __init__(self, speed: float, clock: Callable[[], float]) -> None:
        problem = speed_problem(speed)
        if problem is not None:
            raise ValueError(f"--speed: {problem}")
        self.speed = speed
        self.clock = clock
        self.t0 = clock()

    def target(self) -> float:
        """The simulated time the wall clock asks for now."""
        return (self.clock() - self.t0) * self.speed
