"""Generate the Grafana dashboards in ``grafana/dashboards/`` (run: ``python grafana/build.py``).

The dashboards are code-reviewed JSON; this script is their source, and
``tests/stack/test_dashboards.py`` fails when the committed JSON differs from what it writes.
Every query uses the metric names of docs/metrics.md. Rates of counters are shown *per
simulated second* (divided by the rate of ``akssim_sim_time_seconds``), so a run paced at 60x
reads the same as one at 1x; they have no value once the run's clock stops.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
"""Every query's datasource: the dashboard's ``datasource`` variable, so the JSON imports into
any Grafana (the stack's provisioning makes its Prometheus the default, which the variable
starts on)."""
INPUT = "DS_PROMETHEUS"
"""The import input (``__inputs``) Grafana's import asks for, as dashboards shared on
grafana.com declare it; the queries go through the ``datasource`` variable, which starts on the
default Prometheus whether the JSON is imported or provisioned."""


def grafana_version() -> str:
    """The Grafana version of docker-compose.yml (the dashboards' ``__requires``)."""
    compose = (HERE.parent / "docker-compose.yml").read_text(encoding="utf-8")
    found = re.search(r"image:\s*grafana/grafana:([0-9][\w.-]*)", compose)
    return found.group(1) if found else ""
SCHEMA_VERSION = 39
R = 'run="$run"'


def per_sim_second(expr: str, by: str) -> str:
    """*expr* (a ``rate`` summed ``by`` labels that include ``run``) per simulated second."""
    clock = f"sum by (run) (rate(akssim_sim_time_seconds{{{R}}}[$__rate_interval])) > 0"
    return f"sum by ({by}) ({expr}) / on (run) group_left () ({clock})"


def target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}


