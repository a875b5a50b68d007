"""Durations (``90s``, ``5m``, ``1h30m``) and Kubernetes quantities (``250m``, ``512Mi``)."""

from __future__ import annotations

import math
import re

MAX_DURATION = 7 * 86400.0
"""The longest duration or instant a scenario may write (7 days; aks-sim's own limit: a week of
simulated time is already hours of wall time and gigabytes of metrics for a busy cluster)."""

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def yaml11_hint(value: object) -> str:
    """A hint when *value* is text YAML 1.1 read from what looks like a number (``1e9``)."""
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        text = value.strip()
        mantissa, _, exponent = text.lower().partition("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = "" if exponent[:1] in "+-" else "+"
        return (f" (YAML 1.1 reads {text} as text, not a number: write {mantissa}e{sign}{exponent} "
                f"or the plain digits)")
    return ""


def show(value: object) -> str:
    """A value as the YAML author wrote it: 'text', 3, true, nothing, a list, a mapping."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if value != value else (".inf" if value > 0 else "-.inf")  # as YAML writes
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h|d)")
_SECONDS = {"us": 1e-6, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from ``"90s"``, ``"5m"``, ``"1h30m"``, ``"250ms"``, or a bare number of seconds.

    Raises:
        ValueError: with the expected forms, when *value* is none of them.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 90s, 5m or 2h, got {show(value)}")
    total: float | None = None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a finite duration such as 90s, 5m or 2h, got {show(value)}")
        if value < 0:
            raise ValueError(f"expected a duration of 0 or more, got {show(value)}")
        total = float(value) if value <= MAX_DURATION else math.inf
    elif isinstance(value, str):
        text = value.strip()
        pos, parsed = 0, 0.0
        for m in _DURATION.finditer(text):
            if m.start() != pos:
                break
            parsed += float(m.group(1)) * _SECONDS[m.group(2)]
            pos = m.end()
        if text and pos == len(text):
            total = parsed
    if total is None:
        raise ValueError(f"expected a duration such as 90s, 5m, 2h, 1h30m or 250ms, got "
                         f"{show(value)}{yaml11_hint(value)}")
    if not total <= MAX_DURATION:  # also catches inf from a string of many digits
        raise ValueError(f"expected a duration of at most {format_duration(MAX_DURATION)} "
                         f"({MAX_DURATION:g} s), got {show(value)}")
    return total


def format_duration(seconds: float) -> str:
    """Compact human form: ``1h2m3s``, ``40s``, ``2.5s``."""
    if not math.isfinite(seconds) or seconds < 60:
        return f"{seconds:g}s"
    whole = int(round(seconds))
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "0s"


MAX_MILLICORES = 1_000_000
"""A CPU request of at most 1,000 cores (no Azure VM has more than a few hundred)."""
MAX_MEMORY_BYTES = 64 * 2**40
"""A memory request of at most 64Ti (no Azure VM has more than about 12Ti)."""

_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEM = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEM_FACTOR = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
               "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_cpu(value: object) -> int:
    """Millicores from a Kubernetes CPU quantity (``250m``, ``0.5``, ``2``)."""
    text = str(value).strip() if isinstance(value, str | int | float) else ""
    m = _CPU.match(text) if not isinstance(value, bool) else None
    if not m:
        raise ValueError(f"expected a CPU quantity such as 250m, 0.5 or 2, got {show(value)}")
    number = float(m.group(1))
    millicores = number if m.group(2) else number * 1000
    if not millicores <= MAX_MILLICORES:
        raise ValueError(f"expected a CPU quantity of at most {MAX_MILLICORES // 1000} cores, "
                         f"got {show(value)}")
    return int(round(millicores))


def parse_memory(value: object) -> int:
    """MiB (rounded up) from a Kubernetes memory quantity (``512Mi``, ``1Gi``, ``1G``)."""
    text = str(value).strip() if isinstance(value, str | int | float) else ""
    m = _MEM.match(text) if not isinstance(value, bool) else None
    if not m:
        raise ValueError(f"expected a memory quantity such as 512Mi or 2Gi, got {show(value)}")
    size = float(m.group(1)) * _MEM_FACTOR[m.group(2)]
    if not size <= MAX_MEMORY_BYTES:
        raise ValueError(f"expected a memory quantity of at most 64Ti, got {show(value)}")
    return -(-int(size) // 2**20)
