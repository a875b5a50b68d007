"""AKS's published numbers, each with the document it was read from, and the input errors.

The bottom module of :mod:`sim.sizing`: constants (sources, IP modes, cluster limits, max pods,
pod address ranges, upgrade surge, SNAT and load balancer, subnet reservation) and the errors
of bad input (:class:`InputProblem`, :class:`SizingError`). It imports no sibling; every other
module of the package takes its numbers from here.

AKS doc paths are files of ``MicrosoftDocs/azure-aks-docs``, published at
``https://learn.microsoft.com/azure/aks/<file-stem>`` (see ``shared/AKS-NETWORKING.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

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
NODE_POD_IPS: int = 2 ** (32 - NODE_POD_PREFIX_LEN)
"""256 addresses per node range (concepts-network-ip-address-planning.md)."""
DYNAMIC_BATCH_IPS = 16
"""Dynamic pod subnet: IPs go to nodes in batches of 16 (pod-subnet concepts)."""
DYNAMIC_REFILL_BELOW = 8
"""Dynamic pod subnet: a node asks for another batch when fewer than 8 are unallocated."""
DYNAMIC_MIN_IPS_PER_NODE = DYNAMIC_BATCH_IPS
"""Plan for at least 16 pod-subnet IPs per node (pod-subnet concepts)."""
STATIC_BLOCK_PREFIX_LEN = 28
"""Static block allocation hands out /28 blocks (pod-subnet concepts)."""
STATIC_BLOCK_IPS: int = 2 ** (32 - STATIC_BLOCK_PREFIX_LEN)
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


def raise_if(problems: list[InputProblem]) -> None:
    """Raise :class:`SizingError` listing *problems*, if there are any."""
    if problems:
        raise SizingError(problems)
