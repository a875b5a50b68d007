"""Running figures of a run that need its timeline (peaks, minima, time below desired).

Fed by the rooms' watches (``sim.model`` wires them); ``sim.views.report`` reads them at the end.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import simpy

if TYPE_CHECKING:
    from sim.cluster.nodes import NodeController
    from sim.objects import DeploymentState, NodePool
    from sim.workloads.controller import WorkloadController


class Stats:
    """Running figures the model updates as it goes (peaks and minima need the timeline)."""

    def __init__(self, env: simpy.Environment, pools: dict[str, NodePool], nodes: NodeController,
                 workloads: WorkloadController) -> None:
        self.env = env
        self.pools = pools
        self.nodes = nodes
        self.workloads = workloads
        self.nodes_peak = 0
        self.ready_min: int | None = None
        self.pool_peak: Counter[str] = Counter()
        self.pending_peak = 0

    def node_count_changed(self) -> None:
        """Called whenever a node is created, deleted or changes Ready state."""
        total = 0
        for pool in self.pools.values():
            size = pool.size
            total += size
            if size > self.pool_peak[pool.name]:
                self.pool_peak[pool.name] = size
        self.nodes_peak = max(self.nodes_peak, total)
        if self.env.now > 0:
            ready = self.ready_count()
            self.ready_min = ready if self.ready_min is None else min(self.ready_min, ready)

    def pending_seen(self, pending: int) -> None:
        """New pods wait to be scheduled: *pending* pods wait now."""
        self.pending_peak = max(self.pending_peak, pending)

    def started(self) -> None:
        """The cluster as it stands at time 0 is the first point of the timeline: its Ready
        nodes count toward the lowest, and the pods that could not be scheduled then toward
        the pending peak."""
        self.ready_min = self.ready_count()
        self.pending_peak = self.workloads.pending_count

    def ready_count(self) -> int:
        """Nodes Ready now."""
        return self.nodes.ready

    def availability(self, dep: DeploymentState) -> None:
        """Track how long a Deployment had fewer available pods than desired, once it had them."""
        now = self.env.now
        if not self.workloads.instant:  # not the instant before the starting pods run
            self.pending_peak = max(self.pending_peak, self.workloads.pending_count)
        if not dep.reached_desired:
            if dep.available >= dep.desired:
                dep.reached_desired = True
            return
        dep.min_available = dep.available if dep.min_available is None else min(
            dep.min_available, dep.available)
        below = dep.available < dep.desired
        if below and dep.below_since is None:
            dep.below_since = now
        elif not below and dep.below_since is not None:
            dep.unavailable_seconds += now - dep.below_since
            dep.below_since = None
