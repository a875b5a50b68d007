"""The simulation service: FastAPI routes over :class:`services.live.manager.RunManager`.

Routes only translate between HTTP and calls. Startup happens in the lifespan: the registry,
the run manager, ``/metrics``; shutdown stops the runs. Mutating calls need the bearer token;
reads too unless ``open_reads``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError, StarletteHTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, make_asgi_app
from pydantic import BaseModel, ConfigDict, Field

from services.http.api_models import DryRun, FaultApplied, Health, Run, ScenarioInfo, Validation
from services.http.guards import BodyLimit, ReadGate, reader, writer
from services.http.openapi import build_openapi
from services.http.problems import error_responses, issues_json, problem, problem_body, request_issue
from services.live.manager import RunManager
from services.live.pacer import MAX_SPEED, MIN_SPEED
from services.live.requests import RunError, parse_fault, parse_json_object
from services.settings import Settings
from sim.scenario import MAX_BUNDLE_FILES, MAX_SEED, parse_duration

API = "/v1"
SWAGGER_UI = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"
"""Swagger UI's files, from the npm package swagger-ui-dist (Apache-2.0, its LICENSE and NOTICE
alongside): ``/docs`` loads nothing from elsewhere, so it works offline."""
DOCS_ASSETS = "/docs/assets"


class RunCreate(BaseModel):
    """``POST /v1/runs``: which scenario, how fast, for how long."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", allow_inf_nan=False)

    scenario: str | None = Field(None, max_length=200, description="a name from GET /v1/scenarios")
    yaml: str | None = Field(None, description="or the scenario itself (YAML or JSON text)")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="0 to 2**32 - 1")
    speed: float | None = Field(
        None, ge=MIN_SPEED, le=MAX_SPEED,
        description="simulated seconds per wall second (0.001 to 1000000); null = as fast as possible")
    duration: str | None = Field(None, max_length=64,
                                 description="stop earlier than the scenario's duration, e.g. 10m")
    run_id: str | None = Field(None, alias="runId", max_length=63)
    files: dict[str, str] | None = Field(
        None, max_length=MAX_BUNDLE_FILES,
        description="with yaml: the text of every file it references (workloads[].manifests), "
                    "keyed as the scenario writes the path; nothing else is read")
    file: str | None = Field(None, max_length=255,
                             description="with yaml: the file's base name, shown in messages")


