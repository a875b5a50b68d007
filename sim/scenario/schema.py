"""The scenario file's shape: pydantic models in AKS vocabulary.

YAML keys follow ``az aks create`` / the AKS ``networkProfile`` (``networkPlugin``,
``podCidr``, ``maxPods``...); Python fields are snake_case. Unknown keys are rejected.
Meaning across fields (references, overlaps, AKS limits) is checked in ``semantics.py``.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import zlib
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from sim.azure.vmsizes import VM_SIZES
from sim.scenario.units import MAX_DURATION, parse_cpu, parse_duration, parse_memory, show
from sim.sizing import MAX_NODES_PER_CLUSTER, MAX_NODES_PER_POOL

# --- the ranges of numbers (docs/scenarios.md lists them) -------------------------------

MAX_SEED = 2**32 - 1
"""numpy's seeds are 0 to 2**32 - 1."""
INT32_MAX = 2**31 - 1
"""Kubernetes' replicas and counts are int32."""
MAX_RPS = 100_000.0
"""aks-sim's limit on a flow's request rate (requests per second)."""
MAX_PODS = 200_000
"""aks-sim's limit on the pods a scenario may ask for (AKS's large-cluster figure for Overlay,
best-practices-performance-scale-large.md)."""
MAX_ITEMS = 10_000
"""aks-sim's limit on the entries of a scenario's lists (chaos, operations, flows, steps...)."""
MAX_BOUND = 1e15
"""Expectation bounds are finite numbers between -1e15 and 1e15."""
MIN_PERIOD = 0.01
"""The shortest period of a repeating activity (a tick, a probe, a scan): 10 ms."""
MAX_TICK = 60.0
"""The longest traffic tick (a tick's arrivals, up to rps x tick, are drawn at once)."""
MAX_NAME_BYTES = 255
"""A scenario's name names the CLI's output directory: at most 255 bytes (NAME_MAX)."""


def _network(value: object) -> ipaddress.IPv4Network:
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an IPv4 CIDR such as 10.224.0.0/16, got {value!r}")
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        hint = ""
        if "host bits set" in str(exc):
            hint = f" (did you mean {ipaddress.IPv4Network(value, strict=False)}?)"
        raise ValueError(f"expected an IPv4 CIDR such as 10.224.0.0/16, got {value!r}{hint}")\
            from None


def _address(value: object) -> ipaddress.IPv4Address:
    if isinstance(value, ipaddress.IPv4Address):
        return value
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        raise ValueError(f"expected an IPv4 address such as 10.0.0.10, got {value!r}") from None


def _vm_size(value: str) -> str:
    if value not in VM_SIZES:
        close = difflib.get_close_matches(value, list(VM_SIZES), n=3, cutoff=0.5)
        known = ", ".join(close or sorted(VM_SIZES)[:6])
        hint = "did you mean" if close else "known sizes include"
        raise ValueError(f"expected a VM size aks-sim knows ({hint} {known}; all are in "
                         f"sim/azure/vmsizes.py), got {value!r}")
    return value


def _surge(value: object) -> str:
    text = str(value).strip()
    number = text[:-1] if text.endswith("%") else text
    if (isinstance(value, bool) or not isinstance(value, str | int) or not number.isdigit()
            or len(number) > 6 or int(number) < 1):
        raise ValueError(f"expected a node count such as 1 or a "
                         f"percentage such as 33%, got {show(value)}")
    if text.endswith("%") and int(number) > 100:
        raise ValueError(f"expected a percentage between 1% and 100%, got {show(value)}")
    if not text.endswith("%") and int(number) > MAX_NODES_PER_POOL:
        raise ValueError(f"expected at most {MAX_NODES_PER_POOL} surge nodes (the nodes of a "
                         f"pool), got {show(value)}")
    return text


DURATION_PATTERN = r"^\s*([0-9]+(\.[0-9]+)?(us|ms|s|m|h|d))+\s*$"
"""What :func:`parse_duration` reads, as a JSON Schema pattern (editors check it)."""

Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": DURATION_PATTERN}, {"type": "number", "minimum": 0}]})]
"""Seconds, written with a unit: ``90s``, ``5m``, ``2h``, ``1h30m``; 0 to 7 days."""


def _period(value: object) -> float:
    seconds = parse_duration(value)
    if seconds < MIN_PERIOD:
        raise ValueError(f"expected a period of at least {MIN_PERIOD:g}s (10ms), got {show(value)}")
    return seconds


def _tick(value: object) -> float:
    seconds = _period(value)
    if seconds > MAX_TICK:
        raise ValueError(f"expected a tick of at most {MAX_TICK:g}s (a tick's arrivals are drawn "
                         f"at once), got {show(value)}")
    return seconds


Period = Annotated[float, BeforeValidator(_period, json_schema_input_type=str | float)]
"""The period of something that repeats: a Duration of at least 10 ms."""


