"""Batch placement (``Scheduler.place_many``) against one pod at a time (``Scheduler.place``).

``place_many`` must give every pod the node ``place`` followed by ``NodeTable.bind`` would, draw
the same numbers from the same stream in the same order, leave the node table and the
workload's counts in the same state, and stop with the same FailedScheduling message. The
property test builds random clusters (pools of different sizes, zones, cordoned, tainted and
deleted nodes, pre-existing pods of other workloads and of the workload itself, sampling on
and off, the rotating start anywhere) and random workloads (requests, nodeSelector pools,
toleration of every taint, default / soft / hard spread constraints) and compares both.
"""

from __future__ import annotations

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cluster.scheduler import NETWORK_UNAVAILABLE, NOT_READY, UNREACHABLE, NodeTable, Scheduler
from sim.objects import DEFAULT_SPREAD, Signature, SpreadConstraint

SPREADS = [
    DEFAULT_SPREAD,
    (),
    (SpreadConstraint("hostname", 1, False),),
    (SpreadConstraint("zone", 1, False),),
    (SpreadConstraint("zone", 2, False), SpreadConstraint("zone", 1, False)),
    (SpreadConstraint("zone", 1, True),),            # DoNotSchedule: placed one at a time
    (SpreadConstraint("hostname", 2, True), SpreadConstraint("zone", 5, False)),
]


@st.composite
def worlds(draw: st.DrawFn) -> dict:
    """The parameters of a cluster, its existing pods and a workload to place."""
    zones = draw(st.integers(1, 4))
    pools = draw(st.lists(st.tuples(st.sampled_from([2000, 3860, 7820, 500]),      # cpu m
                                    st.sampled_from([4000, 12000, 30000, 900]),    # memory Mi
                                    st.sampled_from([3, 10, 30, 110, 250])),       # maxPods
                          min_size=1, max_size=3))
    nodes = draw(st.integers(1, 260))
    return {
        "zones": zones,
        "pools": pools,
        "nodes": [(draw(st.integers(0, len(pools) - 1)), draw(st.integers(0, zones - 1)))
                  for _ in range(nodes)] if nodes <= 12 else None,
        "node_count": nodes,
        "seed": draw(st.integers(0, 2**32 - 1)),
        "removed": draw(st.floats(0, 0.3)),
        "cordoned": draw(st.floats(0, 0.2)),
        "tainted": draw(st.floats(0, 0.2)),
        "others": draw(st.integers(0, 3)),
        "fill": draw(st.floats(0, 0.9)),
        "cpu": draw(st.sampled_from([0, 10, 75, 100, 250, 1000, 2500])),
        "memory": draw(st.sampled_from([0, 64, 200, 1024, 5000])),
        "selector": draw(st.booleans()),
        "tolerates": draw(st.booleans()),
        "spread": draw(st.integers(0, len(SPREADS) - 1)),
        "pods": draw(st.integers(1, 400)),
        "start": draw(st.integers(0, 300)),
        "rng_seed": draw(st.integers(0, 2**32 - 1)),
    }


