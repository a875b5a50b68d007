"""The scenario file's shared vocabulary: the ranges of numbers, the field types (durations,
CIDRs, VM sizes, zones...), the pydantic base :class:`SpecModel` of every scenario model, and the
random durations (distributions) that cluster timings and traffic both use.

The bottom module of ``sim.scenario.schema``: it holds the constants; the modules of the YAML's
keys (cluster, workloads, traffic, chaos, operations, expect) build on it.
"""

from __future__ import annotations

import difflib
import ipaddress
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from sim.azure.vmsizes import VM_SIZES
from sim.scenario.units import parse_cpu, parse_duration, parse_memory, show
from sim.sizing import MAX_NODES_PER_POOL

# --- the ranges of numbers (docs/scenarios.md lists them) -------------------------------

MAX_SEED = 2**32 - 1
"""numpy's seeds are 0 to 2**32 - 1."""
INT32_MAX = 2**31 - 1
"""Kubernetes' replicas and counts are int32."""
MAX_RPS = 100_000.0
"""aks-sim's limit on a flow's request rate (requests per second)."""
MAX_PODS = 200_000
"""aks-sim's limit on the pods a scenario may ask for (AKS's large-cluster figure for Overlay,
best-practices-performance-scale-large.md)."""
MAX_ITEMS = 10_000
"""aks-sim's limit on the entries of a scenario's lists (chaos, operations, flows, steps...)."""
MAX_BOUND = 1e15
"""Expectation bounds are finite numbers between -1e15 and 1e15."""
MIN_PERIOD = 0.01
"""The shortest period of a repeating activity (a tick, a probe, a scan): 10 ms."""
MAX_TICK = 60.0
"""The longest traffic tick (a tick's arrivals, up to rps x tick, are drawn at once)."""
MAX_NAME_BYTES = 255
"""A scenario's name names the CLI's output directory: at most 255 bytes (NAME_MAX)."""


def _network(value: object) -> ipaddress.IPv4Network:
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an IPv4 CIDR such as 10.224.0.0/16, got {value!r}")
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        hint = ""
        if "host bits set" in str(exc):
            hint = f" (did you mean {ipaddress.IPv4Network(value, strict=False)}?)"
        raise ValueError(f"expected an IPv4 CIDR such as 10.224.0.0/16, got {value!r}{hint}")\
            from None


def _address(value: object) -> ipaddress.IPv4Address:
    if isinstance(value, ipaddress.IPv4Address):
        return value
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        raise ValueError(f"expected an IPv4 address such as 10.0.0.10, got {value!r}") from None


def _vm_size(value: str) -> str:
    if value not in VM_SIZES:
        close = difflib.get_close_matches(value, list(VM_SIZES), n=3, cutoff=0.5)
        known = ", ".join(close or sorted(VM_SIZES)[:6])
        hint = "did you mean" if close else "known sizes include"
        raise ValueError(f"expected a VM size aks-sim knows ({hint} {known}; all are in "
                         f"sim/azure/vmsizes.py), got {value!r}")
    return value


def _surge(value: object) -> str:
    text = str(value).strip()
    number = text[:-1] if text.endswith("%") else text
    if (isinstance(value, bool) or not isinstance(value, str | int) or not number.isdigit()
            or len(number) > 6 or int(number) < 1):
        raise ValueError(f"expected a node count such as 1 or a "
                         f"percentage such as 33%, got {show(value)}")
    if text.endswith("%") and int(number) > 100:
        raise ValueError(f"expected a percentage between 1% and 100%, got {show(value)}")
    if not text.endswith("%") and int(number) > MAX_NODES_PER_POOL:
        raise ValueError(f"expected at most {MAX_NODES_PER_POOL} surge nodes (the nodes of a "
                         f"pool), got {show(value)}")
    return text


DURATION_PATTERN = r"^\s*([0-9]+(\.[0-9]+)?(us|ms|s|m|h|d))+\s*$"
"""What :func:`parse_duration` reads, as a JSON Schema pattern (editors check it)."""

Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": DURATION_PATTERN}, {"type": "number", "minimum": 0}]})]
"""Seconds, written with a unit: ``90s``, ``5m``, ``2h``, ``1h30m``; 0 to 7 days."""


def _period(value: object) -> float:
    seconds = parse_duration(value)
    if seconds < MIN_PERIOD:
        raise ValueError(f"expected a period of at least {MIN_PERIOD:g}s (10ms), got {show(value)}")
    return seconds


