"""The one place that configures structlog: readable console lines for the CLI, JSON lines for
the service. Every line carries the run id bound with :func:`bind_run`. The model never logs
or configures logging; its events reach logs through :mod:`sim.telemetry.logging`."""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog

LEVELS = ("debug", "info", "warning", "error")


def configure(mode: Literal["console", "json"] = "console", level: str = "warning",
              stream: TextIO | None = None) -> None:
    """Configure structlog once for this process.

    Args:
        mode: ``console`` (readable, for people) or ``json`` (one object per line).
        level: lowest level written: debug, info, warning or error.
        stream: where lines go (default stderr).
    """
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(sort_keys=True) if mode == "json"
        else structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def bind_run(run_id: str) -> None:
    """Bind *run_id* to every line logged from now on in this context."""
    structlog.contextvars.bind_contextvars(run_id=run_id)
