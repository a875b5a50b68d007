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
"""

from __future__ import annotations

import bisect
import heapq

import numpy as np


class PodQueue:
    """A FIFO queue in front of a pod's ``concurrency`` workers."""

    __slots__ = ("concurrency", "_free", "_free_at", "_departures", "served", "busy_time",
                 "wait_time")

    def __init__(self, concurrency: int = 1) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self._free_at = 0.0
        """With one worker: when it is free (a scalar is faster than a heap of one)."""
        self._free: list[float] = [0.0] * concurrency
        """With several: a min-heap of the times each worker is free."""
        self._departures: list[float] = []
        self.served = 0
        self.busy_time = 0.0
        self.wait_time = 0.0

    def offer(self, t: float, service: float) -> float:
        """Queue a request arriving at *t* needing *service* seconds; returns its departure."""
        if self.concurrency == 1:
            start = t if t > self._free_at else self._free_at
            done = start + service
            self._free_at = done
        else:
            earliest = self._free[0]
            start = t if t > earliest else earliest
            done = start + service
            heapq.heapreplace(self._free, done)
        self.served += 1
        self.busy_time += service
        self.wait_time += start - t
        deps = self._departures
        if not deps or done >= deps[-1]:
            deps.append(done)  # one worker: departures always come in order
        else:
            bisect.insort(deps, done)
        return done

    def offer_many(self, t: np.ndarray, service: np.ndarray) -> np.ndarray:
        """Queue requests arriving at sorted times *t*; returns their departure times.

        With one worker, Lindley's recursion in closed form: with W1 the first wait and
        X_j = sum_{i<j} (S_i - (t_{i+1} - t_i)), the wait of request j+1 is
        X_j - min(-W1, X_1, ..., X_j) (a running minimum). With several workers, one by one.
        """
        if self.concurrency > 1 and len(t) >= 8:
            done = self._offer_many_unqueued(t, service)
            if done is not None:
                return done
        if self.concurrency > 1 or len(t) < 8:
            return np.fromiter((self.offer(a, s) for a, s in zip(t.tolist(), service.tolist(),
                                                                   strict=True)),
                               float, len(t))
        first_wait = max(0.0, self._free_at - float(t[0]))
        x = np.empty(len(t))
        x[0] = 0.0
        np.cumsum(service[:-1] - np.diff(t), out=x[1:])
        floor = x.copy()
        floor[0] = -first_wait
        wait = x - np.minimum.accumulate(floor)
        done = t + wait + service
        self._free_at = float(done[-1])
        self.served += len(t)
        self.busy_time += float(service.sum())
        self.wait_time += float(wait.sum())
        deps = self._departures
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
        deps = self._departures
        gone = bisect.bisect_right(deps, float(t[0]))
        if gone:
            del deps[:gone]
        done = t + service
        # earlier requests of this batch still in the system at each arrival
        in_batch = np.arange(len(t)) - np.searchsorted(np.sort(done), t, side="right")
        before = np.asarray(deps)  # kept sorted
        in_before = len(before) - np.searchsorted(before, t, side="right")
        if int((in_batch + in_before).max()) >= self.concurrency:
            return None
        # each request took an earliest-free worker: the workers are now free at the c
        # latest of the old free times and the new departures
        self._free = sorted([*self._free, *done.tolist()])[-self.concurrency:]
        self.served += len(t)
        self.busy_time += float(service.sum())
        merged = np.concatenate((before, done))
        merged.sort()
        self._departures = merged.tolist()
        return done

    def in_flight(self, t: float) -> int:
        """Requests queued or being served at *t* (departures at or before *t* are gone)."""
        deps = self._departures  # sorted
        gone = bisect.bisect_right(deps, t)
        if gone:
            del deps[:gone]
        return len(deps)

    def backlog(self, t: float) -> float:
        """Seconds until a new request arriving at *t* would start."""
        earliest = self._free_at if self.concurrency == 1 else self._free[0]
        return max(0.0, earliest - t)

    def drop(self, t: float) -> int:
        """The pod is gone at *t*: every request still in flight fails; returns how many."""
        lost = self.in_flight(t)
        self._departures.clear()
        self._free_at = t
        self._free = [t] * self.concurrency
        return lost


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
        pod = self.pods[i]
        pod.served += 1
        pod.busy_time += service
        pod.wait_time += start - t
        bisect.insort(pod._departures, done)
        return i, done
