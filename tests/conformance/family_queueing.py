"""The queueing family: M/M/1 and M/M/c through the model's own pod queues.

Each case is simulated through ``sim.podqueue`` (one Service, c pods: a shared queue for
M/M/c, a random pick per request for the random split, as kube-proxy's iptables mode does)
with Poisson arrivals and exponential service, and every expected figure must fall inside a
99.9% confidence interval computed from the run itself (batch means). The closed forms of
``sim.queueing`` are also checked against the case's ``expected`` (relative 1e-9) and against
``published`` values to the digits printed. Cases without a steady state must show the queue
growing without bound.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from conformance_loader import OracleFile

from sim.queueing.podqueue import PodQueue, SharedQueue
from sim.queueing.theory import Interval, mmc, random_split_w, t_interval

BATCHES = 30
WARMUP = 0.05
SEED = 20261126


@dataclass
class Run:
    """What a simulated queue produced, request by request (in arrival order)."""

    arrivals: np.ndarray
    service: np.ndarray
    wait: np.ndarray
    servers: int

    @property
    def sojourn(self) -> np.ndarray:
        return self.wait + self.service


def _streams(case_id: str, what: str) -> np.random.Generator:
    # named, seeded streams (STYLE.md): numpy generators from [seed, crc32(name)]
    return np.random.default_rng([SEED, zlib.crc32(f"{case_id}/{what}".encode())])


def _requests(case_id: str, lam: float, mu: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    arrivals = np.cumsum(_streams(case_id, "arrivals").exponential(1 / lam, n))
    service = _streams(case_id, "service").exponential(1 / mu, n)
    return arrivals, service


def simulate(case_id: str, lam: float, mu: float, c: int, n: int, dispatch: str) -> Run:
    """Run *n* requests through c pods: ``shared`` queue (M/M/c) or ``random`` (iptables)."""
    arrivals, service = _requests(case_id, lam, mu, n)
    wait = np.empty(n)
    arr, svc = arrivals.tolist(), service.tolist()
    if c == 1:
        pod = PodQueue(1)
        offer = pod.offer
        for i in range(n):
            wait[i] = offer(arr[i], svc[i]) - svc[i] - arr[i]
    elif dispatch == "shared":
        shared = SharedQueue([PodQueue(1) for _ in range(c)])
        offer2 = shared.offer
        for i in range(n):
            wait[i] = offer2(arr[i], svc[i])[1] - svc[i] - arr[i]
    else:
        pods = [PodQueue(1) for _ in range(c)]
        rng = random.Random(f"{SEED}/{case_id}/kubeproxy")
        pick = rng.randrange
        for i in range(n):
            wait[i] = pods[pick(c)].offer(arr[i], svc[i]) - svc[i] - arr[i]
    np.maximum(wait, 0.0, out=wait)  # float rounding of (start + s) - s - t
    return Run(arrivals, service, wait, c)


def _interval(values: list[float]) -> Interval:
    return t_interval(values)


def _per_batch(run: Run) -> dict[str, list[float]]:
    """Per-batch estimates (after warm-up) of every steady-state figure."""
    n = len(run.arrivals)
    start = int(n * WARMUP)
    size = (n - start) // BATCHES
    t_all = np.concatenate((run.arrivals, run.arrivals + run.sojourn))
    step = np.concatenate((np.ones(n), -np.ones(n)))
    order = np.argsort(t_all, kind="stable")
    times, counts = t_all[order], np.cumsum(step[order])
    out: dict[str, list[float]] = {k: [] for k in ("a", "rho", "P0", "P_wait", "L", "Lq", "W", "Wq")}
    for b in range(BATCHES):
        lo, hi = start + b * size, start + (b + 1) * size
        t0, t1 = run.arrivals[lo], run.arrivals[hi - 1]
        span = t1 - t0
        w, s, q = run.sojourn[lo:hi], run.service[lo:hi], run.wait[lo:hi]
        lam_hat = (hi - lo - 1) / span
        out["a"].append(lam_hat * float(s.mean()))
        out["rho"].append(float(s.sum()) / (run.servers * span))
        out["W"].append(float(w.mean()))
        out["Wq"].append(float(q.mean()))
        out["P_wait"].append(float((q > 1e-12).mean()))
        out["L"].append(float(w.sum()) / span)      # Little's law per batch window
        out["Lq"].append(float(q.sum()) / span)
        # time with nobody in the system, from the N(t) trajectory
        i0, i1 = np.searchsorted(times, [t0, t1])
        seg_t = np.concatenate(([t0], times[i0:i1], [t1]))
        seg_n = np.concatenate(([counts[i0 - 1] if i0 else 0.0], counts[i0:i1]))
        out["P0"].append(float(np.diff(seg_t)[seg_n == 0].sum()) / span)
    return out


def _size(rho: float) -> int:
    # heavy load relaxes slowly: more requests, so the batches are long enough to be independent
    return 3_000_000 if rho >= 0.95 else 400_000


def _close(expected: float, got: float, rel: float = 1e-9) -> bool:
    return math.isclose(expected, got, rel_tol=rel, abs_tol=1e-12)


def _printed(value: Any) -> float:
    """Half a unit in the last printed digit of a published value."""
    exp = Decimal(str(value)).as_tuple().exponent
    return 0.5 * 10.0 ** (exp if isinstance(exp, int) else 0)


def _check_closed_form(case: dict[str, Any], lam: float, mu: float, c: int) -> list[str]:
    problems = []
    theory = mmc(lam, mu, c)
    expected = case.get("expected") or {}
    if theory is None:
        return [] if expected.get("steady_state") is False else ["closed form: no steady state"]
    for key, value in expected.items():
        if hasattr(theory, key) and not _close(float(value), getattr(theory, key)):
            problems.append(f"closed form {key}: expected {value}, sim.queueing gives "
                            f"{getattr(theory, key)!r}")
    for key, value in (case.get("published") or {}).items():
        got = getattr(theory, key, None)
        if got is None:
            problems.append(f"published {key}: sim.queueing has no such figure")
        elif abs(got - float(value)) > max(_printed(value), 1e-12 * abs(float(value))):
            problems.append(f"published {key} = {value}: sim.queueing gives {got!r}")
    return problems


def _check_mm(case: dict[str, Any], lam: float, mu: float, c: int) -> list[str]:
    expected = case["expected"]
    run = simulate(str(case["id"]), lam, mu, c, _size(lam / (c * mu)), "shared")
    batches = _per_batch(run)
    problems = []
    for key, value in expected.items():
        if key not in batches:
            problems.append(f"{key}: the simulation cannot estimate this figure")
            continue
        ci = _interval(batches[key])
        if float(value) not in ci:
            problems.append(f"{key}: closed form {value} outside the run's 99.9% interval "
                            f"[{ci.low:.6g}, {ci.high:.6g}] (mean {ci.mean:.6g})")
    return problems


def _check_comparison(case: dict[str, Any], lam: float, mu: float, c: int) -> list[str]:
    expected = case["expected"]
    runs = {"shared_queue_mmc": simulate(str(case["id"]), lam, mu, c, 400_000, "shared"),
            "random_split_mm1": simulate(str(case["id"]), lam, mu, c, 400_000, "random")}
    problems = []
    for key, value in expected.items():
        if key == "per_server_utilisation":
            batches = _per_batch(runs["random_split_mm1"])["rho"]
        else:
            figure, _, which = key.partition("_")
            if which not in runs or figure not in ("W", "Wq"):
                problems.append(f"{key}: not a figure this harness knows how to estimate")
                continue
            batches = _per_batch(runs[which])[figure]
        ci = _interval(batches)
        if float(value) not in ci:
            problems.append(f"{key}: {value} outside the run's 99.9% interval "
                            f"[{ci.low:.6g}, {ci.high:.6g}]")
    w_split = random_split_w(lam, mu, c)
    shared = _interval(_per_batch(runs["shared_queue_mmc"])["W"])
    split = _interval(_per_batch(runs["random_split_mm1"])["W"])
    if w_split is not None and not shared.high < split.low:
        problems.append("a shared queue should beat a random split (W_shared < W_random)")
    return problems


def growth(case_id: str, lam: float, mu: float, c: int, reps: int = 10, n: int = 40_000) -> float:
    """Median, over independent replications, of mean wait over 4n requests / over n.

    A stable queue's mean wait converges (ratio near 1: measured 1.00 at rho 0.8, 1.06 at
    rho 0.99); without a steady state it keeps growing (like sqrt(n) at rho = 1, so about 2).
    """
    ratios = []
    for k in range(reps):
        short = simulate(f"{case_id}/{k}/short", lam, mu, c, n, "shared").wait.mean()
        long = simulate(f"{case_id}/{k}/long", lam, mu, c, 4 * n, "shared").wait.mean()
        ratios.append(float(long / short) if short > 0 else math.inf)
    return float(np.median(ratios))


def _check_unstable(case: dict[str, Any], lam: float, mu: float, c: int) -> list[str]:
    """No steady state: running four times longer keeps making waits longer."""
    ratio = growth(str(case["id"]), lam, mu, c)
    if ratio <= 1.3:
        return [f"no steady state expected, but the mean wait settled: a 4x longer run waits "
                f"{ratio:.2f}x as long (a queue without steady state keeps growing, ~2x)"]
    return []


def _check(case: dict[str, Any]) -> Callable[[], None]:
    def check() -> None:
        inputs = case.get("inputs") or {}
        try:
            lam, mu, c = float(inputs["lambda"]), float(inputs["mu"]), int(inputs.get("c", 1))
        except (KeyError, TypeError, ValueError) as exc:
            raise AssertionError(f"{case.get('id')}: cannot read inputs {inputs!r} ({exc})") from None
        model = str(case.get("model", ""))
        problems = _check_closed_form(case, lam, mu, c)
        if (case.get("expected") or {}).get("steady_state") is False:
            problems += _check_unstable(case, lam, mu, c)
        elif model in ("M/M/1", "M/M/c"):
            problems += _check_mm(case, lam, mu, c)
        elif model == "comparison":
            problems += _check_comparison(case, lam, mu, c)
        else:
            problems.append(f"model {model!r} is not one this harness can simulate")
        assert not problems, f"{case.get('id')}:\n  " + "\n  ".join(problems)

    return check


def collect(files: list[OracleFile]) -> list[tuple[str, Callable[[], None]]]:
    """One check per case of every queueing oracle file."""
    out = []
    for f in files:
        for case in (f.data or {}).get("cases") or []:
            if isinstance(case, dict):
                out.append((str(case.get("id", "<no id>")), _check(case)))
    return out
