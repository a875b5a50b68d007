"""The nouns of the cluster as state: node pools, nodes, pods, workloads, Services.

Kubernetes keeps its objects apart from the controllers that act on them; so does the model.
Nothing here imports a controller: the controllers (``sim.cluster.nodes``, ``sim.workloads.controller``,
``sim.svc``, ``sim.ipam``, the traffic path) import these, and each is the only one to change
its part of them.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.azure.vmsizes import allocatable
from sim.queueing.podqueue import PodQueue
from sim.scenario.manifests import DaemonSet, Deployment, Service, StatefulSet
from sim.scenario.schema import NodePoolSpec, node_name, vmss_id

# --- what the scheduler knows of a pod (kube-scheduler) ---------------------------------


@dataclass
class SpreadConstraint:
    """A topology spread constraint reduced to what the scheduler needs."""

    key: str
    """``zone`` or ``hostname``."""
    max_skew: int
    hard: bool
    """DoNotSchedule (a filter) rather than ScheduleAnyway (a score)."""


DEFAULT_SPREAD = (SpreadConstraint("hostname", 3, False), SpreadConstraint("zone", 5, False))


@dataclass
class Signature:
    """What the scheduler needs to know about a pod: shared by every replica of a Deployment."""

    key: str
    cpu: int
    memory: int
    pools: np.ndarray | None
    """Allowed pool indices (nodeSelector), or None for any pool."""
    tolerates_taints: bool = False
    spread: tuple[SpreadConstraint, ...] = DEFAULT_SPREAD
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    """This workload's pods per node row."""
    zone_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """This workload's pods per zone (kept on bind/unbind, for zone spread)."""


# --- nodes (Azure VM scale sets, as the control plane sees them) ---------------------------


class NodeNetwork:
    """Per-node address state, owned by the strategy that filled it."""

    __slots__ = ("node_ip", "node_ips", "pod_range", "free", "pod_ips_held", "blocks",
                 "route", "in_use", "next_range_ip")

    def __init__(self) -> None:
        self.node_ip = 0
        self.node_ips: list[int] = []
        """Addresses taken from the node subnet (node-subnet CNI: 1 + maxPods)."""
        self.pod_range = 0
        """First address of the node's /24 pod range (kubenet, Overlay); 0 when none."""
        self.free: list[int] = []
        """Pod addresses held by the node and not used by a pod (a min-heap)."""
        self.pod_ips_held: list[int] = []
        """Addresses taken from a pod subnet in batches (dynamic)."""
        self.blocks: list[int] = []
        """/28 blocks taken from a pod subnet (static block)."""
        self.route = False
        self.in_use = 0
        self.next_range_ip = 0
        """The next address to hand out from the pod range (kubenet, Overlay)."""


class NodePool:
    """An AKS agent pool (a VM scale set)."""

    def __init__(self, spec: NodePoolSpec, index: int, cluster_name: str, max_pods: int,
                 zones: list[str], subnet: str, pod_subnet: str | None, version: str) -> None:
        self.spec = spec
        self.name = spec.name
        self.index = index
        self.max_pods = max_pods
        self.alloc = allocatable(spec.vm_size, max_pods)
        self.zones = zones
        self.subnet = subnet
        self.pod_subnet = pod_subnet
        self.version = version
        self.nodes: dict[str, Node] = {}
        self.zone_count: dict[str, int] = dict.fromkeys(zones, 0)
        """Nodes of the pool per zone (what VMSS balances)."""
        self.cluster_name = cluster_name
        self.vmss_id = vmss_id(cluster_name, spec.name)
        self._instance = 0
        self.upgrading = False
        self.operation: str | None = None
        """The provisioning state of the pool's running operation (``Scaling``,
        ``Upgrading``), None when it is Succeeded/Failed: ARM refuses another write meanwhile."""

    def next_name(self) -> str:
        """VMSS instance names: ``aks-<pool>-<id>-vmss<6 base-36 digits>``."""
        n = self._instance
        self._instance += 1
        return node_name(self.cluster_name, self.name, n)

    @property
    def size(self) -> int:
        """Nodes that exist or are being created (what the VMSS capacity says)."""
        return len(self.nodes)


def find_node(pools: dict[str, NodePool], name: str) -> Node | None:
    """A node that exists now (registered or still provisioning), by name; None if gone."""
    return next((p.nodes[name] for p in pools.values() if name in p.nodes), None)


class Node:
    """One VM of a pool, as the control plane sees it."""

    __slots__ = ("name", "pool", "zone", "zone_index", "subnet", "pod_subnet", "max_pods",
                 "net", "state", "alive", "fixed_by", "row", "pods", "created_at", "ready_at",
                 "not_ready_since", "last_seen", "network_ok", "route_ok", "taint_epoch",
                 "repairing", "repairs", "surge", "version", "ready_event", "cordoned")

    def __init__(self, pool: NodePool, name: str, zone: str, zone_index: int, now: float,
                 env: simpy.Environment) -> None:
        self.name = name
        self.pool = pool
        self.zone = zone
        self.zone_index = zone_index
        self.subnet = pool.subnet
        self.pod_subnet = pool.pod_subnet
        self.max_pods = pool.max_pods
        self.net = NodeNetwork()
        self.state = "Provisioning"
        self.alive = True
        self.fixed_by = "reboot"
        self.row = -1
        self.pods: dict[str, Pod] = {}
        self.created_at = now
        self.ready_at = -1.0
        self.not_ready_since = -1.0
        self.last_seen = now
        self.network_ok = True
        self.route_ok = True
        self.taint_epoch = 0
        self.repairing = False
        self.repairs = 0
        self.surge = False
        self.version = pool.version
        self.ready_event: simpy.Event = env.event()
        self.cordoned = False

    def __repr__(self) -> str:
        return f"Node({self.name}, {self.state})"


