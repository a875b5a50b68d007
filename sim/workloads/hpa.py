"""The HorizontalPodAutoscaler controller (autoscaling/v2 defaults).

- Sync every 15 s, tolerance 0.1, desired = ceil(current x utilisation / target).
- Scale-up limited to max(2x, +4) per sync.
- Scale-down uses the highest recommendation of the last 300 s (stabilisation window).

A component of :class:`sim.workloads.controller.WorkloadController`: it reads the Deployment's
state and changes its replicas through the controller's ``set_replicas``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import simpy

from sim.events import SuccessfulRescale
from sim.kernel.bus import Bus
from sim.objects import DeploymentState
from sim.scenario.manifests import HorizontalPodAutoscaler

HPA_SYNC_PERIOD = 15.0
HPA_TOLERANCE = 0.1
HPA_DOWNSCALE_WINDOW = 300.0


class HpaController:
    """One sync loop per HorizontalPodAutoscaler; a rescale goes through *set_replicas*."""

    def __init__(self, env: simpy.Environment, bus: Bus,
                 set_replicas: Callable[[DeploymentState, int], None]) -> None:
        self.env = env
        self.bus = bus
        self.set_replicas = set_replicas
        self.hpas: list[tuple[HorizontalPodAutoscaler, DeploymentState]] = []
        """Every HPA with the Deployment it scales (read by telemetry)."""

    def add(self, hpa: HorizontalPodAutoscaler, dep: DeploymentState) -> None:
        """Start the HPA controller loop for *hpa*, which scales *dep*."""
        self.hpas.append((hpa, dep))
        self.env.process(self._loop(hpa, dep))

    def _loop(self, hpa: HorizontalPodAutoscaler,
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
