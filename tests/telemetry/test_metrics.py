"""Metrics sampled from the model, checked against AKS-NETWORKING.md and kube-state-metrics'
semantics; the contract in docs/metrics.md; sampling leaves the event stream unchanged."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from servers import need
from simkit import cluster_yaml, deployment, make_sim

from sim.telemetry.metrics import CATALOGUE, DURATION_BUCKETS, EXACT_NAME, NGINX_LABELS, Histogram, Sampler
from sim.telemetry.prometheus import SimCollector

ROOT = Path(__file__).resolve().parents[2]


def _series(snapshot, name: str) -> dict[tuple[str, ...], object]:
    fam = next(s for f, s in snapshot if f.name == name)
    return dict(fam)


@pytest.mark.parametrize("nodes,max_pods", [(3, 30), (5, 30), (2, 50)])
def test_free_addresses_of_an_azure_cni_node_subnet_follow_the_formula(nodes: int, max_pods: int) -> None:
    """Azure CNI (node subnet): each node takes 1 + maxPods addresses; a subnet has its size
    minus Azure's 5 reserved usable (AKS-NETWORKING.md section 1)."""
    prefix = "10.10.0.0/23"
    sim, _ = make_sim(cluster_yaml(subnet=prefix, count=nodes, max_pods=max_pods, duration="10m"))
    sampler = Sampler(sim.model, sim.bus)
    sim.advance_to(60)
    addresses = _series(sampler.sample(), "akssim_subnet_addresses")
    usable = ipaddress.ip_network(prefix).num_addresses - 5
    used = (nodes + 1) * (1 + max_pods)  # the user pool and one system node
    assert addresses[("nodes", "usable")] == usable
    assert addresses[("nodes", "used")] == used
    assert addresses[("nodes", "free")] == usable - used


def test_node_condition_turns_unknown_after_the_grace_period() -> None:
    """kube-state-metrics reports Ready=unknown for a node whose kubelet stopped posting
    status; the node lifecycle controller marks it after the 40 s grace period."""
    text = cluster_yaml(overlay=True, count=2, duration="30m") + "workloads:" + deployment(replicas=2)
    text += "\nchaos:\n  - {at: 5m, fault: node_failure, nodePool: user, fixedBy: reimage}\n"
    sim, events = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)
    sim.advance_to(300 + 30)
    before = _series(sampler.sample(), "kube_node_status_condition")
    assert sum(v for (n, c, s), v in before.items() if s == "unknown") == 0
    sim.advance_to(300 + 50)
    after = _series(sampler.sample(), "kube_node_status_condition")
    failed = [e.event.node for e in events if e.event.reason == "NodeNotReady"]
    assert failed
    for node in failed:
        assert after[(node, "Ready", "unknown")] == 1 and after[(node, "Ready", "true")] == 0
    # every node has exactly one status set
    by_node: dict[str, float] = {}
    for (node, _, _), v in after.items():
        by_node[node] = by_node.get(node, 0) + v
    assert set(by_node.values()) == {1.0}


def test_event_counters_count_what_the_bus_carried() -> None:
    sim, events = make_sim(cluster_yaml(count=2, duration="10m") + "workloads:" + deployment(replicas=4))
    sampler = Sampler(sim.model, sim.bus)
    sim.advance_to(sim.end)
    counted = _series(sampler.sample(), "akssim_events")
    assert sum(counted.values()) == len(events)
    scheduled = sum(1 for e in events if e.event.reason == "Scheduled")
    assert scheduled and counted[("scheduler", "Scheduled", "Normal")] == scheduled


def test_per_pod_series_stop_at_the_cap() -> None:
    """Cardinality is bounded: above the cap the per-pod family is left out, and said so."""
    text = cluster_yaml(count=2, duration="5m") + "workloads:" + deployment(replicas=12)
    sim, _ = make_sim(text)
    small, large = Sampler(sim.model, sim.bus, series_cap=5), Sampler(sim.model, sim.bus, 100)
    sim.advance_to(60)
    capped = small.sample()
    assert _series(capped, "kube_pod_status_phase") == {}
    assert _series(capped, "akssim_series_capped")[("kube_pod_status_phase",)] == 1
    full = _series(large.sample(), "kube_pod_status_phase")
    running = [k for k, v in full.items() if k[3] == "Running" and v == 1]
    assert len(running) == 12
    # the aggregate never goes away
    assert _series(capped, "akssim_pods")[("default", "web", "Running")] == 12


