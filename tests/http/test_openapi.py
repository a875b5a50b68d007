"""The OpenAPI document types every route: a 2xx answer with a schema, every error status as
the problem details schema (application/problem+json), the fault body from the scenario's
fault models; and real answers validate against the schemas it gives."""

from __future__ import annotations

import asyncio
import typing
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from services.http.app import create_app
from services.settings import Settings
from sim.scenario.schema import AnyFault

TOKEN = "openapi-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", max_runs=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
            yield c


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _typed(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A schema that says something: an object with properties, a list of those, a union."""
    schema = _resolve(doc, schema)
    if "anyOf" in schema or "oneOf" in schema:
        return all(_typed(doc, s) for s in schema.get("anyOf", schema.get("oneOf")))
    if schema.get("type") == "array":
        return _typed(doc, schema["items"])
    return bool(schema.get("properties")) or schema.get("type") == "string"


def _validator(doc: dict[str, Any], name: str) -> jsonschema.Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


async def test_every_route_has_a_typed_answer_and_problem_errors(client: httpx.AsyncClient) -> None:
    assert (await client.get("/openapi.json")).status_code == 401  # a read, like the others
    doc = (await client.get("/openapi.json", headers=AUTH)).json()
    operations = [(m, p, o) for p, ops in doc["paths"].items() for m, o in ops.items()]
    assert len(operations) == 10
    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        ok = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert len(ok) == 1, where
        [(status, answer)] = ok.items()
        if status == "204":
            assert not answer.get("content"), where
        else:
            [(media, body)] = answer["content"].items()
            assert _typed(doc, body["schema"]), (where, body)
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        if path == "/healthz":
            assert set(errors) == {"503"}
            continue
        assert {"401", "422", "500"} <= set(errors), where
        for status, response in errors.items():
            assert response["content"] == PROBLEM, (where, status)
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "issues"} <= set(problem["properties"])
    assert "ValidationError" not in doc["components"]["schemas"]  # FastAPI's shape: not ours


async def test_the_fault_body_is_the_scenario_fault_union(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json", headers=AUTH)).json()
    body = doc["paths"]["/v1/runs/{run_id}/faults"]["post"]["requestBody"]
    schema = _resolve(doc, body["content"]["application/json"]["schema"])
    models = typing.get_args(AnyFault)
    kinds = {typing.get_args(m.model_fields["fault"].annotation)[0]: m.__name__ for m in models}
    mapping = schema["discriminator"]["mapping"]
    assert {k: v.rsplit("/", 1)[1] for k, v in mapping.items()} == kinds
    for name in kinds.values():
        fault = doc["components"]["schemas"][name]
        assert {"dryRun", "horizon", "at"} <= set(fault["properties"]), name
        assert "at" not in fault.get("required", []), name  # live: a delay, default now
    check = _validator(doc, "FaultRequest")
    check.validate({"fault": "zone_failure", "zone": "2", "duration": "15m"})
    check.validate({"fault": "zone_failure", "zone": "1", "dryRun": True, "horizon": "15m"})
    assert not check.is_valid({"fault": "meteor"})
    assert not check.is_valid({"fault": "zone_failure", "zone": "1", "dryRun": "yes"})


async def test_real_answers_match_their_schemas(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json", headers=AUTH)).json()
    r = await client.post("/v1/runs", json={"scenario": "zone-failure", "runId": "o1", "speed": 3000},
                          headers=AUTH)
    assert r.status_code == 201, r.text
    _validator(doc, "Run").validate(r.json())
    await asyncio.sleep(0.3)
    dry = await client.post("/v1/runs/o1/faults", headers=AUTH,
                            json={"fault": "pod_kill", "selector": {"app": "web"}, "count": 1,
                                  "dryRun": True, "horizon": "1m"})
    if dry.status_code == 202:
        _validator(doc, "DryRun").validate(dry.json())
    else:
        assert dry.status_code == 409, dry.text  # the run ended first: then a problem
        _validator(doc, "Problem").validate(dry.json())
    for _ in range(2000):
        run = (await client.get("/v1/runs/o1", headers=AUTH)).json()
        if run["state"] == "finished":
            break
        await asyncio.sleep(0.01)
    assert "passed" in run and "expect" in run
    _validator(doc, "Run").validate(run)
    listed = (await client.get("/v1/runs", headers=AUTH)).json()
    for one in listed:
        _validator(doc, "Run").validate(one)
    for scenario in (await client.get("/v1/scenarios", headers=AUTH)).json():
        _validator(doc, "ScenarioInfo").validate(scenario)
    _validator(doc, "Problem").validate((await client.get("/v1/runs/x", headers=AUTH)).json())
    _validator(doc, "Health").validate((await client.get("/healthz")).json())
    applied = await client.post("/v1/runs/o1/faults", headers=AUTH, json={"fault": "coredns_outage"})
    assert applied.status_code == 409  # over: a problem
    _validator(doc, "Problem").validate(applied.json())
