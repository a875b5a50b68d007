"""`aks-sim serve` as a user starts it: settings from the environment, a generated token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from servers import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]


def test_serve_takes_its_port_from_the_environment_and_prints_a_generated_token(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "AKSSIM_API_TOKEN"}
    env |= {"AKSSIM_PORT": str(port), "AKSSIM_RUNS_DIR": str(tmp_path / "runs")}
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, 30, proc=proc)
        line = proc.stderr.readline()  # printed once, before serving
        assert line.startswith("API token (set AKSSIM_API_TOKEN to choose your own): ")
        token = line.rsplit(" ", 1)[1].strip()
        assert len(token) >= 16
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as r:
            assert json.load(r) == {"status": "ok"}
        try:
            urllib.request.urlopen(f"{base}/v1/runs", timeout=10)
            raise AssertionError("reads are closed without the token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        req = urllib.request.Request(f"{base}/v1/runs", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.load(r) == []
    finally:
        proc.terminate()
        proc.wait(30)
