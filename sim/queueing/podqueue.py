"""Queues in front of pods: where requests wait, computed without an event per request.

DESIGN.md (hot path): a request is not a SimPy process. A pod with ``concurrency`` workers
serving first-come first-served is Lindley's recursion generalised to c servers: a request
arriving at ``t`` starts at ``max(t, earliest worker free)`` and leaves ``service`` later. At
dispatch the departure time is known, so nothing is scheduled; a lazy heap of departure times
answers "how many are in flight" (least-connections, pod kills, timeouts).

- ``PodQueue``: one pod, c workers (c = 1 is M/M/1-like; a single pod with c workers, or c
  pods behind one shared queue, is M/M/c-like).
- ``SharedQueue``: c pods (or workers) fed from one FIFO queue, e.g. a proxy that holds a
  request until a backend is free; the dispatcher kube-proxy's iptables mode is *not*
  (it picks a pod at random, and each pod queues on its own).
- ``offer_segments``: many one-worker ``PodQueue``s served together in one vectorised pass
  (all pods of a traffic round), bit for bit what ``offer_many`` gives each of them.
"""

from __future__ import annotations

import bisect
import heapq
from typing import TYPE_CHECKING

import numpy as np


class PodQueue:
    """A FIFO queue in front of a pod's ``concurrency`` workers."""

    __slots__ = ("concurrency", "_free", "free_at", "departures", "served", "busy_time",
                 "wait_time")

    def __init__(self, concurrency: int = 1) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self.free_at = 0.0
        """With one worker: when it is free (a scalar is faster than a heap of one)."""
        self._free: list[float] | np.ndarray = [0.0] * concurrency
        """With several: a min-heap of the times each worker is free (after a batch nobody
        waited in, a sorted array until a method needs the list: ``_as_lists``)."""
        self.departures: list[float] | np.ndarray = []
        """Departures still to come, sorted (a list, or an array as ``_free``; always a list
        with one worker)."""
        self.served = 0
        self.busy_time = 0.0
        self.wait_time = 0.0

    def offer(self, t: float, service: float) -> float:
        """Queue a request arriving at *t* needing *service* seconds; returns its departure."""
        deps = self.departures
        if self.concurrency == 1:
            if TYPE_CHECKING:  # one worker: always a list (tells mypy; nothing at run time)
                assert isinstance(deps, list)
            start = t if t > self.free_at else self.free_at
            done = start + service
            self.free_at = done
        else:
            free = self._free
            if type(free) is not list or type(deps) is not list:
                free, deps = self._as_lists()
            earliest = free[0]
            start = t if t > earliest else earliest
            done = start + service
            heapq.heapreplace(free, done)
        self.served += 1
        self.busy_time += service
        self.wait_time += start - t
        if not deps or done >= deps[-1]:
            deps.append(done)  # one worker: departures always come in order
        else:
            bisect.insort(deps, done)
        return done

    def _as_lists(self) -> tuple[list[float], list[float]]:
        """The worker heap and the departures as lists again (a sorted list is a heap);
        returns them."""
        free, deps = self._free, self.departures
        if isinstance(free, np.ndarray):
            self._free = free = free.tolist()
        if isinstance(deps, np.ndarray):
            self.departures = deps = deps.tolist()
        return free, deps

    def offer_many(self, t: np.ndarray, service: np.ndarray) -> np.ndarray:
        """Queue requests arriving at sorted times *t*; returns their departure times.

        With one worker, Lindley's recursion in closed form: with W1 the first wait and
        X_j = sum_{i<j} (S_i - (t_{i+1} - t_i)), the wait of request j+1 is
        X_j - min(-W1, X_1, ..., X_j) (a running minimum). With several workers, one by one.
        """
        if self.concurrency > 1 and len(t) >= 8:
            unqueued = self._offer_many_unqueued(t, service)
            if unqueued is not None:
                return unqueued
        if self.concurrency > 1 or len(t) < 8:
            return np.fromiter((self.offer(a, s) for a, s in zip(t.tolist(), service.tolist(),
                                                                   strict=True)),
                               float, len(t))
        first_wait = max(0.0, self.free_at - float(t[0]))
        x = np.empty(len(t))
        x[0] = 0.0
        np.cumsum(service[:-1] - np.diff(t), out=x[1:])
        floor = x.copy()
        floor[0] = -first_wait
        wait = x - np.minimum.accumulate(floor)
        done: np.ndarray = t + wait + service
        self.free_at = float(done[-1])
        self.served += len(t)
        self.busy_time += float(service.sum())
        self.wait_time += float(wait.sum())
        deps = self.departures
        if TYPE_CHECKING:  # one worker: always a list (tells mypy; nothing at run time)
            assert isinstance(deps, list)
        gone = bisect.bisect_right(deps, float(t[0]))  # over before this batch arrives
        if gone:
            del deps[:gone]
        deps.extend(done.tolist())  # still in order: one worker, FIFO
        return done

    def _offer_many_unqueued(self, t: np.ndarray, service: np.ndarray) -> np.ndarray | None:
        """c workers, when no request of the batch would wait: done = t + service (exact).

        A request waits only if all c workers are busy when it arrives: busy are the earlier
        requests of the batch not yet done plus the earlier batches' requests still running.
        If that count stays below c for every request, nobody waits; otherwise None (the
        caller serves the batch one request at a time).
        """
        deps = self.departures
        first = float(t[0])
        if type(deps) is list:
            gone = bisect.bisect_right(deps, first)
            if gone:
                del deps[:gone]
        else:
            gone = int(np.searchsorted(deps, first, side="right"))
            if gone:
                self.departures = deps = deps[gone:]
        c = self.concurrency
        n = len(t)
        done: np.ndarray = t + service
        ordered = np.sort(done, kind="stable")
        if n + len(deps) > c and _busy_bound(t, service, first) + len(deps) >= c:
            # earlier requests of this batch still in the system at each arrival
            in_batch = np.arange(n) - np.searchsorted(ordered, t, side="right")
            before = np.asarray(deps)  # kept sorted
            in_before = len(before) - np.searchsorted(before, t, side="right")
            if int((in_batch + in_before).max()) >= c:
                return None
        # each request took an earliest-free worker: the workers are now free at the c
        # latest of the old free times and the new departures (kept as a sorted array)
        free = self._free
        if type(free) is list:
            free = np.array(free)
            free.sort()
        if n >= c and free[-1] <= ordered[n - c]:
            self._free = ordered[n - c:]
        else:
            latest = np.concatenate((free, ordered))
            latest.sort(kind="stable")  # two sorted runs: merged
            self._free = latest[-c:]
        self.served += n
        self.busy_time += float(service.sum())
        if len(deps):
            merged = np.concatenate((np.asarray(deps), ordered))
            merged.sort(kind="stable")
            self.departures = merged
        else:
            self.departures = ordered
        return done

    def in_flight(self, t: float) -> int:
        """Requests queued or being served at *t* (departures at or before *t* are gone)."""
        deps = self.departures  # sorted
        if type(deps) is not list:
            gone = int(np.searchsorted(deps, t, side="right"))
            if gone:
                self.departures = deps = deps[gone:]
            return len(deps)
        gone = bisect.bisect_right(deps, t)
        if gone:
            del deps[:gone]
        return len(deps)

    def backlog(self, t: float) -> float:
        """Seconds until a new request arriving at *t* would start."""
        earliest = self.free_at if self.concurrency == 1 else float(self._free[0])
        return max(0.0, earliest - t)

    def free_times(self) -> list[float]:
        """When each worker is free next, as a min-heap (a copy: for look-ahead, e.g. the
        end of a connection an IPVS scheduler counts before the round is served)."""
        if self.concurrency == 1:
            return [self.free_at]
        free = self._free
        return free.tolist() if isinstance(free, np.ndarray) else list(free)

    def drop(self, t: float) -> int:
        """The pod is gone at *t*: every request still in flight fails; returns how many."""
        lost = self.in_flight(t)
        self.departures = []
        self.free_at = t
        self._free = [t] * self.concurrency
        return lost

    def admit(self, t: float, start: float, service: float, done: float) -> None:
        """Count a request a ``SharedQueue`` dispatched here: arrived at *t*, started at
        *start*, served for *service* seconds, leaving at *done*."""
        deps = self.departures
        if type(deps) is not list:
            deps = self._as_lists()[1]
        self.served += 1
        self.busy_time += service
        self.wait_time += start - t
        bisect.insort(deps, done)


