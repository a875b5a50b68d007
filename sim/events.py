"""Every event the model publishes: frozen records named by real Kubernetes/Azure reasons.

An event holds domain facts only; the bus adds ``seq``, ``sim_time`` and ``run_id``. Each
type knows its ``reason`` (the string ``kubectl get events`` would show), its ``type``
(Normal/Warning), the ``category`` used in MQTT topics, the object it is about and a
human message worded like the real component's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, ClassVar


class EventType(StrEnum):
    """Kubernetes event types."""

    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True, slots=True)
class SimEvent:
    """Base of every model event."""

    reason: ClassVar[str] = ""
    type: ClassVar[EventType] = EventType.NORMAL
    category: ClassVar[str] = "cluster"
    kind: ClassVar[str] = "Node"
    """Kind of the involved object."""

    def involved_object(self) -> dict[str, str]:
        """The Kubernetes-style ``involvedObject`` of the event."""
        name = getattr(self, "node", "") or getattr(self, "name", "")
        return {"kind": self.kind, "name": name}

    @property
    def message(self) -> str:
        """Human-readable message, worded like the real component's."""
        return self.reason

    def fields(self) -> dict[str, Any]:
        """The event's own fields, JSON-ready."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class NamespacedEvent(SimEvent):
    """An event about a namespaced object other than a pod (Service, Deployment, HPA)."""

    namespace: str
    name: str

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}


def _pod_object(namespace: str, pod: str) -> dict[str, str]:
    return {"kind": "Pod", "namespace": namespace, "name": pod}


# --- IP address management -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SubnetIsFull(SimEvent):
    """A node (or surge node) could not get its addresses: Azure's ``SubnetIsFull``."""

    reason: ClassVar[str] = "SubnetIsFull"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "ipam"
    kind: ClassVar[str] = "AgentPool"
    subnet: str
    cidr: str
    requested: int
    available: int
    node_pool: str
    operation: str
    """What needed the addresses: ``scale``, ``autoscale``, ``upgrade-surge``, ``repair``, ``create``."""

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.node_pool}

    @property
    def message(self) -> str:
        return (f"Subnet {self.subnet} with address prefix {self.cidr} does not have enough "
                f"capacity for {self.requested} IP addresses ({self.available} available); "
                f"{self.operation} of agent pool {self.node_pool} failed")


@dataclass(frozen=True, slots=True)
class FailedCreatePodSandBox(SimEvent):
    """The CNI plugin could not give the pod an address, so kubelet cannot start it."""

    reason: ClassVar[str] = "FailedCreatePodSandBox"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "ipam"
    kind: ClassVar[str] = "Pod"
    namespace: str
    pod: str
    node: str
    detail: str

    def involved_object(self) -> dict[str, str]:
        return _pod_object(self.namespace, self.pod)

    @property
    def message(self) -> str:
        return (f"Failed to create pod sandbox: plugin failed to set up network for sandbox "
                f"on node {self.node}: {self.detail}")


@dataclass(frozen=True, slots=True)
class CIDRNotAvailable(SimEvent):
    """The node IPAM controller has no pod range left for a new node (kubenet, Overlay)."""

    reason: ClassVar[str] = "CIDRNotAvailable"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "ipam"
    node: str
    pod_cidr: str

    @property
    def message(self) -> str:
        return f"Node {self.node} status is now: CIDRNotAvailable (pod CIDR {self.pod_cidr} is exhausted)"


@dataclass(frozen=True, slots=True)
class FailedToCreateRoute(SimEvent):
    """kubenet: the route controller could not add the node's route (400-route UDR limit)."""

    reason: ClassVar[str] = "FailedToCreateRoute"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "ipam"
    node: str
    route_table: str
    routes: int
    limit: int

    @property
    def message(self) -> str:
        return (f"Could not create route for node {self.node}: route table {self.route_table} "
                f"already holds {self.routes} routes (limit {self.limit})")


