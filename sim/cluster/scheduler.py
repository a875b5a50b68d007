"""kube-scheduler: filter and score, on a table of nodes kept as numpy arrays.

What is modelled (kubernetes/kubernetes pkg/scheduler):
- Filters, in the order the default profile runs them: NodeUnschedulable (cordoned),
  NodeAffinity (nodeSelector), TaintToleration (not-ready, unreachable, network-unavailable
  taints), NodeResourcesFit (cpu, memory, pod count), PodTopologySpread (DoNotSchedule).
- Scores: NodeResourcesFit LeastAllocated (weight 1), NodeResourcesBalancedAllocation
  (weight 1), PodTopologySpread (weight 2, with the default constraints hostname maxSkew 3
  and zone maxSkew 5, ScheduleAnyway, when a pod has none). Integer scores 0-100 as upstream.
- Sampling: ``numFeasibleNodesToFind``: all nodes below 100, else
  max(100, n * max(5, 50 - n/125) / 100) feasible nodes, searched from a rotating start index.
- Ties are broken at random (the "scheduler" stream), as upstream's selectHost does.
- FailedScheduling messages are worded like upstream's
  (``0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint ...``).

Per-pod work is a handful of vector operations over the node table; no SimPy process per pod.

Batches (``Scheduler.place_many``): the pending pods of one workload are placed in one pass
with exactly the result of placing them one at a time (same node for every pod, same draws
from the "scheduler" stream in the same order). Within such a pass only the node just bound
changes (its usage, its count of the workload's pods, maybe its feasibility) and one zone's
count of the workload's pods, so the feasible nodes are kept as classes of equal (zone, pods
of the workload, resource score): every node of a class scores the same against the sampled
window, and a pod costs a few binary searches per class in the window, not a pass over
the node table. Workloads with a DoNotSchedule spread constraint (a filter that can change for
every node at each bind) are placed one at a time.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable

import numpy as np

from sim.objects import Signature, SpreadConstraint

MIN_FEASIBLE_NODES = 100
MIN_FEASIBLE_PERCENTAGE = 5
BATCH_MIN = 8
"""Fewer pods than this are placed one at a time (the batch's set-up costs more)."""

TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_NETWORK = "node.kubernetes.io/network-unavailable"

# taint codes in the table
NO_TAINT, UNREACHABLE, NOT_READY, NETWORK_UNAVAILABLE = 0, 1, 2, 3
_TAINT_NAMES = {UNREACHABLE: TAINT_UNREACHABLE, NOT_READY: TAINT_NOT_READY,
                NETWORK_UNAVAILABLE: TAINT_NETWORK}


def num_feasible_nodes_to_find(n: int) -> int:
    """How many feasible nodes the scheduler looks for before scoring (adaptive percentage)."""
    if n < MIN_FEASIBLE_NODES:
        return n
    percentage = max(MIN_FEASIBLE_PERCENTAGE, 50 - n // 125)
    return max(MIN_FEASIBLE_NODES, n * percentage // 100)


class NodeTable:
    """Node state as parallel arrays, one row per registered node; rows are reused."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self.present = np.zeros(capacity, bool)
        self.cordoned = np.zeros(capacity, bool)
        self.taint = np.zeros(capacity, np.int8)
        self.pool = np.zeros(capacity, np.int32)
        self.zone = np.zeros(capacity, np.int32)
        self.alloc_cpu = np.ones(capacity, np.int64)
        self.alloc_mem = np.ones(capacity, np.int64)
        self.used_cpu = np.zeros(capacity, np.int64)
        self.used_mem = np.zeros(capacity, np.int64)
        self.max_pods = np.zeros(capacity, np.int32)
        self.pods = np.zeros(capacity, np.int32)
        self._free_rows: list[int] = []
        self._next = 0
        self.signatures: list[Signature] = []
        self.count = 0

    _ARRAYS = ("present", "cordoned", "taint", "pool", "zone", "alloc_cpu", "alloc_mem",
               "used_cpu", "used_mem", "max_pods", "pods")

    def _grow(self) -> None:
        new = self.capacity * 2
        for name in self._ARRAYS:
            old = getattr(self, name)
            arr = np.ones(new, old.dtype) if name.startswith("alloc") else np.zeros(new, old.dtype)
            arr[: self.capacity] = old
            setattr(self, name, arr)
        for sig in self.signatures:
            sig.counts = _resized(sig.counts, new)
        self.capacity = new

    def add(self, pool: int, zone: int, cpu: int, memory: int, max_pods: int) -> int:
        """A new row for a registered node; returns its index (lowest free row first)."""
        if self._free_rows:
            self._free_rows.sort()
            row = self._free_rows.pop(0)
        else:
            if self._next >= self.capacity:
                self._grow()
            row = self._next
            self._next += 1
        self.present[row] = True
        self.cordoned[row] = False
        self.taint[row] = NO_TAINT
        self.pool[row], self.zone[row] = pool, zone
        self.alloc_cpu[row], self.alloc_mem[row] = max(cpu, 1), max(memory, 1)
        self.used_cpu[row] = self.used_mem[row] = self.pods[row] = 0
        self.max_pods[row] = max_pods
        for sig in self.signatures:
            sig.counts[row] = 0
        self.count += 1
        return row

    def remove(self, row: int) -> None:
        """Forget a deleted node's row."""
        self.present[row] = False
        self._free_rows.append(row)
        self.count -= 1

    @property
    def high(self) -> int:
        """One past the highest row ever used: arrays are only read up to here."""
        return self._next

    def register(self, sig: Signature, zones: int) -> None:
        """Track per-node and per-zone pod counts for a workload (for topology spread)."""
        sig.counts = np.zeros(self.capacity, np.int32)
        sig.zone_counts = np.zeros(max(zones, 1), np.int64)
        self.signatures.append(sig)

    def bind(self, row: int, sig: Signature) -> None:
        """Account a pod of *sig* on *row*."""
        self.used_cpu[row] += sig.cpu
        self.used_mem[row] += sig.memory
        self.pods[row] += 1
        sig.counts[row] += 1
        sig.zone_counts[self.zone[row]] += 1

    def unbind(self, row: int, sig: Signature) -> None:
        """Release a pod of *sig* from *row*."""
        self.used_cpu[row] -= sig.cpu
        self.used_mem[row] -= sig.memory
        self.pods[row] -= 1
        sig.counts[row] -= 1
        sig.zone_counts[self.zone[row]] -= 1


def _resized(arr: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, arr.dtype)
    out[: len(arr)] = arr
    return out


def _spread_weight(domains: int) -> int:
    # upstream weights each constraint by log(domains + 2); kept as an integer (x1000) so
    # scores are exact integers on every machine
    return int(round(math.log(domains + 2) * 1000))


def _resource_score(alloc_c: int, alloc_m: int, req_c: int, req_m: int) -> int:
    """:meth:`Scheduler._resource_scores` of one row, in Python integers (the same values)."""
    least = ((alloc_c - req_c) * 100 // alloc_c + (alloc_m - req_m) * 100 // alloc_m) // 2
    balanced = 100 - (abs(req_c * alloc_m - req_m * alloc_c) * 50) // (alloc_c * alloc_m)
    return least + balanced


class Scheduler:
    """Places pods on nodes; returns the row chosen or a FailedScheduling message."""

    def __init__(self, table: NodeTable, rng: random.Random, zones: int) -> None:
        self.table = table
        self.rng = rng
        self.zones = zones
        self._start = 0

    def _filter(self, sig: Signature) -> np.ndarray:
        t = self.table
        cap = t.high
        mask = t.present[:cap] & ~t.cordoned[:cap]
        if not sig.tolerates_taints:
            mask &= t.taint[:cap] == NO_TAINT
        if sig.pools is not None:
            mask &= np.isin(t.pool[:cap], sig.pools)
        mask &= t.pods[:cap] < t.max_pods[:cap]
        if sig.cpu:
            mask &= t.alloc_cpu[:cap] - t.used_cpu[:cap] >= sig.cpu
        if sig.memory:
            mask &= t.alloc_mem[:cap] - t.used_mem[:cap] >= sig.memory
        for c in sig.spread:
            if c.hard:
                mask &= self._skew_ok(sig, c, mask)
        return mask

    def _domain_counts(self, sig: Signature, c: SpreadConstraint,
                       rows: np.ndarray | slice) -> np.ndarray:
        """Pods of *sig* in the topology domain of each of *rows* (its zone, or the node)."""
        if c.key == "hostname":
            return sig.counts[rows]
        return sig.zone_counts[self.table.zone[rows]]

    def _skew_ok(self, sig: Signature, c: SpreadConstraint, mask: np.ndarray) -> np.ndarray:
        t = self.table
        used = slice(0, t.high)
        counts = self._domain_counts(sig, c, used)
        # nodeAffinityPolicy Honor (the pod's nodeSelector), nodeTaintsPolicy Ignore: tainted
        # and cordoned nodes still count as domains (PodTopologySpread defaults)
        candidates = t.present[used].copy()
        if sig.pools is not None:
            candidates &= np.isin(t.pool[used], sig.pools)
        if not candidates.any():
            return mask
        lowest = counts[candidates].min()
        return counts + 1 - lowest <= c.max_skew

    def place(self, sig: Signature) -> int | str:
        """The row to bind a pod of *sig* to, or why none fits (FailedScheduling message)."""
        mask = self._filter(sig)
        feasible = np.flatnonzero(mask)
        if feasible.size == 0:
            return self.explain(sig)
        want = num_feasible_nodes_to_find(self.table.count)
        if feasible.size > want:
            pos = int(np.searchsorted(feasible, self._start))
            rolled = np.concatenate((feasible[pos:], feasible[:pos]))
            feasible = rolled[:want]
            self._start = int(feasible[-1]) + 1
        scores = self._score(sig, feasible)
        best = np.flatnonzero(scores == scores.max())
        pick = int(best[0]) if best.size == 1 else int(best[self.rng.randrange(best.size)])
        return int(feasible[pick])

    def place_many(self, sig: Signature, n: int, *,
                   batch_min: int = BATCH_MIN) -> tuple[list[int], str | None]:
        """Place and bind up to *n* pods of *sig*, one after another, as :meth:`place` would.

        Returns the rows the pods were bound to, in order (the table already counts them), and
        the FailedScheduling message of the first pod that did not fit (None if all did).
        """
        if n <= 0:
            return [], None
        if n < batch_min or any(c.hard for c in sig.spread):
            rows: list[int] = []
            for _ in range(n):
                row = self.place(sig)
                if isinstance(row, str):
                    return rows, row
                self.table.bind(row, sig)
                rows.append(row)
            return rows, None
        rows = self._place_batch(sig, n)
        self._bind_all(rows, sig)
        if len(rows) < n:
            return rows, self.explain(sig)
        return rows, None

    def _bind_all(self, rows: list[int], sig: Signature) -> None:
        """:meth:`NodeTable.bind` for every row of *rows* at once."""
        if not rows:
            return
        t = self.table
        at = np.asarray(rows, np.intp)
        per_row = np.bincount(at, minlength=t.high)
        used = slice(0, per_row.size)
        t.used_cpu[used] += per_row * sig.cpu
        t.used_mem[used] += per_row * sig.memory
        t.pods[used] += per_row.astype(np.int32)
        sig.counts[used] += per_row.astype(np.int32)
        sig.zone_counts += np.bincount(t.zone[at], minlength=sig.zone_counts.size)

    def _place_batch(self, sig: Signature, n: int) -> list[int]:
        """The rows :meth:`place` then :meth:`NodeTable.bind` would give *n* pods in turn,
        without touching the table (the caller binds them); stops at the first pod that fits
        nowhere. Only for signatures without a DoNotSchedule spread constraint.

        The feasible rows are kept in classes of equal (zone, pods of *sig* there, resource
        score), each a sorted list of rows. A pod's window (the sampled rows: one run of
        ascending rows, or two when it wraps around) holds, per (zone, pods there), a best
        score: the highest-scoring class with a row in the window (two binary searches). The
        spread score is the same for every row of a (zone, pods there), so the winners are the
        window's rows of the classes whose total is the highest: their count is what
        ``best.size`` was, and the k-th of them in window order the row ``place`` returns.
        """
        t = self.table
        feasible = np.flatnonzero(self._filter(sig))
        if feasible.size == 0:
            return []
        cpu, mem = sig.cpu, sig.memory
        base = self._resource_scores(t.alloc_cpu[feasible], t.alloc_mem[feasible],
                                     t.used_cpu[feasible] + cpu, t.used_mem[feasible] + mem)
        zone_of = t.zone[feasible]
        here = sig.counts[feasible].astype(np.int64)
        # the soft constraints' weights by topology: raw = here * w_host + zone count * w_zone
        w_host = w_zone = 0
        soft = [c for c in sig.spread if not c.hard]
        for c in soft:
            if c.key == "zone":
                w_zone += _spread_weight(self.zones)
            else:
                w_host += _spread_weight(max(t.count, 1))
        # classes of equal (zone, pods here, score), rows ascending (lexsort is stable)
        order = np.lexsort((base, here, zone_of))
        keys = np.stack((zone_of[order], here[order], base[order]))
        cut = np.flatnonzero((keys[:, 1:] != keys[:, :-1]).any(axis=0)) + 1
        bounds = [0, *cut.tolist(), order.size]
        sorted_rows = feasible[order].tolist()
        key_list = keys[:, np.asarray(bounds[:-1], np.intp)].T.tolist()
        classes: dict[tuple[int, int, int], list[int]] = {}
        levels: dict[tuple[int, int], list[tuple[int, list[int]]]] = {}
        """The classes of each (zone, pods here): (score, rows), by ascending score."""
        for (z, h, b), lo, hi in zip(key_list, bounds[:-1], bounds[1:], strict=True):
            key = (z, h, b)
            classes[key] = sorted_rows[lo:hi]
            levels.setdefault((z, h), []).append((b, classes[key]))
        feas = feasible.tolist()
        zone_counts = sig.zone_counts.tolist()
        state: dict[int, list[int]] = {}
        """Bound rows: used cpu, used memory, pods, allocatable cpu, memory, max pods."""
        want = num_feasible_nodes_to_find(t.count)
        start = self._start
        rng = self.rng
        out: list[int] = []
        for _ in range(n):
            size = len(feas)
            if size == 0:
                break
            # the sampled window: feas[pos:end], wrapping around when end > size
            if size > want:
                pos = bisect_left(feas, start)
                if pos == size:
                    pos = 0
                end = pos + want
                wrap = end > size
                if wrap:
                    a0, e1 = feas[pos], feas[end - size - 1]
                    start = e1 + 1
                else:
                    a0, e0 = feas[pos], feas[end - 1]
                    start = e0 + 1
                sampled = True
            else:
                pos, end, wrap, sampled = 0, size, False, False
            # per (zone, pods here): the best class with rows in the window, and how many
            found = []
            for (z, h), lv in levels.items():
                for b, lst in reversed(lv):
                    if not sampled:
                        i, j, c = 0, len(lst), len(lst)
                    elif wrap:  # [a0, last feasible] then [first feasible, e1]
                        i, j = bisect_left(lst, a0), bisect_right(lst, e1)
                        c = len(lst) - i + j
                    else:
                        i, j = bisect_left(lst, a0), bisect_right(lst, e0)
                        c = j - i
                    if c:
                        found.append((z, h, b, lst, i, j, c))
                        break
            if soft:
                raws = [f[1] * w_host + zone_counts[f[0]] * w_zone for f in found]
                hi_raw, lo_raw = max(raws), min(raws)
                if hi_raw == 0:
                    totals = [f[2] + 200 for f in found]
                else:
                    totals = [f[2] + 2 * ((100 * (hi_raw + lo_raw - r)) // hi_raw)
                              for f, r in zip(found, raws, strict=True)]
            else:
                totals = [f[2] for f in found]
            top = max(totals)
            tied = [f for f, tot in zip(found, totals, strict=True) if tot == top]
            if len(tied) == 1:
                z, h, b, lst, i, j, count = tied[0]
                k = rng.randrange(count) if count > 1 else 0
                row = lst[i + k] if not wrap or k < len(lst) - i else lst[k - (len(lst) - i)]
            else:
                count = sum(f[6] for f in tied)
                k = rng.randrange(count)
                window_size = end - pos
                if count == window_size:  # every row of the window is a winner
                    row = feas[pos + k] if pos + k < size else feas[pos + k - size]
                else:  # the tied classes' rows in the window, merged (timsort merges runs)
                    merged: list[int] = []
                    for f in tied:
                        merged += f[3][f[4]:] if wrap else f[3][f[4]:f[5]]
                    merged.sort()
                    if k < len(merged):
                        row = merged[k]
                    else:  # in the window's wrapped run (rows from the first feasible one)
                        k -= len(merged)
                        merged = []
                        for f in tied:
                            merged += f[3][:f[5]]
                        merged.sort()
                        row = merged[k]
                for f in tied:
                    lst = f[3]
                    x = bisect_left(lst, row)
                    if x < len(lst) and lst[x] == row:
                        z, h, b = f[0], f[1], f[2]
                        break
            out.append(row)
            # bind: the row moves to its next class, or leaves the feasible set
            lst = classes[(z, h, b)]
            del lst[bisect_left(lst, row)]
            if not lst:
                del classes[(z, h, b)]
                lv = levels[(z, h)]
                del lv[next(x for x, (bb, _) in enumerate(lv) if bb == b)]
                if not lv:
                    del levels[(z, h)]
            zone_counts[z] += 1
            st = state.get(row)
            if st is None:
                st = state[row] = [int(t.used_cpu[row]), int(t.used_mem[row]), int(t.pods[row]),
                                   int(t.alloc_cpu[row]), int(t.alloc_mem[row]),
                                   int(t.max_pods[row])]
            st[0] += cpu
            st[1] += mem
            st[2] += 1
            if st[2] < st[5] and st[3] - st[0] >= cpu and st[4] - st[1] >= mem:
                nb = _resource_score(st[3], st[4], st[0] + cpu, st[1] + mem)
                key = (z, h + 1, nb)
                dest = classes.get(key)
                if dest is None:
                    classes[key] = dest = [row]
                    lv = levels.setdefault((z, h + 1), [])
                    lv.insert(bisect_left([bb for bb, _ in lv], nb), (nb, dest))
                else:
                    insort(dest, row)
            else:
                x = bisect_left(feas, row)
                del feas[x]
        self._start = start
        return out

    @staticmethod
    def _resource_scores(alloc_c: np.ndarray, alloc_m: np.ndarray, req_c: np.ndarray,
                         req_m: np.ndarray) -> np.ndarray:
        """NodeResourcesFit LeastAllocated + NodeResourcesBalancedAllocation, per row."""
        least = (((alloc_c - req_c) * 100 // alloc_c) + ((alloc_m - req_m) * 100 // alloc_m)) // 2
        # BalancedAllocation: (1 - std of the two fractions) * 100, std = |fc - fm| / 2
        diff = np.abs(req_c * alloc_m - req_m * alloc_c)
        balanced = 100 - (diff * 50) // (alloc_c * alloc_m)
        return least + balanced

    def _score(self, sig: Signature, rows: np.ndarray) -> np.ndarray:
        t = self.table
        total = self._resource_scores(t.alloc_cpu[rows], t.alloc_mem[rows],
                                      t.used_cpu[rows] + sig.cpu, t.used_mem[rows] + sig.memory)
        soft = [c for c in sig.spread if not c.hard]
        if soft:
            raw = np.zeros(rows.size, np.int64)
            for c in soft:
                domains = self.zones if c.key == "zone" else max(t.count, 1)
                raw += self._domain_counts(sig, c, rows) * _spread_weight(domains)
            hi, lo = int(raw.max()), int(raw.min())
            spread = np.full(rows.size, 100, np.int64) if hi == 0 else (
                100 * (hi + lo - raw) // hi)
            total = total + 2 * spread
        return total

    def explain(self, sig: Signature) -> str:
        """Why no node fits, in kube-scheduler's words, counting each node's first failure."""
        t = self.table
        cap = t.high
        present = t.present[:cap]
        left = present.copy()
        reasons: dict[str, int] = {}

        def take(cond: np.ndarray, label: str | Callable[[np.ndarray], dict[str, int]]) -> None:
            nonlocal left
            hit = left & cond
            n = int(hit.sum())
            if n:
                if callable(label):
                    for k, v in label(hit).items():
                        reasons[k] = reasons.get(k, 0) + v
                else:
                    reasons[label] = reasons.get(label, 0) + n
            left &= ~cond

        # the default profile's filter order: NodeUnschedulable, TaintToleration, NodeAffinity,
        # NodeResourcesFit, PodTopologySpread; a node reports its first failing plugin
        take(t.cordoned[:cap], "node(s) were unschedulable")
        if not sig.tolerates_taints:
            take(t.taint[:cap] != NO_TAINT, lambda hit: {
                f"node(s) had untolerated taint {{{_TAINT_NAMES[int(code)]}: }}": int(n)
                for code, n in zip(*np.unique(t.taint[:cap][hit], return_counts=True), strict=True)})
        if sig.pools is not None:
            take(~np.isin(t.pool[:cap], sig.pools), "node(s) didn't match Pod's node affinity/selector")
        # NodeResourcesFit reports every insufficient resource of a node
        short = ((t.pods[:cap] >= t.max_pods[:cap], "Too many pods"),
                 (t.alloc_cpu[:cap] - t.used_cpu[:cap] < sig.cpu, "Insufficient cpu"),
                 (t.alloc_mem[:cap] - t.used_mem[:cap] < sig.memory, "Insufficient memory"))
        hit = left & (short[0][0] | short[1][0] | short[2][0])
        # a node whose allocatable is below the request is unresolvable (preemption cannot
        # help); one that is merely full is resolvable, but equal-priority pods are no victims
        too_small = (t.alloc_cpu[:cap] < sig.cpu) | (t.alloc_mem[:cap] < sig.memory)
        full = int((hit & ~too_small).sum())
        for cond, label in short:
            n = int((hit & cond).sum())
            if n:
                reasons[label] = n
        left &= ~hit
        if left.any():
            reasons["node(s) didn't match pod topology spread constraints"] = int(left.sum())
        total = int(present.sum())
        # upstream sorts the "<count> <reason>" strings themselves (FitError.Error)
        parts = ", ".join(sorted(f"{n} {r}" for r, n in reasons.items()))
        body = f"0/{total} nodes are available" + (f": {parts}." if parts else ".")
        # preemption could only help where resources are short, and every pod here has the
        # same priority: no victims there, and not helpful anywhere else
        preempt = {"No preemption victims found for incoming pod": full,
                   "Preemption is not helpful for scheduling": total - full}
        tail = ", ".join(sorted(f"{n} {r}" for r, n in preempt.items() if n))
        return f"{body} preemption: 0/{total} nodes are available: {tail}."
