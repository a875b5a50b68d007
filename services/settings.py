"""The service's settings: environment (``AKSSIM_*``) or a settings file, checked at start."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.examples import examples_dir


class Settings(BaseSettings):
    """``aks-sim serve`` settings. Every field is also ``AKSSIM_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="AKSSIM_", env_file=None, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    api_token: str | None = None
    """Bearer token for every mutating call; generated (and printed once) when unset."""
    open_reads: bool = False
    """Let GET calls through without the token."""
    mqtt: str | None = None
    """Broker URL (``mqtt://host:1883``); runs publish their events there."""
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    scenarios_dir: Path = Field(default_factory=lambda: examples_dir("scenarios"))
    """Where ``scenario`` names are looked up: the shipped examples unless set."""
    runs_dir: Path = Path("runs")
    max_runs: int = Field(4, ge=1, le=256)
    """Runs going at once; more are refused with 429."""
    runs_kept: int = Field(100, ge=1, le=100_000)
    """Ended runs kept (listed, served, on disk); past that the oldest are deleted."""
    max_events_kept: int = Field(100_000, ge=100)
    """Events kept per run for ``GET /v1/runs/{id}/events`` (the event log has them all)."""
    max_body_bytes: int = Field(1_000_000, ge=1_000)
    sample_interval: float = Field(15.0, ge=0.01, le=86400)
    sse_keepalive: float = Field(15.0, ge=0.01, le=3600)
    """Wall seconds of silence on an event stream before a ``: keep-alive`` comment."""
    load_timeout: float = Field(10.0, gt=0, le=600)
    """Wall seconds a scenario may take to load and validate (in a worker process, killed
    after this); more is a 422."""

    @field_validator("api_token")
    @classmethod
    def _long_enough(cls, v: str | None) -> str | None:
        if v is not None and len(v) < 16:
            raise ValueError("AKSSIM_API_TOKEN must be at least 16 characters")
        return v

    def token(self) -> tuple[str, bool]:
        """The API token, and whether it was generated now (to print it once)."""
        if self.api_token:
            return self.api_token, False
        self.api_token = secrets.token_urlsafe(24)
        return self.api_token, True
