"""Sweep benchmark: 64 short runs on the local cores vs one after the other.

The study: ``scenarios/azure-cni-ip-exhaustion.yaml`` (a 2 h Azure CNI scale-out into a full
subnet, ~0.1 s of work a run) over 4 subnet sizes x 4 maxPods x 4 seeds = 64 runs. Each
repeat runs the whole sweep sequentially (``--workers 1``: in this process, no pool) and on
every core (a process pool), into fresh directories, and checks that both tables agree in
their deterministic columns. Prints the speed-up (target >= 1.8x on 2 cores) and the
overhead per run; the LAST line of output is one JSON object.

Usage::

    .venv/bin/python benchmarks/sweep.py                 # 64 runs, every core, 3 repeats
    .venv/bin/python benchmarks/sweep.py --workers 2 --repeats 5

Overhead per run: the wall time of the sweep times the workers, minus the time spent inside
``run_one`` (the rows' ``run_wall_s``), over the runs: planning, pickling, the pool, writing
results.csv and report.html, and idle cores at the end. The CPU time of the sequential
sweep and of the pool (parent plus workers, from ``getrusage``) gives the speed-up an
otherwise idle machine would see: ``workers x sequential CPU / pool CPU``; on a shared
machine the wall-clock speed-up also depends on what else runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if __package__ in (None, ""):  # run as a script: make ``sim`` and ``services`` importable
    sys.path.insert(0, ROOT)

STUDY = """\
name: sweep-benchmark
scenario: {scenario}
parameters:
  - path: cluster.vnet.subnets[aks-subnet].addressPrefix
    name: subnet
    values: [10.10.1.0/24, 10.10.2.0/23, 10.10.4.0/22, 10.10.8.0/21]
  - path: cluster.nodePools[user].maxPods
    name: maxPods
    values: [30, 50, 70, 90]
