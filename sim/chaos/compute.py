"""The faults on compute: nodes, zones and pods (and the pods of CoreDNS and of the ingress
controller), each a plain function on the model (see :mod:`sim.chaos`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.chaos.effect import CRASH_BACKOFF, CRASH_BACKOFF_MAX, Effect, pick
from sim.kernel.errors import FaultError
from sim.objects import find_node
from sim.scenario.schema import (
    CorednsOutage,
    IngressControllerCrash,
    NodeFailure,
    PodKill,
    ZoneFailure,
)

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import Node, Pod


def node_failure(m: Model, fault: NodeFailure) -> Effect:
    """Stop one or more VMs: their kubelets post no more status."""
    if fault.node is not None:
        node = find_node(m.pools, fault.node)
        if node is None:
            raise FaultError(f"node {fault.node!r} does not exist (or was deleted)")
        targets = [node]
    elif fault.index is not None:
        targets = [_node_by_index(m, fault)]
    else:
        candidates = sorted((n for p in m.pools.values() for n in p.nodes.values()
                             if n.state == "Ready" and n.alive
                             and (fault.node_pool is None or n.pool.name == fault.node_pool)
                             and (fault.zone is None or n.zone == fault.zone)),
                            key=lambda n: n.name)
        if not candidates:
            raise FaultError("no Ready node matches the node_failure fault")
        rng = m.streams["chaos"]
        targets = sorted(rng.sample(candidates, min(fault.count, len(candidates))),
                         key=lambda n: n.name)

    def apply() -> None:
        for node in targets:
            m.nodes.fail(node, fault.fixed_by)

    def revert() -> None:
        for node in targets:
            m.nodes.recover(node)

    return Effect(",".join(n.name for n in targets), apply, revert)


def _node_by_index(m: Model, fault: NodeFailure) -> Node:
    """The node a ``nodePool`` + ``index`` (+ ``zone``) selector names: the pool's VMSS
    instance *index*, or with a zone the pool's index-th node there (by instance number)."""
    from sim.scenario.schema import node_name

    pool = m.pools.get(fault.node_pool or "")
    if pool is None:
        raise FaultError(f"node pool {fault.node_pool!r} does not exist")
    assert fault.index is not None
    if fault.zone is None:
        name = node_name(m.spec.cluster.name, pool.name, fault.index)
        node = pool.nodes.get(name)
        if node is None:
            raise FaultError(f"node pool {pool.name} has no node with instance number "
                             f"{fault.index} ({name}) now")
        return node
    in_zone = sorted((n for n in pool.nodes.values() if n.zone == fault.zone),
                     key=lambda n: (len(n.name), n.name))
    if fault.index >= len(in_zone):
        raise FaultError(f"node pool {pool.name} has {len(in_zone)} nodes in zone {fault.zone} "
                         f"now: no index {fault.index}")
    return in_zone[fault.index]


def zone_failure(m: Model, fault: ZoneFailure) -> Effect:
    """Every VM of the zone stops and no new VM can start there."""
    hit: list[Node] = []

    def apply() -> None:
        m.nodes.zone_down.add(fault.zone)
        hit.extend(n for p in m.pools.values() for n in p.nodes.values() if n.zone == fault.zone)
        for node in hit:
            m.nodes.fail(node, "nothing")

    def revert() -> None:
        m.nodes.zone_down.discard(fault.zone)
        for node in hit:
            m.nodes.recover(node)

    return Effect(f"zone-{fault.zone}", apply, revert)


def pod_kill(m: Model, fault: PodKill) -> Effect:
    """Delete pods; their ReplicaSets create replacements."""
    if fault.deployment is not None:
        try:
            deps = [m.workloads.find(fault.deployment)]
        except StopIteration:
            raise FaultError(f"Deployment {fault.deployment!r} does not exist") from None
    else:
        deps = [d for d in m.workloads.deployments.values()
                if fault.namespace in (None, d.namespace) and all(
                    d.manifest.spec.template.metadata.labels.get(k) == v
                    for k, v in fault.selector.items())]
    pods = sorted((p for d in deps for p in d.pods.values()), key=lambda p: p.name)
    if not pods:
        raise FaultError(f"no pod matches the pod_kill fault (selector {fault.selector}, "
                         f"namespace {fault.namespace or 'any'})" if fault.deployment is None
                         else f"Deployment {fault.deployment} has no pod")
    if fault.count is not None:
        pods = sorted(m.streams["chaos"].sample(pods, min(fault.count, len(pods))),
                      key=lambda p: p.name)

    def apply() -> None:
        for pod in pods:
            m.workloads.delete_pod(pod, "killed by chaos", abrupt=True)

    return Effect(f"{len(pods)}-pods" if len(pods) != 1 else pods[0].name, apply, None)


def coredns_outage(m: Model, fault: CorednsOutage) -> Effect:
    """CoreDNS pods stop answering; the queries kube-proxy sends them go unanswered."""
    dep = m.workloads.deployments.get("kube-system/coredns")
    if dep is None:
        raise FaultError("this run has no CoreDNS: it runs when a flow from pods calls a "
                         "Service by name")
    traffic = m.traffic
    if fault.count is None:
        def apply() -> None:
            traffic.dns_silent_all += 1

        def revert() -> None:
            traffic.dns_silent_all -= 1

        return Effect("kube-system/coredns", apply, revert)
    pods = pick(m, [p for p in dep.pods.values() if p.phase == "Running"], fault.count,
                 lambda p: p.name)
    if not pods:
        raise FaultError("no CoreDNS pod is running")
    names = [p.name for p in pods]

    def apply_some() -> None:
        traffic.dns_silent.update(names)

    def revert_some() -> None:
        traffic.dns_silent.difference_update(names)

    return Effect(",".join(names), apply_some, revert_some)


def ingress_controller_crash(m: Model, fault: IngressControllerCrash) -> Effect:
    """The ingress controller's containers crash; the kubelet restarts them after a back-off
    (doubling at each crash while the fault lasts: CrashLoopBackOff)."""
    deps = m.traffic.controller_deps()
    if not deps:
        raise FaultError("this run has no ingress controller (traffic.ingressController)")
    pods = pick(m, [p for d in deps for p in d.pods.values() if p.phase == "Running"],
                 fault.count, lambda p: p.name)
    if not pods:
        raise FaultError("no ingress controller pod is running")
    active = [True]

    def restart(arg: tuple[Pod, float]) -> None:
        pod, backoff = arg
        if pod.phase != "CrashLoopBackOff":
            return  # deleted meanwhile (its node failed, say)
        if active[0] and fault.duration is not None:
            # it crashes again as soon as it starts: the next back-off doubles
            nxt = min(2 * backoff, CRASH_BACKOFF_MAX)
            m.timers.after(nxt, restart, (pod, nxt))
            return
        m.workloads.restart(pod)

    def apply() -> None:
        for pod in pods:
            if m.workloads.crash(pod):
                m.timers.after(CRASH_BACKOFF, restart, (pod, CRASH_BACKOFF))

    def revert() -> None:
        active[0] = False  # the next restart of each pod succeeds

    target = pods[0].name if len(pods) == 1 else f"{pods[0].dep.name}-{len(pods)}-pods"
    return Effect(target, apply, revert)
