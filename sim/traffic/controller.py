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
    OK,
    OUTCOMES,
    RESET,
    quantile,
)
from sim.traffic.approuting import AppRouting
from sim.traffic.backends import Backends
from sim.traffic.egress import Egress
from sim.traffic.flows import FlowState
from sim.traffic.forwarding import SecondStage
from sim.traffic.frontdoor import FirstStage
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
        self.backends = Backends(spec, service_ctl)
        """What each workload's pods do with a request (service time, workers, cpu)."""
        self.controller_deps = self.backends.controller_deps
        self.verdicts = Verdicts(loaded, self.cluster, workloads, service_ctl)
        """NSG and NetworkPolicy verdicts on the path (the one engine reach and route use)."""
        self._expose_verdicts()
        self.started = False
        self.egress = Egress(ctx.bus)
        """Outbound calls through the load balancer's SNAT ports."""
        self._pool_size = 0
        self._ticked: list[tuple[FlowState, np.ndarray, np.ndarray, np.ndarray]] = []
        self.dns_silent: set[str] = set()
        """CoreDNS pods that do not answer (coredns_outage)."""
        self.dns_silent_all = 0
        """coredns_outage faults in effect on every CoreDNS pod."""
        scheduler = self.cluster.ipvs_scheduler
        self.ipvs = IpvsTables(scheduler, float(
            self.cluster.kube_proxy_config.ipvs_config.tcp_fin_timeout_seconds)
        ) if scheduler else None
        """kube-proxy in IPVS mode: every node's virtual servers (None: iptables/nftables)."""
        self.serving = Serving(self.backends.pod_queue)
        """The tick's deferred queueing at pods (every stage queues work there)."""
        self.enqueue = self.serving.enqueue
        self.proxy = KubeProxyPath(self.rng, self.service_rng, self.ipvs,
                                   self.backends.service_time, self.backends.pod_queue)
        """kube-proxy's choice of endpoint (ClientIP affinity, IPVS schedulers)."""
        self.links = Links(ctx.streams.numpy("chaos-network"))
        """Latency, loss and partitions between nodes (zone_latency, zone_loss, partition)."""
        self.lookups = NameLookups(self, ctx.streams, self.rng, self.service_rng, spec, self.cluster,
                                   service_ctl, nodes_by_row, self.links, self.ipvs, self.egress)
        """Pods calling a Service by name: the lookup at CoreDNS, then the connection."""
        self.ingress_objects: dict[str, dict[str, Any]] = {}
        self.routing = AppRouting(spec, ctx.streams, self.ingress_objects)
        """External-DNS records and cert-manager certificates of Ingress hosts."""
        self._stages(nodes_by_row)

    def _stages(self, nodes_by_row: dict[int, Node]) -> None:
        """The two stages of the path, over the components above."""
        self.second = SecondStage(self.rng, self.service_rng, self.backends, self.enqueue,
                                  self.proxy, self.verdicts, self.links, self.ipvs,
                                  self.in_flight)
        """Proxied requests on their way to a backend Service."""
        self.forward_later = self.second.forward_later
        self.first = FirstStage(self.spec, self.cluster, self.rng, self.service_rng,
                                self.backends, self.enqueue, self.proxy, self.verdicts,
                                self.routing, self.links, self.ipvs, self.egress, nodes_by_row,
                                self.in_flight, self.lookups, self.second)
        """A tick's requests of each flow, from their clients to the pods that first serve them."""

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
                b = self.first.dispatch(flow, t0, dt)
                if b is not None:
                    self._ticked.append((flow, b.outcome, b.when, b.latency))
            # every flow's requests are queued at their pods before any pod serves them, so a
            # pod serves the tick's requests of all flows in arrival order (then second stages)
            while self.serving or self.second:
                if self.serving:
                    self.serving.resolve()
                    self.second.finish_round()
                self.second.flush()
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

