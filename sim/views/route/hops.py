"""The hops every path of ``aks-sim route`` shares: the trace's records, the load balancer's
hops, which Service a host names, the endpoints still listed but gone, the NetworkPolicy hop
(asked of the traffic path's own engine) and the verdict it leads to."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sim.azure.vnet import ip_str

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import ServiceState


@dataclass
class Hop:
    """One step of the path and the rule that chose it."""

    what: str
    detail: str
    why: list[str] = field(default_factory=list)


@dataclass
class RouteTrace:
    """Every hop, and whether the request would be answered."""

    url: str
    at: float
    hops: list[Hop]
    answered: bool
    verdict: str
    outcome: str = "ok"
    """The traffic outcome a flow of such requests gets (sim.outcomes names), or
    ``not_exposed`` / ``unknown_host``; ``partial`` when a NetworkPolicy drops only some."""


class RouteError(ValueError):
    """A question route cannot ask (an unknown client Deployment)."""


VM_CLIENTS = ("vnet", "peered-vnet", "on-premises")
"""Clients outside the cluster in the VNet, a peered VNet or on-premises (VPN/ExpressRoute)."""


def lb_hops(model: Model, svc: ServiceState) -> list[Hop]:
    lb = model.traffic.balancers.get(svc.key)
    healthy = lb.healthy if lb is not None else []
    probe = ("HTTP health check node port: 200 only on nodes with a ready local endpoint"
             if svc.local else "TCP probe of the NodePort: answers while the node runs kube-proxy")
    spread = ("2-tuple hash (session persistence SourceIP, for sessionAffinity ClientIP): one "
              "client, one backend" if lb is not None and lb.distribution == "SourceIP"
              else "5-tuple hash over the backends passing the probe")
    scheduler = model.spec.cluster.ipvs_scheduler
    chooser = (f"IPVS scheduler {scheduler} of the node's virtual server" if scheduler
               else "iptables: each endpoint with probability 1/n (statistic --mode random)")
    hops = [Hop("load balancer", f"public frontend of Service {svc.key} "
                f"(type LoadBalancer, externalTrafficPolicy {'Local' if svc.local else 'Cluster'})",
                [spread]),
            Hop("backend nodes", ", ".join(n.name for n in healthy) or "none passes the probe",
                [probe])]
    endpoints = ", ".join(f"{p.name} ({ip_str(p.ip)} on {p.node.name if p.node else '?'})"
                          for p in svc.endpoints) or "none ready"
    hops.append(Hop("kube-proxy", f"Service {svc.key} ClusterIP {ip_str(svc.cluster_ip)}: "
                    f"{len(svc.endpoints)} endpoints: {endpoints}",
                    [chooser if not svc.local else
                     f"Local: only the endpoints on the chosen node ({chooser})"]))
    return hops


def service_for_host(model: Model, host: str | None) -> ServiceState | None:
    """The Service a URL host names: its ``loadBalancerIP`` or ClusterIP, or its name as
    cluster DNS writes it (``name``, ``name.namespace``, ``name.namespace.svc``,
    ``name.namespace.svc.cluster.local``)."""
    name = (host or "").lower().rstrip(".")
    if not name:
        return None
    services = model.service_ctl.services.values()
    for svc in services:
        if name == (svc.manifest.spec.load_balancer_ip or "") or (
                svc.cluster_ip and name == ip_str(svc.cluster_ip)):
            return svc
    parts = name.split(".")
    if len(parts) == 1:
        return model.service_ctl.find(name)
    if len(parts) == 2 or parts[2:] in (["svc"], ["svc", "cluster", "local"]):
        return model.service_ctl.services.get(f"{parts[1]}/{parts[0]}")
    return None


def is_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def svc_of_answer(model: Model, matched: str | None) -> ServiceState | None:
    """The Service whose cluster DNS name answered a lookup (``name.ns.svc.<domain>.``)."""
    parts = (matched or "").rstrip(".").split(".")
    if len(parts) >= 3 and parts[2] == "svc":
        return model.service_ctl.services.get(f"{parts[1]}/{parts[0]}")
    return None


def endpoints_line(svc: ServiceState) -> str:
    return ", ".join(f"{p.name} ({ip_str(p.ip)} on {p.node.name if p.node else '?'})"
                     for p in svc.endpoints) or "none ready"


def gone_endpoints(svc: ServiceState) -> list[Any]:
    return [p for p in svc.endpoints if p.phase != "Running" or p.node is None or not p.node.alive]


def policy_hop(model: Model, pairs: list[tuple[Any, Any, int]], own: int = 0,
                ) -> tuple[Hop, str]:
    """The NetworkPolicy verdicts for (source, backend Deployment, port) pairs, asked of the
    traffic path's own engine (:meth:`sim.traffic.controller.TrafficController.policy_verdict`); *own*
    more paths come from the pod's own node (always allowed). Returns the hop and
    ``allowed``, ``denied`` or ``partial``."""
    traffic = model.traffic
    why: list[str] = ([f"{own} node-to-pod paths stay on the pod's own node: always allowed"]
                      if own else [])
    allowed, denied = own, 0
    for src, dst, port in pairs:
        v = traffic.policy_verdict(src, dst, port)
        if v is None:
            why = [f"networkPolicy: {model.spec.cluster.network_policy}: policies have no effect"]
            return Hop("network policy", "allowed", why), "allowed"
        allowed += v.allowed
        denied += not v.allowed
        if len(why) < 6:
            who = src.ip if hasattr(src, "ip") else f"{src.namespace}/{src.name}"
            why.append(f"{who} -> {dst.namespace}/{dst.name}:{port}: {v.reason}")
    state = "denied" if denied and not allowed else "partial" if denied else "allowed"
    return Hop("network policy", state, why), state


def healthy_backends(model: Model, svc: ServiceState, hops: list[Hop]) -> list[Any]:
    """The backends of *svc*'s load balancer passing its probe now (the traffic path's load
    balancer when a flow uses it; else the probe as it would answer now)."""
    from sim.traffic.loadbalancer import answers_probe, backend_pool

    lb = model.traffic.balancers.get(svc.key)
    if lb is not None:
        return list(lb.healthy)
    healthy = [n for n in backend_pool(model.pools) if answers_probe(svc, n)]
    hop = next(h for h in hops if h.what == "backend nodes")
    hop.detail = ", ".join(n.name for n in healthy) or "none passes the probe"
    hop.why.append("no flow uses this load balancer: its probe as it would answer now")
    return healthy


def policy_end(url: str, now: float, hops: list[Hop], state: str) -> RouteTrace:
    if state == "denied":
        return RouteTrace(url, now, hops, False, "dropped by a NetworkPolicy (client times out)",
                          "denied")
    if state == "partial":
        return RouteTrace(url, now, hops, True, "partly dropped by a NetworkPolicy: some "
                          "connections are answered, the others time out", "partial")
    return RouteTrace(url, now, hops, True, "HTTP 200 from a backend pod", "ok")
