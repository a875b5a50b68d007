"""The first stage: a flow's requests of one tick, from their clients to the pods that
first serve them (a Service's endpoints, an ingress controller's pods, pods called directly),
or out of the cluster.

Which way a flow goes: VM clients to pod IPs (:meth:`FirstStage._dispatch_direct`), pods
calling out through SNAT (``_dispatch_out``), pods calling a Service by name (the lookups),
clients outside calling a Service through its load balancer or an Ingress host
(``_dispatch_service``: the NSG, DNS and TLS of the front door, the node the load balancer
picks, the endpoint kube-proxy picks there). The pods' answers settle the outcomes, or hand
the requests to the second stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.outcomes import (
    DEAD_ENDPOINT,
    DEAD_NODE,
    DENIED,
    NO_BACKEND,
    NO_ENDPOINT,
    NO_LOCAL,
    NSG_DENIED,
    OK,
    SNAT_EXHAUSTED,
    TIMEOUT,
    UNROUTABLE,
)
from sim.queueing.service_times import draw_many
from sim.traffic.batch import Batch
from sim.traffic.flows import rate_at

if TYPE_CHECKING:
    from sim.kubeproxy.ipvs import IpvsTables
    from sim.objects import Node, Pod
    from sim.scenario.schema import ClusterSpec, TrafficSpec
    from sim.traffic.approuting import AppRouting
    from sim.traffic.backends import Backends
    from sim.traffic.egress import Egress
    from sim.traffic.flows import FlowState
    from sim.traffic.forwarding import SecondStage
    from sim.traffic.inflight import InFlight
    from sim.traffic.links import Links
    from sim.traffic.loadbalancer import LoadBalancer
    from sim.traffic.lookups import NameLookups
    from sim.traffic.policy import Verdicts
    from sim.traffic.proxypath import KubeProxyPath


class FirstStage:
    """A tick's requests of each flow, sent down the flow's path (see the module docstring)."""

    def __init__(self, spec: TrafficSpec | None, cluster: ClusterSpec, rng: np.random.Generator,
                 service_rng: np.random.Generator, backends: Backends,
                 enqueue: Callable[..., None], proxy: KubeProxyPath, verdicts: Verdicts,
                 routing: AppRouting, links: Links, ipvs: IpvsTables | None, egress: Egress,
                 nodes_by_row: dict[int, Node], in_flight: InFlight, lookups: NameLookups,
                 second: SecondStage) -> None:
        self.spec = spec
        self.cluster = cluster
        self.rng = rng
        self.service_rng = service_rng
        self.backends = backends
        self.enqueue = enqueue
        self.proxy = proxy
        self.verdicts = verdicts
        self.routing = routing
        self.links = links
        self.ipvs = ipvs
        self.egress = egress
        self.nodes_by_row = nodes_by_row
        self.in_flight = in_flight
        self.lookups = lookups
        self.second = second

    def dispatch(self, flow: FlowState, t0: float, dt: float) -> Batch | None:
        """The flow's requests of the tick starting at *t0*: drawn, then sent down its path
        (None when none arrived)."""
        spec = flow.spec
        n = int(self.rng.poisson(rate_at(spec.rate, t0 + dt / 2) * dt))
        if n == 0:
            return None
        arrivals = t0 + np.sort(self.rng.random(n)) * dt
        hop = self.spec.network_latency if self.spec else 0.0
        outcome = np.full(n, OK, np.int64)
        when = arrivals + spec.timeout  # overwritten for answered requests
        latency = np.full(n, np.nan)
        b = Batch(flow, arrivals, outcome, when, latency, hop)
        if flow.direct is not None:
            self._dispatch_direct(b)
        elif flow.client is not None:
            if flow.spec.to is not None:
                self.lookups.dispatch(b, t0)
            else:
                self._dispatch_out(b, t0)
        else:
            self._dispatch_service(b, t0)
        return b

    def _dispatch_direct(self, b: Batch) -> None:
        """A VM connects to pod IPs directly: only Azure CNI pod IPs are routable there."""
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        plugin = self.cluster.plugin
        if plugin in ("kubenet", "overlay", "none"):
            outcome[:] = UNROUTABLE  # the SYN has no route to the pod CIDR: the client times out
            return
        pods = sorted((p for p in flow.direct.pods.values() if p.ready), key=lambda p: p.name)
        if not pods:
            outcome[:] = NO_ENDPOINT
            when[:] = arrivals + 2 * hop
            return
        pick = self.rng.integers(0, len(pods), arrivals.size)
        live = np.flatnonzero(outcome == OK)
        backend = flow.direct
        port = next((p.container_port for c in backend.manifest.spec.template.spec.containers
                     for p in c.ports), 80)
        if (self.verdicts.policy_objects
                and not self.verdicts.allowed(str(flow.spec.client_ip), pods[0], port)):
            outcome[live] = DENIED  # the policy sees the VM's own address
            return
        self._serve(b, pods, pick, outcome == OK)

    def _dispatch_out(self, b: Batch, t0: float) -> None:
        """Pods of the client Deployment call an external address through outbound SNAT."""
        flow, arrivals, outcome, when, latency, hop = b.flow, b.arrivals, b.outcome, b.when, b.latency, b.hop
        spec = flow.spec
        assert spec.external is not None
        pods = [p for p in flow.client.pods.values()
                if p.phase == "Running" and p.node is not None and p.node.alive]
        if not pods:
            outcome[:] = NO_ENDPOINT  # no client pod runs: nobody can make the call
            when[:] = arrivals
            return
        n = arrivals.size
        src = self.rng.integers(0, len(pods), n)
        took = draw_many(spec.external.latency, self.service_rng, n) + 2 * hop
        ends = arrivals + took
        nodes = np.fromiter((pods[i].node.row for i in src.tolist()), np.int64, n)
        order = np.argsort(nodes, kind="stable")
        for group in np.split(order, np.flatnonzero(np.diff(nodes[order])) + 1):
            node = self.nodes_by_row[int(nodes[group[0]])]
            granted = self.egress.grant(flow, node.name, [pods[i].name for i in src[group].tolist()],
                                        arrivals[group], ends[group], t0)
            refused = group[~granted]
            if refused.size:
                outcome[refused] = SNAT_EXHAUSTED
                self.egress.refused(node.name, flow.dest, t0)
            ok = group[granted]
            late = took[ok] > spec.timeout
            outcome[ok[late]] = TIMEOUT
            answered = ok[~late]
            when[answered] = ends[answered]
            latency[answered] = took[answered]

    def _dispatch_service(self, b: Batch, t0: float) -> None:
        """Clients outside the cluster call a Service (through its load balancer, or an
        Ingress host): the NSG, DNS and TLS of the front door, the node, then the endpoint."""
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        lb = flow.lb
        if lb is not None and not self.verdicts.nsg_allows(flow):
            outcome[:] = NSG_DENIED  # the SYN is dropped at the NIC: the client times out
            return
        blocked = self.routing.ingress_blocked(flow, t0) if flow.route is not None else None
        if blocked is not None:
            outcome[:] = blocked  # NXDOMAIN, or the TLS handshake fails: both at once
            when[:] = arrivals + 2 * hop
            return
        nodes: list[Node] | None = None
        node_idx = clients = None
        if lb is not None:
            nodes = lb.healthy
            if not nodes:
                outcome[:] = NO_BACKEND
                return
            node_idx, clients = self._balance(flow, lb, nodes, outcome)
        elif self.ipvs is not None:
            clients = self.rng.integers(0, flow.spec.clients, arrivals.size)
        self._to_endpoints(b, nodes, node_idx, clients)

    def _balance(self, flow: FlowState, lb: LoadBalancer, nodes: list[Node],
                 outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The node the load balancer sends each request to (5-tuple hash, or the client's
        with session persistence), and the client of each when kube-proxy needs it."""
        n = outcome.size
        clients = None
        node_idx = self.rng.integers(0, len(nodes), n)
        if flow.svc.affinity is not None or self.ipvs is not None:
            clients = self.rng.integers(0, flow.spec.clients, n)
            if lb.distribution != "Default":  # session persistence: the client's node
                node_idx = lb.by_source(self.proxy.client_ips(flow, clients), len(nodes))
        dead = np.fromiter((not nd.alive for nd in nodes), bool, len(nodes))[node_idx]
        outcome[dead] = DEAD_NODE
        chosen, counts = np.unique(node_idx, return_counts=True)
        for i, c in zip(chosen.tolist(), counts.tolist(), strict=True):
            name = nodes[i].name
            flow.per_node[name] = flow.per_node.get(name, 0) + c
        return node_idx, clients

    def _to_endpoints(self, b: Batch, nodes: list[Node] | None, node_idx: np.ndarray | None,
                      clients: np.ndarray | None) -> None:
        """kube-proxy of the chosen node picks each request's endpoint; the pods serve."""
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        n = arrivals.size
        endpoints = flow.svc.endpoints
        live = outcome == OK
        if not endpoints:
            outcome[live] = NO_ENDPOINT
            when[live] = arrivals[live] + 2 * hop
        elif flow.svc.local and nodes is not None and node_idx is not None:
            self._route_local(b, nodes, node_idx, clients)
        elif self.ipvs is not None and clients is not None:
            rows = np.flatnonzero(live)
            names = ([nodes[i].name for i in node_idx[rows].tolist()] if nodes is not None
                     and node_idx is not None else [""] * rows.size)
            ep_idx = np.zeros(n, np.int64)
            service = np.zeros(n)
            picks, drawn = self.proxy.ipvs_choose(flow, flow.svc, endpoints, names,
                                                  self.proxy.client_ips(flow, clients[rows]),
                                                  arrivals[rows], hop, clients[rows],
                                                  *self.proxy.entry(flow))
            ep_idx[rows] = picks
            if drawn is not None:
                service[rows] = drawn
            self._serve(b, endpoints, ep_idx, live, nodes, node_idx,
                        service if drawn is not None else None)
        else:
            if (flow.svc.affinity is not None and nodes is not None and node_idx is not None
                    and clients is not None):
                ep_idx = self.proxy.sticky(flow, endpoints, nodes, node_idx, arrivals, clients)
            else:
                ep_idx = self.rng.integers(0, len(endpoints), n)
            self._serve(b, endpoints, ep_idx, live, nodes, node_idx)

    def _route_local(self, b: Batch, nodes: list[Node], node_idx: np.ndarray,
                     clients: np.ndarray | None = None) -> None:
        flow, arrivals, outcome, hop = b.flow, b.arrivals, b.outcome, b.hop
        # externalTrafficPolicy Local: only the endpoints on the node the LB chose
        endpoints = flow.svc.endpoints
        for i in np.unique(node_idx[outcome == OK]).tolist():
            sel = (node_idx == i) & (outcome == OK)
            local = [p for p in endpoints if p.node is nodes[i]]
            if not local:
                outcome[sel] = NO_LOCAL
                continue
            ep_idx = np.zeros(len(arrivals), np.int64)
            service = None
            if self.ipvs is not None and clients is not None:
                rows = np.flatnonzero(sel)
                picks, drawn = self.proxy.ipvs_choose(
                    flow, flow.svc, local, [nodes[i].name] * rows.size,
                    self.proxy.client_ips(flow, clients[rows]), arrivals[rows], hop, clients[rows],
                    *self.proxy.entry(flow))
                ep_idx[rows] = picks
                if drawn is not None:
                    service = np.zeros(len(arrivals))
                    service[rows] = drawn
            else:
                ep_idx[sel] = self.rng.integers(0, len(local), int(sel.sum()))
            self._serve(b, local, ep_idx, sel, service_for=service)

    def _serve(self, b: Batch, endpoints: list[Pod], ep_idx: np.ndarray, live: np.ndarray,
               nodes: list[Node] | None = None, node_idx: np.ndarray | None = None,
               service_for: np.ndarray | None = None) -> None:
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        chosen = np.flatnonzero(live)
        if chosen.size == 0:
            return
        order = chosen[np.argsort(ep_idx[chosen], kind="stable")]
        groups = np.split(order, np.flatnonzero(np.diff(ep_idx[order])) + 1)
        for idx in groups:
            pod = endpoints[int(ep_idx[idx[0]])]
            node = pod.node
            flow.per_pod[pod.name] = flow.per_pod.get(pod.name, 0) + idx.size
            if node is None or not node.alive or pod.phase != "Running":
                outcome[idx] = DEAD_ENDPOINT
                continue
            denied = self.verdicts.denied(flow, pod, idx, nodes, node_idx)
            if denied is not None:
                outcome[idx[denied]] = DENIED
                idx = idx[~denied]
                if idx.size == 0:
                    continue
            inbound: Any = None
            outbound: Any = None
            if self.links.active and nodes is not None and node_idx is not None:
                # kube-proxy of the node the load balancer chose forwards to the pod's node
                crossed = self.links.cross([nodes[i] for i in node_idx[idx].tolist()], node,
                                           flow.spec.timeout, flow.spec.connection == "new")
                if crossed is not None:
                    cut, inbound, outbound = crossed
                    if cut.any():
                        outcome[idx[cut]] = TIMEOUT
                        when[idx[cut]] = arrivals[idx[cut]] + flow.spec.timeout
                        idx, inbound, outbound = idx[~cut], inbound[~cut], outbound[~cut]
                        if idx.size == 0:
                            continue
            service = (service_for[idx] if service_for is not None
                       else draw_many(self.backends.service_time(pod, flow), self.service_rng, idx.size))
            if flow.route is not None and flow.spec.ingress and flow.spec.ingress.scheme == "https":
                service = service + (self.spec.ingress_controller.tls_time
                                     if self.spec and self.spec.ingress_controller else 0.0)
            backend = self.backends.of(pod)
            cpu = backend.cpu if backend else 1.0
            pod.dep.cpu_seconds += float(service.sum()) * cpu
            pod.dep.cpu_cap = cpu * (backend.concurrency if backend else 1)
            arrive = arrivals[idx] + hop
            if inbound is not None:  # across a zone_latency / zone_loss fault
                arrive += inbound
            self.enqueue(pod, arrive, service,
                          lambda done, idx=idx, pod=pod, back=outbound: self._served(
                              b, pod, idx, done + hop if back is None else done + hop + back))

    def _served(self, b: Batch, pod: Pod, idx: np.ndarray, done: np.ndarray) -> None:
        """The first pod of a request answered at *done*: the outcome, or the next stage."""
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        ok = b.settle(idx, done)
        if flow.route is not None:
            # a controller pod proxied these: the backend stage decides their outcome
            if ok.any():
                self.second.forward_later(b, idx[ok], done[ok] - hop, pod)
            return
        self.in_flight.served(
            pod, (done - hop, when[idx], outcome[idx], arrivals[idx] + flow.spec.timeout, flow))