@dataclass(frozen=True, slots=True)
class ClusterIPNotAllocated(NamespacedEvent):
    """The service CIDR has no free address for a new Service."""

    reason: ClassVar[str] = "ClusterIPNotAllocated"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "ipam"
    kind: ClassVar[str] = "Service"
    service_cidr: str

    @property
    def message(self) -> str:
        return f"failed to allocate a serviceIP: range {self.service_cidr} is full"


@dataclass(frozen=True, slots=True)
class SyncLoadBalancerFailed(NamespacedEvent):
    """The cloud provider could not set up an internal load balancer frontend."""

    reason: ClassVar[str] = "SyncLoadBalancerFailed"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "ipam"
    kind: ClassVar[str] = "Service"
    detail: str

    @property
    def message(self) -> str:
        return f"Error syncing load balancer: failed to ensure load balancer: {self.detail}"


# --- nodes -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RegisteredNode(SimEvent):
    """A new VM joined the cluster (its addresses were allocated)."""

    reason: ClassVar[str] = "RegisteredNode"
    category: ClassVar[str] = "node"
    node: str
    node_pool: str
    zone: str
    ip: str

    @property
    def message(self) -> str:
        return f"Node {self.node} event: Registered Node {self.node} in Controller"


@dataclass(frozen=True, slots=True)
class NodeReady(SimEvent):
    """kubelet reports Ready."""

    reason: ClassVar[str] = "NodeReady"
    category: ClassVar[str] = "node"
    node: str

    @property
    def message(self) -> str:
        return f"Node {self.node} status is now: NodeReady"


@dataclass(frozen=True, slots=True)
class NodeNotReady(SimEvent):
    """The node stopped posting status for longer than node-monitor-grace-period."""

    reason: ClassVar[str] = "NodeNotReady"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "node"
    node: str
    zone: str

    @property
    def message(self) -> str:
        return f"Node {self.node} status is now: NodeNotReady"


@dataclass(frozen=True, slots=True)
class RemovingNode(SimEvent):
    """The node was deleted (scale-down, upgrade, repair by redeploy); its addresses are freed."""

    reason: ClassVar[str] = "RemovingNode"
    category: ClassVar[str] = "node"
    node: str
    why: str

    @property
    def message(self) -> str:
        return f"Node {self.node} event: Removing Node {self.node} from Controller ({self.why})"


@dataclass(frozen=True, slots=True)
class NodeRepair(SimEvent):
    """AKS node auto-repair: ``NodeRebootStart``, ``NodeReimageEnd``, ``NodeRedeployError``, ..."""

    type: ClassVar[EventType] = EventType.NORMAL
    category: ClassVar[str] = "repair"
    node: str
    action: str
    """``Reboot``, ``Reimage`` or ``Redeploy``."""
    stage: str
    """``Start``, ``End`` or ``Error``."""

    @property
    def reason(self) -> str:  # type: ignore[override]  # a property over the base's ClassVar
        """``Node<Action><Stage>``, e.g. ``NodeRebootStart`` (AKS node auto-repair events)."""
        return f"Node{self.action}{self.stage}"

    @property
    def message(self) -> str:
        verb = {"Start": "started", "End": "succeeded", "Error": "failed"}[self.stage]
        return f"Node auto-repair {self.action.lower()} of {self.node} {verb}"


@dataclass(frozen=True, slots=True)
class NodeProvisioningFailed(SimEvent):
    """A VM did not become a Ready node (no addresses, no pod range, or zone down)."""

    reason: ClassVar[str] = "NodeProvisioningFailed"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "node"
    kind: ClassVar[str] = "AgentPool"
    node_pool: str
    zone: str
    cause: str

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.node_pool}

    @property
    def message(self) -> str:
        return f"Failed to provision a node in agent pool {self.node_pool} (zone {self.zone}): {self.cause}"


# --- pods and workloads ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scheduled(SimEvent):
    """kube-scheduler bound the pod to a node."""

    reason: ClassVar[str] = "Scheduled"
    category: ClassVar[str] = "scheduler"
    kind: ClassVar[str] = "Pod"
    namespace: str
    pod: str
    node: str

    def involved_object(self) -> dict[str, str]:
        return _pod_object(self.namespace, self.pod)

    @property
    def message(self) -> str:
        return f"Successfully assigned {self.namespace}/{self.pod} to {self.node}"


