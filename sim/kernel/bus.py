"""The in-process event bus: the model publishes typed events, telemetry subscribes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sim.events import SimEvent

E = TypeVar("E", bound=SimEvent)


@dataclass(frozen=True, slots=True)
class Envelope(Generic[E]):
    """A published event with the run's bookkeeping: gapless ``seq``, ``sim_time``, ``run_id``."""

    seq: int
    sim_time: float
    run_id: str
    event: E


Handler = Callable[[Envelope[Any]], None]


class Bus:
    """Synchronous, ordered publish/subscribe.

    Delivery happens inside :meth:`publish`, in subscription order, so it is deterministic.
    Subscribers observe; they never change the model. A failing subscriber raises: the
    service shell wraps sinks that must not stop a run.
    """

    def __init__(self, run_id: str, clock: Callable[[], float]) -> None:
        self.run_id = run_id
        self._clock = clock
        self._seq = 0
        self._handlers: list[tuple[type[SimEvent], Handler]] = []
        self._by_type: dict[type[SimEvent], list[Handler]] = {}

    @property
    def published(self) -> int:
        """How many events were published so far (the last ``seq``)."""
        return self._seq

    def subscribe(self, kind: type[E], handler: Callable[[Envelope[E]], None]) -> Callable[[], None]:
        """Deliver every event of *kind* (or a subclass) to *handler*; returns unsubscribe."""
        entry = (kind, handler)
        self._handlers.append(entry)
        self._by_type.clear()

        def unsubscribe() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)
                self._by_type.clear()

        return unsubscribe

    def publish(self, event: SimEvent) -> Envelope[SimEvent]:
        """Stamp *event* with the next seq and the current sim time and deliver it."""
        self._seq += 1
        envelope = Envelope(self._seq, self._clock(), self.run_id, event)
        cls = type(event)
        handlers = self._by_type.get(cls)
        if handlers is None:
            handlers = [h for k, h in self._handlers if issubclass(cls, k)]
            self._by_type[cls] = handlers
        for handler in handlers:
            handler(envelope)
        return envelope
