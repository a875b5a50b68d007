"""Ordinary Kubernetes manifests (Deployments, StatefulSets, DaemonSets, Services, HPAs,
PodDisruptionBudgets, Ingresses, NetworkPolicies).

Objects are typed where the model reads them and lenient elsewhere: a real manifest carries
many fields the simulator does not model, and those are accepted and ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from sim.kubeproxy.config import DEFAULT_AFFINITY_TIMEOUT, MAX_AFFINITY_TIMEOUT, PortProtocol
from sim.scenario.schema import INT32_MAX, Cpu, Memory

DNS1123 = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class K8s(BaseModel):
    """Base of Kubernetes object models: camelCase, unmodelled fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel,
                              populate_by_name=True, use_attribute_docstrings=True,
                              allow_inf_nan=False)


class ObjectMeta(K8s):
    """``metadata`` of a named object."""

    name: Annotated[str, Field(pattern=DNS1123, max_length=63)]
    namespace: Annotated[str, Field(pattern=DNS1123, max_length=63)] = "default"
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Namespaced(K8s):
    """A namespaced object: its subclass declares ``metadata: ObjectMeta`` (in its own field
    order, which dumps keep)."""

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.metadata.namespace}/{self.metadata.name}"  # type: ignore[attr-defined]


class TemplateMeta(K8s):
    """``metadata`` of a pod template."""

    labels: dict[str, str] = {}


class LabelSelectorRequirement(K8s):
    """One ``matchExpressions`` entry."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = []


class LabelSelector(K8s):
    """``matchLabels`` and ``matchExpressions``, ANDed."""

    match_labels: dict[str, str] = {}
    match_expressions: list[LabelSelectorRequirement] = []

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether *labels* satisfy the selector (Kubernetes label-selector semantics)."""
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        for req in self.match_expressions:
            present = req.key in labels
            if req.operator == "In" and labels.get(req.key) not in req.values:
                return False
            if req.operator == "NotIn" and present and labels[req.key] in req.values:
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True


class Requests(K8s):
    """``resources.requests``."""

    cpu: Cpu = 0
    memory: Memory = 0


class Resources(K8s):
    """``resources``."""

    requests: Requests = Requests()


class Probe(K8s):
    """A readiness probe: when the pod starts counting as Ready."""

    initial_delay_seconds: Annotated[int, Field(ge=0, le=INT32_MAX)] = 0
    period_seconds: Annotated[int, Field(ge=1, le=INT32_MAX)] = 10


class ContainerPort(K8s):
    """A container port (named ports are resolved by NetworkPolicy later)."""

    container_port: Annotated[int, Field(ge=1, le=65535)]
    name: str | None = None
    protocol: PortProtocol = "TCP"


class Container(K8s):
    """A container: its requests, readiness probe and ports."""

    name: str
    resources: Resources = Resources()
    readiness_probe: Probe | None = None
    ports: list[ContainerPort] = []


class Toleration(K8s):
    """A toleration; ``tolerationSeconds`` on not-ready/unreachable sets the eviction delay."""

    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | None = None
    """int64 in Kubernetes (zero and negative values evict at once)."""


class TopologySpreadConstraint(K8s):
    """``topologySpreadConstraints`` entry (zone or hostname)."""

    max_skew: Annotated[int, Field(ge=1, le=INT32_MAX)]
    topology_key: Literal["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"]
    label_selector: LabelSelector | None = None


class PodSpec(K8s):
    """The parts of a pod spec the scheduler and kubelet look at."""

    containers: Annotated[list[Container], Field(min_length=1)]
    node_selector: dict[str, str] = {}
    tolerations: list[Toleration] = []
    topology_spread_constraints: list[TopologySpreadConstraint] = []
    host_network: bool = False
    """The pod uses the node's network namespace: no pod address of its own."""


class PodTemplate(K8s):
    """``spec.template``."""

    metadata: TemplateMeta = TemplateMeta()
    spec: PodSpec


class DeploymentSpec(K8s):
    """``spec`` of a Deployment."""

    replicas: Annotated[int, Field(ge=0, le=INT32_MAX)] = 1
    selector: LabelSelector
    template: PodTemplate
    min_ready_seconds: Annotated[int, Field(ge=0, le=INT32_MAX)] = 0


