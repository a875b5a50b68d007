"""Pacing a run against the wall clock: *speed* simulated seconds per wall second.

Uses the event loop's monotonic clock (as kopf does), not ``simpy.rt.RealtimeEnvironment``,
whose ``time.sleep`` would block the loop; falling behind is reported as lag, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable


class Pacer:
    """Where simulated time should be now.

    Args:
        speed: simulated seconds per wall second (60 = an hour in a minute).
        clock: a monotonic wall clock in seconds (``loop.time``).
    """

    def __init__(self, speed: float, clock: Callable[[], float]) -> None:
        if speed <= 0:
            raise ValueError(f"--speed: expected a positive number, found {speed:g}")
        self.speed = speed
        self.clock = clock
        self.t0 = clock()

    def target(self) -> float:
        """The simulated time the wall clock asks for now."""
        return (self.clock() - self.t0) * self.speed