@dataclass(frozen=True, slots=True)
class FailedScheduling(SimEvent):
    """No node passes the filters (message summarises why, as kube-scheduler does)."""

    reason: ClassVar[str] = "FailedScheduling"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "scheduler"
    kind: ClassVar[str] = "Pod"
    namespace: str
    pod: str
    detail: str

    def involved_object(self) -> dict[str, str]:
        return _pod_object(self.namespace, self.pod)

    @property
    def message(self) -> str:
        return self.detail


@dataclass(frozen=True, slots=True)
class TaintManagerEviction(SimEvent):
    """The taint manager deletes a pod whose toleration of a NoExecute taint ran out."""

    reason: ClassVar[str] = "TaintManagerEviction"
    category: ClassVar[str] = "pod"
    kind: ClassVar[str] = "Pod"
    namespace: str
    pod: str
    node: str

    def involved_object(self) -> dict[str, str]:
        return _pod_object(self.namespace, self.pod)

    @property
    def message(self) -> str:
        return f"Marking for deletion Pod {self.namespace}/{self.pod}"


@dataclass(frozen=True, slots=True)
class Killing(SimEvent):
    """kubelet stops a pod (drain, scale-down, pod kill)."""

    reason: ClassVar[str] = "Killing"
    category: ClassVar[str] = "pod"
    kind: ClassVar[str] = "Pod"
    namespace: str
    pod: str
    why: str

    def involved_object(self) -> dict[str, str]:
        return _pod_object(self.namespace, self.pod)

    @property
    def message(self) -> str:
        return f"Stopping container of {self.namespace}/{self.pod}: {self.why}"


@dataclass(frozen=True, slots=True)
class ScalingReplicaSet(NamespacedEvent):
    """The Deployment controller changed the desired replicas."""

    reason: ClassVar[str] = "ScalingReplicaSet"
    category: ClassVar[str] = "workload"
    kind: ClassVar[str] = "Deployment"
    old: int
    new: int

    @property
    def message(self) -> str:
        verb = "up" if self.new > self.old else "down"
        return f"Scaled {verb} replica set {self.name} from {self.old} to {self.new}"


@dataclass(frozen=True, slots=True)
class SuccessfulRescale(NamespacedEvent):
    """The HorizontalPodAutoscaler changed its target's replicas."""

    reason: ClassVar[str] = "SuccessfulRescale"
    category: ClassVar[str] = "hpa"
    kind: ClassVar[str] = "HorizontalPodAutoscaler"
    replicas: int
    utilization: float
    target: float

    @property
    def message(self) -> str:
        side = "above" if self.utilization > self.target else "below"
        return (f"New size: {self.replicas}; reason: cpu resource utilization "
                f"(percentage of request) {side} target")


# --- cluster autoscaler and AKS operations ---------------------------------------------

@dataclass(frozen=True, slots=True)
class ScaledUpGroup(SimEvent):
    """cluster-autoscaler grew a node group for pending pods."""

    reason: ClassVar[str] = "ScaledUpGroup"
    category: ClassVar[str] = "autoscaler"
    kind: ClassVar[str] = "ConfigMap"
    node_pool: str
    old: int
    new: int
    max: int

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "namespace": "kube-system", "name": "cluster-autoscaler-status"}

    @property
    def message(self) -> str:
        return (f"Scale-up: setting group {self.node_pool} size to {self.new} instead of "
                f"{self.old} (max: {self.max})")


@dataclass(frozen=True, slots=True)
class NotTriggerScaleUp(SimEvent):
    """cluster-autoscaler cannot help pending pods (e.g. max node group size reached)."""

    reason: ClassVar[str] = "NotTriggerScaleUp"
    category: ClassVar[str] = "autoscaler"
    kind: ClassVar[str] = "Pod"
    namespace: str
    pod: str
    detail: str

    def involved_object(self) -> dict[str, str]:
        return _pod_object(self.namespace, self.pod)

    @property
    def message(self) -> str:
        return f"pod didn't trigger scale-up: {self.detail}"


