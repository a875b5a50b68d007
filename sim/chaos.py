"""The fault library: plain functions on the model, one per ``fault:`` of a scenario.

Each function picks its targets (at random from the ``chaos`` stream where the fault does not
name them) and returns what it hits, how to apply it and how to undo it. ``inject`` records a
``FaultInjected`` event before applying, so a run is replayable from scenario + seed + faults.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sim.events import FaultInjected, FaultReverted
from sim.kernel.errors import FaultError
from sim.scenario.schema import (
    AnyFault,
    CorednsOutage,
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
from sim.traffic.links import Link
from sim.traffic.snat import FIN_HOLD

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import Node, Pod

T = TypeVar("T")

CRASH_BACKOFF = 10.0
"""The kubelet's first restart back-off of a crashed container; it doubles at each crash
(kubelet: 10 s initial, capped at 5 minutes)."""
CRASH_BACKOFF_MAX = 300.0
SNAT_RETRY = 1.0
"""Seconds between a bursting pod's attempts to open the connections it is short of."""


@dataclass
class Effect:
    """What a fault hits, how to apply it, and how to revert it (None: nothing to revert)."""

    target: str
    apply: Callable[[], None]
    revert: Callable[[], None] | None


def node_failure(m: Model, fault: NodeFailure) -> Effect:
    """Stop one or more VMs: their kubelets post no more status."""
    if fault.node is not None:
        node = m.find_node(fault.node)
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


