"""cluster-autoscaler with AKS's profile defaults (cluster-autoscaler.md).

Every ``scanInterval``:
- if more than 3 nodes and more than 45% of them are unready, it does nothing (upstream's
  ``ok-total-unready-count`` / ``max-total-unready-percentage``);
- scale-up: pods that failed scheduling are packed onto fresh nodes of each autoscaled pool
  they could run on (minus nodes already being created); one pool is chosen at random (AKS's
  default ``random`` expander) and grown up to its ``maxCount``; a pool whose nodes fail to
  come up backs off (5 min, doubling to 30 min);
- scale-down: a Ready node whose requested cpu and memory are both below
  ``scaleDownUtilizationThreshold`` for ``scaleDownUnneededTime`` is drained and deleted
  (empty nodes together, at most one non-empty node per scan), never below ``minCount``,
  not within ``scaleDownDelayAfterAdd`` of a scale-up; an unready node unneeded for
  ``scaleDownUnreadyTime`` is removed: the clock starts when it became unneeded (its pods
  evicted, or already below the threshold), not when it went NotReady ("How long an unready
  node should be unneeded before it is eligible for scale down", cluster-autoscaler FAQ.md;
  cluster-autoscaler.md).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import simpy

from sim.cluster.scheduler import NodeTable
from sim.events import FailedToScaleUpGroup, NotTriggerScaleUp, ScaleDown, ScaledUpGroup
from sim.kernel.context import Context
from sim.objects import DeploymentState, Node, NodePool, Pod

if TYPE_CHECKING:
    from sim.cluster.nodes import NodeController
    from sim.scenario.schema import AutoscalerProfile

OK_TOTAL_UNREADY = 3
MAX_UNREADY_FRACTION = 0.45


class PendingPods(Protocol):
    """What the autoscaler asks of the workload controller above it (which satisfies this
    without importing it): the pods that failed to schedule, and the DaemonSets every new node
    will run."""

    deployments: dict[str, DeploymentState]

    def pending_pods(self) -> list[Pod]: ...

    def flush(self) -> None: ...


class ClusterAutoscaler:
    """Grows and shrinks autoscaled node pools."""

    def __init__(self, ctx: Context, profile: AutoscalerProfile, pools: dict[str, NodePool],
                 table: NodeTable, nodes_by_row: dict[int, Node], nodes: NodeController,
                 workloads: PendingPods) -> None:
        self.env, self.bus = ctx.env, ctx.bus
        self.profile = profile
        self.table = table
        self.nodes_by_row = nodes_by_row
        self.nodes = nodes
        self.workloads = workloads
        self.rng = ctx.streams["autoscaler"]
        self.every_pool = pools
        self.pools = [p for p in pools.values() if p.spec.enable_auto_scaling]
        self.backoff_until: dict[str, float] = {}
        self.backoff_len: dict[str, float] = {}
        self.last_scale_up = -math.inf
        self.last_failure = -math.inf
        """Last failed scale-down (scale-down-delay-after-failure); none fail in the model yet."""
        self.warned: set[str] = set()
        self.unneeded_since = np.full(table.capacity, np.inf)
        if self.pools:
            self.env.process(self._loop())

    def _loop(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(self.profile.scan_interval)
            if self._cluster_unhealthy():
                continue
            self._provision_timeouts()
            self._scale_up()
            self._scale_down()

    def _provision_timeouts(self) -> None:
        """A node not Ready within maxNodeProvisionTime is deleted and its pool backs off."""
        now = self.env.now
        for pool in self.pools:
            late = [n for n in pool.nodes.values() if n.state == "Provisioning"
                    and now - n.created_at >= self.profile.max_node_provision_time]
            for node in late:
                self.nodes.delete(node, "max-node-provision-time exceeded")
            if late:
                self._backoff(pool, f"{len(late)} node(s) not Ready after "
                                    f"{self.profile.max_node_provision_time:g}s (ScaleUpTimedOut)")

    def _cluster_unhealthy(self) -> bool:
        nc = self.nodes
        total = sum(1 for p in self.every_pool.values() for n in p.nodes.values() if n.row >= 0)
        unready = len(nc.not_ready)
        return unready > OK_TOTAL_UNREADY and unready > MAX_UNREADY_FRACTION * max(total, 1)

    # --- scale-up -----------------------------------------------------------------------

    def _nodes_needed(self, pool: NodePool, pods: list[Pod]) -> tuple[int, list[Pod]]:
        """Fresh nodes of *pool* the pods need, and the pods that could not fit one at all."""
        cap_cpu, cap_mem, cap_pods = pool.alloc.cpu, pool.alloc.memory, pool.max_pods
        # the template node runs its DaemonSets' pods too (upstream adds them to the node
        # template before it simulates the pending pods on it)
        for dep in self.workloads.deployments.values():
            if dep.kind == "DaemonSet" and (dep.sig.pools is None or pool.index in dep.sig.pools):
                cap_cpu, cap_mem, cap_pods = (cap_cpu - dep.sig.cpu, cap_mem - dep.sig.memory,
                                              cap_pods - 1)
        cpu = mem = n = 0
        bins = 0
        misfits: list[Pod] = []
        for pod in pods:
            sig = pod.dep.sig
            if sig.pools is not None and pool.index not in sig.pools:
                misfits.append(pod)
                continue
            if sig.cpu > cap_cpu or sig.memory > cap_mem:
                misfits.append(pod)
                continue
            if bins == 0 or cpu + sig.cpu > cap_cpu or mem + sig.memory > cap_mem or n >= cap_pods:
                bins += 1
                cpu = mem = n = 0
            cpu += sig.cpu
            mem += sig.memory
            n += 1
        upcoming = sum(1 for node in pool.nodes.values() if node.state == "Provisioning")
        return max(0, bins - upcoming), misfits

    def _scale_up(self) -> None:
        now = self.env.now
        # upstream's FilterOutSchedulable: pods that fit the nodes that exist now (say, one that
        # registered in this same instant) are not reasons to scale up
        self.workloads.flush()
        pending = [p for p in self.workloads.pending_pods()
                   if now - p.created_at >= self.profile.new_pod_scale_up_delay]
        if not pending:
            return
        options: list[tuple[NodePool, int]] = []
        why: dict[str, int] = {}
        for pool in self.pools:
            need, misfits = self._nodes_needed(pool, pending)
            if len(misfits) == len(pending):
                why["node(s) didn't match Pod's node affinity/selector"] = why.get(
                    "node(s) didn't match Pod's node affinity/selector", 0) + 1
                continue
            if self.backoff_until.get(pool.name, -math.inf) > now:
                why["in backoff after failed scale-up"] = why.get(
                    "in backoff after failed scale-up", 0) + 1
                continue
            if pool.size >= (pool.spec.max_count or 0):
                why["max node group size reached"] = why.get("max node group size reached", 0) + 1
                continue
            if need > 0:
                options.append((pool, need))
        if not options:
            if why and not any(n.state == "Provisioning" for p in self.pools
                               for n in p.nodes.values()):
                detail = ", ".join(sorted(f"{n} {r}" for r, n in why.items()))
                for pod in pending:
                    if pod.name not in self.warned:
                        self.warned.add(pod.name)
                        self.bus.publish(NotTriggerScaleUp(pod.dep.namespace, pod.name, detail))
            return
        pool, need = options[self.rng.randrange(len(options))] if len(options) > 1 else options[0]
        old = pool.size
        new = min(old + need, pool.spec.max_count or old)
        self.bus.publish(ScaledUpGroup(pool.name, old, new, pool.spec.max_count or 0))
        self.last_scale_up = now
        for _ in range(new - old):
            if self.nodes.create(pool, "autoscale") is None:
                self._backoff(pool, "the VM scale set could not create the node "
                                    "(see SubnetIsFull / NodeProvisioningFailed)")
                break

    def provisioning_failed(self, node: Node) -> None:
        """A node the pool was growing by did not come up: back the pool off."""
        if node.pool.spec.enable_auto_scaling:
            self._backoff(node.pool, f"node {node.name} failed to provision")

    def _backoff(self, pool: NodePool, cause: str) -> None:
        now = self.env.now
        if self.backoff_until.get(pool.name, -math.inf) > now:
            return
        length = min(self.profile.max_backoff,
                     self.backoff_len.get(pool.name, self.profile.initial_backoff / 2) * 2)
        self.backoff_len[pool.name] = length
        self.backoff_until[pool.name] = now + length
        self.bus.publish(FailedToScaleUpGroup(pool.name, cause, length))

    # --- scale-down ---------------------------------------------------------------------

    def _scale_down(self) -> None:
        p = self.profile
        now = self.env.now
        t = self.table
        cap = t.capacity
        if self.unneeded_since.size < cap:
            grown = np.full(cap, np.inf)
            grown[: self.unneeded_since.size] = self.unneeded_since
            self.unneeded_since = grown
        in_pools = np.isin(t.pool[:cap], [pool.index for pool in self.pools]) & t.present[:cap]
        util = np.maximum(t.used_cpu[:cap] / t.alloc_cpu[:cap], t.used_mem[:cap] / t.alloc_mem[:cap])
        unready = np.zeros(cap, bool)
        for node in self.nodes.not_ready.values():
            if 0 <= node.row < cap:
                unready[node.row] = True
        # an unready node is unneeded like any other when its pods are gone or few (its
        # unreachable taint does not count); a Ready one must also be untainted
        low = in_pools & ((t.taint[:cap] == 0) | unready) & ~t.cordoned[:cap] & (
            util < p.scale_down_utilization_threshold)
        since = self.unneeded_since[:cap]
        since[~low] = np.inf
        since[low & np.isinf(since)] = now
        self._remove_unready(now, since)
        low &= ~unready
        if now - self.last_scale_up < p.scale_down_delay_after_add or (
                now - self.last_failure < p.scale_down_delay_after_failure):
            return
        rows = np.flatnonzero(low & (now - since >= p.scale_down_unneeded_time))
        # empty nodes first, as upstream checks them against the minimum size first
        rows = sorted(rows.tolist(), key=lambda r: (t.pods[r] > 0, r))
        removed_busy = False
        for row in rows:
            node = self.nodes_by_row.get(row)
            if node is None or node.pool.upgrading:
                continue
            pool = node.pool
            if pool.size <= (pool.spec.min_count or 0):
                continue
            if node.pods:
                if removed_busy or not self._pods_fit_elsewhere(node):
                    continue
                removed_busy = True
            self.bus.publish(ScaleDown(node.name))
            since[row] = np.inf
            self.nodes.delete(node, "cluster-autoscaler scale-down")

    def _pods_fit_elsewhere(self, node: Node) -> bool:
        """Whether every pod of *node* fits on some other schedulable node, one by one
        (first fit, as the autoscaler's scheduling simulation does)."""
        t = self.table
        cap = t.capacity
        others = t.present[:cap] & (t.taint[:cap] == 0) & ~t.cordoned[:cap]
        others[node.row] = False
        free_cpu = (t.alloc_cpu[:cap] - t.used_cpu[:cap]) * others
        free_mem = (t.alloc_mem[:cap] - t.used_mem[:cap]) * others
        free_pods = (t.max_pods[:cap] - t.pods[:cap]) * others
        for pod in node.pods.values():
            if pod.dep.kind == "DaemonSet":
                continue  # not moved: the node's daemon pods go with it
            sig = pod.dep.sig
            fits = (free_cpu >= sig.cpu) & (free_mem >= sig.memory) & (free_pods >= 1) & others
            if sig.pools is not None:
                fits &= np.isin(t.pool[:cap], sig.pools)
            rows = np.flatnonzero(fits)
            if rows.size == 0:
                return False
            row = rows[0]
            free_cpu[row] -= sig.cpu
            free_mem[row] -= sig.memory
            free_pods[row] -= 1
        return True

    def _remove_unready(self, now: float, since: np.ndarray) -> None:
        """Remove unready nodes unneeded for ``scaleDownUnreadyTime``: the clock starts when
        the node became unneeded, not when it went NotReady (upstream's unneeded-nodes
        tracker: ``unneeded.since + ScaleDownUnreadyTime``)."""
        for node in list(self.nodes.not_ready.values()):
            pool = node.pool
            if (pool.spec.enable_auto_scaling and not pool.upgrading
                    and 0 <= node.row < since.size
                    and now - since[node.row] >= self.profile.scale_down_unready_time
                    and pool.size > (pool.spec.min_count or 0)):
                self.bus.publish(ScaleDown(node.name))
                since[node.row] = np.inf
                self.nodes.delete(node, "cluster-autoscaler removed an unready node")
