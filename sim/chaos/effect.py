"""The bottom of the fault library: what a fault returns (:class:`Effect`), the random pick
every fault shares, and the constants of the faults.

A fault function picks its targets (at random from the ``chaos`` stream where the fault does
not name them) and returns what it hits, how to apply it and how to undo it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sim.model import Model

T = TypeVar("T")

CRASH_BACKOFF = 10.0
"""The kubelet's first restart back-off of a crashed container; it doubles at each crash
(kubelet: 10 s initial, capped at 5 minutes)."""
CRASH_BACKOFF_MAX = 300.0
SNAT_RETRY = 1.0
"""Seconds between a bursting pod's attempts to open the connections it is short of."""


@dataclass
class Effect:
    """What a fault hits, how to apply it, and how to revert it (None: nothing to revert)."""

    target: str
    apply: Callable[[], None]
    revert: Callable[[], None] | None


def pick(m: Model, items: list[T], count: int | None, key: Callable[[T], str]) -> list[T]:
    """*count* of *items* at random from the ``chaos`` stream (all when None), sorted."""
    items = sorted(items, key=key)
    if count is not None and count < len(items):
        items = sorted(m.streams["chaos"].sample(items, count), key=key)
    return items
