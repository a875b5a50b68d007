"""Which endpoints a Service connection can land on, or why it lands nowhere; the health checks.

Traffic policy (pkg/proxy/topology.go ``CategorizeEndpoints`` and the iptables proxier's
filter rules): which endpoints a packet can reach, whether it is masqueraded, or whether it
is DROPped (policy Local, no local endpoint) or REJECTed (no endpoint at all). The health
checks stay with the endpoints they count: the health check node port answers and
kube-proxy's ``/healthz`` (pkg/proxy/healthcheck).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sim.kubeproxy.config import DEFAULT_AFFINITY_TIMEOUT, HEALTHZ_TIMEOUT, MIN_SYNC_PERIOD, _net

# --- Services, endpoints and traffic policy --------------------------------------------------


class Verdict(StrEnum):
    """What kube-proxy does with a packet."""

    FORWARD = "FORWARD"
    """DNAT to one of the reachable endpoints."""
    DROP = "DROP"
    """Silently dropped: traffic policy Local with no local endpoint, or a blocked source range."""
    REJECT = "REJECT"
    """ICMP/TCP reset: the Service has no endpoints at all."""
    ACCEPT = "ACCEPT"
    """Delivered to the node itself (the health check node port)."""
    PASS = "PASS"
    """Not a Service address kube-proxy handles; the packet goes on untouched."""


class Entry(StrEnum):
    """How a packet addresses the Service."""

    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_IP = "ExternalIP"


class Origin(StrEnum):
    """Where a packet comes from, as the node's rules classify it."""

    POD = "pod"
    """A source in the cluster (pod) CIDR."""
    NODE = "node"
    """The node itself (``--src-type LOCAL``)."""
    EXTERNAL = "external"
    """Anything else."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One EndpointSlice endpoint of one Service port, as kube-proxy reads it."""

    ip: str
    port: int
    node: str | None = None
    ready: bool = True
    serving: bool | None = None
    """``None`` means "same as ready" (the EndpointSlice API default)."""
    terminating: bool = False

    @property
    def is_serving(self) -> bool:
        """Whether the endpoint still answers (a terminating pod may, until it exits)."""
        return self.ready if self.serving is None else self.serving

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of a Service, with the fields kube-proxy's rules depend on."""

    namespace: str
    name: str
    cluster_ip: str
    port: int
    protocol: str = "TCP"
    port_name: str = ""
    type: str = "ClusterIP"
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_ips: tuple[str, ...] = ()
    load_balancer_source_ranges: tuple[str, ...] = ()
    internal_traffic_policy: str = "Cluster"
    external_traffic_policy: str = "Cluster"
    health_check_node_port: int = 0
    session_affinity: str = "None"
    affinity_timeout: float = DEFAULT_AFFINITY_TIMEOUT

    @property
    def label(self) -> str:
        """``ns/name`` or ``ns/name:port`` as in kube-proxy's rule comments."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def is_externally_accessible(self) -> bool:
        """Reachable other than by ClusterIP: a NodePort, a load balancer IP or an external IP."""
        return bool(self.node_port or self.load_balancer_ips or self.external_ips)

    @property
    def internal_policy_local(self) -> bool:
        """``internalTrafficPolicy: Local``."""
        return self.internal_traffic_policy == "Local"

    @property
    def external_policy_local(self) -> bool:
        """``externalTrafficPolicy: Local`` on a Service that has external addresses at all."""
        return self.external_traffic_policy == "Local" and self.is_externally_accessible

    @property
    def uses_cluster_endpoints(self) -> bool:
        """Whether some traffic uses the Cluster-policy endpoints (pkg/proxy/serviceport.go)."""
        # external traffic needs Cluster endpoints even with eTP=Local (short-circuiting)
        return not self.internal_policy_local or self.is_externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        """Whether some traffic uses the Local-policy (same-node) endpoints."""
        return self.internal_policy_local or self.external_policy_local


@dataclass(frozen=True, slots=True)
class ProxyNode:
    """The node whose kube-proxy handles the packet."""

    name: str
    ips: tuple[str, ...] = ()
    cluster_cidrs: tuple[str, ...] = ()
    """Pod CIDR(s) for ``--detect-local-mode=ClusterCIDR``; empty: local detection is off."""
    localhost_node_ports: bool = True


@dataclass(frozen=True, slots=True)
class Route:
    """The fate of one new connection."""

    verdict: Verdict
    endpoints: tuple[Endpoint, ...] = ()
    """Every endpoint the connection may land on (FORWARD only), in rule order."""
    masquerade: bool = False
    """SNAT to the node: the endpoint no longer sees the client IP."""
    chain: str = ""
    """``KUBE-SVC`` (Cluster policy endpoints) or ``KUBE-SVL`` (Local policy endpoints)."""
    comment: str = ""
    """The filter rule comment for DROP/REJECT, as kube-proxy writes it."""

    @property
    def client_ip_preserved(self) -> bool:
        """The endpoint sees the client's own source IP (delivered, not masqueraded)."""
        return self.verdict is Verdict.FORWARD and not self.masquerade


