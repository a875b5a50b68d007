"""The faults on the network: load balancer probes, subnet addresses, NetworkPolicies, NSG
rules, SNAT ports and the links between zones and pools, each a plain function on the model
(see :mod:`sim.chaos`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.chaos.effect import SNAT_RETRY, Effect, pick
from sim.kernel.errors import FaultError
from sim.scenario.schema import (
    LbProbeFailure,
    NetworkPolicyFault,
    NsgRuleFault,
    Partition,
    SnatPressure,
    SubnetSqueeze,
    ZoneLatency,
    ZoneLoss,
)
from sim.traffic.links import Link
from sim.traffic.snat import FIN_HOLD

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import Node


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
    nodes = pick(m, [n for p in m.pools.values() for n in p.nodes.values()
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