seeds: 4
figures: [nodes.peak, subnet.aks-subnet.peakUsed, first.SubnetIsFull, pods.pendingFinal]
outcome: pods.pendingFinal
"""


def _timed_sweep(study_path: str, out: str, workers: int
                 ) -> tuple[float, float, list[dict[str, str]]]:
    from services.sweeps import sweep as sw
    from sim.scenario.study import load_study

    cpu0 = _cpu()
    started = time.perf_counter()
    study = load_study(study_path)
    result = sw.sweep(study, out, sw.local_runner(workers))
    sw.write_report(study, result, out)
    wall = time.perf_counter() - started
    with open(os.path.join(out, "results.csv"), newline="", encoding="utf-8") as fh:
        return wall, _cpu() - cpu0, list(csv.DictReader(fh))


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _noop(scenario: object, params: dict[str, object], seed: int, figures: list[str],
          run_id: str, keep_events: bool) -> dict[str, object]:
    """A task shaped like a run (same arguments, a row back) that does no work."""
    return {**params, "seed": seed, **dict.fromkeys(figures, 1.0), "run_wall_s": 0.0}


def _pool_overhead(study_path: str, workers: int) -> float:
    """CPU seconds per task of the pool alone: the study's tasks, each carrying its scenario,
    through the same process pool, doing nothing (includes starting the workers)."""
    from services.sweeps import sweep as sw
    from sim.scenario.study import load_study

    study = load_study(study_path)
    tasks = list(sw.with_scenarios(sw.plan(study), study))
    saved = sw.execute
    sw.execute = _noop  # forked workers inherit the replacement
    try:
        cpu0 = _cpu()
        for _ in sw.local_runner(workers)(tasks, study.figures):
            pass
        return (_cpu() - cpu0) / len(tasks)
    finally:
        sw.execute = saved


def _deterministic(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if not k.endswith("wall_s")} for r in rows]


def main() -> int:
    """Run the benchmark; print figures and a last JSON line."""
    from services.sweeps.sweep import cpu_count

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=cpu_count())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scenario", default=os.path.join(ROOT, "scenarios",
                                                           "azure-cni-ip-exhaustion.yaml"))
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    seq_walls, par_walls, seq_over, par_over, run_means = [], [], [], [], []
    seq_cpus, par_cpus = [], []
    equal = True
    runs = 0
    with tempfile.TemporaryDirectory(prefix="aks-sim-sweep-bench-") as tmp:
        study = os.path.join(tmp, "study.yaml")
        with open(study, "w", encoding="utf-8") as fh:
            fh.write(STUDY.format(scenario=os.path.abspath(args.scenario)))
        for i in range(args.repeats):
            seq, seq_cpu, seq_rows = _timed_sweep(study, os.path.join(tmp, f"seq{i}"), 1)
            par, par_cpu, par_rows = _timed_sweep(study, os.path.join(tmp, f"par{i}"),
                                                  args.workers)
            seq_cpus.append(seq_cpu)
            par_cpus.append(par_cpu)
            runs = len(seq_rows)
            equal &= _deterministic(seq_rows) == _deterministic(par_rows)
            inside_seq = sum(float(r["run_wall_s"]) for r in seq_rows)
            inside_par = sum(float(r["run_wall_s"]) for r in par_rows)
            seq_walls.append(seq)
            par_walls.append(par)
            seq_over.append((seq - inside_seq) / runs)
            par_over.append((par * args.workers - inside_par) / runs)
            run_means.append(inside_seq / runs)
            print(f"repeat {i + 1}: {runs} runs sequential {seq:.2f} s, {args.workers} workers "
                  f"{par:.2f} s, speed-up {seq / par:.2f}x", flush=True)
        pool_only = _pool_overhead(study, args.workers)
    seq_s, par_s = statistics.median(seq_walls), statistics.median(par_walls)
    figures = {
        "benchmark": "sweep", "runs": runs, "workers": args.workers, "repeats": args.repeats,
        "sequential_s": round(seq_s, 3), "parallel_s": round(par_s, 3),
        "speedup": round(seq_s / par_s, 3),
        "run_s_mean": round(statistics.median(run_means), 4),
        "overhead_per_run_ms_sequential": round(1000 * statistics.median(seq_over), 2),
        "overhead_per_run_ms_parallel": round(1000 * statistics.median(par_over), 2),
        "sequential_cpu_s": round(statistics.median(seq_cpus), 3),
        "parallel_cpu_s": round(statistics.median(par_cpus), 3),
        "cpu_bound_speedup": round(args.workers * statistics.median(seq_cpus)
                                   / statistics.median(par_cpus), 3),
        "pool_only_cpu_ms_per_run": round(1000 * pool_only, 2),
        "tables_equal": equal, "cpu_count": cpu_count(),
        "loadavg_1m_before": round(load_before, 2), "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }
    print(f"median of {args.repeats}: sequential {seq_s:.2f} s, {args.workers} workers "
          f"{par_s:.2f} s: speed-up {seq_s / par_s:.2f}x (target >= 1.8x on 2 cores); "
          f"a run {figures['run_s_mean'] * 1000:.0f} ms; overhead per run "
          f"{figures['overhead_per_run_ms_sequential']:.1f} ms sequential, "
          f"{figures['overhead_per_run_ms_parallel']:.1f} ms core time in the pool; "
          f"tables equal: {equal}")
    print(f"CPU time: sequential {figures['sequential_cpu_s']:.2f} s, pool (parent + workers) "
          f"{figures['parallel_cpu_s']:.2f} s: on {args.workers} otherwise idle cores the "
          f"speed-up would be about {figures['cpu_bound_speedup']:.2f}x; the pool alone "
          f"(no-op tasks) {figures['pool_only_cpu_ms_per_run']:.2f} ms CPU a run; load average "
          f"{figures['loadavg_1m_before']} before, {figures['loadavg_1m_after']} after")
    print(json.dumps(figures))
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
