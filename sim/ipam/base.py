"""The bottom of :mod:`sim.ipam`: the constants, the strategy Protocol and the shared bases.

Every AKS number here is :mod:`sim.sizing.limits`'s, under the name the strategies used before
(no second copy): the UDR route limit (configure-kubenet.md), the /24 per node of kubenet and
Overlay (configure-kubenet.md, concepts-network-azure-cni-overlay.md), the dynamic batch of 16
and its refill below 8 (configure-azure-cni-dynamic-ip-allocation.md) and the /28 static
blocks (concepts-network-azure-cni-pod-subnet.md). The one number of the model's own,
:data:`DYNAMIC_RELEASE_ABOVE`, is derived from the batch.

:class:`IpamBase` is what every strategy shares (the node's own address from its subnet, the
free list of pod addresses); :class:`PodRange` is the /24-per-node range that kubenet and
Overlay share.
"""

from __future__ import annotations

import heapq
import ipaddress
from typing import TYPE_CHECKING, Protocol

from sim.azure.vnet import BlockPool, Subnet
from sim.events import CIDRNotAvailable, FailedCreatePodSandBox, SubnetIsFull
from sim.kernel.bus import Bus
from sim.sizing.limits import (
    DYNAMIC_BATCH_IPS,
    DYNAMIC_REFILL_BELOW,
    KUBENET_MAX_ROUTES,
    NODE_POD_PREFIX_LEN,
    STATIC_BLOCK_PREFIX_LEN,
)

if TYPE_CHECKING:
    from sim.objects import Node, NodePool

KUBENET_ROUTE_LIMIT = KUBENET_MAX_ROUTES
"""UDR route table maximum: 400 routes (configure-kubenet.md); sizing's KUBENET_MAX_ROUTES."""
DYNAMIC_BATCH = DYNAMIC_BATCH_IPS
"""Dynamic pod subnet: addresses go to a node in batches of 16; sizing's DYNAMIC_BATCH_IPS."""
DYNAMIC_LOW_WATERMARK = DYNAMIC_REFILL_BELOW
"""Dynamic pod subnet: another batch when fewer than 8 are free; sizing's DYNAMIC_REFILL_BELOW."""
DYNAMIC_RELEASE_ABOVE = DYNAMIC_BATCH_IPS * 3 // 2
"""Free addresses past which a node hands a batch back (150% of a batch). Not in the AKS docs:
Azure CNS's IPAM pool monitor (``Azure/azure-container-networking``, ``cns/ipampool``) keeps at
most ``BatchSize * ReleaseThresholdPercent / 100`` free, the release threshold at least the
request threshold (50%, the refill below 8) + 100%."""
STATIC_BLOCK_PREFIX = STATIC_BLOCK_PREFIX_LEN
"""Static block allocation hands out /28 blocks; sizing's STATIC_BLOCK_PREFIX_LEN."""


class IpamStrategy(Protocol):
    """How one plugin mode hands out node and pod addresses."""

    mode: str

    def attach(self, node: Node, operation: str) -> str | None:
        """Give *node* its addresses; returns why it cannot join (None when it can)."""

    def register(self, node: Node) -> str | None:
        """The Node object registered: what the node IPAM and route controllers do for it
        then (a pod /24, a UDR route); returns what failed (None when nothing did)."""

    def detach(self, node: Node) -> None:
        """Release everything *node* holds."""

    def pod_ip(self, node: Node, namespace: str, pod: str, report: bool = True) -> int | None:
        """An address for a pod on *node*, or None (FailedCreatePodSandBox published when
        *report*)."""

    def release_pod_ip(self, node: Node, ip: int) -> None:
        """Give a pod's address back to its node."""

    def demand(self, pool: NodePool) -> list[tuple[Subnet, int, int]]:
        """What one more node of *pool* takes: (subnet, addresses, addresses free there)."""


class IpamBase:
    """What every strategy shares: the node's own addresses, the node's free pod addresses."""

    mode = "base"

    def __init__(self, bus: Bus, node_subnets: dict[str, Subnet]) -> None:
        self.bus = bus
        self.node_subnets = node_subnets

    def _node_ips(self, node: Node, count: int, operation: str) -> list[int] | None:
        subnet = self.node_subnets[node.subnet]
        got = subnet.allocate(count, "node" if count == 1 else "node+pods")
        if got is None:
            self.bus.publish(SubnetIsFull(subnet.name, str(subnet.cidr), count, subnet.pool.free,
                                          node.pool.name, operation))
        return got

    def demand(self, pool: NodePool) -> list[tuple[Subnet, int, int]]:
        subnet = self.node_subnets[pool.subnet]
        return [(subnet, 1, subnet.pool.free)]

    def register(self, node: Node) -> str | None:
        return None  # VNet modes: every address came with the VM's NIC

    def _release_node_ips(self, node: Node) -> None:
        net = node.net
        if net.node_ips:
            subnet = self.node_subnets[node.subnet]
            subnet.release(net.node_ips, "node" if len(net.node_ips) == 1 else "node+pods")
            net.node_ips = []

    def release_pod_ip(self, node: Node, ip: int) -> None:
        net = node.net
        heapq.heappush(net.free, ip)
        net.in_use -= 1

    def _sandbox_failed(self, node: Node, namespace: str, pod: str, detail: str,
                        report: bool = True) -> None:
        if report:
            self.bus.publish(FailedCreatePodSandBox(namespace, pod, node.name, detail))


class PodRange(IpamBase):
    """A /24 per node from the cluster's pod CIDR (kubenet and Overlay)."""

    def __init__(self, bus: Bus, node_subnets: dict[str, Subnet],
                 pod_cidr: ipaddress.IPv4Network) -> None:
        super().__init__(bus, node_subnets)
        self.pod_cidr = pod_cidr
        self.ranges = BlockPool(pod_cidr, NODE_POD_PREFIX_LEN)

    def attach(self, node: Node, operation: str) -> str | None:
        got = self._node_ips(node, 1, operation)
        if got is None:
            return "SubnetIsFull"
        node.net.node_ips = got
        node.net.node_ip = got[0]
        return None

    def register(self, node: Node) -> str | None:
        # the node IPAM controller (kube-controller-manager, --allocate-node-cidrs) gives a
        # Node its podCIDR when the Node object is created, i.e. when the VM registers
        block = self.ranges.allocate(1)
        if block is None:
            self.bus.publish(CIDRNotAvailable(node.name, str(self.pod_cidr)))
            return "CIDRNotAvailable"
        node.net.pod_range = block[0]
        node.net.next_range_ip = block[0] + 2  # .0 network, .1 the bridge (cbr0) gateway
        return None

    def detach(self, node: Node) -> None:
        self._release_node_ips(node)
        if node.net.pod_range:
            self.ranges.release([node.net.pod_range])
            node.net.pod_range = 0
        node.net.free = []

    def pod_ip(self, node: Node, namespace: str, pod: str, report: bool = True) -> int | None:
        net = node.net
        if not net.pod_range:
            self._sandbox_failed(node, namespace, pod, "node has no pod CIDR assigned", report)
            return None
        net.in_use += 1
        if net.free:
            return heapq.heappop(net.free)
        ip = net.next_range_ip
        net.next_range_ip += 1
        return ip
