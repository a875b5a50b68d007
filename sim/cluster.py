"""Node pools and nodes over time: provisioning, Ready/NotReady, eviction, repair, deletion.

Timings (AKS-NETWORKING.md section 8):
- the node lifecycle controller checks every ``nodeMonitorPeriod`` (5 s) and marks a node
  NotReady when it has not posted status for ``nodeMonitorGracePeriod`` (40 s);
- NotReady nodes get the ``node.kubernetes.io/unreachable:NoExecute`` taint; pods tolerate it
  for ``tolerationSeconds`` (300 s by default, DefaultTolerationSeconds) and are then evicted
  (``TaintManagerEviction``);
- AKS auto-repair acts on a node NotReady for 10 minutes: reboot, then reimage, then redeploy.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.azure.vnet import ip_str
from sim.events import (
    NodeNotReady,
    NodeProvisioningFailed,
    NodeReady,
    NodeRepair,
    RegisteredNode,
    RemovingNode,
    TaintManagerEviction,
)
from sim.objects import Node, NodePool
from sim.scheduler import NETWORK_UNAVAILABLE, NO_TAINT, NOT_READY, UNREACHABLE

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import Pod

REPAIR_ACTIONS = ("Reboot", "Reimage", "Redeploy")
FIXES = {"reboot": 0, "reimage": 1, "redeploy": 2, "nothing": 99}
"""Index of the first repair action that brings a failed node back."""
AUTO_REPAIR_CHECK_INTERVAL = 60.0
MAX_REPAIR_CYCLES = 3
"""AKS retries the reboot/reimage/redeploy cycle up to 3 times (node-auto-repair.md)."""
class NodeController:
    """Creates and deletes nodes and runs the node lifecycle controller and auto-repair."""

    def __init__(self, model: Model) -> None:
        self.m = model
        self.spec = model.spec.cluster
        self.rng = model.streams["provisioning"]
        self.zone_down: set[str] = set()
        self.silent: dict[str, Node] = {}
        """Ready nodes whose kubelet stopped posting status."""
        self.recovering: dict[str, Node] = {}
        """NotReady nodes whose kubelet posts again."""
        self.not_ready: dict[str, Node] = {}
        self.ready = 0
        """Nodes Ready now."""
        model.env.process(self._lifecycle_loop())
        if self.spec.auto_repair.enabled:
            model.env.process(self._repair_loop())

    # --- creation and deletion ----------------------------------------------------------

    def _pick_zone(self, pool: NodePool) -> str | None:
        up = [z for z in pool.zones if z not in self.zone_down]
        if not up:
            return None
        # VMSS spreads instances over the pool's zones (best effort, skipping a failed zone)
        counts = pool.zone_count
        return min(up, key=lambda z: (counts[z], pool.zones.index(z)))

    def create(self, pool: NodePool, operation: str, *, surge: bool = False,
               immediate: bool = False) -> Node | None:
        """Start a VM in *pool*; None when it cannot even be created (no zone, no addresses).

        *immediate* nodes are Ready at once: the cluster as it stands when the scenario starts.
        """
        m = self.m
        zone = self._pick_zone(pool)
        if zone is None:
            m.bus.publish(NodeProvisioningFailed(pool.name, ",".join(pool.zones),
                                                 "no availability zone of the pool is up"))
            return None
        node = Node(pool, pool.next_name(), zone, m.zone_index[zone], m.env.now, m.env)
        node.surge = surge
        why = m.ipam.attach(node, operation)
        if why == "SubnetIsFull":
            m.ipam.detach(node)
            return None
        pool.nodes[node.name] = node
        pool.zone_count[zone] += 1
        if immediate:
            self._provisioned(node)
        else:
            delay = m.draw(self.spec.timings.node_provisioning_time, self.rng)
            m.timers.after(delay, self._provisioned, node)
        return node

    def _provisioned(self, node: Node) -> None:
        m = self.m
        if node.state != "Provisioning":
            return
        if node.zone in self.zone_down or not node.alive:
            m.bus.publish(NodeProvisioningFailed(node.pool.name, node.zone,
                                                 f"VM {node.name} did not start (zone {node.zone} "
                                                 "is down)"))
            self._forget(node)
            node.state = "Failed"
            m.autoscaler.provisioning_failed(node)
            node.ready_event.succeed(False)
            return
        pool = node.pool
        node.row = m.table.add(pool.index, node.zone_index, pool.alloc.cpu, pool.alloc.memory,
                               node.max_pods)
        m.nodes_by_row[node.row] = node
        m.bus.publish(RegisteredNode(node.name, pool.name, node.zone, ip_str(node.net.node_ip)))
        # its pod range and route come now, to the node that registered (CIDRNotAvailable,
        # FailedToCreateRoute name it), not when the scale started
        why = m.ipam.register(node)
        node.network_ok = why != "CIDRNotAvailable"
        node.route_ok = why != "FailedToCreateRoute"
        node.ready_at = m.env.now
        node.last_seen = m.env.now
        if not node.network_ok:
            # kubelet reports NotReady: the network plugin has no pod CIDR to configure
            node.state = "NotReady"
            node.not_ready_since = m.env.now
            m.table.taint[node.row] = NOT_READY
            self.not_ready[node.name] = node
        else:
            node.state = "Ready"
            self.ready += 1
            m.bus.publish(NodeReady(node.name))
            if not node.route_ok:
                m.table.taint[node.row] = NETWORK_UNAVAILABLE
            m.workloads.node_ready(node)
            m.workloads.kick()
        m.stats.node_count_changed()
        node.ready_event.succeed(True)

    def delete(self, node: Node, why: str) -> None:
        """Drain (if still running) and delete *node*, releasing its addresses."""
        m = self.m
        if node.state in ("Deleted", "Failed"):
            return
        for pod in list(node.pods.values()):
            m.workloads.delete_pod(pod, f"node {node.name} is being deleted ({why})",
                                   kill_event=node.state == "Ready")
        was_registered = node.row >= 0
        if node.state == "Ready":
            self.ready -= 1
        self._forget(node)
        node.state = "Deleted"
        if not node.ready_event.triggered:
            node.ready_event.succeed(False)
        if was_registered:
            m.bus.publish(RemovingNode(node.name, why))
        m.stats.node_count_changed()

    def _forget(self, node: Node) -> None:
        m = self.m
        if node.row >= 0:
            m.table.remove(node.row)
            m.nodes_by_row.pop(node.row, None)
            node.row = -1
        m.ipam.detach(node)
        if node.pool.nodes.pop(node.name, None) is not None:
            node.pool.zone_count[node.zone] -= 1
        for index in (self.silent, self.recovering, self.not_ready):
            index.pop(node.name, None)

    def cordon(self, node: Node, on: bool = True) -> None:
        """Mark *node* (un)schedulable."""
        node.cordoned = on
        if node.row >= 0:
            self.m.table.cordoned[node.row] = on
        if not on:
            self.m.workloads.kick()

    # --- failure and recovery -------------------------------------------------------------

    def fail(self, node: Node, fixed_by: str) -> None:
        """The VM stops: kubelet posts no more status."""
        if not node.alive or node.state in ("Deleted", "Failed"):
            return
        node.alive = False
        node.fixed_by = fixed_by
        node.last_seen = self.m.env.now
        for pod in node.pods.values():
            self.m.traffic.pod_lost(pod, reset=False)
        self.recovering.pop(node.name, None)
        if node.state == "Ready":
            self.silent[node.name] = node

    def recover(self, node: Node) -> None:
        """The VM runs again: kubelet posts status at its next update."""
        if node.alive or node.state in ("Deleted", "Failed"):
            node.alive = True
            return
        node.alive = True
        node.last_seen = self.m.env.now
        self.silent.pop(node.name, None)
        if node.state == "NotReady" and node.network_ok:
            self.recovering[node.name] = node

    def _lifecycle_loop(self) -> Generator[simpy.Event, Any, None]:
        timings = self.spec.timings
        while True:
            yield self.m.env.timeout(timings.node_monitor_period)
            now = self.m.env.now
            for node in [n for n in self.silent.values()
                         if now - n.last_seen >= timings.node_monitor_grace_period]:
                del self.silent[node.name]
                self._mark_not_ready(node)
            for node in list(self.recovering.values()):
                del self.recovering[node.name]
                self._mark_ready(node)

    def _mark_not_ready(self, node: Node) -> None:
        m = self.m
        node.state = "NotReady"
        self.ready -= 1
        node.not_ready_since = m.env.now
        self.not_ready[node.name] = node
        m.table.taint[node.row] = UNREACHABLE
        m.bus.publish(NodeNotReady(node.name, node.zone))
        m.stats.node_count_changed()
        node.taint_epoch += 1
        groups: dict[int, list[Pod]] = {}
        for pod in node.pods.values():
            m.workloads.set_ready(pod, False)
            groups.setdefault(pod.dep.unreachable_toleration, []).append(pod)
        for seconds in sorted(groups):
            m.timers.after(seconds, self._evict, (node, node.taint_epoch, seconds))

    def _mark_ready(self, node: Node) -> None:
        m = self.m
        node.state = "Ready"
        self.ready += 1
        node.repairs = 0
        node.taint_epoch += 1
        self.not_ready.pop(node.name, None)
        m.table.taint[node.row] = NO_TAINT if node.route_ok else NETWORK_UNAVAILABLE
        m.bus.publish(NodeReady(node.name))
        m.stats.node_count_changed()
        for pod in node.pods.values():
            if pod.phase == "Running":
                m.workloads.set_ready(pod, True)
        m.workloads.node_ready(node)
        m.workloads.kick()

    def _evict(self, arg: tuple[Node, int, int]) -> None:
        node, epoch, seconds = arg
        if node.taint_epoch != epoch or node.state != "NotReady":
            return
        m = self.m
        for pod in [p for p in node.pods.values() if p.dep.unreachable_toleration == seconds]:
            m.bus.publish(TaintManagerEviction(pod.dep.namespace, pod.name, node.name))
            m.workloads.delete_pod(pod, "evicted by the taint manager", kill_event=False)

    # --- AKS node auto-repair ---------------------------------------------------------------

    def _repair_loop(self) -> Generator[simpy.Event, Any, None]:
        repair = self.spec.auto_repair
        while True:
            yield self.m.env.timeout(AUTO_REPAIR_CHECK_INTERVAL)
            now = self.m.env.now
            for node in list(self.not_ready.values()):
                # a node whose kubelet is back is Ready at the next status check: no repair
                if (not node.repairing and not node.alive and node.repairs < MAX_REPAIR_CYCLES
                        and now - node.not_ready_since >= repair.unhealthy_after):
                    node.repairing = True
                    node.repairs += 1
                    self.m.env.process(self._repair(node))

    def _repair(self, node: Node) -> Generator[simpy.Event, Any, None]:
        m, repair = self.m, self.spec.auto_repair
        times = (repair.reboot_time, repair.reimage_time, repair.redeploy_time)
        try:
            for step, (action, duration) in enumerate(zip(REPAIR_ACTIONS, times, strict=True)):
                if node.state != "NotReady":
                    return
                m.bus.publish(NodeRepair(node.name, action, "Start"))
                yield m.env.timeout(duration)
                if node.state in ("Deleted", "Failed"):
                    return
                fixed = node.alive or (FIXES[node.fixed_by] <= step
                                       and node.zone not in self.zone_down)
                if fixed and node.network_ok:
                    m.bus.publish(NodeRepair(node.name, action, "End"))
                    self.recover(node)
                    return
                m.bus.publish(NodeRepair(node.name, action, "Error"))
        finally:
            node.repairing = False