def _name_bytes(value: str) -> str:
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise ValueError(f"expected a name of at most {MAX_NAME_BYTES} bytes, got {size} bytes")
    if any(ch in value for ch in "/\\\0") or not value.isprintable():
        raise ValueError(f"expected a name without '/', '\\' or control characters, got "
                         f"{show(value)}")
    return value


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_network, json_schema_input_type=str)]
Address = Annotated[ipaddress.IPv4Address, BeforeValidator(_address, json_schema_input_type=str)]
Cpu = Annotated[int, BeforeValidator(parse_cpu, json_schema_input_type=str | float)]
Memory = Annotated[int, BeforeValidator(parse_memory, json_schema_input_type=str | int)]
VmSize = Annotated[str, AfterValidator(_vm_size),
                   WithJsonSchema({"type": "string", "enum": sorted(VM_SIZES)})]
Surge = Annotated[str, BeforeValidator(_surge), WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": r"^\s*([1-9][0-9]*|([1-9][0-9]?|100)%)\s*$"},
               {"type": "integer", "minimum": 1}]})]
Name = Annotated[str, Field(min_length=1, max_length=63)]


def _instant(value: str) -> str:
    """An RFC 3339 instant with its offset, from 1970 (metrics carry Unix time) to 9998 (a run
    of 7 days stays in the calendar)."""
    try:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an RFC 3339 instant such as 2026-01-01T00:00:00Z, got "
                         f"{show(value)}") from None
    if instant.tzinfo is None:
        raise ValueError(f"expected an instant with its offset (add Z for UTC, or +01:00...), "
                         f"got {show(value)}")
    if not 1970 <= instant.year <= 9998:  # Unix time (metrics), and room for 7 days
        raise ValueError(f"expected an instant from the year 1970 to 9998, got {show(value)}")
    return value


def _zone(value: object) -> object:
    # `zones: [1, 2, 3]` as `az aks create --zones 1 2 3` writes them
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _version(value: object) -> object:
    if isinstance(value, float | int) and not isinstance(value, bool):
        raise ValueError(f'expected a version in quotes such as "1.30"; YAML reads {value!r} as a '
                         "number (1.30 becomes 1.3)")
    return value


Zone = Annotated[str, BeforeValidator(_zone, json_schema_input_type=str | int)]
Version = Annotated[str, BeforeValidator(_version)]


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


class Model(BaseModel):
    """Base of every scenario model: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        strict=True,  # `count: true` or `replicas: "3"` is a mistake, not a number
        allow_inf_nan=False,  # every number is finite (.inf, .nan are mistakes)
    )


# --- distributions ---------------------------------------------------------------------

class Fixed(Model):
    """Always the same value."""

    distribution: Literal["fixed"]
    value: Duration


class Uniform(Model):
    """Uniform between ``min`` and ``max``."""

    distribution: Literal["uniform"]
    min: Duration
    max: Duration

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.max < self.min:
            raise ValueError(f"expected max >= min, got min {self.min:g}s and max {self.max:g}s")
        return self


class Normal(Model):
    """Normal with ``mean`` and ``stddev``, truncated below at ``min`` (default 0)."""

    distribution: Literal["normal"]
    mean: Duration
    stddev: Duration
    min: Duration = 0.0


class Exponential(Model):
    """Exponential with ``mean``."""

    distribution: Literal["exponential"]
    mean: Duration


def _shorthand_fixed(value: object) -> object:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"distribution": "fixed", "value": value}
    return value


Distribution = Annotated[
    Fixed | Uniform | Normal | Exponential,
    BeforeValidator(_shorthand_fixed, json_schema_input_type=str | float | Fixed | Uniform | Normal
                    | Exponential),
    Field(discriminator="distribution"),
]
"""A random duration: a plain duration (fixed) or ``{distribution: uniform, min, max}``..."""


# --- cluster ---------------------------------------------------------------------------

class SecurityRule(Model):
    """An inbound NSG rule (lower priority numbers are evaluated first)."""

    name: Name
    priority: Annotated[int, Field(ge=100, le=4096)]
    access: Literal["Allow", "Deny"]
    source: str = "*"
    """A CIDR, ``*``, or a service tag: Internet, VirtualNetwork, AzureLoadBalancer."""
    destination_ports: list[Annotated[int, Field(ge=1, le=65535)]] | None = None
    """Ports the rule covers (default: any)."""
    protocol: Literal["*", "TCP", "UDP"] = "*"


class SubnetSpec(Model):
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


class VNetSpec(Model):
    """The virtual network: created and managed by AKS, or brought by the user."""

    name: Name = "aks-vnet"
    managed: bool = True
    """True when AKS created the VNet (changes to it are unsupported); false for BYO VNet."""
    address_space: Annotated[list[Cidr], Field(min_length=1)] = [ipaddress.IPv4Network("10.224.0.0/12")]
    subnets: Annotated[list[SubnetSpec], Field(min_length=1)] = [SubnetSpec(name="aks-subnet",
                                            address_prefix=ipaddress.IPv4Network("10.224.0.0/16"))]


class NodePoolSpec(Model):
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


class Timings(Model):
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


class AutoscalerProfile(Model):
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


class AutoRepair(Model):
    """AKS node auto-repair (node-auto-repair.md)."""

    enabled: bool = True
    unhealthy_after: Duration = 600.0
    """A node NotReady this long is unhealthy and gets repaired."""
    reboot_time: Duration = 300.0
    reimage_time: Duration = 600.0
    redeploy_time: Duration = 900.0


class LoadBalancerProfile(Model):
    """The cluster load balancer's outbound settings (ManagedClusterLoadBalancerProfile)."""

    managed_outbound_ips: Annotated[int, Field(ge=1, le=100, alias="managedOutboundIPs")] = 1
    """Public IPs for outbound SNAT (64,000 ports each)."""
    allocated_outbound_ports: Annotated[int, Field(ge=0, le=64000, multiple_of=8)] = 0
    """SNAT ports per node; 0 means the default table by backend-pool size."""
    idle_timeout_in_minutes: Annotated[int, Field(ge=4, le=120)] = 30


