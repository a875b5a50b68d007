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
"""

from __future__ import annotations

import heapq
import ipaddress
from typing import TYPE_CHECKING, Protocol

from sim import sizing
from sim.azure.vnet import BlockPool, Subnet, ip_str
from sim.events import (
    CIDRNotAvailable,
    FailedCreatePodSandBox,
    FailedToCreateRoute,
    SubnetIsFull,
)
from sim.kernel.bus import Bus

if TYPE_CHECKING:
    from sim.objects import Node, NodePool

KUBENET_ROUTE_LIMIT = sizing.KUBENET_MAX_NODES
"""UDR route table maximum: 400 routes (configure-kubenet.md)."""
DYNAMIC_BATCH = 16
DYNAMIC_LOW_WATERMARK = 8
DYNAMIC_RELEASE_ABOVE = 24
"""Free addresses past which a node hands a batch back (150% of a batch)."""
STATIC_BLOCK_PREFIX = 28


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


class _Base:
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


class NodeSubnet(_Base):
    """Azure CNI (legacy): the node takes 1 + maxPods addresses of its subnet up front."""

    mode = "node-subnet"

    def demand(self, pool: NodePool) -> list[tuple[Subnet, int, int]]:
        subnet = self.node_subnets[pool.subnet]
        return [(subnet, 1 + pool.max_pods, subnet.pool.free)]

    def attach(self, node: Node, operation: str) -> str | None:
        got = self._node_ips(node, 1 + node.max_pods, operation)
        if got is None:
            return "SubnetIsFull"
        node.net.node_ips = got
        node.net.node_ip = got[0]
        node.net.free = got[1:]  # ascending: already a valid min-heap
        return None

    def detach(self, node: Node) -> None:
        self._release_node_ips(node)
        node.net.free = []

    def pod_ip(self, node: Node, namespace: str, pod: str, report: bool = True) -> int | None:
        net = node.net
        if not net.free:  # maxPods caps pods, so this means a model bug or a squeeze
            self._sandbox_failed(node, namespace, pod, "no pre-allocated IP address left on node",
                                 report)
            return None
        net.in_use += 1
        return heapq.heappop(net.free)


class _PodRange(_Base):
    """A /24 per node from the cluster's pod CIDR (kubenet and Overlay)."""

    def __init__(self, bus: Bus, node_subnets: dict[str, Subnet],
                 pod_cidr: ipaddress.IPv4Network) -> None:
        super().__init__(bus, node_subnets)
        self.pod_cidr = pod_cidr
        self.ranges = BlockPool(pod_cidr, 24)

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


class Kubenet(_PodRange):
    """kubenet: pod /24 per node plus one route per node in the cluster's route table."""

    mode = "kubenet"

    def __init__(self, bus: Bus, node_subnets: dict[str, Subnet],
                 pod_cidr: ipaddress.IPv4Network, route_table: str) -> None:
        super().__init__(bus, node_subnets, pod_cidr)
        self.route_table = route_table
        self.routes = 0
        self.peak_routes = 0

    def register(self, node: Node) -> str | None:
        why = super().register(node)
        if why is not None:
            return why
        # the route controller adds the route once the registered Node has its podCIDR
        if self.routes >= KUBENET_ROUTE_LIMIT:
            self.bus.publish(FailedToCreateRoute(node.name, self.route_table, self.routes,
                                                 KUBENET_ROUTE_LIMIT))
            return "FailedToCreateRoute"
        self.routes += 1
        self.peak_routes = max(self.peak_routes, self.routes)
        node.net.route = True
        return None

    def detach(self, node: Node) -> None:
        super().detach(node)
        if node.net.route:
            self.routes -= 1
            node.net.route = False


class Overlay(_PodRange):
    """Azure CNI Overlay: pod /24 per node from the pod CIDR; no routes, no VNet addresses."""

    mode = "overlay"