@dataclass(frozen=True, slots=True)
class FailedToScaleUpGroup(SimEvent):
    """A scale-up did not produce nodes; the group backs off."""

    reason: ClassVar[str] = "FailedToScaleUpGroup"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "autoscaler"
    kind: ClassVar[str] = "ConfigMap"
    node_pool: str
    cause: str
    backoff: float

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "namespace": "kube-system", "name": "cluster-autoscaler-status"}

    @property
    def message(self) -> str:
        return (f"Scale-up failed for group {self.node_pool}: {self.cause}; "
                f"backing off for {self.backoff:g}s")


@dataclass(frozen=True, slots=True)
class ScaleDown(SimEvent):
    """cluster-autoscaler removes an unneeded node."""

    reason: ClassVar[str] = "ScaleDown"
    category: ClassVar[str] = "autoscaler"
    node: str

    @property
    def message(self) -> str:
        return f"marked the node {self.node} as toBeDeleted/unschedulable"


@dataclass(frozen=True, slots=True)
class UpgradeEvent(SimEvent):
    """AKS rolling upgrade steps, as the upgrader reports them: Surge, Drain, Upgrade, Delete."""

    category: ClassVar[str] = "upgrade"
    node: str
    node_pool: str

    @property
    def message(self) -> str:
        return f"{self.reason} node {self.node} of agent pool {self.node_pool}"


@dataclass(frozen=True, slots=True)
class Surge(UpgradeEvent):
    """A surge (buffer) node was created for the upgrade."""

    reason: ClassVar[str] = "Surge"


@dataclass(frozen=True, slots=True)
class Drain(UpgradeEvent):
    """A node is cordoned and drained (for an upgrade, or a manual scale-down)."""

    reason: ClassVar[str] = "Drain"


@dataclass(frozen=True, slots=True)
class Upgrade(UpgradeEvent):
    """A drained node was reimaged to the new version."""

    reason: ClassVar[str] = "Upgrade"


@dataclass(frozen=True, slots=True)
class OperationStatus(SimEvent):
    """An AKS control-plane operation (scale, upgrade) started, succeeded or failed."""

    category: ClassVar[str] = "operation"
    kind: ClassVar[str] = "AgentPool"
    node_pool: str
    operation: str
    detail: str

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.node_pool}

    @property
    def message(self) -> str:
        return f"{self.operation} of agent pool {self.node_pool}: {self.detail}"


@dataclass(frozen=True, slots=True)
class OperationStarted(OperationStatus):
    """The operation was accepted."""

    reason: ClassVar[str] = "OperationStarted"


@dataclass(frozen=True, slots=True)
class OperationSucceeded(OperationStatus):
    """The operation completed."""

    reason: ClassVar[str] = "OperationSucceeded"


@dataclass(frozen=True, slots=True)
class OperationFailed(OperationStatus):
    """The operation stopped with an error (e.g. SubnetIsFull on a surge node)."""

    reason: ClassVar[str] = "OperationFailed"
    type: ClassVar[EventType] = EventType.WARNING


# --- traffic ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TrafficTick(SimEvent):
    """What one flow's clients saw during one tick: a summary, never one event per request."""

    reason: ClassVar[str] = "TrafficTick"
    category: ClassVar[str] = "traffic"
    kind: ClassVar[str] = "Flow"
    flow: str
    service: str
    start: float
    tick: float
    requests: int
    ok: int
    errors: str
    """Errors by cause, as canonical JSON (``{"dead_endpoint": 12, "timeout": 3}``)."""
    p50: float | None
    p90: float | None
    p99: float | None

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.flow}

    @property
    def message(self) -> str:
        failed = self.requests - self.ok
        tail = f", p99 {self.p99 * 1000:.0f} ms" if self.p99 is not None else ""
        return (f"{self.flow} -> {self.service}: {self.requests} requests, {failed} failed "
                f"{self.errors if failed else ''}{tail}").replace("  ", " ")


