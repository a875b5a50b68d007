"""``aks-sim route``: where does this URL go, hop by hop, and which rule chose each hop.

Every path the traffic plane has, asked of the code the traffic path runs (its NSG,
NetworkPolicy, DNS, health-probe and ingress-routing answers: one engine per question), with
the outcome a flow of such requests gets:

- an internet client (or a VM: ``vnet``, ``peered-vnet``, ``on-premises``) to a LoadBalancer
  Service named by the host: NSG -> load balancer frontend -> backend nodes passing the probe
  -> the node's kube-proxy and the endpoints it may choose -> NetworkPolicy at the pods (the
  source is the client with ``externalTrafficPolicy: Local``, the node otherwise);
- a VM to a pod IP directly (routable only with Azure CNI pod IPs);
- a pod of a Deployment: the lookup through CoreDNS (search list, ndots:5, egress policies)
  -> the Service's ClusterIP -> kube-proxy of the client's node -> NetworkPolicy;
- an internet client to an Ingress host: External-DNS's record -> NSG -> the controller's
  load balancer -> the Ingress rule (and what it beat) -> the certificate -> the backend
  Service's endpoints as the controller sees them -> NetworkPolicy.
"""

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


class RouteError(ValueError):
    """A question route cannot ask (an unknown client Deployment)."""


def _service_for_host(model: Model, host: str | None) -> ServiceState | None:
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


def _is_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def _svc_of_answer(model: Model, matched: str | None) -> ServiceState | None:
    """The Service whose cluster DNS name answered a lookup (``name.ns.svc.<domain>.``)."""
    parts = (matched or "").rstrip(".").split(".")
    if len(parts) >= 3 and parts[2] == "svc":
        return model.service_ctl.services.get(f"{parts[1]}/{parts[0]}")
    return None


def _endpoints_line(svc: ServiceState) -> str:
    return ", ".join(f"{p.name} ({ip_str(p.ip)} on {p.node.name if p.node else '?'})"
                     for p in svc.endpoints) or "none ready"


def _gone(svc: ServiceState) -> list[Any]:
    return [p for p in svc.endpoints if p.phase != "Running" or p.node is None or not p.node.alive]