class IpvsConfig(Model):
    """``networkProfile.kubeProxyConfig.ipvsConfig``: the LVS scheduler of every Service."""

    scheduler: Literal["RoundRobin", "LeastConnection", "rr", "wrr", "lc", "wlc", "lblc", "lblcr",
                       "sh", "dh", "sed", "nq"] = "RoundRobin"
    """AKS's values RoundRobin (rr, kube-proxy's default) and LeastConnection (lc), or any
    ``--ipvs-scheduler`` name kube-proxy accepts (sh: source hashing, dh, sed, nq, wrr, ...)."""
    tcp_fin_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 120
    """How long a closed TCP connection stays in the IPVS table as inactive (LVS FIN_WAIT,
    2 minutes by default): ``lc`` counts these too (``active x 256 + inactive``)."""


class KubeProxyConfig(Model):
    """``networkProfile.kubeProxyConfig`` (configure-kube-proxy.md): kube-proxy's mode."""

    mode: Literal["IPTABLES", "IPVS", "NFTABLES"] = "IPTABLES"
    """IPTABLES (the default; a uniform random endpoint), IPVS (the scheduler of
    ``ipvsConfig``) or NFTABLES (a uniform random endpoint, like IPTABLES)."""
    ipvs_config: IpvsConfig = IpvsConfig()


class ClusterSpec(Model):
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


# --- workloads -------------------------------------------------------------------------

class ManifestFile(Model):
    """A path (relative to the scenario file) to ordinary Kubernetes YAML."""

    manifests: str


class UtilizationPoint(Model):
    """CPU utilisation (percent of requests) from ``at`` on."""

    at: Duration
    cpu: Annotated[float, Field(ge=0, le=1000)]


class UtilizationProfile(Model):
    """The CPU utilisation a Deployment's pods show over time (drives its HPA)."""

    deployment: str
    """``name`` or ``namespace/name``."""
    profile: Annotated[list[UtilizationPoint], Field(min_length=1, max_length=MAX_ITEMS)]


def _workload_tag(value: Any) -> str:
    return "file" if isinstance(value, ManifestFile) or (
        isinstance(value, dict) and "manifests" in value) else "object"


INLINE_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An inline Kubernetes object (Deployment, Service, Ingress, ...).",
    "required": ["apiVersion", "kind"],
    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}},
    "additionalProperties": True,
}
"""The JSON Schema of an inline object: ``apiVersion`` and ``kind`` make it one, so that a
``{manifests: path}`` entry matches only :class:`ManifestFile` (``oneOf`` needs exactly one)."""

Workload = Annotated[
    Annotated[ManifestFile, Tag("file")]
    | Annotated[dict[str, Any], Tag("object"), WithJsonSchema(INLINE_OBJECT_SCHEMA)],
    Discriminator(_workload_tag),
]
"""``{manifests: path}``, or an inline Kubernetes object."""


# --- traffic ---------------------------------------------------------------------------

class Constant(Model):
    """The same rate all along."""

    profile: Literal["constant"]
    rps: Annotated[float, Field(ge=0, le=MAX_RPS)]


class Ramp(Model):
    """From ``from`` to ``to`` requests per second, linearly, between ``at`` and ``at + over``."""

    profile: Literal["ramp"]
    from_: Annotated[float, Field(ge=0, le=MAX_RPS, alias="from")]
    to: Annotated[float, Field(ge=0, le=MAX_RPS)]
    at: Duration = 0.0
    over: Duration


class RateStep(Model):
    """One step of a step profile."""

    at: Duration
    rps: Annotated[float, Field(ge=0, le=MAX_RPS)]


class Step(Model):
    """Piecewise constant: each step's rate from its ``at`` on."""

    profile: Literal["step"]
    steps: Annotated[list[RateStep], Field(min_length=1, max_length=MAX_ITEMS)]


class Diurnal(Model):
    """mean + amplitude x sin(2 pi (t - peakAt) / period + pi/2): highest at ``peakAt``."""

    profile: Literal["diurnal"]
    mean: Annotated[float, Field(ge=0, le=MAX_RPS)]
    amplitude: Annotated[float, Field(ge=0, le=MAX_RPS)]
    period: Period = 86400.0
    peak_at: Duration = 0.0


class Spike(Model):
    """``base``, and ``peak`` between ``at`` and ``at + duration``."""

    profile: Literal["spike"]
    base: Annotated[float, Field(ge=0, le=MAX_RPS)]
    peak: Annotated[float, Field(ge=0, le=MAX_RPS)]
    at: Duration
    duration: Duration


Rate = Annotated[Constant | Ramp | Step | Diurnal | Spike, Field(discriminator="profile")]
"""Requests per second over time; arrivals are Poisson at that rate."""