def categorize_endpoints(svc: ServicePort, endpoints: Sequence[Endpoint], node: str,
                         ) -> tuple[tuple[Endpoint, ...], tuple[Endpoint, ...], bool]:
    """``CategorizeEndpoints`` (topology hints not modelled): (cluster, local, has_any).

    Cluster endpoints are the ready ones, else the serving-terminating ones; local ones are
    the ready local ones, else the serving-terminating local ones.
    """
    cluster: tuple[Endpoint, ...] = ()
    has_any = False
    if svc.uses_cluster_endpoints:
        cluster = tuple(e for e in endpoints if e.ready)
        if not cluster:
            cluster = tuple(e for e in endpoints if e.is_serving and e.terminating)
        has_any = bool(cluster)
    if not svc.uses_local_endpoints:
        return cluster, (), has_any
    ready = tuple(e for e in endpoints if e.ready and e.node == node)
    draining = tuple(e for e in endpoints if not e.ready and e.is_serving and e.terminating
                     and e.node == node)
    has_any = has_any or any(e.ready or (e.is_serving and e.terminating) for e in endpoints)
    return cluster, ready or draining, has_any


def _decide(svc: ServicePort, endpoints: Sequence[Endpoint], node: str, entry: Entry,
            origin: Origin, *, source_allowed: bool = True, detect_local: bool = True) -> Route:
    cluster, local, has_any = categorize_endpoints(svc, endpoints, node)
    # "! -s <clusterCIDR> -j KUBE-MARK-MASQ": off-cluster sources to a VIP are SNATed (only
    # written when kube-proxy can tell pod traffic apart)
    masq_internal = detect_local and origin is not Origin.POD
    if not has_any:
        return Route(Verdict.REJECT, comment=f"{svc.label} has no endpoints")
    no_local = f"{svc.label} has no local endpoints"
    if entry is Entry.CLUSTER_IP:
        if svc.internal_policy_local:
            if not local:
                return Route(Verdict.DROP, comment=no_local)
            return Route(Verdict.FORWARD, local, masq_internal, "KUBE-SVL")
        return Route(Verdict.FORWARD, cluster, masq_internal, "KUBE-SVC")
    if entry is Entry.LOAD_BALANCER and svc.load_balancer_source_ranges and not source_allowed:
        return Route(Verdict.DROP, comment=f"{svc.label} traffic not accepted by loadBalancerSourceRanges")
    if not svc.external_policy_local:  # "masquerade traffic for ... external destinations"
        return Route(Verdict.FORWARD, cluster, True, "KUBE-SVC")
    if origin is Origin.POD:  # short-circuit: subject to neither traffic policy
        return Route(Verdict.FORWARD, cluster, False, "KUBE-SVC")
    if origin is Origin.NODE:  # LOCAL sources are masqueraded and short-circuited too
        return Route(Verdict.FORWARD, cluster, True, "KUBE-SVC")
    if not local:
        return Route(Verdict.DROP, comment=no_local)
    return Route(Verdict.FORWARD, local, False, "KUBE-SVL")