def _policy_hop(model: Model, pairs: list[tuple[Any, Any, int]], own: int = 0,
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


def _healthy(model: Model, svc: ServiceState, hops: list[Hop]) -> list[Any]:
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


VM_CLIENTS = ("vnet", "peered-vnet", "on-premises")
"""Clients outside the cluster in the VNet, a peered VNet or on-premises (VPN/ExpressRoute)."""


def _vm_to_pod(model: Model, host: str, url: str, port: int | None, client_ip: str,
               where: str) -> RouteTrace | None:
    """A VM connects to a pod IP directly, as the traffic path's ``pods:`` flows do
    (sim.traffic.controller ``_dispatch_direct``): only Azure CNI pod IPs are VNet addresses; kubenet
    and Overlay pod IPs are not routable from outside the cluster. None: *host* is no pod's IP."""
    from sim.netpol import ExternalPeer

    pod = next((p for d in model.workloads.deployments.values() for p in d.pods.values()
                if p.ip and ip_str(p.ip) == host), None)
    if pod is None:
        return None
    now = model.env.now
    plugin = model.spec.cluster.plugin
    hops = [Hop("client", f"a VM ({where}) at {client_ip}"),
            Hop("route", f"{host} is pod {pod.name} of {pod.dep.key} (network plugin {plugin})")]
    if plugin in ("kubenet", "overlay", "none"):
        hops[-1].why.append("kubenet and Overlay pod IPs are not VNet addresses: no route leads "
                            "there from outside the cluster (pods reach out through NAT only)")
        return RouteTrace(url, now, hops, False, "unroutable: the SYN has no route to the pod "
                          "CIDR (client times out)", "unroutable")
    hops[-1].why.append("Azure CNI pod IPs are VNet addresses, routable from the VNet, peered "
                        "VNets and connected networks")
    if not pod.ready:
        return RouteTrace(url, now, hops, False, "the pod is not ready", "no_endpoint")
    target = port or next((p.container_port for c in pod.dep.manifest.spec.template.spec.containers
                           for p in c.ports), 80)
    hop, state = _policy_hop(model, [(ExternalPeer(client_ip), pod.dep, target)])
    hops.append(hop)
    return _policy_end(url, now, hops, state)


def _internet_to_service(model: Model, svc: ServiceState, url: str, port: int | None,
                         client_ip: str, where: str = "internet") -> RouteTrace:
    """client -> NSG -> Azure load balancer -> node -> kube-proxy -> pod, as the traffic
    path takes it (sim.traffic.controller ``_dispatch``); *where* the client is: ``internet``, or a VM
    in the VNet, a peered VNet or on-premises."""
    from sim.netpol import ExternalPeer

    now = model.env.now
    hops = [Hop("DNS", f"{url.split('://')[1].split('/')[0]} -> Service {svc.key}",
                ["the host names the Service (its name, cluster DNS name or load balancer IP)"])]
    kind = svc.type
    if kind != "LoadBalancer" or (svc.internal and where == "internet"):
        what = ("an internal load balancer: its frontend is a VNet address" if svc.internal
                else f"type {kind}: reachable only inside the cluster" if kind != "NodePort"
                else "type NodePort: AKS nodes have no public IP, so the node ports are "
                     "reachable from the VNet only")
        hops.append(Hop("exposure", f"Service {svc.key} is {what}",
                        ["an internet client needs a public LoadBalancer Service or an "
                         "Ingress host"]))
        return RouteTrace(url, now, hops, False, "not exposed: no public load balancer or "
                          "Ingress path to this Service", "not_exposed")
    lb_port = svc.port(port)
    if lb_port is None:
        hops.append(Hop("load balancer", f"Service {svc.key} has no port {port} "
                        f"(ports: {', '.join(map(str, svc.ports))})"))
        return RouteTrace(url, now, hops, False, "no load-balancing rule for the port: the "
                          "client times out", "timeout")
    rule = model.traffic.nsg_rule(client_ip, lb_port, where, svc.key)
    hops.append(Hop("NSG", f"{'allow' if rule.allow else 'deny'} by rule {rule.name} "
                    f"(priority {rule.priority}, source {rule.source})",
                    ["AKS's managed NSG (a rule per LoadBalancer port and "
                     "loadBalancerSourceRanges entry) with the scenario's rules by priority"]))
    if not rule.allow:
        return RouteTrace(url, now, hops, False, "dropped by the NSG (client times out)",
                          "nsg_denied")
    hops += _lb_hops(model, svc)
    healthy = _healthy(model, svc, hops)
    if not healthy:
        return RouteTrace(url, now, hops, False, "no backend passes the health probe: dropped",
                          "no_healthy_backend")
    alive = [n for n in healthy if n.alive]
    if not alive:
        return RouteTrace(url, now, hops, False, "the load balancer still sends to nodes that "
                          "are down: the client times out", "dead_node")
    if not svc.endpoints:
        return RouteTrace(url, now, hops, False, "no ready endpoint: kube-proxy rejects",
                          "no_endpoint")
    gone = _gone(svc)
    if len(gone) == len(svc.endpoints):
        return RouteTrace(url, now, hops, False, "no live endpoint: the client times out",
                          "dead_endpoint")
    target, _ = svc.target(lb_port)
    pods = [p for p in svc.endpoints if p not in gone]
    pairs: list[tuple[Any, Any, int]] = []
    own = 0
    if svc.local:  # the client's own address reaches the pod
        pairs = [(ExternalPeer(client_ip), d, target) for d in {p.dep.key: p.dep for p in pods}.values()]
    else:  # kube-proxy masquerades: the node's address (the pod's own node always allowed)
        own = 0
        for n in alive:
            for p in pods:
                if p.node is n:
                    own += 1
                else:
                    pairs.append((ExternalPeer(ip_str(n.net.node_ip)), p.dep, target))
    if not pairs:
        hop = Hop("network policy", "allowed", ["traffic from the pod's own node is always "
                                                "allowed"])
        state = "allowed"
    else:
        hop, state = _policy_hop(model, pairs, 0 if svc.local else own)
        hop.why.insert(0, "source address: " + (
            f"the client's, {client_ip} (externalTrafficPolicy Local)" if svc.local else
            "the node the load balancer chose (externalTrafficPolicy Cluster: SNAT)"))
    hops.append(hop)
    return _policy_end(url, now, hops, state)


def _policy_end(url: str, now: float, hops: list[Hop], state: str) -> RouteTrace:
    if state == "denied":
        return RouteTrace(url, now, hops, False, "dropped by a NetworkPolicy (client times out)",
                          "denied")
    if state == "partial":
        return RouteTrace(url, now, hops, True, "partly dropped by a NetworkPolicy: some "
                          "connections are answered, the others time out", "partial")
    return RouteTrace(url, now, hops, True, "HTTP 200 from a backend pod", "ok")


def _pod_to_service(model: Model, source: str, host: str | None, url: str, port: int | None,
                    ) -> RouteTrace:
    """pod -> CoreDNS -> Service ClusterIP -> kube-proxy of the client's node -> pod, as the
    traffic path takes it (sim.traffic.lookups ``_dispatch_lookup``, sim.traffic.controller ``_forward``)."""
    from sim import dns

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
    if _is_address(name):
        svc = _service_for_host(model, name)
        hops.append(Hop("DNS", f"{name} is an address: no lookup"))
    else:
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
            return RouteTrace(url, now, hops, False, "DNS failure: the lookup times out",
                              "dns_failure")
        if kube_dns is not None and not model.traffic.dns_allowed(client):
            v = model.traffic.policy_verdict(client, model.workloads.deployments[
                "kube-system/coredns"], 53, "UDP")
            hops.append(Hop("DNS", "the queries to CoreDNS (UDP 53) are dropped",
                            [v.reason if v is not None else ""]))
            return RouteTrace(url, now, hops, False, "DNS failure: an egress NetworkPolicy "
                              "drops the lookups", "dns_failure")
        result = model.traffic.lookups.resolve_name(client.namespace, host or "")
        ok = result.final.rcode == dns.Rcode.NOERROR and result.final.answer is not None
        hops.append(Hop("DNS", f"{result.final} after {result.queries} queries to the kube-dns "
                        f"ClusterIP" + (f" ({len(live)} CoreDNS pods answering)" if live else ""),
                        result.render().splitlines()[1:-1]))
        if not ok:
            return RouteTrace(url, now, hops, False, "DNS failure: the name does not resolve",
                              "dns_failure")
        svc = _svc_of_answer(model, result.final.matched_name)
    if svc is None:
        hops.append(Hop("service", f"{name} is not a Service of the cluster"))
        return RouteTrace(url, now, hops, False, "unreachable: not a Service address",
                          "unknown_host")
    if svc.type == "ExternalName":
        hops.append(Hop("service", f"ExternalName {svc.key}: CNAME "
                        f"{svc.manifest.spec.external_name}",
                        ["the call leaves the cluster through the node's SNAT ports"]))
        return RouteTrace(url, now, hops, True, "answered by the external name's address", "ok")
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
                    f"{_endpoints_line(svc)}", [how]))
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
    gone = _gone(svc)
    if len(gone) == len(svc.endpoints):
        return RouteTrace(url, now, hops, False, "no live endpoint: the client times out",
                          "dead_endpoint")
    backends = {p.dep.key: p.dep for p in svc.endpoints if p not in gone}
    hop, state = _policy_hop(model, [(client, d, target) for d in backends.values()])
    hops.append(hop)
    return _policy_end(url, now, hops, state)


