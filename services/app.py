"""The simulation service: FastAPI routes over :class:`services.runs.RunManager`.

Routes only translate between HTTP and calls. Startup happens in the lifespan: the registry,
the run manager, ``/metrics``; shutdown stops the runs. Mutating calls need the bearer token;
reads too unless ``open_reads``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CollectorRegistry, make_asgi_app
from pydantic import BaseModel, ConfigDict, Field

from services.runs import RunError, RunManager, parse_fault
from services.settings import Settings
from sim.errors import Issue
from sim.scenario import MAX_BUNDLE_FILES
from sim.scenario.units import parse_duration

API = "/v1"


class RunCreate(BaseModel):
    """``POST /v1/runs``: which scenario, how fast, for how long."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    scenario: str | None = Field(None, description="a name from GET /v1/scenarios")
    yaml: str | None = Field(None, description="or the scenario itself (YAML or JSON text)")
    seed: int | None = None
    speed: float | None = Field(
        None, description="simulated seconds per wall second; null = as fast as possible")
    duration: str | None = Field(None, description="stop earlier than the scenario's duration, e.g. 10m")
    run_id: str | None = Field(None, alias="runId")
    files: dict[str, str] | None = Field(
        None, max_length=MAX_BUNDLE_FILES,
        description="with yaml: the text of every file it references (workloads[].manifests), "
                    "keyed as the scenario writes the path; nothing else is read")
    file: str | None = Field(None, description="with yaml: the file's base name, shown in messages")


class ScenarioText(BaseModel):
    """``POST /v1/scenarios/validate``."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | None = None
    yaml: str | None = None
    files: dict[str, str] | None = Field(None, max_length=MAX_BUNDLE_FILES)
    file: str | None = None


def _issues(issues: list[Issue]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(i) | {"text": i.render()} for i in issues]


def _check(request: Request, authorization: str | None) -> None:
    expected = f"Bearer {request.app.state.token}"
    if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise HTTPException(401, "a bearer token is needed (Authorization: Bearer <AKSSIM_API_TOKEN>)",
                            headers={"WWW-Authenticate": "Bearer"})


def writer(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Mutating calls: the bearer token, always."""
    _check(request, authorization)