def reachable_endpoints(svc: ServicePort, endpoints: Sequence[Endpoint], client_node: str, *,
                        entry: Entry = Entry.CLUSTER_IP, origin: Origin = Origin.POD,
                        ) -> frozenset[Endpoint] | Verdict:
    """Endpoints a new connection can land on, or why it lands nowhere (DROP / REJECT).

    Args:
        svc: the Service port addressed.
        endpoints: all its endpoints, any node, any condition.
        client_node: the node whose kube-proxy handles the packet (the client's node for a
            ClusterIP; the node the load balancer or NodePort client reached otherwise).
        entry: ClusterIP, NodePort, LoadBalancer or ExternalIP.
        origin: pod (cluster CIDR), node (LOCAL source) or external.

    Raises:
        ValueError: for a LoadBalancer entry of a Service with loadBalancerSourceRanges
            (the verdict depends on the source IP: use :func:`route`).
    """
    if entry is Entry.LOAD_BALANCER and svc.load_balancer_source_ranges:
        raise ValueError(f"{svc.label} has loadBalancerSourceRanges: the verdict depends on the "
                         "source IP; call route() with the packet's source")
    r = _decide(svc, endpoints, client_node, entry, origin)
    return frozenset(r.endpoints) if r.verdict is Verdict.FORWARD else r.verdict


def _in_any(ip: str, cidrs: Sequence[str]) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr in _net(c) for c in cidrs)


def classify_source(node: ProxyNode, source_ip: str) -> Origin:
    """Pod if in the cluster CIDR (when local detection is on), node if local, else external."""
    if node.cluster_cidrs and _in_any(source_ip, node.cluster_cidrs):
        return Origin.POD
    if source_ip in node.ips or ipaddress.ip_address(source_ip).is_loopback:
        return Origin.NODE
    return Origin.EXTERNAL


def route(svc: ServicePort, endpoints: Sequence[Endpoint], node: ProxyNode, source_ip: str,
          dest_ip: str, dest_port: int, protocol: str = "TCP") -> Route:
    """Trace one new connection through the node's kube-proxy rules (iptables semantics).

    Recognises the Service's ClusterIP, external IPs and load balancer IPs on its port, its
    NodePort on any node address (and 127.0.0.1 from the node itself when localhost
    NodePorts are on) and its health check node port; anything else is PASS.
    """
    origin = classify_source(node, source_ip)
    hc_port = svc.health_check_node_port
    if hc_port and dest_port == hc_port and protocol == "TCP" and dest_ip in node.ips:
        return Route(Verdict.ACCEPT, comment=f"{svc.label} health check node port")
    if protocol != svc.protocol:
        return Route(Verdict.PASS)
    entry: Entry | None = None
    if dest_port == svc.port:
        if dest_ip == svc.cluster_ip:
            entry = Entry.CLUSTER_IP
        elif dest_ip in svc.load_balancer_ips:
            entry = Entry.LOAD_BALANCER
        elif dest_ip in svc.external_ips:
            entry = Entry.EXTERNAL_IP
    if entry is None and svc.node_port and dest_port == svc.node_port:
        loopback = ipaddress.ip_address(dest_ip).is_loopback
        if dest_ip in node.ips or (loopback and node.localhost_node_ports and origin is Origin.NODE):
            entry = Entry.NODE_PORT
    if entry is None:
        return Route(Verdict.PASS)
    allowed = True
    if entry is Entry.LOAD_BALANCER and svc.load_balancer_source_ranges:
        # KUBE-FW: the listed ranges, plus the LB IPs themselves when a range holds the node IP
        from_node = bool(node.ips) and _in_any(node.ips[0], svc.load_balancer_source_ranges)
        allowed = _in_any(source_ip, svc.load_balancer_source_ranges) or (
            from_node and source_ip in svc.load_balancer_ips)
    r = _decide(svc, endpoints, node.name, entry, origin, source_allowed=allowed,
                detect_local=bool(node.cluster_cidrs))
    if r.verdict is Verdict.FORWARD and not r.masquerade and any(e.ip == source_ip for e in r.endpoints):
        # hairpin: "-s <endpoint IP> -j KUBE-MARK-MASQ" in the endpoint's KUBE-SEP chain
        return Route(r.verdict, r.endpoints, True, r.chain, r.comment)
    return r


