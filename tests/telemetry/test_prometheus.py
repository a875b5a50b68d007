"""Metrics through a real Prometheus: scraping a live run, and backfilling a finished one
(export -> promtool tsdb create-blocks-from openmetrics -> Prometheus on those blocks)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from servers import free_port, need, prometheus
from simkit import cluster_yaml, deployment

ROOT = Path(__file__).resolve().parents[2]
AKS_SIM = [sys.executable, "-m", "services.cli"]
PREFIX = "10.10.0.0/23"
MAX_PODS = 30


def _scenario(tmp: Path) -> Path:
    """Azure CNI on a node subnet: 1 system + 3 user nodes, scaled to 6 user nodes at 5m, one
    user node failing at 8m."""
    text = cluster_yaml(subnet=PREFIX, count=3, max_pods=MAX_PODS, duration="12m")
    text += "workloads:" + deployment(replicas=4)
    text += ("operations:\n  - {at: 5m, operation: scale, nodePool: user, count: 6}\n"
             "chaos:\n  - {at: 8m, fault: node_failure, nodePool: user, fixedBy: reimage}\n")
    path = tmp / "cni.yaml"
    path.write_text(text)
    return path


def _free_after(nodes: int) -> int:
    """The formula: usable = size - 5 reserved; each Azure CNI node takes 1 + maxPods."""
    return ipaddress.ip_network(PREFIX).num_addresses - 5 - nodes * (1 + MAX_PODS)


def _ready_by_events(run_dir: Path, t: float) -> int:
    """Nodes Ready at sim time *t* according to the run's event log (the other sink)."""
    ready: set[str] = set()
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        data = json.loads(line)["data"]
        if data["sim_time"] >= t:
            break
        node = data["involvedObject"]["name"]
        if data["reason"] == "NodeReady":
            ready.add(node)
        elif data["reason"] in ("NodeNotReady", "RemovingNode"):
            ready.discard(node)
    return len(ready)


