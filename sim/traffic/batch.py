"""One flow's requests of one tick, as they pass through the stages of the traffic path.

Every stage (kube-proxy's pick, a pod's queue, the ingress controller's second stage, a
lookup at CoreDNS, a call out through SNAT) reads the arrivals and writes, per request, the
outcome a client sees, when it sees it and the latency; the stages hand this record on
instead of its six parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.outcomes import TIMEOUT

if TYPE_CHECKING:
    from sim.traffic.flows import FlowState


@dataclass(slots=True)
class Batch:
    """The requests of *flow* that arrived in one tick, and what became of each."""

    flow: FlowState
    arrivals: np.ndarray
    """When each request left its client (sorted)."""
    outcome: np.ndarray
    """What the client gets (an index into ``sim.outcomes.OUTCOMES``); OK until a stage says."""
    when: np.ndarray
    """When the client gets it (the timeout's end until answered)."""
    latency: np.ndarray
    """Seconds from sending to the answer (NaN when not answered)."""
    hop: float
    """One-way network latency inside the VNet."""

    def settle(self, rows: np.ndarray, done: np.ndarray) -> np.ndarray:
        """Requests *rows* answered at *done*: past the flow's timeout the client gave up
        (TIMEOUT at arrival + timeout), otherwise it has its answer. Returns the answered mask."""
        when, latency = self.when, self.latency
        took = done - self.arrivals[rows]
        ok = took <= self.flow.spec.timeout
        self.give_up(rows[~ok], TIMEOUT)
        when[rows[ok]] = done[ok]
        latency[rows[ok]] = took[ok]
        return ok

    def fail(self, rows: np.ndarray, code: int, at: np.ndarray | float) -> None:
        """Requests *rows* end with outcome *code*, which their clients see at *at* (no answer:
        no latency)."""
        self.outcome[rows] = code
        self.when[rows] = at
        self.latency[rows] = np.nan

    def give_up(self, rows: np.ndarray, code: int) -> None:
        """Requests *rows* get no answer (*code*): their clients time out."""
        self.fail(rows, code, self.arrivals[rows] + self.flow.spec.timeout)
