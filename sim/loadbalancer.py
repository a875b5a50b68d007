"""The Azure load balancer in front of LoadBalancer Services: backend pool and health probes.

- The backend pool is the cluster's nodes (a node joins when it registers, leaves when it is
  deleted).
- One probe loop per load balancer checks every backend each ``probeInterval`` (AKS default
  5 s) and takes a backend out after ``probeThreshold`` consecutive failures (AKS default 2;
  cloud-provider-azure consts.go), back in after one success (load-balancer-custom-probe-
  overview). DESIGN.md: one sweep event per subsystem, not a timer per node.
- What a probe sees (configure-load-balancer-standard.md, virtual-ips.md): with
  ``externalTrafficPolicy: Cluster`` a TCP probe of the NodePort, which answers while the VM
  and its kube-proxy run; with ``Local`` an HTTP probe of the health check node port, which
  answers 200 only where a ready endpoint of the Service runs on that node.
- New connections are spread by the 5-tuple hash, i.e. uniformly over healthy backends.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

if TYPE_CHECKING:
    from sim.cluster import Node
    from sim.model import Model
    from sim.svc import ServiceState


class LoadBalancer:
    """One frontend of the Azure load balancer for one Service."""

    def __init__(self, model: Model, svc: ServiceState, interval: float, threshold: int) -> None:
        self.m = model
        self.svc = svc
        self.interval = interval
        self.threshold = threshold
        self.failures: dict[str, int] = {}
        self.healthy: list[Node] = []
        """Backends the load balancer sends new connections to (sorted by name)."""
        self._healthy_names: set[str] = set()
        self.refresh_now()
        model.env.process(self._probe_loop())

    def _answers(self, node: Node) -> bool:
        if not node.alive or node.state in ("Provisioning", "Deleted", "Failed"):
            return False
        if self.svc.local:
            return any(p.node is node for p in self.svc.endpoints)
        return True

    def refresh_now(self) -> None:
        """Probe every backend at once (used at the start of the run)."""
        nodes = self._backends()
        self._healthy_names = {n.name for n in nodes if self._answers(n)}
        self.healthy = [n for n in nodes if n.name in self._healthy_names]

    def _backends(self) -> list[Node]:
        return sorted((n for p in self.m.pools.values() for n in p.nodes.values() if n.row >= 0),
                      key=lambda n: n.name)

    def _probe_loop(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.m.env.timeout(self.interval)
            nodes = self._backends()
            for node in nodes:
                if self._answers(node):
                    self.failures[node.name] = 0
                    self._healthy_names.add(node.name)
                else:
                    count = self.failures.get(node.name, 0) + 1
                    self.failures[node.name] = count
                    if count >= self.threshold:
                        self._healthy_names.discard(node.name)
            present = {n.name for n in nodes}
            self._healthy_names &= present
            self.healthy = [n for n in nodes if n.name in self._healthy_names]
