"""``aks-sim reach``: which workloads can open connections to which, under the scenario's
NetworkPolicies (a truth table in the spirit of the Kubernetes e2e NetworkPolicy matrices).

Each cell is checked for every pod pair of the two workloads at the destination's port (its
first container port unless one is given), with the policies enforced by the cluster's
``networkPolicy`` engine (``none``: policies have no effect, AKS-NETWORKING.md section 6).
An ``internet`` row stands for a client outside the cluster (a documentation address,
203.0.113.10, matched by ipBlock rules like any external IP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.azure.vnet import ip_str
from sim.netpol import ExternalPeer, GroupVerdict, Verdict
from sim.netpol import Pod as NpPod
from sim.traffic.policy import INTERNET, cluster_policies, workload_ports

if TYPE_CHECKING:
    from sim.model import Model

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
    exposure: dict[str, str] = field(default_factory=dict)
    """How the internet reaches each destination (a public LoadBalancer or NodePort Service,
    an Ingress through the controller); ``""``: not exposed, whatever the policies say."""


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
    # the policies in effect now (operations and faults may have changed them), as the
    # traffic path sees them; before the run starts, the scenario's
    objects = (list(model.traffic.policy_objects.values()) if model.traffic.started
               else [_as_dict(p.obj) for p in loaded.network_policies])
    policies = cluster_policies(model.loaded, objects,
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
    exposed = exposure(model)
    for dst in groups:
        cell = cells.get(("internet", dst))
        if cell is not None and not exposed.get(dst):
            cells[("internet", dst)] = GroupVerdict(False, cell.connections, (), NOT_EXPOSED)
    return Reach(engine, policies.is_enforced, policies.policies, sources, list(groups), ports,
                 cells, exposed)


NOT_EXPOSED = ("not exposed: no public LoadBalancer, NodePort or Ingress path leads to its "
               "pods (an internet client has no address to connect to)")


def exposure(model: Model) -> dict[str, str]:
    """For every Deployment, how an internet client can reach its pods: through a public
    LoadBalancer Service or a NodePort Service selecting them, or an Ingress rule of the
    controller (itself behind its LoadBalancer Service) naming a Service that selects them;
    ``""`` when none does (a ClusterIP-only workload, or behind an internal load balancer,
    whose frontend is a VNet address)."""
    out: dict[str, str] = {key: "" for key in model.workloads.deployments}
    for svc in sorted(model.service_ctl.services.values(), key=lambda s: s.key):
        if (svc.type == "LoadBalancer" and not svc.internal) or svc.type == "NodePort":
            for dep in svc.deployments:
                out[dep.key] = out[dep.key] or f"{svc.type} Service {svc.key}"
    traffic = model.spec.traffic
    controller = traffic.ingress_controller if traffic is not None else None
    csvc = model.service_ctl.find(controller.service) if controller is not None else None
    if csvc is None or csvc.type != "LoadBalancer" or csvc.internal:
        return out
    for key, ing in sorted(model.traffic.ingress_objects.items()) or [
            (f"{p.obj.metadata.namespace}/{p.obj.metadata.name}", _as_dict(p.obj))
            for p in model.loaded.workloads.ingresses]:
        ns = key.split("/")[0]
        spec = ing.get("spec") or {}
        backends = [spec.get("defaultBackend") or {}] + [
            path.get("backend") or {} for rule in spec.get("rules") or []
            for path in (rule.get("http") or {}).get("paths") or []]
        for b in backends:
            name = (b.get("service") or {}).get("name")
            bsvc = model.service_ctl.services.get(f"{ns}/{name}") if name else None
            for dep in bsvc.deployments if bsvc is not None else []:
                out[dep.key] = out[dep.key] or f"Ingress {key} via the controller {csvc.key}"
    return out


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
                "not exposed" if cell.reason == NOT_EXPOSED else
                "partial" if len(cell.denied) < cell.connections else "deny"))
            row += mark.ljust(width)
        lines.append(row.rstrip())
    hidden = [dst for dst in reach.destinations
              if (c := reach.cells.get(("internet", dst))) is not None and c.reason == NOT_EXPOSED]
    if hidden:
        lines.append("")
        lines.append(f"Not exposed to the internet ({NOT_EXPOSED[len('not exposed: '):]}): "
                     + ", ".join(hidden))
    denied = [(k, v) for k, v in reach.cells.items() if not v.allowed and v.reason != NOT_EXPOSED]
    if denied:
        lines.append("")
        lines.append("Why denied:")
        for (src, dst), v in denied:
            lines.append(f"  {src} -> {dst}: {v.reason}")
    return "\n".join(lines)