class SharedQueue:
    """One FIFO queue feeding several pods: each request goes to the pod that frees first."""

    __slots__ = ("pods", "_free")

    def __init__(self, pods: list[PodQueue]) -> None:
        self.pods = pods
        self._free = [(0.0, i, w) for i, p in enumerate(pods) for w in range(p.concurrency)]
        heapq.heapify(self._free)

    def offer(self, t: float, service: float) -> tuple[int, float]:
        """Dispatch a request arriving at *t*; returns (pod index, departure time)."""
        free_at, i, w = self._free[0]
        start = t if t > free_at else free_at
        done = start + service
        heapq.heapreplace(self._free, (done, i, w))
        self.pods[i].admit(t, start, service, done)
        return i, done


def offer_segments(queues: list[PodQueue], t: np.ndarray, service: np.ndarray,
                   counts: np.ndarray) -> np.ndarray:
    """Serve several one-worker queues at once; returns the departures, aligned with *t*.

    ``queues[i]`` gets the next ``counts[i]`` requests of *t* / *service* (float64, each
    segment sorted, every count at least 8, the queues distinct): the same departures and the
    same queue state, bit for bit, as ``queues[i].offer_many`` on each segment. Lindley's
    closed form runs on one zero-padded row per queue (``np.cumsum`` and
    ``np.minimum.accumulate`` along a row are the same sequential operations as on the
    segment alone); the per-queue sums of service and wait repeat numpy's pairwise summation
    (``_segment_sums``), so ``busy_time`` and ``wait_time`` match too.
    """
    rows = len(counts)
    n = t.size
    ends = np.cumsum(counts)
    starts = ends - counts
    width = int(counts.max())
    row = np.repeat(np.arange(rows), counts)
    col = np.arange(n) - starts[row]
    cell = row * width + col
    # x[j] = sum_{i<j} (S_i - (t_{i+1} - t_i)) within each row (x of a row's first request: 0)
    steps = np.zeros((rows, width))
    steps.ravel()[cell[1:]] = service[:-1] - np.diff(t)  # a row's column 0 is never read
    x = np.empty((rows, width))
    x[:, 0] = 0.0
    np.cumsum(steps[:, 1:], axis=1, out=x[:, 1:])
    first = t[starts]
    first_wait = np.fromiter([q.free_at for q in queues], float, rows) - first
    first_wait[~(first_wait > 0.0)] = 0.0  # max(0.0, free_at - t0), as offer_many has it
    floor = x.copy()
    floor[:, 0] = -first_wait
    wait = (x - np.minimum.accumulate(floor, axis=1)).ravel()[cell]
    done: np.ndarray = t + wait + service
    sums = _segment_sums(service, wait, row, col, counts, starts).tolist()
    done_list = done.tolist()
    for q, lo, hi, t0, busy, waited in zip(queues, starts.tolist(), ends.tolist(),
                                           first.tolist(), sums[:rows], sums[rows:],
                                           strict=True):
        # each queue takes its batch in (inline: a call per queue costs ~1% of the traffic path)
        q.free_at = done_list[hi - 1]
        q.served += hi - lo
        q.busy_time += busy
        q.wait_time += waited
        deps = q.departures
        if TYPE_CHECKING:  # one worker: always a list (tells mypy; nothing at run time)
            assert isinstance(deps, list)
        if deps:
            if deps[-1] <= t0:  # all over before this batch arrives
                deps.clear()
            else:
                gone = bisect.bisect_right(deps, t0)
                if gone:
                    del deps[:gone]
        deps.extend(done_list[lo:hi])  # still in order: one worker, FIFO
    return done