def _pick(m: Model, items: list[T], count: int | None, key: Callable[[T], str]) -> list[T]:
    """*count* of *items* at random from the ``chaos`` stream (all when None), sorted."""
    items = sorted(items, key=key)
    if count is not None and count < len(items):
        items = sorted(m.streams["chaos"].sample(items, count), key=key)
    return items


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
    pods = _pick(m, [p for p in dep.pods.values() if p.phase == "Running"], fault.count,
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
    pods = _pick(m, [p for d in deps for p in d.pods.values() if p.phase == "Running"],
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


def lb_probe_failure(m: Model, fault: LbProbeFailure) -> Effect:
    """The Service's load balancer probe fails on the chosen nodes (its probe loop takes them
    out after ``probeThreshold`` failures)."""
    svc = m.service_ctl.find(fault.service)
    if svc is None:
        raise FaultError(f"Service {fault.service!r} does not exist")
    lb = m.traffic.balancers.get(svc.key)
    if lb is None:
        raise FaultError(f"Service {svc.key} has no load balancer in this run (a LoadBalancer "
                         "Service that a flow calls)")
    if fault.count is None and fault.node_pool is None and fault.zone is None:
        def apply_all() -> None:
            lb.probe_blocked_all += 1

        def revert_all() -> None:
            lb.probe_blocked_all -= 1

        return Effect(svc.key, apply_all, revert_all)
    nodes = _pick(m, [n for p in m.pools.values() for n in p.nodes.values()
                      if n.row >= 0 and (fault.node_pool is None or n.pool.name == fault.node_pool)
                      and (fault.zone is None or n.zone == fault.zone)],
                  fault.count, lambda n: n.name)
    if not nodes:
        raise FaultError("no node matches the lb_probe_failure fault")
    names = [n.name for n in nodes]

    def apply() -> None:
        lb.probe_blocked.update(names)

    def revert() -> None:
        lb.probe_blocked.difference_update(names)

    return Effect(f"{svc.key}@{names[0]}" if len(names) == 1 else f"{svc.key}@{len(names)}-nodes",
                  apply, revert)


def subnet_squeeze(m: Model, fault: SubnetSqueeze) -> Effect:
    """Addresses of a subnet taken by something outside the cluster (held as ``squeeze``)."""
    subnet = m.subnets.get(fault.subnet)
    if subnet is None:
        raise FaultError(f"subnet {fault.subnet!r} does not exist")
    held: list[int] = []

    def apply() -> None:
        got = subnet.allocate(min(fault.addresses, subnet.pool.free), "squeeze")
        held.extend(got or [])

    def revert() -> None:
        subnet.release(held, "squeeze")
        held.clear()

    return Effect(subnet.name, apply, revert)


def network_policy(m: Model, fault: NetworkPolicyFault) -> Effect:
    """``kubectl apply`` / ``delete`` of a NetworkPolicy (the ``network_policy`` operation's
    code), undone at the end: the policy as it was before comes back."""
    traffic = m.traffic
    if fault.apply is not None:
        meta = fault.apply.get("metadata") or {}
        key = f"{meta.get('namespace', 'default')}/{meta.get('name')}"
    else:
        key = fault.delete or ""
        if key not in traffic.policy_objects:
            raise FaultError(f"NetworkPolicy {key} does not exist")
    before = traffic.policy_objects.get(key)

    def apply() -> None:
        traffic.change_policy(fault.apply, fault.delete)

    def revert() -> None:
        if before is None:
            traffic.change_policy(None, key)
        else:
            traffic.change_policy(before, None)

    return Effect(key, apply, revert)


def nsg_rule(m: Model, fault: NsgRuleFault) -> Effect:
    """An NSG rule added to or removed from a subnet's network security group."""
    traffic = m.traffic
    name = fault.subnet or next(iter(m.pools.values())).subnet
    if name not in traffic.nsg_rules:
        raise FaultError(f"subnet {name!r} does not exist")
    rule_name = fault.add.name if fault.add is not None else fault.remove or ""
    before = list(traffic.nsg_rules[name])
    if fault.remove is not None and all(r.name != rule_name for r in before):
        raise FaultError(f"the NSG of subnet {name} has no rule {rule_name!r}")

    def apply() -> None:
        rules = [r for r in traffic.nsg_rules[name] if r.name != rule_name]
        if fault.add is not None:
            rules.append(fault.add)
        traffic.set_nsg_rules(name, sorted(rules, key=lambda r: r.priority))

    def revert() -> None:
        traffic.set_nsg_rules(name, before)

    return Effect(f"{name}/{rule_name}", apply, revert)


def snat_pressure(m: Model, fault: SnatPressure) -> Effect:
    """The Deployment's pods open connections to the destination and keep them open: each
    takes a SNAT port of its node for that destination while one is free, and a pod short of
    its ``connections`` tries again every second (a port freed on its node is taken at the
    next try). When the fault ends they close (FIN); Azure keeps each port 240 s more."""
    try:
        dep = m.workloads.find(fault.deployment)
    except StopIteration:
        raise FaultError(f"Deployment {fault.deployment!r} does not exist") from None
    dest = f"{fault.address}:{fault.port}"
    table = m.traffic.snat
    held: dict[tuple[str, str], int] = {}
    """(pod, node) -> ports its open connections hold."""
    active = [False]

    def open_connections(_: object = None) -> None:
        if not active[0]:
            return
        now = m.env.now
        for pod in sorted(dep.pods.values(), key=lambda p: p.name):
            node = pod.node
            if pod.phase != "Running" or node is None or not node.alive:
                continue
            key = (pod.name, node.name)
            have = held.get(key, 0)
            while have < fault.connections and table.hold(node.name, dest, now):
                have += 1
            if have:
                held[key] = have
        m.timers.after(SNAT_RETRY, open_connections)

    def apply() -> None:
        active[0] = True
        open_connections()

    def revert() -> None:
        active[0] = False
        until = m.env.now + FIN_HOLD
        for (_pod, node), count in held.items():
            if (node, dest) in table.windows:
                for _ in range(count):
                    table.free(node, dest, until)
        held.clear()

    return Effect(f"{dep.key}->{dest}", apply, revert)


def _between_zones(zones: list[str]) -> Callable[[Node, Node], bool]:
    chosen = set(zones)
    return lambda a, b: a.zone != b.zone and (not chosen or (a.zone in chosen and b.zone in chosen))


def _link(m: Model, link: Link, target: str) -> Effect:
    active = m.traffic.links.active

    def apply() -> None:
        active.append(link)

    def revert() -> None:
        active.remove(link)

    return Effect(target, apply, revert)


def zone_latency(m: Model, fault: ZoneLatency) -> Effect:
    """Connections between nodes of two different (listed) zones take ``latency`` longer."""
    return _link(m, Link(_between_zones(fault.zones), latency=fault.latency),
                 "zones-" + "-".join(fault.zones) if fault.zones else "all-zones")


def zone_loss(m: Model, fault: ZoneLoss) -> Effect:
    """Packets between nodes of two different (listed) zones are lost with ``loss``."""
    return _link(m, Link(_between_zones(fault.zones), loss=fault.loss),
                 "zones-" + "-".join(fault.zones) if fault.zones else "all-zones")


def partition(m: Model, fault: Partition) -> Effect:
    """Nothing crosses between the nodes of the named pools and zones and the others."""
    pools, zones = set(fault.node_pools), set(fault.zones)

    def inside(n: Node) -> bool:
        return n.pool.name in pools or n.zone in zones

    side = ",".join([*fault.node_pools, *(f"zone-{z}" for z in fault.zones)])
    return _link(m, Link(lambda a, b: inside(a) != inside(b), partition=True), side)


FAULTS: dict[str, Callable[..., Effect]] = {
    "node_failure": node_failure,
    "zone_failure": zone_failure,
    "pod_kill": pod_kill,
    "coredns_outage": coredns_outage,
    "ingress_controller_crash": ingress_controller_crash,
    "lb_probe_failure": lb_probe_failure,
    "subnet_squeeze": subnet_squeeze,
    "network_policy": network_policy,
    "nsg_rule": nsg_rule,
    "snat_pressure": snat_pressure,
    "zone_latency": zone_latency,
    "zone_loss": zone_loss,
    "partition": partition,
}
"""Every fault by its ``fault:`` name."""


def inject(m: Model, fault: AnyFault) -> None:
    """Apply *fault* now, record it, and schedule its revert after its duration."""
    spec = json.dumps(fault.model_dump(mode="json", by_alias=True, exclude_none=True),
                      sort_keys=True, separators=(",", ":"))
    effect = FAULTS[fault.fault](m, fault)
    m.bus.publish(FaultInjected(fault.fault, effect.target, spec))
    effect.apply()
    if fault.duration is not None and effect.revert is not None:
        revert = effect.revert

        def end(_: object) -> None:
            revert()
            m.bus.publish(FaultReverted(fault.fault, effect.target))

        m.timers.after(fault.duration, end)
