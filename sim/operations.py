"""AKS operations on a timeline: scale a node pool, rolling upgrade, scale a Deployment.

Rolling upgrade (upgrade-aks-node-pools-rolling.md, how-does-upgrade-happen): AKS adds
``maxSurge`` buffer nodes, then cordons and drains up to that many old nodes at a time,
reimages them to the new version (they become the next buffers), and deletes the buffer
nodes at the end. A node being reimaged restarts: its kubelet posts no status, so it goes
NotReady after the node-monitor grace period and Ready again when the reimage is done. Like
AKS, it first checks that the subnet holds the surge nodes (``InsufficientSubnetSize``) and
stops with an error when a surge node cannot get addresses. A node-image upgrade
(``nodeImageOnly``) goes the same way and keeps the version.

Manual scale-down (``az aks nodepool scale`` to fewer nodes): the chosen nodes are cordoned
and drained (``nodeDrainTime``), then their VMs deleted (``nodeDeletionTime``); the operation
succeeds when they are gone.

Drains go through the eviction API: a pod a PodDisruptionBudget protects is evicted only while
the budget allows (the API answers 429 otherwise) and the drain retries every 5 s
(``kubectl drain``'s interval); daemon pods stay (``--ignore-daemonsets``). A drain that cannot
finish within the pool's ``drainTimeoutInMinutes`` (upgradeSettings, default 30 minutes: "the
amount of time to wait on eviction of pods ... This eviction wait time honors waiting on pod
disruption budgets. If this time is exceeded, the upgrade fails") fails the operation with
AKS's error (learn.microsoft.com troubleshoot/azure/azure-kubernetes error-code-poddrainfailure:
"(UpgradeFailed) Drain node <node> failed when evicting pod <pod> failed with Too Many Requests
error. ..."); the node stays cordoned and the pool is left as it is.

One operation at a time per pool, as ARM does: a scale or upgrade of a pool whose previous
operation is still running is refused at once with HTTP 409 ``OperationNotAllowed``
("Operation is not allowed: Another operation (<pool> - Scaling) is in progress, please wait
for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation
for more details", the AKS RP's text as az CLI prints it: Azure/azure-workload-identity#417,
cilium/cilium#25944): an ``OperationFailed`` event, the running operation goes on, and so
does the run.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim import sizing
from sim.events import (
    Drain,
    OperationFailed,
    OperationStarted,
    OperationSucceeded,
    SubnetIsFull,
    Surge,
    Upgrade,
)
from sim.scenario.schema import (
    IngressChange,
    NetworkPolicyChange,
    ScaleDeployment,
    ScaleNodePool,
    UpgradeNodePool,
)

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import Node, NodePool


def preflight(m: Model, pool: NodePool, nodes: int, operation: str) -> str | None:
    """AKS's subnet check before adding *nodes*: the error text, or None when they fit."""
    for subnet, per_node, free in m.ipam.demand(pool):
        need = per_node * nodes
        if need > free:
            m.bus.publish(SubnetIsFull(subnet.name, str(subnet.cidr), need, free, pool.name,
                                       operation))
            return (f"InsufficientSubnetSize: Pre-allocated IPs {need} exceeds IPs available "
                    f"{free} in Subnet Cidr {subnet.cidr}, Subnet Name {subnet.name}. "
                    "http://aka.ms/aks/insufficientsubnetsize")
    return None


def run(m: Model, op: ScaleNodePool | UpgradeNodePool | ScaleDeployment | NetworkPolicyChange
        | IngressChange) -> None:
    """Start *op* now."""
    if isinstance(op, NetworkPolicyChange):
        m.traffic.change_policy(op.apply, op.delete)
    elif isinstance(op, IngressChange):
        m.traffic.change_ingress(op.apply, op.delete)
    elif isinstance(op, ScaleDeployment):
        m.workloads.set_replicas(m.workloads.find(op.deployment), op.replicas)
    elif isinstance(op, ScaleNodePool):
        if _admitted(m, op.node_pool, "scale", "Scaling"):
            m.env.process(_serialised(m, op.node_pool, _scale(m, op)))
    else:
        kind = "node-image-upgrade" if op.node_image_only else "upgrade"
        if _admitted(m, op.node_pool, kind, "Upgrading"):
            m.env.process(_serialised(m, op.node_pool, _upgrade(m, op)))


def not_allowed(pool: str, state: str) -> str:
    """The AKS RP's 409 for a write on a pool with an operation in progress."""
    return (f"(OperationNotAllowed) HTTP 409: Operation is not allowed: Another operation "
            f"({pool} - {state}) is in progress, please wait for it to finish before starting a "
            "new operation. See https://aka.ms/aks-pending-operation for more details")


