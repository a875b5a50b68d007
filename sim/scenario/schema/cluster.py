"""``cluster:``: the AKS cluster (network profile, VNet and subnets, node pools, timings,
autoscaler, auto-repair, load balancer, kube-proxy), and the VMSS names its nodes get."""

from __future__ import annotations

import ipaddress
import zlib
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.scenario.schema.types import (
    INT32_MAX,
    MAX_ITEMS,
    Address,
    Cidr,
    Distribution,
    Duration,
    Fixed,
    Name,
    Period,
    SpecModel,
    Surge,
    Uniform,
    Version,
    VmSize,
    Zone,
)
from sim.scenario.units import MAX_DURATION
from sim.sizing import MAX_NODES_PER_POOL

# --- the names of a pool's VMSS nodes --------------------------------------------------

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def vmss_id(cluster: str, pool: str) -> str:
    """The 8-digit id in a pool's VMSS node names (stable per cluster and pool)."""
    return f"{zlib.crc32(f'{cluster}/{pool}'.encode()) % 10**8:08d}"


def node_name(cluster: str, pool: str, instance: int) -> str:
    """VMSS instance names: ``aks-<pool>-<id>-vmss<6 base-36 digits>``."""
    n, digits = instance, ""
    for _ in range(6):
        n, r = divmod(n, 36)
        digits = _BASE36[r] + digits
    return f"aks-{pool}-{vmss_id(cluster, pool)}-vmss{digits}"


# --- the cluster -----------------------------------------------------------------------

class SecurityRule(SpecModel):
    """An inbound NSG rule (lower priority numbers are evaluated first)."""

    name: Name
    priority: Annotated[int, Field(ge=100, le=4096)]
    access: Literal["Allow", "Deny"]
    source: str = "*"
    """A CIDR, ``*``, or a service tag: Internet, VirtualNetwork, AzureLoadBalancer."""
    destination_ports: list[Annotated[int, Field(ge=1, le=65535)]] | None = None
    """Ports the rule covers (default: any)."""
    protocol: Literal["*", "TCP", "UDP"] = "*"


class SubnetSpec(SpecModel):
    """An Azure subnet of the VNet."""

    name: Name
    address_prefix: Cidr
    """The subnet's CIDR; Azure keeps 5 of its addresses."""
    route_table: str | None = None
    """A user route table attached to the subnet (kubenet needs one per cluster)."""
    service_endpoints: list[str] = []
    """Service endpoints (e.g. Microsoft.Storage) enabled on the subnet."""
    security_rules: list[SecurityRule] = []
    """Inbound rules of the subnet's network security group, besides the default rules and
    the allow rules AKS adds for LoadBalancer Service ports."""
    held_addresses: Annotated[int, Field(ge=0, le=2**24)] = 0
    """Addresses other resources (VMs, private endpoints, other clusters) already hold in the
    subnet at time 0: ``aks-sim import`` counts them from ``az network vnet show``."""


class VNetSpec(SpecModel):
    """The virtual network: created and managed by AKS, or brought by the user."""

    name: Name = "aks-vnet"
    managed: bool = True
    """True when AKS created the VNet (changes to it are unsupported); false for BYO VNet."""
    address_space: Annotated[list[Cidr], Field(min_length=1)] = [ipaddress.IPv4Network("10.224.0.0/12")]
    subnets: Annotated[list[SubnetSpec], Field(min_length=1)] = [SubnetSpec(name="aks-subnet",
                                            address_prefix=ipaddress.IPv4Network("10.224.0.0/16"))]


