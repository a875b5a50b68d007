"""Address sizing: Azure subnets, the Azure CNI node subnet, the kubenet/Overlay pod CIDR,
the service CIDR and the pod subnet (dynamic batches of 16, static /28 blocks).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from sim.azure.vnet import (
    AZURE_RESERVED_PER_SUBNET,
    FORBIDDEN_RANGES,
    forbidden_overlap,
    usable_addresses,
)
from sim.azure.vnet import min_prefix_len as _network_min_prefix_len
from sim.sizing.limits import (
    DNS_SERVICE_IP_OFFSET,
    DYNAMIC_BATCH_IPS,
    DYNAMIC_REFILL_BELOW,
    KUBENET_MAX_ROUTES,
    KUBERNETES_SERVICE_IP_OFFSET,
    NODE_POD_PREFIX_LEN,
    NODE_SUBNET,
    RESERVED_ROLES,
    SERVICE_CIDR_PREFIX_LEN_MUST_EXCEED,
    STATIC_BLOCK_IPS,
    STATIC_BLOCK_PREFIX_LEN,
    STATIC_BLOCK_RESERVED_PER_NODE,
    SUBNET_LARGEST_PREFIX_LEN,
    SUBNET_SMALLEST_PREFIX_LEN,
    InputProblem,
)
from sim.sizing.modes import ip_mode_from_name
from sim.sizing.revisions import MODEL, DocRevision

# --------------------------------------------------------------------------- subnets


def subnet_total_addresses(prefix_len: int) -> int:
    """Addresses in an IPv4 prefix: ``2^(32-p)``."""
    total: int = 2 ** (32 - prefix_len)  # int ** int is typed Any (a negative power is a float)
    return total


def subnet_usable_addresses(prefix_len: int, *, revision: DocRevision = MODEL) -> int:
    """Assignable addresses of an Azure subnet, ``2^(32-p) - reserved``.

    Args:
        prefix_len: Prefix length of the subnet.
        revision: Doc revision; the model reserves 5 (Azure VNet FAQ), the
            configure-kubenet.md text 3.

    Returns:
        The usable address count, never negative.
    """
    if revision.reserved_per_subnet == AZURE_RESERVED_PER_SUBNET:
        return usable_addresses(prefix_len)
    return max(0, subnet_total_addresses(prefix_len) - revision.reserved_per_subnet)


def subnet_prefix_supported(prefix_len: int) -> bool:
    """Whether Azure accepts an IPv4 subnet of this prefix length (/2 to /29, VNet FAQ)."""
    return SUBNET_LARGEST_PREFIX_LEN <= prefix_len <= SUBNET_SMALLEST_PREFIX_LEN


def subnet_reserved_addresses(cidr: str) -> dict[str, str]:
    """Azure's 5 reserved addresses of a subnet and their roles (Azure VNet FAQ).

    Args:
        cidr: The subnet, e.g. ``192.168.1.0/24``.

    Returns:
        Dotted address -> role, in address order.
    """
    net = ipaddress.IPv4Network(cidr)
    return {str(net[offset]): role for offset, role in RESERVED_ROLES}


def subnet_assignable_range(cidr: str) -> tuple[str, str]:
    """First and last assignable address of an Azure subnet (after the first 4, before the last).

    Args:
        cidr: The subnet.

    Returns:
        ``(first, last)`` dotted addresses.
    """
    net = ipaddress.IPv4Network(cidr)
    return str(net[4]), str(net[-2])


def min_prefix_len(required_ips: int) -> int:
    """Longest prefix whose usable addresses ``2^(32-p) - 5`` hold *required_ips*.

    Delegates to :func:`sim.azure.vnet.min_prefix_len` (bounded to /29../2).

    Raises:
        ValueError: Nothing up to a /2 holds that many.
    """
    return _network_min_prefix_len(required_ips)


# --------------------------------------------------------------------------- Azure CNI sizing


def azure_cni_required_ips(nodes: int, max_pods: int, surge_nodes: int = 1) -> int:
    """Minimum node-subnet IPs for Azure CNI (node subnet): ``(n+s) + (n+s) * maxPods``.

    Source: concepts-network-ip-address-planning.md, table row "Subnet"
    (2019 configure-azure-cni.md: ``(nodes + 1) + (nodes + 1) * maxPods``).

    Args:
        nodes: Nodes to fit, scale-out included.
        max_pods: Max pods per node.
        surge_nodes: Upgrade surge nodes (default 1).

    Returns:
        IPs the subnet must have.
    """
    total = nodes + surge_nodes
    return total + total * max_pods


def node_subnet_required_ips(nodes: int, surge_nodes: int = 1) -> int:
    """Node-subnet IPs when pods take no node-subnet IPs (kubenet, Overlay, pod subnet): n + s."""
    return nodes + surge_nodes


@dataclass(frozen=True)
class SubnetCapacity:
    """How many nodes and pods a node subnet holds, ignoring upgrade and scale headroom."""

    max_nodes: int
    max_pods_total: int


def subnet_capacity(mode: str, prefix_len: int, max_pods: int) -> SubnetCapacity:
    """Nodes and pods a node subnet of *prefix_len* holds.

    kubenet (and every mode whose pods live elsewhere) uses one subnet IP per node; Azure CNI
    node subnet uses ``1 + maxPods``. Source: configure-kubenet.md (a /24 holds 251 kubenet
    nodes = 27,610 pods at 110, or 8 Azure CNI nodes = 240 pods at 30). No headroom is kept,
    as in the source.

    Args:
        mode: IP mode or a plugin label (see :func:`ip_mode_from_name`).
        prefix_len: Node-subnet prefix length.
        max_pods: Max pods per node.

    Returns:
        The capacity.
    """
    per_node = 1 + max_pods if ip_mode_from_name(mode) == NODE_SUBNET else 1
    nodes = subnet_usable_addresses(prefix_len) // per_node
    return SubnetCapacity(max_nodes=nodes, max_pods_total=nodes * max_pods)


# --------------------------------------------------------------------------- pod CIDR


def pod_cidr_node_capacity(pod_cidr: str, per_node_prefix_len: int = NODE_POD_PREFIX_LEN) -> int:
    """Node ranges a pod CIDR holds: ``2^(per_node - p)`` (a /16 holds 256 /24s).

    Source: configure-kubenet.md (each node gets a /24 of ``--pod-cidr``), same for Overlay.
    """
    net = ipaddress.IPv4Network(pod_cidr)
    if per_node_prefix_len < net.prefixlen:
        return 0
    ranges: int = 2 ** (per_node_prefix_len - net.prefixlen)  # not negative: checked above
    return ranges


def node_pod_cidr(
    pod_cidr: str, node_index: int, per_node_prefix_len: int = NODE_POD_PREFIX_LEN
) -> str:
    """The pod range of the *node_index*-th node (0-based), allocated in order.

    Source: configure-kubenet.md (10.244.0.0/24, 10.244.1.0/24, ...).

    Raises:
        ValueError: The pod CIDR has no range for that index.
    """
    capacity = pod_cidr_node_capacity(pod_cidr, per_node_prefix_len)
    if not 0 <= node_index < capacity:
        raise ValueError(f"{pod_cidr} holds {capacity} /{per_node_prefix_len} node ranges, "
                         f"not index {node_index}")
    net = ipaddress.IPv4Network(pod_cidr)
    first = int(net.network_address) + node_index * 2 ** (32 - per_node_prefix_len)
    return f"{ipaddress.IPv4Address(first)}/{per_node_prefix_len}"


def pod_cidr_min_prefix_len(nodes: int, per_node_prefix_len: int = NODE_POD_PREFIX_LEN) -> int:
    """Longest pod-CIDR prefix holding one /24 per node: ``24 - ceil(log2(nodes))``.

    The pod CIDR is not an Azure subnet, so nothing is reserved. Source: configure-kubenet.md,
    concepts-network-azure-cni-overlay.md (fixed /24 per node).
    """
    return per_node_prefix_len - max(0, nodes - 1).bit_length()


ROUTES_OK = "ok"
ROUTES_EXCEEDED = "exceeds route table limit"


def kubenet_routes_fit(nodes: int) -> bool:
    """Whether a kubenet cluster's routes (one per node) fit the 400-route UDR table."""
    return nodes <= KUBENET_MAX_ROUTES