class ScenarioText(BaseModel):
    """``POST /v1/scenarios/validate``."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | None = Field(None, max_length=200)
    yaml: str | None = None
    files: dict[str, str] | None = Field(None, max_length=MAX_BUNDLE_FILES)
    file: str | None = None


def _sse_event(seq: int, line: str) -> str:
    """One event of the stream: its seq, its reason as the SSE event type, the CloudEvent."""
    reason = line[line.find('"reason":"') + 10:].split('"', 1)[0]
    return f"id: {seq}\nevent: {reason}\ndata: {line}\n\n"


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
            from services.live.commands import listen

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
                  description="Run AKS networking scenarios live, inject faults, follow events.",
                  docs_url=None, redoc_url=None, openapi_url=None)  # served below, as reads
    app.state.ready = False
    app.state.settings = settings
    app.state.token = token
    app.router.add_route("/metrics", ReadGate(make_asgi_app(registry), token, settings.open_reads),
                         include_in_schema=False)

    Write = [Depends(writer)]
    Read = [Depends(reader)]

    def openapi_document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi_document  # type: ignore[method-assign]

    @app.get("/openapi.json", dependencies=Read, include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", dependencies=Read, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="aks-sim API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})  # no badge from validator.swagger.io

    # Swagger UI's own files are public (the same as on npm): open, like /healthz.
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")

    @app.exception_handler(RunError)
    async def run_error(request: Request, exc: RunError) -> JSONResponse:
        return problem(exc.status, str(exc), request.url.path, exc.issues)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = [request_issue(e) for e in exc.errors()]
        return problem(422, "; ".join(i.render() for i in issues), request.url.path, issues)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), request.url.path,
                       headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unhandled(request: Request, _: Exception) -> JSONResponse:
        # Starlette logs the exception with its traceback; the client gets no trace of it.
        return problem(500, "the service failed on this request; its log says why",
                       request.url.path)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    @app.get("/healthz", response_model=Health,
             responses={503: {"model": Health, "description": "starting"}})
    async def healthz(request: Request) -> JSONResponse:
        ready = getattr(request.app.state, "ready", False)
        return JSONResponse({"status": "ok" if ready else "starting"}, status_code=200 if ready else 503)

    @app.get(f"{API}/scenarios", dependencies=Read, response_model=list[ScenarioInfo],
             responses=error_responses(401))
    async def list_scenarios() -> list[dict[str, Any]]:
        out = []
        for path in sorted(settings.scenarios_dir.glob("*.yaml")):
            first = next((line.lstrip("# ").strip() for line in path.read_text().splitlines()
                          if line.startswith("#")), "")
            out.append({"name": path.stem, "file": path.name, "description": first})
        return out

    @app.post(f"{API}/scenarios/validate", dependencies=Read, response_model=Validation,
              responses=error_responses(401, 413, 422))
    async def validate(body: ScenarioText, manager: Runs, request: Request) -> JSONResponse:
        try:
            loaded, _, _ = await manager.load(body.scenario, body.yaml, body.files, body.file)
        except RunError as exc:
            if exc.status != 422 or not exc.issues:
                raise
            return problem(422, f"the scenario is not valid: {len(exc.issues)} "
                           f"issue{'s' if len(exc.issues) != 1 else ''}",
                           request.url.path, exc.issues, valid=False)
        return JSONResponse({"valid": True, "issues": issues_json(loaded.warnings)})

    @app.post(f"{API}/runs", status_code=201, dependencies=Write, response_model=Run,
              response_model_exclude_unset=True, responses=error_responses(401, 409, 413, 422, 429))
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

    @app.get(f"{API}/runs", dependencies=Read, response_model=list[Run],
             response_model_exclude_unset=True, responses=error_responses(401))
    async def list_runs(manager: Runs) -> list[dict[str, Any]]:
        return [h.public() for h in manager.runs.values()]

    @app.get(f"{API}/runs/{{run_id}}", dependencies=Read, response_model=Run,
             response_model_exclude_unset=True, responses=error_responses(401, 404))
    async def get_run(run_id: str, manager: Runs) -> dict[str, Any]:
        return manager.get(run_id).public()

    @app.delete(f"{API}/runs/{{run_id}}", status_code=204, dependencies=Write,
                responses=error_responses(401, 404, 409))
    async def delete_run(run_id: str, manager: Runs) -> None:
        manager.delete(run_id)

    @app.post(f"{API}/runs/{{run_id}}/stop", dependencies=Write, response_model=Run,
              response_model_exclude_unset=True, responses=error_responses(401, 404, 409))
    async def stop_run(run_id: str, manager: Runs) -> dict[str, Any]:
        return (await manager.stop(run_id)).public()

    @app.post(f"{API}/runs/{{run_id}}/faults", status_code=202, dependencies=Write,
              response_model=FaultApplied | DryRun, responses=error_responses(401, 404, 409, 413, 422),
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/FaultRequest"}}}}})
    async def inject(run_id: str, request: Request, manager: Runs) -> dict[str, Any]:
        body = parse_json_object(await request.body(), "body")
        dry = body.pop("dryRun", False)
        if not isinstance(dry, bool):
            raise RunError(422, f"dryRun: expected true or false, found {json.dumps(dry)[:60]}")
        horizon_text = body.pop("horizon", "10m")
        fault = parse_fault(body)
        if dry:
            try:
                horizon = parse_duration(horizon_text)
            except ValueError as exc:
                raise RunError(422, f"horizon: {exc}") from None
            return await manager.dry_run(run_id, fault, horizon)
        return await manager.apply(run_id, fault)

    @app.get(f"{API}/runs/{{run_id}}/events", dependencies=Read, response_class=StreamingResponse,
             responses={200: {"description": "Server-Sent Events: id: seq, event: reason, data: a "
                                             "CloudEvent; event: error (a problem details "
                                             "object); event: end",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                        **error_responses(401, 404)})
    async def events(run_id: str, manager: Runs, from_seq: int = 1,
                     last_event_id: Annotated[str | None, Header()] = None) -> StreamingResponse:
        resume = last_event_id is not None and last_event_id.isdigit() and len(last_event_id) <= 18
        start = int(last_event_id) + 1 if resume else from_seq  # type: ignore[arg-type]
        manager.get(run_id)
        stream = manager.follow(run_id, start, idle=settings.sse_keepalive)

        async def sse() -> AsyncIterator[bytes]:
            try:
                async for chunk in stream:  # what is there, in one write; [] after silence
                    if not chunk:
                        yield b": keep-alive\n\n"
                        continue
                    yield "".join(_sse_event(seq, line) for seq, line in chunk).encode()
            except RunError as exc:
                error = problem_body(exc.status, str(exc), f"{API}/runs/{run_id}/events")
                yield f"event: error\ndata: {json.dumps(error)}\n\n".encode()
            yield b"event: end\ndata: {}\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return app
