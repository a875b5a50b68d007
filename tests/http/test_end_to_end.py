"""End to end with real servers: uvicorn (aks-sim serve), Mosquitto and Prometheus. Launch a run
at high speed, inject a zone failure over HTTP and a pod kill over MQTT, see both on the
stream and in the metrics, then replay the run and compare the event logs byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from servers import free_port, mosquitto, need, prometheus, wait_port

ROOT = Path(__file__).resolve().parents[2]
AKS_SIM = [sys.executable, "-m", "services.cli"]
TOKEN = "e2e-token-0123456789abcdef"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AKS_SIM, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)


def _get(url: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


@pytest.mark.slow
def test_live_run_with_http_and_mqtt_chaos_then_replay(tmp_path: Path) -> None:
    sub_bin, pub_bin = need("mosquitto_sub"), need("mosquitto_pub")
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AKSSIM_API_TOKEN": TOKEN, "AKSSIM_SERVER": server}
    with mosquitto(tmp_path) as broker, \
            prometheus(tmp_path, scrape=[f"127.0.0.1:{port}"], bearer=TOKEN) as prom:
        service = subprocess.Popen([*AKS_SIM, "serve", "--port", str(port), "--mqtt", broker.url,
                                    "--runs-dir", str(tmp_path / "runs")],
                                   cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        events = subprocess.Popen([sub_bin, "-p", str(broker.port), "-q", "1", "-v",
                                   "-t", "akssim/e2e/#", "-W", "120"], stdout=subprocess.PIPE, text=True)
        try:
            wait_port(port, 30, proc=service)
            for _ in range(100):
                try:
                    if _get(f"{server}/healthz")["status"] == "ok":
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            started = _cli("run", "scenarios/zone-failure.yaml", "--server", server, "--speed", "300",
                           "--run-id", "e2e", env=env)
            assert started.returncode == 0, started.stderr
            assert started.stdout.strip() == "e2e"
            while _get(f"{server}/v1/runs/e2e")["simTime"] < 60:
                time.sleep(0.05)
            zone = tmp_path / "zone.yaml"
            zone.write_text("fault: zone_failure\nzone: '3'\nduration: 15m\n")
            hit = _cli("inject", "e2e", str(zone), env=env)
            assert hit.returncode == 0, hit.stderr
            assert "zone_failure applied to e2e at" in hit.stderr
            acks = subprocess.Popen([sub_bin, "-p", str(broker.port), "-q", "1", "-C", "1", "-W", "30",
                                     "-t", "akssim/e2e/commands/faults/ack"],
                                    stdout=subprocess.PIPE, text=True)
            time.sleep(0.3)
            subprocess.run([pub_bin, "-p", str(broker.port), "-q", "1", "-t", "akssim/e2e/commands/faults",
                            "-m", json.dumps({"commandId": "k1", "fault": "pod_kill",
                                              "deployment": "shop/checkout", "count": 2})], check=True)
            ack = json.loads(acks.communicate(timeout=40)[0])
            assert ack["ok"] is True and ack["commandId"] == "k1" and ack["fault"] == "pod_kill", ack
            for _ in range(600):
                run = _get(f"{server}/v1/runs/e2e")
                if run["state"] != "running":
                    break
                time.sleep(0.1)
            assert run["state"] == "finished", run
            assert [f["fault"]["fault"] for f in run["faults"]] == ["zone_failure", "pod_kill"]
            time.sleep(2)  # a scrape after the end
            active = prom.query('max_over_time(akssim_fault_active{run="e2e",fault="zone_failure"}[10m])')
            killed = prom.query(
                'max_over_time(akssim_faults_injected_total{run="e2e",fault="pod_kill"}[10m])')
        finally:
            service.terminate()
            service.wait(30)
            events.terminate()
            stream = events.communicate(timeout=10)[0]
    assert active and float(active[0]["value"][1]) == 1.0
    assert killed and float(killed[0]["value"][1]) >= 1.0
    injected = [json.loads(line.split(" ", 1)[1])["data"]["fields"]["fault"]
                for line in stream.splitlines() if line.startswith("akssim/e2e/chaos/FaultInjected ")]
    assert "zone_failure" in injected and "pod_kill" in injected
    replayed = _cli("replay", str(tmp_path / "runs" / "e2e"), "--check", "--quiet",
                    "--out", str(tmp_path / "replay"), env=env)
    assert "byte for byte" in replayed.stderr, replayed.stderr
    assert (tmp_path / "replay" / "events.jsonl").read_bytes() == \
           (tmp_path / "runs" / "e2e" / "events.jsonl").read_bytes()