class ServiceRef(Model):
    """A Service and one of its ports."""

    service: str
    """``name`` or ``namespace/name``."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """The Service port (default: its first)."""


class ExternalRef(Model):
    """An endpoint outside the cluster that pods call (through outbound SNAT)."""

    address: Address
    port: Annotated[int, Field(ge=1, le=65535)] = 443
    latency: Distribution = Exponential(distribution="exponential", mean=0.05)
    """Round trip plus the remote service's time (it never queues here)."""


class IngressRef(Model):
    """An HTTP request through the ingress controller: Host header, path, scheme."""

    host: Annotated[str, Field(min_length=1, max_length=253)]
    path: Annotated[str, Field(pattern=r"^/", max_length=8192)] = "/"
    """The request target: it starts with ``/`` (an HTTP origin-form target)."""
    scheme: Literal["http", "https"] = "http"


class IngressControllerSpec(Model):
    """The ingress controller (ingress-nginx-like) the scenario runs as ordinary pods."""

    service: str
    """Its LoadBalancer Service (``namespace/name``); its pods are the Deployment it selects."""
    proxy_time: Distribution = Fixed(distribution="fixed", value=0.0005)
    """A controller worker's time to route and proxy one request."""
    tls_time: Duration = 0.001
    """Extra worker time to terminate TLS on an https request (a new connection each)."""
    concurrency: Annotated[int, Field(ge=1, le=1_000_000)] = 1024
    """Requests one controller pod proxies at once (NGINX worker connections)."""
    ingress_class: str | None = None
    """Only Ingresses of this class (default: every Ingress)."""
    default_certificate_hosts: list[str] = []
    """Hosts the controller's ``--default-ssl-certificate`` is valid for (e.g. a wildcard
    ``*.example.com``); an https host no Ingress's ``spec.tls`` lists gets this certificate.
    Empty (the default, as shipped): the self-signed fake certificate, which clients refuse."""


