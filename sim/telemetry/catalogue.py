"""The metrics catalogue: every family a run exports, its type, help and labels (the contract).

Names follow kube-state-metrics, ingress-nginx and CoreDNS where they export the same thing,
so existing dashboards keep working; the rest are ``akssim_*``. Every series carries ``run``
(added by the exporters, not listed in :attr:`Family.labels`). ``docs/metrics.md`` documents
every family; a test keeps the two in step. One place to read every metric, as
:mod:`sim.events` is for every event reason.
"""

from __future__ import annotations

from dataclasses import dataclass

GAUGE, COUNTER, HISTOGRAM = "gauge", "counter", "histogram"

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram upper bounds, seconds: ingress-nginx's defaults (and Prometheus clients')."""

DEFAULT_SERIES_CAP = 1000
"""Per-object families (one series per pod, node, ...) are exported only up to this many
objects; above it the family is left out and ``akssim_series_capped`` says so."""


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family of the contract."""

    name: str
    """For counters, without the ``_total`` suffix (OpenMetrics family name)."""
    type: str
    help: str
    labels: tuple[str, ...]
    per_object: bool = False
    """One series per pod / node: subject to the series cap."""


@dataclass(frozen=True, slots=True)
class Histogram:
    """A histogram's value: cumulative counts per upper bound, the sum and the count."""

    buckets: tuple[tuple[float, int], ...]
    sum: float
    count: int


Value = float | Histogram
Series = tuple[tuple[str, ...], Value]
Snapshot = list[tuple[Family, list[Series]]]
"""Every family with its series (label values in :attr:`Family.labels` order)."""


NGINX_LABELS = ("controller_class", "controller_namespace", "controller_pod", "status", "method",
                "path", "namespace", "ingress", "service", "canary", "host")
"""ingress-nginx's request labels: its constant labels, then ``requestTags`` (with ``host``, as
``--metrics-per-host`` defaults to true)."""

PER_POD = frozenset({"kube_pod_status_phase", "kube_endpoint_address"})
"""Per-object families with one series (or more) per pod; the others are per node."""


def _f(name: str, type_: str, help_: str, *labels: str, per_object: bool = False) -> Family:
    return Family(name, type_, help_, labels, per_object)