def test_sampling_does_not_change_the_event_stream() -> None:
    """A run watched through metrics publishes the same events as one that is not."""
    text = (ROOT / "scenarios" / "ingress-shop.yaml").read_text()
    plain, plain_events = make_sim(text.replace("duration: 20m", "duration: 11m"))
    plain.advance_to(plain.end)
    watched, watched_events = make_sim(text.replace("duration: 20m", "duration: 11m"))
    sampler = Sampler(watched.model, watched.bus, series_cap=10)
    t = 0.0
    while t < watched.end:
        t += 7.0
        watched.advance_to(t, max_events=50)
        sampler.sample()
    watched.advance_to(watched.end)
    assert [(e.seq, e.sim_time, e.event) for e in plain_events] == \
           [(e.seq, e.sim_time, e.event) for e in watched_events]


def test_request_histograms_are_cumulative_and_count_the_answered_requests() -> None:
    text = (ROOT / "scenarios" / "ingress-shop.yaml").read_text()
    sim, _ = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)
    sim.advance_to(300)
    snap = sampler.sample()
    hists = _series(snap, "akssim_request_duration_seconds")
    requests = _series(snap, "akssim_requests")
    for (flow, svc), hist in hists.items():
        assert isinstance(hist, Histogram)
        counts = [n for _, n in hist.buckets]
        assert counts == sorted(counts) and counts[-1] <= hist.count
        assert [le for le, _ in hist.buckets] == list(DURATION_BUCKETS)
        assert hist.count == requests[(flow, svc, "ok")]
    nginx = _series(snap, "nginx_ingress_controller_requests")
    rows = [(dict(zip(NGINX_LABELS, k, strict=True)), v) for k, v in nginx.items()]
    assert sum(v for r, v in rows if r["status"] == "404") > 0  # the typo host: default backend
    hosts = {f["ingress"]["host"] for f in yaml.safe_load(text)["traffic"]["flows"] if "ingress" in f}
    assert {r["host"] for r, _ in rows} == hosts
    assert {(r["controller_class"], r["method"], r["canary"]) for r, _ in rows} == {
        ("k8s.io/ingress-nginx", "GET", "")}
    assert all(r["path"].startswith("/") for r, v in rows if r["status"] == "200" and v)
    durations = _series(snap, "nginx_ingress_controller_request_duration_seconds")
    assert {dict(zip(NGINX_LABELS, k, strict=True))["status"] for k in durations} == {"200"}


def test_exposition_passes_promtool_check_metrics(tmp_path: Path) -> None:
    promtool = need("promtool")
    text = (ROOT / "scenarios" / "ingress-shop.yaml").read_text()
    sim, _ = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)
    collector = SimCollector("r1")
    registry = CollectorRegistry()
    collector.register(registry)
    sim.advance_to(120)
    collector.update(sampler.sample())
    exposition = generate_latest(registry)
    assert b'run="r1"' in exposition
    # ingress-nginx's own name, as its Go exporter writes it (no _total), so its dashboards work
    assert b"\nnginx_ingress_controller_requests{" in exposition
    assert b"nginx_ingress_controller_requests_total" not in exposition
    check = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    collector.unregister()
    assert generate_latest(registry) == b""


def test_every_family_is_documented_with_its_type_and_labels() -> None:
    """docs/metrics.md is the contract: each family appears with its type and every label."""
    doc = (ROOT / "docs" / "metrics.md").read_text()
    for fam in CATALOGUE:
        row = re.search(rf"^\| `{fam.name}(?:_total)?` \| (\w+) \| ([^|]*) \|", doc, re.M)
        assert row, f"{fam.name} is not in docs/metrics.md"
        assert row.group(1) == fam.type, fam.name
        documented = set(re.findall(r"`(\w+)`", row.group(2)))
        assert documented == {"run", *fam.labels}, fam.name


def test_pod_phase_counts_follow_every_pod_through_failures_and_evictions() -> None:
    """The Running/Pending aggregates stay equal to a scan of every pod while nodes fail, pods
    are evicted and rescheduled (ContainerCreating counts as phase Pending)."""
    text = cluster_yaml(overlay=True, count=3, duration="40m") + "workloads:" + deployment(replicas=9)
    text += "\nchaos:\n  - {at: 2m, fault: node_failure, nodePool: user, fixedBy: reimage}\n"
    sim, _ = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)
    seen_pending = False
    for t in [*range(30, 440, 30), *range(440, 560), *range(560, 2400, 60)]:
        sim.advance_to(t)
        pods = _series(sampler.sample(), "akssim_pods")
        dep = sim.model.workloads.deployments["default/web"]
        running = sum(1 for p in dep.pods.values() if p.phase == "Running")
        assert pods[("default", "web", "Running")] == running, t
        assert pods[("default", "web", "Pending")] == len(dep.pods) - running, t
        seen_pending |= running < len(dep.pods)
    assert seen_pending  # the failure did take pods out of Running


