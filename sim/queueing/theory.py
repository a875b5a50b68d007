"""Queueing theory the traffic model is checked against, and confidence intervals of runs.

Closed forms (steady state, FCFS, Poisson arrivals at ``lam``, exponential service at ``mu``
per server), as in ../shared/oracles/queueing_cases.yaml ``formulas``:
- M/M/1: rho = lam/mu, P0 = 1 - rho, L = rho/(1-rho), Lq = rho^2/(1-rho), W = 1/(mu-lam),
  Wq = rho/(mu-lam).
- M/M/c: a = lam/mu, rho = a/c, P0 = [sum_{k<c} a^k/k! + a^c/(c!(1-rho))]^-1,
  C = a^c/(c!(1-rho)) P0 (Erlang C), Lq = C rho/(1-rho), Wq = C/(c mu - lam), W = Wq + 1/mu,
  L = lam W.
- A random split over c servers (kube-proxy iptables with Poisson arrivals) is c independent
  M/M/1 queues at lam/c: W = 1/(mu - lam/c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import fmean, stdev


@dataclass(frozen=True)
class Steady:
    """Steady-state figures of a queue (times in the unit of 1/lam)."""

    a: float
    rho: float
    P0: float
    P_wait: float
    L: float
    Lq: float
    W: float
    Wq: float


def mmc(lam: float, mu: float, c: int = 1) -> Steady | None:
    """The M/M/c closed form; None when there is no steady state (lam >= c mu)."""
    a = lam / mu
    rho = a / c
    if rho >= 1:
        return None
    tail = a ** c / (math.factorial(c) * (1 - rho))
    p0 = 1.0 / (sum(a ** k / math.factorial(k) for k in range(c)) + tail)
    erlang_c = tail * p0
    lq = erlang_c * rho / (1 - rho)
    wq = lq / lam
    w = wq + 1 / mu
    return Steady(a=a, rho=rho, P0=p0, P_wait=erlang_c, L=lam * w, Lq=lq, W=w, Wq=wq)


def random_split_w(lam: float, mu: float, c: int) -> float | None:
    """Mean time in system when arrivals are split at random over c single-server queues."""
    per = lam / c
    return None if per >= mu else 1 / (mu - per)


# Student t quantiles, two-sided 99.9% (p = 0.9995), by degrees of freedom
_T9995 = {9: 4.781, 19: 3.883, 29: 3.659, 39: 3.551, 49: 3.496, 99: 3.390}


@dataclass(frozen=True)
class Interval:
    """A confidence interval of a mean, from batch means of one run."""

    mean: float
    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


def batch_means(samples: list[float], batches: int = 30) -> Interval:
    """99.9% confidence interval of the mean of a (correlated) series, by batch means.

    Consecutive observations of a queue are correlated; means of long consecutive batches are
    nearly independent and normal, so a Student-t interval over them is honest.
    """
    if batches - 1 not in _T9995:
        raise ValueError(f"batches must be one of {sorted(k + 1 for k in _T9995)}")
    size = len(samples) // batches
    if size < 2:
        raise ValueError(f"{len(samples)} samples are too few for {batches} batches")
    return t_interval([fmean(samples[i * size:(i + 1) * size]) for i in range(batches)])


def t_interval(batch_values: list[float]) -> Interval:
    """99.9% Student-t interval of the mean of nearly independent batch estimates."""
    k = len(batch_values)
    if k - 1 not in _T9995:
        raise ValueError(f"expected one of {sorted(d + 1 for d in _T9995)} batches, got {k}")
    centre = fmean(batch_values)
    half = _T9995[k - 1] * stdev(batch_values) / math.sqrt(k)
    return Interval(centre, centre - half, centre + half)
