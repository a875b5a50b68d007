"""Upgrade surge: the nodes an upgrade adds (upgrade-aks-node-pools-rolling.md)."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from sim.sizing.limits import InputProblem, raise_if
from sim.sizing.revisions import MODEL, DocRevision

# --------------------------------------------------------------------------- surge


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def default_max_surge(*, revision: DocRevision = MODEL) -> int | str:
    """Default max surge: 1 node in the model (upgrade-aks-node-pools-rolling.md)."""
    return revision.default_max_surge


def surge_problems(max_surge: int | str) -> list[InputProblem]:
    """Problems of a max surge: not a count >= 0 nor a percentage from 0% to 100%."""
    if isinstance(max_surge, bool):
        return [InputProblem("max_surge", repr(max_surge), "a node count or a percentage")]
    if isinstance(max_surge, int):
        ok = max_surge >= 0
    else:
        text = str(max_surge).strip()
        match = _PERCENT.match(text)
        ok = text.isdigit() or (match is not None and float(match.group(1)) <= 100)
    if ok:
        return []
    return [InputProblem("max_surge", repr(max_surge),
                         "a node count >= 0 (e.g. 1) or a percentage from 0% to 100% (e.g. 33%)")]


def surge_nodes(max_surge: int | str, pool_nodes: int) -> int:
    """Surge nodes an upgrade adds: a count as is, a percentage of the pool rounded up.

    Source: upgrade-aks-node-pools-rolling.md (max surge is a node count or a percentage of
    the pool; AKS rounds a percentage up to whole nodes).

    Raises:
        SizingError: *max_surge* is malformed.
    """
    raise_if(surge_problems(max_surge))
    if isinstance(max_surge, int):
        return max_surge
    text = str(max_surge).strip()
    if text.isdigit():
        return int(text)
    match = _PERCENT.match(text)
    assert match is not None  # checked by surge_problems
    return math.ceil(Fraction(match.group(1)) * pool_nodes / 100)