class DynamicPodSubnet(_Base):
    """Azure CNI with a pod subnet, dynamic: addresses in batches of 16 per node."""

    mode = "dynamic"

    def __init__(self, bus: Bus, node_subnets: dict[str, Subnet],
                 pod_subnets: dict[str, Subnet]) -> None:
        super().__init__(bus, node_subnets)
        self.pod_subnets = pod_subnets

    def attach(self, node: Node, operation: str) -> str | None:
        got = self._node_ips(node, 1, operation)
        if got is None:
            return "SubnetIsFull"
        node.net.node_ips = got
        node.net.node_ip = got[0]
        self._batch(node)  # a node asks for 16 at start; failure shows on its first pods
        return None

    def _batch(self, node: Node) -> bool:
        subnet = self.pod_subnets[node.pod_subnet or ""]
        got = subnet.allocate(DYNAMIC_BATCH, "pod")
        if got is None:
            return False
        node.net.pod_ips_held.extend(got)
        for ip in got:
            heapq.heappush(node.net.free, ip)
        return True

    def detach(self, node: Node) -> None:
        self._release_node_ips(node)
        held = node.net.pod_ips_held
        if held:
            self.pod_subnets[node.pod_subnet or ""].release(held, "pod")
        node.net.pod_ips_held = []
        node.net.free = []

    def pod_ip(self, node: Node, namespace: str, pod: str, report: bool = True) -> int | None:
        net = node.net
        if not net.free and not self._batch(node):
            subnet = self.pod_subnets[node.pod_subnet or ""]
            self._sandbox_failed(node, namespace, pod, f"failed to allocate an IP from pod "
                                 f"subnet {subnet.name} ({subnet.cidr}): SubnetIsFull", report)
            return None
        net.in_use += 1
        ip = heapq.heappop(net.free)
        if len(net.free) < DYNAMIC_LOW_WATERMARK:
            self._batch(node)  # CNS asks for another batch; if the subnet is full, later pods fail
        return ip

    def release_pod_ip(self, node: Node, ip: int) -> None:
        super().release_pod_ip(node, ip)
        net = node.net
        if len(net.free) >= DYNAMIC_RELEASE_ABOVE:
            give = [heapq.heappop(net.free) for _ in range(DYNAMIC_BATCH)]
            gone = set(give)
            net.pod_ips_held = [a for a in net.pod_ips_held if a not in gone]
            self.pod_subnets[node.pod_subnet or ""].release(give, "pod")


class StaticBlockPodSubnet(_Base):
    """Azure CNI with a pod subnet, static block: /28 blocks reserved per node at creation."""

    mode = "static-block"

    def demand(self, pool: NodePool) -> list[tuple[Subnet, int, int]]:
        subnet = self.node_subnets[pool.subnet]
        name = pool.pod_subnet or ""
        blocks = sizing.static_blocks_per_node(pool.max_pods) * 16
        return [(subnet, 1, subnet.pool.free),
                (self.pod_subnets[name], blocks, self.blocks[name].free * 16)]

    def __init__(self, bus: Bus, node_subnets: dict[str, Subnet],
                 pod_subnets: dict[str, Subnet]) -> None:
        super().__init__(bus, node_subnets)
        self.pod_subnets = pod_subnets
        self.blocks: dict[str, BlockPool] = {}
        for name, s in pod_subnets.items():
            # Blocks holding Azure's reserved addresses (first four, last) are not handed out.
            last = s.cidr.num_addresses // 16 - 1
            self.blocks[name] = BlockPool(s.cidr, STATIC_BLOCK_PREFIX, frozenset({0, last}))

    def attach(self, node: Node, operation: str) -> str | None:
        got = self._node_ips(node, 1, operation)
        if got is None:
            return "SubnetIsFull"
        node.net.node_ips = got
        node.net.node_ip = got[0]
        name = node.pod_subnet or ""
        need = sizing.static_blocks_per_node(node.max_pods)
        blocks = self.blocks[name].allocate(need)
        subnet = self.pod_subnets[name]
        if blocks is None:
            self.bus.publish(SubnetIsFull(subnet.name, str(subnet.cidr), need * 16,
                                          self.blocks[name].free * 16, node.pool.name, operation))
            return "SubnetIsFull"
        subnet.held_by["pod-block"] += need * 16
        subnet.pool.used += need * 16
        subnet.peak_used = max(subnet.peak_used, subnet.pool.used)
        node.net.blocks = blocks
        # one address of the node's blocks is kept for the node itself
        node.net.free = [b + i for b in blocks for i in range(16)][1:]
        return None

    def detach(self, node: Node) -> None:
        self._release_node_ips(node)
        if node.net.blocks:
            name = node.pod_subnet or ""
            self.blocks[name].release(node.net.blocks)
            subnet = self.pod_subnets[name]
            subnet.held_by["pod-block"] -= len(node.net.blocks) * 16
            subnet.pool.used -= len(node.net.blocks) * 16
            node.net.blocks = []
        node.net.free = []

    def pod_ip(self, node: Node, namespace: str, pod: str, report: bool = True) -> int | None:
        net = node.net
        if not net.free:
            self._sandbox_failed(node, namespace, pod, "no address left in the node's /28 blocks",
                                 report)
            return None
        net.in_use += 1
        return heapq.heappop(net.free)


__all__ = ["DynamicPodSubnet", "IpamStrategy", "Kubenet", "NodeSubnet",
           "Overlay", "StaticBlockPodSubnet", "ip_str"]
