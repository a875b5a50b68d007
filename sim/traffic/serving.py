"""Deferred queueing: every pod serves a tick's requests in arrival order, whichever flow and
stage sent them (a client, an ingress controller, a resolver's resends).

The stages queue work at pods (:meth:`Serving.enqueue`) while the tick is dispatched; a round
(:meth:`Serving.resolve`) then serves every pod's queue at once and hands each job its
departures. Pods with one worker are served together in one vectorised pass
(``sim.queueing.podqueue.offer_segments``, bit for bit what ``offer_many`` gives each).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.queueing.podqueue import PodQueue

if TYPE_CHECKING:
    from sim.objects import Pod


class Serving:
    """The jobs queued at pods in this round, and the round that serves them."""

    def __init__(self, pod_queue: Callable[[Pod], PodQueue]) -> None:
        self._pod_queue = pod_queue
        self._jobs: dict[str, tuple[Pod, list[tuple[np.ndarray, np.ndarray, Any]]]] = {}

    def __bool__(self) -> bool:
        """Whether jobs wait for a round."""
        return bool(self._jobs)

    def enqueue(self, pod: Pod, t: np.ndarray, service: np.ndarray,
                 then: Any) -> None:
        """Queue requests reaching *pod* at *t*; *then(done)* gets their departures later."""
        self._jobs.setdefault(pod.name, (pod, []))[1].append((t, service, then))

    def resolve(self) -> None:
        """Serve every pod's queued requests, all flows merged in time order.

        The one-worker pods of a round are served together in one vectorised pass
        (``sim.queueing.podqueue.offer_segments``, bit for bit what ``offer_many`` gives each), the
        others with one ``offer_many`` each; then every job's ``then(done)``, pods in the order
        they were queued, each pod's jobs in order. Callbacks run after all pods of the round
        are served: none reads a pod queue (their own new jobs wait for the next round).
        """
        jobs, self._jobs = self._jobs, {}
        queues: list[PodQueue] = []
        ts: list[np.ndarray] = []
        services: list[np.ndarray] = []
        thens: list[Any] = []
        counts: list[int] = []
        for pod, items in jobs.values():
            queue = pod.queue
            queues.append(queue if queue is not None else self._pod_queue(pod))
            if len(items) == 1:
                t, service, then = items[0]
                ts.append(t)
                services.append(service)
                thens.append(then)
                counts.append(t.size)
                continue
            n = 0
            for t, service, then in items:
                ts.append(t)
                services.append(service)
                thens.append(then)
                n += t.size
            counts.append(n)
        t_all = np.concatenate(ts) if len(ts) > 1 else ts[0]
        s_all = np.concatenate(services) if len(services) > 1 else services[0]
        if t_all.dtype == np.float64 and s_all.dtype == np.float64:
            done_all = _serve_round(queues, np.array(counts), t_all, s_all)
            start = 0
            for t, then in zip(ts, thens, strict=True):
                end = start + t.size
                then(done_all[start:end])
                start = end
            return
        for queue, (_pod, items) in zip(queues, jobs.values(), strict=True):  # not float64
            t = np.concatenate([i[0] for i in items])
            service = np.concatenate([i[1] for i in items])
            order = np.argsort(t, kind="stable")
            done = np.empty(t.size)
            done[order] = queue.offer_many(t[order], service[order])
            start = 0
            for part_t, _s, then in items:
                then(done[start:start + part_t.size])
                start += part_t.size


# --- serving a round of pod queues (Serving.resolve) ------------------------------------------


def _serve_round(queues: list[PodQueue], counts: np.ndarray, t: np.ndarray,
                 service: np.ndarray) -> np.ndarray:
    """Serve ``queues[i]`` the next ``counts[i]`` requests of *t* / *service* (float64);
    returns their departures, aligned with *t*.

    Each queue gets its requests in arrival order (a stable sort, as ``offer_many`` expects).
    The one-worker queues with at least 8 requests (under 8, ``offer_many`` goes one request at
    a time; and with not far more than the average, which would pad the rows) go through
    ``offer_segments`` together; the others get one ``offer_many`` call each, as before.
    """
    from sim.queueing.podqueue import offer_segments

    ends = np.cumsum(counts)
    starts = ends - counts
    t_sorted, s_sorted, perms = _sort_segments(t, service, starts, ends)
    batch = (counts >= 8) & np.array([q.concurrency == 1 for q in queues])
    if len(set(queues)) < len(queues):
        batch[:] = False  # a queue twice (not from _resolve): one call each, in order
    rows = np.flatnonzero(batch)
    if rows.size:
        cap = max(128, 4 * int(counts[rows].sum()) // rows.size)
        if int(counts[rows].max()) > cap:
            batch &= counts <= cap
            rows = np.flatnonzero(batch)
    if rows.size == len(queues):
        return _unsort(offer_segments(queues, t_sorted, s_sorted, counts), perms)
    done = np.empty(t.size)
    if rows.size:
        sel = _segment_index(starts[rows], counts[rows])
        done[sel] = offer_segments([queues[i] for i in rows.tolist()], t_sorted[sel],
                                   s_sorted[sel], counts[rows])
    for i in np.flatnonzero(~batch & (counts > 0)).tolist():
        lo, hi = int(starts[i]), int(ends[i])
        done[lo:hi] = queues[i].offer_many(t_sorted[lo:hi], s_sorted[lo:hi])
    return _unsort(done, perms)


def _unsort(done: np.ndarray, perms: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Departures of sorted segments back in the requests' order."""
    if perms:
        ordered = done.copy()
        for lo, order in perms:
            done[lo + order] = ordered[lo:lo + order.size]
    return done


def _sort_segments(t: np.ndarray, service: np.ndarray, starts: np.ndarray, ends: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, np.ndarray]]]:
    """Each segment of *t* (and *service* along) in stable arrival order; the permutations
    of the segments that were not sorted yet, as (segment start, order)."""
    if t.size < 2:
        return t, service, []
    drops = t[1:] < t[:-1]
    step = ends[:-1] - 1
    drops[step[(step >= 0) & (step < drops.size)]] = False  # from one segment to the next
    if not drops.any():
        return t, service, []
    seg = np.searchsorted(ends, np.flatnonzero(drops), side="right")
    t, service = t.copy(), service.copy()
    perms = []
    for i in np.unique(seg).tolist():
        lo, hi = int(starts[i]), int(ends[i])
        order = np.argsort(t[lo:hi], kind="stable")
        t[lo:hi] = t[lo:hi][order]
        service[lo:hi] = service[lo:hi][order]
        perms.append((lo, order))
    return t, service, perms


def _segment_index(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions of the segments (``starts``, ``counts``), one after another."""
    offsets = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) + np.repeat(starts - offsets, counts)
