"""Every error of the service is one shape: an RFC 9457 problem details object
(``application/problem+json``), checked through a real uvicorn socket: 401 (routes and
/metrics), 404 (no run, no route), 405, 413, 422 (request validation, an invalid scenario,
/v1/scenarios/validate), 429 and an unhandled exception (500, no traceback)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from servers import uvicorn_client

from services.http.app import create_app
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "problem-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "a-secret-that-only-the-traceback-knows"
TITLES = {401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 413: "Content Too Large",
          422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error"}
"""RFC 9110 section 15's reason phrases."""


@contextlib.asynccontextmanager
async def _serve(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", max_runs=1,
                              max_body_bytes=10_000))

    @app.get("/v1/boom", include_in_schema=False)
    async def boom() -> None:  # a bug in a route: what the client sees of it
        raise RuntimeError(SECRET)

    async with uvicorn_client(app, log_level="critical") as client:
        yield client


def _problem(r: httpx.Response, status: int, path: str) -> dict[str, Any]:
    """The response is a problem details object for *status* about *path*."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body = r.json()
    assert body["type"] == "about:blank"
    assert body["title"] == TITLES[status]
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == path
    assert "Traceback" not in r.text
    return body


async def test_every_error_is_a_problem_details_object(tmp_path: Path) -> None:
    async with _serve(tmp_path) as c:
        r = await c.get("/v1/runs")
        assert "bearer token" in _problem(r, 401, "/v1/runs")["detail"]
        assert r.headers["www-authenticate"] == "Bearer"
        r = await c.get("/metrics")
        assert "bearer token" in _problem(r, 401, "/metrics")["detail"]
        assert r.headers["www-authenticate"] == "Bearer"

        assert _problem(await c.get("/v1/runs/nope", headers=AUTH), 404,
                        "/v1/runs/nope")["detail"] == "no run 'nope'"
        _problem(await c.get("/v1/nothing-here", headers=AUTH), 404, "/v1/nothing-here")
        _problem(await c.put("/v1/runs", headers=AUTH), 405, "/v1/runs")

        big = await c.post("/v1/runs", content=b"x" * 20_000,
                           headers={**AUTH, "content-type": "application/json"})
        assert "over 10000 bytes" in _problem(big, 413, "/v1/runs")["detail"]

        seed = _problem(await c.post("/v1/runs", json={"scenario": "zone-failure", "seed": -1},
                                     headers=AUTH), 422, "/v1/runs")
        [issue] = seed["issues"]
        assert issue["path"] == "seed" and "found -1" in issue["message"]
        assert "seed" in seed["detail"]

        invalid = sorted((ROOT / "tests" / "scenario" / "invalid").glob("*.yaml"))[0]
        run = _problem(await c.post("/v1/runs", json={"yaml": invalid.read_text()}, headers=AUTH),
                       422, "/v1/runs")
        check = _problem(await c.post("/v1/scenarios/validate", json={"yaml": invalid.read_text()},
                                      headers=AUTH), 422, "/v1/scenarios/validate")
        assert check["valid"] is False
        assert [i["text"] for i in check["issues"]] == [i["text"] for i in run["issues"]]
        assert all(i["line"] >= 1 for i in run["issues"])

        assert (await c.post("/v1/runs", json={"scenario": "zone-failure", "speed": 1, "runId": "a"},
                             headers=AUTH)).status_code == 201
        busy = await c.post("/v1/runs", json={"scenario": "zone-failure", "speed": 1}, headers=AUTH)
        _problem(busy, 429, "/v1/runs")

        boom = await c.get("/v1/boom", headers=AUTH)
        _problem(boom, 500, "/v1/boom")
        assert SECRET not in boom.text and "RuntimeError" not in boom.text
        assert (await c.get("/healthz")).json() == {"status": "ok"}  # and it keeps serving
