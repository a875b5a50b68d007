"""The scenario's flows as the traffic path runs them: the rate of a flow at a time, and what a
flow produced so far (outcome counts per tick, latency histograms, streaks, spread)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.outcomes import ERROR_TICK_RATE, LATENCY_EDGES, OK, OUTCOMES
from sim.scenario.schema import Constant, Diurnal, Flow, Ramp, Rate, Spike, Step

if TYPE_CHECKING:
    from sim.ingress import Route
    from sim.objects import ServiceState
    from sim.traffic.loadbalancer import LoadBalancer


def rate_at(rate: Rate, t: float) -> float:
    """Requests per second of a rate profile at sim time *t*."""
    if isinstance(rate, Constant):
        return rate.rps
    if isinstance(rate, Ramp):
        if t <= rate.at:
            return rate.from_
        frac = min(1.0, (t - rate.at) / rate.over) if rate.over > 0 else 1.0
        return rate.from_ + (rate.to - rate.from_) * frac
    if isinstance(rate, Step):
        value = 0.0
        for step in rate.steps:
            if step.at <= t:
                value = step.rps
        return value
    if isinstance(rate, Diurnal):
        phase = 2 * math.pi * (t - rate.peak_at) / rate.period
        return max(0.0, rate.mean + rate.amplitude * math.cos(phase))
    assert isinstance(rate, Spike)
    return rate.peak if rate.at <= t < rate.at + rate.duration else rate.base


class FlowState:
    """One flow of the scenario and what it produced so far."""

    def __init__(self, spec: Flow, svc: ServiceState | None, lb: LoadBalancer | None) -> None:
        self.spec = spec
        self.svc = svc  # type: ignore[assignment]  # None only for outbound flows
        self.port = (svc.port(spec.to.port if spec.to else None) or 80) if svc else 0
        self.client: Any = None
        """Outbound flows: the DeploymentState whose pods call out."""
        self.dest = ""
        self.direct: Any = None
        """VM flows to pod IPs: the DeploymentState whose pods are called."""
        self.dns_queries = 0
        """Queries one lookup of the flow's name costs (the search-list walk)."""
        self.dns_upstream = 0
        """Of those, how many CoreDNS forwards to the VNet resolver (cache misses wait)."""
        self.external_name = ""
        """Pods calling an ExternalName Service: the name its CNAME points to."""
        self.dns_ok = True
        self.dns_total = 0
        self.route: Route | None = None
        """Ingress flows: the rule the controller applies (fixed: Ingresses do not change)."""
        self.backend: ServiceState | None = None
        self.backend_port = 80
        self.lb = lb
        self.pending: dict[int, np.ndarray] = {}
        """Outcome counts per tick index, for ticks not published yet."""
        self.latency: dict[int, np.ndarray] = {}
        self.totals = np.zeros(len(OUTCOMES), np.int64)
        self.latency_total = np.zeros(len(LATENCY_EDGES), np.int64)
        self.error_ticks = 0
        self.longest_streak = 0
        self.streak = 0
        self.per_pod: dict[str, int] = {}
        self.per_node: dict[str, int] = {}
        """Requests the load balancer sent to each node (by node name), whatever came of them."""

    @property
    def ongoing_streak(self) -> int:
        """Error ticks in a row up to the last published tick (0: the flow is not failing now)."""
        return self.streak

    # --- accounting: outcomes land in the tick their client sees them --------------------

    def count(self, outcome: np.ndarray, when: np.ndarray, latency: np.ndarray,
              dt: float) -> None:
        """Add a tick's requests to the ticks in which their clients see them."""
        ticks = (when // dt).astype(np.int64)
        first = int(ticks.min())
        span = int(ticks.max()) - first + 1
        counts = np.bincount((ticks - first) * len(OUTCOMES) + outcome,
                             minlength=span * len(OUTCOMES)).reshape(span, len(OUTCOMES))
        ok = ~np.isnan(latency)
        bins = np.searchsorted(LATENCY_EDGES, latency[ok], side="right") - 1
        lat = np.bincount((ticks[ok] - first) * len(LATENCY_EDGES) + bins,
                          minlength=span * len(LATENCY_EDGES)).reshape(span, len(LATENCY_EDGES))
        for row in np.flatnonzero(counts.sum(axis=1)).tolist():
            tick = first + row
            if tick in self.pending:
                self.pending[tick] += counts[row]
                self.latency[tick] += lat[row]
            else:
                self.pending[tick] = counts[row].copy()
                self.latency[tick] = lat[row].copy()

    def move(self, tick: int, src: int, dst: int, n: int, dst_tick: int | None = None) -> None:
        """*n* requests counted as outcome *src* in *tick* turn out *dst* (in *dst_tick*)."""
        dst_tick = tick if dst_tick is None else dst_tick
        for t in (tick, dst_tick):
            if t not in self.pending:
                self.pending[t] = np.zeros(len(OUTCOMES), np.int64)
                self.latency[t] = np.zeros(len(LATENCY_EDGES), np.int64)
        self.pending[tick][src] -= n
        self.pending[dst_tick][dst] += n

    def close_tick(self, tick: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Tick *tick* is over (no outcome can land in it any more): its outcome counts and
        latency histogram join the totals and the error streak; None before the first tick."""
        counts = self.pending.pop(tick, None)
        lat = self.latency.pop(tick, None)
        if tick < 0:
            return None
        if counts is None:
            counts = np.zeros(len(OUTCOMES), np.int64)
            lat = np.zeros(len(LATENCY_EDGES), np.int64)
        assert lat is not None
        self.totals += counts
        self.latency_total += lat
        total = int(counts.sum())
        errors = total - int(counts[OK])
        if total and errors / total > ERROR_TICK_RATE:
            self.error_ticks += 1
            self.streak += 1
            self.longest_streak = max(self.longest_streak, self.streak)
        else:
            self.streak = 0
        return counts, lat
