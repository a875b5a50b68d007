"""``/v1/runs``: start a live run, list them, read one, stop it, delete it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.http.api_models import Run
from services.http.deps import API, Read, Runs, Write
from services.http.problems import error_responses
from services.live.pacer import MAX_SPEED, MIN_SPEED
from services.live.requests import RunError
from sim.scenario import MAX_BUNDLE_FILES, MAX_SEED, parse_duration


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


router = APIRouter(prefix=API)


@router.post("/runs", status_code=201, dependencies=Write, response_model=Run,
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


@router.get("/runs", dependencies=Read, response_model=list[Run],
            response_model_exclude_unset=True, responses=error_responses(401))
async def list_runs(manager: Runs) -> list[dict[str, Any]]:
    return [h.public() for h in manager.runs.values()]


@router.get("/runs/{run_id}", dependencies=Read, response_model=Run,
            response_model_exclude_unset=True, responses=error_responses(401, 404))
async def get_run(run_id: str, manager: Runs) -> dict[str, Any]:
    return manager.get(run_id).public()


@router.delete("/runs/{run_id}", status_code=204, dependencies=Write,
               responses=error_responses(401, 404, 409))
async def delete_run(run_id: str, manager: Runs) -> None:
    manager.delete(run_id)


@router.post("/runs/{run_id}/stop", dependencies=Write, response_model=Run,
             response_model_exclude_unset=True, responses=error_responses(401, 404, 409))
async def stop_run(run_id: str, manager: Runs) -> dict[str, Any]:
    return (await manager.stop(run_id)).public()
