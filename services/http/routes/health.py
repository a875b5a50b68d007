"""``/healthz``: open, 200 once the lifespan has started the service, 503 before."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.http.api_models import Health

router = APIRouter()


@router.get("/healthz", response_model=Health,
            responses={503: {"model": Health, "description": "starting"}})
async def healthz(request: Request) -> JSONResponse:
    ready = getattr(request.app.state, "ready", False)
    return JSONResponse({"status": "ok" if ready else "starting"}, status_code=200 if ready else 503)
