"""What every room of a run is handed: the clock, the event bus, the timers and the streams.

SimPy hands each component its ``env`` for the same reason: a room needs the run's shared
machinery, never the whole model. The rooms below it it gets by name, at wiring time.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from sim.kernel.bus import Bus
from sim.kernel.rng import Streams
from sim.kernel.timers import Timers


@dataclass(frozen=True, slots=True)
class Context:
    """One run's shared machinery."""

    env: simpy.Environment
    bus: Bus
    timers: Timers
    streams: Streams
