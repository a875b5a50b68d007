"""Hostile requests against a real uvicorn socket (and MQTT commands through a real Mosquitto):
non-finite and out-of-range numbers, deep nesting, chunked bodies over the limit, odd bearer
spellings. Every one gets a 4xx that says where and what; the service keeps answering."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from servers import mosquitto, uvicorn_client

from services.http.app import create_app
from services.live.pacer import Pacer
from services.settings import Settings

TOKEN = "hostile-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 50_000


@contextlib.asynccontextmanager
async def _serve(tmp_path: Path, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The service on a free loopback port, served by uvicorn in this event loop."""
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", max_runs=8,
                              max_body_bytes=LIMIT, **changes))
    async with uvicorn_client(app) as client:
        yield client


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _serve(tmp_path) as client:
        yield client


async def _healthz_ms(client: httpx.AsyncClient) -> float:
    began = time.perf_counter()
    r = await client.get("/healthz")
    assert r.status_code == 200
    return (time.perf_counter() - began) * 1000


def _raw(body: str) -> dict[str, str]:
    return AUTH | {"Content-Type": "application/json"}


@pytest.mark.parametrize(("body", "field", "found"), [
    ('{"scenario": "zone-failure", "speed": NaN}', "speed", "NaN"),
    ('{"scenario": "zone-failure", "speed": Infinity}', "speed", "Infinity"),
    ('{"scenario": "zone-failure", "speed": 1e-300}', "speed", "1e-300"),
    ('{"scenario": "zone-failure", "seed": -1}', "seed", "-1"),
    ('{"scenario": "zone-failure", "seed": 1e400}', "seed", "Infinity"),
    ('{"scenario": "zone-failure", "seed": 4294967296}', "seed", "4294967296"),
])
async def test_a_non_finite_or_out_of_range_run_request_is_a_located_422(
        server: httpx.AsyncClient, body: str, field: str, found: str) -> None:
    r = await server.post("/v1/runs", content=body, headers=_raw(body))
    assert r.status_code == 422, r.text
    [issue] = r.json()["issues"]
    assert issue["path"] == field and issue["file"] == "<request body>"
    assert issue["message"].startswith("expected") and issue["message"].endswith(f"found {found}")
    assert (await server.get("/v1/runs", headers=AUTH)).json() == []  # nothing started
    assert await _healthz_ms(server) < 100


async def test_the_service_keeps_answering_while_a_run_goes_at_the_fastest_pace(
        server: httpx.AsyncClient) -> None:
    r = await server.post("/v1/runs", headers=AUTH, json={"scenario": "zone-failure", "runId": "fast",
                                                          "speed": 1_000_000})
    assert r.status_code == 201, r.text
    worst = max([await _healthz_ms(server) for _ in range(20)])
    assert worst < 100
    await server.post("/v1/runs/fast/stop", headers=AUTH)


async def test_hostile_fault_bodies_are_422_and_the_run_goes_on(server: httpx.AsyncClient) -> None:
    r = await server.post("/v1/runs", headers=AUTH, json={"scenario": "zone-failure", "runId": "f",
                                                          "speed": 10})
    assert r.status_code == 201, r.text
    deep = '{"fault": "network_policy", "apply": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"
    bodies = {
        '{"fault": "zone_failure", "zone": "1", "at": NaN}': "NaN is not a JSON number",
        '{"fault": "zone_failure", "zone": "1", "at": 1e400}': "finite",
        '{"fault": "zone_failure", "zone": "1", "at": "8d"}': "at most 168h",
        deep: "nested more than 32 levels",
        "[" * 100_00 + "]" * 100_00: "nested more than 32 levels",
        '{"fault": "node_failure", "count": ' + "9" * 5000 + "}": "4300",
        '{"fault": "zone_failure", "zone": "1", "dryRun": true, "horizon": "2d"}': "at most 1d",
        '{"fault": "zone_failure", "zone": "1", "dryRun": "yes"}': "dryRun: expected true or false",
    }
    for body, says in bodies.items():
        r = await server.post("/v1/runs/f/faults", content=body, headers=_raw(body))
        assert r.status_code == 422 and says in r.json()["detail"], (body[:80], r.text)
    run = (await server.get("/v1/runs/f", headers=AUTH)).json()
    assert run["state"] == "running" and run["faults"] == []
    await server.post("/v1/runs/f/stop", headers=AUTH)


