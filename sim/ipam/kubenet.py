"""kubenet: the node's IP from the subnet, a /24 per node from ``podCidr``, one UDR route per
node, at most 400 routes (configure-kubenet.md)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from sim.azure.vnet import Subnet
from sim.events import FailedToCreateRoute
from sim.ipam.base import KUBENET_ROUTE_LIMIT, PodRange
from sim.kernel.bus import Bus

if TYPE_CHECKING:
    from sim.objects import Node


class Kubenet(PodRange):
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
