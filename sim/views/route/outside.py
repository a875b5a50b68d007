"""From outside the cluster: an internet client (or a VM in the VNet, a peered VNet or
on-premises) to a LoadBalancer Service, and a VM to a pod IP directly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.azure.vnet import ip_str
from sim.views.route.hops import (
    Hop,
    RouteTrace,
    gone_endpoints,
    healthy_backends,
    lb_hops,
    policy_end,
    policy_hop,
)

if TYPE_CHECKING:
    from sim.model import Model
    from sim.objects import ServiceState


def vm_to_pod(model: Model, host: str, url: str, port: int | None, client_ip: str,
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
    hop, state = policy_hop(model, [(ExternalPeer(client_ip), pod.dep, target)])
    hops.append(hop)
    return policy_end(url, now, hops, state)


def internet_to_service(model: Model, svc: ServiceState, url: str, port: int | None,
                        client_ip: str, where: str = "internet") -> RouteTrace:
    """client -> NSG -> Azure load balancer -> node -> kube-proxy -> pod, as the traffic
    path takes it (sim.traffic.controller ``_dispatch``); *where* the client is: ``internet``, or a VM
    in the VNet, a peered VNet or on-premises."""
    now = model.env.now
    hops = [Hop("DNS", f"{url.split('://')[1].split('/')[0]} -> Service {svc.key}",
                ["the host names the Service (its name, cluster DNS name or load balancer IP)"])]
    if svc.type != "LoadBalancer" or (svc.internal and where == "internet"):
        hops.append(_exposure_hop(svc))
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
    hops += lb_hops(model, svc)
    healthy = healthy_backends(model, svc, hops)
    alive = [n for n in healthy if n.alive]
    gone = gone_endpoints(svc)
    failure = _backend_failure(svc, healthy, alive, gone)
    if failure is not None:
        return RouteTrace(url, now, hops, False, *failure)
    target, _ = svc.target(lb_port)
    pods = [p for p in svc.endpoints if p not in gone]
    hop, state = _source_policy_hop(model, svc, alive, pods, target, client_ip)
    hops.append(hop)
    return policy_end(url, now, hops, state)


def _exposure_hop(svc: ServiceState) -> Hop:
    """Why the Service is not exposed to the client: its type, or an internal load balancer."""
    kind = svc.type
    what = ("an internal load balancer: its frontend is a VNet address" if svc.internal
            else f"type {kind}: reachable only inside the cluster" if kind != "NodePort"
            else "type NodePort: AKS nodes have no public IP, so the node ports are "
                 "reachable from the VNet only")
    return Hop("exposure", f"Service {svc.key} is {what}",
               ["an internet client needs a public LoadBalancer Service or an "
                "Ingress host"])


def _backend_failure(svc: ServiceState, healthy: list[Any], alive: list[Any],
                     gone: list[Any]) -> tuple[str, str] | None:
    """(verdict, outcome) when no backend node or endpoint can answer; None when one can."""
    if not healthy:
        return "no backend passes the health probe: dropped", "no_healthy_backend"
    if not alive:
        return ("the load balancer still sends to nodes that are down: the client times out",
                "dead_node")
    if not svc.endpoints:
        return "no ready endpoint: kube-proxy rejects", "no_endpoint"
    if len(gone) == len(svc.endpoints):
        return "no live endpoint: the client times out", "dead_endpoint"
    return None


def _source_policy_hop(model: Model, svc: ServiceState, alive: list[Any], pods: list[Any],
                       target: int, client_ip: str) -> tuple[Hop, str]:
    """The NetworkPolicy hop at the pods, from the source the pods see: the client with
    ``externalTrafficPolicy: Local``, else the node the load balancer chose (SNAT)."""
    from sim.netpol import ExternalPeer

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
        return hop, "allowed"
    hop, state = policy_hop(model, pairs, 0 if svc.local else own)
    hop.why.insert(0, "source address: " + (
        f"the client's, {client_ip} (externalTrafficPolicy Local)" if svc.local else
        "the node the load balancer chose (externalTrafficPolicy Cluster: SNAT)"))
    return hop, state
