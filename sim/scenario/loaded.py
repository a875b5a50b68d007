"""A loaded scenario as data: the spec, its Kubernetes objects, where they were written.

This module, ``schema``, ``manifests`` and ``units`` are the scenario's vocabulary, shared by
every layer (the model reads them). The loader (``sim.scenario``, ``yamlmarks``,
``messages``, ``semantics``) is a layer above the core, which never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sim.kernel.errors import Issue
from sim.scenario.manifests import Deployment
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.scenario.yamlmarks import Located


@dataclass
class Placed:
    """A Kubernetes object and where it was written."""

    obj: Any
    doc: Located
    path: tuple[str | int, ...]


@dataclass
class Workloads:
    """The Kubernetes objects of a scenario, by kind."""

    deployments: list[Placed] = field(default_factory=list)
    hpas: list[Placed] = field(default_factory=list)
    services: list[Placed] = field(default_factory=list)
    ingresses: list[Placed] = field(default_factory=list)
    network_policies: list[Placed] = field(default_factory=list)
    namespaces: list[Placed] = field(default_factory=list)
    statefulsets: list[Placed] = field(default_factory=list)
    daemonsets: list[Placed] = field(default_factory=list)
    pdbs: list[Placed] = field(default_factory=list)

    def deployment(self, ref: str) -> Deployment | None:
        """The Deployment (or StatefulSet) named ``name`` or ``namespace/name``."""
        for p in (*self.deployments, *self.statefulsets):  # kubectl scale takes both
            d = p.obj
            if ref in (d.key, d.metadata.name):
                return d  # type: ignore[no-any-return]
        return None


@dataclass
class LoadedScenario:
    """A valid scenario, its Kubernetes objects, and the warnings it raised."""

    spec: Scenario
    workloads: Workloads
    file: str
    warnings: list[Issue] = field(default_factory=list)
