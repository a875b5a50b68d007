"""The taint manager: a NotReady node's pods are unready at once and are evicted when their
toleration of the ``node.kubernetes.io/unreachable:NoExecute`` taint runs out
(``tolerationSeconds``; a workload that names no such toleration gets the timings'
``defaultUnreachableTolerationSeconds``, the DefaultTolerationSeconds admission plugin's).

A component of :class:`sim.workloads.controller.WorkloadController`: it watches the nodes
(``went_not_ready``) and changes pods through the controller's ``set_ready`` and ``delete_pod``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.cluster.scheduler import TAINT_NOT_READY, TAINT_UNREACHABLE
from sim.events import TaintManagerEviction
from sim.kernel.bus import Bus
from sim.kernel.timers import Timers
from sim.objects import Node, Pod
from sim.scenario.manifests import DaemonSet, Deployment, StatefulSet

if TYPE_CHECKING:
    from sim.scenario.schema import Timings


class TaintManager:
    """Evicts the pods of NotReady nodes (see the module docstring)."""

    def __init__(self, timers: Timers, bus: Bus, set_ready: Callable[[Pod, bool], None],
                 delete_pod: Callable[..., None]) -> None:
        self.timers = timers
        self.bus = bus
        self.set_ready = set_ready
        self.delete_pod = delete_pod

    def node_went_not_ready(self, node: Node) -> None:
        """The taint manager: a NotReady node's pods are unready at once and are evicted when
        their toleration of the unreachable taint runs out (tolerationSeconds)."""
        groups: dict[int, list[Pod]] = {}
        for pod in node.pods.values():
            self.set_ready(pod, False)
            groups.setdefault(pod.dep.unreachable_toleration, []).append(pod)
        for seconds in sorted(groups):
            self.timers.after(seconds, self._evict, (node, node.taint_epoch, seconds))

    def _evict(self, arg: tuple[Node, int, int]) -> None:
        node, epoch, seconds = arg
        if node.taint_epoch != epoch or node.state != "NotReady":
            return
        for pod in [p for p in node.pods.values() if p.dep.unreachable_toleration == seconds]:
            self.bus.publish(TaintManagerEviction(pod.dep.namespace, pod.name, node.name))
            self.delete_pod(pod, "evicted by the taint manager", kill_event=False)


def eviction_delays(manifest: Deployment | StatefulSet | DaemonSet,
                    timings: Timings) -> tuple[int, int]:
    """How long the workload's pods stay on a node with the unreachable and the not-ready
    NoExecute taint (its tolerations, else the timings' defaults). The DaemonSet controller
    adds NoExecute tolerations without a limit, so daemon pods never leave."""
    if isinstance(manifest, DaemonSet):
        never = 10**9
        return never, never
    return (toleration_seconds(manifest, TAINT_UNREACHABLE,
                               timings.default_unreachable_toleration_seconds),
            toleration_seconds(manifest, TAINT_NOT_READY, timings.default_not_ready_toleration_seconds))


def toleration_seconds(manifest: Deployment | StatefulSet | DaemonSet, key: str,
                       default: int) -> int:
    """How long the workload's pods tolerate the NoExecute taint *key* (*default* when they
    do not say; no limit for a toleration without ``tolerationSeconds``)."""
    for t in manifest.spec.template.spec.tolerations:
        if t.effect in (None, "NoExecute") and (t.key == key or (t.key is None and
                                                                 t.operator == "Exists")):
            return t.toleration_seconds if t.toleration_seconds is not None else 10**9
    return default
