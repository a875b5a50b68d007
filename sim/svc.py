"""Kubernetes Services and their endpoints as kube-proxy and the load balancer see them.

A Service selects pods by label in its namespace. Its endpoints follow pod readiness after
``endpointPropagationDelay`` (EndpointSlice controller, then kube-proxy's minSyncPeriod of
1 s: virtual-ips.md), so a pod that stops being ready still receives traffic for a while,
and a pod whose node died receives it until the node is NotReady (node-monitor-grace-period)
plus that delay, as on a real cluster.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING

from sim import sizing
from sim.azure.vnet import AddressPool, Subnet
from sim.events import ClusterIPNotAllocated, SyncLoadBalancerFailed
from sim.kernel.bus import Bus
from sim.kernel.timers import Timers
from sim.kernel.watch import Watch
from sim.objects import ServiceState
from sim.scenario.manifests import ILB_SUBNET_ANNOTATION, Service

if TYPE_CHECKING:
    from sim.objects import DeploymentState, Pod


class ServiceController:
    """Keeps every Service's endpoints, with the propagation delay of the real control plane."""

    def __init__(self, timers: Timers, bus: Bus, delay: float, service_cidr: IPv4Network,
                 dns_service_ip: IPv4Address, subnets: dict[str, Subnet]) -> None:
        self.timers = timers
        self.bus = bus
        self.delay = delay
        self.service_cidr = service_cidr
        self.subnets = subnets
        """The VNet's subnets: an internal load balancer's frontend takes an address of one."""
        # the first address is kubernetes.default's (taken now); the DNS service IP is kube-dns's
        first = int(IPv4Address(sizing.kubernetes_service_ip(str(service_cidr))))
        self.cluster_ips = AddressPool(first, int(service_cidr.broadcast_address) - 1)
        self.cluster_ips.allocate(1)
        self._dns_ip = int(dns_service_ip)
        self.cluster_ip_of: dict[str, int] = {}
        """Each Service's ClusterIP (``namespace/name``; headless and ExternalName have none)."""
        self.endpoints_changed: Watch[[ServiceState]] = Watch()
        """A Service's endpoints changed (what kube-proxy and the load balancer program)."""
        self.services: dict[str, ServiceState] = {}
        self._by_deployment: dict[str, list[ServiceState]] = {}

    def create(self, svc: Service) -> None:
        """kubectl apply of a Service: its ClusterIP from the service CIDR
        (``ClusterIPNotAllocated`` when the range is full), and an internal load balancer's
        frontend address from its subnet (``SyncLoadBalancerFailed`` when it has none)."""
        meta = svc.metadata
        if svc.needs_cluster_ip:
            got = self.cluster_ips.allocate(1)
            if got and got[0] == self._dns_ip:
                got = self.cluster_ips.allocate(1)
            if not got:
                self.bus.publish(ClusterIPNotAllocated(meta.namespace, meta.name,
                                                       str(self.service_cidr)))
                return
            self.cluster_ip_of[f"{meta.namespace}/{meta.name}"] = got[0]
        self.add(svc, self.cluster_ip_of.get(f"{meta.namespace}/{meta.name}", 0))
        if svc.is_internal_lb:
            name = meta.annotations.get(ILB_SUBNET_ANNOTATION) or next(iter(self.subnets))
            subnet = self.subnets.get(name)
            if subnet is None or subnet.allocate(1, "ilb") is None:
                self.bus.publish(SyncLoadBalancerFailed(
                    meta.namespace, meta.name,
                    f"subnet {name} has no free address for the internal load balancer frontend"
                    if subnet else f"subnet {name} does not exist"))

    def create_kube_dns(self, manifest: Service) -> None:
        """The kube-dns Service, at the cluster's DNS service IP (reserved in the range)."""
        self.cluster_ip_of[f"{manifest.metadata.namespace}/{manifest.metadata.name}"] = self._dns_ip
        self.add(manifest, self._dns_ip)

    def add(self, manifest: Service, cluster_ip: int) -> ServiceState:
        """Register a Service; its endpoints fill in as pods become ready."""
        svc = ServiceState(manifest, cluster_ip)
        self.services[svc.key] = svc
        return svc

    def bind_deployments(self, deployments: list[DeploymentState]) -> None:
        """Match each Service's selector against the Deployments' pod template labels."""
        for svc in self.services.values():
            selector = svc.manifest.spec.selector
            if not selector:
                continue  # a Service without selector has manual endpoints: none here
            for dep in deployments:
                labels = dep.manifest.spec.template.metadata.labels
                if dep.namespace == svc.namespace and all(
                        labels.get(k) == v for k, v in selector.items()):
                    svc.deployments.append(dep)
                    self._by_deployment.setdefault(dep.key, []).append(svc)

    def find(self, ref: str) -> ServiceState | None:
        """A Service by ``namespace/name`` or unique ``name``."""
        if ref in self.services:
            return self.services[ref]
        hits = [s for s in self.services.values() if s.name == ref]
        return hits[0] if len(hits) == 1 else None

    def pod_readiness_changed(self, pod: Pod) -> None:
        """A pod of some Deployment became ready or unready: resync its Services later."""
        for svc in self._by_deployment.get(pod.dep.key, ()):
            if not svc.sync_due:
                svc.sync_due = True
                self.timers.after(self.delay, self._sync, svc)

    def sync_all(self) -> None:
        """Bring every Service's endpoints up to date now (the cluster at time 0)."""
        for svc in self.services.values():
            self._sync(svc)

    def _sync(self, svc: ServiceState) -> None:
        svc.sync_due = False
        svc.endpoints = sorted((p for d in svc.deployments for p in d.pods.values() if p.ready),
                               key=lambda p: p.name)
        self.endpoints_changed.fire(svc)
