"""``aks-sim watch`` through a real Mosquitto: it subscribes to the topics its filters name
(checked in what the broker delivered, from the broker's own log), a TrafficTick flood does not
cost a ``--warnings`` watcher a Warning or the run's end, and events the broker drops are
counted and reported. The Warning copies on ``akssim/<run>/warnings/...`` are checked here too.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from servers import mosquitto, need

from services.mqtt.watch import Watcher, matches, topic_filters
from sim.telemetry.cloudevents import Outbox, status_message

ROOT = Path(__file__).resolve().parents[2]
AKS_SIM = [sys.executable, "-m", "services.cli"]
NODE_FAILURE = ROOT / "scenarios" / "node-failure-through-lb.yaml"
SMALL_QUEUE = ("allow_anonymous true\n"
               # Mosquitto's own limits per subscriber, smaller than its defaults (20, 1000) so
               # that one stalled subscriber overflows quickly; later lines win over servers.py's
               "max_inflight_messages 10\nmax_queued_messages 50\n")
SUBSCRIBE = re.compile(r"Received SUBSCRIBE from (\S+)")
SENT = re.compile(r"Sending PUBLISH to (\S+) \(d(\d), q\d, r(\d), m\d+, '([^']*)'")


def flood_scenario(tmp: Path, flows: int = 6) -> Path:
    """node-failure-through-lb with *flows* flows: one TrafficTick per flow per second for
    30 minutes (about 10,000 events at full speed), and the same two Warnings (the fault,
    NodeNotReady)."""
    src = NODE_FAILURE.read_text()
    head = src[:src.index("traffic:")]
    text = head + "traffic:\n  flows:\n" + "".join(
        f"    - name: shoppers-{i}\n      from: internet\n"
        f"      to: {{service: shop/storefront, port: 80}}\n"
        f"      rate: {{profile: constant, rps: 5}}\n" for i in range(flows)) + (
        "  backends:\n    - deployment: shop/storefront\n"
        "      serviceTime: {distribution: exponential, mean: 15ms}\n      concurrency: 4\n"
        "chaos:\n  - at: 10m\n    fault: node_failure\n    nodePool: user\n    fixedBy: reboot\n")
    path = tmp / "flood.yaml"
    path.write_text(text)
    return path


def run(scenario: Path, run_id: str, out: Path, url: str) -> list[dict]:
    """``aks-sim run --mqtt`` at full speed; the run's events (from events.jsonl)."""
    done = subprocess.run([*AKS_SIM, "run", str(scenario), "--quiet", "--out", str(out),
                           "--run-id", run_id, "--mqtt", url], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]


