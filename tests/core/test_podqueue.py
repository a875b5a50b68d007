"""Pod queues: FIFO with c workers, by Lindley's recursion, against hand-worked cases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sim.queueing.podqueue import PodQueue, SharedQueue
from sim.queueing.theory import mmc, random_split_w

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from family_queueing import growth  # noqa: E402


def test_single_worker_is_lindleys_recursion() -> None:
    """departure = max(arrival, previous departure) + service."""
    q = PodQueue(1)
    assert q.offer(0.0, 2.0) == 2.0
    assert q.offer(1.0, 2.0) == 4.0        # waits 1 s
    assert q.in_flight(3.0) == 1 and q.in_flight(4.0) == 0
    assert q.offer(10.0, 1.0) == 11.0      # idle in between, no wait
    assert q.wait_time == pytest.approx(1.0)


def test_two_workers_serve_in_parallel_and_queue_the_third() -> None:
    """c workers: the third request starts when the first worker frees."""
    q = PodQueue(2)
    assert [q.offer(0.0, 5.0), q.offer(0.0, 3.0), q.offer(0.0, 1.0)] == [5.0, 3.0, 4.0]
    # workers now free at 4 and 5: a fourth request would wait until 4
    assert q.in_flight(3.5) == 2 and q.backlog(0.0) == 4.0


def test_shared_queue_sends_to_the_pod_that_frees_first() -> None:
    """One queue, several pods: a request goes to the earliest-free pod (M/M/c dispatch)."""
    pods = [PodQueue(1), PodQueue(1)]
    shared = SharedQueue(pods)
    assert shared.offer(0.0, 4.0) == (0, 4.0)
    assert shared.offer(0.0, 1.0) == (1, 1.0)
    assert shared.offer(0.5, 1.0) == (1, 2.0)
    assert pods[1].served == 2


def test_dropping_a_pod_fails_what_is_in_flight() -> None:
    """A killed pod loses its queued and running requests."""
    q = PodQueue(1)
    for t in (0.0, 0.1, 0.2):
        q.offer(t, 1.0)
    assert q.drop(0.5) == 3 and q.in_flight(0.6) == 0
    assert q.offer(1.0, 1.0) == 2.0


def test_closed_forms_match_textbook_values() -> None:
    """Bronson 24.6 (M/M/3, lam 300/yr, mu 182.5/yr): Lq 0.352, L 1.996, P0 0.17754."""
    s = mmc(300, 182.5, 3)
    assert s is not None
    assert round(s.Lq, 3) == 0.352 and round(s.L, 3) == 1.996 and round(s.P0, 5) == 0.17754
    assert mmc(10, 10, 1) is None
    assert random_split_w(8, 1, 10) == pytest.approx(5.0)


def test_the_no_steady_state_check_can_fail() -> None:
    """The harness's growth test separates rho = 1 from a stable queue."""
    assert growth("probe-stable", 8, 10, 1) < 1.3
    assert growth("probe-unstable", 10, 10, 1) > 1.3


def test_vectorised_batches_equal_one_by_one_service() -> None:
    """offer_many gives the same departures as offering requests one by one (1 and c workers,
    with and without waiting)."""
    import numpy as np

    rng = np.random.default_rng(7)
    for workers, rate in ((1, 8.0), (4, 3.0), (64, 30.0), (2, 50.0)):
        a, b = PodQueue(workers), PodQueue(workers)
        t0 = 0.0
        for _ in range(20):
            t = t0 + np.sort(rng.random(40))
            s = rng.exponential(0.1, 40)
            one = np.array([a.offer(x, y) for x, y in zip(t.tolist(), s.tolist(), strict=True)])
            many = b.offer_many(t, s)
            assert np.allclose(one, many, rtol=0, atol=1e-9), (workers, rate)
            t0 += 1.0
        assert a.served == b.served and abs(a.busy_time - b.busy_time) < 1e-9
        assert a.in_flight(t0) == b.in_flight(t0)
