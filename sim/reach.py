"""``aks-sim reach``: which workloads can open connections to which, under the scenario's
NetworkPolicies (a truth table in the spirit of the Kubernetes e2e NetworkPolicy matrices).

Each cell is checked for every pod pair of the two workloads at the destination's port (its
first container port unless one is given), with the policies enforced by the cluster's
``networkPolicy`` engine (``none``: policies have no effect, AKS-NETWORKING.md section 6).
An ``internet`` row stands for a client outside the cluster (a documentation address,
203.0.113.10, matched by ipBlock rules like any external IP).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.netpol import ContainerPort as NpPort
from sim.netpol import ExternalPeer, GroupVerdict, NetworkPolicies, Verdict
from sim.netpol import Namespace as NpNamespace
from sim.netpol import Pod as NpPod
from sim.network import ip_str

if TYPE_CHECKING:
    from sim.model import Model

INTERNET = ExternalPeer("203.0.113.10", "internet")


@dataclass
class Reach:
    """The truth table: rows are sources, columns destinations."""

    engine: str
    enforced: bool
    policies: tuple[str, ...]
    sources: list[str]
    destinations: list[str]
    ports: dict[str, tuple[int, str]]
    cells: dict[tuple[str, str], GroupVerdict]


def namespaces(model: Model) -> list[NpNamespace]:
    """Every namespace the scenario declares, with its labels (a namespace only pods name gets
    the ``kubernetes.io/metadata.name`` label alone, as the API server sets it)."""
    return [NpNamespace(p.obj.metadata.name, dict(p.obj.metadata.labels))
            for p in model.loaded.workloads.namespaces]


def cluster_policies(model: Model, policies: Iterable[Mapping[str, Any]],
                     pods: Iterable[NpPod]) -> NetworkPolicies:
    """The one NetworkPolicy engine of *model*: its namespaces with their labels, *pods*, the
    cluster's ``networkPolicy`` setting. ``aks-sim reach``, ``aks-sim route`` and the traffic
    path all evaluate through this, so they cannot disagree."""
    return NetworkPolicies(list(policies), namespaces=namespaces(model), pods=pods,
                           external_peers=[INTERNET], engine=model.spec.cluster.network_policy)


def workload_ports(dep: Any) -> tuple[NpPort, ...]:
    """The container ports of a Deployment's pod template (named ports resolve against them)."""
    return tuple(NpPort(p.container_port, p.name, p.protocol)
                 for c in dep.manifest.spec.template.spec.containers for p in c.ports)


DNS_PORT = 53
"""CoreDNS answers on UDP 53 (the kube-dns Service's port and CoreDNS's container port)."""


def _pods(model: Model) -> dict[str, list[NpPod]]:
    groups: dict[str, list[NpPod]] = {}
    for dep in sorted(model.workloads.deployments.values(), key=lambda d: d.key):
        spec = dep.manifest.spec.template
        ports = workload_ports(dep)
        groups[dep.key] = [NpPod(dep.namespace, pod.name, dict(spec.metadata.labels),
                                 ip_str(pod.ip) if pod.ip else None, ports)
                           for pod in sorted(dep.pods.values(), key=lambda p: p.name)]
    return groups


def reachability(model: Model, *, port: int | None = None, protocol: str = "TCP") -> Reach:
    """The allow/deny table between every Deployment of *model* (and the internet)."""
    loaded = model.loaded.workloads
    groups = _pods(model)
    engine = model.spec.cluster.network_policy
    policies = cluster_policies(model, [_as_dict(p.obj) for p in loaded.network_policies],
                                [p for members in groups.values() for p in members])
    ports: dict[str, tuple[int, str]] = {}
    for key, members in groups.items():
        first = members[0].ports[0] if members and members[0].ports else None
        ports[key] = (port, protocol) if port is not None else (
            (first.container_port, first.protocol) if first else (80, protocol))
    cells: dict[tuple[str, str], GroupVerdict] = {}
    sources = ["internet", *groups]
    for dst, dst_pods in groups.items():
        dport, dproto = ports[dst]
        for src in sources:
            src_members: list[NpPod | ExternalPeer] = [INTERNET] if src == "internet" else list(
                groups[src])
            verdicts: list[Verdict] = [policies.allows(s, d, dport, dproto)
                                       for s in src_members for d in dst_pods if s.key != d.key]
            if verdicts:
                denied = tuple(v for v in verdicts if not v.allowed)
                reason = denied[0].reason if denied else verdicts[0].reason
                cells[(src, dst)] = GroupVerdict(not denied, len(verdicts), denied, reason)
    return Reach(engine, policies.is_enforced, policies.policies, sources, list(groups), ports,
                 cells)


def _as_dict(obj: object) -> dict:
    dump = obj.model_dump(by_alias=True, exclude_none=True)  # type: ignore[attr-defined]
    dump["apiVersion"] = dump.pop("apiVersion", "networking.k8s.io/v1")
    return dump


def render(reach: Reach) -> str:
    """The table as text: ``allow``, ``deny`` or ``partial`` per cell, then why."""
    width = max(12, *(len(n) for n in reach.sources + reach.destinations)) + 2
    head = "from \\ to".ljust(width) + "".join(d.ljust(width) for d in reach.destinations)
    lines = []
    if not reach.enforced:
        lines.append(f"networkPolicy: {reach.engine}: NetworkPolicies have no effect; "
                     "everything is allowed")
    lines.append(f"{len(reach.policies)} NetworkPolicies; destination ports: " + ", ".join(
        f"{d} {p}/{proto}" for d, (p, proto) in reach.ports.items()))
    lines.append(head)
    for src in reach.sources:
        row = src.ljust(width)
        for dst in reach.destinations:
            cell = reach.cells.get((src, dst))
            mark = "-" if cell is None else ("allow" if cell.allowed else (
                "partial" if len(cell.denied) < cell.connections else "deny"))
            row += mark.ljust(width)
        lines.append(row.rstrip())
    denied = [(k, v) for k, v in reach.cells.items() if not v.allowed]
    if denied:
        lines.append("")
        lines.append("Why denied:")
        for (src, dst), v in denied:
            lines.append(f"  {src} -> {dst}: {v.reason}")
    return "\n".join(lines)