def kubenet_route_status(nodes: int) -> str:
    """:data:`ROUTES_OK` or :data:`ROUTES_EXCEEDED` for kubenet nodes (configure-kubenet.md)."""
    return ROUTES_OK if kubenet_routes_fit(nodes) else ROUTES_EXCEEDED


# --------------------------------------------------------------------------- service CIDR


def _service_address(service_cidr: str, offset: int) -> str:
    net = ipaddress.IPv4Network(service_cidr)
    return str(net.network_address + offset)


def dns_service_ip(service_cidr: str) -> str:
    """The conventional ``--dns-service-ip``: the .10 of the range (configure-kubenet.md)."""
    return _service_address(service_cidr, DNS_SERVICE_IP_OFFSET)


def kubernetes_service_ip(service_cidr: str) -> str:
    """``kubernetes.default``'s IP: the range's first address (configure-azure-cni.md)."""
    return _service_address(service_cidr, KUBERNETES_SERVICE_IP_OFFSET)


def validate_range(cidr: str, field_name: str = "cidr") -> list[InputProblem]:
    """Problems of a service, pod or VNet range: not IPv4, or overlapping a forbidden range.

    Source: concepts-network-legacy-cni.md, concepts-network-ip-address-planning.md.
    """
    try:
        net = ipaddress.IPv4Network(cidr)
    except ValueError:
        return [InputProblem(field_name, repr(cidr), "an IPv4 CIDR such as 10.0.0.0/16")]
    bad = forbidden_overlap(net)
    if bad is None:
        return []
    allowed = ", ".join(str(f) for f in FORBIDDEN_RANGES)
    return [InputProblem(field_name, f"{cidr} (overlaps {bad})", f"a range outside {allowed}")]


