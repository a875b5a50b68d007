"""IP address management, one strategy per AKS network plugin mode.

Every strategy answers the same three questions: can this node join (and with which
addresses), which address does a pod on it get, and what is released when either goes.
Failures publish their real event (``SubnetIsFull``, ``CIDRNotAvailable``,
``FailedToCreateRoute``, ``FailedCreatePodSandBox``) and the caller does what AKS does next.

Sources (AKS-NETWORKING.md section 1):
- kubenet: node IP from the subnet, a /24 per node from ``podCidr``, one UDR route per node,
  at most 400 routes (configure-kubenet.md).
- Azure CNI (node subnet): 1 + maxPods addresses reserved when the node is created
  (concepts-network-ip-address-planning.md).
- Pod subnet, dynamic: batches of 16, another batch when fewer than 8 are free
  (configure-azure-cni-dynamic-ip-allocation.md).
- Pod subnet, static block: /28 blocks, ceil((maxPods + 1) / 16) per node
  (concepts-network-azure-cni-pod-subnet.md).
- Overlay: a /24 per node from ``podCidr``, nothing from the VNet for pods
  (concepts-network-azure-cni-overlay.md).

The numbers are :mod:`sim.sizing.limits`'s (no second copy here). The package, bottom up:

- :mod:`sim.ipam.base`: the constants, :class:`IpamStrategy`, the shared bases;
- :mod:`sim.ipam.kubenet`, :mod:`sim.ipam.node_subnet`, :mod:`sim.ipam.pod_subnet` (dynamic and
  static block) and :mod:`sim.ipam.overlay`: one strategy each;
- here: :func:`build`, the strategy for a cluster (a mixed one when its pools differ).

Every public name is re-exported here: ``from sim.ipam import Kubenet``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.azure.vnet import Subnet, ip_str
from sim.ipam.base import (
    DYNAMIC_BATCH,
    DYNAMIC_LOW_WATERMARK,
    DYNAMIC_RELEASE_ABOVE,
    KUBENET_ROUTE_LIMIT,
    STATIC_BLOCK_PREFIX,
    IpamBase,
    IpamStrategy,
    PodRange,
)
from sim.ipam.kubenet import Kubenet
from sim.ipam.node_subnet import NodeSubnet
from sim.ipam.overlay import Overlay
from sim.ipam.pod_subnet import DynamicPodSubnet, StaticBlockPodSubnet
from sim.kernel.bus import Bus
from sim.scenario.schema import pod_ip_mode

if TYPE_CHECKING:
    from sim.objects import Node, NodePool
    from sim.scenario.schema import Scenario


def build(spec: Scenario, bus: Bus, subnets: dict[str, Subnet],
          pools: dict[str, NodePool]) -> IpamStrategy:
    """The strategy for the cluster of *spec*: Overlay, kubenet (plugin ``none`` too), node
    subnet when every pool is, else one per pool (:class:`_Mixed`). *subnets* are the VNet's
    subnets by name, *pools* the cluster's node pools."""
    c = spec.cluster
    node_subnets = subnets
    modes = {pod_ip_mode(spec, p.spec) for p in pools.values()}
    pod_subnets = {p.pod_subnet: subnets[p.pod_subnet] for p in pools.values()
                   if p.pod_subnet}
    if c.plugin == "overlay":
        return Overlay(bus, node_subnets, c.pod_cidr)
    if c.plugin in ("kubenet", "none"):
        table = next((s.route_table for s in c.vnet.subnets if s.route_table),
                     f"aks-agentpool-{c.name}-routetable")
        return Kubenet(bus, node_subnets, c.pod_cidr, table)
    if modes == {"node-subnet"}:
        return NodeSubnet(bus, node_subnets)
    return _Mixed(bus, node_subnets, pod_subnets)


class _Mixed:
    """Pools of one cluster may differ: node-subnet pools beside pod-subnet pools."""

    mode = "azure"

    def __init__(self, bus: Bus, node_subnets: dict[str, Subnet],
                 pod_subnets: dict[str, Subnet]) -> None:
        self.node_subnet = NodeSubnet(bus, node_subnets)
        self.dynamic = DynamicPodSubnet(bus, node_subnets, pod_subnets)
        self.static = StaticBlockPodSubnet(bus, node_subnets, pod_subnets)

    def _for(self, pool: NodePool) -> IpamStrategy:
        if pool.pod_subnet is None:
            return self.node_subnet
        if pool.spec.pod_ip_allocation_mode == "StaticBlock":
            return self.static
        return self.dynamic

    def attach(self, node: Node, operation: str) -> str | None:
        return self._for(node.pool).attach(node, operation)

    def register(self, node: Node) -> str | None:
        return self._for(node.pool).register(node)

    def detach(self, node: Node) -> None:
        self._for(node.pool).detach(node)

    def pod_ip(self, node: Node, namespace: str, pod: str, report: bool = True) -> int | None:
        return self._for(node.pool).pod_ip(node, namespace, pod, report)

    def release_pod_ip(self, node: Node, ip: int) -> None:
        self._for(node.pool).release_pod_ip(node, ip)

    def demand(self, pool: NodePool) -> list[tuple[Subnet, int, int]]:
        return self._for(pool).demand(pool)


__all__ = ["DYNAMIC_BATCH", "DYNAMIC_LOW_WATERMARK", "DYNAMIC_RELEASE_ABOVE", "DynamicPodSubnet",
           "IpamBase", "IpamStrategy", "KUBENET_ROUTE_LIMIT", "Kubenet", "NodeSubnet", "Overlay",
           "PodRange", "STATIC_BLOCK_PREFIX", "StaticBlockPodSubnet", "build", "ip_str"]