class Deployment(Namespaced):
    """apps/v1 Deployment."""

    api_version: Literal["apps/v1"]
    kind: Literal["Deployment"]
    metadata: ObjectMeta
    spec: DeploymentSpec


class StatefulSetSpec(K8s):
    """``spec`` of a StatefulSet."""

    replicas: Annotated[int, Field(ge=0, le=INT32_MAX)] = 1
    selector: LabelSelector
    template: PodTemplate
    service_name: str | None = None
    """The (headless) Service that gives the pods their DNS names."""
    pod_management_policy: Literal["OrderedReady", "Parallel"] = "OrderedReady"
    min_ready_seconds: Annotated[int, Field(ge=0, le=INT32_MAX)] = 0


class StatefulSet(Namespaced):
    """apps/v1 StatefulSet: pods ``<name>-0..N-1``, started in order (OrderedReady)."""

    api_version: Literal["apps/v1"]
    kind: Literal["StatefulSet"]
    metadata: ObjectMeta
    spec: StatefulSetSpec


class DaemonSetSpec(K8s):
    """``spec`` of a DaemonSet."""

    selector: LabelSelector
    template: PodTemplate
    min_ready_seconds: Annotated[int, Field(ge=0, le=INT32_MAX)] = 0


class DaemonSet(Namespaced):
    """apps/v1 DaemonSet: one pod on every node its pod template allows."""

    api_version: Literal["apps/v1"]
    kind: Literal["DaemonSet"]
    metadata: ObjectMeta
    spec: DaemonSetSpec


IntOrPercent = Annotated[int, Field(ge=0, le=INT32_MAX)] | Annotated[
    str, Field(pattern=r"^[0-9]+%$")]


class PDBSpec(K8s):
    """``spec`` of a policy/v1 PodDisruptionBudget: one of minAvailable and maxUnavailable."""

    min_available: IntOrPercent | None = None
    max_unavailable: IntOrPercent | None = None
    selector: LabelSelector = LabelSelector()

    @model_validator(mode="after")
    def _one(self) -> PDBSpec:
        if self.min_available is not None and self.max_unavailable is not None:
            raise ValueError("minAvailable and maxUnavailable cannot both be set (policy/v1)")
        return self


class PodDisruptionBudget(Namespaced):
    """policy/v1 PodDisruptionBudget: how many pods of a selection voluntary evictions (node
    drains) may take down at once."""

    api_version: Literal["policy/v1"]
    kind: Literal["PodDisruptionBudget"]
    metadata: ObjectMeta
    spec: PDBSpec = PDBSpec()


class CrossVersionObjectReference(K8s):
    """``scaleTargetRef``."""

    api_version: str = "apps/v1"
    kind: Literal["Deployment"]
    name: str


class MetricTarget(K8s):
    """``target`` of a resource metric."""

    type: Literal["Utilization"]
    average_utilization: Annotated[int, Field(ge=1, le=INT32_MAX)]


class ResourceMetric(K8s):
    """``resource`` of a metric: only cpu utilisation is modelled."""

    name: Literal["cpu"]
    target: MetricTarget


class MetricSpec(K8s):
    """One HPA metric."""

    type: Literal["Resource"]
    resource: ResourceMetric


class ScalingRules(K8s):
    """``behavior.scaleUp`` / ``behavior.scaleDown``."""

    stabilization_window_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None


class HPABehavior(K8s):
    """``behavior``."""

    scale_up: ScalingRules = ScalingRules()
    scale_down: ScalingRules = ScalingRules()


class HPASpec(K8s):
    """``spec`` of an autoscaling/v2 (or v1) HorizontalPodAutoscaler."""

    scale_target_ref: CrossVersionObjectReference
    min_replicas: Annotated[int, Field(ge=1, le=INT32_MAX)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=INT32_MAX)]
    metrics: list[MetricSpec] = []
    target_cpu_utilization_percentage: Annotated[int, Field(ge=1, le=INT32_MAX)] | None = None
    behavior: HPABehavior = HPABehavior()

    @model_validator(mode="after")
    def _bounds(self) -> HPASpec:
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"maxReplicas ({self.max_replicas}) must be >= minReplicas "
                             f"({self.min_replicas})")
        return self

    @property
    def target_cpu(self) -> int:
        """Target CPU utilisation percent (80 when no metric is given, as autoscaling/v1)."""
        for m in self.metrics:
            return m.resource.target.average_utilization
        return self.target_cpu_utilization_percentage or 80


