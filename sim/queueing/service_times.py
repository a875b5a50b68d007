"""Durations drawn from the scenario's distributions (start-up times, service times...): one
at a time from a subsystem's ``random.Random`` (:func:`draw`), or many at once from a numpy
generator (:func:`draw_many`, the traffic path)."""

from __future__ import annotations

import random

import numpy as np

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


def draw_many(dist: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """*n* durations from *dist* (vectorised)."""
    if isinstance(dist, Fixed):
        return np.full(n, dist.value)
    if isinstance(dist, Uniform):
        return rng.uniform(dist.min, dist.max, n)
    if isinstance(dist, Normal):
        return np.maximum(dist.min, rng.normal(dist.mean, dist.stddev, n))
    assert isinstance(dist, Exponential)
    return rng.exponential(dist.mean, n)
