"""Nothing lost, nothing overwritten (issue 16): a service killed with SIGKILL mid-run leaves an
event log that replays, lists the run again when it restarts, and never reuses its id; ended
runs are kept up to ``runs_kept`` and can be deleted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
from servers import free_port, wait_port

from services.http.app import create_app
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "history-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ) | {"AKSSIM_API_TOKEN": TOKEN, "AKSSIM_RUNS_DIR": str(home / "runs")}
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
                            cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, 30, proc=proc)
    return proc


def _call(method: str, url: str, body: object = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=AUTH | {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw and raw[:1] in b"[{" else raw.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_a_killed_service_loses_at_most_a_slice_and_lists_the_run_again(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, port)
    try:
        status, run = _call("POST", f"{base}/v1/runs", {"scenario": "node-failure-through-lb",
                                                        "runId": "doomed", "speed": 120})
        assert status == 201, run
        deadline = time.monotonic() + 60
        while _call("GET", f"{base}/v1/runs/doomed")[1]["simTime"] < 700:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.5)  # at least one recording checkpoint (1 wall second) after the fault
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    run_dir = tmp_path / "runs" / "doomed"
    recording = json.loads((run_dir / "recording.json").read_text())
    assert recording["state"] is None and recording["logged_to"] >= 600  # killed, not ended
    logged = (run_dir / "events.jsonl").read_bytes().split(b"\n")
    complete = len(logged) - 1  # the last element: "" or a torn line
    assert complete >= recording["logged_events"] > 0  # everything it said was logged, was

    replay = subprocess.run([sys.executable, "-m", "services.cli", "replay", str(run_dir), "--check",
                             "--quiet", "--out", str(tmp_path / "replayed")],
                            capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert replay.returncode == 0, replay.stderr
    assert f"checking its first {recording['logged_events']} events" in replay.stderr

    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    proc = _serve(tmp_path, port)
    try:
        status, listed = _call("GET", f"{base}/v1/runs")
        assert status == 200
        (doomed,) = [r for r in listed if r["id"] == "doomed"]
        assert doomed["state"] == "interrupted" and doomed["events"] == recording["logged_events"]
        status, again = _call("POST", f"{base}/v1/runs", {"scenario": "zone-failure",
                                                          "runId": "doomed"})
        assert status == 409 and "exists already" in again["detail"]
        assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before  # untouched
        with urllib.request.urlopen(urllib.request.Request(
                f"{base}/v1/runs/doomed/events?from_seq=3", headers=AUTH), timeout=30) as r:
            ids = [int(line[4:]) for line in r.read().decode().splitlines() if line.startswith("id: ")]
        assert ids[:2] == [3, 4] and ids[-1] >= recording["logged_events"]
        assert _call("POST", f"{base}/v1/runs/doomed/faults", {"fault": "coredns_outage"})[0] == 409
        assert _call("DELETE", f"{base}/v1/runs/doomed")[0] == 204
        assert not run_dir.exists()
        assert _call("GET", f"{base}/v1/runs/doomed")[0] == 404
    finally:
        proc.terminate()
        proc.wait(30)


async def test_ended_runs_are_kept_up_to_runs_kept(tmp_path: Path) -> None:
    """With runs_kept 2, a third ended run deletes the oldest, directory and all; a going run
    cannot be deleted."""
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", runs_kept=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
            for name in ("k1", "k2", "k3"):
                r = await c.post("/v1/runs", json={"scenario": "shop-network-policies",
                                                   "runId": name}, headers=AUTH)
                assert r.status_code == 201, r.text
                for _ in range(3000):
                    if (await c.get(f"/v1/runs/{name}", headers=AUTH)).json()["state"] != "running":
                        break
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.01)  # distinct end times
            ids = [r["id"] for r in (await c.get("/v1/runs", headers=AUTH)).json()]
            assert ids == ["k2", "k3"]
            assert not (tmp_path / "runs" / "k1").exists() and (tmp_path / "runs" / "k3").is_dir()
            r = await c.post("/v1/runs", json={"scenario": "zone-failure", "runId": "slow",
                                               "speed": 1}, headers=AUTH)
            assert r.status_code == 201
            assert (await c.delete("/v1/runs/slow", headers=AUTH)).status_code == 409
            assert (await c.post("/v1/runs/slow/stop", headers=AUTH)).json()["state"] == "stopped"
            assert (await c.delete("/v1/runs/slow", headers=AUTH)).status_code == 204
