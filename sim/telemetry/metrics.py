"""What the run looks like as metrics: a sampler of the model over the catalogue
(:mod:`sim.telemetry.catalogue`, the contract; its names are re-exported here).

A :class:`Sampler` reads the model's state at one simulated instant and returns a
:data:`Snapshot`: every family of :data:`CATALOGUE` with its series. It never changes the
model, so sampling (or not) leaves the event stream byte-identical. The Prometheus collector
(:mod:`sim.telemetry.prometheus`) serves the latest snapshot; the backfill path
(:mod:`sim.telemetry.openmetrics`) writes every snapshot with its simulated time.

"""

from __future__ import annotations

import ipaddress
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.chaos import FAULTS
from sim.events import SimEvent, event_kinds
from sim.kernel.bus import Bus, Envelope
from sim.telemetry.catalogue import (
    BY_NAME,
    CATALOGUE,
    COUNTER,
    DEFAULT_SERIES_CAP,
    DURATION_BUCKETS,
    EXACT_NAME,
    GAUGE,
    HISTOGRAM,
    NGINX_LABELS,
    PER_POD,
    Family,
    Histogram,
    Series,
    Snapshot,
    Value,
)

if TYPE_CHECKING:
    from sim.model import Model

INSTANT = frozenset({"pod_kill", "ingress_controller_crash"})
"""Faults that are actions, not states, when they have no duration: never "active"."""


NGINX_STATUS = {"ok": "200", "no_ingress_rule": "404", "timeout": "504", "denied": "504",
                "reset": "502", "dead_node": "502", "dead_endpoint": "502",
                "no_endpoint": "503", "no_local_endpoint": "503"}
"""The HTTP status ingress-nginx logs for an outcome; absent: the request never reached it."""
READY_STATUS = {"Ready": "true", "NotReady": "unknown"}
"""kube-state-metrics' Ready condition status by node state (anything else: false)."""


