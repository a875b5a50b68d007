"""How the workload kinds' manifests are read: their pods' scheduling signature, which
StatefulSet ordinals to create or delete, and whether a DaemonSet's pod fits a node. Plain
functions over the objects; :class:`sim.workloads.controller.WorkloadController` creates,
binds and deletes.

- A StatefulSet's pods are ``<name>-0`` .. ``<name>-N-1``; with ``podManagementPolicy:
  OrderedReady`` (the default) pod N is created only when pods 0..N-1 are Running and Ready,
  and a scale-down deletes the highest ordinals first (kubernetes.io, StatefulSets:
  "Deployment and Scaling Guarantees"). A deleted pod comes back under the same name.
- A DaemonSet runs one pod on every node its nodeSelector allows, created when the node is
  Ready (the DaemonSet controller tolerates the unreachable/not-ready/unschedulable taints,
  and network-unavailable for ``hostNetwork`` pods); it takes a maxPods slot, cpu and memory,
  and a pod address unless ``hostNetwork: true`` (the node's own address then). Node drains
  leave daemon pods alone (``kubectl drain --ignore-daemonsets``, as AKS drains); they go with
  the node.
"""

from __future__ import annotations

import numpy as np

from sim.cluster.scheduler import NETWORK_UNAVAILABLE, NO_TAINT, NodeTable
from sim.objects import DEFAULT_SPREAD, DeploymentState, Node, NodePool, Pod, Signature, SpreadConstraint
from sim.scenario.manifests import DaemonSet, Deployment, StatefulSet


def signature(manifest: Deployment | StatefulSet | DaemonSet, pools: dict[str, NodePool]) -> Signature:
    """What the scheduler needs of the workload's pods: their requests, the node pools their
    nodeSelector allows, whether they tolerate every taint, and their topology spread."""
    spec = manifest.spec.template.spec
    cpu = sum(c.resources.requests.cpu for c in spec.containers)
    mem = sum(c.resources.requests.memory for c in spec.containers)
    selected = [p.index for p in pools.values()
                if all(p.spec.node_labels.get(k, _pool_label(p.name, k)) == v
                       for k, v in spec.node_selector.items())]
    spread = tuple(SpreadConstraint("zone" if c.topology_key.endswith("zone") else "hostname",
                                    c.max_skew, c.when_unsatisfiable == "DoNotSchedule")
                   for c in spec.topology_spread_constraints) or DEFAULT_SPREAD
    tolerates = any(t.operator == "Exists" and t.key is None for t in spec.tolerations)
    if isinstance(manifest, DaemonSet):
        spread = ()  # each pod is pinned to its node (node affinity on the node's name)
    return Signature(manifest.key, cpu, mem,
                     None if not spec.node_selector else np.array(selected, np.int32),
                     tolerates, spread)


def _pool_label(pool: str, key: str) -> str | None:
    # AKS labels every node with its pool name under both keys
    return pool if key in ("agentpool", "kubernetes.azure.com/agentpool") else None


def surplus_ordinals(dep: DeploymentState) -> list[Pod]:
    """A StatefulSet's pods at or above its desired replicas, the highest ordinal first."""
    prefix = len(dep.name) + 1
    return sorted((p for p in dep.pods.values() if int(p.name[prefix:]) >= dep.desired),
                  key=lambda p: -int(p.name[prefix:]))


def ordinals_to_create(dep: DeploymentState) -> list[str]:
    """The names of a StatefulSet's missing pods to create now, lowest ordinal first: with
    OrderedReady one at a time, and only once every predecessor is Running and Ready."""
    names: list[str] = []
    for i in range(dep.desired):
        name = f"{dep.name}-{i}"
        pod = dep.pods.get(name)
        if pod is None:
            names.append(name)
            if dep.ordered:
                break
        elif dep.ordered and not (pod.phase == "Running" and pod.ready):
            break
    return names


def daemon_fits(dep: DeploymentState, node: Node, table: NodeTable) -> bool:
    """Whether the DaemonSet *dep* gets its pod on *node* now (a node in the scheduler's table
    that has none of its pods yet): selected, not tainted against it, and with room."""
    sig, t = dep.sig, table
    row = node.row
    if sig.pools is not None and node.pool.index not in sig.pools:
        return False
    if t.taint[row] not in (NO_TAINT,) and not (
            t.taint[row] == NETWORK_UNAVAILABLE and dep.host_network):
        return False
    # no room: the daemon pod would stay Pending on this node
    return not (t.pods[row] >= t.max_pods[row] or t.alloc_cpu[row] - t.used_cpu[row] < sig.cpu
                or t.alloc_mem[row] - t.used_mem[row] < sig.memory)
