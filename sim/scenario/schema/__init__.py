"""The scenario file's shape: pydantic models in AKS vocabulary.

YAML keys follow ``az aks create`` / the AKS ``networkProfile`` (``networkPlugin``,
``podCidr``, ``maxPods``...); Python fields are snake_case. Unknown keys are rejected.
Meaning across fields (references, overlaps, AKS limits) is checked in ``semantics.py``.

One module per top-level key of the YAML: ``cluster``, ``workloads`` (and ``utilization``),
``traffic``, ``chaos``, ``operations``, ``expect`` (and ``expectError``); ``types`` holds what
they share (the ranges of numbers, the field types, the base :class:`SpecModel`, the
distributions). :class:`Scenario`, the whole file, is here, and every name is re-exported:
``from sim.scenario.schema import X`` works for any of them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from sim.scenario.schema.chaos import (
    AnyFault,
    CorednsOutage,
    Fault,
    FaultBase,
    IngressControllerCrash,
    LbProbeFailure,
    NetworkPolicyFault,
    NodeFailure,
    NsgRuleFault,
    Partition,
    PodKill,
    SnatPressure,
    SubnetSqueeze,
    ZoneFailure,
    ZoneLatency,
    ZoneLoss,
)
from sim.scenario.schema.cluster import (
    AutoRepair,
    AutoscalerProfile,
    ClusterSpec,
    IpvsConfig,
    KubeProxyConfig,
    LoadBalancerProfile,
    NodePoolSpec,
    SecurityRule,
    SubnetSpec,
    Timings,
    VNetSpec,
    node_name,
    vmss_id,
)
from sim.scenario.schema.expect import (
    Bounds,
    EventExpectation,
    EventMatch,
    Expectation,
    FigureExpectation,
    ReachCheck,
    ReachExpectation,
    RejectionExpectation,
    SequenceExpectation,
)
from sim.scenario.schema.operations import (
    IngressChange,
    NetworkPolicyChange,
    Operation,
    ScaleDeployment,
    ScaleNodePool,
    UpgradeNodePool,
)
from sim.scenario.schema.traffic import (
    Backend,
    CertificateSpec,
    Constant,
    CoreDNSSpec,
    Diurnal,
    ExternalRef,
    Flow,
    HttpApplicationRouting,
    IngressControllerSpec,
    IngressRef,
    Ramp,
    Rate,
    RateStep,
    ServiceRef,
    Spike,
    Step,
    TrafficSpec,
)
from sim.scenario.schema.types import (
    DURATION_PATTERN,
    INT32_MAX,
    MAX_BOUND,
    MAX_ITEMS,
    MAX_NAME_BYTES,
    MAX_PODS,
    MAX_RPS,
    MAX_SEED,
    MAX_TICK,
    MIN_PERIOD,
    Address,
    Cidr,
    Cpu,
    Distribution,
    Duration,
    Exponential,
    Fixed,
    Memory,
    Name,
    Normal,
    Period,
    SpecModel,
    Surge,
    Uniform,
    Version,
    VmSize,
    Zone,
    _instant,
    _name_bytes,
)
from sim.scenario.schema.types import _period as _period  # a numeric parser: tests walk schema._period
from sim.scenario.schema.types import _surge as _surge  # a numeric parser: tests walk schema._surge
from sim.scenario.schema.types import _tick as _tick  # a numeric parser: tests walk schema._tick
from sim.scenario.schema.workloads import (
    INLINE_OBJECT_SCHEMA,
    ManifestFile,
    UtilizationPoint,
    UtilizationProfile,
    Workload,
)
from sim.scenario.units import (
    parse_duration as parse_duration,  # a numeric parser: tests walk schema.parse_duration
)


class Scenario(SpecModel):
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


__all__ = [
    "Address", "AnyFault", "AutoRepair", "AutoscalerProfile", "Backend", "Bounds", "CertificateSpec",
    "Cidr", "ClusterSpec", "Constant", "CoreDNSSpec", "CorednsOutage", "Cpu", "DURATION_PATTERN",
    "Distribution", "Diurnal", "Duration", "EventExpectation", "EventMatch", "Expectation",
    "Exponential", "ExternalRef", "Fault", "FaultBase", "FigureExpectation", "Fixed", "Flow",
    "HttpApplicationRouting", "INLINE_OBJECT_SCHEMA", "INT32_MAX", "IngressChange",
    "IngressControllerCrash", "IngressControllerSpec", "IngressRef", "IpvsConfig", "KubeProxyConfig",
    "LbProbeFailure", "LoadBalancerProfile", "MAX_BOUND", "MAX_ITEMS", "MAX_NAME_BYTES", "MAX_PODS",
    "MAX_RPS", "MAX_SEED", "MAX_TICK", "MIN_PERIOD", "ManifestFile", "Memory", "Name",
    "NetworkPolicyChange", "NetworkPolicyFault", "NodeFailure", "NodePoolSpec", "Normal", "NsgRuleFault",
    "Operation", "Partition", "Period", "PodKill", "Ramp", "Rate", "RateStep", "ReachCheck",
    "ReachExpectation", "RejectionExpectation", "ScaleDeployment", "ScaleNodePool", "Scenario",
    "SecurityRule", "SequenceExpectation", "ServiceRef", "SnatPressure", "SpecModel", "Spike", "Step",
    "SubnetSpec", "SubnetSqueeze", "Surge", "Timings", "TrafficSpec", "Uniform", "UpgradeNodePool",
    "UtilizationPoint", "UtilizationProfile", "VNetSpec", "Version", "VmSize", "Workload", "Zone",
    "ZoneFailure", "ZoneLatency", "ZoneLoss", "max_pods_of", "node_name", "pod_ip_mode",
    "pool_max_nodes", "vmss_id",
]
