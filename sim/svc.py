"""Kubernetes Services and their endpoints as kube-proxy and the load balancer see them.

A Service selects pods by label in its namespace. Its endpoints follow pod readiness after
``endpointPropagationDelay`` (EndpointSlice controller, then kube-proxy's minSyncPeriod of
1 s: virtual-ips.md), so a pod that stops being ready still receives traffic for a while,
and a pod whose node died receives it until the node is NotReady (node-monitor-grace-period)
plus that delay, as on a real cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.scenario.manifests import Service

if TYPE_CHECKING:
    from sim.model import Model
    from sim.workloads import DeploymentState, Pod


class ServiceState:
    """One Service of the run and its current endpoints."""

    def __init__(self, manifest: Service, cluster_ip: int) -> None:
        self.manifest = manifest
        self.namespace = manifest.metadata.namespace
        self.name = manifest.metadata.name
        self.key = f"{self.namespace}/{self.name}"
        self.cluster_ip = cluster_ip
        self.type = manifest.spec.type
        self.local = manifest.spec.external_traffic_policy == "Local"
        self.internal_local = manifest.spec.internal_traffic_policy == "Local"
        """``internalTrafficPolicy: Local``: ClusterIP traffic only to the client node's endpoints."""
        self.headless = manifest.spec.type != "ExternalName" and manifest.spec.cluster_ip == "None"
        """No ClusterIP: DNS answers with the ready pods' IPs and clients connect to them."""
        self.internal = manifest.is_internal_lb
        self.affinity = manifest.affinity_timeout
        """ClientIP session affinity timeout (seconds), None without affinity."""
        self.ports = [p.port for p in manifest.spec.ports]
        self.deployments: list[DeploymentState] = []
        self.endpoints: list[Pod] = []
        """Ready pods, as kube-proxy sees them now (sorted by name: deterministic)."""
        self._sync_due = False

    def target(self, port: int) -> tuple[int, str | None]:
        """The container port (and its name) a Service port forwards to (targetPort)."""
        spec = next((p for p in self.manifest.spec.ports if p.port == port), None)
        target = port if spec is None or spec.target_port is None else spec.target_port
        for dep in self.deployments:
            for c in dep.manifest.spec.template.spec.containers:
                for cp in c.ports:
                    if cp.name == target or cp.container_port == target:
                        return cp.container_port, cp.name
        return (target if isinstance(target, int) else port), None

    def port(self, port: int | None) -> int | None:
        """The Service port a client asked for (its first one by default), or None."""
        if port is None:
            return self.ports[0] if self.ports else None
        return port if port in self.ports else None


class ServiceController:
    """Keeps every Service's endpoints, with the propagation delay of the real control plane."""

    def __init__(self, model: Model, delay: float) -> None:
        self.m = model
        self.delay = delay
        self.services: dict[str, ServiceState] = {}
        self._by_deployment: dict[str, list[ServiceState]] = {}

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
            if not svc._sync_due:
                svc._sync_due = True
                self.m.timers.after(self.delay, self._sync, svc)

    def sync_all(self) -> None:
        """Bring every Service's endpoints up to date now (the cluster at time 0)."""
        for svc in self.services.values():
            self._sync(svc)

    def _sync(self, svc: ServiceState) -> None:
        svc._sync_due = False
        svc.endpoints = sorted((p for d in svc.deployments for p in d.pods.values() if p.ready),
                               key=lambda p: p.name)
        self.m.traffic.endpoints_changed(svc)
