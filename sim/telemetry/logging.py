"""Bus -> structlog: each event as one log line (Warning events at info, Normal at debug).

Uses ``structlog.get_logger()`` only; the shell configures structlog (``services/logging.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from sim.events import EventType, SimEvent
from sim.kernel.bus import Envelope


def event_logger(name: str = "akssim.events") -> Callable[[Envelope[SimEvent]], None]:
    """A bus handler logging every event with its sim time, seq, object and message."""
    log = structlog.get_logger(name)

    def handle(env: Envelope[SimEvent]) -> None:
        ev = env.event
        obj = ev.involved_object()
        emit = log.info if ev.type == EventType.WARNING else log.debug
        emit(ev.reason, sim_time=round(env.sim_time, 6), seq=env.seq, type=str(ev.type),
             object=f"{obj['kind']}/{obj['name']}", message=ev.message)

    return handle
