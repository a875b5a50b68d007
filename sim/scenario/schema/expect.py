"""``expect:`` (what must hold at the end: event counts, figures, sequences, reach verdicts) and
``expectError:`` (the errors a scenario must be rejected with).

The figure names an ``expect:`` entry may use are checked in ``sim.scenario.figures``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from sim.scenario.schema.types import MAX_BOUND, Duration, SpecModel


class Bounds(SpecModel):
    """Shared bounds of an expectation."""

    at_least: Annotated[float, Field(ge=-MAX_BOUND, le=MAX_BOUND)] | None = None
    at_most: Annotated[float, Field(ge=-MAX_BOUND, le=MAX_BOUND)] | None = None
    equals: Annotated[float, Field(ge=-MAX_BOUND, le=MAX_BOUND)] | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Bounds:
        if self.at_least is None and self.at_most is None and self.equals is None:
            raise ValueError("expected at least one of atLeast, atMost or equals")
        return self


class EventMatch(SpecModel):
    """Which events count: a reason, and optionally their object, fields and message."""

    event: str
    """The event reason, e.g. SubnetIsFull, NodeNotReady, FailedScheduling."""
    after: Duration | None = None
    """Count only events at or after this time."""
    before: Duration | None = None
    """Count only events strictly before this time."""
    object: str | None = None
    """Only events whose involvedObject name starts with this."""
    fields: dict[str, str | int | float | bool] = {}
    """Only events whose ``fields`` (as in the event stream: ``zone``, ``node_pool``, ...) have
    these values (compared as text, so ``zone: 2`` matches ``"2"``)."""
    message: str | None = None
    """Only events whose message contains this text."""
    message_matches: str | None = None
    """Only events whose message matches this regular expression (Python ``re.search``)."""

    @field_validator("message_matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expected a regular expression, got {value!r}: {exc}") from None
        return value


class EventExpectation(EventMatch, Bounds):
    """How many events of a reason happen (optionally in a time window, on an object, with
    some fields and message)."""

    description: str | None = None


class FigureExpectation(Bounds):
    """A figure of the final report (see docs/scenarios.md for the list), or as it was at a
    time of the run (``at``)."""

    figure: str
    """e.g. ``subnet.aks-subnet.peakUsedFraction`` or ``deployment.web.availableFinal``."""
    at: Duration | None = None
    """Sample the figure at this time (the state after everything before it happened)."""
    description: str | None = None


class SequenceExpectation(SpecModel):
    """Events happen in this order: each item's first match after the previous item's."""

    sequence: Annotated[list[str | EventMatch], Field(min_length=2)]
    """Event reasons, or mappings like ``event`` expectations (object, fields, message, ...)."""
    description: str | None = None


class ReachCheck(SpecModel):
    """One cell of ``aks-sim reach``'s table."""

    from_: str = Field(alias="from")
    """``internet`` or a Deployment (``namespace/name``)."""
    to: str
    """A Deployment (``namespace/name``)."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """The destination port (default: its first container port, as ``aks-sim reach``)."""
    verdict: Literal["allow", "deny", "partial", "not exposed"]


class ReachExpectation(SpecModel):
    """``aks-sim reach``'s verdict for one source and destination, at the end of the run."""

    reach: ReachCheck
    description: str | None = None


_EXPECTATION_KINDS = ("event", "figure", "sequence", "reach")


def _expectation_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((k for k in _EXPECTATION_KINDS if k in value), None)
    return next((k for k in _EXPECTATION_KINDS if hasattr(value, k)), None)


Expectation = Annotated[
    Annotated[EventExpectation, Tag("event")] | Annotated[FigureExpectation, Tag("figure")]
    | Annotated[SequenceExpectation, Tag("sequence")] | Annotated[ReachExpectation, Tag("reach")],
    Discriminator(_expectation_tag, custom_error_type="expectation_kind",
                  custom_error_message="expected a mapping with an `event`, `figure`, "
                                       "`sequence` or `reach` key"),
]


class RejectionExpectation(SpecModel):
    """This scenario must be rejected with an error at this path (the invalid catalogue as
    scenarios: ``aks-sim validate`` must refuse it, and say this)."""

    path: str
    """The dotted path the error names, e.g. ``cluster.nodePools[0].maxPods``."""
    message: str
    """Text the error message contains."""