def test_a_fault_is_active_from_its_injection_to_its_revert() -> None:
    text = cluster_yaml(overlay=True, count=3, duration="30m") + "workloads:" + deployment(replicas=3)
    text += "\nchaos:\n  - {at: 5m, fault: zone_failure, zone: \"2\", duration: 10m}\n"
    sim, events = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)
    sim.advance_to(299)
    assert _series(sampler.sample(), "akssim_fault_active") == {}
    sim.advance_to(301)
    active = _series(sampler.sample(), "akssim_fault_active")
    assert list(active.values()) == [1.0] and next(iter(active))[0] == "zone_failure"
    sim.advance_to(901)
    assert list(_series(sampler.sample(), "akssim_fault_active").values()) == [0.0]
    assert [e.sim_time for e in events if e.event.reason == "FaultReverted"] == [900.0]


def test_an_instant_fault_is_counted_but_never_active() -> None:
    text = cluster_yaml(overlay=True, count=2, duration="20m") + "workloads:" + deployment(replicas=3)
    text += "\nchaos:\n  - {at: 5m, fault: pod_kill, deployment: web, count: 1}\n"
    sim, _ = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)
    before = _series(sampler.sample(), "akssim_faults_injected")
    sim.advance_to(400)
    snap = sampler.sample()
    assert _series(snap, "akssim_fault_active") == {}
    injected = _series(snap, "akssim_faults_injected")
    # the counter existed at 0 before the kill (so increase() sees it), then counted it once
    assert before[("pod_kill",)] == 0.0 and injected[("pod_kill",)] == 1.0
    assert set(before) == set(injected) and sum(injected.values()) == 1.0


@pytest.mark.parametrize("nodes", [3, 7])
def test_kubenet_route_table_has_one_route_per_node_of_400(nodes: int) -> None:
    """kubenet: one UDR route per node in the cluster's route table, which holds 400
    (AKS-NETWORKING.md, configure-kubenet.md)."""
    sim, _ = make_sim(cluster_yaml(plugin="kubenet", count=nodes, max_pods=110, duration="10m"))
    sampler = Sampler(sim.model, sim.bus)
    sim.advance_to(60)
    routes = _series(sampler.sample(), "akssim_route_table_routes")
    (table, _), = [k for k in routes if k[1] == "used"]
    assert routes[(table, "used")] == nodes + 1  # the user pool and the system node
    assert routes[(table, "limit")] == 400


def test_route_table_stops_at_400_on_a_600_node_kubenet_cluster() -> None:
    text = (ROOT / "scenarios" / "kubenet-600-nodes.yaml").read_text()
    sim, events = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)
    sim.advance_to(sim.end)
    routes = _series(sampler.sample(), "akssim_route_table_routes")
    used = next(v for (t, s), v in routes.items() if s == "used")
    assert used == 400
    refused = sum(1 for e in events if e.event.reason == "FailedToCreateRoute")
    nodes = sum(len(p.nodes) for p in sim.model.pools.values())
    assert refused == nodes - 400


COUNTERS_WITH_KNOWN_LABELS = ("akssim_events", "akssim_ip_allocation_failures",
                              "akssim_faults_injected")


@pytest.mark.parametrize("name", ["ingress-shop.yaml", "azure-cni-ip-exhaustion.yaml"])
def test_counters_with_known_labels_start_at_zero_and_cover_every_event(name: str) -> None:
    """A counter whose labels are known exists at 0 from the run's start (prometheus_client
    creates the labelled child up front), so increase() sees its first event; every event the
    run publishes lands in a series that existed at 0."""
    sim, events = make_sim((ROOT / "scenarios" / name).read_text())
    sampler = Sampler(sim.model, sim.bus)
    start = sampler.sample()
    for fam in COUNTERS_WITH_KNOWN_LABELS:
        series = _series(start, fam)
        assert series and set(series.values()) == {0.0}, fam
    assert ("SubnetIsFull",) in _series(start, "akssim_ip_allocation_failures")
    assert ("pod_kill",) in _series(start, "akssim_faults_injected")
    sim.advance_to(sim.end)
    end = sampler.sample()
    for fam in COUNTERS_WITH_KNOWN_LABELS:
        assert set(_series(end, fam)) == set(_series(start, fam)), fam
    counted = _series(end, "akssim_events")
    seen: dict[tuple[str, str, str], int] = {}
    for e in events:
        key = (e.event.category, e.event.reason, str(e.event.type))
        seen[key] = seen.get(key, 0) + 1
    assert seen and all(counted[k] == n for k, n in seen.items())
    assert sum(counted.values()) == len(events)


