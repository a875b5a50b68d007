"""The ``coredns-autoscaler`` (cluster-proportional-autoscaler): :func:`replicas`.

Ladder and linear modes of kubernetes-sigs/cluster-proportional-autoscaler, with the AKS
ladder of coredns-autoscale.md (:data:`AKS_COREDNS_LADDER`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from sim.dns.records import DNSError

# --------------------------------------------------------------------------- coredns-autoscaler

Ladder: TypeAlias = tuple[tuple[int, int], ...]
"""``[[threshold, replicas], ...]``: the step that applies is the last with threshold <= value."""


@dataclass(frozen=True, slots=True)
class LadderParams:
    """cluster-proportional-autoscaler ``ladder`` mode: the max of two step functions."""

    cores_to_replicas: Ladder = ()
    nodes_to_replicas: Ladder = ()

    def __post_init__(self) -> None:
        for name in ("cores_to_replicas", "nodes_to_replicas"):
            steps = tuple(sorted((int(a), int(b)) for a, b in getattr(self, name)))
            if any(a < 1 or b < 1 for a, b in steps):
                raise DNSError(f"{name} {steps}: thresholds and replicas must be >= 1 (upstream parseParams)")
            object.__setattr__(self, name, steps)

    @classmethod
    def from_configmap(cls, value: str | Mapping[str, Any]) -> LadderParams:
        """From the ConfigMap's ``ladder`` JSON (``{"coresToReplicas": [[1,2],...], ...}``)."""
        data = json.loads(value) if isinstance(value, str) else value
        return cls(tuple((int(a), int(b)) for a, b in data.get("coresToReplicas") or ()),
                   tuple((int(a), int(b)) for a, b in data.get("nodesToReplicas") or ()))


@dataclass(frozen=True, slots=True)
class LinearParams:
    """cluster-proportional-autoscaler ``linear`` mode.

    ``max(ceil(cores / coresPerReplica), ceil(nodes / nodesPerReplica))``, each clamped to
    [min, max] (``max`` 0 = none); ``preventSinglePointFailure`` asks for 2 replicas as soon as
    there is more than one node.
    """

    cores_per_replica: float = 0.0
    nodes_per_replica: float = 0.0
    min: int = 1
    max: int = 0
    prevent_single_point_failure: bool = False

    def __post_init__(self) -> None:
        if self.cores_per_replica < 0 or self.nodes_per_replica < 0:
            raise DNSError("coresPerReplica and nodesPerReplica must be >= 0")
        if self.cores_per_replica == 0 and self.nodes_per_replica == 0:
            raise DNSError("linear mode needs coresPerReplica or nodesPerReplica (> 0)")
        if self.min < 0 or (self.max and self.max < max(self.min, 1)):
            raise DNSError(f"min {self.min} / max {self.max}: need 0 <= min <= max (max 0 = no max)")

    @classmethod
    def from_configmap(cls, value: str | Mapping[str, Any]) -> LinearParams:
        """From the ConfigMap's ``linear`` JSON."""
        data = json.loads(value) if isinstance(value, str) else value
        return cls(float(data.get("coresPerReplica", 0)), float(data.get("nodesPerReplica", 0)),
                   int(data.get("min", 1)) or 1, int(data.get("max", 0)),
                   bool(data.get("preventSinglePointFailure", False)))


AKS_COREDNS_LADDER = LadderParams(((1, 2), (512, 3), (1024, 4), (2048, 5)),
                                  ((1, 2), (8, 3), (16, 4), (32, 5)))
"""The ``coredns-autoscaler`` ConfigMap AKS ships (coredns-autoscale.md)."""


def _step(value: int, ladder: Ladder) -> int:
    if not ladder:
        return 1
    replicas = ladder[0][1]
    for threshold, count in ladder:
        if value < threshold:
            break
        replicas = count
    return replicas


def _linear(value: int, per_replica: float, p: LinearParams) -> int:
    if per_replica == 0:
        return 1
    res = math.ceil(value / per_replica)
    if p.max:
        res = min(p.max, res)
    return max(max(p.min, 1), res)


def replicas(cores: int, nodes: int, params: LadderParams | LinearParams = AKS_COREDNS_LADDER) -> int:
    """CoreDNS replicas the cluster-proportional-autoscaler asks for.

    Args:
        cores: schedulable cores in the cluster.
        nodes: schedulable nodes.
        params: ladder (default: AKS's) or linear parameters.

    Returns:
        Ladder: the larger of the two step values (a value below the first threshold takes the
        first step). Linear: see :class:`LinearParams`.
    """
    if cores < 0 or nodes < 0:
        raise DNSError(f"cores ({cores}) and nodes ({nodes}) must be >= 0")
    if isinstance(params, LadderParams):
        return max(_step(cores, params.cores_to_replicas), _step(nodes, params.nodes_to_replicas))
    from_cores = _linear(cores, params.cores_per_replica, params)
    from_nodes = _linear(nodes, params.nodes_per_replica, params)
    if params.prevent_single_point_failure and nodes > 1 and from_nodes < 2:
        from_nodes = 2
    return max(from_cores, from_nodes)


def ladder_steps(params: LadderParams = AKS_COREDNS_LADDER) -> Iterator[tuple[str, int, int]]:
    """Every step as ``(axis, threshold, replicas)``, for reports (``("nodes", 16, 4)``)."""
    for threshold, count in params.cores_to_replicas:
        yield ("cores", threshold, count)
    for threshold, count in params.nodes_to_replicas:
        yield ("nodes", threshold, count)