def reader(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Reads: the bearer token unless ``open_reads``."""
    if not request.app.state.settings.open_reads:
        _check(request, authorization)


def _runs(request: Request) -> RunManager:
    return request.app.state.runs


Runs = Annotated[RunManager, Depends(_runs)]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service's ASGI app."""
    settings = settings or Settings()
    token, _ = settings.token()
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runs = RunManager(settings, registry)
        listener = None
        if settings.mqtt:
            from services.commands import listen

            commands_ready = asyncio.Event()
            listener = asyncio.create_task(listen(app.state.runs.mqtt(), app.state.runs,
                                                  commands_ready), name="mqtt-commands")
            await asyncio.wait([listener, asyncio.create_task(commands_ready.wait())], timeout=10,
                               return_when=asyncio.FIRST_COMPLETED)
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            if listener is not None:
                listener.cancel()
            await app.state.runs.close()

    app = FastAPI(title="aks-sim", version="1", lifespan=lifespan,
                  description="Run AKS networking scenarios live, inject faults, follow events.")
    app.state.ready = False
    app.state.settings = settings
    app.state.token = token
    app.mount("/metrics", make_asgi_app(registry))

    Write = [Depends(writer)]
    Read = [Depends(reader)]

    @app.exception_handler(RunError)
    async def run_error(_: Request, exc: RunError) -> JSONResponse:
        body: dict[str, Any] = {"detail": str(exc)}
        if exc.issues:
            body["issues"] = _issues(exc.issues)
        return JSONResponse(body, status_code=exc.status)

    @app.middleware("http")
    async def body_limit(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_body_bytes:
            return JSONResponse({"detail": f"request body over {settings.max_body_bytes} bytes"},
                                status_code=413)
        return await call_next(request)

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        ready = getattr(request.app.state, "ready", False)
        return JSONResponse({"status": "ok" if ready else "starting"}, status_code=200 if ready else 503)

    @app.get(f"{API}/scenarios", dependencies=Read)
    async def list_scenarios() -> list[dict[str, Any]]:
        out = []
        for path in sorted(settings.scenarios_dir.glob("*.yaml")):
            first = next((line.lstrip("# ").strip() for line in path.read_text().splitlines()
                          if line.startswith("#")), "")
            out.append({"name": path.stem, "file": path.name, "description": first})
        return out

    @app.post(f"{API}/scenarios/validate", dependencies=Read)
    async def validate(body: ScenarioText, manager: Runs) -> JSONResponse:
        try:
            loaded, _, _ = manager.load(body.scenario, body.yaml, body.files, body.file)
        except RunError as exc:
            if exc.status != 422 or not exc.issues:
                raise
            return JSONResponse({"valid": False, "issues": _issues(exc.issues)}, status_code=422)
        return JSONResponse({"valid": True, "issues": _issues(loaded.warnings)})

    @app.post(f"{API}/runs", status_code=201, dependencies=Write)
    async def create_run(body: RunCreate, manager: Runs) -> dict[str, Any]:
        duration = None
        if body.duration is not None:
            try:
                duration = parse_duration(body.duration)
            except ValueError as exc:
                raise RunError(422, f"duration: {exc}") from None
        handle = await manager.start(scenario=body.scenario, text=body.yaml, seed=body.seed,
                                     speed=body.speed, duration=duration, run_id=body.run_id,
                                     files=body.files, file=body.file)
        return handle.public()

    @app.get(f"{API}/runs", dependencies=Read)
    async def list_runs(manager: Runs) -> list[dict[str, Any]]:
        return [h.public() for h in manager.runs.values()]

    @app.get(f"{API}/runs/{{run_id}}", dependencies=Read)
    async def get_run(run_id: str, manager: Runs) -> dict[str, Any]:
        return manager.get(run_id).public()

    @app.delete(f"{API}/runs/{{run_id}}", status_code=204, dependencies=Write)
    async def delete_run(run_id: str, manager: Runs) -> None:
        manager.delete(run_id)

    @app.post(f"{API}/runs/{{run_id}}/stop", dependencies=Write)
    async def stop_run(run_id: str, manager: Runs) -> dict[str, Any]:
        return (await manager.stop(run_id)).public()

    @app.post(f"{API}/runs/{{run_id}}/faults", status_code=202, dependencies=Write)
    async def inject(run_id: str, request: Request, manager: Runs) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError as exc:
            raise RunError(422, f"body: not JSON: {exc.msg} (line {exc.lineno}, "
                                f"column {exc.colno})") from None
        if not isinstance(body, dict):
            raise RunError(422, 'body: expected a fault object, e.g. {"fault": "zone_failure", '
                                '"zone": "1"}')
        dry = body.pop("dryRun", False)
        horizon_text = body.pop("horizon", "10m")
        fault = parse_fault(body)
        if dry:
            try:
                horizon = parse_duration(str(horizon_text))
            except ValueError as exc:
                raise RunError(422, f"horizon: {exc}") from None
            return await manager.dry_run(run_id, fault, horizon)
        return await manager.apply(run_id, fault)

    @app.get(f"{API}/runs/{{run_id}}/events", dependencies=Read)
    async def events(run_id: str, manager: Runs, from_seq: int = 1,
                     last_event_id: Annotated[str | None, Header()] = None) -> StreamingResponse:
        start = int(last_event_id) + 1 if last_event_id and last_event_id.isdigit() else from_seq
        manager.get(run_id)
        stream = manager.follow(run_id, start)

        async def sse() -> AsyncIterator[bytes]:
            try:
                async for seq, line in stream:
                    reason = line[line.find('"reason":"') + 10:].split('"', 1)[0]
                    yield f"id: {seq}\nevent: {reason}\ndata: {line}\n\n".encode()
            except RunError as exc:
                yield f"event: error\ndata: {json.dumps({'detail': str(exc)})}\n\n".encode()
            yield b"event: end\ndata: {}\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return app
