"""Calls leaving the cluster: the SNAT ports of the client pod's node (AKS-NETWORKING.md 3).

One place for the two rules every outbound call follows, whichever stage makes it (an
``external`` flow, or a pod calling an ExternalName Service):

- a new connection takes a port of its node for that destination, held ``FIN_HOLD`` past its
  end; with keep-alive, the client pod's pool reuses an idle connection (a new one only when
  all are busy, held until it idles out: the load balancer's idle timeout);
- a refused call is ``SNATPortExhaustion`` on the node, published at most once per node and
  destination per 5 minutes (the Kubernetes event recorder's spam filter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.events import SNATPortExhaustion
from sim.kernel.bus import Bus
from sim.traffic.snat import FIN_HOLD, KeepAlivePools, SnatTable

if TYPE_CHECKING:
    from sim.traffic.flows import FlowState

EXHAUSTION_EVENT_INTERVAL = 300.0
"""Seconds between two SNATPortExhaustion events of one node and destination."""


class Egress:
    """The outbound SNAT tables of the cluster's load balancer, and who may use them."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.snat = SnatTable(1, 0)
        self.keepalive = KeepAlivePools(self.snat, 1800.0)
        self.exhausted: dict[tuple[str, str], float] = {}
        """(node, destination) -> when its last SNATPortExhaustion was published."""

    def configure(self, outbound_ips: int, ports: int, idle_timeout: float) -> None:
        """The load balancer's outbound profile: frontend IPs, allocated ports per node (0: the
        default table), and the idle timeout that ends a kept-alive connection."""
        self.snat = SnatTable(outbound_ips, ports)
        self.keepalive = KeepAlivePools(self.snat, idle_timeout)

    def grant(self, flow: FlowState, node: str, pods: list[str], starts: np.ndarray,
              ends: np.ndarray, t0: float) -> np.ndarray:
        """Which of these outbound requests (from *node*, in time order) get a SNAT port: a new
        connection each, held 240 s past its FIN; or, keep-alive, a connection of the client
        pod's pool (a new one only when all are busy, held until it idles out)."""
        if flow.spec.connection == "new":
            return self.snat.take(node, flow.dest, t0, ends + FIN_HOLD, ends)
        use = self.keepalive.use
        return np.fromiter((use(p, node, flow.dest, t, e) for p, t, e in zip(
            pods, starts.tolist(), ends.tolist(), strict=True)), bool, len(pods))

    def refused(self, node: str, dest: str, t0: float) -> None:
        """Calls from *node* to *dest* found no port at *t0*: the node's event, spam-filtered."""
        last = self.exhausted.get((node, dest))
        if last is None or t0 - last >= EXHAUSTION_EVENT_INTERVAL:
            self.exhausted[(node, dest)] = t0
            self.bus.publish(SNATPortExhaustion(node, dest, self.snat.per_node))
