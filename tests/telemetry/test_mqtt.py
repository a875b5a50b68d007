"""Events over MQTT through a real Mosquitto: every event as its CloudEvent, in order, the
topic tree, the retained status and last will, broker outages, authentication, MQTT v5."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiomqtt
import pytest
from servers import Mosquitto, free_port, mosquitto, need

ROOT = Path(__file__).resolve().parents[2]
AKS_SIM = [sys.executable, "-m", "services.cli"]
IPAM = ROOT / "scenarios" / "azure-cni-ip-exhaustion.yaml"
TRAFFIC = ROOT / "scenarios" / "ingress-shop.yaml"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AKS_SIM, "run", *args, "--quiet"], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=300)


async def _collect(broker: Mosquitto, topic: str, into: list[aiomqtt.Message],
                   ready: asyncio.Event, stop_on_finished: bool = True,
                   protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V311) -> None:
    """Subscribe (QoS 1) and keep messages until the run's status says finished."""
    async with aiomqtt.Client("127.0.0.1", broker.port, protocol=protocol) as client:
        await client.subscribe(topic, qos=1)
        ready.set()
        async for msg in client.messages:
            into.append(msg)
            if stop_on_finished and msg.topic.value.endswith("/status") and \
                    json.loads(msg.payload)["state"] == "finished":
                return


async def test_every_event_is_published_as_its_cloudevent_in_order(tmp_path: Path) -> None:
    """The stream carries each line of events.jsonl, byte for byte, on
    akssim/<run>/<category>/<reason>, at QoS 1, in seq order, then a finished status; each
    Warning again, right behind it, on akssim/<run>/warnings/<category>/<reason>."""
    with mosquitto(tmp_path) as broker:
        got: list[aiomqtt.Message] = []
        ready = asyncio.Event()
        sub = asyncio.create_task(_collect(broker, "akssim/ev1/#", got, ready))
        await asyncio.wait_for(ready.wait(), 10)
        proc = await asyncio.create_subprocess_exec(
            *AKS_SIM, "run", str(IPAM), "--quiet", "--out", str(tmp_path / "run"),
            "--run-id", "ev1", "--mqtt", broker.url, cwd=ROOT)
        assert await proc.wait() == 0
        await asyncio.wait_for(sub, 30)
    lines = (tmp_path / "run" / "events.jsonl").read_bytes().splitlines()
    stream = [m for m in got if not m.topic.value.endswith("/status")]
    events = [m for m in stream if not m.topic.value.startswith("akssim/ev1/warnings/")]
    assert [m.payload for m in events] == lines
    warnings = [m for m in events if json.loads(m.payload)["data"]["type"] == "Warning"]
    assert warnings, "the scenario has Warnings (SubnetIsFull, FailedCreatePodSandBox, ...)"
    for i, m in enumerate(stream):
        is_warning = json.loads(m.payload)["data"]["type"] == "Warning"
        if m.topic.value.startswith("akssim/ev1/warnings/"):
            original = stream[i - 1]
            assert is_warning and m.payload == original.payload
            assert m.topic.value == original.topic.value.replace("akssim/ev1/", "akssim/ev1/warnings/")
        elif is_warning:
            assert stream[i + 1].topic.value.startswith("akssim/ev1/warnings/")
    assert len(stream) == len(events) + len(warnings)
    for m in events:
        ce = json.loads(m.payload)
        category, reason = ce["type"].split(".")[2:]
        assert m.topic.value == f"akssim/ev1/{category}/{reason}"
        assert m.qos == 1 and ce["specversion"] == "1.0" and ce["data"]["run_id"] == "ev1"
    assert [json.loads(m.payload)["data"]["seq"] for m in events] == list(range(1, len(lines) + 1))
    statuses = [json.loads(m.payload) for m in got if m.topic.value == "akssim/ev1/status"]
    assert statuses[0]["state"] == "running" and statuses[-1]["state"] == "finished"
    assert statuses[-1]["events"] == len(lines) and statuses[-1]["dropped"] == 0
    # the status counts what went to each topic (what watch checks its deliveries against)
    sent: dict[str, int] = {}
    for m in stream:
        key = m.topic.value.removeprefix("akssim/ev1/")
        sent[key] = sent.get(key, 0) + 1
    assert statuses[-1]["topics"] == sent and statuses[0]["topics"] == {}


