"""Request traffic: clients -> Azure load balancer -> node -> kube-proxy -> pod queue.

The hot path (DESIGN.md): a request is not a SimPy process and not a heap entry. One tick
process per run generates each flow's Poisson arrivals for the next ``tick`` together
(numpy), walks them through the load balancer, kube-proxy and the pod queues as vectorised
calls, and counts each outcome in the tick where the client sees it. A finished tick is
published as one ``TrafficTick`` event per flow; per-request outcomes never reach the bus.

Outcomes (what the client sees, and why):
- ``ok``: a response within the flow's ``timeout``;
- ``timeout``: the pod answered too late (queueing);
- ``no_healthy_backend``: the load balancer has no backend passing its probe (dropped);
- ``dead_node``: the load balancer still sent it to a node that is down (timeout);
- ``no_endpoint``: the Service has no ready endpoint: kube-proxy REJECTs (refused at once);
- ``no_local_endpoint``: externalTrafficPolicy Local and no ready endpoint on the node the
  load balancer chose, or internalTrafficPolicy Local and none on the client pod's node
  (kube-proxy drops it: timeout);
- ``dead_endpoint``: kube-proxy still sent it to a pod that is gone or whose node is down;
- ``reset``: the pod was killed while the request was in flight (behind an ingress
  controller, also the controller pod holding the client connection until the answer);
- ``denied``: a NetworkPolicy drops it at the pod (the client times out). The source the
  policy sees is the client's address with externalTrafficPolicy Local, and the address of
  the node the load balancer chose with Cluster (kube-proxy masquerades external traffic);
  traffic from the pod's own node is always allowed (network-policies.md);
- ``no_ingress_rule``: no Ingress rule matches the host and path: the controller's default
  backend answers 404;
- ``snat_exhausted``: a pod's outbound connection found no free SNAT port on its node for
  that destination (sim.traffic.snat): the SYN goes unanswered and the client times out;
- ``dns_failure``: a pod could not resolve the Service's name: no CoreDNS pod answered in
  time (gone, or overloaded: glibc gives up after ``timeout x attempts``, 5 s x 2), the name
  does not exist, or a headless Service has no ready pod (sim.traffic.lookups); an internet client
  of an Ingress host without an A record (sim.traffic.approuting);
- ``unroutable``: a VM (same VNet, peered VNet, on-premises) connected to a pod IP that is not
  routable from there: with kubenet pods are reachable only when they start the connection
  (NAT to the node IP), with Overlay pod IPs never leave the cluster; Azure CNI pod IPs are
  VNet addresses and work both ways (AKS network models comparison, configure-kubenet.md);
- ``nsg_denied``: the node subnet's network security group drops the connection (sim.nsg);
- ``tls_error``: an https client of an Ingress host whose certificate is not issued (yet):
  ingress-nginx serves its default self-signed certificate and the client refuses it.

HTTP application routing (sim.traffic.approuting): an Ingress applied during the run gets its hosts'
A records at External-DNS's next sync (``dnsSyncInterval``, 1 minute by default), and a
deleted one loses them at the next sync; without a record internet clients cannot resolve
the host (``dns_failure``). A TLS host with a cert-manager issuer gets its certificate after
``issuanceTime`` (or never, with ``failureProbability``).

Which endpoint (sim.traffic.proxypath): kube-proxy of the node the load balancer chose (or of the
client pod's node) picks one, uniformly in iptables/nftables mode, by the node's IPVS
scheduler in IPVS mode (sim.kubeproxy.ipvs); the load balancer picks the node by the 5-tuple hash, or
by the 2-tuple with session persistence (ClientIP affinity).

Pods calling a Service by name (``from: pods`` with ``to``) first resolve it as their
resolv.conf says (search list and ndots:5: sim.dns), each query through the kube-dns
ClusterIP to a CoreDNS pod's queue; a new connection per request looks the name up each time.

Ingress flows take two queues: the controller pod the load balancer and kube-proxy chose
(proxy time, plus TLS termination on https), then the backend pod, which the controller picks
from the Service's endpoints itself (ingress-nginx balances over endpoints, not the
ClusterIP). NetworkPolicies at the backend see the controller pod as the source.

Simplifications, stated: arrivals of a tick see the cluster as it is at the tick's start
(a fault inside a tick shows from the next one); each request opens a new connection (the
5-tuple hash then spreads them uniformly over healthy backends).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from sim.events import SNATPortsReallocated, TrafficTick
from sim.ingress import IngressRouter
from sim.kernel.context import Context
from sim.kubeproxy.ipvs import IpvsTables
from sim.outcomes import (
    DEAD_ENDPOINT,
    DEAD_NODE,
    DENIED,
    DNS_FAILURE,
    NO_BACKEND,
    NO_ENDPOINT,
    NO_LOCAL,
    NO_RULE,
    NSG_DENIED,
    OK,
    OUTCOMES,
    RESET,
    SNAT_EXHAUSTED,
    TIMEOUT,
    UNROUTABLE,
    quantile,
)
from sim.queueing.podqueue import PodQueue
from sim.queueing.service_times import draw_many
from sim.scenario.schema import (
    Distribution,
    Exponential,
)
from sim.traffic.approuting import AppRouting
from sim.traffic.batch import Batch
from sim.traffic.egress import Egress
from sim.traffic.flows import FlowState, rate_at
from sim.traffic.inflight import InFlight
from sim.traffic.links import Links
from sim.traffic.loadbalancer import LoadBalancer
from sim.traffic.lookups import NameLookups
from sim.traffic.policy import Verdicts
from sim.traffic.proxypath import KubeProxyPath
from sim.traffic.serving import Serving
from sim.traffic.snat import KeepAlivePools, SnatTable

if TYPE_CHECKING:
    from sim.cluster.scheduler import NodeTable
    from sim.objects import Node, NodePool, Pod, ServiceState
    from sim.scenario.loaded import LoadedScenario
    from sim.svc import ServiceController
    from sim.workloads.controller import WorkloadController



class TrafficController:
    """Generates and routes every flow's requests, tick by tick. Rooms of their own: the
    lookups of pods calling a Service by name (sim.traffic.lookups), the endpoint kube-proxy
    chooses (sim.traffic.proxypath), External-DNS records and certificates of Ingress hosts
    (sim.traffic.approuting)."""

    def __init__(self, ctx: Context, loaded: LoadedScenario, workloads: WorkloadController,
                 service_ctl: ServiceController, pools: dict[str, NodePool], table: NodeTable,
                 nodes_by_row: dict[int, Node]) -> None:
        self.env, self.bus, self.streams = ctx.env, ctx.bus, ctx.streams
        self.loaded = loaded
        self.cluster = loaded.spec.cluster
        self.spec = spec = loaded.spec.traffic
        self.workloads = workloads
        self.service_ctl = service_ctl
        self.pools = pools
        self.table = table
        self.nodes_by_row = nodes_by_row
        self.flows: list[FlowState] = []
        self.rng = ctx.streams.numpy("traffic")
        self.service_rng = ctx.streams.numpy("service-time")
        self.balancers: dict[str, LoadBalancer] = {}
        self.in_flight = InFlight()
        """Requests each pod holds now (failed if it stops answering)."""
        self._backends = {b.deployment: b for b in (spec.backends if spec else [])}
        self.verdicts = Verdicts(loaded, self.cluster, workloads, service_ctl)
        """NSG and NetworkPolicy verdicts on the path (the one engine reach and route use)."""
        self._expose_verdicts()
        self.started = False
        self.egress = Egress(ctx.bus)
        """Outbound calls through the load balancer's SNAT ports."""
        self._pool_size = 0
        self._ticked: list[tuple[FlowState, np.ndarray, np.ndarray, np.ndarray]] = []
        self._forwards: dict[int, tuple[Batch, list[tuple[np.ndarray, np.ndarray, Pod]]]] = {}
        self._finalizers: list[Any] = []
        self.dns_silent: set[str] = set()
        """CoreDNS pods that do not answer (coredns_outage)."""
        self.dns_silent_all = 0
        """coredns_outage faults in effect on every CoreDNS pod."""
        scheduler = self.cluster.ipvs_scheduler
        self.ipvs = IpvsTables(scheduler, float(
            self.cluster.kube_proxy_config.ipvs_config.tcp_fin_timeout_seconds)
        ) if scheduler else None
        """kube-proxy in IPVS mode: every node's virtual servers (None: iptables/nftables)."""
        self.serving = Serving(self._pod_queue)
        """The tick's deferred queueing at pods (every stage queues work there)."""
        self.enqueue = self.serving.enqueue
        self.proxy = KubeProxyPath(self.rng, self.service_rng, self.ipvs, self._service_time,
                                   self._pod_queue)
        """kube-proxy's choice of endpoint (ClientIP affinity, IPVS schedulers)."""
        self.links = Links(ctx.streams.numpy("chaos-network"))
        """Latency, loss and partitions between nodes (zone_latency, zone_loss, partition)."""
        self.lookups = NameLookups(self, ctx.streams, self.rng, self.service_rng, spec, self.cluster,
                                   service_ctl, nodes_by_row, self.links, self.ipvs, self.egress)
        """Pods calling a Service by name: the lookup at CoreDNS, then the connection."""
        self.ingress_objects: dict[str, dict[str, Any]] = {}
        self.routing = AppRouting(spec, ctx.streams, self.ingress_objects)
        """External-DNS records and cert-manager certificates of Ingress hosts."""

    def _expose_verdicts(self) -> None:
        """The verdicts' state and public questions, asked of the traffic path by views,
        chaos and operations (the same objects: nothing is copied)."""
        self.policy_objects = self.verdicts.policy_objects
        """The NetworkPolicies in effect now (the scenario's, changed by operations and
        faults), once :meth:`start` has loaded them (:attr:`started`)."""
        self.nsg_rules = self.verdicts.nsg_rules
        """Each subnet's NSG rules as they are now (the scenario's, changed by nsg_rule faults)."""
        self.change_policy = self.verdicts.change_policy
        self.policy_verdict = self.verdicts.policy_verdict
        self.dns_allowed = self.verdicts.dns_allowed
        self.nsg_rule = self.verdicts.nsg_rule
        self.set_nsg_rules = self.verdicts.set_nsg_rules

    @property
    def snat(self) -> SnatTable:
        """The outbound SNAT table (read by chaos, telemetry and the report)."""
        return self.egress.snat

    @property
    def keepalive(self) -> KeepAlivePools:
        """The client pods' kept-alive outbound connections."""
        return self.egress.keepalive

    # --- set-up -------------------------------------------------------------------------

    def start(self) -> None:
        """Wire flows to Services and load balancers; start the tick process."""
        for placed in self.loaded.workloads.network_policies:
            obj = placed.obj.model_dump(by_alias=True, exclude_none=True)
            self.policy_objects[f"{placed.obj.metadata.namespace}/{placed.obj.metadata.name}"] = obj
        self.started = True
        if self.spec is None:
            return
        controller = self.spec.ingress_controller
        for p in self.loaded.workloads.ingresses:
            self.ingress_objects[f"{p.obj.metadata.namespace}/{p.obj.metadata.name}"] = (
                p.obj.model_dump(by_alias=True, exclude_none=True))
        profile = self.cluster.load_balancer_profile
        self.egress.configure(profile.managed_outbound_ips, profile.allocated_outbound_ports,
                              profile.idle_timeout_in_minutes * 60.0)
        self._pool_size = self._backend_pool()
        self.snat.resize(self._pool_size)
        for flow in self.spec.flows:
            if flow.pods is not None:
                state = FlowState(flow, None, None)
                state.client = None
                state.direct = self.workloads.find(flow.pods)
                state.dest = f"pods:{state.direct.key}"
                self.flows.append(state)
                continue
            if flow.from_ == "pods" and flow.to is not None and flow.client is not None:
                target = self.service_ctl.find(flow.to.service)
                if target is None:
                    continue
                state = FlowState(flow, target, None)
                state.client = self.workloads.find(flow.client)
                state.backend = target
                state.backend_port = target.port(flow.to.port) or 80
                if target.type == "ExternalName":  # a CNAME: the call leaves the cluster
                    state.external_name = target.manifest.spec.external_name or ""
                    state.port = flow.to.port or state.port  # any port of the far end
                    state.dest = f"{state.external_name}:{state.port}"
                self.lookups.lookup_cost(state)
                self.flows.append(state)
                continue
            if flow.from_ == "pods" and flow.external is not None and flow.client is not None:
                state = FlowState(flow, None, None)
                state.client = self.workloads.find(flow.client)
                state.dest = f"{flow.external.address}:{flow.external.port}"
                self.flows.append(state)
                continue
            target = flow.to.service if flow.to else controller.service if controller else ""
            svc = self.service_ctl.find(target)
            if svc is None:
                continue  # validation reports unknown services
            lb = None
            if svc.type == "LoadBalancer":
                lb = self.balancers.get(svc.key)
                if lb is None:
                    lb = self.balancers[svc.key] = LoadBalancer(
                        self.env, self.pools, svc, self.spec.probe_interval, self.spec.probe_threshold)
            self.flows.append(FlowState(flow, svc, lb))
        self._route_ingress_flows()
        self.env.process(self._ticks())

    # --- Ingress rules, their DNS records and certificates ------------------------------

    def _route_ingress_flows(self) -> None:
        """The route each ingress flow takes under the Ingresses as they are now."""
        controller = self.spec.ingress_controller if self.spec else None
        if controller is None:
            return
        router = self.ingress_router()
        for state in self.flows:
            flow = state.spec
            if flow.ingress is None:
                continue
            state.route = router.route(flow.ingress.host, flow.ingress.path, flow.ingress.scheme)
            state.backend, state.backend_port = None, 80
            backend = state.route.backend
            if backend is not None and hasattr(backend, "port"):
                state.backend = self.service_ctl.find(f"{backend.namespace}/{backend.name}")
                if state.backend is not None:
                    port = backend.port
                    state.backend_port = port if isinstance(port, int) else next(
                        (p.port for p in state.backend.manifest.spec.ports if p.name == port), 80)

    def ingress_router(self) -> IngressRouter:
        """The ingress controller's routing over the Ingresses as they are now (the traffic
        path and ``aks-sim route`` both ask this one)."""
        from sim.ingress import NginxConfig

        controller = self.spec.ingress_controller if self.spec else None
        assert controller is not None
        return IngressRouter(list(self.ingress_objects.values()), controller.ingress_class,
                             watch_ingress_without_class=True, nginx=NginxConfig(
                                 default_certificate_hosts=tuple(
                                     controller.default_certificate_hosts)))

    def change_ingress(self, apply: dict[str, Any] | None, delete: str | None) -> None:
        """kubectl apply / delete of an Ingress: routes change now; a new host's DNS record
        and certificate come later (HTTP application routing)."""
        now = self.env.now
        if delete is not None:
            gone = self.ingress_objects.pop(delete, None)
            if gone is not None:
                self.routing.records_removed(gone, now)
        if apply is not None:
            meta = apply.get("metadata") or {}
            key = f"{meta.get('namespace', 'default')}/{meta.get('name')}"
            claimed = {h for other in self.ingress_objects.values() for h in self.routing.zone_hosts(other)}
            old = self.ingress_objects.get(key)
            self.ingress_objects[key] = apply
            if old is not None:  # a host the new version dropped loses its record
                self.routing.records_removed(old, now)
            self.routing.records_and_certificates(apply, now, claimed)
        self._route_ingress_flows()

    def _pod_queue(self, pod: Pod) -> PodQueue:
        queue = pod.queue
        if queue is None:
            backend = self._backend(pod)
            workers = backend.concurrency if backend else 1
            controller = self.spec.ingress_controller if self.spec else None
            if backend is None and controller is not None and pod.dep in self.controller_deps():
                workers = controller.concurrency
            queue = pod.queue = PodQueue(workers)
        return queue

    def controller_deps(self) -> list[Any]:
        controller = self.spec.ingress_controller if self.spec else None
        svc = self.service_ctl.find(controller.service) if controller else None
        return svc.deployments if svc else []


    def _backend(self, pod: Pod) -> Any:
        dep = pod.dep
        return self._backends.get(dep.key) or self._backends.get(dep.name)

    def _service_time(self, pod: Pod, flow: FlowState | None = None) -> Distribution:
        controller = self.spec.ingress_controller if self.spec else None
        if flow is not None and flow.route is not None and controller is not None and (
                pod.dep in flow.svc.deployments):
            return controller.proxy_time
        backend = self._backend(pod)
        return backend.service_time if backend else Exponential(distribution="exponential",
                                                                mean=0.02)

    def _ticks(self) -> Generator[simpy.Event, Any, None]:
        assert self.spec is not None
        dt = self.spec.tick
        k = 0
        while True:
            t0 = k * dt
            self._snat_resize(t0, dt)
            self.keepalive.sweep(t0)
            for flow in self.flows:
                self._publish(flow, k - 1, dt)
            self._ticked = []
            self.proxy.new_tick()
            for flow in self.flows:
                self._dispatch(flow, t0, dt, k)
            # every flow's requests are queued at their pods before any pod serves them, so a
            # pod serves the tick's requests of all flows in arrival order (then second stages)
            while self.serving or self._forwards:
                if self.serving:
                    self.serving.resolve()
                    finalizers, self._finalizers = self._finalizers, []
                    for finish in finalizers:
                        finish()
                self._flush_forwards()
            for flow, outcome, when, latency in self._ticked:
                flow.count(outcome, when, latency, dt)
            k += 1
            yield self.env.timeout(dt)

    def _backend_pool(self) -> int:
        return self.table.count  # every registered node is in the outbound backend pool

    def _snat_resize(self, now: float, dt: float) -> None:
        size = self._backend_pool()
        if size == self._pool_size:
            return
        self._pool_size = size
        old = self.snat.per_node
        new = self.snat.resize(size)
        if new == old:
            return
        self.bus.publish(SNATPortsReallocated(size, old, new))
        if new < old:
            by_dest = {f.dest: f for f in self.flows if f.dest}
            for _node, dest, ends in self.snat.reclaim(now):
                flow = by_dest.get(dest)
                if flow is None:
                    continue
                for end in ends:  # an open connection cut: the client sees a reset now
                    flow.move(int(end // dt), OK, RESET, 1, int(now // dt))

    def forward_later(self, b: Batch, rows: np.ndarray, t: np.ndarray, source: Pod) -> None:
        """Collect a round's proxied requests per flow: one second stage per flow and tick."""
        entry = self._forwards.get(id(b.flow))
        if entry is None:
            entry = self._forwards[id(b.flow)] = (b, [])
        entry[1].append((rows, t, source))

    def _flush_forwards(self) -> None:
        pending, self._forwards = self._forwards, {}
        for b, proxied in pending.values():
            self._forward(b, proxied)

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
        if self.policy_objects and not self.verdicts.allowed(str(flow.spec.client_ip), pods[0], port):
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

    def _dispatch(self, flow: FlowState, t0: float, dt: float, k: int) -> None:
        """The flow's requests of the tick starting at *t0*: drawn, then sent down its path."""
        spec = flow.spec
        n = int(self.rng.poisson(rate_at(spec.rate, t0 + dt / 2) * dt))
        if n == 0:
            return
        arrivals = t0 + np.sort(self.rng.random(n)) * dt
        hop = self.spec.network_latency if self.spec else 0.0
        outcome = np.full(n, OK, np.int64)
        when = arrivals + spec.timeout  # overwritten for answered requests
        latency = np.full(n, np.nan)
        self._ticked.append((flow, outcome, when, latency))
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
                       else draw_many(self._service_time(pod, flow), self.service_rng, idx.size))
            if flow.route is not None and flow.spec.ingress and flow.spec.ingress.scheme == "https":
                service = service + (self.spec.ingress_controller.tls_time
                                     if self.spec and self.spec.ingress_controller else 0.0)
            backend = self._backend(pod)
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
        ok = self._settle(b, idx, done)
        if flow.route is not None:
            # a controller pod proxied these: the backend stage decides their outcome
            if ok.any():
                self.forward_later(b, idx[ok], done[ok] - hop, pod)
            return
        self.in_flight.served(
            pod, (done - hop, when[idx], outcome[idx], arrivals[idx] + flow.spec.timeout, flow))

    @staticmethod
    def _settle(b: Batch, rows: np.ndarray, done: np.ndarray) -> np.ndarray:
        """Requests *rows* answered at *done*: past the flow's timeout the client gave up
        (TIMEOUT at arrival + timeout), otherwise it has its answer. Returns the answered mask."""
        flow, arrivals, outcome, when, latency = b.flow, b.arrivals, b.outcome, b.when, b.latency
        timeout = flow.spec.timeout
        took = done - arrivals[rows]
        ok = took <= timeout
        late = rows[~ok]
        outcome[late] = TIMEOUT
        when[late] = arrivals[late] + timeout
        latency[late] = np.nan
        when[rows[ok]] = done[ok]
        latency[rows[ok]] = took[ok]
        return ok

    def _forward(self, b: Batch, proxied_by: list[tuple[np.ndarray, np.ndarray, Pod]]) -> None:
        """The controller pods proxy their requests (each leaving at its time) to the backend."""
        flow, arrivals, outcome, when, latency, hop = b.flow, b.arrivals, b.outcome, b.when, b.latency, b.hop
        idx = np.concatenate([p[0] for p in proxied_by])
        proxied = np.concatenate([p[1] for p in proxied_by])
        source = np.concatenate([np.full(p[0].size, i) for i, p in enumerate(proxied_by)])
        if idx.size == 0:
            return
        backend = flow.backend
        if backend is None:  # no rule matched: the default backend's 404
            outcome[idx] = NO_RULE
            when[idx] = proxied + hop
            latency[idx] = np.nan
            return
        endpoints = backend.endpoints
        if not endpoints:  # NGINX answers 503 when the upstream has no endpoints
            # a headless name has no address to connect to; a ClusterIP is REJECTed
            outcome[idx] = DNS_FAILURE if backend.headless and flow.client is not None else NO_ENDPOINT
            when[idx] = proxied + hop
            latency[idx] = np.nan
            return
        picked = self._backend_pick(b, backend, proxied_by, idx, proxied, source)
        if picked is None:
            return
        idx, proxied, source, pick, service_for = picked
        port, _ = backend.target(flow.backend_port)
        order = np.argsort(pick, kind="stable")
        answered: list[tuple[Pod, np.ndarray, np.ndarray]] = []
        # the verdict depends on the source pod and the backend Deployment: once per pair
        denied_by: dict[str, np.ndarray] = {}
        for group in np.split(order, np.flatnonzero(np.diff(pick[order])) + 1):
            t = proxied[group] + hop
            sort = np.argsort(t, kind="stable")
            drawn = service_for[group][sort] if service_for is not None else None
            self._forward_to(b, endpoints[int(pick[group[0]])], idx[group][sort], t[sort], drawn,
                             source[group][sort], proxied_by, port, denied_by, answered)
        proxies = None
        if flow.route is not None:  # which controller pod holds each client's connection
            via = np.full(arrivals.size, -1, np.int64)
            via[idx] = source
            proxies = (via, [p[2] for p in proxied_by])
        # the callbacks fill `answered` while the round is served; decide outcomes after it
        self._finalizers.append(lambda: self._answered(b, answered, proxies))

    def _backend_pick(self, b: Batch, backend: ServiceState,
                      proxied_by: list[tuple[np.ndarray, np.ndarray, Pod]], idx: np.ndarray,
                      proxied: np.ndarray, source: np.ndarray,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                 np.ndarray | None] | None:
        """Each proxied request's backend endpoint: kube-proxy of a client pod's node for a
        ClusterIP (dropping what internalTrafficPolicy Local cannot place), ingress-nginx's
        own balancing otherwise. Returns (rows, times, sources, picks, service times drawn or
        None), or None when nothing is left."""
        flow, arrivals, outcome, when, latency, hop = (b.flow, b.arrivals, b.outcome, b.when,
                                                       b.latency, b.hop)
        endpoints = backend.endpoints
        timeout = flow.spec.timeout
        service_for: np.ndarray | None = None
        if flow.client is not None and not backend.headless and (
                backend.internal_local or self.ipvs is not None or backend.affinity is not None):
            # a pod calling the ClusterIP: its node's kube-proxy chooses
            pick, service_for, dropped = self.proxy.cluster_ip_pick(flow, backend, proxied_by, idx,
                                                               proxied, source, hop)
            if dropped.any():  # internalTrafficPolicy Local, no endpoint on the node: DROP
                lost = idx[dropped]
                outcome[lost] = NO_LOCAL
                when[lost] = arrivals[lost] + timeout
                latency[lost] = np.nan
                keep = ~dropped
                idx, proxied, source, pick = idx[keep], proxied[keep], source[keep], pick[keep]
                if service_for is not None:
                    service_for = service_for[keep]
                if idx.size == 0:
                    return None
        else:  # ingress-nginx balances over the endpoints; a headless name's pods are shuffled
            pick = self.rng.integers(0, len(endpoints), idx.size)
        return idx, proxied, source, pick, service_for

    def _forward_to(self, b: Batch, pod: Pod, rows: np.ndarray, t: np.ndarray,
                    drawn: np.ndarray | None, src: np.ndarray,
                    proxied_by: list[tuple[np.ndarray, np.ndarray, Pod]], port: int,
                    denied_by: dict[str, np.ndarray],
                    answered: list[tuple[Pod, np.ndarray, np.ndarray]]) -> None:
        """Requests *rows* (in time order, from the proxies *src*) reach backend *pod* at *t*:
        a dead pod, a NetworkPolicy or a cut link fails some; the rest queue there."""
        flow, arrivals, outcome, when, latency = b.flow, b.arrivals, b.outcome, b.when, b.latency
        timeout = flow.spec.timeout
        flow.per_pod[pod.name] = flow.per_pod.get(pod.name, 0) + rows.size
        if pod.node is None or not pod.node.alive or pod.phase != "Running":
            outcome[rows] = DEAD_ENDPOINT
            when[rows] = arrivals[rows] + timeout
            latency[rows] = np.nan
            return
        if self.policy_objects:
            denied_src = denied_by.get(pod.dep.key)
            if denied_src is None:
                denied_src = denied_by[pod.dep.key] = np.fromiter(
                    (not self.verdicts.allowed_from_pod(p[2], pod, port) for p in proxied_by),
                    bool, len(proxied_by))
            blocked = denied_src[src] if denied_src.any() else None
            if blocked is not None and blocked.any():
                outcome[rows[blocked]] = DENIED
                when[rows[blocked]] = arrivals[rows[blocked]] + timeout
                latency[rows[blocked]] = np.nan
                rows, t, src = rows[~blocked], t[~blocked], src[~blocked]
                if drawn is not None:
                    drawn = drawn[~blocked]
                if rows.size == 0:
                    return
        back: Any = None
        if self.links.active and pod.node is not None:
            # the controller pod (or the client pod) connects to the backend pod's node
            crossed = self.links.cross([proxied_by[i][2].node for i in src.tolist()], pod.node,
                                       timeout, flow.spec.connection == "new")
            if crossed is not None:
                cut, inbound, back = crossed
                if cut.any():
                    outcome[rows[cut]] = TIMEOUT
                    when[rows[cut]] = arrivals[rows[cut]] + timeout
                    latency[rows[cut]] = np.nan
                    keep = ~cut
                    rows, t, inbound, back = rows[keep], t[keep], inbound[keep], back[keep]
                    if drawn is not None:
                        drawn = drawn[keep]
                    if rows.size == 0:
                        return
                t = t + inbound
        service = (drawn if drawn is not None
                   else draw_many(self._service_time(pod), self.service_rng, rows.size))
        backend_spec = self._backend(pod)
        cpu = backend_spec.cpu if backend_spec else 1.0
        pod.dep.cpu_seconds += float(service.sum()) * cpu
        pod.dep.cpu_cap = cpu * (backend_spec.concurrency if backend_spec else 1)
        self.enqueue(pod, t, service, lambda done, rows=rows, pod=pod, back=back: (
            answered.append((pod, rows, done.copy() if back is None else done + back))))
        # (a copy either way: the round's departure buffer is not ours to keep)

    def _answered(self, b: Batch, answered: list[tuple[Pod, np.ndarray, np.ndarray]],
                  proxies: tuple[np.ndarray, list[Pod]] | None = None) -> None:
        """The backend pods answered (after the round): outcomes of all their requests at once.

        Behind an ingress controller, the controller pod holds the client's connection until
        it relays the answer: a request is in flight there too (a killed controller pod
        resets it)."""
        if not answered:
            return
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        rows = np.concatenate([a[1] for a in answered])
        done = np.concatenate([a[2] for a in answered]) + 2 * hop
        self._settle(b, rows, done)
        gives_up = arrivals[rows] + flow.spec.timeout
        start = 0
        for pod, part, _ in answered:
            end = start + part.size
            self.in_flight.served(
                pod, (done[start:end] - 2 * hop, when[part], outcome[part], gives_up[start:end], flow))
            start = end
        if proxies is not None:  # sorted out only if a controller pod is lost (rare)
            self.in_flight.proxied(float(arrivals[-1]) + flow.spec.timeout, rows, proxies[0],
                                   proxies[1], when, outcome, gives_up, flow)

    # --- accounting ---------------------------------------------------------------------

    def _publish(self, flow: FlowState, tick: int, dt: float) -> None:
        """Tick *tick* is over: no outcome can land in it any more."""
        closed = flow.close_tick(tick)
        if closed is None:
            return
        counts, lat = closed
        total = int(counts.sum())
        by_cause = {OUTCOMES[i]: int(c) for i, c in enumerate(counts.tolist()) if c and i != OK}
        self.bus.publish(TrafficTick(
            flow.spec.name, flow.svc.key if flow.svc else flow.dest, tick * dt, dt, total,
            int(counts[OK]),
            json.dumps(by_cause, sort_keys=True, separators=(",", ":")),
            quantile(lat, 0.5), quantile(lat, 0.9), quantile(lat, 0.99)))
        # forget in-flight records that can no longer change
        self.in_flight.forget_before((tick + 1) * dt)

    # --- events from the model ------------------------------------------------------------

    def endpoints_changed(self, svc: ServiceState) -> None:
        """A Service's endpoints changed (kube-proxy resynced)."""

    def pod_lost(self, pod: Pod, reset: bool) -> None:
        """*pod* stops answering now: its in-flight requests fail (reset) or hang (timeout)."""
        if pod.queue is not None:
            pod.queue.drop(self.env.now)
        if self.spec is not None:
            self.in_flight.lost(pod, reset, self.env.now, self.spec.tick)


# --- serving a round of pod queues (TrafficController._resolve) ------------------------------

