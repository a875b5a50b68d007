"""Azure CNI with a pod subnet: pods take addresses of a subnet of their own.

- Dynamic (configure-azure-cni-dynamic-ip-allocation.md): batches of 16, another batch when
  fewer than 8 are free; a node with 150% of a batch free hands one back (Azure CNS).
- Static block (concepts-network-azure-cni-pod-subnet.md): /28 blocks,
  ``ceil((maxPods + 1) / 16)`` per node (:func:`sim.sizing.static_blocks_per_node`), one address
  of them kept for the node.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from sim.azure.vnet import BlockPool, Subnet
from sim.events import SubnetIsFull
from sim.ipam.base import (
    DYNAMIC_BATCH,
    DYNAMIC_LOW_WATERMARK,
    DYNAMIC_RELEASE_ABOVE,
    STATIC_BLOCK_PREFIX,
    IpamBase,
)
from sim.kernel.bus import Bus
from sim.sizing.addresses import static_blocks_per_node
from sim.sizing.limits import STATIC_BLOCK_IPS, STATIC_BLOCK_RESERVED_PER_NODE

if TYPE_CHECKING:
    from sim.objects import Node, NodePool


class DynamicPodSubnet(IpamBase):
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


class StaticBlockPodSubnet(IpamBase):
    """Azure CNI with a pod subnet, static block: /28 blocks reserved per node at creation."""

    mode = "static-block"

    def demand(self, pool: NodePool) -> list[tuple[Subnet, int, int]]:
        subnet = self.node_subnets[pool.subnet]
        name = pool.pod_subnet or ""
        blocks = static_blocks_per_node(pool.max_pods) * STATIC_BLOCK_IPS
        return [(subnet, 1, subnet.pool.free),
                (self.pod_subnets[name], blocks, self.blocks[name].free * STATIC_BLOCK_IPS)]

    def __init__(self, bus: Bus, node_subnets: dict[str, Subnet],
                 pod_subnets: dict[str, Subnet]) -> None:
        super().__init__(bus, node_subnets)
        self.pod_subnets = pod_subnets
        self.blocks: dict[str, BlockPool] = {}
        for name, s in pod_subnets.items():
            # Blocks holding Azure's reserved addresses (first four, last) are not handed out.
            last = s.cidr.num_addresses // STATIC_BLOCK_IPS - 1
            self.blocks[name] = BlockPool(s.cidr, STATIC_BLOCK_PREFIX, frozenset({0, last}))

    def attach(self, node: Node, operation: str) -> str | None:
        got = self._node_ips(node, 1, operation)
        if got is None:
            return "SubnetIsFull"
        node.net.node_ips = got
        node.net.node_ip = got[0]
        name = node.pod_subnet or ""
        need = static_blocks_per_node(node.max_pods)
        blocks = self.blocks[name].allocate(need)
        subnet = self.pod_subnets[name]
        if blocks is None:
            self.bus.publish(SubnetIsFull(subnet.name, str(subnet.cidr), need * STATIC_BLOCK_IPS,
                                          self.blocks[name].free * STATIC_BLOCK_IPS,
                                          node.pool.name, operation))
            return "SubnetIsFull"
        subnet.held_by["pod-block"] += need * STATIC_BLOCK_IPS
        subnet.pool.used += need * STATIC_BLOCK_IPS
        subnet.peak_used = max(subnet.peak_used, subnet.pool.used)
        node.net.blocks = blocks
        # one address of the node's blocks is kept for the node itself
        node.net.free = [b + i for b in blocks
                         for i in range(STATIC_BLOCK_IPS)][STATIC_BLOCK_RESERVED_PER_NODE:]
        return None

    def detach(self, node: Node) -> None:
        self._release_node_ips(node)
        if node.net.blocks:
            name = node.pod_subnet or ""
            self.blocks[name].release(node.net.blocks)
            subnet = self.pod_subnets[name]
            subnet.held_by["pod-block"] -= len(node.net.blocks) * STATIC_BLOCK_IPS
            subnet.pool.used -= len(node.net.blocks) * STATIC_BLOCK_IPS
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
