"""The HTTP API through httpx against the ASGI app (lifespan included)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.http.app import create_app
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", max_runs=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
            yield c


async def _wait_state(client: httpx.AsyncClient, run_id: str, states: set[str]) -> dict:
    for _ in range(2000):
        body = (await client.get(f"/v1/runs/{run_id}", headers=AUTH)).json()
        if body["state"] in states:
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"{run_id} never reached {states}: {body}")


async def test_health_and_scenarios(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    names = [s["name"] for s in (await client.get("/v1/scenarios", headers=AUTH)).json()]
    assert "zone-failure" in names and "ingress-shop" in names


async def test_mutating_calls_need_the_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/runs", json={"scenario": "zone-failure"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = await client.post("/v1/runs", json={"scenario": "zone-failure"},
                          headers={"Authorization": "Bearer wrong-token-xxxxxxxx"})
    assert r.status_code == 401
    assert (await client.get("/v1/runs")).status_code == 401  # reads are closed by default


async def test_an_invalid_scenario_is_422_with_the_validate_issues(client: httpx.AsyncClient) -> None:
    bad = (ROOT / "tests" / "scenario" / "invalid").glob("*.yaml")
    path = sorted(bad)[0]
    expected = (path.with_suffix(".expected")).read_text().splitlines()
    r = await client.post("/v1/runs", json={"yaml": path.read_text()}, headers=AUTH)
    assert r.status_code == 422
    texts = [i["text"].replace("<request>", str(path)) for i in r.json()["issues"]]
    assert [t.split(": ", 1)[1] for t in texts] == [e.split(": ", 1)[1] for e in expected]
    v = await client.post("/v1/scenarios/validate", json={"yaml": path.read_text()}, headers=AUTH)
    assert v.status_code == 422 and v.json()["valid"] is False


async def test_run_inject_follow_and_finish(client: httpx.AsyncClient, tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    r = await client.post("/v1/runs", json={"scenario": "zone-failure", "runId": "z1", "speed": 3000},
                          headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "z1"
    await asyncio.sleep(0.2)
    f = await client.post("/v1/runs/z1/faults", json={"fault": "pod_kill", "selector": {"app": "web"},
                                                      "count": 1}, headers=AUTH)
    assert f.status_code in (202, 409), f.text
    bad = await client.post("/v1/runs/z1/faults", json={"fault": "meteor"}, headers=AUTH)
    assert bad.status_code == 422 and "not a fault" in bad.json()["detail"]
    done = await _wait_state(client, "z1", {"finished"})
    assert done["simTime"] == done["duration"] and "passed" in done
    assert done["warnings"]["NodeNotReady"] >= 1  # the zone's nodes, in the summary
    # the event stream from seq 5 on, as Server-Sent Events
    async with client.stream("GET", "/v1/runs/z1/events?from_seq=5", headers=AUTH) as s:
        text = (await s.aread()).decode()
    ids = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
    assert ids == list(range(5, done["events"] + 1))
    lines = (runs_dir / "z1" / "events.jsonl").read_text().splitlines()
    datas = [line[6:] for line in text.splitlines() if line.startswith('data: {"spec')]
    assert datas == lines[4:]


async def test_too_many_runs_is_429(client: httpx.AsyncClient) -> None:
    for i in range(2):
        r = await client.post("/v1/runs", json={"scenario": "zone-failure", "speed": 1, "runId": f"s{i}"},
                              headers=AUTH)
        assert r.status_code == 201
    r = await client.post("/v1/runs", json={"scenario": "zone-failure", "speed": 1}, headers=AUTH)
    assert r.status_code == 429
    stopped = await client.post("/v1/runs/s0/stop", headers=AUTH)
    assert stopped.json()["state"] == "stopped"
    assert (await client.post("/v1/runs", json={"scenario": "zone-failure", "speed": 1},
                              headers=AUTH)).status_code == 201


async def test_body_limit_and_unknown_run(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/runs", content=b"x" * 2_000_000,
                          headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413
    assert (await client.get("/v1/runs/nope", headers=AUTH)).status_code == 404
    assert json.loads((await client.get("/v1/runs/nope", headers=AUTH)).text)["detail"] == "no run 'nope'"


async def test_dry_run_says_what_a_fault_would_hit_without_touching_the_run(
        client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/runs", json={"scenario": "node-failure-through-lb", "runId": "d1",
                                            "speed": 20}, headers=AUTH)
    assert r.status_code == 201, r.text
    while (await client.get("/v1/runs/d1", headers=AUTH)).json()["simTime"] < 30:
        await asyncio.sleep(0.05)
    events_before = (await client.get("/v1/runs/d1", headers=AUTH)).json()["events"]
    dry = await client.post("/v1/runs/d1/faults", headers=AUTH, json={
        "fault": "zone_failure", "zone": "1", "dryRun": True, "horizon": "15m"})
    assert dry.status_code == 202, dry.text
    body = dry.json()
    assert body["dryRun"] is True and body["horizon"] > 0
    assert body["events"]["NodeNotReady"]["count"] >= 1
    assert any(c["extraErrorsByCause"] for c in body["clients"].values()), body["clients"]
    run = (await client.get("/v1/runs/d1", headers=AUTH)).json()
    assert run["faults"] == [] and run["state"] == "running"
    assert run["events"] >= events_before
    await client.post("/v1/runs/d1/stop", headers=AUTH)


async def test_a_failing_run_is_marked_failed_and_the_service_goes_on(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.live.run import LiveRun

    async def broken(self: LiveRun, writer: object) -> None:
        raise RuntimeError("model exploded")

    monkeypatch.setattr(LiveRun, "_loop", broken)
    r = await client.post("/v1/runs", json={"scenario": "zone-failure", "runId": "f1"}, headers=AUTH)
    assert r.status_code == 201
    failed = await _wait_state(client, "f1", {"failed"})
    assert failed["error"] == "RuntimeError: model exploded"
    monkeypatch.undo()
    assert (await client.get("/healthz")).status_code == 200
    ok = await client.post("/v1/runs", json={"scenario": "zone-failure", "runId": "f2"}, headers=AUTH)
    assert ok.status_code == 201
    assert (await _wait_state(client, "f2", {"finished"}))["passed"] in (True, False)