@dataclass(frozen=True, slots=True)
class SNATPortsReallocated(SimEvent):
    """The outbound backend pool crossed a tier: every node's SNAT ports changed."""

    reason: ClassVar[str] = "SNATPortsReallocated"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "snat"
    kind: ClassVar[str] = "LoadBalancer"
    pool_size: int
    old: int
    new: int

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "name": "kubernetes"}

    @property
    def message(self) -> str:
        change = "halved" if self.new * 2 == self.old else "changed"
        return (f"Backend pool is now {self.pool_size} nodes: SNAT ports per node {change} from "
                f"{self.old} to {self.new}; flows on reclaimed ports are cut")


@dataclass(frozen=True, slots=True)
class SNATPortExhaustion(SimEvent):
    """A node has no free SNAT port left for a destination: new connections there fail."""

    reason: ClassVar[str] = "SNATPortExhaustion"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "snat"
    node: str
    destination: str
    ports: int

    @property
    def message(self) -> str:
        return (f"Node {self.node} uses all its {self.ports} SNAT ports for {self.destination}: "
                "new outbound connections there time out")


# --- chaos -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FaultInjected(SimEvent):
    """A fault took effect; with the scenario and seed this makes a run replayable."""

    reason: ClassVar[str] = "FaultInjected"
    type: ClassVar[EventType] = EventType.WARNING
    category: ClassVar[str] = "chaos"
    kind: ClassVar[str] = "Fault"
    fault: str
    target: str
    spec: str
    """The fault's parameters as canonical JSON."""

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "name": f"{self.fault}/{self.target}"}

    @property
    def message(self) -> str:
        return f"Injected {self.fault} on {self.target}"


@dataclass(frozen=True, slots=True)
class FaultReverted(SimEvent):
    """A fault with a duration ended."""

    reason: ClassVar[str] = "FaultReverted"
    category: ClassVar[str] = "chaos"
    kind: ClassVar[str] = "Fault"
    fault: str
    target: str

    def involved_object(self) -> dict[str, str]:
        return {"kind": self.kind, "name": f"{self.fault}/{self.target}"}

    @property
    def message(self) -> str:
        return f"Reverted {self.fault} on {self.target}"


def _event_classes() -> list[type[SimEvent]]:
    """SimEvent and every subclass of it, depth first."""
    found: list[type[SimEvent]] = []
    stack: list[type[SimEvent]] = [SimEvent]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def event_kinds() -> list[tuple[str, str, str]]:
    """Every (category, reason, type) the model can publish, sorted: the label sets of the
    event counters (so each starts at 0 when a run starts), the reasons ``expect:`` blocks may
    name and the categories ``aks-sim watch`` may filter on. A class whose reason is a property
    (NodeRepair) publishes the reasons it can compute."""
    kinds: set[tuple[str, str, str]] = set()
    for cls in _event_classes():
        reason = cls.__dict__.get("reason")
        if isinstance(reason, str) and reason:
            kinds.add((cls.category, reason, str(cls.type)))
    for action in ("Reboot", "Reimage", "Redeploy"):
        for stage in ("Start", "End", "Error"):
            kinds.add((NodeRepair.category, f"Node{action}{stage}", str(NodeRepair.type)))
    return sorted(kinds)


def known_reasons() -> set[str]:
    """Every reason the model can publish (for validating ``expect:`` blocks)."""
    return {reason for _, reason, _ in event_kinds()}


def known_categories() -> set[str]:
    """Every category an event of the model can have (the third MQTT topic level)."""
    return {category for category, _, _ in event_kinds()}


def event_fields(reason: str) -> tuple[str, ...] | None:
    """The ``fields`` names of the events with *reason* (None: no such event)."""
    import dataclasses

    for cls in _event_classes():
        if cls.__dict__.get("reason") == reason:
            return tuple(f.name for f in dataclasses.fields(cls))
    return None
