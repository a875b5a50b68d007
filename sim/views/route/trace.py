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

Each path is a module of this package (:mod:`.outside`, :mod:`.pod`, :mod:`.ingress`) over
the hops they share (:mod:`.hops`); :func:`trace` picks the path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.views.route.hops import VM_CLIENTS, Hop, RouteTrace, service_for_host
from sim.views.route.ingress import ingress, is_ingress_host
from sim.views.route.outside import internet_to_service, vm_to_pod
from sim.views.route.pod import pod_to_service

if TYPE_CHECKING:
    from sim.model import Model


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
        svc = service_for_host(model, host)
        if svc is not None:
            return internet_to_service(model, svc, url, port, client_ip, source)
        direct = vm_to_pod(model, (host or "").lower(), url, port, client_ip, source)
        if direct is not None:
            return direct
        return RouteTrace(url, model.env.now, [Hop("DNS", f"{host}: no Service, load balancer "
                                                   "IP or pod IP of the cluster")],
                          False, "unreachable: the host is not in the cluster", "unknown_host")
    if source is not None:
        return pod_to_service(model, source, host, url, port)
    now = model.env.now
    controller = model.spec.traffic.ingress_controller if model.spec.traffic else None
    svc = service_for_host(model, host)
    if svc is not None and (controller is None or not is_ingress_host(model, host)):
        return internet_to_service(model, svc, url, port, client_ip)
    if controller is None:
        return RouteTrace(url, now, [Hop("DNS", f"{host}: no Service, load balancer IP or "
                                         "Ingress host of the cluster has this name",
                                         ["no ingress controller in the scenario "
                                          "(traffic.ingressController)"])],
                          False, "unreachable: the host is not exposed by the cluster",
                          "unknown_host")
    return ingress(model, host, path, scheme, url, client_ip)


def render(t: RouteTrace) -> str:
    """The trace as numbered lines."""
    from sim.scenario.units import format_duration

    lines = [f"{t.url} at {format_duration(t.at)}:"]
    for i, hop in enumerate(t.hops, 1):
        lines.append(f"{i:>2}. {hop.what}: {hop.detail}")
        lines += [f"      {w}" for w in hop.why]
    lines.append(f"=> {t.verdict}")
    return "\n".join(lines)
