"""Deployments and their pods, the scheduling queue and kubelet start-up: the workload
controller, with its components (StatefulSet and DaemonSet rules in :mod:`sim.workloads.kinds`,
the taint manager in :mod:`sim.workloads.eviction`, PodDisruptionBudgets in
:mod:`sim.workloads.disruption`, the HPA in :mod:`sim.workloads.hpa`).

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
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from sim.cluster.scheduler import NodeTable, Scheduler
from sim.events import FailedScheduling, Killing, ScalingReplicaSet, Scheduled
from sim.kernel.context import Context
from sim.kernel.watch import Watch
from sim.objects import POD_NAME_ALPHABET, DeploymentState, Node, NodePool, Pod
from sim.queueing.service_times import draw
from sim.scenario.manifests import DaemonSet, Deployment, HorizontalPodAutoscaler, StatefulSet
from sim.workloads.disruption import DisruptionBudgets
from sim.workloads.eviction import TaintManager, eviction_delays
from sim.workloads.hpa import HpaController
from sim.workloads.kinds import daemon_fits, ordinals_to_create, signature, surplus_ordinals

if TYPE_CHECKING:
    from sim.ipam import IpamStrategy
    from sim.scenario.schema import ClusterSpec

FAILED_SCHEDULING_REPEAT = 300.0


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
        self.queue: dict[str, deque[Pod]] = {}
        """Pending pods by workload, in arrival order."""
        self.unschedulable: set[str] = set()
        """Workloads whose head pod did not fit in the last pass."""
        self._ordered_due: dict[str, DeploymentState] = {}
        """StatefulSets whose next ordinal may start (a pod of theirs became Ready)."""
        self._pass_due = False
        self.pending_count = 0
        self.instant = False
        """While the cluster is built at time 0, bound pods run and are Ready at once."""
        self.hpa = HpaController(self.env, self.bus, self.set_replicas)
        """The HorizontalPodAutoscalers (telemetry reads ``hpa.hpas``)."""
        self.taint_manager = TaintManager(self.timers, self.bus, self.set_ready, self.delete_pod)
        """Evicts the pods of NotReady nodes (it watches ``nodes.went_not_ready``)."""
        self.budgets = DisruptionBudgets(self.deployments)
        """The PodDisruptionBudgets, which node drains ask (``budgets.blocking_pdb``)."""

    # --- set-up -----------------------------------------------------------------------

    def add_deployment(self, manifest: Deployment | StatefulSet | DaemonSet) -> DeploymentState:
        """Register a Deployment, StatefulSet or DaemonSet (its pods are created at the next
        reconcile; a DaemonSet's as nodes become Ready, :meth:`node_ready`)."""
        sig = signature(manifest, self.pools)
        self.table.register(sig, len(self.cluster.zones))
        dep = DeploymentState(manifest, sig, *eviction_delays(manifest, self.cluster.timings))
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
            self.availability_changed.fire(dep)
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
                self.pending_grew.fire(self.pending_count)
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
        for pod in surplus_ordinals(dep):
            self.delete_pod(pod, "scaled down", kill_event=pod.node is not None, replace=False)
        names = ordinals_to_create(dep)
        for name in names:
            pod = Pod(name, dep, self.env.now)
            dep.pods[name] = pod
            self.queue[dep.key].append(pod)
            self.pending_count += 1
        if names:
            if not self.instant:
                self.pending_grew.fire(self.pending_count)
            self.kick()

    def node_ready(self, node: Node) -> None:
        """A node became Ready: every DaemonSet that selects it gets its pod there, bound at
        once (before any pending pod of a Deployment can take the slot)."""
        for dep in self.deployments.values():
            if dep.kind != "DaemonSet" or node.row < 0 or any(
                    p.dep is dep for p in node.pods.values()) or not daemon_fits(dep, node, self.table):
                continue
            name = f"{dep.name}-{''.join(self.rng.choices(POD_NAME_ALPHABET, k=5))}"
            pod = Pod(name, dep, self.env.now)
            dep.pods[name] = pod
            dep.desired = len(dep.pods)
            self.pending_count += 1
            self.table.bind(node.row, dep.sig)
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
            self.pod_lost.fire(pod, False)

    def node_deleting(self, node: Node, why: str) -> None:
        """A node is being deleted: its pods go (a drain if it still runs)."""
        for pod in list(node.pods.values()):
            self.delete_pod(pod, f"node {node.name} is being deleted ({why})",
                            kill_event=node.state == "Ready")

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
            self.pod_lost.fire(pod, True)
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
        self.pod_lost.fire(pod, True)
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
        self.availability_changed.fire(dep)
        self.readiness_changed.fire(pod)
        if ready and dep.ordered:
            self._ordered_due[dep.key] = dep
            self.kick()

    # --- HPA --------------------------------------------------------------------------------

    def add_hpa(self, hpa: HorizontalPodAutoscaler) -> None:
        """Start the HPA controller loop for one HorizontalPodAutoscaler."""
        self.hpa.add(hpa, self.find(f"{hpa.metadata.namespace}/{hpa.spec.scale_target_ref.name}"))

