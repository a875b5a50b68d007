"""The shapes the HTTP API answers with, as pydantic models: they type every route's responses
in the OpenAPI document (``response_model`` and ``responses=``), and the fault body's schema,
which the route reads itself (strictly: no NaN, bounded nesting) rather than through FastAPI.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sim.scenario import Fault


class _Open(BaseModel):
    """An answer's model: documents the members; a member it does not know is passed on."""

    model_config = ConfigDict(extra="allow")


class ProblemIssue(_Open):
    """One located problem (the same as ``aks-sim validate`` prints)."""

    path: str = Field(description="the field, dotted, e.g. cluster.nodePools[1].maxPods")
    message: str = Field(description="what was found and what was expected")
    file: str = Field("", description="the file, or <request body> / <request query>")
    line: int = Field(0, description="1-based line, 0 when unknown")
    column: int = Field(0, description="1-based column, 0 when unknown")
    severity: str = Field("error", description="error or warning")
    text: str = Field(description="rendered: file:line:column: path: message")


class Problem(_Open):
    """An RFC 9457 problem details object (``application/problem+json``): every error."""

    type: str = Field("about:blank", description="about:blank: the status says the kind")
    title: str = Field(description="the status's reason phrase")
    status: int = Field(description="the HTTP status")
    detail: str = Field(description="what went wrong and where, for a person")
    instance: str | None = Field(None, description="the request's path")
    issues: list[ProblemIssue] | None = Field(
        None, description="extension member: each located problem, when there are any")
    valid: bool | None = Field(
        None, description="extension member of POST /v1/scenarios/validate's 422: false")


class Health(_Open):
    status: str = Field(description="ok once ready, starting before")


class ScenarioInfo(_Open):
    """A scenario of the scenarios directory."""

    name: str = Field(description="what POST /v1/runs takes as scenario")
    file: str
    description: str = Field(description="its first comment line")


class Validation(_Open):
    """``POST /v1/scenarios/validate``: the scenario is valid; its warnings."""

    valid: bool
    issues: list[ProblemIssue] = Field(description="warnings (the scenario runs, AKS would object)")


class Expectation(_Open):
    """One ``expect:`` entry of the scenario, evaluated."""

    index: int
    ok: bool
    expectation: str
    actual: float | None = None
    description: str | None = None


class Run(_Open):
    """A run (``GET /v1/runs/{id}``). Runs found on disk after a restart may lack numbers the
    service did not record (null)."""

    id: str
    scenario: str = Field(description="the scenario's name, file name, or inline")
    seed: int | None
    state: str = Field(description="pending, running, finished, stopped, failed, or interrupted "
                                   "(found on disk after a restart, killed before it ended)")
    speed: float | None = Field(description="simulated seconds per wall second; null: unpaced")
    simTime: float | None = Field(description="simulated seconds so far")
    duration: float | None = Field(description="simulated seconds it runs for")
    events: int | None = Field(description="events so far")
    lag: float = Field(description="wall seconds behind the pacer's target")
    faults: list[dict[str, Any]] = Field(description="faults injected so far (live and chaos:)")
    error: str | None = Field(description="why it failed")
    warnings: dict[str, int] = Field(description="Warning events so far, by reason")
    passed: bool | None = Field(None, description="once done: every expectation held")
    expect: list[Expectation] | None = Field(None, description="once done: each expectation")


class FaultApplied(_Open):
    """``POST /v1/runs/{id}/faults``: the fault is recorded and applies at ``takesEffectAt``."""

    run: str
    fault: str
    appliedAt: float = Field(description="the simulated instant it was recorded at")
    takesEffectAt: float = Field(description="appliedAt plus its at (a delay)")


class DryRunEvents(_Open):
    count: int = Field(description="events of this reason the fault adds")
    objects: list[str] = Field(description="the objects they are about (at most 50)")


class DryRunClient(_Open):
    requests: float
    errors: float = Field(description="errors with the fault")
    errorsWithout: float = Field(description="errors without it")
    extraErrorsByCause: dict[str, float]
    firstErrorAt: float | None = Field(description="when the extra errors start")
    lastErrorAt: float | None = Field(description="when they stop")


class DryRun(_Open):
    """``POST /v1/runs/{id}/faults`` with ``dryRun``: what the fault would do (the run is untouched)."""

    run: str
    dryRun: bool = Field(description="true: nothing was applied")
    fault: str
    at: float = Field(description="the simulated instant the fork starts at")
    horizon: float = Field(description="simulated seconds looked ahead")
    events: dict[str, DryRunEvents] = Field(description="events the fault adds, by reason")
    clients: dict[str, DryRunClient] = Field(description="per traffic flow")


def fault_request_schemas(ref: str = "#/components/schemas/{model}") -> dict[str, Any]:
    """The JSON schemas of ``POST /v1/runs/{id}/faults``'s body, by name: ``FaultRequest`` (one
    of the scenario's faults, discriminated by ``fault``) and each fault; in a live request
    ``at`` is optional (a delay from now) and ``dryRun`` and ``horizon`` may come along."""
    schema = TypeAdapter(Fault).json_schema(by_alias=True, ref_template=ref)
    defs: dict[str, Any] = schema.pop("$defs")
    duration = None
    for name in [n for n, d in defs.items() if d.get("properties", {}).get("fault")]:
        d = defs[name]
        duration = copy.deepcopy(d["properties"]["at"])
        d["properties"]["at"] |= {"default": 0, "description": "a delay from now"}
        d["required"] = [r for r in d.get("required", []) if r != "at"]
        d["properties"]["dryRun"] = {
            "type": "boolean", "default": False,
            "description": "only say what the fault would do, on a fork of the run"}
        d["properties"]["horizon"] = (duration or {}) | {
            "title": "Horizon", "default": "10m",
            "description": "with dryRun: how far ahead to look (at most 1d)"}
    schema["description"] = ("A fault in the scenario's chaos: format (docs/scenarios.md), with "
                             "at a delay from now; dryRun and horizon ask for a dry run.")
    return defs | {"FaultRequest": schema}
