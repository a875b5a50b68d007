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
from sim.cluster.scheduler import NETWORK_UNAVAILABLE, NO_TAINT, NOT_READY, UNREACHABLE, NodeTable
from sim.events import (
    NodeNotReady,
    NodeProvisioningFailed,
    NodeReady,
    NodeRepair,
    RegisteredNode,
    RemovingNode,
)
from sim.kernel.context import Context
from sim.kernel.watch import Watch
from sim.objects import Node, NodePool
from sim.queueing.service_times import draw

if TYPE_CHECKING:
    from sim.ipam import IpamStrategy
    from sim.scenario.schema import ClusterSpec

REPAIR_ACTIONS = ("Reboot", "Reimage", "Redeploy")
FIXES = {"reboot": 0, "reimage": 1, "redeploy": 2, "nothing": 99}
"""Index of the first repair action that brings a failed node back."""
AUTO_REPAIR_CHECK_INTERVAL = 60.0
MAX_REPAIR_CYCLES = 3
"""AKS retries the reboot/reimage/redeploy cycle up to 3 times (node-auto-repair.md)."""
class NodeController:
    """Creates and deletes nodes and runs the node lifecycle controller and auto-repair."""

    def __init__(self, ctx: Context, spec: ClusterSpec, ipam: IpamStrategy, table: NodeTable,
                 nodes_by_row: dict[int, Node], zone_index: dict[str, int]) -> None:
        self.env, self.bus, self.timers = ctx.env, ctx.bus, ctx.timers
        self.spec = spec
        self.ipam = ipam
        self.table = table
        self.nodes_by_row = nodes_by_row
        self.zone_index = zone_index
        self.rng = ctx.streams["provisioning"]
        # what the rooms above watch (sim.model wires them)
        self.became_ready: Watch[[Node]] = Watch()
        """A node is Ready (new, or again): its running pods are ready, pods may land on it."""
        self.went_not_ready: Watch[[Node]] = Watch()
        """A node went NotReady (unreachable taint): its pods are unready and will be evicted."""
        self.deleting: Watch[[Node, str]] = Watch()
        """A node is about to be deleted (and why): its pods go with it."""
        self.stopped: Watch[[Node]] = Watch()
        """A node's VM stopped: what its pods were serving is lost."""
        self.schedulable: Watch[[Node]] = Watch()
        """A node was uncordoned."""
        self.provisioning_failed: Watch[[Node]] = Watch()
        """A VM never came up."""
        self.count_changed: Watch[[]] = Watch()
        """Nodes were created or deleted, or one changed Ready state."""
        self.zone_down: set[str] = set()
        self.silent: dict[str, Node] = {}
        """Ready nodes whose kubelet stopped posting status."""
        self.recovering: dict[str, Node] = {}
        """NotReady nodes whose kubelet posts again."""
        self.not_ready: dict[str, Node] = {}
        self.ready = 0
        """Nodes Ready now."""
        self.env.process(self._lifecycle_loop())
        if self.spec.auto_repair.enabled:
            self.env.process(self._repair_loop())

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
        zone = self._pick_zone(pool)
        if zone is None:
            self.bus.publish(NodeProvisioningFailed(pool.name, ",".join(pool.zones),
                                                 "no availability zone of the pool is up"))
            return None
        node = Node(pool, pool.next_name(), zone, self.zone_index[zone], self.env.now, self.env)
        node.surge = surge
        why = self.ipam.attach(node, operation)
        if why == "SubnetIsFull":
            self.ipam.detach(node)
            return None
        pool.nodes[node.name] = node
        pool.zone_count[zone] += 1
        if immediate:
            self._provisioned(node)
        else:
            delay = draw(self.spec.timings.node_provisioning_time, self.rng)
            self.timers.after(delay, self._provisioned, node)
        return node

    def _provisioned(self, node: Node) -> None:
        if node.state != "Provisioning":
            return
        if node.zone in self.zone_down or not node.alive:
            self.bus.publish(NodeProvisioningFailed(node.pool.name, node.zone,
                                                 f"VM {node.name} did not start (zone {node.zone} "
                                                 "is down)"))
            self._forget(node)
            node.state = "Failed"
            self.provisioning_failed.fire(node)
            node.ready_event.succeed(False)
            return
        pool = node.pool
        node.row = self.table.add(pool.index, node.zone_index, pool.alloc.cpu, pool.alloc.memory,
                               node.max_pods)
        self.nodes_by_row[node.row] = node
        self.bus.publish(RegisteredNode(node.name, pool.name, node.zone, ip_str(node.net.node_ip)))
        # its pod range and route come now, to the node that registered (CIDRNotAvailable,
        # FailedToCreateRoute name it), not when the scale started
        why = self.ipam.register(node)
        node.network_ok = why != "CIDRNotAvailable"
        node.route_ok = why != "FailedToCreateRoute"
        node.ready_at = self.env.now
        node.last_seen = self.env.now
        if not node.network_ok:
            # kubelet reports NotReady: the network plugin has no pod CIDR to configure
            node.state = "NotReady"
            node.not_ready_since = self.env.now
            self.table.taint[node.row] = NOT_READY
            self.not_ready[node.name] = node
        else:
            node.state = "Ready"
            self.ready += 1
            self.bus.publish(NodeReady(node.name))
            if not node.route_ok:
                self.table.taint[node.row] = NETWORK_UNAVAILABLE
            self.became_ready.fire(node)
        self.count_changed.fire()
        node.ready_event.succeed(True)

    def delete(self, node: Node, why: str) -> None:
        """Drain (if still running) and delete *node*, releasing its addresses."""
        if node.state in ("Deleted", "Failed"):
            return
        self.deleting.fire(node, why)
        was_registered = node.row >= 0
        if node.state == "Ready":
            self.ready -= 1
        self._forget(node)
        node.state = "Deleted"
        if not node.ready_event.triggered:
            node.ready_event.succeed(False)
        if was_registered:
            self.bus.publish(RemovingNode(node.name, why))
        self.count_changed.fire()

    def _forget(self, node: Node) -> None:
        if node.row >= 0:
            self.table.remove(node.row)
            self.nodes_by_row.pop(node.row, None)
            node.row = -1
        self.ipam.detach(node)
        if node.pool.nodes.pop(node.name, None) is not None:
            node.pool.zone_count[node.zone] -= 1
        for index in (self.silent, self.recovering, self.not_ready):
            index.pop(node.name, None)

    def cordon(self, node: Node, on: bool = True) -> None:
        """Mark *node* (un)schedulable."""
        node.cordoned = on
        if node.row >= 0:
            self.table.cordoned[node.row] = on
        if not on:
            self.schedulable.fire(node)

    # --- failure and recovery -------------------------------------------------------------

    def fail(self, node: Node, fixed_by: str) -> None:
        """The VM stops: kubelet posts no more status."""
        if not node.alive or node.state in ("Deleted", "Failed"):
            return
        node.alive = False
        node.fixed_by = fixed_by
        node.last_seen = self.env.now
        self.stopped.fire(node)
        self.recovering.pop(node.name, None)
        if node.state == "Ready":
            self.silent[node.name] = node

    def recover(self, node: Node) -> None:
        """The VM runs again: kubelet posts status at its next update."""
        if node.alive or node.state in ("Deleted", "Failed"):
            node.alive = True
            return
        node.alive = True
        node.last_seen = self.env.now
        self.silent.pop(node.name, None)
        if node.state == "NotReady" and node.network_ok:
            self.recovering[node.name] = node

    def _lifecycle_loop(self) -> Generator[simpy.Event, Any, None]:
        timings = self.spec.timings
        while True:
            yield self.env.timeout(timings.node_monitor_period)
            now = self.env.now
            for node in [n for n in self.silent.values()
                         if now - n.last_seen >= timings.node_monitor_grace_period]:
                del self.silent[node.name]
                self._mark_not_ready(node)
            for node in list(self.recovering.values()):
                del self.recovering[node.name]
                self._mark_ready(node)

    def _mark_not_ready(self, node: Node) -> None:
        node.state = "NotReady"
        self.ready -= 1
        node.not_ready_since = self.env.now
        self.not_ready[node.name] = node
        self.table.taint[node.row] = UNREACHABLE
        self.bus.publish(NodeNotReady(node.name, node.zone))
        self.count_changed.fire()
        node.taint_epoch += 1
        self.went_not_ready.fire(node)

    def _mark_ready(self, node: Node) -> None:
        node.state = "Ready"
        self.ready += 1
        node.repairs = 0
        node.taint_epoch += 1
        self.not_ready.pop(node.name, None)
        self.table.taint[node.row] = NO_TAINT if node.route_ok else NETWORK_UNAVAILABLE
        self.bus.publish(NodeReady(node.name))
        self.count_changed.fire()
        self.became_ready.fire(node)

    # --- AKS node auto-repair ---------------------------------------------------------------

    def _repair_loop(self) -> Generator[simpy.Event, Any, None]:
        repair = self.spec.auto_repair
        while True:
            yield self.env.timeout(AUTO_REPAIR_CHECK_INTERVAL)
            now = self.env.now
            for node in list(self.not_ready.values()):
                # a node whose kubelet is back is Ready at the next status check: no repair
                if (not node.repairing and not node.alive and node.repairs < MAX_REPAIR_CYCLES
                        and now - node.not_ready_since >= repair.unhealthy_after):
                    node.repairing = True
                    node.repairs += 1
                    self.env.process(self._repair(node))

    def _repair(self, node: Node) -> Generator[simpy.Event, Any, None]:
        repair = self.spec.auto_repair
        times = (repair.reboot_time, repair.reimage_time, repair.redeploy_time)
        try:
            for step, (action, duration) in enumerate(zip(REPAIR_ACTIONS, times, strict=True)):
                if node.state != "NotReady":
                    return
                self.bus.publish(NodeRepair(node.name, action, "Start"))
                yield self.env.timeout(duration)
                if node.state in ("Deleted", "Failed"):
                    return
                fixed = node.alive or (FIXES[node.fixed_by] <= step
                                       and node.zone not in self.zone_down)
                if fixed and node.network_ok:
                    self.bus.publish(NodeRepair(node.name, action, "End"))
                    self.recover(node)
                    return
                self.bus.publish(NodeRepair(node.name, action, "Error"))
        finally:
            node.repairing = False