def validate_service_cidr(service_cidr: str) -> list[InputProblem]:
    """Problems of a ``--service-cidr``: forbidden overlap, or not smaller than a /12."""
    return validate_range(service_cidr, "service_cidr") or validate_service_cidr_size(service_cidr)


def validate_service_cidr_size(service_cidr: str) -> list[InputProblem]:
    """Problems of a ``--service-cidr``'s size alone: not smaller than a /12.

    Source: configure-azure-cni.md (:data:`SERVICE_CIDR_PREFIX_LEN_MUST_EXCEED`).
    """
    prefix = ipaddress.IPv4Network(service_cidr).prefixlen
    if prefix <= SERVICE_CIDR_PREFIX_LEN_MUST_EXCEED:
        return [InputProblem("service_cidr", service_cidr,
                             f"a range smaller than /{SERVICE_CIDR_PREFIX_LEN_MUST_EXCEED}")]
    return []


def validate_dns_service_ip(service_cidr: str, dns_ip: str) -> list[InputProblem]:
    """Problems of a ``--dns-service-ip``: outside the service range, or its first address.

    Source: configure-azure-cni.md ("Don't use the first IP address in your address range").
    """
    net = ipaddress.IPv4Network(service_cidr)
    addr = ipaddress.IPv4Address(dns_ip)
    if addr not in net or addr in (net.network_address, net.broadcast_address):
        return [InputProblem("dns_service_ip", dns_ip, f"a host address inside {service_cidr}")]
    if str(addr) == kubernetes_service_ip(service_cidr):
        return [InputProblem("dns_service_ip", f"{dns_ip} (kubernetes.default)",
                             f"another address of {service_cidr}, e.g. "
                             f"{dns_service_ip(service_cidr)}")]
    return []


