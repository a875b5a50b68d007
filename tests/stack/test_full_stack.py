"""The stack end to end, natively: Mosquitto and Prometheus started with the very files that
docker-compose.yml mounts (ports, hostnames and paths rewritten in a temporary copy only, by
deploy/native.sh, the README's way to run the stack without Docker),
``aks-sim serve`` beside them, scenarios launched through the service so that every dashboard
has something to show, and then every query of every panel, with Grafana's variables filled
in, run against the real Prometheus: each returns data. An alert fires when its condition is
met (the subnet of azure-cni-ip-exhaustion fills)."""

from __future__ import annotations

import contextlib
import getpass
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import free_port, need, wait_port
from stackfiles import DASHBOARDS, ROOT, compose, dashboard, mounted, panels, substitute

TOKEN = "stack-token-0123456789abcdef"
WALL = 25.0
"""Wall seconds each scenario takes: its speed is its duration over this."""
SCENARIOS = {
    # run id: scenario, what it shows
    "exhaustion": "azure-cni-ip-exhaustion",    # subnets filling, HPA, autoscaler, pending pods
    "shop": "ingress-shop",                     # ingress-nginx, load balancer, probes, a pod kill
    "dns": "coredns-losing-its-pods",           # CoreDNS queries, NXDOMAIN, DNS failures
    "snat": "snat-exhaustion-crossing-50-nodes",  # SNAT ports per node
    "kubenet": "kubenet-600-nodes",             # nodes refused a route
    "node-down": "node-failure-through-lb",     # NotReady nodes, probes down, errors by cause
}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def _process(args: list[str], log: Path, **kwargs: Any) -> Iterator[subprocess.Popen]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kwargs)
    try:
        yield proc
    finally:
        _stop(proc)


def _native_configs(tmp: Path, mqtt_port: int, service_port: int, prom_port: int) -> Path:
    """deploy/native.sh's copies of the files docker-compose.yml mounts, for servers on free
    loopback ports; checked to differ from the mounted files only in addresses and paths."""
    env = {**os.environ, "MQTT_PORT": str(mqtt_port), "SERVICE": f"127.0.0.1:{service_port}",
           "PROMETHEUS": f"127.0.0.1:{prom_port}", "AKSSIM_API_TOKEN": TOKEN}
    done = subprocess.run(["bash", str(ROOT / "deploy" / "native.sh"), str(tmp)], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    pairs = [("mosquitto", "/mosquitto/config/mosquitto.conf", tmp / "mosquitto" / "mosquitto.conf"),
             ("mosquitto", "/mosquitto/config/acl", tmp / "mosquitto" / "acl"),
             ("mosquitto", "/mosquitto/config/passwd", tmp / "mosquitto" / "passwd"),
             ("prometheus", "/etc/prometheus/prometheus.yml", tmp / "prometheus" / "prometheus.yml"),
             ("prometheus", "/etc/prometheus/rules.yml", tmp / "prometheus" / "rules.yml")]
    for service, inside, copy in pairs:
        original = mounted(service, inside).read_text(encoding="utf-8").splitlines()
        native = copy.read_text(encoding="utf-8").splitlines()
        if copy.name == "mosquitto.conf":
            assert native[len(original):] == [f"user {getpass.getuser()}"]
            native = native[:len(original)]
        assert len(native) == len(original), copy
        for was, now in zip(original, native, strict=True):
            if was != now:
                assert re.search(r"^listener 1883 |/mosquitto/|simsvc:8080|/run/secrets/", was), \
                    (was, now)
    assert (tmp / "prometheus" / "akssim_api_token").read_text(encoding="utf-8") == TOKEN
    return tmp


def _get(url: str, token: str | None = None) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def _post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def _wait(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            result = check()
            if result:
                return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Prom:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path: str, **params: str) -> Any:
        body = _get(f"{self.base}/api/v1/{path}?{urllib.parse.urlencode(params)}")
        assert body["status"] == "success", body
        return body["data"]

    def has_data(self, expr: str, start: float, end: float) -> bool:
        """Whether a range query (as a Grafana time series panel sends it) has a number."""
        data = self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step="5")
        return any(not math.isnan(float(v)) for series in data["result"] for _, v in series["values"])


