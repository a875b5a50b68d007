"""The event stream: a ``: keep-alive`` comment after each stretch of silence (through a real
uvicorn socket), and the events already there sent together, not one write each."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import httpx
import uvicorn
from servers import free_port

from services.http.app import create_app
from services.live.manager import FOLLOW_BATCH
from services.settings import Settings

TOKEN = "sse-token-0123456789abc"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_a_silent_stream_gets_keep_alive_comments(tmp_path: Path) -> None:
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", sse_keepalive=0.2))
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(uv.serve())
    for _ in range(500):
        if uv.started:
            break
        await asyncio.sleep(0.01)
    assert uv.started
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            # 0.001 simulated seconds per wall second: after its first instant, nothing happens
            r = await c.post("/v1/runs", json={"scenario": "zone-failure", "speed": 0.001,
                                               "runId": "quiet"}, headers=AUTH)
            assert r.status_code == 201, r.text
            text, began = "", asyncio.get_running_loop().time()
            async with c.stream("GET", "/v1/runs/quiet/events", headers=AUTH) as s:
                async for piece in s.aiter_text():
                    text += piece
                    if text.count(": keep-alive\n\n") >= 2:
                        break
                waited = asyncio.get_running_loop().time() - began
                assert (await c.post("/v1/runs/quiet/stop", headers=AUTH)).status_code == 200
            assert waited >= 0.4  # two stretches of silence of 0.2 s each
            events, _, _ = text.partition(": keep-alive\n\n")
            ids = [int(line[4:]) for line in events.splitlines() if line.startswith("id: ")]
            assert ids and ids == list(range(1, len(ids) + 1))  # the first instant, then silence
            assert ": keep-alive" not in events
            # after the keep-alives the stream goes on: from where it was, to the end
            async with c.stream("GET", f"/v1/runs/quiet/events?from_seq={ids[-1] + 1}",
                                headers=AUTH) as s:
                rest = (await s.aread()).decode()
            assert rest.endswith("event: end\ndata: {}\n\n")
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 30)


async def test_events_already_there_go_in_few_writes(tmp_path: Path) -> None:
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
            r = await c.post("/v1/runs", json={"scenario": "zone-failure", "runId": "fast"},
                             headers=AUTH)
            assert r.status_code == 201, r.text
            for _ in range(3000):
                run = (await c.get("/v1/runs/fast", headers=AUTH)).json()
                if run["state"] == "finished":
                    break
                await asyncio.sleep(0.01)
            assert run["state"] == "finished" and run["events"] > 10
            writes = []
            async with c.stream("GET", "/v1/runs/fast/events", headers=AUTH) as s:
                async for raw in s.aiter_raw():
                    writes.append(raw)
    text = b"".join(writes).decode()
    ids = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
    assert ids == list(range(1, run["events"] + 1))
    # the events in ceil(n / FOLLOW_BATCH) writes, then event: end
    assert len(writes) <= math.ceil(run["events"] / FOLLOW_BATCH) + 1, len(writes)
