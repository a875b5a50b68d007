"""What a run looked like over time, for plots: subnet addresses in use, nodes Ready, pods
Pending, and at the end how each flow's requests spread over its backends.

A bus subscriber that only observes: after every event it reads the few numbers it keeps and
records them when they changed (every change of state that matters here comes with an event).
The event stream is the same with or without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.events import SimEvent
from sim.kernel.bus import Bus, Envelope

if TYPE_CHECKING:
    from sim.model import Model

MAX_POINTS = 2000
"""Points kept per series in :meth:`Timeline.to_dict` (peaks survive the thinning)."""

Sample = tuple[tuple[int, ...], int, int]


class Timeline:
    """Subnet use, Ready nodes and Pending pods at every instant one of them changed."""

    def __init__(self, model: Model, bus: Bus) -> None:
        self.m = model
        self.subnets = list(model.subnets.values())
        self.times: list[float] = []
        self.samples: list[Sample] = []
        self.unsubscribe = bus.subscribe(SimEvent, self._on)

    def _sample(self) -> Sample:
        m = self.m
        return tuple(s.used for s in self.subnets), m.nodes.ready, m.workloads.pending_count

    def _on(self, env: Envelope[SimEvent]) -> None:
        self._record(env.sim_time)

    def _record(self, t: float) -> None:
        sample = self._sample()
        if self.samples and sample == self.samples[-1]:
            return
        if self.times and self.times[-1] == t:
            self.samples[-1] = sample  # the state at the end of this instant
        else:
            self.times.append(float(t))
            self.samples.append(sample)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``t`` (seconds), per subnet ``usable`` and ``used``, ``nodesReady``,
        ``podsPending``, and ``backends`` (flow -> pod -> requests)."""
        self._record(self.m.env.now)
        times, samples = _thin(self.times, self.samples, MAX_POINTS)
        if times and times[-1] < self.m.env.now:  # the last value holds to the end
            times, samples = [*times, float(self.m.env.now)], [*samples, samples[-1]]
        return {
            "t": times,
            "subnets": {s.name: {"cidr": str(s.cidr), "usable": s.usable,
                                 "used": [x[0][i] for x in samples]}
                        for i, s in enumerate(self.subnets)},
            "nodesReady": [x[1] for x in samples],
            "podsPending": [x[2] for x in samples],
            "backends": {flow.spec.name: dict(sorted(flow.per_pod.items()))
                         for flow in self.m.traffic.flows},
        }


def _thin(times: list[float], samples: list[Sample], limit: int
          ) -> tuple[list[float], list[Sample]]:
    """At most *limit* points: of each run of consecutive points, the one using the most
    addresses (so an exhaustion peak is never thinned away)."""
    if len(times) <= limit:
        return times, samples
    step = -(-len(times) // limit)
    keep = [max(range(i, min(i + step, len(times))), key=lambda j: sum(samples[j][0]))
            for i in range(0, len(times), step)]
    return [times[j] for j in keep], [samples[j] for j in keep]
