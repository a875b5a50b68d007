"""``POST /v1/runs/{run_id}/faults``: inject a fault into a live run, or (``dryRun``) ask what it
would do over a horizon without touching the run."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from services.http.api_models import DryRun, FaultApplied
from services.http.deps import API, Runs, Write
from services.http.problems import error_responses
from services.live.requests import RunError, parse_fault, parse_json_object
from sim.scenario import parse_duration

router = APIRouter(prefix=API)


@router.post("/runs/{run_id}/faults", status_code=202, dependencies=Write,
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