def _value(result: list[dict]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def test_prometheus_scrapes_a_live_paced_run(tmp_path: Path) -> None:
    port = free_port()
    scenario = _scenario(tmp_path)
    with prometheus(tmp_path, scrape=[f"127.0.0.1:{port}"]) as prom:
        run = subprocess.Popen(
            [*AKS_SIM, "run", str(scenario), "--quiet", "--out", str(tmp_path / "r"),
             "--run-id", "live", "--metrics-port", str(port), "--speed", "40",
             "--sample-interval", "5s", "--linger", "30s"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            sim_times: list[float] = []
            before_scale = after_scale = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                now = prom.query('akssim_sim_time_seconds{run="live"}')
                if now:
                    t = _value(now)
                    sim_times.append(t)
                    free = prom.query('akssim_subnet_addresses{run="live",subnet="nodes",state="free"}')
                    if free and t < 290 and before_scale is None:
                        before_scale = (t, _value(free))
                    if free and 360 < t < 460:
                        after_scale = (t, _value(free))
                    if t >= 720:
                        break
                time.sleep(0.5)
            final_ready = prom.query(
                'sum(kube_node_status_condition{run="live",condition="Ready",status="true"})')
            unknown = prom.query(
                'sum(kube_node_status_condition{run="live",condition="Ready",status="unknown"})')
            up = prom.query('up{job="akssim"}')
        finally:
            run.terminate()
            run.communicate(timeout=30)
    assert sim_times and sim_times == sorted(sim_times) and sim_times[-1] >= 720
    assert len(set(sim_times)) > 3  # watched while it ran, not only at the end
    assert before_scale is not None and before_scale[1] == _free_after(1 + 3)
    assert after_scale is not None and after_scale[1] == _free_after(1 + 6)
    # one of the 7 nodes failed at 8m (NotReady 40 s later) and is not repaired by 12m
    assert _value(unknown) == 1
    assert _value(final_ready) == _ready_by_events(tmp_path / "r", 720) == 6
    assert _value(up) == 1


def test_backfill_a_finished_run_and_query_a_simulated_instant(tmp_path: Path) -> None:
    promtool = need("promtool")
    scenario = _scenario(tmp_path)
    done = subprocess.run([*AKS_SIM, "run", str(scenario), "--quiet", "--out", str(tmp_path / "r"),
                           "--run-id", "past"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    start = "2026-03-01T08:00:00Z"
    om = tmp_path / "run.om"
    export = subprocess.run([*AKS_SIM, "export", "openmetrics", str(tmp_path / "r"),
                             "--start", start, "-o", str(om)], cwd=ROOT, capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    assert om.read_text().endswith("# EOF\n")
    blocks = tmp_path / "blocks"
    made = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(blocks)],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    base = datetime(2026, 3, 1, 8, tzinfo=UTC).timestamp()
    with prometheus(tmp_path, storage=blocks) as prom:
        free = 'akssim_subnet_addresses{run="past",subnet="nodes",state="free"}'
        assert _value(prom.query(free, at=base + 90)) == _free_after(1 + 3)
        assert _value(prom.query(free, at=base + 400)) == _free_after(1 + 6)
        ready = 'sum(kube_node_status_condition{run="past",condition="Ready",status="true"})'
        for minute in (4, 6, 7, 9, 11):
            # each sample holds the state after every event before its instant
            sampled = (minute * 60) // 15 * 15
            expected = _ready_by_events(tmp_path / "r", sampled)
            assert _value(prom.query(ready, at=base + minute * 60)) == expected, minute
        assert _value(prom.query(ready, at=base + 11 * 60)) == 6
        # counters survive the trip: events up to the end equal the event log's length
        events = len((tmp_path / "r" / "events.jsonl").read_text().splitlines())
        assert _value(prom.query('sum(akssim_events_total{run="past"})', at=base + 720)) == events


def test_backfilled_request_histograms_answer_histogram_quantile(tmp_path: Path) -> None:
    """Histograms survive export -> promtool -> Prometheus: counts match the event log's
    TrafficTick totals and histogram_quantile gives a latency within the run's own bins."""
    promtool = need("promtool")
    scenario = ROOT / "scenarios" / "ingress-shop.yaml"
    done = subprocess.run([*AKS_SIM, "run", str(scenario), "--quiet", "--out", str(tmp_path / "r"),
                           "--run-id", "shop"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    om = tmp_path / "run.om"
    assert subprocess.run([*AKS_SIM, "export", "openmetrics", str(tmp_path / "r"), "-o", str(om)],
                          cwd=ROOT).returncode == 0
    blocks = tmp_path / "blocks"
    made = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(blocks)],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    base = datetime(2026, 1, 1, tzinfo=UTC).timestamp()  # the scenario's startTime
    ticks = [json.loads(x)["data"] for x in (tmp_path / "r" / "events.jsonl").read_text().splitlines()]
    at = 600.0
    # the sample at 600 s holds every tick published before it
    ticks = [d["fields"] for d in ticks if d["reason"] == "TrafficTick" and d["sim_time"] < at]
    ok_cart = sum(f["ok"] for f in ticks if f["flow"] == "cart")
    with prometheus(tmp_path, storage=blocks) as prom:
        count = prom.query('akssim_request_duration_seconds_count{run="shop",flow="cart"}', at=base + at)
        assert _value(count) == ok_cart
        p50 = _value(prom.query('histogram_quantile(0.5, akssim_request_duration_seconds_bucket'
                                '{run="shop",flow="cart"})', at=base + at))
    p50s = [f["p50"] for f in ticks if f["flow"] == "cart" and f["p50"] is not None]
    assert 0 < p50 <= 2 * max(p50s)


def test_export_errors_say_where(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text('{"format": "akssim-metrics/1", "run": "x"}\n{"t": 1}\n')
    bad = subprocess.run([*AKS_SIM, "export", "openmetrics", str(run_dir)], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert f"{run_dir / 'metrics.jsonl'}:2:1: expected a sample line" in bad.stderr
    missing = subprocess.run([*AKS_SIM, "export", "openmetrics", str(tmp_path / "nope")], cwd=ROOT,
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "expected the directory of an `aks-sim run`" in missing.stderr
    (run_dir / "metrics.jsonl").write_text(json.dumps({"format": "akssim-metrics/1"}) + "\n")
    zone = subprocess.run([*AKS_SIM, "export", "openmetrics", str(run_dir), "--start", "2026-01-01T00:00"],
                          cwd=ROOT, capture_output=True, text=True)
    assert zone.returncode == 2 and "has no time zone" in zone.stderr


def test_metrics_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = subprocess.run([*AKS_SIM, "run", str(_scenario(tmp_path)), "--quiet", "--out",
                               str(tmp_path / "r"), "--metrics-port", str(port)],
                              cwd=ROOT, capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in done.stderr


def _backfill(tmp: Path, scenario: Path, run_id: str, start: str) -> Path:
    """Run *scenario*, export its samples and turn them into Prometheus blocks."""
    done = subprocess.run([*AKS_SIM, "run", str(scenario), "--quiet", "--out", str(tmp / "r"),
                           "--run-id", run_id], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    om = tmp / "run.om"
    export = subprocess.run([*AKS_SIM, "export", "openmetrics", str(tmp / "r"), "--start", start,
                             "-o", str(om)], cwd=ROOT, capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    blocks = tmp / "blocks"
    made = subprocess.run([need("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(om),
                           str(blocks)], capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    return blocks


def _shipped(expr: str, run: str) -> str:
    """A dashboard's query as Grafana sends it: $run set, $__rate_interval at 4 x the 15 s
    sample interval (Grafana's rule for a 15 s scrape interval)."""
    return expr.replace("$run", run).replace("$__rate_interval", "1m")


def test_increase_sees_the_first_pod_kill_and_the_first_subnet_is_full(tmp_path: Path) -> None:
    """Counters start at 0 with their run, so increase() sees the first event: the dashboards'
    fault annotation shows the first (instant) pod_kill, the allocation-failure panel and the
    AksSimIpAllocationFailing alert the first SubnetIsFull (issue 15)."""
    import yaml

    text = cluster_yaml(subnet=PREFIX, count=3, max_pods=MAX_PODS, duration="10m")
    text += "workloads:" + deployment(replicas=4)
    # 20 nodes of 31 addresses do not fit in a /23 (507 usable): SubnetIsFull at 5m
    text += ("operations:\n  - {at: 5m, operation: scale, nodePool: user, count: 20}\n"
             "chaos:\n  - {at: 2m, fault: pod_kill, deployment: web, count: 1}\n")
    scenario = tmp_path / "burst.yaml"
    scenario.write_text(text)
    blocks = _backfill(tmp_path, scenario, "burst", "2026-03-01T08:00:00Z")
    events = [json.loads(x)["data"] for x in (tmp_path / "r" / "events.jsonl").read_text().splitlines()]
    kill = next(d["sim_time"] for d in events if d["reason"] == "FaultInjected")
    full = [d["sim_time"] for d in events if d["reason"] == "SubnetIsFull"]
    assert kill == 120 and full
    base = datetime(2026, 3, 1, 8, tzinfo=UTC).timestamp()
    board = json.loads((ROOT / "grafana" / "dashboards" / "cluster.json").read_text())
    annotation = next(a for a in board["annotations"]["list"] if a.get("name") == "Chaos faults")
    ips = json.loads((ROOT / "grafana" / "dashboards" / "ip-addresses.json").read_text())
    failures = next(p for p in ips["panels"] if p["title"] == "Address allocation failures by reason")
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "rules.yml").read_text())
    alert = next(r for g in rules["groups"] for r in g["rules"]
                 if r.get("alert") == "AksSimIpAllocationFailing")

    def sample_after(t: float) -> float:
        return base + (t // 15 + 1) * 15  # the first sample that holds an event at t

    at_zero = sum(1 for d in events if d["sim_time"] == 0 and d["reason"] == "RegisteredNode")
    with prometheus(tmp_path, storage=blocks) as prom:
        # the first sample is taken at 0 s, before any event: events at 0 s show as an increase
        registered = 'sum(increase(akssim_events_total{run="burst",reason="RegisteredNode"}[1m]))'
        assert at_zero and _value(prom.query(registered, at=base + 15)) >= at_zero
        # before: nothing to annotate; the series exist at 0
        assert prom.query(_shipped(annotation["expr"], "burst"), at=base + 100) == []
        zero = prom.query('akssim_faults_injected_total{run="burst",fault="pod_kill"}', at=base + 100)
        assert _value(zero) == 0
        shown = prom.query(_shipped(annotation["expr"], "burst"), at=sample_after(kill))
        assert [r["metric"]["fault"] for r in shown] == ["pod_kill"]
        panel = prom.query(_shipped(failures["targets"][0]["expr"], "burst"), at=sample_after(full[0]))
        by_reason = {r["metric"]["reason"]: float(r["value"][1]) for r in panel}
        assert by_reason["SubnetIsFull"] > 0
        # every ipam reason exists at 0, but the panel lists only those that happened
        happened = {d["reason"] for d in events if d["reason"] in by_reason}
        assert set(by_reason) == happened
        autoscaler = next(p for p in board["panels"] if p["title"] == "Cluster autoscaler activity")
        assert not any(d["reason"] in ("ScaledUpGroup", "NotTriggerScaleUp", "ScaleDown",
                                       "FailedToScaleUpGroup") for d in events)
        assert prom.query(_shipped(autoscaler["targets"][0]["expr"], "burst"),
                          at=sample_after(full[0])) == []
        firing = prom.query(alert["expr"], at=sample_after(full[0]))
        assert {r["metric"]["reason"] for r in firing} >= {"SubnetIsFull"}
