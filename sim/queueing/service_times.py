"""Durations drawn from the scenario's distributions (start-up times, service times...)."""

from __future__ import annotations

import random

from sim.scenario.schema import Distribution, Exponential, Fixed, Normal, Uniform


def draw(dist: Distribution, rng: random.Random) -> float:
    """A duration from *dist*, drawn from *rng* (a subsystem's own stream)."""
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, Uniform):
        return rng.uniform(dist.min, dist.max)
    if isinstance(dist, Normal):
        return max(dist.min, rng.gauss(dist.mean, dist.stddev))
    assert isinstance(dist, Exponential)
    return rng.expovariate(1.0 / dist.mean) if dist.mean > 0 else 0.0