# --------------------------------------------------------------------------- pod subnet sizing


def dynamic_pod_ips_per_node(max_pods: int) -> int:
    """Worst-case pod-subnet IPs one node holds with dynamic allocation.

    Nodes get IPs in batches of 16 (pod-subnet concepts). A node full to *max_pods* holds
    at most *max_pods* rounded up to whole batches (the node never needs more IPs than it
    can have pods); the doc's floor is 16 per node (:data:`DYNAMIC_MIN_IPS_PER_NODE`).
    """
    return max(1, math.ceil(max_pods / DYNAMIC_BATCH_IPS)) * DYNAMIC_BATCH_IPS


def dynamic_batches_after_refill(allocated_ips: int, used_ips: int) -> int:
    """Batches a node asks for: one more whenever fewer than 8 of its IPs are unallocated.

    Source: pod-subnet concepts ("request another batch of 16 anytime there are <8 IPs
    unallocated in their allotment").

    Args:
        allocated_ips: IPs the node holds now.
        used_ips: IPs its pods use.

    Returns:
        0 or the number of batches to request so that at least 8 are free again.
    """
    batches = 0
    while allocated_ips + batches * DYNAMIC_BATCH_IPS - used_ips < DYNAMIC_REFILL_BELOW:
        batches += 1
    return batches


def static_blocks_per_node(max_pods: int) -> int:
    """/28 blocks per node with static block allocation: ``ceil((maxPods + 1) / 16)``.

    One IP of the node's blocks is reserved (the node's primary IP), so 30 pods take 2
    blocks, 31 take 2 and 32 take 3 (concepts-network-azure-cni-pod-subnet.md, example table).
    """
    return math.ceil((max_pods + STATIC_BLOCK_RESERVED_PER_NODE) / STATIC_BLOCK_IPS)


def static_block_pod_ips_per_node(max_pods: int) -> int:
    """Pod IPs a node's blocks give: ``16 * blocks - 1`` (pod-subnet concepts)."""
    return static_blocks_per_node(max_pods) * STATIC_BLOCK_IPS - STATIC_BLOCK_RESERVED_PER_NODE


def static_block_wasted_ips(max_pods: int) -> int:
    """Block IPs a node can never use: ``16 * blocks - 1 - maxPods`` (pod-subnet concepts)."""
    return static_block_pod_ips_per_node(max_pods) - max_pods


def static_block_ideal_max_pods(blocks: int) -> int:
    """The no-waste max-pods for *blocks* blocks: ``16N - 1`` (pod-subnet concepts)."""
    return STATIC_BLOCK_IPS * blocks - STATIC_BLOCK_RESERVED_PER_NODE


def static_block_subnet_capacity(prefix_len: int) -> int:
    """Whole /28 blocks a pod subnet can hand out.

    Derived: blocks are aligned /28s and Azure's reserved addresses (the first four and the
    last) sit in the first and last block, which are never handed out whole.
    """
    if prefix_len > STATIC_BLOCK_PREFIX_LEN:
        return 0
    blocks: int = 2 ** (STATIC_BLOCK_PREFIX_LEN - prefix_len)  # not negative: checked above
    return max(0, blocks - 2)


def static_block_min_prefix_len(blocks: int) -> int:
    """Longest pod-subnet prefix holding *blocks* whole /28 blocks (see above).

    Raises:
        ValueError: Nothing up to a /2 holds that many.
    """
    for p in range(STATIC_BLOCK_PREFIX_LEN, SUBNET_LARGEST_PREFIX_LEN - 1, -1):
        if static_block_subnet_capacity(p) >= blocks:
            return p
    raise ValueError(f"{blocks} /28 blocks do not fit in any IPv4 subnet")