class Sampler:
    """Reads a model into :data:`Snapshot` values; counts the bus's events as they pass.

    Args:
        model: the run's model (read only).
        bus: the run's bus; the sampler subscribes to every event.
        series_cap: the most objects a per-object family may export.
    """

    def __init__(self, model: Model, bus: Bus, series_cap: int = DEFAULT_SERIES_CAP) -> None:
        self.m = model
        self.series_cap = series_cap
        # counters whose label sets are known start at 0, so that rate()/increase() see the
        # first event (a series born at 1 has no increase to show)
        self._events: Counter[tuple[str, str, str]] = Counter(dict.fromkeys(event_kinds(), 0))
        self._over_cap: set[str] = set()
        self._faults: Counter[tuple[str, str]] = Counter()
        self._injected: Counter[str] = Counter(dict.fromkeys(FAULTS, 0))
        self.unsubscribe = bus.subscribe(SimEvent, self._on)

    def _on(self, env: Envelope[SimEvent]) -> None:
        ev = env.event
        self._events[(ev.category, ev.reason, str(ev.type))] += 1
        if ev.category == "chaos":
            fault = ev.fault  # type: ignore[attr-defined]
            if ev.reason == "FaultInjected":
                self._injected[fault] += 1
                if fault in INSTANT and '"duration"' not in ev.spec:  # type: ignore[attr-defined]
                    return  # an action, not a state: counted, never "active"
            key = (fault, ev.target)  # type: ignore[attr-defined]
            self._faults[key] += 1 if ev.reason == "FaultInjected" else -1

    def warnings(self) -> dict[str, int]:
        """Warning events so far, by reason (a run's summary while it goes)."""
        out: dict[str, int] = {}
        for (_, reason, type_), n in sorted(self._events.items()):
            if type_ == "Warning" and n:
                out[reason] = out.get(reason, 0) + n
        return out

    def sample(self) -> Snapshot:
        """Every family of :data:`CATALOGUE` at the model's current time."""
        values: dict[str, list[Series]] = {f.name: [] for f in CATALOGUE}
        m = self.m
        nodes = sum(len(p.nodes) for p in m.pools.values())
        pods = sum(len(d.pods) for d in m.workloads.deployments.values())
        self._over_cap = {f.name for f in CATALOGUE if f.per_object
                          and (pods if f.name in PER_POD else nodes) > self.series_cap}
        self._cluster(values)
        self._workloads(values)
        self._traffic(values)
        capped = values["akssim_series_capped"]
        out: Snapshot = []
        for fam in CATALOGUE:
            series = values[fam.name]
            if fam.name in self._over_cap:
                capped.append(((fam.name,), 1.0))
                series = []
            out.append((fam, series))
        return out

    # --- cluster --------------------------------------------------------------------------

    def _cluster(self, v: dict[str, list[Series]]) -> None:
        m = self.m
        v["akssim_sim_time_seconds"].append(((), float(m.env.now)))
        v["akssim_fault_active"].extend(((f, t), 1.0 if n > 0 else 0.0)
                                        for (f, t), n in sorted(self._faults.items()))
        v["akssim_faults_injected"].extend(((f,), float(n)) for f, n in sorted(self._injected.items()))
        v["akssim_events"].extend(((c, r, t), float(n)) for (c, r, t), n in sorted(self._events.items()))
        failures: Counter[str] = Counter()
        for (category, reason, _), n in self._events.items():
            if category == "ipam":
                failures[reason] += n
        v["akssim_ip_allocation_failures"].extend(((r,), float(n)) for r, n in sorted(failures.items()))
        for s in m.subnets.values():
            v["akssim_subnet_addresses"].extend((
                ((s.name, "usable"), float(s.usable)), ((s.name, "used"), float(s.used)),
                ((s.name, "free"), float(s.usable - s.used))))
            v["akssim_subnet_addresses_peak_used"].append(((s.name,), float(s.peak_used)))
        ipam = m.ipam
        if hasattr(ipam, "route_table") and hasattr(ipam, "routes"):
            from sim.ipam import KUBENET_ROUTE_LIMIT

            v["akssim_route_table_routes"].extend((
                ((ipam.route_table, "used"), float(ipam.routes)),
                ((ipam.route_table, "limit"), float(KUBENET_ROUTE_LIMIT))))
        cond = v["kube_node_status_condition"]
        info = v["kube_node_info"]
        node_labels = v["kube_node_labels"]
        per_node = "kube_node_status_condition" not in self._over_cap
        for pool in m.pools.values():
            states = Counter(node.state for node in pool.nodes.values())
            if per_node:
                for node in pool.nodes.values():
                    status = READY_STATUS.get(node.state, "false")
                    for s in ("true", "false", "unknown"):
                        cond.append(((node.name, "Ready", s), 1.0 if s == status else 0.0))
                    info.append(((node.name, "", "", "", f"v{node.version}", "deprecated", "",
                                  _pod_cidr(node), "", _ip(node)), 1.0))
                    node_labels.append(((node.name, pool.name, pool.name, pool.spec.mode.lower(),
                                         node.zone), 1.0))
            for state in ("Provisioning", "Ready", "NotReady", "Failed"):
                v["akssim_nodes"].append(((pool.name, state), float(states.get(state, 0))))

    # --- workloads ------------------------------------------------------------------------

    def _workloads(self, v: dict[str, list[Series]]) -> None:
        m = self.m
        phase_rows = v["kube_pod_status_phase"]
        per_pod = "kube_pod_status_phase" not in self._over_cap
        for dep in m.workloads.deployments.values():
            if dep.kind != "Deployment":
                continue  # kube_deployment_* is for Deployments only
            ns, name = dep.namespace, dep.name
            v["kube_deployment_spec_replicas"].append(((ns, name), float(dep.desired)))
            v["kube_deployment_status_replicas_available"].append(((ns, name), float(dep.available)))
            v["kube_deployment_status_replicas_unavailable"].append(
                ((ns, name), float(max(0, dep.desired - dep.available))))
            # ContainerCreating is a reason; the phase is still Pending (kube-state-metrics)
            v["akssim_pods"].append(((ns, name, "Pending"), float(len(dep.pods) - dep.running)))
            v["akssim_pods"].append(((ns, name, "Running"), float(dep.running)))
            if per_pod:
                for pod in dep.pods.values():
                    # a crash-looping container leaves its pod in phase Running
                    phase = ("Running" if pod.phase in ("Running", "CrashLoopBackOff")
                             else "Pending")
                    uid = pod_uid(ns, pod.name)
                    for p in _PHASES:
                        phase_rows.append(((ns, pod.name, uid, p), 1.0 if p == phase else 0.0))
        v["akssim_pods_pending"].append(((), float(m.workloads.pending_count)))
        if "kube_endpoint_address" not in self._over_cap:
            self._endpoints(v["kube_endpoint_address"])
        for hpa, dep in m.workloads.hpa.hpas:
            key = (hpa.metadata.namespace, hpa.metadata.name)
            v["kube_horizontalpodautoscaler_status_current_replicas"].append((key, float(dep.desired)))
            v["kube_horizontalpodautoscaler_spec_max_replicas"].append(
                (key, float(hpa.spec.max_replicas)))
            v["kube_horizontalpodautoscaler_spec_min_replicas"].append(
                (key, float(hpa.spec.min_replicas)))

    def _endpoints(self, rows: list[Series]) -> None:
        """kube-state-metrics' ``kube_endpoint_address``: one series per port and address of
        each Service's Endpoints; ready addresses are those kube-proxy routes to now."""
        for _, svc in sorted(self.m.service_ctl.services.items()):
            if svc.type == "ExternalName" or not svc.deployments:
                continue  # no selector, no Endpoints object
            # the Endpoints object as the controller last wrote it: its ready addresses (a
            # deleted pod stays until the next sync), then the other selected pods' addresses
            addresses = {p.ip: "true" for p in svc.endpoints if p.ip}
            for d in svc.deployments:
                for p in d.pods.values():
                    if p.ip:
                        addresses.setdefault(p.ip, "false")
            for port in svc.manifest.spec.ports:
                number, _ = svc.target(port.port)
                for ip, ready in sorted(addresses.items()):
                    rows.append(((svc.namespace, svc.name, port.protocol, str(number),
                                  port.name or "", str(ipaddress.IPv4Address(ip)), ready), 1.0))

    # --- traffic --------------------------------------------------------------------------

    def _traffic(self, v: dict[str, list[Series]]) -> None:
        from sim.outcomes import LATENCY_EDGES

        m = self.m
        t = m.traffic
        _snat(v, t.snat, float(m.env.now))
        nodes_now = sorted(n.name for p in m.pools.values() for n in p.nodes.values())
        if "akssim_lb_backend_up" not in self._over_cap:
            for key, lb in sorted(t.balancers.items()):
                healthy = {n.name for n in lb.healthy}
                for node in nodes_now:
                    v["akssim_lb_backend_up"].append(((key, node), 1.0 if node in healthy else 0.0))
        edges = LATENCY_EDGES
        upper = np.append(edges[1:], np.inf)
        mid = np.where(np.isfinite(upper), np.sqrt(np.maximum(edges, 1e-4) * upper), edges)
        controller = self._controller()
        backend_requests: Counter[tuple[str, str]] = Counter()
        dns_requests = 0
        dns_lookups = 0
        dns_used = False
        for flow in t.flows:
            hist = _flow_requests(v, flow, upper, mid)
            if flow.lb is not None:
                for node, n in flow.per_node.items():
                    backend_requests[(flow.svc.key, node)] += n
            if flow.dns_queries:
                dns_used = True
                dns_requests += flow.dns_total
                dns_lookups += flow.dns_total // flow.dns_queries
            if flow.route is not None and controller is not None and flow.spec.ingress is not None:
                _nginx_requests(v, flow, controller, hist)
        if "akssim_lb_backend_requests" not in self._over_cap:
            # every node of every load balancer's pool starts at 0
            for key in t.balancers:
                for node in nodes_now:
                    backend_requests.setdefault((key, node), 0)
        v["akssim_lb_backend_requests"].extend(
            ((s, n), float(c)) for (s, n), c in sorted(backend_requests.items()))
        if dns_used:
            server, zone = "dns://:53", "."
            v["coredns_dns_requests"].append(((server, zone, "", "udp", "1", "A"), float(dns_requests)))
            v["coredns_dns_responses"].extend((
                ((server, zone, "", "NOERROR", ""), float(dns_lookups)),
                ((server, zone, "", "NXDOMAIN", ""), float(dns_requests - dns_lookups))))

    def _controller(self) -> tuple[str, str, str] | None:
        """controller_class, controller_namespace, controller_pod of the ingress controller.

        The model counts the controller's requests as a whole, not per replica, so
        ``controller_pod`` names the controller's Deployment (its pods' common prefix)."""
        spec = self.m.spec.traffic
        ctl = getattr(spec, "ingress_controller", None) if spec is not None else None
        if ctl is None:
            return None
        ns = ctl.service.partition("/")[0]
        svc = self.m.service_ctl.find(ctl.service)
        deps = svc.deployments if svc is not None else []
        return ("k8s.io/ingress-nginx", ns, deps[0].name if deps else "")