def steps(*pairs: tuple[str, float | None]) -> dict[str, Any]:
    """Absolute thresholds: (color, from value), the first from None (the base)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in pairs]}


GOOD_AT_ZERO = {"thresholds": steps(("green", None), ("red", 1))}
"""A count that should be 0: green at 0, red from 1."""
NEUTRAL = {"color": {"mode": "fixed", "fixedColor": "blue"}, "thresholds": steps(("blue", None))}
"""A value that is neither good nor bad (a clock, a size)."""


class Board:
    """One dashboard: panels laid out left to right, two per row unless told otherwise."""

    def __init__(self, uid: str, title: str, description: str) -> None:
        self.uid, self.title, self.description = uid, title, description
        self.panels: list[dict[str, Any]] = []
        self._x = self._y = 0
        self._row_height = 0
        """The tallest panel of the current line: the next line starts below it."""

    def row(self, title: str) -> None:
        """A row header across the dashboard; the next panels go below it."""
        if self._x:
            self._x, self._y = 0, self._y + self._row_height
        self.panels.append({"id": len(self.panels) + 1, "type": "row", "title": title,
                            "collapsed": False, "panels": [],
                            "gridPos": {"x": 0, "y": self._y, "w": 24, "h": 1}})
        self._y += 1
        self._row_height = 0

    def panel(self, title: str, targets: list[dict[str, Any]], *, kind: str = "timeseries",
              unit: str = "short", width: int = 12, height: int = 8, description: str = "",
              options: dict[str, Any] | None = None, defaults: dict[str, Any] | None = None) -> None:
        if self._x + width > 24:
            self._x, self._y = 0, self._y + self._row_height
            self._row_height = 0
        for i, t in enumerate(targets):
            t["refId"] = chr(ord("A") + i)
        self.panels.append({
            "id": len(self.panels) + 1, "type": kind, "title": title, "description": description,
            "datasource": DATASOURCE, "targets": targets,
            "gridPos": {"x": self._x, "y": self._y, "w": width, "h": height},
            "fieldConfig": {"defaults": {"unit": unit, **(defaults or {})}, "overrides": []},
            "options": options or {},
        })
        self._x += width
        self._row_height = max(self._row_height, height)

    def to_json(self) -> dict[str, Any]:
        return {
            "__inputs": [{"name": INPUT, "label": "Prometheus", "description": "The Prometheus "
                          "that scrapes aks-sim (or holds its backfilled runs)",
                          "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
            "__requires": [
                {"type": "grafana", "id": "grafana", "name": "Grafana", "version": grafana_version()},
                {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
                *({"type": "panel", "id": kind, "name": kind, "version": ""}
                  for kind in sorted({p["type"] for p in self.panels} - {"row"})),
            ],
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": ["aks-sim"], "schemaVersion": SCHEMA_VERSION, "version": 1, "editable": True,
            "timezone": "browser", "refresh": "5s", "time": {"from": "now-30m", "to": "now"},
            "graphTooltip": 1,
            "links": [{"type": "dashboards", "tags": ["aks-sim"], "asDropdown": True,
                       "title": "aks-sim", "keepTime": True, "includeVars": True}],
            "templating": {"list": [{
                "name": "datasource", "label": "Data source", "type": "datasource",
                "query": "prometheus", "regex": "", "refresh": 1, "hide": 0,
                "multi": False, "includeAll": False, "options": [],
                "current": {},
            }, {
                "name": "run", "label": "run", "type": "query", "datasource": DATASOURCE,
                "definition": "label_values(akssim_sim_time_seconds, run)",
                "query": {"query": "label_values(akssim_sim_time_seconds, run)", "refId": "run"},
                "refresh": 2, "sort": 1, "multi": False, "includeAll": False,
                "current": {}, "options": [], "hide": 0,
            }]},
            "annotations": {"list": [
                {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                 "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                 "name": "Annotations & Alerts", "type": "dashboard"},
                {"name": "Chaos faults", "datasource": DATASOURCE, "enable": True,
                 "iconColor": "red", "expr": f"akssim_fault_active{{{R}}} > 0 or "
                 f"increase(akssim_faults_injected_total{{{R}}}[$__rate_interval]) > 0", "step": "5s",
                 "titleFormat": "{{fault}}", "textFormat": "{{target}}",
                 "tagKeys": "fault,target", "useValueForTime": False},
            ]},
            "panels": self.panels,
        }


def cluster() -> Board:
    b = Board("akssim-cluster", "aks-sim / Cluster",
              "Nodes, pods, deployments, HPAs and the cluster autoscaler of one run.")
    b.row("Overview")
    b.panel("Simulated time", [target(f"akssim_sim_time_seconds{{{R}}}", "{{run}}")],
            kind="stat", unit="s", width=6, height=4, defaults=NEUTRAL)
    b.panel("Pending pods", [target(f"akssim_pods_pending{{{R}}}", "pending")],
            kind="stat", width=6, height=4,
            defaults={"thresholds": steps(("green", None), ("orange", 1))})
    b.panel("Nodes not Ready", [target(
        f'sum(kube_node_status_condition{{{R},condition="Ready",status!="true"}})', "not ready")],
        kind="stat", width=6, height=4, defaults=GOOD_AT_ZERO,
        description="Provisioning, failed, or NotReady after the grace period; 0 is green.")
    b.panel("Pacer lag (live runs)", [target(f"akssim_pacer_lag_seconds{{{R}}}", "lag")],
            kind="stat", unit="s", width=6, height=4,
            defaults={"thresholds": steps(("green", None), ("orange", 5), ("red", 30))},
            description="How far simulated time is behind the speed asked for (red from 30 s, "
                        "where AksSimPacerLagging fires).")
    b.row("Nodes")
    b.panel("Nodes by Ready condition", [target(
        f'sum by (status) (kube_node_status_condition{{{R},condition="Ready"}})', "{{status}}")],
        description="true: Ready; unknown: NotReady (kubelet stopped posting); false: "
                    "provisioning or failed.")
    b.panel("Nodes by pool and state", [target(
        f"sum by (agentpool, state) (akssim_nodes{{{R}}})", "{{agentpool}} {{state}}")])
    b.panel("Ready nodes by zone", [target(
        f"sum by (label_topology_kubernetes_io_zone) (kube_node_labels{{{R}}} * on (run, node) "
        f'kube_node_status_condition{{{R},condition="Ready",status="true"}})',
        "zone {{label_topology_kubernetes_io_zone}}")],
        description="What a zone failure takes away, and where the autoscaler puts it back "
                    "(the zone is a node label: kube_node_labels).")
    b.panel("Faults in effect", [target(f"akssim_fault_active{{{R}}}", "{{fault}} {{target}}")],
            kind="state-timeline", defaults={"mappings": [{"type": "value", "options": {
                "0": {"text": "reverted", "color": "green"}, "1": {"text": "active", "color": "red"}}}]},
            description="Chaos faults of the scenario's timeline and those injected live.")
    b.row("Workloads")
    b.panel("Pods by phase", [target(f"sum by (phase) (akssim_pods{{{R}}})", "{{phase}}")])
    b.panel("Pending pods and why", [
        target(f"akssim_pods_pending{{{R}}}", "pending pods"),
        target(f'sum by (reason) (increase(akssim_events_total{{{R},'
               f'reason=~"FailedScheduling|FailedCreatePodSandBox|SubnetIsFull|NotTriggerScaleUp"}}'
               f'[$__rate_interval])) > 0', "{{reason}} events"),
    ], description="Pods waiting for a node or an address, and the events that say why.")
    b.panel("Deployments: desired vs available", [
        target(f"kube_deployment_spec_replicas{{{R}}}", "{{namespace}}/{{deployment}} desired"),
        target(f"kube_deployment_status_replicas_available{{{R}}}",
               "{{namespace}}/{{deployment}} available"),
    ])
    b.panel("HPA replicas", [
        target(f"kube_horizontalpodautoscaler_status_current_replicas{{{R}}}",
               "{{horizontalpodautoscaler}} current"),
        target(f"kube_horizontalpodautoscaler_spec_min_replicas{{{R}}}",
               "{{horizontalpodautoscaler}} min"),
        target(f"kube_horizontalpodautoscaler_spec_max_replicas{{{R}}}",
               "{{horizontalpodautoscaler}} max"),
    ])
    b.panel("Cluster autoscaler activity", [target(
        f'sum by (reason) (increase(akssim_events_total{{{R},category="autoscaler"}}[$__rate_interval]))'
        " > 0", "{{reason}}")], kind="timeseries", width=24,
        description="ScaledUpGroup, NotTriggerScaleUp, FailedToScaleUpGroup, ScaleDown events.",
        defaults={"custom": {"drawStyle": "bars"}})
    return b


def ip_addresses() -> Board:
    b = Board("akssim-ip-addresses", "aks-sim / IP addresses",
              "Subnets, address allocation failures, time to exhaustion, kubenet routes.")
    b.panel("Subnet addresses by state", [target(
        f'akssim_subnet_addresses{{{R},state=~"used|free"}}', "{{subnet}} {{state}}")],
        description="usable = size minus Azure's 5 reserved addresses = used + free.")
    b.panel("Subnet used", [target(
        f'akssim_subnet_addresses{{{R},state="used"}} / ignoring (state) '
        f'akssim_subnet_addresses{{{R},state="usable"}}', "{{subnet}}")],
        unit="percentunit", defaults={"min": 0, "max": 1, "thresholds": {"mode": "absolute", "steps": [
            {"color": "green", "value": None}, {"color": "orange", "value": 0.8},
            {"color": "red", "value": 0.9}]}})
    b.panel("Subnet usable / used / peak used", [
        target(f'akssim_subnet_addresses{{{R},state="usable"}}', "{{subnet}} usable"),
        target(f'akssim_subnet_addresses{{{R},state="used"}}', "{{subnet}} used"),
        target(f"akssim_subnet_addresses_peak_used{{{R}}}", "{{subnet}} peak used"),
    ], kind="bargauge", options={"displayMode": "basic", "orientation": "horizontal"})
    b.panel("Address allocation failures by reason", [target(
        f"sum by (reason) (increase(akssim_ip_allocation_failures_total{{{R}}}[$__rate_interval]))"
        " > 0", "{{reason}}")], defaults={"custom": {"drawStyle": "bars"}},
        description="SubnetIsFull, FailedCreatePodSandBox, CIDRNotAvailable, FailedToCreateRoute...")
    growth = (f'sum by (run, subnet) (deriv(akssim_subnet_addresses{{{R},state="used"}}[$__rate_interval]))'
              f" / on (run) group_left () "
              f"(sum by (run) (deriv(akssim_sim_time_seconds{{{R}}}[$__rate_interval])) > 0)")
    b.panel("Time to exhaustion at the current growth (simulated)", [target(
        f'sum by (run, subnet) (akssim_subnet_addresses{{{R},state="free"}}) / on (run, subnet) '
        f"(({growth}) > 0)", "{{subnet}}")], unit="s",
        description="Free addresses divided by the growth of used addresses per simulated second "
                    "over the last $__rate_interval; no value while a subnet is not growing.")
    b.panel("Address growth per simulated minute", [target(f"60 * ({growth})", "{{subnet}}")])
    b.panel("kubenet: routes used of the route table's limit", [
        target(f'akssim_route_table_routes{{{R},state="used"}}', "used"),
        target(f'akssim_route_table_routes{{{R},state="limit"}}', "limit")], width=12, height=6,
        description="kubenet needs one UDR route per node; a route table holds 400.")
    b.panel("kubenet: nodes without a route (FailedToCreateRoute)", [target(
        f'sum(akssim_ip_allocation_failures_total{{{R},reason="FailedToCreateRoute"}})',
        "nodes without a route")], kind="stat", width=12, height=6, defaults=GOOD_AT_ZERO,
        description="Nodes refused a route because the table was full.")
    return b


def traffic() -> Board:
    b = Board("akssim-traffic", "aks-sim / Traffic and load balancing",
              "Requests, errors by cause, latency, load balancer spread, probes and SNAT.")
    requests = f"rate(akssim_requests_total{{{R}}}[$__rate_interval])"
    b.row("Requests")
    b.panel("Requests per simulated second by Service", [target(
        per_sim_second(requests, "run, service"), "{{service}}")], unit="reqps")
    errors = per_sim_second(f'rate(akssim_requests_total{{{R},outcome!="ok"}}[$__rate_interval])',
                            "run, service, outcome")
    b.panel("Errors per simulated second by Service and cause", [target(
        f"({errors}) > 0", "{{service}} {{outcome}}")], unit="reqps",
        description="Only causes that occur: a cause with no error in the window has no series.")
    b.panel("Error ratio by flow", [target(
        f'sum by (flow) (rate(akssim_requests_total{{{R},outcome!="ok"}}[$__rate_interval])) / '
        f"sum by (flow) (rate(akssim_requests_total{{{R}}}[$__rate_interval]))", "{{flow}}")],
        unit="percentunit")
    b.panel("Latency percentiles by Service", [
        target(f"histogram_quantile({q}, sum by (service, le) "
               f"(rate(akssim_request_duration_seconds_bucket{{{R}}}[$__rate_interval])))",
               f"{{{{service}}}} p{int(q * 100)}")
        for q in (0.5, 0.95, 0.99)], unit="s")
    b.row("Load balancer")
    b.panel("Load balancer: requests per backend node", [target(
        per_sim_second(f"rate(akssim_lb_backend_requests_total{{{R}}}[$__rate_interval])",
                       "run, service, node"), "{{service}} {{node}}")], unit="reqps")
    b.panel("Load balancer: spread across nodes (coefficient of variation)", [target(
        f"stddev by (service) (rate(akssim_lb_backend_requests_total{{{R}}}[$__rate_interval])) / "
        f"avg by (service) (rate(akssim_lb_backend_requests_total{{{R}}}[$__rate_interval]))",
        "{{service}}")], unit="percentunit",
        description="0 is a perfectly even spread; per-pod load is not exported by the model.")
    b.panel("Health probe state per backend node", [target(
        f"akssim_lb_backend_up{{{R}}}", "{{service}} {{node}}")], kind="state-timeline",
        width=24, defaults={"mappings": [{"type": "value", "options": {
            "0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}]})
    b.row("SNAT and NetworkPolicy")
    b.panel("SNAT ports used vs allocated per node", [
        target(f"akssim_snat_ports_used{{{R}}}", "{{node}} used"),
        target(f"akssim_snat_ports_allocated_per_node{{{R}}}", "allocated per node"),
    ])
    b.panel("SNAT: backend pool and exhausted nodes", [
        target(f"akssim_snat_backend_pool_size{{{R}}}", "backend pool nodes"),
        target(f"akssim_snat_exhausted_nodes{{{R}}}", "nodes that ran out"),
    ])
    b.panel("NetworkPolicy drops per simulated second", [target(
        per_sim_second(f"rate(akssim_networkpolicy_drops_total{{{R}}}[$__rate_interval])",
                       "run, flow, service"), "{{flow}} -> {{service}}")], unit="reqps", width=24)
    return b


def ingress_dns() -> Board:
    b = Board("akssim-ingress-dns", "aks-sim / Ingress and DNS",
              "ingress-nginx requests by host, path and status; CoreDNS queries and rcodes.")
    by_route = per_sim_second(f"rate(nginx_ingress_controller_requests{{{R}}}[$__rate_interval])",
                              "run, host, path, status")
    b.panel("Ingress requests per simulated second by host, path and status", [target(
        # requests no Ingress rule matched have no path (Prometheus drops the empty label)
        f'label_replace({by_route}, "path", "(no rule)", "path", "")',
        "{{host}} {{path}} {{status}}")], unit="reqps")
    b.panel("Ingress latency by host", [
        target(f"histogram_quantile({q}, sum by (host, le) (rate("
               f"nginx_ingress_controller_request_duration_seconds_bucket{{{R}}}[$__rate_interval])))",
               f"{{{{host}}}} p{int(q * 100)}")
        for q in (0.5, 0.99)], unit="s")
    b.panel("Ingress non-2xx share by host", [target(
        f'sum by (host) (rate(nginx_ingress_controller_requests{{{R},status!~"2.."}}'
        f"[$__rate_interval])) / sum by (host) "
        f"(rate(nginx_ingress_controller_requests{{{R}}}[$__rate_interval]))",
        "{{host}}")], unit="percentunit")
    b.panel("CoreDNS queries per simulated second by type", [target(
        per_sim_second(f"rate(coredns_dns_requests_total{{{R}}}[$__rate_interval])", "run, type"),
        "{{type}}")], unit="reqps")
    b.panel("CoreDNS responses per simulated second by rcode", [target(
        per_sim_second(f"rate(coredns_dns_responses_total{{{R}}}[$__rate_interval])", "run, rcode"),
        "{{rcode}}")], unit="reqps")
    b.panel("NXDOMAIN share (ndots:5 search-list expansion)", [target(
        f'sum(rate(coredns_dns_responses_total{{{R},rcode="NXDOMAIN"}}[$__rate_interval])) / '
        f"sum(rate(coredns_dns_responses_total{{{R}}}[$__rate_interval]))", "NXDOMAIN")],
        unit="percentunit",
        description="Every try of the search-list walk but the last is answered NXDOMAIN.")
    b.panel("Requests failing on DNS per simulated second", [target(
        per_sim_second(f'rate(akssim_requests_total{{{R},outcome="dns_failure"}}[$__rate_interval])',
                       "run, flow"), "{{flow}}")], unit="reqps", width=24)
    return b


BOARDS = {"cluster": cluster, "ip-addresses": ip_addresses, "traffic": traffic,
          "ingress-dns": ingress_dns}


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {f"{name}.json": json.dumps(make().to_json(), indent=2) + "\n" for name, make in BOARDS.items()}


def main() -> int:
    out = HERE / "dashboards"
    out.mkdir(exist_ok=True)
    for name, text in render().items():
        (out / name).write_text(text, encoding="utf-8")
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