def _tick(value: object) -> float:
    seconds = _period(value)
    if seconds > MAX_TICK:
        raise ValueError(f"expected a tick of at most {MAX_TICK:g}s (a tick's arrivals are drawn "
                         f"at once), got {show(value)}")
    return seconds


Period = Annotated[float, BeforeValidator(_period, json_schema_input_type=str | float)]
"""The period of something that repeats: a Duration of at least 10 ms."""


def _name_bytes(value: str) -> str:
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise ValueError(f"expected a name of at most {MAX_NAME_BYTES} bytes, got {size} bytes")
    if any(ch in value for ch in "/\\\0") or not value.isprintable():
        raise ValueError(f"expected a name without '/', '\\' or control characters, got "
                         f"{show(value)}")
    return value


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_network, json_schema_input_type=str)]
Address = Annotated[ipaddress.IPv4Address, BeforeValidator(_address, json_schema_input_type=str)]
Cpu = Annotated[int, BeforeValidator(parse_cpu, json_schema_input_type=str | float)]
Memory = Annotated[int, BeforeValidator(parse_memory, json_schema_input_type=str | int)]
VmSize = Annotated[str, AfterValidator(_vm_size),
                   WithJsonSchema({"type": "string", "enum": sorted(VM_SIZES)})]
Surge = Annotated[str, BeforeValidator(_surge), WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": r"^\s*([1-9][0-9]*|([1-9][0-9]?|100)%)\s*$"},
               {"type": "integer", "minimum": 1}]})]
Name = Annotated[str, Field(min_length=1, max_length=63)]


def _instant(value: str) -> str:
    """An RFC 3339 instant with its offset, from 1970 (metrics carry Unix time) to 9998 (a run
    of 7 days stays in the calendar)."""
    try:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an RFC 3339 instant such as 2026-01-01T00:00:00Z, got "
                         f"{show(value)}") from None
    if instant.tzinfo is None:
        raise ValueError(f"expected an instant with its offset (add Z for UTC, or +01:00...), "
                         f"got {show(value)}")
    if not 1970 <= instant.year <= 9998:  # Unix time (metrics), and room for 7 days
        raise ValueError(f"expected an instant from the year 1970 to 9998, got {show(value)}")
    return value


def _zone(value: object) -> object:
    # `zones: [1, 2, 3]` as `az aks create --zones 1 2 3` writes them
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _version(value: object) -> object:
    if isinstance(value, float | int) and not isinstance(value, bool):
        raise ValueError(f'expected a version in quotes such as "1.30"; YAML reads {value!r} as a '
                         "number (1.30 becomes 1.3)")
    return value


Zone = Annotated[str, BeforeValidator(_zone, json_schema_input_type=str | int)]
Version = Annotated[str, BeforeValidator(_version)]


# --- the base of every model -----------------------------------------------------------

class SpecModel(BaseModel):
    """Base of every scenario model: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        strict=True,  # `count: true` or `replicas: "3"` is a mistake, not a number
        allow_inf_nan=False,  # every number is finite (.inf, .nan are mistakes)
    )


# --- distributions ---------------------------------------------------------------------

class Fixed(SpecModel):
    """Always the same value."""

    distribution: Literal["fixed"]
    value: Duration


class Uniform(SpecModel):
    """Uniform between ``min`` and ``max``."""

    distribution: Literal["uniform"]
    min: Duration
    max: Duration

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.max < self.min:
            raise ValueError(f"expected max >= min, got min {self.min:g}s and max {self.max:g}s")
        return self


class Normal(SpecModel):
    """Normal with ``mean`` and ``stddev``, truncated below at ``min`` (default 0)."""

    distribution: Literal["normal"]
    mean: Duration
    stddev: Duration
    min: Duration = 0.0


class Exponential(SpecModel):
    """Exponential with ``mean``."""

    distribution: Literal["exponential"]
    mean: Duration


def _shorthand_fixed(value: object) -> object:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"distribution": "fixed", "value": value}
    return value


Distribution = Annotated[
    Fixed | Uniform | Normal | Exponential,
    BeforeValidator(_shorthand_fixed, json_schema_input_type=str | float | Fixed | Uniform | Normal
                    | Exponential),
    Field(discriminator="distribution"),
]
"""A random duration: a plain duration (fixed) or ``{distribution: uniform, min, max}``..."""