LB_CLUSTER_POLICY = """
duration: 3m
seed: 4
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {name: system, mode: System, count: 1}
    - {name: user, count: 4, zones: ["1"]}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      replicas: 1
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          nodeSelector: {agentpool: user}
          containers: [{name: api, resources: {requests: {cpu: 100m, memory: 64Mi}}}]
  - apiVersion: v1
    kind: Service
    metadata: {name: api}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Cluster
      selector: {app: api}
      ports: [{port: 80}]
traffic:
  flows:
    - name: users
      to: {service: api}
      rate: {profile: constant, rps: 50}
"""


def test_load_balancer_requests_are_counted_by_the_node_it_chose() -> None:
    """externalTrafficPolicy Cluster: Azure's load balancer spreads over every node in its
    backend pool and kube-proxy forwards to the one pod, wherever it runs; the counter is by
    the node the load balancer chose (docs/metrics.md), not the serving pod's node."""
    sim, _ = make_sim(LB_CLUSTER_POLICY)
    sampler = Sampler(sim.model, sim.bus)
    first: dict[tuple[str, ...], object] = {}
    for t in range(0, 181, 5):
        sim.advance_to(t)
        for key, value in _series(sampler.sample(), "akssim_lb_backend_requests").items():
            first.setdefault(key, value)
    got = _series(sampler.sample(), "akssim_lb_backend_requests")
    nodes = {n.name for p in sim.model.pools.values() for n in p.nodes.values()}
    pod_node = next(iter(sim.model.workloads.find("api").pods.values())).node.name
    # each node's series is there at 0 from the node's creation, before any request
    assert {n for _, n in first} == nodes and set(first.values()) == {0.0}
    lb_pool = {n.name for n in sim.model.traffic.flows[0].lb.healthy}
    assert len(lb_pool) == 5  # every node passes the probe under Cluster policy
    assert all(got[("default/api", n)] > 0 for n in lb_pool)
    flow = sim.model.traffic.flows[0]
    # every request sent: the settled ones and those of ticks not published yet
    sent = int(flow.totals.sum()) + sum(int(c.sum()) for c in flow.pending.values())
    assert sum(got.values()) == sent
    assert got[("default/api", pod_node)] < sum(got.values()) / 2


def test_borrowed_names_carry_exactly_their_exporters_labels() -> None:
    """Every family named after kube-state-metrics, ingress-nginx or CoreDNS has the type and
    exactly the labels the real exporter gives it (exporter_labels.json, read from their source
    at the versions it cites), so queries written for the real exporter work unchanged."""
    import json

    real = json.loads((Path(__file__).parent / "exporter_labels.json").read_text())["metrics"]
    borrowed = [f for f in CATALOGUE if not f.name.startswith("akssim_")]
    exposed = {(f.name + "_total" if f.type == "counter" and f.name not in EXACT_NAME else f.name): f
               for f in borrowed}
    assert set(exposed) == set(real)
    for name, fam in exposed.items():
        want = real[name]
        assert fam.type == want["type"], name
        prefix = want.get("label_prefix")
        fixed = [lb for lb in fam.labels if not (prefix and lb.startswith(prefix))]
        assert sorted(fixed) == sorted(want["labels"]), name
        assert len(set(fam.labels)) == len(fam.labels), name
        if prefix:
            extra = [lb for lb in fam.labels if lb.startswith(prefix)]
            assert extra and all(re.fullmatch(r"label_[a-z0-9_]+", lb) for lb in extra), name


def test_endpoint_addresses_follow_the_ready_pods_of_a_service() -> None:
    """kube_endpoint_address: one series per port and address of a Service's Endpoints, ready
    or not; a pod killed by a fault leaves the ready ones until its replacement is ready
    (kube-state-metrics v2.20.0, internal/store/endpoint.go)."""
    text = LB_CLUSTER_POLICY.replace("replicas: 1", "replicas: 3").replace("duration: 3m", "duration: 6m")
    text += "chaos:\n  - {at: 3m, fault: pod_kill, deployment: api, count: 1}\n"
    sim, events = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)

    def at(t: float) -> tuple[float, set[str], set[str]]:
        sim.advance_to(t)
        snap = sampler.sample()
        rows = _series(snap, "kube_endpoint_address")
        assert {k[:5] for k in rows} == {("default", "api", "TCP", "80", "")}
        available = _series(snap, "kube_deployment_status_replicas_available")[("default", "api")]
        return (available, {k[5] for k in rows if k[6] == "true"},
                {k[5] for k in rows if k[6] == "false"})

    available, ready, not_ready = at(170)
    assert available == 3 and len(ready) == 3 and not not_ready
    available, ready, not_ready = at(185)  # the replacement is starting
    assert [e.sim_time for e in events if e.event.reason == "Killing"] == [180]
    assert available == 2 and len(ready) == 2 and len(not_ready) == 1
    available, ready, not_ready = at(300)
    assert available == 3 and len(ready) == 3 and not not_ready
