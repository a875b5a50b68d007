"""From an internet client to an Ingress host: External-DNS's record -> NSG -> the controller's
load balancer -> the Ingress rule (and what it beat) -> the certificate -> the backend
Service's endpoints as the controller sees them -> NetworkPolicy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.views.route.hops import (
    Hop,
    RouteTrace,
    endpoints_line,
    gone_endpoints,
    healthy_backends,
    lb_hops,
    policy_end,
    policy_hop,
)

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import ServiceState


def dns_hop(model: Model, host: str | None, csvc: ServiceState) -> tuple[Hop, bool]:
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
    gone = traffic.routing.dns_gone.get(name)
    if gone is not None:
        if now >= gone:
            return Hop("DNS", f"{name}: NXDOMAIN", [
                f"its Ingress was deleted; External-DNS deleted the A record at "
                f"{format_duration(gone)} ({sync})"]), False
        return Hop("DNS", target, [f"its Ingress was deleted; External-DNS deletes the A record at "
                                   f"its next sync, {format_duration(gone)}"]), True
    ready = traffic.routing.dns_ready.get(name)
    if ready is not None and now < ready:
        return Hop("DNS", f"{name}: NXDOMAIN", [
            f"the Ingress is new; External-DNS writes the A record at its next sync, "
            f"{format_duration(ready)}"]), False
    owners = [k for k, obj in traffic.ingress_objects.items() if name in traffic.routing.zone_hosts(obj)]
    if not owners:
        return Hop("DNS", f"{name}: NXDOMAIN", [
            f"no Ingress has this host in zone {zone}: External-DNS writes no record"]), False
    since = f" since {format_duration(ready)}" if ready is not None else ""
    return Hop("DNS", target, [f"A record written by External-DNS{since} for Ingress "
                               f"{', '.join(sorted(owners))} (zone {zone})"]), True


def is_ingress_host(model: Model, host: str | None) -> bool:
    name = (host or "").lower().rstrip(".")
    for obj in model.traffic.ingress_objects.values():
        for rule in (obj.get("spec") or {}).get("rules") or []:
            h = str(rule.get("host") or "").lower()
            if h == name or (h.startswith("*.") and name.partition(".")[2] == h[2:]):
                return True
    return False


def ingress(model: Model, host: str | None, path: str, scheme: str, url: str,
            client_ip: str) -> RouteTrace:
    """internet -> DNS -> NSG -> load balancer -> controller pod -> Ingress rule -> backend."""
    now = model.env.now
    controller = model.spec.traffic.ingress_controller  # type: ignore[union-attr]
    hops: list[Hop] = []
    csvc = model.service_ctl.find(controller.service)
    if csvc is None:
        return RouteTrace(url, now, [Hop("ingress", f"controller Service {controller.service} "
                                         "not found")], False, "unreachable", "unknown_host")
    failure = _to_controller(model, host, csvc, client_ip, hops)
    if failure is not None:
        return RouteTrace(url, now, hops, False, *failure)
    # the Ingresses as they are now (operations may have applied or deleted some)
    route = model.traffic.ingress_router().route(host, path, scheme)
    hops.append(Hop("ingress rule", route.explain().splitlines()[0], route.explain().splitlines()[1:]))
    if route.default_certificate:
        return RouteTrace(url, now, hops, False, "TLS handshake refused: the controller presents "
                          "its self-signed default certificate (no spec.tls entry lists the host)",
                          "tls_error")
    cert = model.traffic.routing.cert_ready.get((host or "").lower(), 0.0) if scheme == "https" else 0.0
    if cert is None or cert > now:
        return RouteTrace(url, now, hops, False, "TLS handshake refused: the certificate is not "
                          "issued yet (the default certificate is served)", "tls_error")
    backend = route.backend
    if backend is None or not hasattr(backend, "port"):
        return RouteTrace(url, now, hops, False, f"HTTP {route.status} from the default backend",
                          "no_ingress_rule")
    return _to_backend(model, backend, csvc, url, hops)


def _to_controller(model: Model, host: str | None, csvc: ServiceState, client_ip: str,
                   hops: list[Hop]) -> tuple[str, str] | None:
    """DNS, the NSG, the controller's load balancer and its pods, as hops; (verdict, outcome)
    when the request stops on the way, None when a controller pod gets it."""
    dns, resolves = dns_hop(model, host, csvc)
    hops.append(dns)
    if not resolves:
        return "DNS failure: the client cannot resolve the host", "dns_failure"
    lb_port = csvc.port(None)  # the port the traffic path's ingress flows take (its first)
    if lb_port is not None:
        rule = model.traffic.nsg_rule(client_ip, lb_port, "internet", csvc.key)
        hops.append(Hop("NSG", f"{'allow' if rule.allow else 'deny'} by rule {rule.name} "
                        f"(priority {rule.priority}, source {rule.source})"))
        if not rule.allow:
            return "dropped by the NSG (client times out)", "nsg_denied"
    hops += lb_hops(model, csvc)
    if not healthy_backends(model, csvc, hops):
        return "no controller node passes the health probe: dropped", "no_healthy_backend"
    if not csvc.endpoints:
        return "no ready controller pod: kube-proxy rejects", "no_endpoint"
    return None


def _to_backend(model: Model, backend: Any, csvc: ServiceState, url: str,
                hops: list[Hop]) -> RouteTrace:
    """The rule's backend Service and its endpoints as the controller balances over them
    (not the ClusterIP), then NetworkPolicy from the controller's pods."""
    now = model.env.now
    bsvc = model.service_ctl.find(f"{backend.namespace}/{backend.name}")
    if bsvc is None:
        hops.append(Hop("service", f"{backend.namespace}/{backend.name} does not exist"))
        return RouteTrace(url, now, hops, False, "HTTP 503 (no such Service)", "no_endpoint")
    port = backend.port if isinstance(backend.port, int) else next(
        (p.port for p in bsvc.manifest.spec.ports if p.name == backend.port), 80)
    target, name = bsvc.target(port)
    hops.append(Hop("service", f"{bsvc.key} port {port} -> targetPort {target}"
                    f"{f' ({name})' if name else ''}: {len(bsvc.endpoints)} endpoints: "
                    f"{endpoints_line(bsvc)}",
                    ["the controller balances over the endpoints itself (not the ClusterIP)"]))
    if not bsvc.endpoints:
        return RouteTrace(url, now, hops, False, "HTTP 503 (no ready endpoint)", "no_endpoint")
    gone = gone_endpoints(bsvc)
    if gone:
        hops[-1].why.append(f"{len(gone)} of {len(bsvc.endpoints)} endpoints are gone (pod deleted "
                            "or node down) and still listed until the update propagates: "
                            "requests sent there time out")
    if len(gone) == len(bsvc.endpoints):
        return RouteTrace(url, now, hops, False, "no live endpoint: the client times out",
                          "dead_endpoint")
    backends = {p.dep.key: p.dep for p in bsvc.endpoints if p not in gone}
    pairs = [(c, b, target) for c in csvc.deployments for b in backends.values()]
    hop, state = policy_hop(model, pairs)
    hops.append(hop)
    return policy_end(url, now, hops, state)
