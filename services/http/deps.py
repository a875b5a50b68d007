"""What the routes of :mod:`services.http.routes` share: the API prefix, the run manager and the
settings as dependencies, the token checks as route dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.http.guards import reader, writer
from services.live.manager import RunManager
from services.settings import Settings

API = "/v1"

Write = [Depends(writer)]
"""A mutating call: needs the bearer token."""
Read = [Depends(reader)]
"""A read: needs the bearer token unless ``open_reads``."""


def _runs(request: Request) -> RunManager:
    return request.app.state.runs


def _settings(request: Request) -> Settings:
    return request.app.state.settings


Runs = Annotated[RunManager, Depends(_runs)]
AppSettings = Annotated[Settings, Depends(_settings)]