# --- health checks ---------------------------------------------------------------------------


def local_ready_endpoints(endpoints: Sequence[Endpoint], node: str) -> int:
    """Ready endpoints on *node*: the count the health check node port reports."""
    return sum(1 for e in endpoints if e.ready and e.node == node)


def health_check_node_port(endpoints: Sequence[Endpoint], node: str, *, proxy_healthy: bool = True) -> int:
    """HTTP status of an eTP=Local Service's ``healthCheckNodePort`` on *node*.

    200 only while the node has a ready local endpoint and kube-proxy is healthy, else 503
    (pkg/proxy/healthcheck/service_health.go). It ignores whether the node itself is being
    deleted: a draining node turns 503 once its pods are terminating (no longer ready).
    """
    return 200 if proxy_healthy and local_ready_endpoints(endpoints, node) else 503


class ProxyHealth:
    """kube-proxy's ``/healthz`` and ``/livez`` on :data:`HEALTHZ_PORT` (proxy_health.go).

    Unhealthy once an update queued at ``t0`` is still not applied at ``t0 + timeout``
    (``now - t0 < timeout`` is still healthy). ``/healthz`` also answers 503 while the node
    is not eligible (being deleted, or tainted ToBeDeletedByClusterAutoscaler), so load
    balancers drain it; ``/livez`` ignores the node.
    """

    __slots__ = ("timeout", "node_eligible", "last_updated", "_oldest_pending")

    def __init__(self, timeout: float = HEALTHZ_TIMEOUT) -> None:
        self.timeout = timeout
        self.node_eligible = True
        self.last_updated: float | None = None
        self._oldest_pending: float | None = None

    def queued_update(self, t: float) -> None:
        """A Service/EndpointSlice change arrived at *t* and awaits a sync."""
        if self._oldest_pending is None:
            self._oldest_pending = t

    def updated(self, t: float) -> None:
        """The rules were synced at *t*."""
        self._oldest_pending = None
        self.last_updated = t

    def is_healthy(self, t: float) -> bool:
        """No queued update has waited *timeout* seconds or more at *t*."""
        return self._oldest_pending is None or t - self._oldest_pending < self.timeout

    def healthz(self, t: float) -> int:
        """HTTP status of ``/healthz`` at *t*."""
        return 200 if self.is_healthy(t) and self.node_eligible else 503

    def livez(self, t: float) -> int:
        """HTTP status of ``/livez`` at *t*."""
        return 200 if self.is_healthy(t) else 503


def lb_health_probe(svc: ServicePort, endpoints: Sequence[Endpoint], node: str, *,
                    proxy_healthy: bool = True, node_eligible: bool = True) -> int:
    """What a load balancer HTTP probe of *node* gets for *svc*.

    eTP=Local: the health check node port (ready local endpoints); eTP=Cluster: kube-proxy's
    ``/healthz`` (KEP-3836), which fails on a node being deleted.
    """
    if svc.external_policy_local:
        return health_check_node_port(endpoints, node, proxy_healthy=proxy_healthy)
    return 200 if proxy_healthy and node_eligible else 503


def next_sync(last_sync: float, changed_at: float, min_sync_period: float = MIN_SYNC_PERIOD) -> float:
    """When a change seen at *changed_at* reaches the rules: no sooner than minSyncPeriod
    after the previous sync (BoundedFrequencyRunner)."""
    return max(changed_at, last_sync + min_sync_period)