def trace(model: Model, host: str | None, path: str, scheme: str = "http", *,
          source: str | None = None, port: int | None = None,
          client_ip: str = "203.0.113.10") -> RouteTrace:
    """The path of ``scheme://host[:port]/path`` with the cluster as it is now: from an
    internet client at *client_ip* (by default), a VM at *client_ip* (*source* ``vnet``,
    ``peered-vnet`` or ``on-premises``: to a load balancer, or to a pod IP directly), or from
    a pod of Deployment *source* (``namespace/name``). The host may name an Ingress host, a
    Service (by name, cluster DNS name, load balancer IP or ClusterIP), a pod IP (from a VM)
    or anything a pod resolves. Every verdict comes from
    the code the traffic path runs (the NSG, NetworkPolicy and DNS questions of
    :class:`sim.traffic.controller.TrafficController`); ``outcome`` is the traffic outcome the requests
    of such a flow get (``ok``, ``denied``, ``nsg_denied``, ...), or ``not_exposed`` /
    ``unknown_host`` where no flow could be written.

    Raises:
        RouteError: *source* names no Deployment.
    """
    url = f"{scheme}://{host or ''}{f':{port}' if port else ''}{path}"
    if source in VM_CLIENTS:
        assert source is not None
        svc = _service_for_host(model, host)
        if svc is not None:
            return _internet_to_service(model, svc, url, port, client_ip, source)
        direct = _vm_to_pod(model, (host or "").lower(), url, port, client_ip, source)
        if direct is not None:
            return direct
        return RouteTrace(url, model.env.now, [Hop("DNS", f"{host}: no Service, load balancer "
                                                   "IP or pod IP of the cluster")],
                          False, "unreachable: the host is not in the cluster", "unknown_host")
    if source is not None:
        return _pod_to_service(model, source, host, url, port)
    now = model.env.now
    controller = model.spec.traffic.ingress_controller if model.spec.traffic else None
    svc = _service_for_host(model, host)
    if svc is not None and (controller is None or not _is_ingress_host(model, host)):
        return _internet_to_service(model, svc, url, port, client_ip)
    if controller is None:
        return RouteTrace(url, now, [Hop("DNS", f"{host}: no Service, load balancer IP or "
                                         "Ingress host of the cluster has this name",
                                         ["no ingress controller in the scenario "
                                          "(traffic.ingressController)"])],
                          False, "unreachable: the host is not exposed by the cluster",
                          "unknown_host")
    return _ingress(model, host, path, scheme, url, client_ip)