def _admitted(m: Model, name: str, operation: str, state: str) -> bool:
    """Whether ARM accepts *operation* on the pool now (the pool then is in *state* at once,
    so a second write at the same instant is refused too); if not, the 409 as an event."""
    pool = m.pools[name]
    if pool.operation is None:
        pool.operation = state
        return True
    m.bus.publish(OperationFailed(name, operation, not_allowed(name, pool.operation)))
    return False


def _serialised(m: Model, name: str,
                body: Generator[simpy.Event, Any, None]) -> Generator[simpy.Event, Any, None]:
    """Run *body*; the pool's operation ends with it."""
    pool = m.pools[name]
    try:
        yield from body
    finally:
        pool.operation = None


EVICTION_RETRY = 5.0
"""Seconds between kubectl drain's eviction attempts after a 429."""


def drain_failed(node: str, pod: str, namespace: str, pdb: str, unready: int, code: str) -> str:
    """AKS's error for a drain a PodDisruptionBudget blocked past the drain timeout
    (error-code-poddrainfailure, az CLI 2.67+ wording); *code* empty for a scale-down."""
    prefix = f"({code}) " if code else ""
    return (f"{prefix}Drain node {node} failed when evicting pod {pod} failed with Too Many "
            "Requests error. This is often caused by a restrictive Pod Disruption Budget (PDB) "
            "policy. See https://aka.ms/aks/debugdrainfailures. Original error: Cannot evict pod "
            "as it would violate the pod's disruption budget.. PDB debug info: "
            f"{namespace}/{pod} blocked by pdb {pdb} with {unready} unready pods.")


def _evict_all(m: Model, node: Node, why: str) -> tuple[Node, Any, Any] | None:
    """Evict what the budgets allow from *node*; the first refused (node, pod, (pdb, unready))."""
    refused = None
    for pod in list(node.pods.values()):
        if pod.dep.kind == "DaemonSet":
            continue
        blocked = m.workloads.budgets.blocking_pdb(pod) if m.workloads.budgets.pdbs else None
        if blocked is None:
            m.workloads.delete_pod(pod, why)
        elif refused is None:
            refused = (node, pod, blocked)
    return refused


def _drain(m: Model, nodes: list[Node], why: str, code: str,
           pool: NodePool) -> Generator[simpy.Event, Any, str | None]:
    """Cordon and drain *nodes* within the PodDisruptionBudgets: None when they are empty,
    the AKS error when the drain timeout passed first."""
    refused = None
    for node in nodes:
        m.nodes.cordon(node)
        m.bus.publish(Drain(node.name, pool.name))
        refused = _evict_all(m, node, why) or refused
    deadline = m.env.now + 60.0 * pool.spec.drain_timeout_in_minutes
    while refused is not None:
        if m.env.now >= deadline:
            node, pod, (pdb, unready) = refused
            return drain_failed(node.name, pod.name, pod.dep.namespace, pdb.metadata.name,
                                unready, code)
        yield m.env.timeout(min(EVICTION_RETRY, deadline - m.env.now))
        refused = None
        for node in nodes:
            if node.state not in ("Deleted", "Failed"):
                refused = _evict_all(m, node, why) or refused
    return None


def _wait_ready(m: Model, nodes: list[Node]) -> Generator[simpy.Event, Any, bool]:
    if not nodes:
        return True
    yield m.env.all_of([n.ready_event for n in nodes])
    return all(n.state == "Ready" for n in nodes)


def _scale(m: Model, op: ScaleNodePool) -> Generator[simpy.Event, Any, None]:
    pool = m.pools[op.node_pool]
    old = pool.size
    m.bus.publish(OperationStarted(pool.name, "scale", f"from {old} to {op.count} nodes"))
    if op.count < old:
        timings = m.spec.cluster.timings
        victims = sorted(pool.nodes.values(), key=lambda n: n.name)[op.count:]
        # cordon and drain first: their pods are rescheduled elsewhere
        error = yield from _drain(m, victims, f"drained: node pool {pool.name} scaled down",
                                  "", pool)  # AKS documents the wording for upgrades only
        if error:
            m.bus.publish(OperationFailed(pool.name, "scale", error))
            return
        yield m.env.timeout(timings.node_drain_time + timings.node_deletion_time)
        for node in victims:
            m.nodes.delete(node, "node pool scaled down")
        m.bus.publish(OperationSucceeded(pool.name, "scale", f"{pool.size} nodes"))
        return
    error = preflight(m, pool, op.count - old, "scale")
    if error:
        m.bus.publish(OperationFailed(pool.name, "scale", error))
        return
    created = []
    for _ in range(op.count - old):
        node = m.nodes.create(pool, "scale")
        if node is None:
            m.bus.publish(OperationFailed(pool.name, "scale", "a node could not be created"))
            return
        created.append(node)
    ok = yield from _wait_ready(m, created)
    done = OperationSucceeded if ok else OperationFailed
    m.bus.publish(done(pool.name, "scale", f"{pool.size} nodes" if ok else
                       "a new node did not become Ready"))


