"""``aks-sim serve``: the simulation service (:mod:`services.http.app`) on uvicorn."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.cli.common import EXIT_INVALID, EXIT_OK


def serve(args: argparse.Namespace) -> int:
    """``aks-sim serve``: the service on uvicorn."""
    import uvicorn
    from pydantic import ValidationError

    from services import logging as shell_logging
    from services.http.app import create_app
    from services.settings import Settings

    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.mqtt:
        overrides["mqtt"] = args.mqtt
    if args.runs_dir:
        overrides["runs_dir"] = args.runs_dir
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for e in exc.errors():
            print(f"aks-sim serve: error: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}", file=sys.stderr)
        return EXIT_INVALID
    token, generated = settings.token()
    if generated:
        print(f"API token (set AKSSIM_API_TOKEN to choose your own): {token}", file=sys.stderr, flush=True)
    shell_logging.configure("json", args.log_level)
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    try:
        server.run()
    except OSError as exc:
        print(f"aks-sim serve: error: cannot listen on {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def add_serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim serve``."""
    p = sub.add_parser("serve", help="start the simulation service (HTTP API, live runs)")
    p.add_argument("--host", default=None, help="default AKSSIM_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default AKSSIM_PORT or 8080")
    p.add_argument("--mqtt", default=None, metavar="URL", help="publish every run's events there")
    p.add_argument("--runs-dir", default=None, help="where runs are written (default ./runs)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=serve)
