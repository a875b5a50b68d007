"""What a client sees of one request: the outcome codes, the latency buckets, and the random
durations requests take (shared by sim.traffic.controller and the rooms it delegates to)."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import Distribution, Exponential, Fixed, Normal, Uniform

OUTCOMES = ("ok", "timeout", "no_healthy_backend", "dead_node", "no_endpoint",
            "no_local_endpoint", "dead_endpoint", "reset", "denied", "no_ingress_rule",
            "snat_exhausted", "dns_failure", "unroutable", "nsg_denied", "tls_error")
(OK, TIMEOUT, NO_BACKEND, DEAD_NODE, NO_ENDPOINT, NO_LOCAL, DEAD_ENDPOINT, RESET, DENIED,
 NO_RULE, SNAT_EXHAUSTED, DNS_FAILURE, UNROUTABLE, NSG_DENIED, TLS_ERROR) = range(15)
LATENCY_EDGES = np.concatenate(([0.0], np.geomspace(0.0005, 120.0, 96)))
"""Latency histogram bucket edges, seconds (log-spaced, 0.5 ms to 2 min)."""
ERROR_TICK_RATE = 0.01
"""A tick counts as an error tick when more than 1% of its outcomes are errors."""


def draw(dist: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """*n* durations from *dist* (vectorised)."""
    if isinstance(dist, Fixed):
        return np.full(n, dist.value)
    if isinstance(dist, Uniform):
        return rng.uniform(dist.min, dist.max, n)
    if isinstance(dist, Normal):
        return np.maximum(dist.min, rng.normal(dist.mean, dist.stddev, n))
    assert isinstance(dist, Exponential)
    return rng.exponential(dist.mean, n)