class HorizontalPodAutoscaler(K8s):
    """autoscaling/v2 (or v1) HorizontalPodAutoscaler."""

    api_version: Literal["autoscaling/v2", "autoscaling/v1"]
    kind: Literal["HorizontalPodAutoscaler"]
    metadata: ObjectMeta
    spec: HPASpec


class ServicePort(K8s):
    """A Service port."""

    port: Annotated[int, Field(ge=1, le=65535)]
    name: str | None = None
    protocol: PortProtocol = "TCP"
    target_port: int | str | None = None
    node_port: Annotated[int, Field(ge=30000, le=32767)] | None = None


class ServiceSpec(K8s):
    """``spec`` of a Service."""

    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = "ClusterIP"
    cluster_ip: str | None = Field(None, alias="clusterIP")
    ports: list[ServicePort] = []
    selector: dict[str, str] = {}
    load_balancer_ip: str | None = Field(None, alias="loadBalancerIP")
    external_name: str | None = None
    external_traffic_policy: Literal["Cluster", "Local"] = "Cluster"
    internal_traffic_policy: Literal["Cluster", "Local"] = "Cluster"
    session_affinity: Literal["None", "ClientIP"] = "None"
    session_affinity_config: dict[str, Any] = {}
    load_balancer_source_ranges: list[str] = []

    @model_validator(mode="after")
    def _affinity_timeout(self) -> ServiceSpec:
        client = (self.session_affinity_config or {}).get("clientIP")
        timeout = client.get("timeoutSeconds") if isinstance(client, dict) else None
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                    or not 0 < timeout <= MAX_AFFINITY_TIMEOUT):
            raise ValueError("sessionAffinityConfig.clientIP.timeoutSeconds: expected an integer "
                             f"from 1 to {MAX_AFFINITY_TIMEOUT:.0f} (Kubernetes' range), "
                             f"got {timeout!r:.60}")
        return self


ILB_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal"
ILB_SUBNET_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal-subnet"


class Service(K8s):
    """v1 Service."""

    api_version: Literal["v1"]
    kind: Literal["Service"]
    metadata: ObjectMeta
    spec: ServiceSpec = ServiceSpec()

    @property
    def is_internal_lb(self) -> bool:
        """An internal load balancer: its frontend takes an address of a VNet subnet."""
        return (self.spec.type == "LoadBalancer"
                and self.metadata.annotations.get(ILB_ANNOTATION, "").lower() == "true")

    @property
    def affinity_timeout(self) -> float | None:
        """ClientIP session affinity: seconds a client keeps its endpoint (default 10,800 s,
        at most 86,400; virtual-ips.md); None without affinity."""
        if self.spec.session_affinity != "ClientIP":
            return None
        client = (self.spec.session_affinity_config or {}).get("clientIP") or {}
        return float(min(int(client.get("timeoutSeconds", DEFAULT_AFFINITY_TIMEOUT)),
                         MAX_AFFINITY_TIMEOUT))

    @property
    def needs_cluster_ip(self) -> bool:
        """Whether the Service gets an address from the service CIDR."""
        return self.spec.type != "ExternalName" and self.spec.cluster_ip != "None"


class Other(K8s):
    """Objects read now and given behaviour by the traffic plane (Ingress, NetworkPolicy)."""

    api_version: str
    kind: Literal["Ingress", "NetworkPolicy"]
    metadata: ObjectMeta
    spec: dict[str, Any] = {}


class NamespaceMeta(K8s):
    """``metadata`` of a Namespace (its labels feed NetworkPolicy namespaceSelectors)."""

    name: Annotated[str, Field(pattern=DNS1123, max_length=63)]
    labels: dict[str, str] = {}


class Namespace(K8s):
    """v1 Namespace."""

    api_version: Literal["v1"]
    kind: Literal["Namespace"]
    metadata: NamespaceMeta


KINDS: dict[str, type[K8s]] = {
    "Namespace": Namespace,
    "Deployment": Deployment,
    "StatefulSet": StatefulSet,
    "DaemonSet": DaemonSet,
    "PodDisruptionBudget": PodDisruptionBudget,
    "HorizontalPodAutoscaler": HorizontalPodAutoscaler,
    "Service": Service,
    "Ingress": Other,
    "NetworkPolicy": Other,
}
"""Kinds a scenario may contain, by ``kind``."""
