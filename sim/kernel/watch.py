"""Typed notifications between the rooms of the model: Kubernetes' informers, in small.

A room that must tell a room above it that something changed (a node became Ready, a pod
went away, a Service's endpoints moved) offers a :class:`Watch`; the room above subscribes
(``sim.model`` wires them), so the lower room imports nothing of the higher one.

Unlike the :class:`~sim.kernel.bus.Bus`, whose subscribers are telemetry and must never change
the model, a watch's subscribers are controllers and do change it. Delivery is synchronous and
in subscription order, so a run stays deterministic.

A room announces a change with ``watch.fire(...)``. ``fire`` is rebuilt at each (un)subscribe:
nothing with no subscriber, the subscriber itself with one (a change costs one bound-method
call, as the direct call it replaces: these fire for every pod that turns Ready), a loop over
them with more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


def _nobody(*args: object, **kwargs: object) -> None:
    """A change nobody watches."""


class Watch(Generic[P]):
    """Callbacks called, in subscription order, with each change of one kind.

    Typed by the arguments of a change (``Watch[[Node]]``, ``Watch[[Pod, bool]]``): a
    subscriber's signature is checked against the offer, and a change with two parts needs no
    tuple.
    """

    __slots__ = ("_subscribers", "fire")

    def __init__(self) -> None:
        self._subscribers: list[Callable[P, object]] = []
        self.fire: Callable[P, object] = _nobody
        """Announce a change to every subscriber, in subscription order."""

    def subscribe(self, fn: Callable[P, object]) -> Callable[[], None]:
        """Call *fn* with every change from now on; returns the way to stop."""
        self._subscribers.append(fn)
        self._rebuild()

        def unsubscribe() -> None:
            self._subscribers.remove(fn)
            self._rebuild()

        return unsubscribe

    def _rebuild(self) -> None:
        subscribers = tuple(self._subscribers)
        if not subscribers:
            self.fire = _nobody
        elif len(subscribers) == 1:
            self.fire = subscribers[0]
        else:
            def fire(*args: P.args, **kwargs: P.kwargs) -> None:
                for fn in subscribers:
                    fn(*args, **kwargs)
            self.fire = fire

    def __bool__(self) -> bool:
        """True when someone listens."""
        return bool(self._subscribers)