_PAIRWISE_BLOCK = 128
"""numpy sums up to this many float64 values with 8 accumulators, longer runs by halves."""


def _segment_sums(service: np.ndarray, wait: np.ndarray, row: np.ndarray, col: np.ndarray,
                  counts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``0.0 + segment.sum()`` of each queue's service, then of each queue's wait, bit for bit
    (*row* and *col*: each value's segment and place in it)."""
    rows_exact, pairwise_exact = _EXACT or _check_sums()
    if rows_exact and int(counts.max()) < _PAIRWISE_BLOCK:
        return _row_sums(service, wait, row, col, counts)
    x = np.concatenate((service, wait))
    both = np.concatenate((starts, starts + service.size))
    twice = np.concatenate((counts, counts))
    if pairwise_exact:
        return 0.0 + _pairwise(x, both, twice)
    return np.array([0.0 + float(np.add.reduce(x[s:s + c]))
                     for s, c in zip(both.tolist(), twice.tolist(), strict=True)])


def _row_sums(service: np.ndarray, wait: np.ndarray, row: np.ndarray, col: np.ndarray,
              counts: np.ndarray) -> np.ndarray:
    """``_segment_sums`` for segments under 128 values, with one ``np.add.reduce``.

    numpy's float sum is pairwise: up to 128 values in 8 interleaved accumulators over the
    whole blocks of 8, combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then
    the rest (under 8) one after another; longer runs split at half (rounded down to a
    multiple of 8) and add the two halves' sums (``_pairwise`` does all of it). So a row of
    zeros 8k + 7 wide (k whole blocks for the longest segment, then room for a rest) holding
    a segment's whole blocks from its start and its rest from column 8k has the segment's sum
    as numpy sums the row: the zeros add nothing. ``_check_sums`` makes sure this numpy sums
    a 2-D array's rows so (once, on first use).
    """
    rows = counts.size
    blocked = counts - counts % 8
    width = int(blocked.max()) + 7
    head = blocked[row]
    at = row * width + col + (col >= head) * (width - 7 - head)
    padded = np.zeros((2 * rows, width))
    flat = padded.ravel()
    flat[at] = service
    flat[at + rows * width] = wait
    sums: np.ndarray = 0.0 + np.add.reduce(padded, axis=1)
    return sums


def _pairwise(x: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """numpy's pairwise sum of each segment of *x*, all segments at once."""
    big = counts > _PAIRWISE_BLOCK
    if big.any():
        out = np.empty(counts.size)
        small = ~big
        if small.any():
            out[small] = _pairwise(x, starts[small], counts[small])
        half = counts[big] // 2
        half -= half % 8
        out[big] = (_pairwise(x, starts[big], half)
                    + _pairwise(x, starts[big] + half, counts[big] - half))
        return out
    segs = counts.size
    blocked = counts - counts % 8
    res = np.full(segs, -0.0)
    blocks = int(blocked.max()) // 8 if segs else 0
    if blocks:
        padded: np.ndarray = np.zeros((segs, blocks * 8))
        total = int(blocked.sum())
        col = np.arange(total) - np.repeat(np.cumsum(blocked) - blocked, blocked)
        padded[np.repeat(np.arange(segs), blocked), col] = x[np.repeat(starts, blocked) + col]
        padded = padded.reshape(segs, blocks, 8)
        r = padded[:, 0, :].copy()
        for b in range(1, blocks):
            r += padded[:, b, :]  # + 0.0 past a segment's blocks changes nothing
        combined = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + ((r[:, 4] + r[:, 5])
                                                                  + (r[:, 6] + r[:, 7]))
        res = np.where(blocked > 0, combined, res)
    rest = counts - blocked
    for k in range(int(rest.max()) if segs else 0):
        has = rest > k
        res[has] += x[(starts + blocked + k)[has]]
    return res


def _busy_bound(t: np.ndarray, service: np.ndarray, first: float) -> int:
    """An upper bound on how many earlier requests of a batch are still in the system when a
    request arrives (sorted arrivals *t*): one still there arrived less than the longest
    service before, so within the same or the two previous windows of that length (two, to
    be safe from rounding). The batch size when the windows would be too many, or *t* is not
    sorted after all."""
    n = len(t)
    longest = float(service.max())
    span = float(t[-1]) - first
    if not longest > 0.0 or not span <= 4.0 * n * longest or not (t[1:] >= t[:-1]).all():
        return n
    counts = np.bincount(((t - first) / longest).astype(np.int64))
    window = counts.copy()
    window[1:] += counts[:-1]
    window[2:] += counts[:-2]
    return int(window.max())


def _pairwise_is_exact() -> bool:
    """Whether ``_pairwise`` reproduces this numpy's ``sum`` (a private, fixed-seed check)."""
    rng = np.random.default_rng(20261126)
    counts = np.concatenate((np.arange(1, 140), rng.integers(129, 2000, 12)))
    x = rng.exponential(1.0, int(counts.sum())) * rng.choice((1e-3, 1.0, 1e3), int(counts.sum()))
    starts = np.cumsum(counts) - counts
    got = (0.0 + _pairwise(x, starts, counts)).tolist()
    return all(got[i] == 0.0 + float(x[s:s + c].sum())
               for i, (s, c) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)))


def _rows_are_exact() -> bool:
    """Whether ``_row_sums`` reproduces this numpy's ``sum`` (a private, fixed-seed check)."""
    rng = np.random.default_rng(20261127)
    for top in (1, 7, 8, 9, 16, 17, 64, 127):
        for rows in (1, 3, 40):
            counts = rng.integers(1, top + 1, rows)
            counts[rng.integers(0, rows)] = top
            n = int(counts.sum())
            ends = np.cumsum(counts)
            starts = ends - counts
            row = np.repeat(np.arange(rows), counts)
            col = np.arange(n) - starts[row]
            service = rng.exponential(1.0, n) * rng.choice((1e-3, 1.0, 1e3), n)
            wait = rng.exponential(1.0, n) * (rng.random(n) < 0.7)
            got = _row_sums(service, wait, row, col, counts).tolist()
            want = [0.0 + float(v[s:e].sum()) for v in (service, wait)
                    for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
            if got != want:
                return False
    return True


_EXACT: tuple[bool, bool] | None = None
"""Whether ``_row_sums`` and ``_pairwise`` sum as this numpy does (``_check_sums``)."""


def _check_sums() -> tuple[bool, bool]:
    """Check once, on first use, that the summing helpers match this numpy bit for bit."""
    global _EXACT
    _EXACT = (_rows_are_exact(), _pairwise_is_exact())
    return _EXACT
