"""From a pod of a Deployment: the lookup through CoreDNS (search list, ndots:5, egress
policies) -> the Service's ClusterIP -> kube-proxy of the client's node -> NetworkPolicy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.azure.vnet import ip_str
from sim.views.route.hops import (
    Hop,
    RouteError,
    RouteTrace,
    endpoints_line,
    gone_endpoints,
    is_address,
    policy_end,
    policy_hop,
    service_for_host,
    svc_of_answer,
)

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import ServiceState


def pod_to_service(model: Model, source: str, host: str | None, url: str, port: int | None,
                   ) -> RouteTrace:
    """pod -> CoreDNS -> Service ClusterIP -> kube-proxy of the client's node -> pod, as the
    traffic path takes it (sim.traffic.lookups ``_dispatch_lookup``, sim.traffic.controller ``_forward``)."""
    now = model.env.now
    try:
        client = model.workloads.find(source)
    except StopIteration:
        raise RouteError(f"--from {source}: no such Deployment (expected namespace/name of a "
                         f"Deployment: {', '.join(sorted(model.workloads.deployments))})") from None
    hops: list[Hop] = []
    pods = [p for p in client.pods.values()
            if p.phase == "Running" and p.node is not None and p.node.alive]
    hops.append(Hop("client", f"{len(pods)} running pods of {client.key}"))
    if not pods:
        return RouteTrace(url, now, hops, False, "no client pod runs", "no_endpoint")
    name = host or ""
    svc = None
    if is_address(name):
        svc = service_for_host(model, name)
        hops.append(Hop("DNS", f"{name} is an address: no lookup"))
    else:
        svc, failure = _lookup(model, client, host or "", hops)
        if failure is not None:
            return RouteTrace(url, now, hops, False, failure, "dns_failure")
    if svc is None:
        hops.append(Hop("service", f"{name} is not a Service of the cluster"))
        return RouteTrace(url, now, hops, False, "unreachable: not a Service address",
                          "unknown_host")
    if svc.type == "ExternalName":
        hops.append(Hop("service", f"ExternalName {svc.key}: CNAME "
                        f"{svc.manifest.spec.external_name}",
                        ["the call leaves the cluster through the node's SNAT ports"]))
        return RouteTrace(url, now, hops, True, "answered by the external name's address", "ok")
    return _to_endpoints(model, client, pods, svc, port, url, hops)


def _lookup(model: Model, client: Any, host: str, hops: list[Hop],
            ) -> tuple[ServiceState | None, str | None]:
    """The client pod's lookup of *host* through CoreDNS, as hops: (the Service that answered,
    None) or (None, why the lookup fails)."""
    from sim import dns

    kube_dns = model.service_ctl.find("kube-system/kube-dns")
    servers = kube_dns.endpoints if kube_dns else []
    live = [p for p in servers if p.node is not None and p.node.alive
            and p.phase == "Running" and p.name not in model.traffic.dns_silent]
    if kube_dns is None:
        live = []
        hops.append(Hop("CoreDNS", "not simulated in this scenario (no flow looks a name "
                        "up): assumed to answer"))
    elif not servers or not live or model.traffic.dns_silent_all:
        hops.append(Hop("DNS", "no CoreDNS pod answers (kube-dns has "
                        f"{len(servers)} endpoints, {len(live)} answering)"))
        return None, "DNS failure: the lookup times out"
    if kube_dns is not None and not model.traffic.dns_allowed(client):
        v = model.traffic.policy_verdict(client, model.workloads.deployments[
            "kube-system/coredns"], 53, "UDP")
        hops.append(Hop("DNS", "the queries to CoreDNS (UDP 53) are dropped",
                        [v.reason if v is not None else ""]))
        return None, "DNS failure: an egress NetworkPolicy drops the lookups"
    result = model.traffic.lookups.resolve_name(client.namespace, host)
    ok = result.final.rcode == dns.Rcode.NOERROR and result.final.answer is not None
    hops.append(Hop("DNS", f"{result.final} after {result.queries} queries to the kube-dns "
                    f"ClusterIP" + (f" ({len(live)} CoreDNS pods answering)" if live else ""),
                    result.render().splitlines()[1:-1]))
    if not ok:
        return None, "DNS failure: the name does not resolve"
    return svc_of_answer(model, result.final.matched_name), None


def _to_endpoints(model: Model, client: Any, pods: list[Any], svc: ServiceState,
                  port: int | None, url: str, hops: list[Hop]) -> RouteTrace:
    """The Service's port, then kube-proxy of the client pod's node to an endpoint (on that
    node with ``internalTrafficPolicy: Local``), then NetworkPolicy at the endpoint."""
    now = model.env.now
    svc_port = svc.port(port)
    if svc_port is None:
        hops.append(Hop("service", f"Service {svc.key} has no port {port}"))
        return RouteTrace(url, now, hops, False, "connection refused (no such port)",
                          "no_endpoint")
    target, tname = svc.target(svc_port)
    how = ("headless: the name gives the ready pods' IPs; the client connects to one" if
           svc.headless else f"ClusterIP {ip_str(svc.cluster_ip)}: the kube-proxy of the "
           "client pod's node picks an endpoint" + (
               " on that node (internalTrafficPolicy Local)" if svc.internal_local else ""))
    hops.append(Hop("service", f"{svc.key} port {svc_port} -> targetPort {target}"
                    f"{f' ({tname})' if tname else ''}: {len(svc.endpoints)} endpoints: "
                    f"{endpoints_line(svc)}", [how]))
    if not svc.endpoints:
        if svc.headless:
            return RouteTrace(url, now, hops, False, "DNS failure: a headless Service without "
                              "ready pods has no address", "dns_failure")
        return RouteTrace(url, now, hops, False, "no ready endpoint: kube-proxy rejects",
                          "no_endpoint")
    if svc.internal_local and not svc.headless:
        nodes = {p.node.name for p in svc.endpoints if p.node is not None}
        stranded = [p for p in pods if p.node is not None and p.node.name not in nodes]
        if len(stranded) == len(pods):
            return RouteTrace(url, now, hops, False, "no endpoint on the client pods' nodes: "
                              "kube-proxy drops (timeout)", "no_local_endpoint")
    gone = gone_endpoints(svc)
    if len(gone) == len(svc.endpoints):
        return RouteTrace(url, now, hops, False, "no live endpoint: the client times out",
                          "dead_endpoint")
    backends = {p.dep.key: p.dep for p in svc.endpoints if p not in gone}
    hop, state = policy_hop(model, [(client, d, target) for d in backends.values()])
    hops.append(hop)
    return policy_end(url, now, hops, state)
