"""What each workload's pods do with a request: how long it takes and how many at once
(the scenario's ``traffic.backends``; the ingress controller's proxying for its own pods)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.queueing.podqueue import PodQueue
from sim.scenario.schema import Distribution, Exponential

if TYPE_CHECKING:
    from sim.objects import Pod
    from sim.scenario.schema import TrafficSpec
    from sim.svc import ServiceController
    from sim.traffic.flows import FlowState


class Backends:
    """The backend settings of the pods on the traffic path."""

    def __init__(self, spec: TrafficSpec | None, service_ctl: ServiceController) -> None:
        self.spec = spec
        self.service_ctl = service_ctl
        self._backends = {b.deployment: b for b in (spec.backends if spec else [])}

    def of(self, pod: Pod) -> Any:
        """The ``traffic.backends`` entry of *pod*'s workload (by ``namespace/name`` or name)."""
        dep = pod.dep
        return self._backends.get(dep.key) or self._backends.get(dep.name)

    def service_time(self, pod: Pod, flow: FlowState | None = None) -> Distribution:
        """How long *pod* takes per request (an ingress controller pod proxying *flow*: its
        proxy time; a pod without settings: 20 ms on average)."""
        controller = self.spec.ingress_controller if self.spec else None
        if flow is not None and flow.route is not None and controller is not None and (
                pod.dep in flow.svc.deployments):
            return controller.proxy_time
        backend = self.of(pod)
        return backend.service_time if backend else Exponential(distribution="exponential",
                                                                mean=0.02)

    def pod_queue(self, pod: Pod) -> PodQueue:
        """*pod*'s queue, made with its workers on first use."""
        queue = pod.queue
        if queue is None:
            backend = self.of(pod)
            workers = backend.concurrency if backend else 1
            controller = self.spec.ingress_controller if self.spec else None
            if backend is None and controller is not None and pod.dep in self.controller_deps():
                workers = controller.concurrency
            queue = pod.queue = PodQueue(workers)
        return queue

    def controller_deps(self) -> list[Any]:
        """The workloads behind the ingress controller's Service."""
        controller = self.spec.ingress_controller if self.spec else None
        svc = self.service_ctl.find(controller.service) if controller else None
        return svc.deployments if svc else []
