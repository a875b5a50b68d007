"""The one NetworkPolicy engine of a run, as the traffic path and ``aks-sim reach`` and
``aks-sim route`` build it: the scenario's namespaces with their labels, the pods, the
cluster's ``networkPolicy`` setting. All three evaluate through :func:`cluster_policies`, so
they cannot disagree (tests/core/test_one_engine.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sim.netpol import ContainerPort as NpPort
from sim.netpol import ExternalPeer, NetworkPolicies
from sim.netpol import Namespace as NpNamespace
from sim.netpol import Pod as NpPod
from sim.scenario.loaded import LoadedScenario

INTERNET = ExternalPeer("203.0.113.10", "internet")
"""A client outside the cluster: a documentation address, matched by ipBlock rules like any
external IP."""

DNS_PORT = 53
"""CoreDNS answers on UDP 53 (the kube-dns Service's port and CoreDNS's container port)."""


def namespaces(loaded: LoadedScenario) -> list[NpNamespace]:
    """Every namespace the scenario declares, with its labels (a namespace only pods name gets
    the ``kubernetes.io/metadata.name`` label alone, as the API server sets it)."""
    return [NpNamespace(p.obj.metadata.name, dict(p.obj.metadata.labels))
            for p in loaded.workloads.namespaces]


def cluster_policies(loaded: LoadedScenario, policies: Iterable[Mapping[str, Any]],
                     pods: Iterable[NpPod]) -> NetworkPolicies:
    """The one NetworkPolicy engine of a run: its namespaces with their labels, *pods*, the
    cluster's ``networkPolicy`` setting. ``aks-sim reach``, ``aks-sim route`` and the traffic
    path all evaluate through this, so they cannot disagree."""
    return NetworkPolicies(list(policies), namespaces=namespaces(loaded), pods=pods,
                           external_peers=[INTERNET], engine=loaded.spec.cluster.network_policy)


def workload_ports(dep: Any) -> tuple[NpPort, ...]:
    """The container ports of a Deployment's pod template (named ports resolve against them)."""
    return tuple(NpPort(p.container_port, p.name, p.protocol)
                 for c in dep.manifest.spec.template.spec.containers for p in c.ports)