CATALOGUE: tuple[Family, ...] = (
    # --- kube-state-metrics names ---------------------------------------------------------
    _f("kube_node_status_condition", GAUGE, "The condition of a cluster node.",
       "node", "condition", "status", per_object=True),
    _f("kube_node_info", GAUGE, "Information about a cluster node.",
       "node", "kernel_version", "os_image", "container_runtime_version", "kubelet_version",
       "kubeproxy_version", "provider_id", "pod_cidr", "system_uuid", "internal_ip",
       per_object=True),
    _f("kube_node_labels", GAUGE, "Kubernetes labels converted to Prometheus labels.",
       "node", *(f"label_{n}" for n in (
           "agentpool", "kubernetes_azure_com_agentpool", "kubernetes_azure_com_mode",
           "topology_kubernetes_io_zone")), per_object=True),
    _f("kube_pod_status_phase", GAUGE, "The pods current phase.",
       "namespace", "pod", "uid", "phase", per_object=True),
    _f("kube_endpoint_address", GAUGE, "Information about Endpoint available and non available "
       "addresses.", "namespace", "endpoint", "port_protocol", "port_number", "port_name", "ip",
       "ready", per_object=True),
    _f("kube_deployment_spec_replicas", GAUGE, "Number of desired pods for a deployment.",
       "namespace", "deployment"),
    _f("kube_deployment_status_replicas_available", GAUGE,
       "The number of available replicas per deployment.", "namespace", "deployment"),
    _f("kube_deployment_status_replicas_unavailable", GAUGE,
       "The number of unavailable replicas per deployment.", "namespace", "deployment"),
    _f("kube_horizontalpodautoscaler_status_current_replicas", GAUGE,
       "Current number of replicas of pods managed by this autoscaler.",
       "namespace", "horizontalpodautoscaler"),
    _f("kube_horizontalpodautoscaler_spec_max_replicas", GAUGE,
       "Upper limit for the number of pods that can be set by the autoscaler.",
       "namespace", "horizontalpodautoscaler"),
    _f("kube_horizontalpodautoscaler_spec_min_replicas", GAUGE,
       "Lower limit for the number of pods that can be set by the autoscaler.",
       "namespace", "horizontalpodautoscaler"),
    # --- ingress-nginx names --------------------------------------------------------------
    _f("nginx_ingress_controller_requests", COUNTER,
       "The total number of client requests", *NGINX_LABELS),
    _f("nginx_ingress_controller_request_duration_seconds", HISTOGRAM,
       "The request processing time in seconds", *NGINX_LABELS),
    # --- CoreDNS names --------------------------------------------------------------------
    _f("coredns_dns_requests", COUNTER, "Counter of DNS requests made per zone, protocol and "
       "family.", "server", "zone", "view", "proto", "family", "type"),
    _f("coredns_dns_responses", COUNTER, "Counter of response status codes.",
       "server", "zone", "view", "rcode", "plugin"),
    # --- akssim ----------------------------------------------------------------------------
    _f("akssim_sim_time_seconds", GAUGE, "Simulated seconds since the start of the run."),
    _f("akssim_events", COUNTER, "Events published on the run's bus.", "category", "reason",
       "type"),
    _f("akssim_subnet_addresses", GAUGE, "Addresses of a subnet by state: usable (size minus "
       "Azure's 5 reserved), used, free.", "subnet", "state"),
    _f("akssim_subnet_addresses_peak_used", GAUGE, "The most addresses of a subnet in use at "
       "once so far.", "subnet"),
    _f("akssim_ip_allocation_failures", COUNTER, "Address allocation failures by reason (the "
       "event reason: SubnetIsFull, FailedCreatePodSandBox, CIDRNotAvailable, ...).", "reason"),
    _f("akssim_route_table_routes", GAUGE, "kubenet: routes in the cluster's route table (one per "
       "node with a pod range), and the table's limit (400).", "route_table", "state"),
    _f("akssim_nodes", GAUGE, "Nodes of a node pool by state.", "agentpool", "state"),
    _f("akssim_pods", GAUGE, "Pods of a Deployment by phase.", "namespace", "deployment",
       "phase"),
    _f("akssim_pods_pending", GAUGE, "Pods waiting for a node or an address."),
    _f("akssim_snat_ports_allocated_per_node", GAUGE, "SNAT ports each node of the outbound "
       "backend pool gets (by pool size, or allocatedOutboundPorts)."),
    _f("akssim_snat_backend_pool_size", GAUGE, "Nodes in the outbound backend pool."),
    _f("akssim_snat_ports_used", GAUGE, "SNAT ports a node holds now, over all destinations.",
       "node", per_object=True),
    _f("akssim_snat_exhausted_nodes", GAUGE, "Nodes that ran out of SNAT ports at least once."),
    _f("akssim_lb_backend_up", GAUGE, "1 when the load balancer's health probe of a Service "
       "passes on a node (the node is in rotation), else 0.", "service", "node",
       per_object=True),
    _f("akssim_lb_backend_requests", COUNTER, "Requests the load balancer sent to a node.",
       "service", "node", per_object=True),
    _f("akssim_requests", COUNTER, "Requests of a traffic flow by outcome (ok or the error's "
       "cause).", "flow", "service", "outcome"),
    _f("akssim_request_duration_seconds", HISTOGRAM, "Latency of a flow's answered requests.",
       "flow", "service"),
    _f("akssim_networkpolicy_drops", COUNTER, "Connections dropped by NetworkPolicy.", "flow",
       "service"),
    _f("akssim_fault_active", GAUGE, "1 while a fault is in effect (a Grafana annotation source).",
       "fault", "target"),
    _f("akssim_faults_injected", COUNTER, "Faults injected, by kind (instant ones such as pod_kill "
       "show here only).", "fault"),
    _f("akssim_series_capped", GAUGE, "1 when a per-object family was left out because it "
       "would have more series than the cap.", "family"),
)

BY_NAME = {f.name: f for f in CATALOGUE}

EXACT_NAME = frozenset({"nginx_ingress_controller_requests"})
"""Counters whose exporter (Go's client) exposes them without ``_total``: exported under that
exact name (untyped), so queries written for the real exporter work unchanged."""