# --- workloads and their pods ----------------------------------------------------------------

POD_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""Alphabet of generated name suffixes (k8s.io/apimachinery utilrand)."""


class Pod:
    """One pod of a Deployment."""

    __slots__ = ("name", "dep", "node", "ip", "phase", "ready", "created_at", "last_warned",
                 "sandbox_warned", "epoch", "queue")

    def __init__(self, name: str, dep: DeploymentState, now: float) -> None:
        self.name = name
        self.dep = dep
        self.node: Node | None = None
        self.ip = 0
        self.phase = "Pending"
        """Pending, ContainerCreating, Running, CrashLoopBackOff, Terminated."""
        self.ready = False
        self.created_at = now
        self.last_warned = -math.inf
        self.sandbox_warned = False
        self.epoch = 0
        self.queue: PodQueue | None = None
        """Requests waiting for or being served by this pod (created with its first one)."""


class DeploymentState:
    """A Deployment and the live pods of its current ReplicaSet."""

    def __init__(self, manifest: Deployment | StatefulSet | DaemonSet, sig: Signature,
                 unreachable: int, not_ready: int) -> None:
        self.manifest = manifest
        self.kind = manifest.kind
        """Deployment, StatefulSet or DaemonSet."""
        self.namespace = manifest.metadata.namespace
        self.name = manifest.metadata.name
        self.key = manifest.key
        replicas = manifest.spec.replicas if not isinstance(manifest, DaemonSet) else 0
        self.desired = replicas
        self.initial = replicas
        self.ordered = (isinstance(manifest, StatefulSet)
                        and manifest.spec.pod_management_policy == "OrderedReady")
        self.host_network = manifest.spec.template.spec.host_network
        self.sig = sig
        self.unreachable_toleration = unreachable
        self.not_ready_toleration = not_ready
        probe = next((c.readiness_probe for c in manifest.spec.template.spec.containers
                      if c.readiness_probe), None)
        self.readiness_delay = float(probe.initial_delay_seconds) if probe else 0.0
        self.min_ready = float(manifest.spec.min_ready_seconds)
        self.pods: dict[str, Pod] = {}
        self.rs_hash = _rs_hash(manifest.key)
        self.available = 0
        self.running = 0
        """Pods in phase Running (kept as they change: telemetry reads it every sample)."""
        # availability accounting for the report
        self.reached_desired = False
        self.min_available: int | None = None
        self.below_since: float | None = None
        self.unavailable_seconds = 0.0
        self.utilization: list[tuple[float, float]] = []
        self.cpu_seconds = 0.0
        """CPU the Deployment's pods spent serving traffic (core-seconds, as dispatched)."""
        self.cpu_cap = 0.0
        """Cores one pod can use serving traffic (workers x cpu per worker)."""


def _rs_hash(key: str) -> str:
    n = zlib.crc32(key.encode())
    out = ""
    for _ in range(10):
        n, r = divmod(n, len(POD_NAME_ALPHABET))
        out += POD_NAME_ALPHABET[r]
    return out


# --- Services --------------------------------------------------------------------------------


class ServiceState:
    """One Service of the run and its current endpoints."""

    def __init__(self, manifest: Service, cluster_ip: int) -> None:
        self.manifest = manifest
        self.namespace = manifest.metadata.namespace
        self.name = manifest.metadata.name
        self.key = f"{self.namespace}/{self.name}"
        self.cluster_ip = cluster_ip
        self.type = manifest.spec.type
        self.local = manifest.spec.external_traffic_policy == "Local"
        self.internal_local = manifest.spec.internal_traffic_policy == "Local"
        """``internalTrafficPolicy: Local``: ClusterIP traffic only to the client node's endpoints."""
        self.headless = manifest.spec.type != "ExternalName" and manifest.spec.cluster_ip == "None"
        """No ClusterIP: DNS answers with the ready pods' IPs and clients connect to them."""
        self.internal = manifest.is_internal_lb
        self.affinity = manifest.affinity_timeout
        """ClientIP session affinity timeout (seconds), None without affinity."""
        self.ports = [p.port for p in manifest.spec.ports]
        self.deployments: list[DeploymentState] = []
        self.endpoints: list[Pod] = []
        """Ready pods, as kube-proxy sees them now (sorted by name: deterministic)."""
        self.sync_due = False
        """A resync of the endpoints is scheduled (the EndpointSlice controller's queue)."""

    def target(self, port: int) -> tuple[int, str | None]:
        """The container port (and its name) a Service port forwards to (targetPort)."""
        spec = next((p for p in self.manifest.spec.ports if p.port == port), None)
        target = port if spec is None or spec.target_port is None else spec.target_port
        for dep in self.deployments:
            for c in dep.manifest.spec.template.spec.containers:
                for cp in c.ports:
                    if cp.name == target or cp.container_port == target:
                        return cp.container_port, cp.name
        return (target if isinstance(target, int) else port), None

    def port(self, port: int | None) -> int | None:
        """The Service port a client asked for (its first one by default), or None."""
        if port is None:
            return self.ports[0] if self.ports else None
        return port if port in self.ports else None