async def _chunked(port: int, path: str, total: int) -> bytes:
    """POST *total* bytes as chunks of 10,000 through a raw socket, stopping as soon as the
    body is over the limit (so the server has read all that was sent); the raw answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer {TOKEN}\r\n"
                 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    sent = 0
    while sent < total:
        writer.write(b"2710\r\n" + b"#" * 10_000 + b"\r\n")
        sent += 10_000
        if sent > LIMIT:
            break
    else:
        writer.write(b"0\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def test_a_chunked_body_over_the_limit_is_413(server: httpx.AsyncClient) -> None:
    port = server.base_url.port
    for path in ("/v1/scenarios/validate", "/v1/runs", "/v1/runs/x/faults"):
        answer = await _chunked(port, path, 60_000_000)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert f"over {LIMIT} bytes".encode() in answer
    # a chunked body under the limit goes through, to the route's own answer (not JSON: 422)
    answer = await _chunked(port, "/v1/runs/x/faults", LIMIT // 2)
    assert answer.startswith(b"HTTP/1.1 422 "), answer[:200]

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"yaml": "duration: 1m"}'

    small = await server.post("/v1/scenarios/validate", content=chunks(), headers=_raw(""))
    assert small.status_code == 422 and small.json().get("valid") is False, small.text
    assert await _healthz_ms(server) < 100


@pytest.mark.parametrize("header", [f"bearer {TOKEN}", f"BEARER {TOKEN}", f"BeArEr  {TOKEN}"])
async def test_the_bearer_scheme_is_case_insensitive(server: httpx.AsyncClient, header: str) -> None:
    assert (await server.get("/v1/runs", headers={"Authorization": header})).status_code == 200


@pytest.mark.parametrize("header", [f"Basic {TOKEN}", TOKEN, f"Bearer{TOKEN}", "bearer",
                                    f"Bearer {TOKEN}x", "Bearer \u00e9t\u00e9"])
async def test_other_spellings_are_refused(server: httpx.AsyncClient, header: str) -> None:
    r = await server.get("/v1/runs", headers={"Authorization": header.encode("utf-8")})
    assert r.status_code == 401


async def test_a_scenario_name_too_long_for_the_file_system_is_404(server: httpx.AsyncClient) -> None:
    name = "a" * 190 + ".yaml" * 2  # under the 200 characters a request may send
    r = await server.post("/v1/runs", headers=AUTH, json={"scenario": name})
    assert r.status_code == 404
    r = await server.post("/v1/scenarios/validate", headers=AUTH, json={"scenario": "b" * 300})
    assert r.status_code == 422 and r.json()["issues"][0]["path"] == "scenario"


@pytest.mark.parametrize("speed", [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e-300, 1e300])
def test_the_pacer_refuses_a_pace_it_cannot_keep(speed: float) -> None:
    with pytest.raises(ValueError, match="--speed: expected"):
        Pacer(speed, time.monotonic)


async def test_the_command_listener_survives_any_payload(tmp_path: Path) -> None:
    with mosquitto(tmp_path) as broker:
        app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", mqtt=broker.url))
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                        base_url="http://s") as c:
            r = await c.post("/v1/runs", headers=AUTH, json={"scenario": "zone-failure",
                                                             "runId": "m", "speed": 10})
            assert r.status_code == 201, r.text
            topic = "akssim/m/commands/faults"
            payloads = [
                b'{"fault": "network_policy", "apply": ' + b'{"a": ' * 100_000 + b"1"
                + b"}" * 100_001,
                b"[" * 200_000,
                b'{"fault": "zone_failure", "zone": "1", "at": NaN, "commandId": 1}',
                b'{"commandId": ' + b"[" * 50 + b"]" * 50 + b"}",
                b"\xff\xfe not text",
                b'{"fault": "pod_kill", "deployment": "shop/checkout", "count": 1, "commandId": "ok"}',
            ]
            async with aiomqtt.Client("127.0.0.1", broker.port) as client:
                await client.subscribe(f"{topic}/ack", qos=1)
                acks = []
                for payload in payloads:
                    await client.publish(topic, payload, qos=1)
                    msg = await asyncio.wait_for(anext(aiter(client.messages)), 10)
                    acks.append(json.loads(msg.payload))
            assert [a["ok"] for a in acks] == [False] * 5 + [True]
            assert "nested more than 32 levels" in acks[0]["error"]
            assert "NaN is not a JSON number" in acks[2]["error"]
            assert acks[-1]["commandId"] == "ok"
            run = (await c.get("/v1/runs/m", headers=AUTH)).json()
            assert [f["fault"]["fault"] for f in run["faults"]] == ["pod_kill"]
            await c.post("/v1/runs/m/stop", headers=AUTH)


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json"])
async def test_metrics_and_docs_follow_the_read_rule(server: httpx.AsyncClient, tmp_path: Path,
                                                     path: str) -> None:
    closed = await server.get(path)
    assert closed.status_code == 401 and closed.headers["www-authenticate"] == "Bearer"
    opened = await server.get(path, headers={"Authorization": f"bearer {TOKEN}"})
    assert opened.status_code == 200
    assert "# HELP akssim_" in opened.text if path == "/metrics" else "aks-sim" in opened.text
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "open", open_reads=True))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        assert (await c.get(path)).status_code == 200
        assert (await c.post("/v1/runs", json={"scenario": "zone-failure"})).status_code == 401


BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
                 + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)])
"""Under 1 KB of YAML that expands to ten million values through aliases."""


async def _healthz_while(server: httpx.AsyncClient, work: asyncio.Task) -> list[float]:
    latencies = []
    while not work.done():
        latencies.append(await _healthz_ms(server))
        await asyncio.sleep(0.02)
    return latencies


async def test_an_alias_bomb_does_not_stall_the_service(server: httpx.AsyncClient) -> None:
    assert len(BOMB) < 1024
    body = {"yaml": BOMB}
    work = asyncio.create_task(server.post("/v1/scenarios/validate", json=body, headers=AUTH))
    latencies = await _healthz_while(server, work)
    r = work.result()
    assert r.status_code == 422 and "more than 1,000,000 values" in r.json()["issues"][0]["message"]
    assert len(latencies) >= 3 and max(latencies) < 100, latencies


async def test_loading_longer_than_the_cap_is_a_422_and_the_worker_is_gone(tmp_path: Path) -> None:
    async with _serve(tmp_path, load_timeout=0.5) as server:
        await _capped(server)


async def _capped(server: httpx.AsyncClient) -> None:
    began = time.monotonic()
    bombs = [asyncio.create_task(server.post("/v1/runs", json={"yaml": BOMB}, headers=AUTH))
             for _ in range(3)]
    latencies = await _healthz_while(server, asyncio.ensure_future(asyncio.gather(*bombs)))
    for r in [b.result() for b in bombs]:
        assert r.status_code == 422
        [issue] = r.json()["issues"]
        assert "took more than 0.5 s" in issue["message"] and issue["file"] == "<request>"
    assert time.monotonic() - began < 5  # killed at the cap, not run to the end
    assert max(latencies) < 100, latencies
    # the service still loads ordinary scenarios
    ok = await server.post("/v1/scenarios/validate", json={"scenario": "zone-failure"}, headers=AUTH)
    assert ok.status_code == 200 and ok.json()["valid"] is True
