"""The fault library: plain functions on the model, one per ``fault:`` of a scenario.

Each function picks its targets (at random from the ``chaos`` stream where the fault does not
name them) and returns what it hits, how to apply it and how to undo it. ``inject`` records a
``FaultInjected`` event before applying, so a run is replayable from scenario + seed + faults.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.errors import FaultError
from sim.events import FaultInjected, FaultReverted
from sim.scenario.schema import NodeFailure, PodKill, ZoneFailure

if TYPE_CHECKING:
    from sim.cluster import Node
    from sim.model import Model


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
        deps = [m.workloads.find(fault.deployment)]
    else:
        deps = [d for d in m.workloads.deployments.values()
                if fault.namespace in (None, d.namespace) and all(
                    d.manifest.spec.template.metadata.labels.get(k) == v
                    for k, v in fault.selector.items())]
    pods = sorted((p for d in deps for p in d.pods.values()), key=lambda p: p.name)
    if fault.count is not None:
        pods = sorted(m.streams["chaos"].sample(pods, min(fault.count, len(pods))),
                      key=lambda p: p.name)

    def apply() -> None:
        for pod in pods:
            m.workloads.delete_pod(pod, "killed by chaos", abrupt=True)

    return Effect(f"{len(pods)}-pods" if len(pods) != 1 else pods[0].name, apply, None)


FAULTS: dict[str, Callable[..., Effect]] = {
    "node_failure": node_failure,
    "zone_failure": zone_failure,
    "pod_kill": pod_kill,
}
"""Every fault by its ``fault:`` name."""


def inject(m: Model, fault: NodeFailure | ZoneFailure | PodKill) -> None:
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
