"""Pods calling a Service by name: the lookup at CoreDNS, then the connection.

A component of :class:`sim.traffic.controller.TrafficController`: it keeps the resolvers' and
CoreDNS's state (conntrack entries, caches, counts) and asks the traffic path, through
:class:`LookupHost`, only to queue work at a pod and to hand a connection on. Sources:
AKS-NETWORKING.md section 7, kubernetes dns-pod-service and dns-debugging-resolution,
coredns-troubleshoot.md, resolv.conf(5).

- The lookup walks the client's resolv.conf (search list, ``ndots:5``: sim.dns); every name
  tried is a query, all sent to one CoreDNS pod behind the kube-dns ClusterIP and queued
  there (``concurrency`` workers, ``serviceTime`` each).
- Which CoreDNS pod: kube-proxy picks one for each new UDP conntrack entry (uniformly; in
  IPVS mode the kube-dns virtual server of the client's node schedules it). A resolver that
  opens a socket per lookup (glibc) has a new source port each time, so lookups spread over
  the pods; one that keeps its socket (``dnsSourcePort: reused``) keeps its conntrack entry
  while it queries at least every 30 s (the UDP conntrack timeout; IPVS: its UDP timeout,
  5 minutes), so each client pod sticks to one CoreDNS pod: the known imbalance
  (coredns-troubleshoot.md).
- Overload: glibc waits ``timeout`` (5 s) for an answer and resends the same query
  ``attempts`` (2) times in all; a reply to any of them counts. A lookup whose answer has not
  come ``timeout x attempts`` after it was sent fails (``dns_failure``) then. Each resend is
  one more query in the same CoreDNS pod's queue (conntrack keeps it there), so an overload
  feeds itself; CoreDNS still answers the queries nobody waits for any more.
- Names CoreDNS forwards to the VNet resolver (168.63.129.16), such as an ExternalName's
  target, wait ``upstreamLatency`` for its answer, which CoreDNS caches for ``cacheTtl``
  (the Corefile's ``cache 30``): a CoreDNS pod forwards a name at most once per TTL, and the
  queries that reach it while that answer is on its way wait for it too.
- An ExternalName Service is a CNAME: the client resolves the external name and connects to
  it, out of the cluster through the node's SNAT ports, like an ``external`` flow.
- A headless Service's name gives the ready pods' IPs: the client connects to one directly.
  A StatefulSet's ready pods also answer as ``<pod>.<serviceName>`` (its governing Service).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.azure.vnet import ip_str
from sim.outcomes import DNS_FAILURE, NO_ENDPOINT, OK, SNAT_EXHAUSTED, TIMEOUT
from sim.queueing.podqueue import PodQueue
from sim.queueing.service_times import draw_many
from sim.scenario.schema import ExternalRef

if TYPE_CHECKING:
    from sim.kernel.rng import Streams
    from sim.kubeproxy.ipvs import IpvsTables
    from sim.objects import Node, Pod
    from sim.scenario.schema import ClusterSpec, TrafficSpec
    from sim.svc import ServiceController
    from sim.traffic.batch import Batch
    from sim.traffic.egress import Egress
    from sim.traffic.links import Links

UDP_CONNTRACK_TIMEOUT = 30.0
"""Seconds a UDP conntrack entry lives after its last packet (AKS-NETWORKING.md section 7)."""
EXTERNAL_NAME_ADDRESS = "198.51.100.10"
"""Where an ExternalName's target resolves (a documentation address: the name is assumed to
exist in public DNS)."""
DEFAULT_EXTERNAL = ExternalRef(address=EXTERNAL_NAME_ADDRESS)
"""What the far end of an ExternalName costs: the default latency of an ``external`` call."""


class LookupHost(Protocol):
    """What the lookups ask of the traffic path they are part of (the traffic controller
    satisfies it): queue work at a pod, hand a looked-up connection on, and the policy and
    fault state that decide whether a query is answered at all."""

    dns_silent: set[str]
    """CoreDNS pods that do not answer (coredns_outage)."""
    dns_silent_all: int
    """coredns_outage faults in effect on every CoreDNS pod."""

    def enqueue(self, pod: Pod, t: np.ndarray, service: np.ndarray,
                then: Callable[..., object]) -> None:
        """Queue work at *pod*; *then(done)* gets the departures (a callback may bind more
        arguments by default values, hence ``...``)."""

    def forward_later(self, b: Batch, rows: np.ndarray, t: np.ndarray, source: Pod) -> None: ...

    def dns_allowed(self, client: Any) -> bool: ...


class NameLookups:
    """Lookups of pods calling a Service by name (see the module docstring)."""

    def __init__(self, host: LookupHost, streams: Streams, rng: np.random.Generator,
                 service_rng: np.random.Generator, spec: TrafficSpec | None,
                 cluster: ClusterSpec, service_ctl: ServiceController,
                 nodes_by_row: dict[int, Node], links: Links, ipvs: IpvsTables | None,
                 egress: Egress) -> None:
        self.host = host
        self.streams = streams
        self.rng = rng
        self.service_rng = service_rng
        self.spec = spec
        self.cluster = cluster
        self.service_ctl = service_ctl
        self.nodes_by_row = nodes_by_row
        self.links = links
        self.ipvs = ipvs
        self.egress = egress
        self._dns_rng = self.streams.numpy("dns-upstream")
        self._conntrack: dict[tuple[str, str], tuple[str, float]] = {}
        """(flow, client pod) -> (CoreDNS pod, last query): the resolver's one source port."""
        self._dns_cache: dict[tuple[str, str], float] = {}
        """(CoreDNS pod, flow) -> when it last forwarded the flow's name upstream."""
        self.dns_by_pod: dict[str, int] = {}
        """Lookups each CoreDNS pod answered (the imbalance shows here)."""
        self._resend_rng = self.streams.numpy("dns-resends")
        self.dns_resends = 0
        """Queries resent after a resolver timeout (extra load on an overloaded CoreDNS)."""

    def lookup_cost(self, flow: Any) -> None:
        """How many queries the client's lookup of the name costs, how many of them CoreDNS
        forwards upstream, and whether it answers."""
        from sim import dns

        spec = flow.spec
        client_ns = flow.client.namespace
        svc = flow.svc
        name = spec.dns_name or (svc.name if svc.namespace == client_ns
                                 else f"{svc.name}.{svc.namespace}")
        result = self.resolve_name(client_ns, name)
        flow.dns_queries = len(result.tried_in_order)
        flow.dns_ok = result.final.rcode == dns.Rcode.NOERROR and result.final.answer is not None
        # an ExternalName's CNAME target is chased upstream inside the kubernetes answer
        flow.dns_upstream = result.upstream_queries + (1 if svc.type == "ExternalName" else 0)

    def resolve_name(self, client_ns: str, name: str) -> Any:
        """A pod of namespace *client_ns* looks *name* up as its resolv.conf says (search
        list, ndots:5) against the cluster's Services: the :class:`sim.dns.Resolution`.
        The traffic path and ``aks-sim route`` both ask this."""
        from sim import dns

        services, targets = [], []
        for s in self.service_ctl.services.values():
            ports = tuple(dns.ServicePort(p.port, p.protocol, p.name) for p in s.manifest.spec.ports)
            if s.type == "ExternalName" and s.manifest.spec.external_name:
                target = s.manifest.spec.external_name
                services.append(dns.Service(s.namespace, s.name, "ExternalName", (), ports,
                                            external_name=target))
                targets.append(dns.Record(target, "A", EXTERNAL_NAME_ADDRESS))
            elif s.headless:
                # its ready pods' IPs (one stands in for them: readiness is per request), and
                # a StatefulSet's pods under their own names when this is its serviceName
                # (hostname = pod name, subdomain = serviceName: <pod>.<svc>.<ns>.svc)
                named = tuple(dns.Endpoint(ip_str(p.ip), hostname=p.name)
                              for d in s.deployments if d.kind == "StatefulSet"
                              and getattr(d.manifest.spec, "service_name", None) == s.name
                              for p in sorted(d.pods.values(), key=lambda p: p.name)
                              if p.ready and p.ip)
                services.append(dns.Service(s.namespace, s.name, "ClusterIP", (), ports,
                                            (dns.Endpoint("192.0.2.1"), *named)))
            elif s.cluster_ip:
                services.append(dns.Service(s.namespace, s.name, "ClusterIP",
                                            (ip_str(s.cluster_ip),), ports))
        cluster = dns.ClusterDNS(services, upstream=dns.Upstream(targets))
        resolver = dns.pod_resolv_conf(client_ns, cluster_dns=(
            str(self.cluster.dns_service_ip),), limits=dns.search_limits(
                self.cluster.kubernetes_version)).resolver()
        return resolver.resolve(name, "A", cluster)

    def dispatch(self, b: Batch, t0: float) -> None:
        """Pods call a Service by name: look it up at CoreDNS, then connect."""
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        spec = flow.spec
        coredns = self.spec.coredns if self.spec else None
        assert coredns is not None
        pods = [p for p in flow.client.pods.values()
                if p.phase == "Running" and p.node is not None and p.node.alive]
        n = arrivals.size
        if not pods:
            outcome[:] = NO_ENDPOINT
            when[:] = arrivals
            return
        src = self.rng.integers(0, len(pods), n)
        ready = arrivals.copy()
        give_up = arrivals + min(spec.timeout, coredns.query_timeout * coredns.attempts)
        after = (b, t0)
        if spec.connection != "new":  # keep-alive: the name was looked up long ago
            live = np.flatnonzero(outcome == OK)
            self._looked_up(flow, live, ready[live], src, pods, after)
            return
        flow.dns_total += flow.dns_queries * n
        kube_dns = self.service_ctl.find("kube-system/kube-dns")
        servers = kube_dns.endpoints if kube_dns else []
        if not servers or not self.host.dns_allowed(flow.client):
            # no CoreDNS pod, or an egress NetworkPolicy drops the queries: no answer comes,
            # glibc gives up after timeout x attempts
            outcome[:] = DNS_FAILURE
            when[:] = give_up
            return
        if not flow.dns_ok:
            outcome[:] = DNS_FAILURE
            when[:] = arrivals + flow.dns_queries * 2 * hop
            return
        reused = spec.dns_source_port == "reused"
        if self.ipvs is not None:
            pick = self._dns_ipvs(flow, kube_dns, servers, pods, src, arrivals, reused)
        else:
            pick = self.rng.integers(0, len(servers), n)
            if reused:
                pick = self._same_source_port(flow, servers, pods, src, arrivals, pick)
        order = np.argsort(pick, kind="stable")
        for group in np.split(order, np.flatnonzero(np.diff(pick[order])) + 1):
            self._query(b, servers[int(pick[group[0]])], group, src, pods, give_up, after)

    def _query(self, b: Batch, server: Pod, group: np.ndarray, src: np.ndarray,
               pods: list[Pod], give_up: np.ndarray, after: tuple[Any, ...]) -> None:
        """Lookups *group* reach CoreDNS pod *server*: queued there, or unanswered."""
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        coredns = self.spec.coredns if self.spec else None
        assert coredns is not None
        self.dns_by_pod[server.name] = self.dns_by_pod.get(server.name, 0) + group.size
        if (server.node is None or not server.node.alive or server.phase != "Running"
                or self.host.dns_silent_all or server.name in self.host.dns_silent):
            # the query's conntrack entry keeps it on the same dead (or silent) pod: no
            # answer; glibc stops the search walk at the first query that timed out
            outcome[group] = DNS_FAILURE
            when[group] = give_up[group]
            return
        if self.links.active:
            # a partition between the client pod's node and the CoreDNS pod's: no answer
            cut = self.links.partitioned([pods[i].node for i in src[group].tolist()],
                                         server.node)
            if cut is not None:
                outcome[group[cut]] = DNS_FAILURE
                when[group[cut]] = give_up[group[cut]]
                group = group[~cut]
                if group.size == 0:
                    return
        work = draw_many(coredns.service_time, self.service_rng, group.size) * flow.dns_queries
        if server.queue is None:
            server.queue = PodQueue(coredns.concurrency)
        self.host.enqueue(server, arrivals[group] + hop, work,
                          lambda done, group=group, server=server: self._dns_answered(
                              flow, server, group, done, src, pods, give_up, after))

    def _same_source_port(self, flow: Any, servers: list[Pod], pods: list[Pod],
                          src: np.ndarray, arrivals: np.ndarray, fresh: np.ndarray) -> np.ndarray:
        """CoreDNS pod of each lookup when each client pod queries from one source port: its
        conntrack entry keeps it on one CoreDNS pod until 30 s pass without a query (or that
        pod leaves the endpoints); then kube-proxy picks anew (*fresh*)."""
        index = {p.name: i for i, p in enumerate(servers)}
        pick = fresh.copy()
        table = self._conntrack
        for k, (i, t) in enumerate(zip(src.tolist(), arrivals.tolist(), strict=True)):
            key = (flow.spec.name, pods[i].name)
            entry = table.get(key)
            j = index.get(entry[0], -1) if entry is not None and t - entry[1] <= \
                UDP_CONNTRACK_TIMEOUT else -1
            if j < 0:
                j = int(fresh[k])
            pick[k] = j
            table[key] = (servers[j].name, t)
        return pick

    def _dns_ipvs(self, flow: Any, kube_dns: Any, servers: list[Pod], pods: list[Pod],
                  src: np.ndarray, arrivals: np.ndarray, reused: bool) -> np.ndarray:
        """CoreDNS pod of each lookup in IPVS mode: the kube-dns virtual server of the client
        pod's node schedules each new UDP connection (a new source port: every lookup, or
        only when a reused port's IPVS entry expired, ``udpTimeout`` after its last query).
        A UDP connection counts as active for as long as its entry lives (no TCP states)."""
        ipvs = self.ipvs
        assert ipvs is not None
        keys = tuple(p.name for p in servers)
        index = {name: i for i, name in enumerate(keys)}
        pick = np.empty(src.size, np.int64)
        table = self._conntrack
        for k, (i, t) in enumerate(zip(src.tolist(), arrivals.tolist(), strict=True)):
            pod = pods[i]
            key = (flow.spec.name, pod.name)
            j = -1
            if reused:
                entry = table.get(key)
                if entry is not None and t - entry[1] <= ipvs.udp_timeout:
                    j = index.get(entry[0], -1)
            if j < 0:
                node = pod.node.name if pod.node is not None else ""
                vs = ipvs.server(node, kube_dns.key, keys, kube_dns.cluster_ip)
                j = max(0, ipvs.pick(vs, pod.ip, t))
                if ipvs.counts:
                    vs.open(j, t + ipvs.udp_timeout)
            pick[k] = j
            if reused:
                table[key] = (keys[j], t)
        return pick

    def _dns_answered(self, flow: Any, server: Pod, group: np.ndarray, done: np.ndarray,
                      src: np.ndarray, pods: list[Pod], give_up: np.ndarray,
                      after: tuple[Any, ...]) -> None:
        """CoreDNS *server* answered lookups *group* at *done* (plus any upstream wait):
        those the resolver still waits for go on to connect, the others failed."""
        b = after[0]
        arrivals, outcome, when, hop = b.arrivals, b.outcome, b.when, b.hop
        coredns = self.spec.coredns
        ready = done + hop
        if flow.dns_upstream:
            ready = ready + self._upstream_wait(flow, server, arrivals[group] + hop, done)
        waited = ready - arrivals[group]
        if coredns.attempts > 1 and bool((waited > coredns.query_timeout).any()):
            self._resend(server, arrivals[group] + hop, waited)
        late = waited > coredns.query_timeout * coredns.attempts
        if late.any():  # no reply to any attempt in time: the lookup failed
            failed = group[late]
            outcome[failed] = DNS_FAILURE
            when[failed] = give_up[failed]
            group, ready = group[~late], ready[~late]
        if group.size:
            self._looked_up(flow, group, ready, src, pods, after)

    def _resend(self, server: Pod, sent: np.ndarray, waited: np.ndarray) -> None:
        """The resolver resends a query it has no answer to after each ``timeout`` (up to
        ``attempts`` sends): each resend is one more query in *server*'s queue (it keeps the
        conntrack entry, so the same pod), served even though its answer is not needed."""
        coredns = self.spec.coredns
        times = [sent[waited > coredns.query_timeout * i] + coredns.query_timeout * i
                 for i in range(1, coredns.attempts)]
        t = np.sort(np.concatenate(times))
        if t.size:
            self.dns_resends += int(t.size)
            work = draw_many(coredns.service_time, self._resend_rng, t.size)
            self.host.enqueue(server, t, work, _ignore)

    def _upstream_wait(self, flow: Any, server: Pod, t: np.ndarray, done: np.ndarray) -> np.ndarray:
        """Extra wait of lookups reaching *server* at *t* (in order) for the forwarded names:
        a cache miss forwards (and waits ``upstreamLatency`` per forwarded query); queries
        arriving while that answer is on its way wait too; then the cache answers."""
        coredns = self.spec.coredns
        key = (server.name, flow.spec.name)
        wait = np.zeros(t.size)
        fetched = self._dns_cache.get(key, -math.inf)
        i = int(np.searchsorted(t, fetched + coredns.cache_ttl, side="left"))
        while i < t.size:
            rtt = float(draw_many(coredns.upstream_latency, self._dns_rng, 1)[0]) * flow.dns_upstream
            j = int(np.searchsorted(t, float(done[i]) + rtt, side="left"))
            j = max(j, i + 1)
            wait[i:j] = rtt
            fetched = float(t[i])
            i = max(j, int(np.searchsorted(t, fetched + coredns.cache_ttl, side="left")))
        self._dns_cache[key] = fetched
        return wait

    def _looked_up(self, flow: Any, rows: np.ndarray, ready: np.ndarray, src: np.ndarray,
                   pods: list[Pod], after: tuple[Any, ...]) -> None:
        """The name resolved for *rows* at *ready*: each client pod connects."""
        b = after[0]
        if flow.external_name:
            self._call_out(flow, rows, ready, src, pods, after)
            return
        for i in np.unique(src[rows]).tolist():
            mine = src[rows] == i
            self.host.forward_later(b, rows[mine], ready[mine] - b.hop, pods[i])

    def _call_out(self, flow: Any, rows: np.ndarray, ready: np.ndarray, src: np.ndarray,
                  pods: list[Pod], after: tuple[Any, ...]) -> None:
        """Connect to an ExternalName's target from each client pod, through its node's SNAT
        ports for that destination (as an ``external`` flow)."""
        b, t0 = after
        arrivals, outcome, when, latency, hop = b.arrivals, b.outcome, b.when, b.latency, b.hop
        if rows.size == 0:
            return
        took = draw_many(DEFAULT_EXTERNAL.latency, self.service_rng, rows.size) + 2 * hop
        ends = ready + took
        nodes = np.fromiter((pods[i].node.row for i in src[rows].tolist()), np.int64, rows.size)
        order = np.argsort(nodes, kind="stable")
        for group in np.split(order, np.flatnonzero(np.diff(nodes[order])) + 1):
            group = group[np.argsort(ready[group], kind="stable")]
            node = self.nodes_by_row[int(nodes[group[0]])]
            granted = self.egress.grant(flow, node.name,
                                        [pods[i].name for i in src[rows[group]].tolist()],
                                        ready[group], ends[group], t0)
            refused = rows[group[~granted]]
            if refused.size:
                outcome[refused] = SNAT_EXHAUSTED
                self.egress.refused(node.name, flow.dest, t0)
            ok = group[granted]
            total = ends[ok] - arrivals[rows[ok]]
            late = total > flow.spec.timeout
            outcome[rows[ok[late]]] = TIMEOUT
            answered = rows[ok[~late]]
            when[answered] = ends[ok[~late]]
            latency[answered] = total[~late]


def _ignore(done: np.ndarray) -> None:
    """A resent query's answer: nobody needs it (the first reply to any send counts)."""