def _scenario_speed(name: str) -> float:
    spec = yaml.safe_load((ROOT / "scenarios" / f"{name}.yaml").read_text(encoding="utf-8"))
    units = {"s": 1, "m": 60, "h": 3600}
    seconds = sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", str(spec["duration"])))
    return round(seconds / WALL, 1)


def _chaos_over_mqtt(port: int, mosquitto_sub: str) -> None:
    """With the committed password file and ACL: an anonymous client may not send a fault
    command, the ``chaos`` user (development default password) may, and the service answers."""
    pub = need("mosquitto_pub")
    topic = "akssim/shop/commands/faults"
    acks = subprocess.Popen([mosquitto_sub, "-p", str(port), "-t", f"{topic}/ack", "-C", "1", "-W", "20"],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    anonymous = {"commandId": "anon", "fault": "pod_kill", "deployment": "shop/cart", "count": 1}
    chaos = {"commandId": "chaos-1", "fault": "pod_kill", "deployment": "shop/storefront", "count": 1}
    # an MQTT broker drops an unauthorised publish silently: the only ack must be chaos's
    subprocess.run([pub, "-p", str(port), "-q", "1", "-t", topic, "-m", json.dumps(anonymous)],
                   check=True, timeout=10)
    time.sleep(1)
    subprocess.run([pub, "-p", str(port), "-q", "1", "-u", "chaos", "-P", "chaos-dev", "-t", topic,
                    "-m", json.dumps(chaos)], check=True, timeout=10)
    ack = json.loads(acks.communicate(timeout=30)[0])
    assert ack["commandId"] == "chaos-1" and ack["ok"] is True, ack


@pytest.mark.slow
def test_every_panel_returns_data_and_an_alert_fires(tmp_path: Path) -> None:
    mosquitto, prometheus = need("mosquitto"), need("prometheus")
    mosquitto_sub = need("mosquitto_sub")
    broker_port, prom_port, service_port = free_port(), free_port(), free_port()
    native = _native_configs(tmp_path / "native", broker_port, service_port, prom_port)
    mosq_conf, prom_conf = native / "mosquitto" / "mosquitto.conf", native / "prometheus" / "prometheus.yml"
    simsvc = compose()["services"]["simsvc"]["environment"]
    env = {**os.environ, "AKSSIM_API_TOKEN": TOKEN, "AKSSIM_MAX_RUNS": str(len(SCENARIOS)),
           "AKSSIM_MQTT": simsvc["AKSSIM_MQTT"].replace("mosquitto:1883", f"127.0.0.1:{broker_port}"),
           "AKSSIM_MQTT_USERNAME": simsvc["AKSSIM_MQTT_USERNAME"],
           # the compose file's development default, ${AKSSIM_MQTT_PASSWORD:-akssim-dev}
           "AKSSIM_MQTT_PASSWORD": re.fullmatch(r"\$\{AKSSIM_MQTT_PASSWORD:-(.+)\}",
                                                simsvc["AKSSIM_MQTT_PASSWORD"]).group(1)}
    server = f"http://127.0.0.1:{service_port}"
    t0 = time.time()
    with _process([mosquitto, "-c", str(mosq_conf)], tmp_path / "mosquitto.log") as broker, \
            _process([prometheus, f"--config.file={prom_conf}",
                      f"--storage.tsdb.path={native / 'prometheus' / 'data'}",
                      f"--web.listen-address=127.0.0.1:{prom_port}"], tmp_path / "prometheus.log"), \
            _process([sys.executable, "-m", "services.cli", "serve", "--port", str(service_port),
                      "--runs-dir", str(tmp_path / "runs")], tmp_path / "service.log",
                     cwd=ROOT, env=env) as service:
        wait_port(broker_port, proc=broker)
        wait_port(service_port, 30, proc=service)
        prom = Prom(prom_port)
        _wait("prometheus ready", lambda: urllib.request.urlopen(f"{prom.base}/-/ready", timeout=1), 30)
        _wait("the service healthy", lambda: _get(f"{server}/healthz")["status"] == "ok", 30)
        # the compose file's healthchecks of the service and of Mosquitto pass against these
        check = compose()["services"]["simsvc"]["healthcheck"]["test"][1:]
        assert check[0] == "python"
        here = f"127.0.0.1:{service_port}"
        check = [sys.executable, *(c.replace("127.0.0.1:8080", here) for c in check[1:])]
        assert subprocess.run(check, timeout=15).returncode == 0
        check = compose()["services"]["mosquitto"]["healthcheck"]["test"][1:]
        check[check.index("-p") + 1] = str(broker_port)
        assert subprocess.run([mosquitto_sub if c == "mosquitto_sub" else c for c in check],
                              timeout=15).returncode == 0

        for run_id, name in SCENARIOS.items():
            _post(f"{server}/v1/runs", {"scenario": name, "speed": _scenario_speed(name), "runId": run_id})
        _chaos_over_mqtt(broker_port, mosquitto_sub)
        _wait("every run to finish", lambda: all(
            _get(f"{server}/v1/runs/{r}", TOKEN)["state"] == "finished" for r in SCENARIOS), 4 * WALL + 60)

        # the subnet of azure-cni-ip-exhaustion filled, the SNAT ports of the crossing ran out:
        # the alerts fire
        def firing(name: str, run: str) -> list[dict[str, Any]]:
            return [a for a in prom.api("alerts")["alerts"] if a["labels"]["alertname"] == name
                    and a["labels"]["run"] == run and a["state"] == "firing"]
        alert = _wait("AksSimSubnetAbove90Percent to fire",
                      lambda: firing("AksSimSubnetAbove90Percent", "exhaustion"), 60)[0]
        assert float(alert["value"]) > 0.9
        alert = _wait("AksSimSnatPortsAbove80Percent to fire",
                      lambda: firing("AksSimSnatPortsAbove80Percent", "snat"), 30)[0]
        assert float(alert["value"]) > 0.8
        assert prom.api("query", query='ALERTS{alertname="AksSimSubnetAbove90Percent",'
                                       'alertstate="firing",run="exhaustion"}')["result"]

        # the service published as `akssim` (password file, ACL); anonymous clients may read
        statuses = subprocess.run([mosquitto_sub, "-p", str(broker_port), "-t", "akssim/+/status",
                                   "-v", "-C", str(len(SCENARIOS)), "-W", "10"],
                                  capture_output=True, text=True, timeout=20)
        assert statuses.returncode == 0, statuses.stderr
        assert {line.split("/")[1] for line in statuses.stdout.splitlines()} == set(SCENARIOS)

        # every recording rule has data
        rules = yaml.safe_load((native / "prometheus" / "rules.yml").read_text(encoding="utf-8"))
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    assert prom.has_data(rule["record"], t0, time.time()), rule["record"]

        end = time.time()
        # the run variable lists every run
        runs = prom.api("label/run/values", **{"match[]": "akssim_sim_time_seconds"})
        assert set(SCENARIOS) <= set(runs)
        missing: list[str] = []
        for path in DASHBOARDS:
            board = dashboard(path)
            for panel in panels(board):
                for t in panel.get("targets", []):
                    if not any(prom.has_data(substitute(t["expr"], run), t0, end) for run in SCENARIOS):
                        missing.append(f"{path.name}: {panel['title']!r} {t['refId']}: {t['expr']}")
            for annotation in board["annotations"]["list"]:
                if "expr" in annotation:
                    for run in ("shop", "node-down"):  # the runs with faults
                        if not prom.has_data(substitute(annotation["expr"], run), t0, end):
                            missing.append(f"{path.name}: annotation {annotation['name']!r} for {run}")
    assert not missing, "queries without data:\n" + "\n".join(missing)
