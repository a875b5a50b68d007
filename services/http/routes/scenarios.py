"""``/v1/scenarios``: the example scenarios, and validating a scenario without running it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.http.api_models import ScenarioInfo, Validation
from services.http.deps import API, AppSettings, Read, Runs
from services.http.problems import error_responses, issues_json, problem
from services.live.requests import RunError
from sim.scenario import MAX_BUNDLE_FILES


class ScenarioText(BaseModel):
    """``POST /v1/scenarios/validate``."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | None = Field(None, max_length=200)
    yaml: str | None = None
    files: dict[str, str] | None = Field(None, max_length=MAX_BUNDLE_FILES)
    file: str | None = None


router = APIRouter(prefix=API)


@router.get("/scenarios", dependencies=Read, response_model=list[ScenarioInfo],
            responses=error_responses(401))
async def list_scenarios(settings: AppSettings) -> list[dict[str, Any]]:
    out = []
    for path in sorted(settings.scenarios_dir.glob("*.yaml")):
        first = next((line.lstrip("# ").strip() for line in path.read_text().splitlines()
                      if line.startswith("#")), "")
        out.append({"name": path.stem, "file": path.name, "description": first})
    return out


@router.post("/scenarios/validate", dependencies=Read, response_model=Validation,
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
