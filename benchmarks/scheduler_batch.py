"""The scheduler alone: a workload's pods placed in one batch vs one at a time.

An empty cluster of N nodes (5 pools, 3 zones, D4s_v3 allocatable, maxPods 250) and 300
workloads of 30 x N / 300 pods each (75m, 200Mi, the default spread constraints), placed
workload after workload, as the first scheduling pass of ``control_plane.py`` does. Prints
CPU microseconds per pod for ``Scheduler.place_many`` and, with ``--one``, for ``place`` +
``NodeTable.bind`` pod after pod, checks that both chose the same nodes, and ends with one
JSON line.

Usage::

    .venv/bin/python benchmarks/scheduler_batch.py                    # 500, 2,000, 5,000 nodes
    .venv/bin/python benchmarks/scheduler_batch.py --sizes 20000 --one
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(HERE))

from sim.cluster.scheduler import NodeTable, Scheduler  # noqa: E402
from sim.objects import Signature  # noqa: E402

WORKLOADS = 300
PODS_PER_NODE = 30


def cluster(nodes: int) -> tuple[Scheduler, list[Signature]]:
    """An empty cluster of *nodes* nodes and its 300 workloads."""
    table = NodeTable()
    for i in range(nodes):
        table.add(i % 5, i % 3, 3860, 12_900, 250)
    sched = Scheduler(table, random.Random(1), 3)
    sigs = []
    for d in range(WORKLOADS):
        sig = Signature(f"team/app-{d:03d}", 75, 200, None)
        table.register(sig, 3)
        sigs.append(sig)
    return sched, sigs


def place_all(nodes: int, batch: bool) -> tuple[float, list[int]]:
    """CPU seconds to place every workload's pods, and the rows chosen."""
    sched, sigs = cluster(nodes)
    per = nodes * PODS_PER_NODE // WORKLOADS
    rows: list[int] = []
    t = time.process_time()
    for sig in sigs:
        if batch:
            got, _ = sched.place_many(sig, per)
            rows += got
        else:
            for _ in range(per):
                row = sched.place(sig)
                assert isinstance(row, int)
                sched.table.bind(row, sig)
                rows.append(row)
    return time.process_time() - t, rows


def main(argv: list[str] | None = None) -> int:
    """Time the batch (and with --one the single placements) at each size."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="500,2000,5000")
    p.add_argument("--one", action="store_true", help="also place one pod at a time")
    args = p.parse_args(argv)
    out = []
    for nodes in [int(s) for s in args.sizes.split(",")]:
        pods = nodes * PODS_PER_NODE // WORKLOADS * WORKLOADS
        cpu, rows = place_all(nodes, True)
        row = {"nodes": nodes, "pods": pods, "batch_cpu_s": round(cpu, 3),
               "batch_us_per_pod": round(cpu / pods * 1e6, 2)}
        if args.one:
            cpu1, rows1 = place_all(nodes, False)
            row |= {"one_cpu_s": round(cpu1, 3), "one_us_per_pod": round(cpu1 / pods * 1e6, 2),
                    "same_rows": rows1 == rows}
        print("  ".join(f"{k} {v}" for k, v in row.items()), flush=True)
        out.append(row)
    print(json.dumps({"benchmark": "scheduler_batch", "runs": out,
                      "loadavg_1m": os.getloadavg()[0]}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