_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
_NGINX_STATUSES = tuple(sorted(set(NGINX_STATUS.values())))


def _ip(node: object) -> str:
    ip = getattr(getattr(node, "net", None), "node_ip", 0)
    return str(ipaddress.IPv4Address(ip)) if ip else ""


def _pod_cidr(node: object) -> str:
    """The node's pod range (``spec.podCIDR``: kubenet and overlay), or "" without one."""
    from sim.sizing import NODE_POD_PREFIX_LEN

    first = getattr(getattr(node, "net", None), "pod_range", 0)
    return f"{ipaddress.IPv4Address(first)}/{NODE_POD_PREFIX_LEN}" if first else ""


def pod_uid(namespace: str, name: str) -> str:
    """A pod's ``metadata.uid``: the model has none, so a UUID derived from the pod's name
    (a pod name is never reused within a run: a replacement gets a new suffix)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"akssim:pod:{namespace}/{name}"))


def _split(key: str) -> tuple[str, str]:
    ns, _, name = key.partition("/")
    return ns, name


def _histogram(counts: np.ndarray, upper: np.ndarray, mid: np.ndarray) -> Histogram:
    """Fine latency bins -> cumulative counts at :data:`DURATION_BUCKETS`; the sum is estimated
    from each bin's geometric middle."""
    cum = np.cumsum(counts)
    total = int(cum[-1]) if cum.size else 0
    buckets = []
    for le in DURATION_BUCKETS:
        # bins wholly at or below the bound (bin upper edge <= le)
        k = int(np.searchsorted(upper, le, side="right"))
        buckets.append((le, int(cum[k - 1]) if k else 0))
    return Histogram(tuple(buckets), float(np.dot(counts, mid)), total)


