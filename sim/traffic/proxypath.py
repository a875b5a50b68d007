"""Which endpoint a new connection gets from the kube-proxy of the node that handles it.

A component of :class:`sim.traffic.controller.TrafficController`: it keeps kube-proxy's own
state (the ``recent`` tables of ClientIP affinity, the IPVS tables' look-ahead) and asks the
controller only for a pod's queue and service time. Sources: virtual-ips.md, service-traffic-policy.md,
pkg/proxy (iptables and ipvs proxiers), AKS-NETWORKING.md section 4.

- iptables / nftables: a uniformly random endpoint (the probability chain); with
  ``sessionAffinity: ClientIP`` the node's ``recent`` table keeps a client on its endpoint
  for ``timeoutSeconds`` after its last connection (:meth:`KubeProxyPath.sticky`; the rule
  is :class:`sim.kubeproxy.affinity.AffinityTable`'s).
- IPVS: the LVS scheduler of the node's virtual server for the Service (sim.kubeproxy.ipvs); the
  schedulers that count connections learn when each ends from a look-ahead of the pod's queue.
- Pods calling a ClusterIP: the client pod's node decides, and ``internalTrafficPolicy:
  Local`` keeps them on that node's endpoints (DROP when it has none).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.kubeproxy.affinity import AffinityTable
from sim.queueing.service_times import draw_many

if TYPE_CHECKING:
    from sim.kubeproxy.ipvs import IpvsTables
    from sim.objects import Node, Pod, ServiceState
    from sim.queueing.podqueue import PodQueue
    from sim.scenario.schema import Distribution
    from sim.traffic.flows import FlowState


class KubeProxyPath:
    """kube-proxy's choice of endpoint for new connections (see the module docstring)."""

    def __init__(self, rng: np.random.Generator, service_rng: np.random.Generator,
                 ipvs: IpvsTables | None, service_time: Callable[[Pod, FlowState], Distribution],
                 pod_queue: Callable[[Pod], PodQueue]) -> None:
        self.rng = rng
        self.service_rng = service_rng
        self.ipvs = ipvs
        """kube-proxy in IPVS mode: every node's virtual servers (None: iptables/nftables)."""
        self.service_time = service_time
        self.pod_queue = pod_queue
        self.affinity: dict[str, AffinityTable] = {}
        """ClientIP affinity: each Service's ``recent`` table (per virtual server in IPVS)."""
        self.shadow: dict[str, list[float]] = {}
        """The tick's look-ahead of pod workers (when each is free), for IPVS connection ends."""

    def new_tick(self) -> None:
        """A new tick: the look-ahead starts again from the pods' queues."""
        self.shadow = {}

    def sticky(self, flow: FlowState, endpoints: list[Pod], nodes: list[Node],
                node_idx: np.ndarray, arrivals: np.ndarray, clients: np.ndarray) -> np.ndarray:
        """kube-proxy's ClientIP affinity: the ``recent`` table of each node keeps a client on
        the endpoint it last used there, for ``timeoutSeconds`` after that use (virtual-ips.md);
        new (or expired) clients get the random pick. One request at a time: order matters."""
        n = arrivals.size
        fresh = self.rng.integers(0, len(endpoints), n)
        index = {p.name: i for i, p in enumerate(endpoints)}
        table = self._affinity_table(flow.svc)
        lookup, record = table.lookup, table.record
        picked = np.empty(n, np.int64)
        for i, (node, client, t) in enumerate(zip(node_idx.tolist(), clients.tolist(),
                                                  arrivals.tolist(), strict=True)):
            key = (nodes[node].name, client)
            stuck = lookup(key, t)
            j = index.get(stuck) if stuck is not None else None
            if j is None:
                j = int(fresh[i])
            record(key, endpoints[j].name, t)
            picked[i] = j
        return picked

    def sticky_rows(self, svc: ServiceState, endpoints: list[Pod], node: str,
                     clients: np.ndarray, t: np.ndarray) -> np.ndarray:
        """ClientIP affinity for connections from *clients* (source addresses) through *node*'s
        iptables rules, in time order: the endpoint each used last there within
        ``timeoutSeconds``, else a random one. The ``recent`` lists are the endpoints', so
        every way into the Service shares them."""
        fresh = self.rng.integers(0, len(endpoints), t.size)
        index = {p.name: i for i, p in enumerate(endpoints)}
        table = self._affinity_table(svc)
        lookup, record = table.lookup, table.record
        picked = np.empty(t.size, np.int64)
        client_l, t_l = clients.tolist(), t.tolist()
        for k in np.argsort(t, kind="stable").tolist():
            key = (node, client_l[k])
            stuck = lookup(key, t_l[k])
            j = index.get(stuck) if stuck is not None else None
            if j is None:
                j = int(fresh[k])
            record(key, endpoints[j].name, t_l[k])
            picked[k] = j
        return picked

    def _affinity_table(self, svc: ServiceState, entry: str = "") -> AffinityTable:
        """The ClientIP table of *svc* (of its virtual server *entry* in IPVS mode), made on
        first use. Clients are keyed by (node, source address): each node's kube-proxy keeps
        its own ``recent`` lists."""
        table = self.affinity.get(svc.key + entry)
        if table is None:
            assert svc.affinity is not None
            table = self.affinity[svc.key + entry] = AffinityTable(svc.affinity)
        return table

    @staticmethod
    def entry(flow: FlowState) -> tuple[str, int | None]:
        """The IPVS virtual server a flow from outside enters by: the load balancer's frontend
        (a virtual server of its own, apart from the ClusterIP's), else the ClusterIP."""
        if flow.lb is not None:
            return ":lb", flow.lb.frontend
        return "", None

    @staticmethod
    def client_ips(flow: FlowState, clients: np.ndarray) -> np.ndarray:
        """The clients' source addresses (IPv4 as ints): ``clientIP`` and the ones after it."""
        return (int(flow.spec.client_ip) + clients) & 0xFFFFFFFF

    def ipvs_choose(self, flow: FlowState, svc: ServiceState, endpoints: list[Pod],
                     nodes: list[str], src: np.ndarray, t: np.ndarray, hop: float,
                     clients: np.ndarray | None = None, table: str = "", vip: int | None = None,
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """Each new connection's endpoint as the IPVS scheduler of its node decides, in
        arrival order (index into *endpoints*, aligned with *t*); with a counting scheduler
        also the service times drawn for them (each connection's end is counted).

        With ClientIP affinity, IPVS persistence keeps a client on its endpoint on that node
        for ``timeoutSeconds`` after its last connection, as the iptables mode does.

        *table* and *vip* name the virtual server: IPVS has one per address and port a
        Service is reached on (the ClusterIP, and the load balancer IP / NodePort), each with
        its own scheduler state and connection counts; its real servers are the endpoints
        that address may reach from that node (only the local ones under a Local policy).
        """
        ipvs = self.ipvs
        assert ipvs is not None
        keys = tuple(p.name for p in endpoints)
        n = t.size
        picks = np.empty(n, np.int64)
        service, dists = self._connection_times(flow, endpoints, n) if ipvs.counts else (None, [])
        servers: dict[str, Any] = {}
        timeout = flow.spec.timeout
        sticky = (self._affinity_table(svc, table) if clients is not None and svc.affinity is not None
                  else None)
        index = {p.name: i for i, p in enumerate(endpoints)} if sticky is not None else None
        order = np.argsort(t, kind="stable").tolist()
        src_l, t_l = src.tolist(), t.tolist()
        client_l = clients.tolist() if clients is not None else None
        for k in order:
            node, at = nodes[k], t_l[k]
            vs = servers.get(node)
            if vs is None:
                vs = servers[node] = ipvs.server(node, svc.key + table, keys,
                                                 svc.cluster_ip if vip is None else vip)
            i = -1
            if sticky is not None and index is not None and client_l is not None:
                stuck = sticky.lookup((node, client_l[k]), at)
                if stuck is not None:
                    i = index.get(stuck, -1)
            if i < 0:
                i = ipvs.pick(vs, src_l[k], at)
                if i < 0:
                    i = 0  # not reached: kube-proxy gives every real server weight 1
            if sticky is not None and client_l is not None:
                sticky.record((node, client_l[k]), keys[i], at)
            picks[k] = i
            if service is not None:
                if dists:
                    service[k] = float(draw_many(dists[i], self.service_rng, 1)[0])
                vs.open(i, self.expected_end(endpoints[i], at, float(service[k]), hop, timeout))
        return picks, service

    def _connection_times(self, flow: FlowState, endpoints: list[Pod], n: int,
                          ) -> tuple[np.ndarray, list[Distribution]]:
        """Service times of *n* new connections, drawn up front when every endpoint serves
        alike (else an empty array to fill per connection from the distributions returned)."""
        dists = [self.service_time(p, flow) for p in endpoints]
        if all(d == dists[0] for d in dists):
            return draw_many(dists[0], self.service_rng, n), []
        return np.empty(n), dists  # pods of different Deployments: each from its pod

    def expected_end(self, pod: Pod, t: float, service: float, hop: float,
                      timeout: float) -> float:
        """When a connection opened at *t* to *pod* ends: its response leaves the pod's queue
        (looked ahead from the workers' free times), or the client gives up at its timeout."""
        if pod.node is None or not pod.node.alive or pod.phase != "Running":
            return t + timeout  # the SYN is never answered
        free = self.shadow.get(pod.name)
        if free is None:
            free = self.shadow[pod.name] = self.pod_queue(pod).free_times()
        start = max(t + hop, free[0])
        done = start + service
        heapq.heapreplace(free, done)
        return min(done + hop, t + timeout)

    def cluster_ip_pick(self, flow: FlowState, svc: ServiceState,
                         proxied_by: list[tuple[np.ndarray, np.ndarray, Pod]], idx: np.ndarray,
                         proxied: np.ndarray, source: np.ndarray, hop: float,
                         ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Client pods connect to a ClusterIP: the endpoint each connection gets from the
        kube-proxy of the client's node (iptables: uniform; IPVS: that node's scheduler, the
        client pod's IP as source), among the endpoints on that node with
        internalTrafficPolicy Local. Returns (endpoint index, drawn service times or None,
        rows dropped for lack of a local endpoint)."""
        endpoints = svc.endpoints
        n = idx.size
        pick = np.zeros(n, np.int64)
        counts = self.ipvs is not None and self.ipvs.counts
        service = np.zeros(n) if counts else None
        dropped = np.zeros(n, bool)
        pods = [p[2] for p in proxied_by]
        ips = np.array([p.ip for p in pods], np.int64)
        by_node: dict[str, list[int]] = {}
        for s, pod in enumerate(pods):
            by_node.setdefault(pod.node.name if pod.node is not None else "", []).append(s)
        for name, sources in by_node.items():
            mine = np.flatnonzero(np.isin(source, sources))
            if mine.size == 0:
                continue
            node = pods[sources[0]].node
            if svc.internal_local:
                among = [j for j, e in enumerate(endpoints) if e.node is node]
                if not among:
                    dropped[mine] = True
                    continue
            else:
                among = list(range(len(endpoints)))
            clients = ips[source[mine]]  # the client pods' own addresses
            if self.ipvs is not None:
                got, drawn = self.ipvs_choose(
                    flow, svc, [endpoints[j] for j in among], [name] * mine.size,
                    clients, proxied[mine], hop, clients)
                pick[mine] = np.asarray(among, np.int64)[got]
                if service is not None and drawn is not None:
                    service[mine] = drawn
            elif svc.affinity is not None:
                got = self.sticky_rows(svc, [endpoints[j] for j in among], name, clients,
                                        proxied[mine])
                pick[mine] = np.asarray(among, np.int64)[got]
            else:
                pick[mine] = np.asarray(among, np.int64)[
                    self.rng.integers(0, len(among), mine.size)]
        return pick, service, dropped
