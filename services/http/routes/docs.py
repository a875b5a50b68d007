"""``/openapi.json`` and ``/docs``: the OpenAPI document and Swagger UI, both reads, neither in
the document."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from services.http.deps import Read

SWAGGER_UI = Path(__file__).resolve().parent.parent.parent / "static" / "swagger-ui"
"""Swagger UI's files, from the npm package swagger-ui-dist (Apache-2.0, its LICENSE and NOTICE
alongside): ``/docs`` loads nothing from elsewhere, so it works offline."""
DOCS_ASSETS = "/docs/assets"

router = APIRouter()


@router.get("/openapi.json", dependencies=Read, include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", dependencies=Read, include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="aks-sim API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None})  # no badge from validator.swagger.io
