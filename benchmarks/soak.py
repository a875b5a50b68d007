"""Soak (issue 16): the service runs many simulated hours of the busiest example at full speed
while a client follows it over SSE and over MQTT, faults arrive every simulated minute, and
`/healthz` is asked every 50 ms. Nothing may be lost and the service must stay responsive.

Starts its own Mosquitto and `aks-sim serve` on free loopback ports. The scenario (default
`ingress-shop`, the example with the most events per simulated second) is sent inline with its
files and its duration set to `--hours`. One fault per simulated minute is sent, as early as
it can be, with `at` the delay to its minute (a pod_kill of a storefront or a cart pod, or
zone_latency for 30 s). Figures (the last line is one JSON object):
- events: the run's count; SSE and MQTT: how many each follower got, and the seqs missing;
- peak RSS of the service process (VmHWM), MB;
- `/healthz` latency: p50, p99 and max over the run, ms; faults accepted;
- wall and CPU seconds of the service.

    .venv/bin/python benchmarks/soak.py [--hours 24] [--scenario ingress-shop]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "soak-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def call(base: str, method: str, path: str, body: object = None, timeout: float = 30) -> object:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers=AUTH | {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


def hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scenario_body(name: str, hours: float) -> dict[str, object]:
    from services.examples import find_example
    from sim.scenario import read_bundle

    path = find_example(name)
    if path is None:
        raise SystemExit(f"no shipped example {name!r}")
    bundle = read_bundle(str(path))
    lines = bundle.text.splitlines()
    text = "\n".join(f"duration: {hours:g}h" if line.startswith("duration:") else line
                     for line in lines) + "\n"
    return {"yaml": text, "files": bundle.files, "file": path.name, "runId": "soak"}


def follow_sse(base: str, got: list[int], stop: threading.Event) -> None:
    req = urllib.request.Request(f"{base}/v1/runs/soak/events?from_seq=1", headers=AUTH)
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode()
            if line.startswith("id: "):
                got.append(int(line[4:]))
            elif line.startswith("event: end") or stop.is_set():
                return


async def follow_mqtt(port: int, got: list[int], done: asyncio.Event) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port, identifier="soak-follower", clean_session=False,
                              max_queued_incoming_messages=0) as client:
        await client.subscribe("akssim/soak/+/+", qos=1)
        await client.subscribe("akssim/soak/status", qos=1)
        async for msg in client.messages:
            if str(msg.topic) == "akssim/soak/status":
                status = json.loads(msg.payload)
                if status.get("state") in ("finished", "stopped", "failed"):
                    done.set()
                    return
                continue
            got.append(json.loads(msg.payload)["data"]["seq"])


def poll_health(base: str, times: list[float], stop: threading.Event) -> None:
    t0 = time.perf_counter()
    while not stop.is_set():
        started = time.perf_counter()
        if os.environ.get("SOAK_DEBUG") and times and times[-1] > 0.1:
            print(f"slow healthz {times[-1]:.2f}s at {started - t0:.1f}s", file=sys.stderr)
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=10) as r:
                r.read()
            times.append(time.perf_counter() - started)
        except (OSError, urllib.error.URLError):
            times.append(10.0)
        time.sleep(0.05)


def inject_faults(base: str, minutes: int, accepted: list[int], refused: dict[str, int]) -> None:
    kinds = [{"fault": "pod_kill", "selector": {"app": "storefront"}, "count": 1},
             {"fault": "pod_kill", "selector": {"app": "cart"}, "count": 1},
             {"fault": "zone_latency", "latency": "30ms", "duration": "30s"}]
    for minute in range(1, minutes):
        fault = dict(kinds[minute % len(kinds)], at=f"{minute}m")
        try:
            call(base, "POST", "/v1/runs/soak/faults", fault)
            accepted.append(minute)
        except urllib.error.HTTPError as exc:
            why = f"{exc.code} {json.load(exc).get('detail', '')}"[:120]
            refused[why] = refused.get(why, 0) + 1


def missing(got: list[int], total: int) -> int:
    return total - len(set(got) & set(range(1, total + 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--scenario", default="ingress-shop")
    parser.add_argument("--faults", type=int, default=None,
                        help="faults to send (one per simulated minute; default: every minute)")
    args = parser.parse_args()
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with tempfile.TemporaryDirectory() as tmp:
        mport, sport = free_port(), free_port()
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {mport} 127.0.0.1\nuser {getpass.getuser()}\n"
                        "allow_anonymous true\nmax_queued_messages 0\n")
        broker = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        wait_port(mport)
        env = dict(os.environ) | {"AKSSIM_API_TOKEN": TOKEN, "AKSSIM_RUNS_DIR": f"{tmp}/runs"}
        serve = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "--port",
                                  str(sport), "--mqtt", f"mqtt://127.0.0.1:{mport}",
                                  "--log-level", "warning"], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{sport}"
        try:
            wait_port(sport)
            result = run_soak(base, mport, serve.pid, args)
        finally:
            serve.terminate()
            serve.wait(30)
            broker.terminate()
            broker.wait(10)
    print(f"{result['events']} events in {result['wall_s']} s; SSE missing {result['sse_missing']}, "
          f"MQTT missing {result['mqtt_missing']}; peak RSS {result['peak_rss_mb']} MB; /healthz "
          f"p99 {result['healthz_p99_ms']} ms (max {result['healthz_max_ms']} ms)")
    print(json.dumps(result))


def run_soak(base: str, mport: int, pid: int, args: argparse.Namespace) -> dict[str, object]:
    stop = threading.Event()
    health: list[float] = []
    sse: list[int] = []
    mqtt: list[int] = []
    accepted: list[int] = []
    refused: dict[str, int] = {}
    mqtt_done = asyncio.Event()
    loop = asyncio.new_event_loop()
    mqtt_thread = threading.Thread(target=loop.run_until_complete,
                                   args=(follow_mqtt(mport, mqtt, mqtt_done),), daemon=True)
    mqtt_thread.start()
    time.sleep(1.0)  # the follower's subscription is in place before the run starts
    health_thread = threading.Thread(target=poll_health, args=(base, health, stop), daemon=True)
    health_thread.start()
    cpu0, started = cpu_s(pid), time.perf_counter()
    call(base, "POST", "/v1/runs", scenario_body(args.scenario, args.hours) | {"speed": None})
    minutes = args.faults + 1 if args.faults is not None else int(args.hours * 60)
    faults = threading.Thread(target=inject_faults, args=(base, minutes, accepted, refused),
                              daemon=True)
    faults.start()
    sse_thread = threading.Thread(target=follow_sse, args=(base, sse, stop), daemon=True)
    sse_thread.start()
    while call(base, "GET", "/v1/runs/soak")["state"] in ("pending", "running"):
        time.sleep(0.5)
    wall = time.perf_counter() - started
    run = call(base, "GET", "/v1/runs/soak")
    sse_thread.join(120)
    mqtt_thread.join(120)
    stop.set()
    faults.join(30)
    total = int(run["events"] or 0)
    ms = sorted(t * 1000 for t in health)
    return {"benchmark": "soak", "scenario": args.scenario, "hours": args.hours,
            "state": run["state"], "events": total, "faults_accepted": len(accepted),
            "faults_refused": refused,
            "sse_events": len(sse), "sse_missing": missing(sse, total),
            "mqtt_events": len(mqtt), "mqtt_missing": missing(mqtt, total),
            "events_lost": max(missing(sse, total), missing(mqtt, total)),
            "peak_rss_mb": round(hwm_mb(pid), 1), "healthz_samples": len(ms),
            "healthz_p50_ms": round(statistics.median(ms), 2) if ms else None,
            "healthz_p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2) if ms else None,
            "healthz_max_ms": round(ms[-1], 2) if ms else None,
            "wall_s": round(wall, 1), "service_cpu_s": round(cpu_s(pid) - cpu0, 1)}


if __name__ == "__main__":
    main()
