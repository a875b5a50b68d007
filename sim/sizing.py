"""AKS's published numbers and the sizing formulas built on them.

Pure functions and constants, no I/O. Every number names the document it was read from
(AKS doc paths are files of ``MicrosoftDocs/azure-aks-docs``, published at
``https://learn.microsoft.com/azure/aks/<file-stem>``; see ``shared/AKS-NETWORKING.md``).

Where two revisions of the docs disagree, the model follows one of them (:data:`MODEL`) and
every other known revision is a :class:`DocRevision` in :data:`REVISIONS`, so a scenario or a
test can ask what the other revision says instead of the conflict hiding in a constant.

IP modes (the ``mode`` argument of several functions) are :data:`KUBENET`, :data:`OVERLAY`
(Azure CNI Overlay), :data:`NODE_SUBNET` (Azure CNI "legacy": pods take node-subnet IPs),
:data:`DYNAMIC` (pod subnet, dynamic IP allocation) and :data:`STATIC_BLOCK` (pod subnet,
static /28 block allocation).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from sim.azure.vnet import (
    AZURE_RESERVED_PER_SUBNET,
    FORBIDDEN_RANGES,
    forbidden_overlap,
    usable_addresses,
)
from sim.azure.vnet import min_prefix_len as _network_min_prefix_len
from sim.kernel.errors import SimError

# --------------------------------------------------------------------------- sources

SRC_IP_PLANNING = "articles/aks/concepts-network-ip-address-planning.md"
SRC_CONFIGURE_CNI = "articles/aks/configure-azure-cni.md"
SRC_KUBENET = "articles/aks/configure-kubenet.md"
SRC_KUBENET_RETIREMENT = "includes/kubenet-retirement.md"
SRC_OVERLAY = "articles/aks/concepts-network-azure-cni-overlay.md"
SRC_POD_SUBNET = "articles/aks/concepts-network-azure-cni-pod-subnet.md"
SRC_DYNAMIC = "articles/aks/configure-azure-cni-dynamic-ip-allocation.md"
SRC_LEGACY_CNI = "articles/aks/concepts-network-legacy-cni.md"
SRC_QUOTAS = "articles/aks/quotas-skus-regions.md"
SRC_LARGE = "articles/aks/best-practices-performance-scale-large.md"
SRC_UPGRADE = "articles/aks/upgrade-aks-node-pools-rolling.md"
SRC_LB_STANDARD = "articles/aks/configure-load-balancer-standard.md"
SRC_LB_OUTBOUND = (
    "https://learn.microsoft.com/azure/load-balancer/load-balancer-outbound-connections"
    "#preallocatedports"
)
SRC_LB_PROFILE = (
    "https://learn.microsoft.com/javascript/api/@azure/arm-containerservice/"
    "managedclusterloadbalancerprofile"
)
SRC_VNET_FAQ = "https://learn.microsoft.com/azure/virtual-network/virtual-networks-faq"

# --------------------------------------------------------------------------- IP modes

KUBENET = "kubenet"
OVERLAY = "overlay"
NODE_SUBNET = "node-subnet"
DYNAMIC = "dynamic"
STATIC_BLOCK = "static-block"
IP_MODES: tuple[str, ...] = (KUBENET, OVERLAY, NODE_SUBNET, DYNAMIC, STATIC_BLOCK)
"""Every IP mode the model knows."""

NETWORK_PLUGINS: tuple[str, ...] = ("kubenet", "azure")
"""Values of ``--network-plugin`` the sizing understands."""
NETWORK_PLUGIN_MODES: tuple[str, ...] = ("overlay",)
"""Values of ``--network-plugin-mode``."""
POD_IP_ALLOCATIONS: tuple[str, ...] = (NODE_SUBNET, DYNAMIC, STATIC_BLOCK)
"""Values of ``--pod-ip-allocation``."""

MODE_LABELS: Mapping[str, str] = MappingProxyType({
    KUBENET: "kubenet",
    OVERLAY: "Azure CNI Overlay",
    NODE_SUBNET: "Azure CNI (node subnet, legacy)",
    DYNAMIC: "Azure CNI pod subnet, dynamic IP allocation",
    STATIC_BLOCK: "Azure CNI pod subnet, static block allocation",
})
"""Human names of the IP modes."""

# --------------------------------------------------------------------------- cluster limits

MAX_NODES_PER_CLUSTER = 5000
"""Nodes per cluster with VMSS + Standard LB (quotas-skus-regions.md; older docs: 1,000)."""
MAX_NODES_PER_POOL = 1000
"""Nodes per node pool (quotas-skus-regions.md)."""
MAX_NODE_POOLS = 100
"""Node pools per cluster (quotas-skus-regions.md)."""
MAX_CLUSTERS_PER_SUBSCRIPTION = 5000
"""Clusters per subscription (quotas-skus-regions.md)."""
MAX_LB_SERVICES_PER_CLUSTER = 300
"""LoadBalancer-backed services per cluster with Standard LB (quotas-skus-regions.md)."""
OVERLAY_MAX_NODES = 5000
"""Azure CNI Overlay: maximum nodes per cluster (concepts-network-azure-cni-overlay.md)."""
OVERLAY_MAX_PODS_PER_CLUSTER = 200_000
"""Pods per cluster with Overlay (best-practices-performance-scale-large.md)."""
DYNAMIC_MAX_PODS_PER_CLUSTER = 50_000
"""Pods per cluster, dynamic pod subnet routable IPs (best-practices-performance-scale-large.md)."""
STATIC_BLOCK_MAX_PODS_PER_CLUSTER = 1_000_000
"""Static block allocation raises the cluster limit to 1 million pods (pod-subnet concepts)."""
KUBENET_MAX_ROUTES = 400
"""Azure UDR route table maximum, one route per kubenet node (configure-kubenet.md)."""
KUBENET_MAX_NODES = KUBENET_MAX_ROUTES
"""No kubenet cluster above 400 nodes (configure-kubenet.md, azure-cni-overlay concepts)."""
KUBENET_RETIREMENT = date(2028, 3, 31)
"""Kubenet retires 31 Mar 2028 (includes/kubenet-retirement.md; Azure/AKS#4859)."""
AZURE_NPM_MAX_NODES = 250
"""Azure NPM supports only 250 nodes (best-practices-performance-scale-large.md)."""
LB_MAX_BACKEND_IP_CONFIGS_PER_FRONTEND = 10_000
"""Standard LB backend IP configs per frontend (best-practices-performance-scale-large.md)."""
ILB_RECOMMENDED_MAX_NODES = 750
"""Keep internal-LB services below 750 nodes (best-practices-performance-scale-large.md)."""
VNET_MAX_PRIVATE_IPS = 65_536
"""Configured private IPs per VNet (concepts-network-ip-address-planning.md)."""
VNET_LARGEST_PREFIX_LEN = 8
"""A VNet's address space is at most a /8 (concepts-network-ip-address-planning.md)."""
SUBNET_SMALLEST_PREFIX_LEN = 29
"""The smallest Azure IPv4 subnet is a /29 (Azure VNet FAQ)."""
SUBNET_LARGEST_PREFIX_LEN = 2
"""The largest Azure IPv4 subnet is a /2 (Azure VNet FAQ)."""
STATIC_BLOCK_LARGEST_SUBNET_PREFIX_LEN = 12
"""Static block allocation supports pod subnets up to a /12 (pod-subnet concepts, Limitations)."""
SERVICE_CIDR_PREFIX_LEN_MUST_EXCEED = 12
"""The service CIDR must be smaller than a /12, i.e. prefix length > 12 (configure-azure-cni.md)."""

# --------------------------------------------------------------------------- max pods

MAX_PODS_PER_NODE = 250
"""Absolute maximum pods per node, every plugin (concepts-network-ip-address-planning.md)."""
MIN_PODS_PER_NODE = 10
"""Minimum max-pods, allowed only if each pool has room for 30 pods (configure-azure-cni.md)."""
MIN_PODS_PER_POOL = 30
"""Each node pool must have room for at least 30 pods (configure-azure-cni.md)."""
KUBENET_MAX_PODS = 250
"""Kubenet's configurable maximum in the current docs (concepts-network-ip-address-planning.md:
every plugin, kubenet included, is configurable up to 250)."""
KUBENET_MAX_PODS_2020 = 110
"""Kubenet's configurable maximum in configure-kubenet.md (2020): the revision
``configure-kubenet-2020``."""
OVERLAY_WINDOWS_RECOMMENDED_MAX_PODS = 110
"""Overlay: 110 pods per node recommended on Windows (concepts-network-azure-cni-overlay.md)."""

DEFAULT_MAX_PODS: Mapping[str, int] = MappingProxyType({
    OVERLAY: 250,
    DYNAMIC: 110,
    STATIC_BLOCK: 110,
    NODE_SUBNET: 30,
    KUBENET: 110,
})
"""Model defaults (concepts-network-ip-address-planning.md "Pod subnet 110" for both pod-subnet
modes; configure-azure-cni-dynamic-ip-allocation.md says 250 for dynamic: see REVISIONS)."""
DYNAMIC_DEFAULT_MAX_PODS_ALT = 250
"""The dynamic pod subnet default in configure-azure-cni-dynamic-ip-allocation.md."""


@dataclass(frozen=True)
class DeploymentMethodDefaults:
    """Default max-pods by deployment method, as tabled in configure-azure-cni.md (2019)."""

    method: str
    kubenet: int
    azure_cni: int
    configurable: bool
    configurable_up_to: int | None


MAX_PODS_BY_DEPLOYMENT_METHOD: tuple[DeploymentMethodDefaults, ...] = (
    DeploymentMethodDefaults("Azure CLI", 110, 30, True, MAX_PODS_PER_NODE),
    DeploymentMethodDefaults("Resource Manager template", 110, 30, True, MAX_PODS_PER_NODE),
    DeploymentMethodDefaults("Portal", 110, 110, False, None),
)
"""configure-azure-cni.md (ms.date 06/03/2019) "Maximum pods per node" table."""

# --------------------------------------------------------------------------- pod address ranges

DEFAULT_POD_CIDR = "10.244.0.0/16"
"""``--pod-cidr`` default for kubenet and Overlay (configure-kubenet.md, azure-cni-overlay.md)."""
DEFAULT_SERVICE_CIDR = "10.0.0.0/16"
"""``--service-cidr`` default (configure-kubenet.md)."""
DEFAULT_DNS_SERVICE_IP = "10.0.0.10"
"""``--dns-service-ip`` default, the .10 of the service range (configure-kubenet.md)."""
DNS_SERVICE_IP_OFFSET = 10
"""The DNS service IP is the .10 address of the service range (configure-kubenet.md)."""
KUBERNETES_SERVICE_IP_OFFSET = 1
"""The first service IP is ``kubernetes.default`` (configure-azure-cni.md)."""
NODE_POD_PREFIX_LEN = 24
"""kubenet and Overlay give each node a /24 of the pod CIDR (configure-kubenet.md,
concepts-network-azure-cni-overlay.md); Overlay's cannot be resized."""
NODE_POD_IPS = 2 ** (32 - NODE_POD_PREFIX_LEN)
"""256 addresses per node range (concepts-network-ip-address-planning.md)."""
DYNAMIC_BATCH_IPS = 16
"""Dynamic pod subnet: IPs go to nodes in batches of 16 (pod-subnet concepts)."""
DYNAMIC_REFILL_BELOW = 8
"""Dynamic pod subnet: a node asks for another batch when fewer than 8 are unallocated."""
DYNAMIC_MIN_IPS_PER_NODE = DYNAMIC_BATCH_IPS
"""Plan for at least 16 pod-subnet IPs per node (pod-subnet concepts)."""
STATIC_BLOCK_PREFIX_LEN = 28
"""Static block allocation hands out /28 blocks (pod-subnet concepts)."""
STATIC_BLOCK_IPS = 2 ** (32 - STATIC_BLOCK_PREFIX_LEN)
"""16 addresses per static block."""
STATIC_BLOCK_RESERVED_PER_NODE = 1
"""One IP of a node's blocks is reserved (the node's primary IP) (pod-subnet concepts)."""

# --------------------------------------------------------------------------- upgrade surge

MAX_SURGE_DEFAULT = 1
"""Default max surge: 1 node (upgrade-aks-node-pools-rolling.md, resize-node-pool.md)."""
MAX_SURGE_RECOMMENDED = "33%"
"""Max surge recommended for production (upgrade-aks-node-pools-rolling.md)."""
MAX_SURGE_DEFAULT_LARGE_DOC = "10%"
"""best-practices-performance-scale-large.md says the default is 10% (conflict)."""

# --------------------------------------------------------------------------- SNAT / load balancer

SNAT_PORTS_PER_FRONTEND_IP = 64_000
"""SNAT ports per frontend (public) IP (load-balancer-outbound-connections)."""
SNAT_MAX_DEFAULT_PORTS_PER_INSTANCE = 1024
"""Default allocation caps at 1,024 ports per instance (load-balancer-outbound-connections)."""
SNAT_PORT_RANGE = 8
"""Ports are consumed in ranges of 8; allocated ports must be a multiple of 8."""
SNAT_DEFAULT_TIERS: tuple[tuple[int, int, int], ...] = (
    (1, 50, 1024),
    (51, 100, 512),
    (101, 200, 256),
    (201, 400, 128),
    (401, 800, 64),
    (801, 1000, 32),
)
"""(pool min, pool max, ports per instance) per frontend IP (load-balancer-outbound-connections
#preallocatedports)."""
SNAT_RELEASE_AFTER_TCP_RST_S = 15
"""A SNAT port is released 15 s after a TCP RST (load-balancer-outbound-connections)."""
SNAT_RELEASE_AFTER_FINACK_S = 240
"""A SNAT port is released 240 s after FIN/ACK (load-balancer-outbound-connections)."""
SNAT_IDLE_RELEASE_MINUTES = (4, 120)
"""Idle SNAT ports are released after the idle timeout, 4..120 min (Constraints)."""
AKS_ALLOCATED_OUTBOUND_PORTS = (0, 64_000)
"""ManagedClusterLoadBalancerProfile.allocatedOutboundPorts range; 0 = default table."""
AKS_ALLOCATED_OUTBOUND_PORTS_DEFAULT = 0
"""Default allocatedOutboundPorts: 0, Azure allocates from the default table."""
AKS_OUTBOUND_IDLE_TIMEOUT_MINUTES = (4, 120)
"""ManagedClusterLoadBalancerProfile.idleTimeoutInMinutes range."""
AKS_OUTBOUND_IDLE_TIMEOUT_DEFAULT_MINUTES = 30
"""AKS outbound rule idle timeout default (configure-load-balancer-standard.md)."""
LB_IDLE_TIMEOUT_DEFAULT_MINUTES = 4
"""Standard LB idle timeout outside AKS (configure-load-balancer-standard.md)."""
SERVICE_TCP_IDLE_TIMEOUT_MINUTES = (4, 30)
"""``azure-load-balancer-tcp-idle-timeout`` annotation: default and minimum 4, maximum 30."""
NAT_GATEWAY_SNAT_PORTS_PER_IP = 64_512
"""NAT Gateway SNAT ports per public IP, for contrast (nat-gateway-resource)."""

# --------------------------------------------------------------------------- subnet reservation

RESERVED_ROLES: tuple[tuple[int, str], ...] = (
    (0, "network address"),
    (1, "default gateway"),
    (2, "Azure DNS mapping"),
    (3, "Azure DNS mapping"),
    (-1, "network broadcast address"),
)
"""Azure's reserved addresses by offset (-1 = last) and role, in the VNet FAQ's words."""


# --------------------------------------------------------------------------- doc revisions


@dataclass(frozen=True)
class DocRevision:
    """One reading of the docs where they disagree; :data:`MODEL` is the one the model follows.

    Attributes:
        name: Short key of the revision (a key of :data:`REVISIONS`).
        source: Doc path (and revision) the values come from.
        note: What differs from the model.
        default_max_pods: Default max-pods by IP mode.
        kubenet_max_pods: Kubenet's configurable maximum pods per node.
        reserved_per_subnet: Addresses Azure reserves in every subnet.
        snat_frontend_cap: Cap of the per-instance default SNAT allocation when several
            frontend IPs multiply it; ``None`` means no cap.
        default_max_surge: Default max surge (node count or percentage string).
        max_nodes_per_cluster: Nodes per cluster.
    """

    name: str
    source: str
    note: str
    default_max_pods: Mapping[str, int] = field(default_factory=lambda: DEFAULT_MAX_PODS,
                                                 hash=False)
    kubenet_max_pods: int = KUBENET_MAX_PODS
    reserved_per_subnet: int = AZURE_RESERVED_PER_SUBNET
    snat_frontend_cap: int | None = SNAT_MAX_DEFAULT_PORTS_PER_INSTANCE
    default_max_surge: int | str = MAX_SURGE_DEFAULT
    max_nodes_per_cluster: int = MAX_NODES_PER_CLUSTER


MODEL = DocRevision(
    name="model",
    source=f"{SRC_IP_PLANNING} defaults and kubenet max 250; {SRC_LB_OUTBOUND}",
    note="The revision the model follows.",
)


def _with_defaults(**changes: int) -> Mapping[str, int]:
    return MappingProxyType({**DEFAULT_MAX_PODS, **changes})


REVISIONS: Mapping[str, DocRevision] = MappingProxyType({
    r.name: r
    for r in (
        MODEL,
        replace(
            MODEL,
            name="configure-azure-cni-2019",
            source=f"{SRC_CONFIGURE_CNI} (ms.date 06/03/2019)",
            note="Table 'Maximum pods per node': kubenet configurable only up to 110 "
            "(current docs: 250).",
            kubenet_max_pods=KUBENET_MAX_PODS_2020,
        ),
        replace(
            MODEL,
            name="configure-kubenet-2020",
            source=f"{SRC_KUBENET} (2020)",
            note="Kubenet max-pods configurable only up to 110 (current docs: 250).",
            kubenet_max_pods=KUBENET_MAX_PODS_2020,
        ),
        replace(
            MODEL,
            name="ip-address-planning-2024-05",
            source=f"{SRC_IP_PLANNING} (ms.date 05/13/2024)",
            note="Lists kubenet default 30 and Azure CNI (legacy) 110, the reverse of every "
            "other revision, and kubenet configurable up to 250.",
            default_max_pods=_with_defaults(**{KUBENET: 30, NODE_SUBNET: 110}),
            kubenet_max_pods=KUBENET_MAX_PODS,
        ),
        replace(
            MODEL,
            name="dynamic-ip-allocation",
            source=SRC_DYNAMIC,
            note="Lists the dynamic pod subnet with a default max-pods of 250.",
            default_max_pods=_with_defaults(**{DYNAMIC: DYNAMIC_DEFAULT_MAX_PODS_ALT}),
        ),
        replace(
            MODEL,
            name="lb-outbound-multiple-frontends-old",
            source=f"{SRC_LB_OUTBOUND} (older revision)",
            note="Several frontend IPs multiply the default SNAT allocation without a cap "
            "(50 VMs x 2 frontends = 2,048 ports per IP configuration).",
            snat_frontend_cap=None,
        ),
        replace(
            MODEL,
            name="configure-kubenet-three-reserved",
            source=SRC_KUBENET,
            note="Text says a subnet reserves 'the first three IP addresses' (yet uses 251).",
            reserved_per_subnet=3,
        ),
        replace(
            MODEL,
            name="best-practices-large-max-surge",
            source=SRC_LARGE,
            note="Says the default max surge is 10%.",
            default_max_surge=MAX_SURGE_DEFAULT_LARGE_DOC,
        ),
        replace(
            MODEL,
            name="quotas-older-default",
            source=f"{SRC_QUOTAS} (older revision)",
            note="Older docs list a default quota of 1,000 nodes per cluster.",
            max_nodes_per_cluster=1000,
        ),
    )
})
"""The model's revision and every conflicting revision it knows, by name."""


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class InputProblem:
    """One bad input: which parameter, what was found, what was expected.

    Attributes:
        field: Parameter name, e.g. ``max_pods`` (the CLI maps it to ``--max-pods``).
        found: The offending value, as text.
        expected: What would have been accepted.
    """

    field: str
    found: str
    expected: str

    def message(self) -> str:
        """Return ``field: found X, expected Y``."""
        return f"{self.field}: found {self.found}, expected {self.expected}"


class SizingError(SimError, ValueError):
    """Inputs the sizing cannot accept; ``problems`` lists every one found."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message() for p in self.problems))


def _raise_if(problems: list[InputProblem]) -> None:
    if problems:
        raise SizingError(problems)


# --------------------------------------------------------------------------- IP mode


def ip_mode(
    network_plugin: str,
    network_plugin_mode: str | None = None,
    pod_ip_allocation: str | None = None,
) -> str:
    """The IP mode selected by AKS's three networking flags.

    Args:
        network_plugin: ``kubenet`` or ``azure``.
        network_plugin_mode: ``overlay`` or ``None`` (Azure CNI only).
        pod_ip_allocation: ``node-subnet``, ``dynamic`` or ``static-block`` or ``None``
            (Azure CNI without Overlay only; ``None`` means ``node-subnet``).

    Returns:
        One of :data:`IP_MODES`.

    Raises:
        SizingError: An unknown value or an incompatible combination.
    """
    _raise_if(_plugin_problems(network_plugin, network_plugin_mode, pod_ip_allocation))
    if network_plugin == "kubenet":
        return KUBENET
    if network_plugin_mode == "overlay":
        return OVERLAY
    return pod_ip_allocation or NODE_SUBNET


def _plugin_problems(
    plugin: str, mode: str | None, allocation: str | None
) -> list[InputProblem]:
    if plugin not in NETWORK_PLUGINS:
        return [InputProblem("network_plugin", repr(plugin), "one of kubenet, azure")]
    problems: list[InputProblem] = []
    if mode is not None and mode not in NETWORK_PLUGIN_MODES:
        problems.append(InputProblem("network_plugin_mode", repr(mode), "overlay or nothing"))
    elif mode is not None and plugin == "kubenet":
        problems.append(InputProblem(
            "network_plugin_mode", f"{mode!r} with --network-plugin kubenet",
            "no --network-plugin-mode with kubenet (Overlay needs --network-plugin azure)"))
    if allocation is not None and allocation not in POD_IP_ALLOCATIONS:
        problems.append(InputProblem(
            "pod_ip_allocation", repr(allocation), "one of " + ", ".join(POD_IP_ALLOCATIONS)))
    elif allocation is not None and plugin == "kubenet":
        problems.append(InputProblem(
            "pod_ip_allocation", f"{allocation!r} with --network-plugin kubenet",
            "no --pod-ip-allocation with kubenet (pods take IPs from --pod-cidr)"))
    elif allocation is not None and mode == "overlay":
        problems.append(InputProblem(
            "pod_ip_allocation", f"{allocation!r} with --network-plugin-mode overlay",
            "no --pod-ip-allocation with Overlay (pods take IPs from --pod-cidr)"))
    return problems


_MODE_WORDS: tuple[tuple[str, str], ...] = (
    ("static", STATIC_BLOCK),
    ("block", STATIC_BLOCK),
    ("overlay", OVERLAY),
    ("kubenet", KUBENET),
    ("dynamic", DYNAMIC),
    ("podsubnet", DYNAMIC),
    ("legacy", NODE_SUBNET),
    ("nodesubnet", NODE_SUBNET),
    ("azure", NODE_SUBNET),
    ("cni", NODE_SUBNET),
)


def ip_mode_from_name(name: str) -> str:
    """The IP mode a free-form plugin label names.

    Understands the labels of the docs and of scenario files, e.g. ``kubenet``,
    ``azure-cni`` / ``Azure CNI (Legacy)`` (node subnet), ``azure-cni-overlay`` /
    ``Azure CNI Overlay``, ``Azure CNI Podsubnet`` / ``dynamic``, ``static-block``.

    Args:
        name: The label.

    Returns:
        One of :data:`IP_MODES`.

    Raises:
        ValueError: The label names no known mode.
    """
    squashed = re.sub(r"[^a-z]", "", name.lower())
    for word, mode in _MODE_WORDS:
        if word in squashed:
            return mode
    raise ValueError(f"{name!r} names no IP mode (expected one like {', '.join(IP_MODES)})")


# --------------------------------------------------------------------------- subnets


def subnet_total_addresses(prefix_len: int) -> int:
    """Addresses in an IPv4 prefix: ``2^(32-p)``."""
    return 2 ** (32 - prefix_len)


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
    return 2 ** (per_node_prefix_len - net.prefixlen)


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
    problems = validate_range(service_cidr, "service_cidr")
    if problems:
        return problems
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
    return max(0, 2 ** (STATIC_BLOCK_PREFIX_LEN - prefix_len) - 2)


def static_block_min_prefix_len(blocks: int) -> int:
    """Longest pod-subnet prefix holding *blocks* whole /28 blocks (see above).

    Raises:
        ValueError: Nothing up to a /2 holds that many.
    """
    for p in range(STATIC_BLOCK_PREFIX_LEN, SUBNET_LARGEST_PREFIX_LEN - 1, -1):
        if static_block_subnet_capacity(p) >= blocks:
            return p
    raise ValueError(f"{blocks} /28 blocks do not fit in any IPv4 subnet")


# --------------------------------------------------------------------------- max pods


def default_max_pods(mode: str, *, revision: DocRevision = MODEL) -> int:
    """Default max-pods of an IP mode (concepts-network-ip-address-planning.md).

    Args:
        mode: IP mode or plugin label.
        revision: Doc revision (see :data:`REVISIONS`).
    """
    return revision.default_max_pods[ip_mode_from_name(mode)]


def max_pods_limits(mode: str, *, revision: DocRevision = MODEL) -> tuple[int, int]:
    """``(min, max)`` configurable max-pods of an IP mode.

    Every mode: 10..250 (configure-azure-cni.md); kubenet's maximum is a revision setting
    (250 in the current concepts-network-ip-address-planning.md, which the model follows; 110
    in configure-kubenet.md of 2020, revision ``configure-kubenet-2020``).
    """
    if ip_mode_from_name(mode) == KUBENET:
        return MIN_PODS_PER_NODE, revision.kubenet_max_pods
    return MIN_PODS_PER_NODE, MAX_PODS_PER_NODE


def min_nodes_per_pool(max_pods: int) -> int:
    """Nodes a pool needs for room for 30 pods: ``ceil(30 / maxPods)`` (configure-azure-cni.md)."""
    return math.ceil(MIN_PODS_PER_POOL / max_pods)


def validate_max_pods(
    max_pods: int,
    mode: str,
    pool_nodes: int | None = None,
    *,
    revision: DocRevision = MODEL,
) -> list[InputProblem]:
    """Problems of a max-pods setting: outside the mode's range, or the 30-pods-per-pool rule.

    Args:
        max_pods: Max pods per node.
        mode: IP mode or plugin label.
        pool_nodes: Nodes of the pool (its minimum count), or ``None`` to skip the pool rule.
        revision: Doc revision for kubenet's maximum.

    Returns:
        Every problem found (empty when valid).
    """
    low, high = max_pods_limits(mode, revision=revision)
    label = MODE_LABELS[ip_mode_from_name(mode)]
    if isinstance(max_pods, bool) or not isinstance(max_pods, int) or not low <= max_pods <= high:
        return [InputProblem("max_pods", repr(max_pods), f"{low} to {high} for {label}")]
    if (pool_nodes is not None and max_pods < MIN_PODS_PER_POOL
            and max_pods * pool_nodes < MIN_PODS_PER_POOL):
        need = min_nodes_per_pool(max_pods)
        return [InputProblem(
            "max_pods", f"{max_pods} with {pool_nodes} node(s) ({max_pods * pool_nodes} pods)",
            f"room for {MIN_PODS_PER_POOL} pods per pool: at least {need} nodes, or max pods "
            f">= {math.ceil(MIN_PODS_PER_POOL / max(pool_nodes, 1))}")]
    return []


def max_pods_by_deployment_method(method: str) -> DeploymentMethodDefaults:
    """Default max-pods of a deployment method (configure-azure-cni.md, 2019 table).

    Raises:
        KeyError: Unknown method.
    """
    wanted = method.strip().lower()
    for row in MAX_PODS_BY_DEPLOYMENT_METHOD:
        if row.method.lower() == wanted:
            return row
    raise KeyError(method)


# --------------------------------------------------------------------------- surge


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def default_max_surge(*, revision: DocRevision = MODEL) -> int | str:
    """Default max surge: 1 node in the model (upgrade-aks-node-pools-rolling.md)."""
    return revision.default_max_surge


def surge_problems(max_surge: int | str) -> list[InputProblem]:
    """Problems of a max surge: not a count >= 0 nor a percentage from 0% to 100%."""
    if isinstance(max_surge, bool):
        return [InputProblem("max_surge", repr(max_surge), "a node count or a percentage")]
    if isinstance(max_surge, int):
        ok = max_surge >= 0
    else:
        text = str(max_surge).strip()
        match = _PERCENT.match(text)
        ok = text.isdigit() or (match is not None and float(match.group(1)) <= 100)
    if ok:
        return []
    return [InputProblem("max_surge", repr(max_surge),
                         "a node count >= 0 (e.g. 1) or a percentage from 0% to 100% (e.g. 33%)")]


def surge_nodes(max_surge: int | str, pool_nodes: int) -> int:
    """Surge nodes an upgrade adds: a count as is, a percentage of the pool rounded up.

    Source: upgrade-aks-node-pools-rolling.md (max surge is a node count or a percentage of
    the pool; AKS rounds a percentage up to whole nodes).

    Raises:
        SizingError: *max_surge* is malformed.
    """
    _raise_if(surge_problems(max_surge))
    if isinstance(max_surge, int):
        return max_surge
    text = str(max_surge).strip()
    if text.isdigit():
        return int(text)
    match = _PERCENT.match(text)
    assert match is not None  # checked by surge_problems
    return math.ceil(Fraction(match.group(1)) * pool_nodes / 100)


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
    _raise_if(validate_allocated_outbound_ports(allocated_outbound_ports))
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
        _raise_if([InputProblem("ports_per_node", "0", "an explicit allocation >= 8")])
    _raise_if(validate_allocated_outbound_ports(ports_per_node))
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
    _raise_if(surge_problems(max_surge))
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


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class BindingLimit:
    """A published limit the plan reaches (``at limit``) or goes past (``exceeded``).

    Attributes:
        name: What is limited.
        limit: The published limit.
        value: The plan's value.
        source: Doc path of the limit.
        status: ``at limit`` or ``exceeded``.
    """

    name: str
    limit: int
    value: int
    source: str
    status: str


def _limit(name: str, limit: int, value: int, source: str) -> list[BindingLimit]:
    if value < limit:
        return []
    return [BindingLimit(name, limit, value, source, "exceeded" if value > limit else "at limit")]


@dataclass(frozen=True)
class Plan:
    """How big the node subnet (and pod subnet or pod CIDR) must be, and what binds.

    Attributes:
        network_plugin: ``kubenet`` or ``azure``.
        network_plugin_mode: ``overlay`` or ``None``.
        pod_ip_allocation: The pod IP allocation flag, or ``None``.
        mode: The IP mode (one of :data:`IP_MODES`).
        nodes: Nodes of the pool.
        max_count: Autoscaler maximum, or ``None``.
        max_pods: Max pods per node (given or the mode's default).
        max_pods_defaulted: Whether *max_pods* is the default.
        max_surge: Max surge as given.
        pool_nodes: ``max(nodes, max_count)``.
        surge_nodes: Surge nodes an upgrade adds.
        nodes_to_fit: ``pool_nodes + surge_nodes``: nodes present at once at worst.
        required_ips: Node-subnet IPs.
        min_prefix_len: Longest node-subnet prefix holding them (``None``: no IPv4 subnet does).
        pod_subnet_required_ips: Pod-subnet IPs (pod subnet modes).
        pod_subnet_min_prefix_len: Longest pod-subnet prefix holding them.
        pod_subnet_floor_ips: Dynamic: the doc's floor of 16 IPs per node.
        static_blocks_per_node: Static block: /28 blocks per node.
        static_wasted_ips_per_node: Static block: IPs per node no pod can use.
        pod_cidr_min_prefix_len: kubenet/Overlay: longest ``--pod-cidr`` holding a /24 per node.
        max_pods_total: ``pool_nodes * max_pods``, the pod capacity of the pool.
        snat_ports_per_node: Default SNAT ports per node (1 outbound IP, pool of
            *nodes_to_fit*), ``None`` past the table's 1,000 instances.
        binding_limits: Limits reached or exceeded.
        warnings: Things to know.
    """

    network_plugin: str
    network_plugin_mode: str | None
    pod_ip_allocation: str | None
    mode: str
    nodes: int
    max_count: int | None
    max_pods: int
    max_pods_defaulted: bool
    max_surge: int | str
    pool_nodes: int
    surge_nodes: int
    nodes_to_fit: int
    required_ips: int
    min_prefix_len: int | None
    pod_subnet_required_ips: int | None
    pod_subnet_min_prefix_len: int | None
    pod_subnet_floor_ips: int | None
    static_blocks_per_node: int | None
    static_wasted_ips_per_node: int | None
    pod_cidr_min_prefix_len: int | None
    max_pods_total: int
    snat_ports_per_node: int | None
    binding_limits: tuple[BindingLimit, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``binding_limits`` become dicts, tuples lists."""
        out = asdict(self)
        out["binding_limits"] = [asdict(b) for b in self.binding_limits]
        out["warnings"] = list(self.warnings)
        out["mode_label"] = MODE_LABELS[self.mode]
        return out


def _count_problems(nodes: int, max_count: int | None) -> list[InputProblem]:
    problems: list[InputProblem] = []
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 0:
        problems.append(InputProblem("nodes", repr(nodes), "a node count >= 0"))
    if max_count is None:
        return problems
    if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 0:
        problems.append(InputProblem("max_count", repr(max_count), "a node count >= 0"))
    elif not problems and max_count < nodes:
        problems.append(InputProblem("max_count", str(max_count),
                                     f"at least --nodes ({nodes})"))
    return problems


def _min_prefix_or_none(required: int) -> int | None:
    try:
        return min_prefix_len(required)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Counts:
    mode: str
    max_pods: int
    pool_nodes: int
    surge: int

    @property
    def total(self) -> int:
        return self.pool_nodes + self.surge


def _pod_subnet_fields(c: _Counts) -> dict[str, int | None]:
    fields: dict[str, int | None] = dict.fromkeys((
        "pod_subnet_required_ips", "pod_subnet_min_prefix_len", "pod_subnet_floor_ips",
        "static_blocks_per_node", "static_wasted_ips_per_node", "pod_cidr_min_prefix_len"))
    if c.mode in (KUBENET, OVERLAY):
        fields["pod_cidr_min_prefix_len"] = pod_cidr_min_prefix_len(max(c.total, 1))
    elif c.mode == DYNAMIC:
        need = c.total * dynamic_pod_ips_per_node(c.max_pods)
        fields["pod_subnet_required_ips"] = need
        fields["pod_subnet_min_prefix_len"] = _min_prefix_or_none(need)
        fields["pod_subnet_floor_ips"] = c.total * DYNAMIC_MIN_IPS_PER_NODE
    elif c.mode == STATIC_BLOCK:
        blocks = static_blocks_per_node(c.max_pods)
        fields["static_blocks_per_node"] = blocks
        fields["static_wasted_ips_per_node"] = static_block_wasted_ips(c.max_pods)
        fields["pod_subnet_required_ips"] = c.total * blocks * STATIC_BLOCK_IPS
        try:
            fields["pod_subnet_min_prefix_len"] = static_block_min_prefix_len(c.total * blocks)
        except ValueError:
            fields["pod_subnet_min_prefix_len"] = None
    return fields


_POD_CLUSTER_LIMITS: Mapping[str, tuple[int, str]] = MappingProxyType({
    OVERLAY: (OVERLAY_MAX_PODS_PER_CLUSTER, SRC_LARGE),
    DYNAMIC: (DYNAMIC_MAX_PODS_PER_CLUSTER, SRC_LARGE),
    STATIC_BLOCK: (STATIC_BLOCK_MAX_PODS_PER_CLUSTER, SRC_POD_SUBNET),
})


def _vnet_ips(c: _Counts, required: int, pod_fields: Mapping[str, int | None]) -> int:
    if c.mode == STATIC_BLOCK:  # a block counts as one private IP (PodIPAllocationMode docs)
        return required + c.total * (pod_fields["static_blocks_per_node"] or 0)
    return required + (pod_fields["pod_subnet_required_ips"] or 0)


def _binding_limits(
    c: _Counts, required: int, pod_fields: Mapping[str, int | None],
    network_policy: str | None, revision: DocRevision,
) -> tuple[BindingLimit, ...]:
    low_high = max_pods_limits(c.mode, revision=revision)
    out = _limit("max pods per node", low_high[1], c.max_pods,
                 SRC_KUBENET if c.mode == KUBENET else SRC_IP_PLANNING)
    out += _limit("nodes per node pool", MAX_NODES_PER_POOL, c.pool_nodes, SRC_QUOTAS)
    out += _limit("nodes per cluster", revision.max_nodes_per_cluster, c.pool_nodes,
                  SRC_OVERLAY if c.mode == OVERLAY else SRC_QUOTAS)
    if c.mode == KUBENET:
        out += _limit("kubenet UDR routes (one per node, surge included)", KUBENET_MAX_ROUTES,
                      c.total, SRC_KUBENET)
    if c.mode in (KUBENET, OVERLAY):
        out += _limit(f"/24 node ranges in the default --pod-cidr {DEFAULT_POD_CIDR}",
                      pod_cidr_node_capacity(DEFAULT_POD_CIDR), c.total, SRC_KUBENET)
    if c.mode in _POD_CLUSTER_LIMITS:
        limit, source = _POD_CLUSTER_LIMITS[c.mode]
        out += _limit("pods per cluster (nodes x max pods)", limit,
                      c.pool_nodes * c.max_pods, source)
    if network_policy == "azure":
        out += _limit("Azure NPM nodes", AZURE_NPM_MAX_NODES, c.pool_nodes, SRC_LARGE)
    out += _limit("VNet configured private IPs", VNET_MAX_PRIVATE_IPS,
                  _vnet_ips(c, required, pod_fields), SRC_IP_PLANNING)
    pod_prefix = pod_fields["pod_subnet_min_prefix_len"]
    if c.mode == STATIC_BLOCK and pod_prefix is not None:
        # a shorter prefix is a bigger subnet: compare sizes, /12 being the largest allowed
        out += _limit("static block pod subnet size (largest /12)",
                      subnet_total_addresses(STATIC_BLOCK_LARGEST_SUBNET_PREFIX_LEN),
                      subnet_total_addresses(pod_prefix), SRC_POD_SUBNET)
    return tuple(out)


def _surge_warning(max_surge: int | str, c: _Counts) -> str:
    how = f"max surge {max_surge}"
    if isinstance(max_surge, str) and max_surge.strip().endswith("%"):
        how += f" of {c.pool_nodes} nodes, rounded up"
    return (f"upgrade surge counted: {c.surge} extra node(s) ({how}); nodes to fit "
            f"{c.total} (default max surge is {MAX_SURGE_DEFAULT} node, {MAX_SURGE_RECOMMENDED} "
            f"recommended for production; {SRC_UPGRADE})")


def _mode_warnings(c: _Counts, pod_fields: Mapping[str, int | None]) -> list[str]:
    out: list[str] = []
    if c.mode == KUBENET:
        out.append(f"kubenet retires on {KUBENET_RETIREMENT:%d %b %Y}; plan a move to Azure "
                   f"CNI Overlay ({SRC_KUBENET_RETIREMENT})")
        if c.total > KUBENET_MAX_NODES:
            out.append(f"{c.total} nodes (surge included) is above kubenet's "
                       f"{KUBENET_MAX_NODES}-node maximum (400-route UDR table; {SRC_KUBENET})")
    if c.mode == OVERLAY:
        out.append(f"each node takes a fixed /24 of --pod-cidr, which cannot be resized later "
                   f"({SRC_OVERLAY})")
    if c.mode == DYNAMIC:
        out.append(f"pod subnet sized for the worst case: every node full to {c.max_pods} pods, "
                   f"rounded up to batches of {DYNAMIC_BATCH_IPS}; the documented floor is "
                   f"{DYNAMIC_MIN_IPS_PER_NODE} IPs per node = "
                   f"{pod_fields['pod_subnet_floor_ips']} "
                   f"({SRC_POD_SUBNET})")
    if c.mode == STATIC_BLOCK and pod_fields["static_wasted_ips_per_node"]:
        blocks = pod_fields["static_blocks_per_node"] or 0
        out.append(f"max pods {c.max_pods} wastes {pod_fields['static_wasted_ips_per_node']} "
                   f"block IP(s) per node; {static_block_ideal_max_pods(blocks)} uses "
                   f"{blocks} block(s) fully (max_pods = 16N - 1; {SRC_POD_SUBNET})")
    return out


def _scale_warnings(c: _Counts, nodes: int, max_count: int | None,
                    network_policy: str | None) -> list[str]:
    out: list[str] = []
    if max_count is not None and max_count > nodes:
        out.append(f"scale-out headroom counted: sized for --max-count {max_count}, "
                   f"not --nodes {nodes}")
    if network_policy is None and c.pool_nodes > AZURE_NPM_MAX_NODES:
        out.append(f"{c.pool_nodes} nodes: Azure NPM supports only {AZURE_NPM_MAX_NODES}; use "
                   f"Cilium or Calico for network policy ({SRC_LARGE})")
    if c.total > SNAT_DEFAULT_TIERS[-1][1]:
        out.append(f"{c.total} nodes: the default SNAT table stops at 1,000 instances; set "
                   f"allocatedOutboundPorts and enough outbound IPs ({SRC_LB_STANDARD})")
    elif c.total > SNAT_DEFAULT_TIERS[0][1]:
        out.append(f"{c.total} nodes get {snat_ports_per_instance(c.total)} default SNAT ports "
                   f"each, not 1,024 (one outbound IP; {SRC_LB_STANDARD})")
    return out


def plan(
    network_plugin: str,
    network_plugin_mode: str | None,
    pod_ip_allocation: str | None,
    nodes: int,
    max_pods: int | None = None,
    max_surge: int | str = MAX_SURGE_DEFAULT,
    max_count: int | None = None,
    *,
    network_policy: str | None = None,
    revision: DocRevision = MODEL,
) -> Plan:
    """Answer "how big must my node subnet (and pod subnet or pod CIDR) be".

    The node count that must fit is ``max(nodes, max_count) + surge``. Node subnet: kubenet,
    Overlay and the pod-subnet modes need one IP per node; Azure CNI node subnet needs
    :func:`azure_cni_required_ips`. Dynamic pod subnet: worst case, every node full, rounded
    up to batches of 16 (:func:`dynamic_pod_ips_per_node`). Static block: blocks x 16 per
    node. kubenet/Overlay: a /24 of the pod CIDR per node.

    Args:
        network_plugin: ``kubenet`` or ``azure``.
        network_plugin_mode: ``overlay`` or ``None``.
        pod_ip_allocation: ``node-subnet``, ``dynamic``, ``static-block`` or ``None``.
        nodes: Node count of the pool (autoscaler minimum).
        max_pods: Max pods per node, ``None`` for the mode's default.
        max_surge: Upgrade surge, a count or a percentage string such as ``"33%"``.
        max_count: Autoscaler maximum, or ``None``.
        network_policy: ``azure`` to check Azure NPM's node limit, else ``None``/other.
        revision: Doc revision for max-pods defaults and limits.

    Returns:
        The plan.

    Raises:
        SizingError: Bad input; every problem is listed.
    """
    problems = _plugin_problems(network_plugin, network_plugin_mode, pod_ip_allocation)
    problems += _count_problems(nodes, max_count)
    problems += surge_problems(max_surge)
    _raise_if(problems)
    mode = ip_mode(network_plugin, network_plugin_mode, pod_ip_allocation)
    pods = default_max_pods(mode, revision=revision) if max_pods is None else max_pods
    _raise_if(validate_max_pods(pods, mode, nodes, revision=revision))
    pool = max(nodes, max_count or 0)
    c = _Counts(mode, pods, pool, surge_nodes(max_surge, pool))
    if mode == NODE_SUBNET:
        required = azure_cni_required_ips(pool, pods, c.surge)
    else:
        required = node_subnet_required_ips(pool, c.surge)
    pod_fields = _pod_subnet_fields(c)
    warnings = [_surge_warning(max_surge, c)] if c.surge else []
    warnings += _mode_warnings(c, pod_fields) + _scale_warnings(c, nodes, max_count,
                                                               network_policy)
    prefix = _min_prefix_or_none(required)
    if prefix is None:
        warnings.append(f"{required} IPs fit in no IPv4 subnet (largest /2)")
    return Plan(
        network_plugin=network_plugin, network_plugin_mode=network_plugin_mode,
        pod_ip_allocation=pod_ip_allocation, mode=mode, nodes=nodes, max_count=max_count,
        max_pods=pods, max_pods_defaulted=max_pods is None, max_surge=max_surge,
        pool_nodes=pool, surge_nodes=c.surge, nodes_to_fit=c.total, required_ips=required,
        min_prefix_len=prefix, max_pods_total=pool * pods,
        snat_ports_per_node=(snat_ports_per_instance(c.total)
                             if 1 <= c.total <= SNAT_DEFAULT_TIERS[-1][1] else None),
        binding_limits=_binding_limits(c, required, pod_fields, network_policy, revision),
        warnings=tuple(warnings),
        **pod_fields,
    )
