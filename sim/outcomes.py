"""What a client sees of one request: the outcome codes, the latency buckets and their
quantiles (shared by the traffic path, the report and telemetry)."""

from __future__ import annotations

import numpy as np

OUTCOMES = ("ok", "timeout", "no_healthy_backend", "dead_node", "no_endpoint",
            "no_local_endpoint", "dead_endpoint", "reset", "denied", "no_ingress_rule",
            "snat_exhausted", "dns_failure", "unroutable", "nsg_denied", "tls_error")
(OK, TIMEOUT, NO_BACKEND, DEAD_NODE, NO_ENDPOINT, NO_LOCAL, DEAD_ENDPOINT, RESET, DENIED,
 NO_RULE, SNAT_EXHAUSTED, DNS_FAILURE, UNROUTABLE, NSG_DENIED, TLS_ERROR) = range(15)
LATENCY_EDGES = np.concatenate(([0.0], np.geomspace(0.0005, 120.0, 96)))
"""Latency histogram bucket edges, seconds (log-spaced, 0.5 ms to 2 min)."""
ERROR_TICK_RATE = 0.01
"""A tick counts as an error tick when more than 1% of its outcomes are errors."""


def quantile(hist: np.ndarray | None, q: float) -> float | None:
    """The *q* quantile of a latency histogram, interpolated inside its bucket; None if empty."""
    if hist is None:
        return None
    total = int(hist.sum())
    if total == 0:
        return None
    rank = q * total
    cum = np.cumsum(hist)
    idx = int(np.searchsorted(cum, rank, side="left"))
    if idx >= len(LATENCY_EDGES) - 1:
        return float(LATENCY_EDGES[-1])
    lo, hi = float(LATENCY_EDGES[idx]), float(LATENCY_EDGES[idx + 1])
    before = float(cum[idx - 1]) if idx else 0.0
    inside = float(hist[idx])
    # log-spaced buckets: interpolate geometrically (linearly for the first, from 0)
    frac = (rank - before) / inside if inside else 1.0
    return lo + (hi - lo) * frac if lo == 0.0 else lo * (hi / lo) ** frac
