"""Does a cluster fit its network? The one computation behind `aks-sim validate`'s subnet
warnings and `aks-sim plan --scenario`.

Each pool at a given size (default: its largest, maxCount when autoscaling) takes addresses of
its node subnet: 1 per node, or 1 + maxPods per node on Azure CNI's node subnet
(concepts-network-ip-address-planning.md: ``(n + surge) + (n + surge) x maxPods``). An upgrade
adds the largest pool's surge to its subnet (AKS upgrades one pool at a time). Pod subnets take
``dynamic_pod_ips_per_node`` (batches of 16) or static /28 blocks per node; kubenet needs one
route per node (400 at most) and, with Overlay, a /24 of the pod CIDR per node. Addresses other
resources hold (``heldAddresses``) are taken before any of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sim import sizing
from sim.azure.vnet import usable_addresses
from sim.scenario.schema import NodePoolSpec, Scenario, max_pods_of, pod_ip_mode, pool_max_nodes


@dataclass
class SubnetFit:
    """What one subnet must hold, and what it has."""

    name: str
    cidr: str
    usable: int
    held: int
    nodes: int = 0
    """Addresses the pools' nodes take (with their pods on Azure CNI's node subnet)."""
    surge: int = 0
    """Addresses of the largest upgrade surge of a pool on this subnet."""
    pods: int = 0
    """Addresses pools reserve here as their pod subnet."""
    pools: list[str] = field(default_factory=list)
    per_node: int = 1
    """Addresses one more node of its costliest pool takes here."""

    @property
    def need(self) -> int:
        return self.held + self.nodes + self.surge + self.pods

    @property
    def left(self) -> int:
        return self.usable - self.need


@dataclass
class Limit:
    """A limit of the platform, how much of it the cluster uses, and what remains."""

    name: str
    used: int
    limit: int

    @property
    def left(self) -> int:
        return self.limit - self.used


@dataclass
class Fit:
    """Every subnet's fit and every platform limit, and which one binds first."""

    subnets: list[SubnetFit]
    limits: list[Limit]

    @property
    def fits(self) -> bool:
        return all(s.left >= 0 for s in self.subnets) and all(x.left >= 0 for x in self.limits)

    def binding(self) -> tuple[str, int]:
        """The limit that binds first as nodes are added, and how many more nodes it allows
        (a subnet's room divided by what one more node of its costliest pool takes)."""
        rooms = [(s.left // s.per_node, f"subnet {s.name} ({s.cidr})") for s in self.subnets
                 if s.pools]
        rooms += [(x.left, x.name) for x in self.limits]
        more, name = min(rooms) if rooms else (0, "none")
        return name, more


def _size(pool: NodePoolSpec, counts: Mapping[str, int] | None) -> int:
    if counts is not None and pool.name in counts:
        return counts[pool.name]
    return pool_max_nodes(pool)


def cluster_fit(spec: Scenario, counts: Mapping[str, int] | None = None, *, upgrade: bool = True,
                max_surge: int | str | None = None) -> Fit:
    """The fit of *spec*'s cluster with each pool at *counts* (default: its largest), during an
    upgrade (*upgrade*) with each pool's surge, or *max_surge* for every pool."""
    c = spec.cluster
    first = c.vnet.subnets[0].name
    subnets = {s.name: SubnetFit(s.name, str(s.address_prefix),
                                 usable_addresses(s.address_prefix.prefixlen), s.held_addresses)
               for s in c.vnet.subnets}
    total = 0
    largest_surge = 0
    for pool in c.node_pools:
        mode = pod_ip_mode(spec, pool)
        max_pods = max_pods_of(spec, pool)
        nodes = _size(pool, counts)
        extra = sizing.surge_nodes(max_surge if max_surge is not None else pool.max_surge,
                                   nodes) if upgrade else 0
        total += nodes
        largest_surge = max(largest_surge, extra)
        per_node = 1 + max_pods if mode == "node-subnet" else 1
        home = subnets.get(pool.vnet_subnet or first)
        if home is not None:
            home.nodes += nodes * per_node
            home.surge = max(home.surge, extra * per_node)
            home.pools.append(pool.name)
            home.per_node = max(home.per_node, per_node)
        pod_home = subnets.get(pool.pod_subnet or "")
        if pod_home is not None and mode in ("dynamic", "static-block"):
            per_pod_node = (sizing.dynamic_pod_ips_per_node(max_pods) if mode == "dynamic"
                            else sizing.static_blocks_per_node(max_pods) * sizing.STATIC_BLOCK_IPS)
            pod_home.pods += (nodes + extra) * per_pod_node
            pod_home.pools.append(f"{pool.name} (pods)")
    limits = [Limit("nodes in the cluster (AKS: 5,000)", total + largest_surge,
                    sizing.MAX_NODES_PER_CLUSTER)]
    limits += [Limit(f"nodes in pool {p.name} (AKS: 1,000)", _size(p, counts),
                     sizing.MAX_NODES_PER_POOL) for p in c.node_pools]
    if c.plugin == "kubenet":
        limits.append(Limit("kubenet routes (one per node, 400 per route table)",
                            total + largest_surge, sizing.KUBENET_MAX_ROUTES))
    if c.plugin in ("kubenet", "overlay"):
        ranges = 2 ** max(0, 24 - c.pod_cidr.prefixlen)
        limits.append(Limit(f"/24 ranges of podCidr {c.pod_cidr} (one per node)",
                            total + largest_surge, ranges))
    return Fit([s for s in subnets.values() if s.pools or s.held], limits)