class Flow(Model):
    """Clients calling a Service or an Ingress host and path: how often, how long they wait."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    from_: Literal["internet", "vnet", "peered-vnet", "on-premises", "pods"] = Field(
        "internet", alias="from")
    """internet: through the Service's public load balancer; vnet / peered-vnet / on-premises
    (VPN or ExpressRoute): a VM there (through a load balancer, or to pod IPs with ``pods``);
    pods: the pods of ``client`` call out."""
    pods: str | None = None
    """From a VM: connect to this Deployment's pod IPs directly (client-side balancing, e.g.
    over a headless Service): routable from outside only with Azure CNI pod IPs."""
    client: str | None = None
    """With ``from: pods``: the Deployment whose pods make the calls."""
    external: ExternalRef | None = None
    """With ``from: pods``: the address outside the cluster they call (outbound SNAT)."""
    dns_name: str | None = None
    """With ``from: pods`` and ``to``: the name the application looks up (default: the
    Service's name, with its namespace when the client is in another one)."""
    to: ServiceRef | None = None
    ingress: IngressRef | None = None
    """Instead of ``to``: a host and path routed by the ingress controller's rules."""
    client_ip: Address = Field(ipaddress.IPv4Address("203.0.113.10"), alias="clientIP")
    """The clients' address as NetworkPolicy ipBlocks see it (with externalTrafficPolicy
    Local; with Cluster the pod sees the node's address)."""
    rate: Rate
    clients: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    """Distinct client addresses; each request comes from one of them at random (what
    ClientIP session affinity keys on)."""
    timeout: Duration = 10.0
    """How long a client waits for a response before it gives up."""
    connection: Literal["new", "keepalive"] = "new"
    dns_source_port: Literal["ephemeral", "reused"] = "ephemeral"
    """With ``from: pods`` and ``to``: whether the client's resolver opens a socket per lookup
    (ephemeral, glibc) or keeps one (reused), so conntrack keeps each client pod on one
    CoreDNS pod while it queries at least every 30 s."""

    @model_validator(mode="after")
    def _target(self) -> Flow:
        if self.from_ == "pods":
            if self.client is None or (self.external is None) == (self.to is None):
                raise ValueError("a flow from pods needs client (a Deployment) and exactly one of "
                                 "to (a Service, looked up by name) or external (an address)")
            if self.ingress is not None:
                raise ValueError("a flow from pods calls a Service (to) or an external address, "
                                 "not an ingress")
            return self
        if self.external is not None or self.client is not None:
            raise ValueError("client and external are for flows from pods (from: pods)")
        if self.pods is not None:
            if self.from_ == "internet":
                raise ValueError("pod IPs are private: connecting to them needs a VM in the VNet, "
                                 "a peered VNet or on-premises (from: vnet, peered-vnet, on-premises)")
            if self.to is not None or self.ingress is not None:
                raise ValueError("expected one target: pods, to or ingress")
            return self
        if (self.to is None) == (self.ingress is None):
            raise ValueError("expected exactly one of to (a Service), ingress (host and path) or "
                             "pods (pod IPs, from a VM)")
        return self


class Backend(Model):
    """How a Deployment's pods serve requests."""

    deployment: str
    service_time: Distribution = Exponential(distribution="exponential", mean=0.02)
    """Time a worker spends on one request."""
    concurrency: Annotated[int, Field(ge=1, le=10_000)] = 1
    """Requests a pod serves at once; more wait in its queue (first come, first served)."""
    cpu: Annotated[float, Field(gt=0, le=64)] = 1.0
    """Cores a worker uses while it serves a request (what an HPA on cpu measures)."""


class CertificateSpec(Model):
    """Certificates cert-manager requests for Ingress TLS hosts (an ACME issuer such as
    Let's Encrypt)."""

    issuance_time: Distribution = Uniform(distribution="uniform", min=30.0, max=120.0)
    """From the Ingress being applied to the certificate being served."""
    failure_probability: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Chance an issuance fails (rate limits, a failed HTTP-01 challenge): no certificate."""


class HttpApplicationRouting(Model):
    """AKS HTTP application routing: External-DNS writes A records for Ingress hosts in the
    cluster's DNS zone; cert-manager gets their certificates."""

    dns_zone: str
    """Hosts in this zone get records (e.g. ``example.com``)."""
    dns_sync_interval: Period = 60.0
    """External-DNS ``--interval`` (1 minute by default): records appear at the next sync."""
    certificates: CertificateSpec = CertificateSpec()


class CoreDNSSpec(Model):
    """CoreDNS as the cluster runs it (kube-system/coredns behind kube-dns), added when a flow
    looks names up."""

    replicas: Annotated[int, Field(ge=0, le=1000)] | None = None
    """Default: the AKS coredns-autoscaler ladder for the cluster's nodes and cores."""
    service_time: Distribution = Fixed(distribution="fixed", value=0.0002)
    """A CoreDNS worker's time per query (answers come from its cache)."""
    concurrency: Annotated[int, Field(ge=1, le=10_000)] = 16
    query_timeout: Duration = 5.0
    """glibc's ``timeout:5``: how long a resolver waits for an answer..."""
    attempts: Annotated[int, Field(ge=1, le=5)] = 2
    """...and how many times it asks (``attempts:2``)."""
    upstream_latency: Distribution = Fixed(distribution="fixed", value=0.002)
    """Round trip from CoreDNS to the VNet resolver (168.63.129.16) for a forwarded name (an
    assumption: Azure publishes no figure)."""
    cache_ttl: Duration = 30.0
    """The Corefile's ``cache 30``: a forwarded answer is reused this long."""


class TrafficSpec(Model):
    """Request traffic: flows of clients and how pods serve them."""

    tick: Annotated[float, BeforeValidator(_tick, json_schema_input_type=str | float)] = 1.0
    """Outcomes are counted per tick (a TrafficTick event each)."""
    flows: Annotated[list[Flow], Field(min_length=1, max_length=MAX_ITEMS)]
    backends: Annotated[list[Backend], Field(max_length=MAX_ITEMS)] = []
    ingress_controller: IngressControllerSpec | None = None
    """Where ``ingress:`` flows enter."""
    coredns: CoreDNSSpec = CoreDNSSpec()
    http_application_routing: HttpApplicationRouting | None = None
    """DNS records and certificates for Ingress hosts, with their delays."""
    endpoint_propagation_delay: Duration = 1.0
    """From a pod's readiness change to kube-proxy and the load balancer acting on it
    (EndpointSlice update plus kube-proxy's minSyncPeriod of 1 s)."""
    probe_interval: Period = 5.0
    """Azure LB health probe interval (AKS default 5 s)."""
    probe_threshold: Annotated[int, Field(ge=1, le=100)] = 2
    """Failed probes before a backend leaves the pool (AKS default 2)."""
    network_latency: Duration = 0.001
    """One-way latency added per hop (client to load balancer, node to pod)."""


# --- chaos and operations --------------------------------------------------------------

class FaultBase(Model):
    """When a fault starts and how long it lasts."""

    at: Duration
    duration: Duration | None = None
    """How long the fault lasts; omitted means until the end of the run."""


class NodeFailure(FaultBase):
    """One or more nodes stop (VM crash or host failure): kubelet stops posting status."""

    fault: Literal["node_failure"]
    node: str | None = None
    """A node by name (e.g. aks-user-12345678-vmss000002); otherwise picked at random."""
    node_pool: str | None = None
    zone: Zone | None = None
    index: Annotated[int, Field(ge=0, le=MAX_NODES_PER_CLUSTER)] | None = None
    """With ``nodePool``: the pool's node with this VMSS instance number (0 is the first node
    the pool created, ``...vmss000000``); with ``zone`` too, the pool's index-th node in that
    zone (by instance number). Selects one node without spelling its generated name."""
    count: Annotated[int, Field(ge=1, le=MAX_NODES_PER_CLUSTER)] = 1
    fixed_by: Literal["reboot", "reimage", "redeploy", "nothing"] = "reboot"
    """Which auto-repair action brings the node back (nothing: only the end of the fault)."""

    @model_validator(mode="after")
    def _index_needs_pool(self) -> NodeFailure:
        if self.index is not None and (self.node_pool is None or self.node is not None):
            raise ValueError("index selects a node of nodePool: give nodePool (and optionally "
                             "zone), not node")
        return self


class ZoneFailure(FaultBase):
    """Every node of an availability zone stops, and no new VM starts there."""

    fault: Literal["zone_failure"]
    zone: Zone


class PodKill(FaultBase):
    """Pods are deleted (their controller recreates them)."""

    fault: Literal["pod_kill"]
    deployment: str | None = None
    """``name`` or ``namespace/name``; otherwise ``selector`` picks pods by labels."""
    selector: dict[str, str] = {}
    namespace: str | None = None
    count: Annotated[int, Field(ge=1, le=MAX_PODS)] | None = None
    """How many to kill (picked at random); omitted means all that match."""

    @model_validator(mode="after")
    def _one_of(self) -> PodKill:
        if (self.deployment is None) == (not self.selector):
            raise ValueError("expected exactly one of deployment (name or namespace/name) or "
                             "selector (pod labels, with an optional namespace)")
        return self


class CorednsOutage(FaultBase):
    """CoreDNS pods stop answering (a hung plugin, dropped UDP): lookups sent to them get no
    reply, and the resolver gives up after ``timeout x attempts`` (5 s x 2)."""

    fault: Literal["coredns_outage"]
    count: Annotated[int, Field(ge=1, le=1000)] | None = None
    """How many CoreDNS pods stop answering (picked at random); omitted means all of them,
    including any that start during the outage."""


class IngressControllerCrash(FaultBase):
    """The ingress controller's containers crash: in-flight requests are reset, the pods go
    NotReady, and the kubelet restarts each container after its back-off (10 s, doubling).
    With a ``duration`` they crash again at every restart until it ends (CrashLoopBackOff);
    without one they crash once."""

    fault: Literal["ingress_controller_crash"]
    count: Annotated[int, Field(ge=1, le=MAX_PODS)] | None = None
    """How many controller pods crash (picked at random); omitted means all of them."""


class LbProbeFailure(FaultBase):
    """The Azure load balancer's health probe of a LoadBalancer Service fails on some nodes:
    after ``probeThreshold`` failed probes (5 s apart) they leave the backend rotation."""

    fault: Literal["lb_probe_failure"]
    service: str
    """The LoadBalancer Service, ``name`` or ``namespace/name``."""
    node_pool: str | None = None
    """Only nodes of this pool."""
    zone: Zone | None = None
    """Only nodes of this zone."""
    count: Annotated[int, Field(ge=1, le=MAX_NODES_PER_CLUSTER)] | None = None
    """How many of the matching nodes (picked at random); omitted means all of them, including
    nodes that join during the fault."""


class SubnetSqueeze(FaultBase):
    """Something outside the cluster (another VM, a private endpoint) takes addresses of a
    subnet: new nodes and pods that need addresses there fail as the subnet fills."""

    fault: Literal["subnet_squeeze"]
    subnet: str
    addresses: Annotated[int, Field(ge=1, le=2**24)]
    """How many addresses are taken (at most what is free when the fault starts)."""


class NetworkPolicyFault(FaultBase):
    """A NetworkPolicy applied or deleted for a while, then put back as it was."""

    fault: Literal["network_policy"]
    apply: dict[str, Any] | None = None
    """A networking.k8s.io/v1 NetworkPolicy to create or replace."""
    delete: str | None = None
    """``namespace/name`` of a NetworkPolicy to delete."""

    @model_validator(mode="after")
    def _one_of(self) -> NetworkPolicyFault:
        if (self.apply is None) == (self.delete is None):
            raise ValueError("expected exactly one of apply (a NetworkPolicy) or delete "
                             "(namespace/name)")
        return self


class NsgRuleFault(FaultBase):
    """An inbound rule added to (or removed from) the node subnet's network security group."""

    fault: Literal["nsg_rule"]
    subnet: str | None = None
    """The subnet whose NSG changes (default: the node subnet, the VNet's first subnet)."""
    add: SecurityRule | None = None
    """A rule to add (or to replace, by name)."""
    remove: str | None = None
    """The name of a rule to remove."""

    @model_validator(mode="after")
    def _one_of(self) -> NsgRuleFault:
        if (self.add is None) == (self.remove is None):
            raise ValueError("expected exactly one of add (a security rule) or remove (its name)")
        return self


class SnatPressure(FaultBase):
    """An outbound burst: each pod of a Deployment opens connections to one destination and
    keeps them open while the fault lasts, taking its node's SNAT ports for that destination;
    other pods on those nodes calling the same destination find none left."""

    fault: Literal["snat_pressure"]
    deployment: str
    """The Deployment whose pods burst (``name`` or ``namespace/name``)."""
    address: Address
    """The destination's public address."""
    port: Annotated[int, Field(ge=1, le=65535)] = 443
    connections: Annotated[int, Field(ge=1, le=64_000)]
    """Connections each pod opens (each takes a SNAT port of its node while a port is free)."""


class ZoneLatency(FaultBase):
    """Added latency between availability zones: requests that cross from a node of one zone
    to a node of another take longer."""

    fault: Literal["zone_latency"]
    zones: list[Zone] = []
    """Between these zones (at least two); omitted means between every two zones."""
    latency: Duration
    """Added round-trip time of a connection crossing (e.g. ``50ms``)."""


class ZoneLoss(FaultBase):
    """Packet loss between availability zones: connections that cross lose SYNs, which TCP
    sends again after 1 s, 2 s, 4 s...; some requests time out."""

    fault: Literal["zone_loss"]
    zones: list[Zone] = []
    """Between these zones (at least two); omitted means between every two zones."""
    loss: Annotated[float, Field(gt=0, le=1)]
    """Probability that a packet crossing is lost (1: nothing crosses)."""


class Partition(FaultBase):
    """A network partition: the nodes of the named pools and zones on one side, every other
    node on the other; nothing crosses (connections time out, lookups fail)."""

    fault: Literal["partition"]
    node_pools: list[str] = []
    """Node pools on the first side."""
    zones: list[Zone] = []
    """Zones on the first side."""

    @model_validator(mode="after")
    def _some_side(self) -> Partition:
        if not self.node_pools and not self.zones:
            raise ValueError("expected nodePools or zones: the nodes on one side of the "
                             "partition (every other node is on the other side)")
        return self


AnyFault = (NodeFailure | ZoneFailure | PodKill | CorednsOutage | IngressControllerCrash
            | LbProbeFailure | SubnetSqueeze | NetworkPolicyFault | NsgRuleFault | SnatPressure
            | ZoneLatency | ZoneLoss | Partition)
"""Any one fault (the plain union; :data:`Fault` is the same, discriminated by ``fault``)."""
Fault = Annotated[AnyFault, Field(discriminator="fault")]


class ScaleNodePool(Model):
    """``az aks nodepool scale``: set the node count."""

    operation: Literal["scale"]
    at: Duration
    node_pool: str
    count: Annotated[int, Field(ge=0)]
    """At most 1,000 nodes per pool."""


class UpgradeNodePool(Model):
    """``az aks nodepool upgrade``: rolling upgrade with surge nodes."""

    operation: Literal["upgrade"]
    at: Duration
    node_pool: str
    kubernetes_version: Version | None = None
    max_surge: Surge | None = None
    """Override of the pool's maxSurge for this upgrade."""
    node_image_only: bool = False
    """``az aks nodepool upgrade --node-image-only``: reimage every node to the latest node
    image, same surge and drain, Kubernetes version unchanged."""

    @model_validator(mode="after")
    def _image_or_version(self) -> UpgradeNodePool:
        if self.node_image_only and self.kubernetes_version is not None:
            raise ValueError("nodeImageOnly upgrades the node image only: it cannot be given "
                             "with kubernetesVersion (as az aks nodepool upgrade refuses)")
        return self


class ScaleDeployment(Model):
    """``kubectl scale deployment``: set the replicas of a Deployment."""

    operation: Literal["scale_deployment"]
    at: Duration
    deployment: str
    replicas: Annotated[int, Field(ge=0, le=INT32_MAX)]


class NetworkPolicyChange(Model):
    """``kubectl apply`` / ``kubectl delete`` of a NetworkPolicy while the run goes."""

    operation: Literal["network_policy"]
    at: Duration
    apply: dict[str, Any] | None = None
    """A networking.k8s.io/v1 NetworkPolicy to create or replace."""
    delete: str | None = None
    """``namespace/name`` of a NetworkPolicy to delete."""

    @model_validator(mode="after")
    def _one_of(self) -> NetworkPolicyChange:
        if (self.apply is None) == (self.delete is None):
            raise ValueError("expected exactly one of apply (a NetworkPolicy) or delete "
                             "(namespace/name)")
        return self


class IngressChange(Model):
    """``kubectl apply`` / ``kubectl delete`` of an Ingress while the run goes."""

    operation: Literal["ingress"]
    at: Duration
    apply: dict[str, Any] | None = None
    """A networking.k8s.io/v1 Ingress to create or replace."""
    delete: str | None = None
    """``namespace/name`` of an Ingress to delete."""

    @model_validator(mode="after")
    def _one_of(self) -> IngressChange:
        if (self.apply is None) == (self.delete is None):
            raise ValueError("expected exactly one of apply (an Ingress) or delete (namespace/name)")
        return self


Operation = Annotated[ScaleNodePool | UpgradeNodePool | ScaleDeployment | NetworkPolicyChange
                      | IngressChange, Field(discriminator="operation")]


# --- expectations ----------------------------------------------------------------------

class Bounds(Model):
    """Shared bounds of an expectation."""

    at_least: Annotated[float, Field(ge=-MAX_BOUND, le=MAX_BOUND)] | None = None
    at_most: Annotated[float, Field(ge=-MAX_BOUND, le=MAX_BOUND)] | None = None
    equals: Annotated[float, Field(ge=-MAX_BOUND, le=MAX_BOUND)] | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Bounds:
        if self.at_least is None and self.at_most is None and self.equals is None:
            raise ValueError("expected at least one of atLeast, atMost or equals")
        return self


class EventMatch(Model):
    """Which events count: a reason, and optionally their object, fields and message."""

    event: str
    """The event reason, e.g. SubnetIsFull, NodeNotReady, FailedScheduling."""
    after: Duration | None = None
    """Count only events at or after this time."""
    before: Duration | None = None
    """Count only events strictly before this time."""
    object: str | None = None
    """Only events whose involvedObject name starts with this."""
    fields: dict[str, str | int | float | bool] = {}
    """Only events whose ``fields`` (as in the event stream: ``zone``, ``node_pool``, ...) have
    these values (compared as text, so ``zone: 2`` matches ``"2"``)."""
    message: str | None = None
    """Only events whose message contains this text."""
    message_matches: str | None = None
    """Only events whose message matches this regular expression (Python ``re.search``)."""

    @field_validator("message_matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expected a regular expression, got {value!r}: {exc}") from None
        return value


class EventExpectation(EventMatch, Bounds):
    """How many events of a reason happen (optionally in a time window, on an object, with
    some fields and message)."""

    description: str | None = None


class FigureExpectation(Bounds):
    """A figure of the final report (see docs/scenarios.md for the list), or as it was at a
    time of the run (``at``)."""

    figure: str
    """e.g. ``subnet.aks-subnet.peakUsedFraction`` or ``deployment.web.availableFinal``."""
    at: Duration | None = None
    """Sample the figure at this time (the state after everything before it happened)."""
    description: str | None = None


class SequenceExpectation(Model):
    """Events happen in this order: each item's first match after the previous item's."""

    sequence: Annotated[list[str | EventMatch], Field(min_length=2)]
    """Event reasons, or mappings like ``event`` expectations (object, fields, message, ...)."""
    description: str | None = None


class ReachCheck(Model):
    """One cell of ``aks-sim reach``'s table."""

    from_: str = Field(alias="from")
    """``internet`` or a Deployment (``namespace/name``)."""
    to: str
    """A Deployment (``namespace/name``)."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """The destination port (default: its first container port, as ``aks-sim reach``)."""
    verdict: Literal["allow", "deny", "partial", "not exposed"]


class ReachExpectation(Model):
    """``aks-sim reach``'s verdict for one source and destination, at the end of the run."""

    reach: ReachCheck
    description: str | None = None


_EXPECTATION_KINDS = ("event", "figure", "sequence", "reach")


def _expectation_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((k for k in _EXPECTATION_KINDS if k in value), None)
    return next((k for k in _EXPECTATION_KINDS if hasattr(value, k)), None)


Expectation = Annotated[
    Annotated[EventExpectation, Tag("event")] | Annotated[FigureExpectation, Tag("figure")]
    | Annotated[SequenceExpectation, Tag("sequence")] | Annotated[ReachExpectation, Tag("reach")],
    Discriminator(_expectation_tag, custom_error_type="expectation_kind",
                  custom_error_message="expected a mapping with an `event`, `figure`, "
                                       "`sequence` or `reach` key"),
]


class RejectionExpectation(Model):
    """This scenario must be rejected with an error at this path (the invalid catalogue as
    scenarios: ``aks-sim validate`` must refuse it, and say this)."""

    path: str
    """The dotted path the error names, e.g. ``cluster.nodePools[0].maxPods``."""
    message: str
    """Text the error message contains."""


# --- the scenario ----------------------------------------------------------------------

class Scenario(Model):
    """One scenario: a cluster, its workloads, faults and operations over time, and what
    must hold at the end."""

    name: Annotated[str, Field(min_length=1), AfterValidator(_name_bytes)] = "scenario"
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    """numpy's range: 0 to 2**32 - 1."""
    duration: Duration
    start_time: Annotated[str, AfterValidator(_instant)] = "2026-01-01T00:00:00Z"
    """Wall-clock instant that simulated time 0 maps to in event timestamps."""
    cluster: ClusterSpec
    workloads: Annotated[list[Workload], Field(max_length=MAX_ITEMS)] = []
    """Inline Kubernetes objects, or ``{manifests: path}`` to a YAML file of them."""
    utilization: Annotated[list[UtilizationProfile], Field(max_length=MAX_ITEMS)] = []
    traffic: TrafficSpec | None = None
    """Clients, request rates and how pods serve them."""
    chaos: Annotated[list[Fault], Field(max_length=MAX_ITEMS)] = []
    operations: Annotated[list[Operation], Field(max_length=MAX_ITEMS)] = []
    expect: Annotated[list[Expectation], Field(max_length=MAX_ITEMS)] = []
    expect_error: Annotated[list[RejectionExpectation], Field(max_length=MAX_ITEMS)] = []
    """The errors this scenario must be rejected with (sim.scenario.rejection)."""


def pod_ip_mode(spec: Scenario, pool: NodePoolSpec) -> str:
    """How the pool's pods get addresses: kubenet, overlay, node-subnet, dynamic, static-block."""
    plugin = spec.cluster.plugin
    if plugin in ("kubenet", "overlay", "none"):
        return plugin if plugin != "none" else "kubenet"
    if pool.pod_subnet is None:
        return "node-subnet"
    return "static-block" if pool.pod_ip_allocation_mode == "StaticBlock" else "dynamic"


def max_pods_of(spec: Scenario, pool: NodePoolSpec) -> int:
    """The pool's maxPods, or the AKS default for its IP mode (sim.sizing.DEFAULT_MAX_PODS)."""
    from sim import sizing

    if pool.max_pods is not None:
        return pool.max_pods
    return sizing.default_max_pods(pod_ip_mode(spec, pool))


def pool_max_nodes(pool: NodePoolSpec) -> int:
    """The most nodes the pool can have (max-count when autoscaling), before surge."""
    return max(pool.count, pool.max_count or 0) if pool.enable_auto_scaling else pool.count