def build(w: dict) -> tuple[Scheduler, Signature]:
    """The world *w* describes, built afresh (so two copies start identical)."""
    gen = random.Random(w["seed"])
    table = NodeTable(capacity=16)
    rows = []
    for i in range(w["node_count"]):
        if w["nodes"] is not None:
            pool, zone = w["nodes"][i]
        else:
            pool, zone = gen.randrange(len(w["pools"])), gen.randrange(w["zones"])
        cpu, mem, max_pods = w["pools"][pool]
        rows.append(table.add(pool, zone, cpu, mem, max_pods))
    sig = Signature("ns/web", w["cpu"], w["memory"],
                    np.array(sorted({0, len(w["pools"]) - 1}), np.int32) if w["selector"] else None,
                    w["tolerates"], SPREADS[w["spread"]])
    table.register(sig, w["zones"])
    others = [Signature(f"ns/other{i}", gen.choice([50, 100, 500]), gen.choice([100, 500, 2000]),
                        None) for i in range(w["others"])]
    for other in others:
        table.register(other, w["zones"])
    # pre-existing pods, of other workloads and of this one, where they fit
    for row in rows:
        for s in [*others, sig]:
            for _ in range(gen.randrange(int(6 * w["fill"]) + 1)):
                if (table.pods[row] < table.max_pods[row]
                        and table.alloc_cpu[row] - table.used_cpu[row] >= s.cpu
                        and table.alloc_mem[row] - table.used_mem[row] >= s.memory):
                    table.bind(row, s)
    for row in rows:
        r = gen.random()
        if r < w["cordoned"]:
            table.cordoned[row] = True
        elif r < w["cordoned"] + w["tainted"]:
            table.taint[row] = gen.choice([UNREACHABLE, NOT_READY, NETWORK_UNAVAILABLE])
    for row in rows:
        if gen.random() < w["removed"] and table.pods[row] == 0:
            table.remove(row)
    sched = Scheduler(table, random.Random(w["rng_seed"]), w["zones"])
    sched._start = w["start"]
    return sched, sig


def one_at_a_time(sched: Scheduler, sig: Signature, n: int) -> tuple[list[int], str | None]:
    """The reference: ``place`` then ``bind``, pod after pod."""
    rows = []
    for _ in range(n):
        row = sched.place(sig)
        if isinstance(row, str):
            return rows, row
        sched.table.bind(row, sig)
        rows.append(row)
    return rows, None


def state(sched: Scheduler, sig: Signature) -> dict:
    t = sched.table
    out = {name: getattr(t, name)[: t.high].tolist() for name in NodeTable._ARRAYS}
    out["counts"] = sig.counts[: t.high].tolist()
    out["zone_counts"] = sig.zone_counts.tolist()
    out["start"] = sched._start
    out["rng"] = sched.rng.getstate()
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_batch_placement_is_one_at_a_time_placement(w: dict) -> None:
    """Same rows, same FailedScheduling message, same table, counts, start index and rng."""
    ref, ref_sig = build(w)
    expected = one_at_a_time(ref, ref_sig, w["pods"])
    batch, sig = build(w)
    got = batch.place_many(sig, w["pods"], batch_min=1)
    assert got == expected
    assert state(batch, sig) == state(ref, ref_sig)


def test_batch_spreads_a_workload_over_zones_like_single_placements() -> None:
    """A 3-zone cluster of 300 empty nodes (sampling on: 100 of 300 nodes a pod), 600 pods of
    the default spread constraints (every pod ties over many nodes: a draw each), then 40
    pods that do not all fit: the batch lands them exactly where single placements do."""
    w = {"zones": 3, "pools": [(3860, 12000, 250)], "nodes": None, "node_count": 300,
         "seed": 7, "removed": 0.0, "cordoned": 0.0, "tainted": 0.0, "others": 0, "fill": 0.0,
         "cpu": 75, "memory": 200, "selector": False, "tolerates": False, "spread": 0,
         "pods": 600, "start": 0, "rng_seed": 11}
    ref, ref_sig = build(w)
    expected, _ = one_at_a_time(ref, ref_sig, 600)
    batch, sig = build(w)
    rows, message = batch.place_many(sig, 600)
    assert message is None
    assert rows == expected
    assert state(batch, sig) == state(ref, ref_sig)
    big, ref_big = Signature("ns/big", 3000, 1000, None), Signature("ns/big", 3000, 1000, None)
    batch.table.register(big, 3)
    ref.table.register(ref_big, 3)
    rows, message = batch.place_many(big, 400)
    assert (rows, message) == one_at_a_time(ref, ref_big, 400)
    assert len(rows) == 300 and message is not None  # one a node: 100 stay pending
    assert state(batch, big) == state(ref, ref_big)
