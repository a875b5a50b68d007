"""Fuzzing every route and the MQTT command handler with hypothesis: whatever the body (any
JSON, NaN and Infinity, huge numbers, deep nesting, fault-shaped objects with wrong values,
bytes that are not text), the answer is a 2xx or a 4xx with a detail, never a 5xx, and the run
under fire keeps going."""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.http.app import create_app
from services.live.commands import handle
from services.settings import Settings
from sim.scenario.schema import AnyFault

TOKEN = "fuzz-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
FAULTS = [m.model_fields["fault"].annotation.__args__[0] for m in AnyFault.__args__]
KEYS = sorted({info.alias or name for m in AnyFault.__args__ for name, info in m.model_fields.items()}
              | {"horizon", "commandId", "scenario", "yaml", "seed", "speed", "duration", "runId"})
"""The keys a body may have (``dryRun`` left out: a dry run simulates for seconds, and has
its own tests)."""

numbers = st.one_of(st.integers(), st.integers(min_value=2**63, max_value=2**300).map(lambda n: -n),
                    st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, 1e-300, 1e308]))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20),
                    st.sampled_from(["1e9", "8d", "-1s", ".inf", "zone-failure", "1", "1h"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
faultish = st.fixed_dictionaries({"fault": st.sampled_from(FAULTS)},
                                 optional={k: values for k in KEYS if k != "fault"})


def _text(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    faultish.map(_text),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=6).map(_text),
    values.map(_text),
    st.integers(min_value=40, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=40, max_value=3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.binary(max_size=40),
)
ROUTES = ["/v1/runs", "/v1/scenarios/validate", "/v1/runs/fuzz/faults", "/v1/runs/nope/faults",
          "/v1/runs/fuzz/stop-not", "/v1/runs/fuzz"]


async def _fire(tmp_path: Path, shots: list[tuple[str, bytes]]) -> None:
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", max_runs=2))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://fuzz") as client:
        r = await client.post("/v1/runs", headers=AUTH, json={"scenario": "zone-failure",
                                                              "runId": "fuzz", "speed": 1})
        assert r.status_code == 201, r.text
        manager = app.state.runs
        for route, body in shots:
            r = await asyncio.wait_for(client.post(route, content=body, headers=AUTH), 60)
            assert r.status_code < 500, (route, body[:200], r.status_code, r.text[:300])
            if r.status_code >= 400:
                assert r.json()["detail"], r.text
            topic, ack = await asyncio.wait_for(
                handle(manager, "akssim/fuzz/commands/faults", body), 60)
            assert topic == "akssim/fuzz/commands/faults/ack" and isinstance(ack["ok"], bool)
            assert ack["ok"] or "internal error" not in ack["error"], ack
            json.dumps(ack)  # the acknowledgement can always be sent
        run = (await client.get("/v1/runs/fuzz", headers=AUTH)).json()
        assert run["state"] == "running" and run["error"] is None, run
        # runs the fuzz started (a valid body can start one) stop with the service


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(shots=st.lists(st.tuples(st.sampled_from(ROUTES), bodies), min_size=25, max_size=25))
def test_no_body_on_any_route_or_command_is_a_server_error(tmp_path: Path,
                                                           shots: list[tuple[str, bytes]]) -> None:
    asyncio.run(_fire(Path(tempfile.mkdtemp(dir=tmp_path)), shots))
