"""``aks-sim route``: where does this URL go, hop by hop, and which rule chose each hop.

The hops of an internet client's request to ``scheme://host/path`` at a simulated instant:
the load balancer frontend of the ingress controller (or of the LoadBalancer Service the host
names), the backend nodes that pass its health probe, the node's kube-proxy and the endpoints
it may choose, the Ingress rule that matched (and what it beat), the backend Service and its
endpoints as the controller sees them, and the NetworkPolicy verdict at the backend pods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.ingress import IngressRouter
from sim.network import ip_str

if TYPE_CHECKING:
    from sim.model import Model
    from sim.svc import ServiceState


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


def _dns_hop(model: Model, host: str | None, csvc: ServiceState) -> tuple[Hop, bool]:
    """The DNS answer for *host* now: External-DNS's record (HTTP application routing) or,
    for a host outside its zone, the assumption that it points at the controller."""
    traffic = model.traffic
    routing = model.spec.traffic.http_application_routing if model.spec.traffic else None
    name = (host or "").lower()
    target = f"{name} -> the public IP of {csvc.key}"
    zone = routing.dns_zone.strip(".").lower() if routing is not None else ""
    if routing is None or not (name == zone or name.endswith("." + zone)):
        return Hop("DNS", target, ["assumed: the host's A record points at the ingress "
                                   "controller"]), True
    from sim.scenario.units import format_duration

    now = model.env.now
    sync = f"External-DNS syncs every {format_duration(routing.dns_sync_interval)}"
    gone = traffic.dns_gone.get(name)
    if gone is not None:
        if now >= gone:
            return Hop("DNS", f"{name}: NXDOMAIN", [
                f"its Ingress was deleted; External-DNS deleted the A record at "
                f"{format_duration(gone)} ({sync})"]), False
        return Hop("DNS", target, [f"its Ingress was deleted; External-DNS deletes the A record at "
                                   f"its next sync, {format_duration(gone)}"]), True
    ready = traffic.dns_ready.get(name)
    if ready is not None and now < ready:
        return Hop("DNS", f"{name}: NXDOMAIN", [
            f"the Ingress is new; External-DNS writes the A record at its next sync, "
            f"{format_duration(ready)}"]), False
    owners = [k for k, obj in traffic.ingress_objects.items() if name in traffic._zone_hosts(obj)]
    if not owners:
        return Hop("DNS", f"{name}: NXDOMAIN", [
            f"no Ingress has this host in zone {zone}: External-DNS writes no record"]), False
    since = f" since {format_duration(ready)}" if ready is not None else ""
    return Hop("DNS", target, [f"A record written by External-DNS{since} for Ingress "
                               f"{', '.join(sorted(owners))} (zone {zone})"]), True


def _lb_hops(model: Model, svc: ServiceState) -> list[Hop]:
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


def trace(model: Model, host: str | None, path: str, scheme: str = "http") -> RouteTrace:
    """The path of ``scheme://host/path`` from an internet client, with the cluster as it is now."""
    url = f"{scheme}://{host or ''}{path}"
    now = model.env.now
    hops: list[Hop] = []
    controller = model.spec.traffic.ingress_controller if model.spec.traffic else None
    if controller is None:
        return RouteTrace(url, now, [Hop("ingress", "no ingress controller in the scenario "
                                         "(traffic.ingressController)")], False, "unreachable")
    csvc = model.service_ctl.find(controller.service)
    if csvc is None:
        return RouteTrace(url, now, [Hop("ingress", f"controller Service {controller.service} "
                                         "not found")], False, "unreachable")
    dns_hop, resolves = _dns_hop(model, host, csvc)
    hops.append(dns_hop)
    if not resolves:
        return RouteTrace(url, now, hops, False, "DNS failure: the client cannot resolve the host")
    hops += _lb_hops(model, csvc)
    # the Ingresses as they are now (operations may have applied or deleted some)
    router = IngressRouter(list(model.traffic.ingress_objects.values()), controller.ingress_class,
                           watch_ingress_without_class=True)
    route = router.route(host, path, scheme)
    hops.append(Hop("ingress rule", route.explain().splitlines()[0], route.explain().splitlines()[1:]))
    backend = route.backend
    if backend is None or not hasattr(backend, "port"):
        return RouteTrace(url, now, hops, False, f"HTTP {route.status} from the default backend")
    bsvc = model.service_ctl.find(f"{backend.namespace}/{backend.name}")
    if bsvc is None:
        hops.append(Hop("service", f"{backend.namespace}/{backend.name} does not exist"))
        return RouteTrace(url, now, hops, False, "HTTP 503 (no such Service)")
    port = backend.port if isinstance(backend.port, int) else next(
        (p.port for p in bsvc.manifest.spec.ports if p.name == backend.port), 80)
    target, name = bsvc.target(port)
    eps = ", ".join(f"{p.name} ({ip_str(p.ip)} on {p.node.name if p.node else '?'})"
                    for p in bsvc.endpoints) or "none ready"
    hops.append(Hop("service", f"{bsvc.key} port {port} -> targetPort {target}"
                    f"{f' ({name})' if name else ''}: {len(bsvc.endpoints)} endpoints: {eps}",
                    ["the controller balances over the endpoints itself (not the ClusterIP)"]))
    if not bsvc.endpoints:
        return RouteTrace(url, now, hops, False, "HTTP 503 (no ready endpoint)")
    gone = [p for p in bsvc.endpoints
            if p.phase != "Running" or p.node is None or not p.node.alive]
    if gone:
        hops[-1].why.append(f"{len(gone)} of {len(bsvc.endpoints)} endpoints are gone (pod deleted "
                            "or node down) and still listed until the update propagates: "
                            "requests sent there time out")
    if len(gone) == len(bsvc.endpoints):
        return RouteTrace(url, now, hops, False, "no live endpoint: the client times out")
    verdicts = []
    engine = model.traffic._engine()
    for cdep in csvc.deployments:
        for bdep in bsvc.deployments:
            v = engine.allows(f"{cdep.namespace}/{cdep.name}", f"{bdep.namespace}/{bdep.name}",
                              target) if engine.is_enforced else None
            verdicts.append((cdep, bdep, v))
    allowed = all(v is None or v.allowed for _, _, v in verdicts)
    hops.append(Hop("network policy", "allowed" if allowed else "denied",
                    [v.reason if v is not None else
                     f"networkPolicy: {model.spec.cluster.network_policy}: policies have no effect"
                     for _, _, v in verdicts]))
    return RouteTrace(url, now, hops, allowed,
                      "HTTP 200 from a backend pod" if allowed else "dropped (client times out)")


def render(t: RouteTrace) -> str:
    """The trace as numbered lines."""
    from sim.scenario.units import format_duration

    lines = [f"{t.url} at {format_duration(t.at)}:"]
    for i, hop in enumerate(t.hops, 1):
        lines.append(f"{i:>2}. {hop.what}: {hop.detail}")
        lines += [f"      {w}" for w in hop.why]
    lines.append(f"=> {t.verdict}")
    return "\n".join(lines)
