"""The sinks without servers: the outbox's accounting, pacing, logs, sink isolation, topic
filters, and the OpenMetrics text read back by an OpenMetrics parser."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from simkit import cluster_yaml, deployment, make_sim

from services import logging as shell_logging
from services.live.metrics import ShellMetrics, isolate
from services.live.pacer import Pacer
from services.mqtt.watch import topic_filters
from sim.events import NodeReady
from sim.telemetry.cloudevents import MqttMessage, Outbox, status_message, to_message
from sim.telemetry.logging import event_logger
from sim.telemetry.metrics import Sampler
from sim.telemetry.openmetrics import SampleWriter, export

START = datetime(2026, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _msg(seq: int) -> MqttMessage:
    return MqttMessage("akssim/r/node/NodeReady", b"{}", False, seq)


def test_outbox_counts_what_does_not_fit_with_the_seq_ranges() -> None:
    box = Outbox(START, capacity=3)
    assert all(box.put(_msg(s)) for s in (1, 2, 3))
    assert [box.put(_msg(s)) for s in (4, 5, 6)] == [False] * 3
    box.queue.popleft()
    assert box.put(_msg(7)) and not box.put(_msg(8)) and not box.put(_msg(10))
    assert box.dropped == 5
    assert box.lost_ranges == [[4, 6], [8, 8], [10, 10]]
    # the run's status is never dropped: subscribers must learn how the run ended
    assert box.put(status_message("r", "finished")) and len(box) == 4


def test_event_message_topic_and_payload() -> None:
    sim, events = make_sim(cluster_yaml(count=1, duration="5m"))
    sim.advance_to(1)
    env = next(e for e in events if isinstance(e.event, NodeReady))
    msg = to_message(env, START)
    assert msg.topic == "akssim/local/node/NodeReady" and msg.seq == env.seq and not msg.retain
    body = json.loads(msg.payload)
    assert body["data"]["seq"] == env.seq and body["type"] == "io.akssim.node.NodeReady"


def test_pacer_asks_for_speed_times_the_wall_time() -> None:
    now = [100.0]
    pacer = Pacer(60, lambda: now[0])
    now[0] += 2.5
    assert pacer.target() == 150.0
    try:
        Pacer(0, lambda: 0.0)
    except ValueError as exc:
        assert "--speed" in str(exc)
    else:
        raise AssertionError("a zero speed must be refused")


def test_json_logs_carry_the_run_id_and_event_fields() -> None:
    out = io.StringIO()
    shell_logging.configure("json", "debug", out)
    structlog.contextvars.clear_contextvars()
    shell_logging.bind_run("run-42")
    sim, _ = make_sim(cluster_yaml(count=1, duration="5m"))
    sim.bus.subscribe(NodeReady, event_logger())
    sim.advance_to(1)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    structlog.contextvars.clear_contextvars()
    assert lines and all(x["run_id"] == "run-42" for x in lines)
    assert {x["event"] for x in lines} == {"NodeReady"} and all(x["seq"] >= 1 for x in lines)
    assert all(x["level"] == "debug" for x in lines)  # Normal events are debug
    shell_logging.configure("console", "warning", io.StringIO())


def test_console_logs_are_filtered_by_level() -> None:
    out = io.StringIO()
    shell_logging.configure("console", "warning", out)
    log = structlog.get_logger("t")
    log.info("quiet")
    log.warning("mqtt_disconnected", broker="127.0.0.1:1883")
    text = out.getvalue()
    assert "quiet" not in text and "mqtt_disconnected" in text and "broker=127.0.0.1:1883" in text


def test_a_failing_sink_is_counted_and_the_run_goes_on() -> None:
    registry = CollectorRegistry()
    metrics = ShellMetrics(registry)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(io.StringIO()))

    def broken(env: object) -> None:
        raise OSError("disk full")

    sim, events = make_sim(cluster_yaml(count=1, duration="5m"))
    sim.bus.subscribe(NodeReady, isolate("jsonl", broken, metrics, "r"))
    sim.advance_to(sim.end)
    ready = [e for e in events if isinstance(e.event, NodeReady)]
    assert ready
    assert registry.get_sample_value("akssim_sink_errors_total", {"run": "r", "sink": "jsonl"}) == len(ready)


def test_topic_filters() -> None:
    assert topic_filters("+", None, None) == ["akssim/+/+/+"]
    assert topic_filters("r1", ["ipam"], None) == ["akssim/r1/ipam/#"]
    assert topic_filters("r1", None, ["SubnetIsFull"]) == ["akssim/r1/+/SubnetIsFull"]
    assert topic_filters("r1", ["ipam", "node"], ["NodeNotReady"]) == [
        "akssim/r1/ipam/NodeNotReady", "akssim/r1/node/NodeNotReady"]


def test_openmetrics_export_parses_with_timestamps_mapped_from_sim_time() -> None:
    text = (ROOT / "scenarios" / "ingress-shop.yaml").read_text()
    sim, _ = make_sim(text)
    sampler = Sampler(sim.model, sim.bus)
    buf = io.StringIO()
    writer = SampleWriter(buf.write, "r9", "2026-01-01T00:00:00Z", 30.0)
    for t in (30.0, 60.0, 90.0):
        sim.advance_to(t)
        writer.write(t, sampler.sample())
    om = "".join(export(io.StringIO(buf.getvalue()), START))
    # prometheus_client's parser rejects a histogram series with more than one timestamp
    # (its +Inf check regroups by timestamp); promtool takes them, see test_prometheus.py
    plain = "".join(line + "\n" for line in om.splitlines()
                    if "_duration_seconds" not in line)
    families = {f.name: f for f in text_string_to_metric_families(plain)}
    sim_time = families["akssim_sim_time_seconds"].samples
    assert [(s.value, float(s.timestamp)) for s in sim_time] == [
        (t, START.timestamp() + t) for t in (30.0, 60.0, 90.0)]
    assert all(s.labels["run"] == "r9" for f in families.values() for s in f.samples)
    points = [line for line in om.splitlines()
              if line.startswith("nginx_ingress_controller_request_duration_seconds_")]
    # per series and instant: the 11 buckets, +Inf, then _count and _sum
    assert len(points) % 14 == 0 and points
    for i in range(0, len(points), 14):
        group = points[i:i + 14]
        assert 'le="+Inf"' in group[11] and "_count{" in group[12] and "_sum{" in group[13]
        assert group[11].split()[-2] == group[12].split()[-2]  # +Inf == count
        assert len({line.split()[-1] for line in group}) == 1  # one timestamp
    assert families["akssim_requests"].type == "counter"


def test_events_still_flow_to_a_deployment_of_pods() -> None:
    # a tiny end-to-end of the sampler over pods, to keep the per-pod families honest
    sim, _ = make_sim(cluster_yaml(count=1, duration="5m") + "workloads:" + deployment(replicas=2))
    sampler = Sampler(sim.model, sim.bus)
    sim.advance_to(10)
    phases = dict(next(s for f, s in sampler.sample() if f.name == "kube_pod_status_phase"))
    assert sum(v for k, v in phases.items() if k[3] == "Running") == 2