def _is_ingress_host(model: Model, host: str | None) -> bool:
    name = (host or "").lower().rstrip(".")
    for obj in model.traffic.ingress_objects.values():
        for rule in (obj.get("spec") or {}).get("rules") or []:
            h = str(rule.get("host") or "").lower()
            if h == name or (h.startswith("*.") and name.partition(".")[2] == h[2:]):
                return True
    return False


def _ingress(model: Model, host: str | None, path: str, scheme: str, url: str,
             client_ip: str) -> RouteTrace:
    """internet -> DNS -> NSG -> load balancer -> controller pod -> Ingress rule -> backend."""
    now = model.env.now
    controller = model.spec.traffic.ingress_controller  # type: ignore[union-attr]
    hops: list[Hop] = []
    csvc = model.service_ctl.find(controller.service)
    if csvc is None:
        return RouteTrace(url, now, [Hop("ingress", f"controller Service {controller.service} "
                                         "not found")], False, "unreachable", "unknown_host")
    dns_hop, resolves = _dns_hop(model, host, csvc)
    hops.append(dns_hop)
    if not resolves:
        return RouteTrace(url, now, hops, False, "DNS failure: the client cannot resolve the host",
                          "dns_failure")
    lb_port = csvc.port(None)  # the port the traffic path's ingress flows take (its first)
    if lb_port is not None:
        rule = model.traffic.nsg_rule(client_ip, lb_port, "internet", csvc.key)
        hops.append(Hop("NSG", f"{'allow' if rule.allow else 'deny'} by rule {rule.name} "
                        f"(priority {rule.priority}, source {rule.source})"))
        if not rule.allow:
            return RouteTrace(url, now, hops, False, "dropped by the NSG (client times out)",
                              "nsg_denied")
    hops += _lb_hops(model, csvc)
    if not _healthy(model, csvc, hops):
        return RouteTrace(url, now, hops, False, "no controller node passes the health probe: "
                          "dropped", "no_healthy_backend")
    if not csvc.endpoints:
        return RouteTrace(url, now, hops, False, "no ready controller pod: kube-proxy rejects",
                          "no_endpoint")
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
    bsvc = model.service_ctl.find(f"{backend.namespace}/{backend.name}")
    if bsvc is None:
        hops.append(Hop("service", f"{backend.namespace}/{backend.name} does not exist"))
        return RouteTrace(url, now, hops, False, "HTTP 503 (no such Service)", "no_endpoint")
    port = backend.port if isinstance(backend.port, int) else next(
        (p.port for p in bsvc.manifest.spec.ports if p.name == backend.port), 80)
    target, name = bsvc.target(port)
    hops.append(Hop("service", f"{bsvc.key} port {port} -> targetPort {target}"
                    f"{f' ({name})' if name else ''}: {len(bsvc.endpoints)} endpoints: "
                    f"{_endpoints_line(bsvc)}",
                    ["the controller balances over the endpoints itself (not the ClusterIP)"]))
    if not bsvc.endpoints:
        return RouteTrace(url, now, hops, False, "HTTP 503 (no ready endpoint)", "no_endpoint")
    gone = _gone(bsvc)
    if gone:
        hops[-1].why.append(f"{len(gone)} of {len(bsvc.endpoints)} endpoints are gone (pod deleted "
                            "or node down) and still listed until the update propagates: "
                            "requests sent there time out")
    if len(gone) == len(bsvc.endpoints):
        return RouteTrace(url, now, hops, False, "no live endpoint: the client times out",
                          "dead_endpoint")
    backends = {p.dep.key: p.dep for p in bsvc.endpoints if p not in gone}
    pairs = [(c, b, target) for c in csvc.deployments for b in backends.values()]
    hop, state = _policy_hop(model, pairs)
    hops.append(hop)
    return _policy_end(url, now, hops, state)


def render(t: RouteTrace) -> str:
    """The trace as numbered lines."""
    from sim.scenario.units import format_duration

    lines = [f"{t.url} at {format_duration(t.at)}:"]
    for i, hop in enumerate(t.hops, 1):
        lines.append(f"{i:>2}. {hop.what}: {hop.detail}")
        lines += [f"      {w}" for w in hop.why]
    lines.append(f"=> {t.verdict}")
    return "\n".join(lines)