class NodePoolSpec(SpecModel):
    """An AKS agent pool: VM size, count, max pods, zones, subnets, autoscaling, surge."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,11}$")]
    """Lowercase letters and digits, starting with a letter, at most 12 characters."""
    mode: Literal["System", "User"] = "User"
    vm_size: VmSize = "Standard_D4s_v3"
    count: Annotated[int, Field(ge=0, json_schema_extra={"maximum": 1000})] = 3
    """At most 1,000 (checked with the pool's other limits)."""
    max_pods: Annotated[int, Field(ge=1, le=INT32_MAX,
                                   json_schema_extra={"minimum": 10, "maximum": 250})] | None = None
    """Pods per node; the default depends on the network plugin (kubenet 110, Azure CNI 30,
    pod subnet 110, Overlay 250)."""
    zones: list[Zone] | None = None
    """Availability zones of the pool (default: all of the cluster's zones)."""
    vnet_subnet: str | None = None
    """Name of the node subnet (default: the VNet's first subnet)."""
    pod_subnet: str | None = None
    """Azure CNI with a pod subnet: the subnet pods take addresses from."""
    pod_ip_allocation_mode: Literal["DynamicIndividual", "StaticBlock"] = Field(
        "DynamicIndividual", alias="podIPAllocationMode")
    """With a pod subnet: batches of 16 addresses (DynamicIndividual) or /28 blocks (StaticBlock)."""
    enable_auto_scaling: bool = False
    min_count: Annotated[int, Field(ge=0, le=MAX_NODES_PER_POOL)] | None = None
    max_count: Annotated[int, Field(ge=0)] | None = None
    max_surge: Surge = "1"
    """Extra nodes during an upgrade: a count (AKS default 1) or a percentage such as 33%."""
    drain_timeout_in_minutes: Annotated[int, Field(ge=1, le=1440)] = 30
    """upgradeSettings.drainTimeoutInMinutes: how long a node's drain may wait on evictions
    (PodDisruptionBudgets) before the upgrade fails (AKS default 30, at most 1440)."""
    node_labels: dict[str, str] = {}


class Timings(SpecModel):
    """Control-plane timings (defaults from AKS-NETWORKING.md section 8)."""

    node_monitor_grace_period: Duration = 40.0
    """NotReady after this long without a status. Default by the cluster's
    ``kubernetesVersion``: 40 s, 50 s from Kubernetes 1.32 (sim.versions)."""
    node_monitor_period: Period = 5.0
    """How often the node lifecycle controller checks node status."""
    default_not_ready_toleration_seconds: Annotated[int, Field(ge=0, le=int(MAX_DURATION))] = 300
    default_unreachable_toleration_seconds: Annotated[int, Field(ge=0, le=int(MAX_DURATION))] = 300
    node_provisioning_time: Distribution = Uniform(distribution="uniform", min=120.0, max=300.0)
    """VM creation to Ready: AKS says typically 2-5 minutes."""
    pod_startup_time: Distribution = Fixed(distribution="fixed", value=5.0)
    """Sandbox creation to Running (image pull, container start)."""
    sandbox_retry_interval: Duration = 10.0
    """kubelet's retry of a failed pod sandbox (FailedCreatePodSandBox)."""
    node_drain_time: Duration = 30.0
    """Time to drain one node during an upgrade."""
    node_reimage_time: Duration = 300.0
    """Time to reimage a drained node to the new version."""
    node_deletion_time: Duration = 60.0
    """A manual scale-down: time from the drained node's VM delete call until the VM is gone
    (an assumption: AKS documents no figure; a scenario setting)."""


class AutoscalerProfile(SpecModel):
    """cluster-autoscaler settings, with AKS's defaults (cluster-autoscaler.md)."""

    scan_interval: Period = 10.0
    scale_down_delay_after_add: Duration = 600.0
    scale_down_delay_after_failure: Duration = 180.0
    scale_down_unneeded_time: Duration = 600.0
    scale_down_unready_time: Duration = 1200.0
    scale_down_utilization_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    max_node_provision_time: Duration = 900.0
    new_pod_scale_up_delay: Duration = 0.0
    initial_backoff: Duration = 300.0
    """Backoff of a node group after a failed scale-up, doubling each time..."""
    max_backoff: Duration = 1800.0
    """...up to 30 minutes (cluster-autoscaler-overview.md)."""


class AutoRepair(SpecModel):
    """AKS node auto-repair (node-auto-repair.md)."""

    enabled: bool = True
    unhealthy_after: Duration = 600.0
    """A node NotReady this long is unhealthy and gets repaired."""
    reboot_time: Duration = 300.0
    reimage_time: Duration = 600.0
    redeploy_time: Duration = 900.0


class LoadBalancerProfile(SpecModel):
    """The cluster load balancer's outbound settings (ManagedClusterLoadBalancerProfile)."""

    managed_outbound_ips: Annotated[int, Field(ge=1, le=100, alias="managedOutboundIPs")] = 1
    """Public IPs for outbound SNAT (64,000 ports each)."""
    allocated_outbound_ports: Annotated[int, Field(ge=0, le=64000, multiple_of=8)] = 0
    """SNAT ports per node; 0 means the default table by backend-pool size."""
    idle_timeout_in_minutes: Annotated[int, Field(ge=4, le=120)] = 30


class IpvsConfig(SpecModel):
    """``networkProfile.kubeProxyConfig.ipvsConfig``: the LVS scheduler of every Service."""

    scheduler: Literal["RoundRobin", "LeastConnection", "rr", "wrr", "lc", "wlc", "lblc", "lblcr",
                       "sh", "dh", "sed", "nq"] = "RoundRobin"
    """AKS's values RoundRobin (rr, kube-proxy's default) and LeastConnection (lc), or any
    ``--ipvs-scheduler`` name kube-proxy accepts (sh: source hashing, dh, sed, nq, wrr, ...)."""
    tcp_fin_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 120
    """How long a closed TCP connection stays in the IPVS table as inactive (LVS FIN_WAIT,
    2 minutes by default): ``lc`` counts these too (``active x 256 + inactive``)."""


class KubeProxyConfig(SpecModel):
    """``networkProfile.kubeProxyConfig`` (configure-kube-proxy.md): kube-proxy's mode."""

    mode: Literal["IPTABLES", "IPVS", "NFTABLES"] = "IPTABLES"
    """IPTABLES (the default; a uniform random endpoint), IPVS (the scheduler of
    ``ipvsConfig``) or NFTABLES (a uniform random endpoint, like IPTABLES)."""
    ipvs_config: IpvsConfig = IpvsConfig()


class ClusterSpec(SpecModel):
    """The AKS cluster: network profile, VNet, zones, node pools, timings."""

    @model_validator(mode="before")
    @classmethod
    def _version_defaults(cls, data: Any) -> Any:
        """Version-dependent defaults (sim.versions) where the scenario gives none."""
        if not isinstance(data, dict):
            return data
        version = data.get("kubernetesVersion", data.get("kubernetes_version", "1.30"))
        timings = data.get("timings", {})
        if not isinstance(version, str) or not isinstance(timings, dict) or (
                "nodeMonitorGracePeriod" in timings or "node_monitor_grace_period" in timings):
            return data
        from sim import versions

        grace = versions.node_monitor_grace_period(version)
        return {**data, "timings": {**timings, "nodeMonitorGracePeriod": grace}}

    name: Name = "aks"
    kubernetes_version: Version = "1.30"
    network_plugin: Literal["kubenet", "azure", "none"] | None = None
    """kubenet or azure; omitted means Azure CNI Overlay, the AKS default."""
    network_plugin_mode: Literal["overlay"] | None = None
    network_policy: Literal["none", "azure", "calico", "cilium"] = "none"
    pod_cidr: Cidr = ipaddress.IPv4Network("10.244.0.0/16")
    """Pod range for kubenet and Overlay: a /24 per node."""
    service_cidr: Cidr = ipaddress.IPv4Network("10.0.0.0/16")
    dns_service_ip: Address = Field(ipaddress.IPv4Address("10.0.0.10"), alias="dnsServiceIP")
    vnet: VNetSpec = VNetSpec()
    zones: list[Zone] = ["1", "2", "3"]
    node_pools: Annotated[list[NodePoolSpec], Field(min_length=1, max_length=MAX_ITEMS)]
    timings: Timings = Timings()
    autoscaler_profile: AutoscalerProfile = AutoscalerProfile()
    auto_repair: AutoRepair = AutoRepair()
    load_balancer_profile: LoadBalancerProfile = LoadBalancerProfile()
    kube_proxy_config: KubeProxyConfig = KubeProxyConfig()
    """kube-proxy's mode and IPVS scheduler (networkProfile.kubeProxyConfig)."""

    @property
    def ipvs_scheduler(self) -> str | None:
        """The LVS scheduler name (rr, lc, sh, ...) in IPVS mode; None in iptables/nftables mode."""
        if self.kube_proxy_config.mode != "IPVS":
            return None
        name = self.kube_proxy_config.ipvs_config.scheduler
        return {"RoundRobin": "rr", "LeastConnection": "lc"}.get(name, name)

    @property
    def plugin(self) -> str:
        """``kubenet``, ``azure`` (node subnet or pod subnet), ``overlay`` or ``none``."""
        if self.network_plugin is None or self.network_plugin_mode == "overlay":
            return "overlay"
        return self.network_plugin

