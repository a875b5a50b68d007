"""``workloads:`` (inline Kubernetes objects or ``{manifests: path}``) and ``utilization:``
(the CPU a Deployment's pods show over time)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, WithJsonSchema

from sim.scenario.schema.types import MAX_ITEMS, Duration, SpecModel


class ManifestFile(SpecModel):
    """A path (relative to the scenario file) to ordinary Kubernetes YAML."""

    manifests: str


class UtilizationPoint(SpecModel):
    """CPU utilisation (percent of requests) from ``at`` on."""

    at: Duration
    cpu: Annotated[float, Field(ge=0, le=1000)]


class UtilizationProfile(SpecModel):
    """The CPU utilisation a Deployment's pods show over time (drives its HPA)."""

    deployment: str
    """``name`` or ``namespace/name``."""
    profile: Annotated[list[UtilizationPoint], Field(min_length=1, max_length=MAX_ITEMS)]


def _workload_tag(value: Any) -> str:
    return "file" if isinstance(value, ManifestFile) or (
        isinstance(value, dict) and "manifests" in value) else "object"


INLINE_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An inline Kubernetes object (Deployment, Service, Ingress, ...).",
    "required": ["apiVersion", "kind"],
    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}},
    "additionalProperties": True,
}
"""The JSON Schema of an inline object: ``apiVersion`` and ``kind`` make it one, so that a
``{manifests: path}`` entry matches only :class:`ManifestFile` (``oneOf`` needs exactly one)."""

Workload = Annotated[
    Annotated[ManifestFile, Tag("file")]
    | Annotated[dict[str, Any], Tag("object"), WithJsonSchema(INLINE_OBJECT_SCHEMA)],
    Discriminator(_workload_tag),
]
"""``{manifests: path}``, or an inline Kubernetes object."""