def _snat(v: dict[str, list[Series]], snat: Any, now: float) -> None:
    """The SNAT gauges: ports per node, pool size, exhausted nodes, ports in use per node."""
    v["akssim_snat_ports_allocated_per_node"].append(((), float(snat.per_node)))
    v["akssim_snat_backend_pool_size"].append(((), float(snat.pool_size)))
    v["akssim_snat_exhausted_nodes"].append(((), float(len(snat.exhausted_nodes))))
    used: Counter[str] = Counter()
    for (node, _dest), window in snat.windows.items():
        released = sum(c for at, c in window.releases if at <= now)
        used[node] += window.in_use - released
    v["akssim_snat_ports_used"].extend(((n,), float(c)) for n, c in sorted(used.items()))


def _flow_requests(v: dict[str, list[Series]], flow: Any, upper: np.ndarray,
                   mid: np.ndarray) -> Histogram:
    """A flow's requests by outcome, its policy drops and its latency histogram (returned)."""
    from sim.outcomes import DENIED, OUTCOMES

    name = flow.spec.name
    svc = flow.svc.key if flow.svc is not None else (flow.dest or "")
    totals = flow.totals
    for i, outcome in enumerate(OUTCOMES):
        v["akssim_requests"].append(((name, svc, outcome), float(totals[i])))
    v["akssim_networkpolicy_drops"].append(((name, svc), float(totals[DENIED])))
    hist = _histogram(flow.latency_total, upper, mid)
    v["akssim_request_duration_seconds"].append(((name, svc), hist))
    return hist


def _nginx_requests(v: dict[str, list[Series]], flow: Any, controller: tuple[str, str, str],
                    hist: Histogram) -> None:
    """An ingress flow as ingress-nginx counts it: requests by status, and their durations."""
    from sim.outcomes import OUTCOMES

    route = flow.route
    ingress_ns, ingress_name = _split(route.matched.ingress if route.matched else
                                      (route.default_from or "/"))
    backend = flow.backend.name if flow.backend is not None else ""
    path = route.matched.path if route.matched else ""
    # NGINX_LABELS around status: no canary Ingress in the model, so canary is ""
    before, after = (*controller,), ("GET", path, ingress_ns, ingress_name, backend, "",
                                     flow.spec.ingress.host)
    # every status the model can answer with starts at 0 (a known label set)
    by_status: Counter[str] = Counter(dict.fromkeys(_NGINX_STATUSES, 0))
    for i, outcome in enumerate(OUTCOMES):
        status = NGINX_STATUS.get(outcome)
        if status is not None and flow.totals[i]:
            by_status[status] += int(flow.totals[i])
    v["nginx_ingress_controller_requests"].extend(
        ((*before, status, *after), float(n)) for status, n in sorted(by_status.items()))
    # the model times answered requests only: all of them are 200s
    v["nginx_ingress_controller_request_duration_seconds"].append(
        ((*before, "200", *after), hist))


__all__ = ["BY_NAME", "CATALOGUE", "COUNTER", "DEFAULT_SERIES_CAP", "DURATION_BUCKETS", "EXACT_NAME",
           "GAUGE", "HISTOGRAM", "INSTANT", "NGINX_LABELS", "NGINX_STATUS", "PER_POD", "READY_STATUS",
           "Family", "Histogram", "Sampler", "Series", "Snapshot", "Value", "pod_uid"]
