"""Outbound SNAT: the load balancer's default port table, explicit outbound rules, and how
many nodes an AKS outbound rule supports.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.sizing.limits import (
    AKS_ALLOCATED_OUTBOUND_PORTS,
    MAX_SURGE_DEFAULT,
    SNAT_DEFAULT_TIERS,
    SNAT_PORT_RANGE,
    SNAT_PORTS_PER_FRONTEND_IP,
    InputProblem,
    raise_if,
)
from sim.sizing.revisions import MODEL, DocRevision
from sim.sizing.upgrades import surge_nodes, surge_problems

# --------------------------------------------------------------------------- SNAT


def snat_default_ports_per_frontend(backend_pool_size: int) -> int:
    """Default SNAT ports per instance for one frontend IP, from the tier table.

    Source: load-balancer-outbound-connections#preallocatedports.

    Raises:
        ValueError: Pool size outside 1..1000 (the table's range).
    """
    for low, high, ports in SNAT_DEFAULT_TIERS:
        if low <= backend_pool_size <= high:
            return ports
    raise ValueError(f"backend pool size {backend_pool_size}: the default SNAT table covers "
                     f"1 to {SNAT_DEFAULT_TIERS[-1][1]} instances")


def snat_ports_per_instance(
    backend_pool_size: int, frontend_ips: int = 1, *, revision: DocRevision = MODEL
) -> int:
    """Default SNAT ports per instance: ``MIN(table * frontend IPs, 1024)``.

    Source: load-balancer-outbound-connections#preallocatedports; the older revision
    (``revision=REVISIONS["lb-outbound-multiple-frontends-old"]``) multiplies without a cap.
    """
    ports = snat_default_ports_per_frontend(backend_pool_size) * frontend_ips
    cap = revision.snat_frontend_cap
    return ports if cap is None else min(ports, cap)


def explicit_outbound_ports_per_instance(backend_pool_size: int, frontend_ips: int = 1) -> int:
    """Most ports per instance an explicit outbound rule can give: ``64,000 * IPs / pool``.

    Rounded down to a multiple of 8 (ports are allocated in ranges of 8). Source:
    load-balancer-outbound-connections (pool of 10: 64,000 / 10 = 6,400).
    """
    ports = SNAT_PORTS_PER_FRONTEND_IP * frontend_ips // backend_pool_size
    return ports - ports % SNAT_PORT_RANGE


def validate_allocated_outbound_ports(ports: int) -> list[InputProblem]:
    """Problems of ``allocatedOutboundPorts``: 0..64,000 and a multiple of 8.

    Source: ManagedClusterLoadBalancerProfile; configure-load-balancer-standard.md.
    """
    low, high = AKS_ALLOCATED_OUTBOUND_PORTS
    if low <= ports <= high and ports % SNAT_PORT_RANGE == 0:
        return []
    return [InputProblem("allocated_outbound_ports", str(ports),
                         f"a multiple of {SNAT_PORT_RANGE} from {low} to {high}")]


def aks_outbound_ports_per_node(
    allocated_outbound_ports: int, nodes: int, outbound_ips: int = 1
) -> int:
    """SNAT ports each node gets from the AKS outbound rule.

    ``allocatedOutboundPorts = 0`` (the default) means the default table by pool size
    (configure-load-balancer-standard.md); otherwise the allocated value.
    """
    raise_if(validate_allocated_outbound_ports(allocated_outbound_ports))
    if allocated_outbound_ports == 0:
        return snat_ports_per_instance(nodes, outbound_ips)
    return allocated_outbound_ports


def outbound_max_nodes(ports_per_node: int, outbound_ips: int) -> int:
    """Nodes an outbound rule supports: ``64,000 * IPs // ports per node``.

    Source: configure-load-balancer-standard.md (1,000 ports x 7 IPs supports 448 nodes).

    Raises:
        SizingError: Ports not a multiple of 8 in 8..64,000.
    """
    if ports_per_node == 0:
        raise_if([InputProblem("ports_per_node", "0", "an explicit allocation >= 8")])
    raise_if(validate_allocated_outbound_ports(ports_per_node))
    return SNAT_PORTS_PER_FRONTEND_IP * outbound_ips // ports_per_node


def outbound_max_nodes_with_surge(ports_per_node: int, outbound_ips: int,
                                  max_surge: int | str = MAX_SURGE_DEFAULT) -> int:
    """Nodes a cluster may keep under an outbound rule so that an upgrade's surge nodes still
    get their ports: the largest ``n`` with ``n + surge(n) <= 64,000 * IPs // ports``.

    Source: configure-load-balancer-standard.md ("keep surge headroom": the capacity formula
    counts the buffer node an upgrade adds, default max surge 1); surge as
    :func:`surge_nodes` (a count, or a percentage of the pool rounded up).

    Raises:
        SizingError: Ports not a multiple of 8 in 8..64,000, or a bad max surge.
    """
    raise_if(surge_problems(max_surge))
    limit = outbound_max_nodes(ports_per_node, outbound_ips)
    n = limit
    while n > 0 and n + surge_nodes(max_surge, n) > limit:
        n -= 1
    return n


@dataclass(frozen=True)
class OutboundPortsCheck:
    """Whether an explicit per-node port allocation fits the outbound IPs' ports."""

    total_ports_available: int
    total_ports_needed: int
    fits: bool
    max_nodes: int


def outbound_ports_check(nodes: int, ports_per_node: int, outbound_ips: int) -> OutboundPortsCheck:
    """Ports needed (``nodes * ports``) against ports available (``64,000 * IPs``).

    Source: load-balancer-standard.md (4,000 ports x 100 nodes = 400k <= 448k = 7 IPs x 64k).
    Keep surge headroom: pass nodes + surge to check an upgrade.
    """
    available = SNAT_PORTS_PER_FRONTEND_IP * outbound_ips
    needed = nodes * ports_per_node
    return OutboundPortsCheck(available, needed, needed <= available,
                              outbound_max_nodes(ports_per_node, outbound_ips))
