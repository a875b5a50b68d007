"""What the stack tests share: the repository's deployment files, read as the compose file
mounts them, and Grafana dashboard queries with their variables substituted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"

# What Grafana puts in for its built-in variables; $run is the test's own.
BUILTINS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h",
            "${__range}": "1h", "$__range_s": "3600", "$__interval_ms": "15000"}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def mounts(service: str) -> list[tuple[Path, str]]:
    """The bind mounts of a compose service: (file or folder in the repo, path inside)."""
    out = []
    for volume in compose()["services"][service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            out.append(((ROOT / source).resolve(), target))
    return out


def mounted(service: str, target: str) -> Path:
    """The repository file that *service* sees at *target*."""
    for source, inside in mounts(service):
        if inside == target:
            return source
    raise AssertionError(f"docker-compose.yml mounts nothing at {target} in {service}")


def dashboard(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' children included."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def substitute(expr: str, run: str) -> str:
    """*expr* as Grafana sends it to Prometheus, for the run *run*."""
    for name in sorted(BUILTINS, key=len, reverse=True):
        expr = expr.replace(name, BUILTINS[name])
    expr = expr.replace("${run}", run).replace("$run", run)
    leftover = re.search(r"\$\{?\w+", expr)
    assert leftover is None, f"unknown variable {leftover.group()} in {expr}"
    return expr