def watch(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*AKS_SIM, "watch", "--mqtt", url, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def subscriptions(log: Path) -> dict[str, list[str]]:
    """Client id -> the topic filters it subscribed, as the broker logged them."""
    lines = log.read_text(errors="replace").splitlines()
    out: dict[str, list[str]] = {}
    for i, line in enumerate(lines):
        m = SUBSCRIBE.search(line)
        if m:
            for nxt in lines[i + 1:]:
                if "\t" not in nxt or "(QoS" not in nxt:
                    break
                out.setdefault(m[1], []).append(nxt.split("\t", 1)[1].rsplit(" (QoS", 1)[0])
    return out


def client_of(log: Path, topic_filter: str, timeout: float = 30.0) -> str:
    """The id of the client that subscribed *topic_filter* (waiting for it to)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for client, filters in subscriptions(log).items():
            if topic_filter in filters:
                return client
        time.sleep(0.05)
    raise TimeoutError(f"nobody subscribed {topic_filter}")


def wait_subscribed(log: Path, client: str, topic_filter: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while topic_filter not in subscriptions(log).get(client, []):
        assert time.monotonic() < deadline, f"{client} never subscribed {topic_filter}"
        time.sleep(0.05)


def delivered(log: Path, client: str) -> list[str]:
    """Topics of the messages the broker sent *client* (first attempts, not redeliveries)."""
    return [m[4] for m in SENT.finditer(log.read_text(errors="replace"))
            if m[1] == client and m[2] == "0"]


def events_in(lines: list[str], run_id: str) -> list[str]:
    """The event lines of watch's output (not the status lines)."""
    return [x for x in lines if x.startswith(f"{run_id} #")]


def warnings_of(events: list[dict]) -> list[dict]:
    return [e["data"] for e in events if e["data"]["type"] == "Warning"]


def test_filters_name_only_the_topics_asked_for() -> None:
    assert topic_filters("r1", ["node"], None) == ["akssim/r1/node/#"]
    assert topic_filters("r1", None, ["NodeNotReady"]) == ["akssim/r1/+/NodeNotReady"]
    assert topic_filters("r1", None, None, warnings=True) == ["akssim/r1/warnings/#"]
    assert topic_filters("+", ["ipam"], None, warnings=True) == ["akssim/+/warnings/ipam/#"]
    assert matches("+/NodeNotReady", "node/NodeNotReady")
    assert not matches("+/NodeNotReady", "warnings/node/NodeNotReady")
    assert not matches("+/+", "warnings/node/NodeNotReady") and matches("warnings/#", "warnings/a/b")


def test_a_misspelt_filter_is_an_error_not_an_empty_watch() -> None:
    for bad, where in ((["--category", "nodes"], "--category: unknown value 'nodes'"),
                       (["--reason", "NodeNotready"], "--reason: unknown value 'NodeNotready'"),
                       (["--run", "a/b"], "--run: expected a run id"),
                       (["--until-finished"], "--until-finished: name the run"),
                       (["--count", "0"], "--count: expected an integer from 1")):
        done = subprocess.run([*AKS_SIM, "watch", "--mqtt", "mqtt://127.0.0.1:1", *bad],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert done.returncode == 2 and where in done.stderr and "Traceback" not in done.stderr


def test_a_warning_is_sent_twice_in_a_row_and_the_status_counts_each_topic() -> None:
    """The pure outbox: a Warning's copy (same bytes) right behind it on the warnings tree,
    Normal events once; the counts the status carries; a pair is dropped whole, never split."""
    from sim.events import NodeNotReady, NodeReady
    from sim.kernel.bus import Envelope

    box = Outbox(datetime(2026, 1, 1, tzinfo=UTC), capacity=4)
    envs = [Envelope(1, 0.0, "r", NodeReady("n1")), Envelope(2, 1.0, "r", NodeNotReady("n1", "1")),
            Envelope(3, 2.0, "r", NodeReady("n2")), Envelope(4, 3.0, "r", NodeNotReady("n2", "1")),
            Envelope(5, 4.0, "r", NodeNotReady("n3", "1"))]
    for env in envs[:3]:
        box.put_line(env, f'{{"seq":{env.seq}}}')
    assert [(m.topic, m.payload, m.seq) for m in box.queue] == [
        ("akssim/r/node/NodeReady", b'{"seq":1}', 1), ("akssim/r/node/NodeNotReady", b'{"seq":2}', 2),
        ("akssim/r/warnings/node/NodeNotReady", b'{"seq":2}', 2),
        ("akssim/r/node/NodeReady", b'{"seq":3}', 3)]
    box.put_line(envs[3], '{"seq":4}')  # full: the Warning and its copy are both left out
    box.queue.popleft()
    box.put_line(envs[4], '{"seq":5}')  # room for one: the copy comes along (one over)
    assert [m.seq for m in box.queue] == [2, 2, 3, 5, 5] and box.dropped == 1
    assert box.lost_ranges == [[4, 4]]
    assert box.topic_counts() == {"node/NodeNotReady": 2, "node/NodeReady": 2,
                                  "warnings/node/NodeNotReady": 2}
    assert status_message("r", "running", topics=box.topic_counts()).retain


def test_warnings_and_the_end_survive_a_traffic_flood(tmp_path: Path) -> None:
    """The issue's case: a watcher that does not keep up while about 10,000 TrafficTicks go
    by (stopped with SIGSTOP for the whole run, the extreme of a slow reader). A firehose
    subscriber (``akssim/<run>/#``, what watch used to subscribe) loses messages at the
    broker; ``watch --warnings --until-finished`` gets every Warning and the end."""
    sub_bin = need("mosquitto_sub")
    scenario = flood_scenario(tmp_path)
    with mosquitto(tmp_path, extra=SMALL_QUEUE) as broker:
        w = watch(broker.url, "--run", "flood", "--warnings", "--until-finished")
        firehose = subprocess.Popen([sub_bin, "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                                     "-i", "firehose", "-t", "akssim/flood/#"],
                                    stdout=subprocess.DEVNULL)
        try:
            watcher = client_of(broker.log, "akssim/flood/status")
            client_of(broker.log, "akssim/flood/#")
            w.send_signal(signal.SIGSTOP)
            firehose.send_signal(signal.SIGSTOP)
            events = run(scenario, "flood", tmp_path / "r", broker.url)
            w.send_signal(signal.SIGCONT)
            out, err = w.communicate(timeout=60)
        finally:
            w.send_signal(signal.SIGCONT)
            w.kill()
            firehose.kill()  # the control subscriber: no clean goodbye needed
            firehose.wait(10)
    log = broker.log.read_text(errors="replace")  # the broker has stopped: its log is complete
    ticks = sum(e["data"]["reason"] == "TrafficTick" for e in events)
    assert ticks > 10_000
    # the flood is one: the broker dropped messages for the subscriber of the whole tree
    assert "Outgoing messages are being dropped for client firehose" in log
    assert f"Outgoing messages are being dropped for client {watcher}" not in log
    assert w.returncode == 0, (out, err)
    lines = out.splitlines()
    warnings = warnings_of(events)
    assert [x["reason"] for x in warnings] == ["FaultInjected", "NodeNotReady"]
    shown = events_in(lines, "flood")
    assert len(shown) == len(warnings)
    for line, ev in zip(shown, warnings, strict=True):
        assert line.startswith(f"flood #{ev['seq']:>6}") and f"Warning {ev['reason']}: " in line
    assert lines[-1].startswith("flood status finished")
    assert f"{len(warnings)} of {len(warnings)} events on the watched topics arrived" in err
    # and the broker sent the watcher nothing but the warnings tree and the status
    topics = delivered(broker.log, watcher)
    assert topics and all(t == "akssim/flood/status" or t.startswith("akssim/flood/warnings/")
                          for t in topics)


def test_category_and_reason_subscribe_to_the_narrowed_topics(tmp_path: Path) -> None:
    """What the broker delivered to each watcher (its log), against the run's events."""
    with mosquitto(tmp_path) as broker:
        by_cat = watch(broker.url, "--run", "nf", "--category", "node", "--until-finished")
        by_reason = watch(broker.url, "--run", "nf", "--reason", "NodeNotReady", "--json",
                          "--until-finished")
        try:
            cat_id = client_of(broker.log, "akssim/nf/node/#")
            reason_id = client_of(broker.log, "akssim/nf/+/NodeNotReady")
            for client, narrowed in ((cat_id, "akssim/nf/node/#"),
                                     (reason_id, "akssim/nf/+/NodeNotReady")):
                wait_subscribed(broker.log, client, "akssim/nf/status")
                assert subscriptions(broker.log)[client] == [narrowed, "akssim/nf/status"]
            events = run(NODE_FAILURE, "nf", tmp_path / "r", broker.url)
            out_cat, err_cat = by_cat.communicate(timeout=60)
            out_reason, err_reason = by_reason.communicate(timeout=60)
        finally:
            by_cat.kill()
            by_reason.kill()
    assert by_cat.returncode == 0, err_cat
    assert by_reason.returncode == 0, err_reason
    node = [e for e in events if e["type"].startswith("io.akssim.node.")]
    not_ready = [e for e in events if e["data"]["reason"] == "NodeNotReady"]
    assert node and not_ready and len(node) < len(events) / 10  # mostly TrafficTicks
    got_cat = [t for t in delivered(broker.log, cat_id) if t != "akssim/nf/status"]
    assert got_cat == [f"akssim/nf/node/{e['data']['reason']}" for e in node]
    got_reason = [t for t in delivered(broker.log, reason_id) if t != "akssim/nf/status"]
    assert got_reason == ["akssim/nf/node/NodeNotReady"] * len(not_ready)
    printed = [json.loads(x) for x in out_reason.splitlines() if x.startswith("{")]
    assert printed == not_ready
    assert len(events_in(out_cat.splitlines(), "nf")) == len(node)


def test_watch_reports_what_the_broker_dropped_and_still_sees_the_end(tmp_path: Path) -> None:
    """A watcher of the flood itself (``--category traffic``) stalls: the broker drops most of
    it, the live final status included. watch still ends (it asks for the retained status when
    the line goes quiet), says how many events did not arrive, and exits 1. The count is
    checked against the run's events.jsonl and the broker's log of what it sent."""
    scenario = flood_scenario(tmp_path, flows=2)
    with mosquitto(tmp_path, extra=SMALL_QUEUE) as broker:
        w = watch(broker.url, "--run", "fl", "--category", "traffic", "--until-finished")
        try:
            watcher = client_of(broker.log, "akssim/fl/status")
            w.send_signal(signal.SIGSTOP)
            events = run(scenario, "fl", tmp_path / "r", broker.url)
            w.send_signal(signal.SIGCONT)
            out, err = w.communicate(timeout=60)
        finally:
            w.send_signal(signal.SIGCONT)
            w.kill()
    log = broker.log.read_text(errors="replace")
    assert f"Outgoing messages are being dropped for client {watcher}" in log
    assert w.returncode == 1, err
    ticks = sum(e["data"]["reason"] == "TrafficTick" for e in events)
    sent = [t for t in delivered(broker.log, watcher) if t.startswith("akssim/fl/traffic/")]
    shown = events_in(out.splitlines(), "fl")
    assert len(shown) == len(sent) < ticks
    assert out.splitlines()[-1].startswith("fl status finished")
    assert (f"run fl: {ticks - len(sent)} of the {ticks} events it sent on the watched topics "
            "did not arrive") in err
    assert f"{len(sent)} of {ticks} events on the watched topics arrived" in err


def test_mqtt_password_comes_from_the_environment(tmp_path: Path) -> None:
    passwd = need("mosquitto_passwd")
    pwfile = tmp_path / "passwd"
    subprocess.run([passwd, "-c", "-b", str(pwfile), "sim", "s3cret"], check=True)
    os.chmod(pwfile, 0o600)
    with mosquitto(tmp_path, extra=f"allow_anonymous false\npassword_file {pwfile}\n") as broker:
        args = [*AKS_SIM, "watch", "--mqtt", broker.url, "--mqtt-username", "sim", "--count", "1"]
        ok = subprocess.Popen(args, env={**os.environ, "AKSSIM_MQTT_PASSWORD": "s3cret"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        bad = subprocess.run(args, env={**os.environ, "AKSSIM_MQTT_PASSWORD": "wrong"},
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
        try:
            client_of(broker.log, "akssim/+/+/+")
            subprocess.run([need("mosquitto_pub"), "-p", str(broker.port), "-u", "sim", "-P",
                            "s3cret", "-q", "1", "-t", "akssim/x/node/NodeReady", "-m", "{}"],
                           check=True, timeout=30)
            out, err = ok.communicate(timeout=30)
        finally:
            ok.kill()
    assert ok.returncode == 0, err
    assert out.strip() == "{}"
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "MQTT broker 127.0.0.1" in bad.stderr


def test_a_run_id_used_again_starts_a_new_check(capsys: pytest.CaptureFixture[str]) -> None:
    """A second run under the same id starts again at seq 1: its events are printed (not taken
    for duplicates of the first run's) and checked against its own counts."""

    args = argparse.Namespace(run="again", until_finished=True, count=None, json=True)
    out = io.StringIO()
    w = Watcher(args, topic_filters("again", ["node"], None), out)

    def event(seq: int) -> bytes:
        return json.dumps({"data": {"seq": seq, "reason": "NodeReady"}}).encode()

    def status(state: str, n: int, **more: object) -> bytes:
        return status_message("again", state, topics={"node/NodeReady": n} if n else {},
                              **more).payload

    for lost in (False, True):
        assert not w.on_status("akssim/again/status", status("running", 0, seed=1, sim_time=0.0),
                               False)
        for seq in (1, 2, 3):
            if not (lost and seq == 2):
                assert not w.on_event("akssim/again/node/NodeReady", event(seq))
        assert w.on_status("akssim/again/status", status("finished", 3, lost_marker=lost), False)
    printed = [json.loads(x)["data"]["seq"] for x in out.getvalue().splitlines() if "data" in x]
    assert printed == [1, 2, 3, 1, 3]
    err = capsys.readouterr().err
    assert "run again finished: 3 of 3 events on the watched topics arrived (since its start)" in err
    assert "run again: 1 of the 3 events it sent on the watched topics did not arrive" in err
    assert "2 of 3 events on the watched topics arrived" in err and w.missed