def _upgrade(m: Model, op: UpgradeNodePool) -> Generator[simpy.Event, Any, None]:
    pool = m.pools[op.node_pool]
    kind = "node-image-upgrade" if op.node_image_only else "upgrade"
    version = pool.version if op.node_image_only else (
        op.kubernetes_version or f"{pool.version}-next")
    old_nodes = sorted((n for n in pool.nodes.values() if n.state != "Provisioning"),
                       key=lambda n: n.name)
    surge = min(max(1, sizing.surge_nodes(op.max_surge or pool.spec.max_surge, len(old_nodes))),
                max(1, len(old_nodes)))
    m.bus.publish(OperationStarted(pool.name, kind, (
        "to the latest node image" if op.node_image_only else f"to {version}")
        + f" with maxSurge {surge}"))
    error = preflight(m, pool, surge, "upgrade-surge")
    if error:
        m.bus.publish(OperationFailed(pool.name, kind, error))
        return
    pool.upgrading = True
    try:
        buffers = yield from _surge(m, pool, kind, version, surge)
        if buffers is None:
            return
        if not (yield from _upgrade_batches(m, pool, kind, version, old_nodes, surge)):
            return
        if not (yield from _retire_surge(m, pool, kind, buffers)):
            return
        pool.version = version
        m.bus.publish(OperationSucceeded(pool.name, kind, f"all nodes on {version}" + (
            " with the latest node image" if op.node_image_only else "")))
    finally:
        pool.upgrading = False


def _surge(m: Model, pool: NodePool, kind: str, version: str,
           surge: int) -> Generator[simpy.Event, Any, list[Node] | None]:
    """The upgrade's buffer nodes, on the target version and Ready; None (the operation failed,
    published) when one cannot get addresses or does not become Ready."""
    buffers: list[Node] = []
    for _ in range(surge):
        node = m.nodes.create(pool, "upgrade-surge", surge=True)
        if node is None:
            m.bus.publish(OperationFailed(pool.name, kind,
                                          "SubnetIsFull: a surge node could not get addresses"))
            return None
        node.version = version  # the buffer node runs the target version
        buffers.append(node)
        m.bus.publish(Surge(node.name, pool.name))
    ok = yield from _wait_ready(m, buffers)
    if not ok:
        m.bus.publish(OperationFailed(pool.name, kind, "a surge node did not become Ready"))
        return None
    return buffers


def _upgrade_batches(m: Model, pool: NodePool, kind: str, version: str, old_nodes: list[Node],
                     surge: int) -> Generator[simpy.Event, Any, bool]:
    """The old nodes, *surge* at a time: drain, reimage, back on *version*; False (the
    operation failed, published) when a drain fails."""
    timings = m.spec.cluster.timings
    for start in range(0, len(old_nodes), surge):
        batch = [n for n in old_nodes[start:start + surge] if n.state in ("Ready", "NotReady")]
        error = yield from _drain(m, batch, f"drained for the upgrade of {pool.name}",
                                  "UpgradeFailed", pool)
        if error:
            m.bus.publish(OperationFailed(pool.name, kind, error))
            return False
        yield m.env.timeout(timings.node_drain_time)
        for node in batch:  # the reimage restarts the VM: kubelet is silent meanwhile,
            if node.state not in ("Deleted", "Failed"):  # NotReady after the grace period
                node.repairing = True  # auto-repair leaves a node AKS is reimaging alone
                m.nodes.fail(node, "nothing")
        yield m.env.timeout(timings.node_reimage_time)
        for node in batch:
            if node.state in ("Deleted", "Failed"):
                continue
            node.repairing = False
            m.nodes.recover(node)  # Ready again at the next node-monitor check
            node.version = version
            m.nodes.cordon(node, False)
            m.bus.publish(Upgrade(node.name, pool.name))
    return True


def _retire_surge(m: Model, pool: NodePool, kind: str,
                  buffers: list[Node]) -> Generator[simpy.Event, Any, bool]:
    """Drain the buffer nodes (within the PodDisruptionBudgets, if any) and delete them;
    False (the operation failed, published) when the drain fails."""
    if m.workloads.budgets.pdbs:  # the buffer nodes' pods leave within the budgets too
        error = yield from _drain(m, buffers, f"drained for the upgrade of {pool.name}",
                                  "UpgradeFailed", pool)
        if error:
            m.bus.publish(OperationFailed(pool.name, kind, error))
            return False
    for node in buffers:
        if not m.workloads.budgets.pdbs:
            m.bus.publish(Drain(node.name, pool.name))
        m.nodes.delete(node, "upgrade finished: surge node deleted")
    return True
