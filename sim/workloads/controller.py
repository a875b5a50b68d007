"""Deployments, their pods, the scheduling queue, kubelet start-up, and the HPA.

- A Deployment keeps ``replicas`` pods; a deleted or evicted pod is replaced at once
  (ReplicaSet controller), and the replacement goes through the scheduler.
- A bound pod gets its address from the plugin (``FailedCreatePodSandBox`` and a retry every
  ``sandboxRetryInterval`` when it cannot), runs after ``podStartupTime`` and is Ready after
  its readiness probe's ``initialDelaySeconds``; available after ``minReadySeconds``.
- The scheduling queue groups pending pods by workload: within one pass, once a pod of a
  workload does not fit, its siblings would not either (nothing was bound for them), so they
  wait without being tried. A pass runs whenever the cluster changed (a node became Ready,
  a pod went away, a new pod arrived).
- FailedScheduling is published when a pod first fails and then at most once per 5 minutes
  per pod, as the Kubernetes event recorder's spam filter lets through.
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
- A PodDisruptionBudget limits voluntary evictions (node drains): an eviction is refused (the
  eviction API's 429) when the matching pods' healthy count would fall below minAvailable
  (int, or a percentage of the expected pods rounded up) or expected - maxUnavailable.
- HPA (autoscaling/v2 defaults): sync every 15 s, tolerance 0.1,
  desired = ceil(current x utilisation / target); scale-up limited to max(2x, +4) per sync;
  scale-down uses the highest recommendation of the last 300 s (stabilisation window).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from sim.cluster.scheduler import NETWORK_UNAVAILABLE, NO_TAINT, TAINT_UNREACHABLE, NodeTable, Scheduler
from sim.events import (
    FailedScheduling,
    Killing,
    ScalingReplicaSet,
    Scheduled,
    SuccessfulRescale,
    TaintManagerEviction,
)
from sim.kernel.context import Context
from sim.kernel.watch import Watch
from sim.objects import (
    DEFAULT_SPREAD,
    POD_NAME_ALPHABET,
    DeploymentState,
    Node,
    NodePool,
    Pod,
    Signature,
    SpreadConstraint,
)
from sim.queueing.service_times import draw
from sim.scenario.manifests import (
    DaemonSet,
    Deployment,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    StatefulSet,
)

if TYPE_CHECKING:
    from sim.ipam import IpamStrategy
    from sim.scenario.schema import ClusterSpec

FAILED_SCHEDULING_REPEAT = 300.0
HPA_SYNC_PERIOD = 15.0
HPA_TOLERANCE = 0.1
HPA_DOWNSCALE_WINDOW = 300.0


def _toleration_seconds(manifest: Deployment | StatefulSet | DaemonSet, key: str,
                        default: int) -> int:
    for t in manifest.spec.template.spec.tolerations:
        if t.effect in (None, "NoExecute") and (t.key == key or (t.key is None and
                                                                 t.operator == "Exists")):
            return t.toleration_seconds if t.toleration_seconds is not None else 10**9
    return default


class WorkloadController:
    """Deployment/ReplicaSet controllers, the scheduling queue and kubelet's pod start."""

    def __init__(self, ctx: Context, cluster: ClusterSpec, pools: dict[str, NodePool],
                 table: NodeTable, scheduler: Scheduler, nodes_by_row: dict[int, Node],
                 ipam: IpamStrategy) -> None:
        self.env, self.bus, self.timers = ctx.env, ctx.bus, ctx.timers
        self.cluster = cluster
        self.pools = pools
        self.table = table
        self.scheduler = scheduler
        self.nodes_by_row = nodes_by_row
        self.ipam = ipam
        self.rng = ctx.streams["workloads"]
        # what the rooms above watch (sim.model wires them)
        self.readiness_changed: Watch[[Pod]] = Watch()
        """A pod became Ready or unready (its Services' endpoints follow)."""
        self.pod_lost: Watch[[Pod, bool]] = Watch()
        """A pod stopped answering (and whether its connections are reset)."""
        self.availability_changed: Watch[[DeploymentState]] = Watch()
        """A workload's available or desired pods changed."""
        self.pending_grew: Watch[[int]] = Watch()
        """New pods wait to be scheduled (with the count pending now)."""
        self.deployments: dict[str, DeploymentState] = {}
        self.hpas: list[tuple[HorizontalPodAutoscaler, DeploymentState]] = []
        """Every HPA with the Deployment it scales (read by telemetry)."""
        self.queue: dict[str, deque[Pod]] = {}
        """Pending pods by workload, in arrival order."""
        self.unschedulable: set[str] = set()
        """Workloads whose head pod did not fit in the last pass."""
        self.pdbs: list[PodDisruptionBudget] = []
        self._ordered_due: dict[str, DeploymentState] = {}
        """StatefulSets whose next ordinal may start (a pod of theirs became Ready)."""
        self._pass_due = False
        self.pending_count = 0
        self.instant = False
        """While the cluster is built at time 0, bound pods run and are Ready at once."""

    # --- set-up -----------------------------------------------------------------------

    def add_deployment(self, manifest: Deployment | StatefulSet | DaemonSet) -> DeploymentState:
        """Register a Deployment, StatefulSet or DaemonSet (its pods are created at the next
        reconcile; a DaemonSet's as nodes become Ready, :meth:`node_ready`)."""
        spec = manifest.spec.template.spec
        cpu = sum(c.resources.requests.cpu for c in spec.containers)
        mem = sum(c.resources.requests.memory for c in spec.containers)
        pools = [p.index for p in self.pools.values()
                 if all(p.spec.node_labels.get(k, _pool_label(p.name, k)) == v
                        for k, v in spec.node_selector.items())]
        spread = tuple(SpreadConstraint("zone" if c.topology_key.endswith("zone") else "hostname",
                                        c.max_skew, c.when_unsatisfiable == "DoNotSchedule")
                       for c in spec.topology_spread_constraints) or DEFAULT_SPREAD
        tolerates = any(t.operator == "Exists" and t.key is None for t in spec.tolerations)
        if isinstance(manifest, DaemonSet):
            spread = ()  # each pod is pinned to its node (node affinity on the node's name)
        sig = Signature(manifest.key, cpu, mem,
                        None if not spec.node_selector else np.array(pools, np.int32),
                        tolerates, spread)
        self.table.register(sig, len(self.cluster.zones))
        t = self.cluster.timings
        never = 10**9  # the DaemonSet controller adds NoExecute tolerations without a limit
        daemon = isinstance(manifest, DaemonSet)
        dep = DeploymentState(
            manifest, sig,
            never if daemon else _toleration_seconds(
                manifest, TAINT_UNREACHABLE, t.default_unreachable_toleration_seconds),
            never if daemon else _toleration_seconds(
                manifest, "node.kubernetes.io/not-ready", t.default_not_ready_toleration_seconds))
        self.deployments[dep.key] = dep
        self.queue[dep.key] = deque()
        return dep

    def find(self, ref: str) -> DeploymentState:
        """A Deployment by ``namespace/name`` or unique ``name``."""
        if ref in self.deployments:
            return self.deployments[ref]
        return next(d for d in self.deployments.values() if d.name == ref)

    # --- replica sets ---------------------------------------------------------------------

    def set_replicas(self, dep: DeploymentState, replicas: int) -> None:
        """Change the desired replicas (kubectl scale, HPA)."""
        if replicas != dep.desired:
            if dep.kind == "Deployment":  # the Deployment controller's event
                self.bus.publish(ScalingReplicaSet(dep.namespace, f"{dep.name}-{dep.rs_hash}",
                                                     dep.desired, replicas))
            dep.desired = replicas
            self.availability_changed(dep)
        self.reconcile(dep)

    def reconcile(self, dep: DeploymentState) -> None:
        """Create or delete pods until the ReplicaSet has ``desired`` of them."""
        if dep.kind == "DaemonSet":
            return  # its pods follow the nodes (node_ready)
        if dep.kind == "StatefulSet":
            self._reconcile_ordinals(dep)
            return
        missing = dep.desired - len(dep.pods)
        for _ in range(missing):
            # generateName: the API server refuses a taken name and the controller retries
            name = self._pod_name(dep)
            while name in dep.pods:
                name = self._pod_name(dep)
            pod = Pod(name, dep, self.env.now)
            dep.pods[name] = pod
            self.queue[dep.key].append(pod)
            self.pending_count += 1
        if missing > 0:
            if not self.instant:  # the starting pods are not pending: they run at time 0
                self.pending_grew(self.pending_count)
            self.kick()
        elif missing < 0:
            # upstream deletes unscheduled first, then not-ready, then the newest
            victims = sorted(dep.pods.values(), key=lambda p: (
                p.node is not None, p.ready, -p.created_at))[: -missing]
            for pod in victims:
                self.delete_pod(pod, "scaled down", kill_event=pod.node is not None,
                                replace=False)

    def _reconcile_ordinals(self, dep: DeploymentState) -> None:
        """StatefulSet controller: ordinals 0..desired-1, created in order and (OrderedReady)
        one at a time once every predecessor is Running and Ready; the highest go first."""
        prefix = len(dep.name) + 1
        extra = sorted((p for p in dep.pods.values() if int(p.name[prefix:]) >= dep.desired),
                       key=lambda p: -int(p.name[prefix:]))
        for pod in extra:
            self.delete_pod(pod, "scaled down", kill_event=pod.node is not None, replace=False)
        created = False
        for i in range(dep.desired):
            name = f"{dep.name}-{i}"
            pod = dep.pods.get(name)
            if pod is None:
                pod = Pod(name, dep, self.env.now)
                dep.pods[name] = pod
                self.queue[dep.key].append(pod)
                self.pending_count += 1
                created = True
                if dep.ordered:
                    break
            elif dep.ordered and not (pod.phase == "Running" and pod.ready):
                break
        if created:
            if not self.instant:
                self.pending_grew(self.pending_count)
            self.kick()

    def node_ready(self, node: Node) -> None:
        """A node became Ready: every DaemonSet that selects it gets its pod there, bound at
        once (before any pending pod of a Deployment can take the slot)."""
        for dep in self.deployments.values():
            if dep.kind != "DaemonSet" or node.row < 0 or any(
                    p.dep is dep for p in node.pods.values()):
                continue
            sig, t = dep.sig, self.table
            row = node.row
            if sig.pools is not None and node.pool.index not in sig.pools:
                continue
            if t.taint[row] not in (NO_TAINT,) and not (
                    t.taint[row] == NETWORK_UNAVAILABLE and dep.host_network):
                continue
            if (t.pods[row] >= t.max_pods[row] or t.alloc_cpu[row] - t.used_cpu[row] < sig.cpu
                    or t.alloc_mem[row] - t.used_mem[row] < sig.memory):
                continue  # no room: the daemon pod would stay Pending on this node
            name = f"{dep.name}-{''.join(self.rng.choices(POD_NAME_ALPHABET, k=5))}"
            pod = Pod(name, dep, self.env.now)
            dep.pods[name] = pod
            dep.desired = len(dep.pods)
            self.pending_count += 1
            t.bind(row, sig)
            self._bind(pod, node)

    def _daemon_again(self, node: Node) -> None:
        if node.state == "Ready" and node.row >= 0:
            self.node_ready(node)

    # --- what the nodes tell (sim.cluster.nodes's watches) --------------------------------------

    def node_became_ready(self, node: Node) -> None:
        """A node is Ready: its running pods are ready again, DaemonSets put their pods there,
        and pending pods may land on it."""
        for pod in node.pods.values():
            if pod.phase == "Running":
                self.set_ready(pod, True)
        self.node_ready(node)
        self.kick()

    def node_schedulable(self, node: Node) -> None:
        """A node was uncordoned: pending pods may land on it."""
        self.kick()

    def node_stopped(self, node: Node) -> None:
        """A node's VM stopped: its pods stop answering (connections time out, not reset)."""
        for pod in node.pods.values():
            self.pod_lost(pod, False)

    def node_deleting(self, node: Node, why: str) -> None:
        """A node is being deleted: its pods go (a drain if it still runs)."""
        for pod in list(node.pods.values()):
            self.delete_pod(pod, f"node {node.name} is being deleted ({why})",
                            kill_event=node.state == "Ready")

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

    # --- disruption budgets -------------------------------------------------------------

    def blocking_pdb(self, pod: Pod) -> tuple[PodDisruptionBudget, int] | None:
        """The PodDisruptionBudget that refuses evicting *pod* now (with its unready pods),
        or None (the eviction API would accept it)."""
        labels = pod.dep.manifest.spec.template.metadata.labels
        for pdb in self.pdbs:
            if pdb.metadata.namespace != pod.dep.namespace or not pdb.spec.selector.matches(
                    labels):
                continue
            deps = [d for d in self.deployments.values() if d.kind != "DaemonSet"
                    and d.namespace == pdb.metadata.namespace
                    and pdb.spec.selector.matches(d.manifest.spec.template.metadata.labels)]
            pods = [p for d in deps for p in d.pods.values()]
            healthy = sum(1 for p in pods if p.ready)
            allowed, desired = allowed_disruptions(pdb, healthy, len(pods),
                                                   sum(d.desired for d in deps))
            # unhealthyPodEvictionPolicy IfHealthyBudget (the default): an unready pod may go
            # while the budget is met; a ready one only while disruptions are allowed
            if (allowed <= 0) if pod.ready else (healthy < desired):
                return pdb, len(pods) - healthy
        return None

    def _pod_name(self, dep: DeploymentState) -> str:
        return f"{dep.name}-{dep.rs_hash}-{''.join(self.rng.choices(POD_NAME_ALPHABET, k=5))}"

    def delete_pod(self, pod: Pod, why: str, *, kill_event: bool = True,
                   replace: bool = True, abrupt: bool = False) -> None:
        """Remove *pod* (drain, eviction, kill, scale-down) and let its ReplicaSet replace it.

        A graceful deletion lets in-flight requests finish; an *abrupt* one (a pod kill)
        resets them.
        """
        if pod.phase == "Terminated":
            return
        if abrupt:
            self.pod_lost(pod, True)
        dep = pod.dep
        node = pod.node
        if node is not None:
            if kill_event:
                self.bus.publish(Killing(dep.namespace, pod.name, why))
            if pod.ready:
                self.set_ready(pod, False)
            if node.row >= 0:
                self.table.unbind(node.row, dep.sig)
            if pod.ip and not dep.host_network:
                self.ipam.release_pod_ip(node, pod.ip)
            node.pods.pop(pod.name, None)
            pod.node = None
        else:
            self.pending_count -= 1
        if pod.phase in ("Running", "CrashLoopBackOff"):
            dep.running -= 1
        pod.phase = "Terminated"
        pod.epoch += 1
        dep.pods.pop(pod.name, None)
        if dep.kind == "DaemonSet":
            dep.desired = len(dep.pods)
            if replace and node is not None:  # its controller puts one back on a node that stays
                self.timers.after(0.0, self._daemon_again, node)
            replace = False
        if replace:
            self.reconcile(dep)
        self.kick()

    # --- scheduling ---------------------------------------------------------------------

    def kick(self) -> None:
        """Run a scheduling pass at the current instant (once, however often kicked)."""
        if not self._pass_due:
            self._pass_due = True
            self.timers.after(0.0, self._pass)

    def flush(self) -> None:
        """Run the scheduling pass due at this instant now (if any)."""
        if self._pass_due:
            self._pass()

    def settle(self) -> None:
        """Run scheduling passes at this instant until none is due (at time 0, where pods
        start at once, each StatefulSet ordinal that turns Ready asks for the next pass)."""
        while self._pass_due:
            self._pass()

    def _pass(self, _: object = None) -> None:
        if not self._pass_due:
            return  # already run by flush()
        self._pass_due = False
        now = self.env.now
        while self._ordered_due:  # StatefulSets whose next ordinal may start now
            self.reconcile(self._ordered_due.pop(next(iter(self._ordered_due))))
        self._pass_due = False
        self.unschedulable.clear()
        for key, queue in self.queue.items():
            # the workload's pending pods placed in one batch (sim/cluster/scheduler.py: the same
            # nodes as one at a time), then bound in queue order
            waiting = [p for p in queue if p.phase == "Pending" and p.node is None]
            if not waiting:
                queue.clear()
                continue
            rows, message = self.scheduler.place_many(waiting[0].dep.sig, len(waiting))
            for pod, row in zip(waiting, rows, strict=False):
                while queue.popleft() is not pod:
                    pass  # no longer pending: dropped, as the one-at-a-time loop did
                self._bind(pod, self.nodes_by_row[row])
            if message is None:
                queue.clear()
            else:
                while queue[0] is not waiting[len(rows)]:
                    queue.popleft()
                self.unschedulable.add(key)
                self._warn_unschedulable(queue, message, now)

    def _warn_unschedulable(self, queue: deque[Pod], message: str, now: float) -> None:
        bus = self.bus
        for pod in queue:
            if pod.phase != "Pending":
                continue
            if pod.last_warned == -math.inf or (pod is queue[0] and
                                                now - pod.last_warned >= FAILED_SCHEDULING_REPEAT):
                pod.last_warned = now
                bus.publish(FailedScheduling(pod.dep.namespace, pod.name, message))
            elif pod.last_warned != -math.inf:
                break  # the rest of the queue was warned already, in order

    def pending_pods(self) -> list[Pod]:
        """Pods that failed to schedule in the last pass (what the cluster autoscaler sees)."""
        out: list[Pod] = []
        for key in self.unschedulable:
            out.extend(p for p in self.queue[key] if p.phase == "Pending")
        return out

    def _bind(self, pod: Pod, node: Node) -> None:
        # the scheduler's place_many has counted the pod in the table already
        pod.node = node
        pod.phase = "ContainerCreating"
        node.pods[pod.name] = pod
        self.pending_count -= 1
        self.bus.publish(Scheduled(pod.dep.namespace, pod.name, node.name))
        self._sandbox(pod)

    def _sandbox(self, pod: Pod) -> None:
        node = pod.node
        if pod.phase != "ContainerCreating" or node is None:
            return
        # kubelet retries; the event is aggregated, so publish it on the first failure only
        ip = (node.net.node_ip if pod.dep.host_network else
              self.ipam.pod_ip(node, pod.dep.namespace, pod.name, not pod.sandbox_warned))
        if ip is None:
            pod.sandbox_warned = True
            self.timers.after(self.cluster.timings.sandbox_retry_interval, self._sandbox, pod)
            return
        pod.ip = ip
        if self.instant:
            pod.phase = "Running"
            pod.dep.running += 1
            self.set_ready(pod, True)
            return
        delay = draw(self.cluster.timings.pod_startup_time, self.rng)
        self.timers.after(delay, self._running, (pod, pod.epoch))

    def _running(self, arg: tuple[Pod, int]) -> None:
        pod, epoch = arg
        if pod.epoch != epoch or pod.phase != "ContainerCreating":
            return
        pod.phase = "Running"
        pod.dep.running += 1
        self.timers.after(pod.dep.readiness_delay + pod.dep.min_ready, self._probe_ok,
                          (pod, epoch))

    def _probe_ok(self, arg: tuple[Pod, int]) -> None:
        pod, epoch = arg
        if pod.epoch == epoch and pod.phase == "Running" and pod.node is not None and (
                pod.node.state == "Ready"):
            self.set_ready(pod, True)

    def crash(self, pod: Pod) -> bool:
        """The pod's container exits: its in-flight requests are reset and it goes NotReady
        (``CrashLoopBackOff``) until :meth:`restart`. Returns False if it was not running.

        Kubernetes keeps such a pod's phase Running (CrashLoopBackOff is the container's
        waiting reason), so it still counts in ``dep.running``; the traffic path sees it as
        not answering."""
        if pod.phase != "Running" or pod.node is None:
            return False
        self.pod_lost(pod, True)
        pod.phase = "CrashLoopBackOff"
        pod.epoch += 1  # its pending readiness probe no longer applies
        self.set_ready(pod, False)
        return True

    def restart(self, pod: Pod) -> None:
        """The kubelet starts a crashed container again in the same pod (same node and IP):
        Running now, Ready after the readiness delay."""
        if pod.phase != "CrashLoopBackOff" or pod.node is None:
            return
        pod.phase = "Running"
        self.timers.after(pod.dep.readiness_delay + pod.dep.min_ready, self._probe_ok,
                          (pod, pod.epoch))

    def set_ready(self, pod: Pod, ready: bool) -> None:
        """Change a pod's Ready condition (and its Deployment's availability)."""
        if pod.ready == ready:
            return
        pod.ready = ready
        dep = pod.dep
        dep.available += 1 if ready else -1
        self.availability_changed(dep)
        self.readiness_changed(pod)
        if ready and dep.ordered:
            self._ordered_due[dep.key] = dep
            self.kick()

    # --- HPA --------------------------------------------------------------------------------

    def add_hpa(self, hpa: HorizontalPodAutoscaler) -> None:
        """Start the HPA controller loop for one HorizontalPodAutoscaler."""
        dep = self.find(f"{hpa.metadata.namespace}/{hpa.spec.scale_target_ref.name}")
        self.hpas.append((hpa, dep))
        self.env.process(self._hpa_loop(hpa, dep))

    def _hpa_loop(self, hpa: HorizontalPodAutoscaler,
                  dep: DeploymentState) -> Generator[simpy.Event, Any, None]:
        env, spec = self.env, hpa.spec
        target = float(spec.target_cpu)
        window = spec.behavior.scale_down.stabilization_window_seconds
        window = HPA_DOWNSCALE_WINDOW if window is None else float(window)
        # upstream records the current replicas as the first recommendation, so a fresh HPA
        # does not scale down before its stabilisation window has passed
        history: deque[tuple[float, int]] = deque([(env.now, dep.desired)])
        last_cpu = dep.cpu_seconds
        while True:
            yield env.timeout(HPA_SYNC_PERIOD)
            current = dep.desired
            ready = dep.available
            used, last_cpu = dep.cpu_seconds - last_cpu, dep.cpu_seconds
            if current == 0 or ready == 0:
                continue
            if dep.utilization:
                demand = utilization_at(dep, env.now) * dep.initial  # "pods at 100% request"
                measured = 100.0 * demand / ready
            elif dep.cpu_cap > 0 and dep.sig.cpu > 0:
                # metrics-server: the pods' CPU over the sync period, as % of their requests;
                # busy pods cannot use more than their workers
                cores = min(used / HPA_SYNC_PERIOD, ready * dep.cpu_cap)
                measured = 100.0 * cores / (ready * dep.sig.cpu / 1000.0)
            else:
                continue
            ratio = measured / target
            desired = current if abs(ratio - 1.0) <= HPA_TOLERANCE else math.ceil(ready * ratio)
            desired = max(spec.min_replicas, min(spec.max_replicas, desired))
            now = env.now
            history.append((now, desired))
            while history and history[0][0] <= now - window:
                history.popleft()
            if desired < current:
                desired = min(current, max(d for _, d in history))
            else:
                desired = min(desired, max(2 * current, current + 4))
            if desired != current:
                self.bus.publish(SuccessfulRescale(dep.namespace, hpa.metadata.name, desired,
                                                round(measured, 1), target))
                self.set_replicas(dep, desired)


