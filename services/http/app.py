"""The simulation service: FastAPI routes over :class:`services.live.manager.RunManager`.

Routes only translate between HTTP and calls; they live in :mod:`services.http.routes` as
``APIRouter`` modules, included here in the order of the OpenAPI document. Startup happens in
the lifespan: the registry, the run manager, ``/metrics``; shutdown stops the runs. Mutating
calls need the bearer token; reads too unless ``open_reads``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, make_asgi_app

from services.http.guards import BodyLimit, ReadGate
from services.http.openapi import build_openapi
from services.http.problems import add_problem_handlers
from services.http.routes import docs, events, faults, health, runs, scenarios
from services.http.routes.docs import DOCS_ASSETS, SWAGGER_UI
from services.live.manager import RunManager
from services.settings import Settings


def _lifespan(settings: Settings, registry: CollectorRegistry
              ) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the run manager (and, with MQTT, the command listener, waiting up to 10 s for it
    to subscribe), mark the app ready; on shutdown, unready, stop listening, close the runs."""

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

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service's ASGI app."""
    settings = settings or Settings()
    token, _ = settings.token()
    registry = CollectorRegistry()
    app = FastAPI(title="aks-sim", version="1", lifespan=_lifespan(settings, registry),
                  description="Run AKS networking scenarios live, inject faults, follow events.",
                  docs_url=None, redoc_url=None, openapi_url=None)  # served by routes.docs, as reads
    app.state.ready = False
    app.state.settings = settings
    app.state.token = token
    app.router.add_route("/metrics", ReadGate(make_asgi_app(registry), token, settings.open_reads),
                         include_in_schema=False)

    def openapi_document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi_document  # type: ignore[method-assign]
    app.include_router(docs.router)
    # Swagger UI's own files are public (the same as on npm): open, like /healthz.
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")
    add_problem_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    for routes in (health, scenarios, runs, faults, events):
        app.include_router(routes.router)
    return app
