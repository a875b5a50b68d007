"""Azure CNI (node subnet, "legacy"): 1 + maxPods addresses of the node's subnet reserved when
the node is created (concepts-network-ip-address-planning.md)."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from sim.azure.vnet import Subnet
from sim.ipam.base import IpamBase

if TYPE_CHECKING:
    from sim.objects import Node, NodePool


class NodeSubnet(IpamBase):
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