def utilization_at(dep: DeploymentState, t: float) -> float:
    """CPU utilisation fraction the Deployment's initial replicas would show at time *t*."""
    value = 0.0
    for at, cpu in dep.utilization:
        if at <= t:
            value = cpu / 100.0
        else:
            break
    return value


def _budget(value: int | str, expected: int) -> int:
    """An int-or-percent of a PodDisruptionBudget, percentages of *expected* rounded up
    (intstr.GetScaledValueFromIntOrPercent with roundUp, as the disruption controller)."""
    if isinstance(value, str):
        return -(-int(value[:-1]) * expected // 100)
    return value


def allowed_disruptions(pdb: PodDisruptionBudget, healthy: int, pods: int,
                        replicas: int) -> tuple[int, int]:
    """``status.disruptionsAllowed`` and ``desiredHealthy`` (kubernetes pkg/controller/
    disruption): currentHealthy - desiredHealthy, never below 0. The expected count is the
    pods' controllers' replicas, except with an integer minAvailable, where it is the pods."""
    spec = pdb.spec
    if spec.max_unavailable is not None:
        desired = max(0, replicas - _budget(spec.max_unavailable, replicas))
    elif isinstance(spec.min_available, int):
        desired = spec.min_available
    elif spec.min_available is not None:
        desired = _budget(spec.min_available, replicas)
    else:
        desired = 0  # neither set (policy/v1 has no default): desiredHealthy stays 0
    return max(0, healthy - desired), desired


def _pool_label(pool: str, key: str) -> str | None:
    # AKS labels every node with its pool name under both keys
    return pool if key in ("agentpool", "kubernetes.azure.com/agentpool") else None