def test_mosquitto_sub_shows_the_ip_allocation_failures_of_every_run(tmp_path: Path) -> None:
    """The issue's example: mosquitto_sub -t 'akssim/+/ipam/#'."""
    sub_bin = need("mosquitto_sub")
    with mosquitto(tmp_path) as broker:
        sub = subprocess.Popen([sub_bin, "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                                "-t", "akssim/+/ipam/#", "-v", "-W", "60"],
                               stdout=subprocess.PIPE, text=True)
        try:
            for run in ("a", "b"):
                assert _run(str(IPAM), "--out", str(tmp_path / run), "--run-id", run,
                            "--mqtt", broker.url).returncode == 0
        finally:
            import time
            time.sleep(1.0)
            sub.terminate()
            out = sub.communicate(timeout=10)[0]
    seen = [line.split(" ", 1) for line in out.splitlines()]
    for run in ("a", "b"):
        expected = [json.loads(x) for x in (tmp_path / run / "events.jsonl").read_text().splitlines()]
        ipam = [e for e in expected if e["type"].startswith("io.akssim.ipam.")]
        assert ipam, "the scenario runs out of addresses"
        mine = [json.loads(p) for t, p in seen if t.startswith(f"akssim/{run}/ipam/")]
        assert mine == ipam


async def test_status_is_retained_for_late_subscribers(tmp_path: Path) -> None:
    with mosquitto(tmp_path) as broker:
        assert _run(str(IPAM), "--out", str(tmp_path / "r"), "--run-id", "late",
                    "--mqtt", broker.url).returncode == 0
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.subscribe("akssim/late/status", qos=1)
            msg = await asyncio.wait_for(anext(aiter(client.messages)), 10)
    body = json.loads(msg.payload)
    assert msg.retain and body["state"] == "finished" and body["passed"] is True
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert body["passed"] == report["passed"]


async def test_last_will_says_the_publisher_died(tmp_path: Path) -> None:
    """A run killed mid-way leaves status 'lost' (the broker publishes the will)."""
    with mosquitto(tmp_path) as broker:
        proc = await asyncio.create_subprocess_exec(
            *AKS_SIM, "run", str(TRAFFIC), "--quiet", "--out", str(tmp_path / "r"),
            "--run-id", "dies", "--mqtt", broker.url, "--speed", "60", cwd=ROOT)
        states: list[str] = []
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.subscribe("akssim/dies/status", qos=1)
            async for msg in client.messages:
                states.append(json.loads(msg.payload)["state"])
                if states[-1] == "running" and proc.returncode is None and len(states) == 1:
                    proc.send_signal(signal.SIGKILL)
                if states[-1] == "lost":
                    break
        await proc.wait()
    assert states[0] == "running" and states[-1] == "lost"


CE_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
"""The CloudEvents MQTT protocol binding, structured content mode on MQTT 5: the PUBLISH's
Content Type property is the event format's media type."""


async def test_mqtt5_messages_carry_the_cloudevents_binding_content_type(tmp_path: Path) -> None:
    """Read with an MQTT v5 client: every event has Content Type
    application/cloudevents+json; charset=utf-8 and payload format indicator 1 (UTF-8), the
    status messages application/json; and the last will too, when the publisher dies."""
    with mosquitto(tmp_path) as broker:
        got: list[aiomqtt.Message] = []
        ready = asyncio.Event()
        sub = asyncio.create_task(_collect(broker, "akssim/v5/#", got, ready,
                                           protocol=aiomqtt.ProtocolVersion.V5))
        await asyncio.wait_for(ready.wait(), 10)
        proc = await asyncio.create_subprocess_exec(
            *AKS_SIM, "run", str(IPAM), "--quiet", "--out", str(tmp_path / "run"), "--run-id", "v5",
            "--mqtt", broker.url, "--mqtt-protocol", "5", cwd=ROOT)
        assert await proc.wait() == 0
        await asyncio.wait_for(sub, 30)
        # the will: kill a paced run and read its 'lost' status with a v5 client
        dies = await asyncio.create_subprocess_exec(
            *AKS_SIM, "run", str(TRAFFIC), "--quiet", "--out", str(tmp_path / "dies"),
            "--run-id", "v5dies", "--mqtt", broker.url, "--mqtt-protocol", "5", "--speed", "60",
            cwd=ROOT)
        will = None
        async with aiomqtt.Client("127.0.0.1", broker.port, protocol=aiomqtt.ProtocolVersion.V5) as client:
            await client.subscribe("akssim/v5dies/status", qos=1)
            async for msg in client.messages:
                state = json.loads(msg.payload)["state"]
                if state == "running" and dies.returncode is None:
                    dies.send_signal(signal.SIGKILL)
                if state == "lost":
                    will = msg
                    break
        await dies.wait()
    events = [m for m in got if not m.topic.value.endswith("/status")
              and "/warnings/" not in m.topic.value]  # the warnings tree repeats Warnings
    copies = [m for m in got if "/warnings/" in m.topic.value]
    statuses = [m for m in got if m.topic.value.endswith("/status")]
    lines = (tmp_path / "run" / "events.jsonl").read_bytes().splitlines()
    assert [m.payload for m in events] == lines and statuses and copies
    for m in [*events, *copies]:
        assert m.properties is not None, m.topic.value
        assert m.properties.ContentType == CE_CONTENT_TYPE
        assert m.properties.PayloadFormatIndicator == 1
    for m in [*statuses, will]:
        assert m is not None and m.properties is not None
        assert m.properties.ContentType == "application/json"
        assert m.properties.PayloadFormatIndicator == 1


async def test_the_cloudevents_sdk_parses_every_event_of_a_run(tmp_path: Path) -> None:
    """The CloudEvents Python SDK (a test dependency) reads every message of a run, as an
    MQTT v5 subscriber gets it, as a valid CloudEvents 1.0 JSON event with our attributes."""
    from cloudevents.core.formats.json import JSONFormat

    with mosquitto(tmp_path) as broker:
        got: list[aiomqtt.Message] = []
        ready = asyncio.Event()
        sub = asyncio.create_task(_collect(broker, "akssim/sdk/#", got, ready,
                                           protocol=aiomqtt.ProtocolVersion.V5))
        await asyncio.wait_for(ready.wait(), 10)
        proc = await asyncio.create_subprocess_exec(
            *AKS_SIM, "run", str(TRAFFIC), "--quiet", "--out", str(tmp_path / "r"),
            "--run-id", "sdk", "--mqtt", broker.url, cwd=ROOT)
        assert await proc.wait() == 0
        await asyncio.wait_for(sub, 60)
    events = [m for m in got if not m.topic.value.endswith("/status")
              and "/warnings/" not in m.topic.value]  # each Warning once
    assert len(events) == len((tmp_path / "r" / "events.jsonl").read_bytes().splitlines()) > 1000
    fmt = JSONFormat()
    types = set()
    for seq, m in enumerate(events, start=1):
        assert isinstance(m.payload, bytes)
        event = fmt.read(None, m.payload)
        raw = json.loads(m.payload)
        assert event.get_specversion() == "1.0" and event.get_id() == raw["id"]
        assert event.get_source() == raw["source"] and event.get_time() is not None
        category_reason = m.topic.value.split("/", 2)[2].replace("/", ".")
        assert event.get_type() == raw["type"] == f"io.akssim.{category_reason}"
        assert event.get_datacontenttype() == "application/json"
        data = event.get_data()
        assert isinstance(data, dict) and data["seq"] == seq and data["run_id"] == "sdk"
        types.add(event.get_type())
    assert len(types) > 3


async def test_nothing_is_lost_when_the_broker_restarts_mid_run(tmp_path: Path) -> None:
    """Kill the real Mosquitto in the middle of a paced run and start it again: a subscriber
    with a persistent session gets every seq in order (duplicates allowed, gaps not)."""
    broker = Mosquitto(tmp_path).start()
    seqs: list[int] = []
    finished = asyncio.Event()

    async def subscriber() -> None:
        while not finished.is_set():
            try:
                async with aiomqtt.Client("127.0.0.1", broker.port, identifier="persistent-watcher",
                                          clean_session=False,
                                          protocol=aiomqtt.ProtocolVersion.V311) as client:
                    await client.subscribe("akssim/outage/#", qos=1)
                    async for msg in client.messages:
                        body = json.loads(msg.payload)
                        if msg.topic.value.endswith("/status"):
                            if body["state"] == "finished":
                                finished.set()
                                return
                            continue
                        seqs.append(body["data"]["seq"])
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    sub = asyncio.create_task(subscriber())
    try:
        await asyncio.sleep(0.5)
        proc = await asyncio.create_subprocess_exec(
            *AKS_SIM, "run", str(TRAFFIC), "--quiet", "--out", str(tmp_path / "r"),
            "--run-id", "outage", "--mqtt", broker.url, "--speed", "240", cwd=ROOT,
            stderr=asyncio.subprocess.PIPE)
        while len(seqs) < 300:
            await asyncio.sleep(0.05)
        broker.stop()  # SIGTERM: Mosquitto saves its sessions, as on a restart
        await asyncio.sleep(1.5)
        broker.start()
        _, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0
        await asyncio.wait_for(finished.wait(), 60)
    finally:
        sub.cancel()
        broker.stop()
    total = len((tmp_path / "r" / "events.jsonl").read_bytes().splitlines())
    first_seen: list[int] = []
    high = 0
    for s in seqs:
        assert s <= high + 1, f"gap: {s} after {high}"
        if s == high + 1:
            first_seen.append(s)
            high = s
    assert first_seen == list(range(1, total + 1))
    assert b"mqtt_disconnected" in err  # the publisher did lose the broker mid-run
    assert len(seqs) > 300 and seqs.index(300) < len(seqs) - 100  # and went on after it


def test_watch_prints_the_stream_readably_with_filters(tmp_path: Path) -> None:
    with mosquitto(tmp_path) as broker:
        watch = subprocess.Popen([*AKS_SIM, "watch", "--mqtt", broker.url, "--run", "w1",
                                  "--category", "ipam", "--until-finished"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        import time
        time.sleep(1.0)
        assert _run(str(IPAM), "--out", str(tmp_path / "r"), "--run-id", "w1",
                    "--mqtt", broker.url).returncode == 0
        out, err = watch.communicate(timeout=30)
    assert watch.returncode == 0, err
    events = [json.loads(x)["data"] for x in (tmp_path / "r" / "events.jsonl").read_text().splitlines()]
    ipam = [e for e in events if e["reason"] in ("SubnetIsFull", "FailedCreatePodSandBox",
                                                  "CIDRNotAvailable", "FailedToCreateRoute")]
    lines = [x for x in out.splitlines() if " status " not in x]
    assert len(lines) == len(ipam)
    for line, ev in zip(lines, ipam, strict=True):
        assert line.startswith(f"w1 #{ev['seq']:>6}") and f"{ev['reason']}: " in line
        assert ev["message"] in line
    assert out.splitlines()[-1].startswith("w1 status finished")


def test_a_broker_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    done = _run(str(IPAM), "--out", str(tmp_path / "r"), "--mqtt", f"mqtt://127.0.0.1:{port}")
    assert done.returncode == 2
    assert f"--mqtt: cannot connect to MQTT broker 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
    bad = _run(str(IPAM), "--out", str(tmp_path / "r"), "--mqtt", "http://127.0.0.1:1883")
    assert bad.returncode == 2 and "expected a URL like mqtt://host:1883" in bad.stderr


def test_username_and_password(tmp_path: Path) -> None:
    passwd = need("mosquitto_passwd")
    pwfile = tmp_path / "passwd"
    subprocess.run([passwd, "-c", "-b", str(pwfile), "sim", "s3cret"], check=True)
    os.chmod(pwfile, 0o600)
    with mosquitto(tmp_path, extra=f"allow_anonymous false\npassword_file {pwfile}\n") as broker:
        ok = _run(str(IPAM), "--out", str(tmp_path / "ok"), "--mqtt", broker.url,
                  "--mqtt-username", "sim", env={"AKSSIM_MQTT_PASSWORD": "s3cret"})
        assert ok.returncode == 0, ok.stderr
        wrong = _run(str(IPAM), "--out", str(tmp_path / "no"), "--mqtt",
                     f"mqtt://sim:wrong@127.0.0.1:{broker.port}")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "cannot connect to MQTT broker" in wrong.stderr
    assert "authori" in wrong.stderr.lower() or "password" in wrong.stderr.lower()


@pytest.mark.parametrize("flag,expected", [("auto", "p5"), ("3.1.1", "p2")])
def test_mqtt_v5_where_the_broker_has_it(tmp_path: Path, flag: str, expected: str) -> None:
    """Mosquitto 2 speaks v5: ``auto`` uses it. The broker's log names each client's protocol
    (Mosquitto's own numbering: p2 = 3.1.1, p5 = v5)."""
    with mosquitto(tmp_path) as broker:
        assert _run(str(IPAM), "--out", str(tmp_path / "r"), "--mqtt", broker.url,
                    "--mqtt-protocol", flag).returncode == 0
        log = broker.log.read_text(errors="replace")
    connects = [line for line in log.splitlines() if "New client connected" in line]
    assert connects and all(f"({expected}," in line for line in connects)


def _certificates(tmp: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1, made with openssl."""
    openssl = need("openssl")
    ca_key, ca, key, csr, cert = (tmp / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    run = lambda *a: subprocess.run([openssl, *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=akssim test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")
    ext = tmp / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    for p in (key, cert, ca):
        os.chmod(p, 0o644)
    return ca, cert, key


def test_tls_with_the_brokers_ca(tmp_path: Path) -> None:
    """--mqtt-ca: the broker's certificate is checked against the CA (and 127.0.0.1)."""
    ca, cert, key = _certificates(tmp_path)
    tls = f"allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    with mosquitto(tmp_path, extra=tls) as broker:
        ok = _run(str(IPAM), "--out", str(tmp_path / "ok"), "--mqtt", f"mqtts://127.0.0.1:{broker.port}",
                  "--mqtt-ca", str(ca))
        assert ok.returncode == 0, ok.stderr
        (tmp_path / "other").mkdir()
        other_ca, _, _ = _certificates(tmp_path / "other")
        bad = _run(str(IPAM), "--out", str(tmp_path / "bad"), "--mqtt",
                   f"mqtts://127.0.0.1:{broker.port}", "--mqtt-ca", str(other_ca))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "certificate verify failed" in bad.stderr


async def test_a_paced_run_counts_and_reports_what_an_outage_did_not_fit(tmp_path: Path) -> None:
    """An outage longer than the outbox: a paced run keeps its clock, and every event that did
    not fit is counted (status, stderr with the seq ranges); events.jsonl has them all."""
    broker = Mosquitto(tmp_path).start()
    statuses: list[dict] = []
    try:
        proc = await asyncio.create_subprocess_exec(
            *AKS_SIM, "run", str(TRAFFIC), "--quiet", "--out", str(tmp_path / "r"),
            "--run-id", "small", "--mqtt", broker.url, "--speed", "400", "--mqtt-outbox", "30",
            cwd=ROOT, stderr=asyncio.subprocess.PIPE)
        for _ in range(200):  # the run is connected and publishing (a loaded machine is slow)
            if "New client connected" in broker.log.read_text(errors="replace"):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        broker.stop()
        await asyncio.sleep(1.5)
        broker.start()
        _, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.subscribe("akssim/small/status", qos=1)
            msg = await asyncio.wait_for(anext(aiter(client.messages)), 10)
            statuses.append(json.loads(msg.payload))
    finally:
        broker.stop()
    final = statuses[-1]
    assert final["state"] == "finished" and final["dropped"] > 0
    text = err.decode()
    assert f"warning: {final['dropped']} events did not reach the MQTT broker (seq " in text
    lost = sum(b - a + 1 for a, b in final["lost"])
    assert lost == final["dropped"]
    total = len((tmp_path / "r" / "events.jsonl").read_bytes().splitlines())
    assert all(1 <= a <= b <= total for a, b in final["lost"])
