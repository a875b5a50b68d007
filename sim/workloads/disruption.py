"""PodDisruptionBudgets: what the eviction API checks before a voluntary eviction (a drain).

An eviction is refused (the eviction API's 429) when the matching pods' healthy count would
fall below minAvailable (int, or a percentage of the expected pods rounded up) or
expected - maxUnavailable.

A component of :class:`sim.workloads.controller.WorkloadController`, reading its workloads.
"""

from __future__ import annotations

from sim.objects import DeploymentState, Pod
from sim.scenario.manifests import PodDisruptionBudget


class DisruptionBudgets:
    """The scenario's PodDisruptionBudgets over the workloads in *deployments* (the
    controller's dict, read when asked)."""

    def __init__(self, deployments: dict[str, DeploymentState]) -> None:
        self.deployments = deployments
        self.pdbs: list[PodDisruptionBudget] = []

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

