"""Every client command of the CLI against a real `aks-sim serve` (a uvicorn socket), once.

`run --server` sends the scenario with the files it references (its bundle); the service
resolves `manifests:` inside that bundle only, never on its own disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "cli-against-serve-token-0123456789"

SCENARIO = """\
name: bundle-check
duration: 2h
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {name: system, mode: System, count: 2}
    - {name: user, count: 3, zones: ["1"]}
workloads:
  - manifests: app/web.yaml
"""
MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-from-the-bundle}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {agentpool: user}
      containers: [{name: web, image: nginx, resources: {requests: {cpu: 100m, memory: 64Mi}}}]
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`aks-sim serve` in a directory of its own, next to a secret it must never read."""
    home = tmp_path_factory.mktemp("server")
    (home / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\npassword: hunter2-PLANTED\n")
    port = free_port()
    env = dict(os.environ) | {"AKSSIM_API_TOKEN": TOKEN, "AKSSIM_RUNS_DIR": str(home / "runs")}
    log = open(home / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
                            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, 30, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) | {"AKSSIM_API_TOKEN": TOKEN}
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120, check=False)


def _get(service: str, path: str) -> object:
    req = urllib.request.Request(f"{service}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def _post(service: str, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(f"{service}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_every_client_command_against_a_real_service(service: str, tmp_path: Path) -> None:
    """run --server (with a manifests file), runs, inject (a fault, then a dry run), stop."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "web.yaml").write_text(MANIFEST)
    (tmp_path / "my-cluster.yaml").write_text(SCENARIO)
    elsewhere = tmp_path / "elsewhere"  # the client runs from another directory
    elsewhere.mkdir()
    started = _cli("run", "--server", service, str(tmp_path / "my-cluster.yaml"), "--speed", "1",
                   "--run-id", "cli-1", cwd=elsewhere)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "cli-1"
    run = _get(service, "/v1/runs/cli-1")
    assert run["scenario"] == "my-cluster.yaml" and run["state"] in ("pending", "running")

    listed = _cli("runs", "--server", service, cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("cli-1"))
    assert row.split()[-1] == "my-cluster.yaml"

    (tmp_path / "dry.yaml").write_text("fault: node_failure\nnodePool: user\n"
                                       "dryRun: true\nhorizon: 10m\n")
    dry = _cli("inject", "cli-1", str(tmp_path / "dry.yaml"), "--server", service, cwd=elsewhere)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("dry run of node_failure at ")
    assert "NodeNotReady" in dry.stdout  # the node's death would be seen within 10 minutes
    assert _get(service, "/v1/runs/cli-1")["faults"] == []  # a dry run touches nothing

    (tmp_path / "kill.yaml").write_text("fault: pod_kill\ndeployment: web-from-the-bundle\n")
    killed = _cli("inject", "cli-1", str(tmp_path / "kill.yaml"), "--server", service, cwd=elsewhere)
    assert killed.returncode == 0, killed.stderr
    assert "pod_kill applied to cli-1 at " in killed.stderr
    assert len(_get(service, "/v1/runs/cli-1")["faults"]) == 1

    stopped = _cli("stop", "cli-1", "--server", service, cwd=elsewhere)
    assert stopped.returncode == 0, stopped.stderr
    assert "cli-1 stopped at " in stopped.stderr
    deadline = time.monotonic() + 30
    while _get(service, "/v1/runs/cli-1")["state"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _get(service, "/v1/runs/cli-1")["state"] == "stopped"


def test_a_reference_outside_the_bundle_is_refused_and_nothing_is_read(service: str) -> None:
    """An inline scenario naming server paths (absolute, '..', or just not sent) gets a located
    422 that never shows a byte of the server's files."""
    for ref in ("/etc/passwd", "../secret.yaml", "secret.yaml", "/dev/zero"):
        text = SCENARIO.replace("app/web.yaml", ref)
        status, body = _post(service, "/v1/scenarios/validate", {"yaml": text})
        assert status == 422, (ref, body)
        messages = " ".join(i["text"] for i in body["issues"])
        assert "<request>:10:16: workloads[0].manifests: " in messages
        assert "hunter2" not in json.dumps(body) and "root:" not in json.dumps(body)
    status, body = _post(service, "/v1/runs", {"yaml": SCENARIO, "files": {"app/web.yaml": MANIFEST},
                                               "runId": "bundle-ok", "speed": 1})
    assert status == 201, body
    assert _post(service, "/v1/runs/bundle-ok/stop", {})[0] == 200


def test_an_unreachable_service_is_a_clear_error(tmp_path: Path) -> None:
    """No service there: exit 2 and one line saying so, never a traceback."""
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("runs", "--server", url), ("stop", "x", "--server", url)):
        result = _cli(*args, cwd=tmp_path)
        assert result.returncode == 2 and "cannot reach the service" in result.stderr
        assert "Traceback" not in result.stderr
