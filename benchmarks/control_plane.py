"""Control-plane benchmark: a 5,000-node Azure CNI Overlay cluster with 150,000 pods.

One simulated hour with the cluster autoscaler active and a zone failure (zone 1 down from
1/6 of the run for 1/3 of it: 10m to 30m of a 1h run). Prints wall time, simulated seconds per
wall second, events per second and peak RSS, next to a bare SimPy baseline (one process
yielding ``env.timeout`` in a loop) doing as many timeouts as the run published bus events,
measured in the same process. The LAST line of output is one JSON object.

Usage::

    .venv/bin/python benchmarks/control_plane.py                 # full target (1h, 5,000 nodes)
    .venv/bin/python benchmarks/control_plane.py --scale 0.2     # 1,000 nodes / 30,000 pods
    .venv/bin/python benchmarks/control_plane.py --duration 20m --profile /tmp/cp.pstats
    .venv/bin/python benchmarks/control_plane.py --write-scenario benchmarks/control_plane.yaml

Scaling: after the run, the same benchmark (one simulated hour, zone failure) at 500, 2,000 and
5,000 nodes (``--large`` adds 10,000 and 20,000), each in a fresh process, ``--reps`` times
(median), wall and CPU time; the log-log slope of time against nodes is printed and is in
the JSON line (``scaling``; 1.0 is linear). ``--ref DIR`` runs every size with the code of
another checkout too (e.g. ``git archive HEAD~3 | tar -x -C /tmp/ref``), interleaved with
this one's, so before and after are measured side by side under the same load.
``--no-scaling`` leaves the sweep out; ``--code DIR`` runs the benchmark on another checkout's
``sim`` (what ``--ref`` uses for its child processes).

Phases are timed separately: ``load`` (YAML parse + schema + semantic checks), ``construct``
(``Simulation(...)``), ``start`` (the cluster at t=0: nodes created Ready, pods created
Pending, ``gc.freeze()``) and ``run`` (everything the event loop does from t=0 to the end,
including the first scheduling pass that places every pod). ``build_s`` = load + construct +
start; ``wall_s`` is the whole benchmark before the baseline (build + run + report).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time

import simpy

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):  # run as a script: make ``sim`` importable from the checkout
    # (or from the checkout given by --code, for before/after comparisons)
    CODE = (sys.argv[sys.argv.index("--code") + 1] if "--code" in sys.argv[:-1]
            else os.path.dirname(HERE))
    sys.path.insert(0, os.path.abspath(CODE))

from measure import GcWatch, cpu_name, hwm_mb, model_digest, peak_rss_mb, rss_mb  # noqa: E402

from sim import sizing  # noqa: E402
from sim.engine import Simulation  # noqa: E402
from sim.scenario import load_text  # noqa: E402
from sim.scenario.units import parse_duration  # noqa: E402

FULL_NODES = 5000
FULL_PODS = 150_000
USER_POOLS = 5
SYSTEM_NODES = 5
DEPLOYMENTS = 300
NAMESPACES = 10
POD_CPU = "75m"
"""30 pods a node use 58% of a D4s_v3's 3,860m (above the 50% scale-down threshold); the 45 a
node needs with a zone down still fit (3,375m)."""
POD_MEMORY = "200Mi"
MAX_PODS = 250
TARGET_WALL_S = 60.0
TARGET_RSS_MB = 2048.0


# --- the scenario --------------------------------------------------------------------------

def scenario_text(scale: float = 1.0, duration: float = 3600.0, seed: int = 1) -> str:
    """The benchmark scenario as YAML: *scale* of 5,000 nodes / 150,000 pods, *duration* s."""
    nodes = max(SYSTEM_NODES // 2 + USER_POOLS, round(FULL_NODES * scale))
    pods = max(DEPLOYMENTS, round(FULL_PODS * scale))
    system = max(3, min(SYSTEM_NODES, round(SYSTEM_NODES * scale)))
    user = nodes - system
    pool_sizes = [user // USER_POOLS + (1 if i < user % USER_POOLS else 0) for i in range(USER_POOLS)]
    fail_at, fail_for = duration / 6, duration / 3
    lines = [
        "name: control-plane-benchmark",
        f"description: {nodes} nodes, {pods} pods, Azure CNI Overlay, zone 1 fails at "
        f"{fail_at:g}s for {fail_for:g}s, cluster autoscaler on",
        f"seed: {seed}",
        f"duration: {duration:g}s",
        "cluster:",
        "  name: bench",
        "  networkPlugin: azure",
        "  networkPluginMode: overlay",
        "  podCidr: 100.64.0.0/10          # 16,384 node /24s" if nodes <= 16_384 else
        "  podCidr: 100.0.0.0/9            # 32,768 node /24s (beyond AKS: --large only)",
        "  serviceCidr: 10.0.0.0/16",
        "  dnsServiceIP: 10.0.0.10",
        "  vnet:",
        "    addressSpace: [10.224.0.0/12]",
        "    subnets:",
        "      - {name: aks-subnet, addressPrefix: 10.224.0.0/16}",
        "  zones: ['1', '2', '3']",
        "  nodePools:",
        f"    - {{name: system, mode: System, count: {system}, maxPods: {MAX_PODS}}}",
    ]
    for i, size in enumerate(pool_sizes):
        lines.append(f"    - {{name: user{i + 1}, count: {size}, maxPods: {MAX_PODS}, "
                     f"enableAutoScaling: true, minCount: {max(1, size // 3)}, maxCount: {size}}}")
    lines.append("workloads:")
    for d in range(DEPLOYMENTS):
        replicas = pods // DEPLOYMENTS + (1 if d < pods % DEPLOYMENTS else 0)
        name = f"app-{d:03d}"
        lines += [
            "  - apiVersion: apps/v1",
            "    kind: Deployment",
            f"    metadata: {{name: {name}, namespace: team-{d % NAMESPACES:02d}}}",
            "    spec:",
            f"      replicas: {replicas}",
            f"      selector: {{matchLabels: {{app: {name}}}}}",
            "      template:",
            f"        metadata: {{labels: {{app: {name}}}}}",
            "        spec:",
            "          containers:",
            f"            - {{name: app, resources: {{requests: {{cpu: {POD_CPU}, "
            f"memory: {POD_MEMORY}}}}}}}",
        ]
    lines += [
        "chaos:",
        f"  - {{at: {fail_at:g}s, duration: {fail_for:g}s, fault: zone_failure, zone: '1'}}",
        "",
    ]
    return "\n".join(lines)


# --- measurement helpers -------------------------------------------------------------------

def simpy_events_processed(env: simpy.Environment) -> int:
    """Events SimPy popped off its heap so far: ids handed out minus those still queued."""
    # simpy.Environment numbers every scheduled event with next(self._eid); reading the
    # counter consumes one id, which is harmless once the run is over
    return next(env._eid) - len(env._queue)  # type: ignore[attr-defined]


def simpy_baseline(n: int) -> float:
    """Wall seconds for bare SimPy to process *n* timeouts: one process, a plain loop."""
    env = simpy.Environment()

    def proc() -> simpy.events.ProcessGenerator:
        for _ in range(n):
            yield env.timeout(1.0)

    env.process(proc())
    t = time.perf_counter()
    env.run()
    return time.perf_counter() - t


# --- the benchmark -------------------------------------------------------------------------

def run(args: argparse.Namespace) -> dict:
    """Build, run and measure; returns the figures (the JSON line)."""
    out = sys.stdout
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    c0 = time.process_time()
    if args.scenario:
        with open(args.scenario, encoding="utf-8") as fh:
            text = fh.read()
        file = args.scenario
    else:
        text = scenario_text(args.scale, args.duration, args.seed)
        file = "<control-plane-benchmark>"
    gen_s = time.perf_counter() - t0

    if not args.scenario and round(FULL_NODES * args.scale) > sizing.MAX_NODES_PER_CLUSTER:
        # the sweep's 10,000 and 20,000 nodes are beyond AKS (5,000 nodes, 1,000 a pool):
        # lifted for this process only, to see how the model scales
        sizing.MAX_NODES_PER_CLUSTER = sizing.MAX_NODES_PER_POOL = round(FULL_NODES * args.scale)
        print(f"note: AKS's node limits lifted to {sizing.MAX_NODES_PER_CLUSTER} for this run",
              file=out)
    t = time.perf_counter()
    loaded = load_text(text, file, HERE)
    load_s = time.perf_counter() - t
    for w in loaded.warnings:
        print(f"warning: {w.render()}", file=sys.stderr)
    spec = loaded.spec
    nodes = sum(p.count for p in spec.cluster.node_pools)
    pods = sum(p.obj.spec.replicas for p in loaded.workloads.deployments)  # type: ignore[attr-defined]

    t = time.perf_counter()
    sim = Simulation(loaded, run_id="bench")
    construct_s = time.perf_counter() - t

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    t = time.perf_counter()
    sim.advance_to(0.0)  # model.start(): nodes Ready, pods Pending, gc.freeze()
    start_s = time.perf_counter() - t
    rss_built = rss_mb()
    build_s = load_s + construct_s + start_s
    print(f"built {nodes} nodes, {pods} pods: load {load_s:.2f}s, construct {construct_s:.2f}s, "
          f"start {start_s:.2f}s (rss {rss_built:.0f} MiB)", file=out, flush=True)

    # the timed run, in checkpoints of sim time so the phases (initial placement, zone
    # failure, evictions, recovery, scale-down) show where the wall time goes
    end = sim.end
    step = args.step
    checkpoints: list[dict] = []
    gc_watch = GcWatch()
    events_at_start = sim.bus.published
    t_run = time.perf_counter()
    last_wall, last_events, now = t_run, events_at_start, 0.0
    while now < end:
        now = min(end, now + step)
        sim.advance_to(now)
        wall = time.perf_counter()
        events = sim.bus.published
        checkpoints.append({"sim_t": now, "wall_s": round(wall - last_wall, 4),
                            "bus_events": events - last_events,
                            "rss_mb": round(rss_mb(), 1)})
        if args.verbose:
            print(f"  t={now:7.0f}s  +{wall - last_wall:7.3f}s wall  "
                  f"+{events - last_events:7d} events  rss {checkpoints[-1]['rss_mb']:.0f} MiB",
                  file=out, flush=True)
        last_wall, last_events = wall, events
    run_s = time.perf_counter() - t_run
    gc_watch.stop()
    if profiler:
        profiler.disable()
    peak = peak_rss_mb()

    t = time.perf_counter()
    report = sim.report()
    report_s = time.perf_counter() - t
    wall_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    figures = report.figures

    bus_events = sim.bus.published - events_at_start  # published by the timed run
    simpy_events = simpy_events_processed(sim.env)
    sim_s = sim.now
    # consistency of the end state: pods the Deployments track vs pods bound in the node table
    table = sim.model.table
    tracked = sum(len(d.pods) for d in sim.model.workloads.deployments.values())
    bound = int(table.pods[: table.capacity][table.present[: table.capacity]].sum())
    pending = sim.model.workloads.pending_count

    # bare SimPy, same process, same count: the bus events of the run as timeouts; repeated
    # (median) so a short baseline is not one noisy sample
    del sim, report, loaded
    gc.collect()
    n = bus_events
    reps = 3 if n >= 200_000 else 5
    times = [simpy_baseline(n) for _ in range(reps)]
    base_s = statistics.median(times)
    base_rate = n / base_s if base_s > 0 else float("inf")
    rate = bus_events / run_s if run_s > 0 else float("inf")

    result = {
        "benchmark": "control_plane",
        "scale": args.scale if not args.scenario else None,
        "nodes": nodes,
        "pods": pods,
        "sim_s": sim_s,
        "wall_s": round(wall_s, 3),
        "cpu_s": round(cpu_s, 3),
        "code": os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["sim"].__file__))),
        "build_s": round(build_s, 3),
        "load_s": round(load_s, 3),
        "construct_s": round(construct_s, 3),
        "start_s": round(start_s, 3),
        "run_s": round(run_s, 3),
        "report_s": round(report_s, 3),
        "generate_s": round(gen_s, 3),
        "sim_s_per_wall_s": round(sim_s / run_s, 2) if run_s > 0 else None,
        "events": bus_events,
        "events_per_s": round(rate, 1),
        "simpy_events": simpy_events,
        "simpy_events_per_s": round(simpy_events / run_s, 1) if run_s > 0 else None,
        "start_events": events_at_start,
        "gc_s": round(gc_watch.seconds, 3),
        "gc_collections": gc_watch.collections,
        "baseline_events": n,
        "baseline_s": round(base_s, 4),
        "baseline_events_per_s": round(base_rate, 1),
        "ratio_vs_baseline": round(rate / base_rate, 4) if base_rate else None,
        "run_vs_baseline_time": round(run_s / base_s, 1) if base_s > 0 else None,
        "peak_rss_mb": round(peak, 1),
        "hwm_mb": hwm_mb(),
        "rss_after_build_mb": round(rss_built, 1),
        "target_wall_s": TARGET_WALL_S,
        "target_rss_mb": TARGET_RSS_MB,
        "meets_target": wall_s <= TARGET_WALL_S and peak <= TARGET_RSS_MB,
        "final": {k: figures[k] for k in ("nodes.final", "nodes.readyFinal", "nodes.readyMin",
                                          "pods.runningFinal", "pods.pendingFinal",
                                          "pods.pendingPeak") if k in figures},
        "loadavg_1m": [load_before, os.getloadavg()[0] if hasattr(os, "getloadavg") else None],
        "model_digest": model_digest(),
        "pods_tracked": tracked,
        "pods_bound": bound,
        "pods_pending": pending,
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "cpu": cpu_name(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    if args.checkpoints:
        result["checkpoints"] = checkpoints

    print(f"run: {sim_s:g} sim s in {run_s:.2f}s wall = {result['sim_s_per_wall_s']} sim s/wall s; "
          f"{bus_events} bus events ({rate:,.0f}/s), {simpy_events} SimPy events; "
          f"gc {gc_watch.seconds:.2f}s in {gc_watch.collections} collections", file=out)
    print(f"baseline: bare SimPy, {n} timeouts in {base_s:.3f}s ({base_rate:,.0f}/s); "
          f"model/baseline rate {result['ratio_vs_baseline']}, run time "
          f"x{result['run_vs_baseline_time']}", file=out)
    print(f"total {wall_s:.2f}s wall, {cpu_s:.2f}s CPU (target {TARGET_WALL_S:g}s), peak RSS {peak:.0f} MiB "
          f"(target {TARGET_RSS_MB:g} MiB), final {result['final']}", file=out)
    if bound + pending != tracked:
        print(f"WARNING: model inconsistency at the end: {tracked} pods tracked by Deployments, "
              f"{bound} bound in the node table + {pending} pending", file=out)
    slow = sorted(checkpoints, key=lambda c: -c["wall_s"])[:5]
    print("slowest stretches: " + ", ".join(f"t<={c['sim_t']:g}s {c['wall_s']:.2f}s"
                                            for c in slow), file=out)
    if profiler:
        profiler.dump_stats(args.profile)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(args.profile_top)
        stats.sort_stats("cumulative").print_stats(args.profile_top)
        print(f"profile (start + run, under cProfile: slower than the figures above) written "
              f"to {args.profile}", file=out)
    return result


def loglog_slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) against log(x): 1.0 is linear growth."""
    if len(xs) < 2 or min(ys) <= 0:
        return None
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    den = sum((a - mx) ** 2 for a in lx)
    return round(sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / den, 3)


def child_run(code: str, nodes: int, args: argparse.Namespace) -> dict:
    """One benchmark run of *nodes* nodes in a fresh process on the checkout *code*."""
    cmd = [sys.executable, os.path.abspath(__file__), "--code", code, "--no-scaling",
           "--scale", repr(nodes / FULL_NODES), "--duration", f"{args.duration:g}s",
           "--seed", str(args.seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"benchmark child failed ({code}, {nodes} nodes):\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def scaling(args: argparse.Namespace) -> dict:
    """Wall and CPU time per cluster size (medians of ``--reps`` fresh processes) and the
    log-log slopes; with ``--ref``, the other checkout's, interleaved run by run."""
    sizes = [500, 2000, 5000] + ([10_000, 20_000] if args.large else [])
    codes = {"this": os.path.dirname(HERE)}
    if args.ref:
        codes["ref"] = os.path.abspath(args.ref)
    runs: dict[str, dict[int, list[dict]]] = {k: {n: [] for n in sizes} for k in codes}
    for _ in range(args.reps):
        for n in sizes:
            for name, code in codes.items():
                r = child_run(code, n, args)
                runs[name][n].append(r)
                print(f"  {name:4s} {n:6d} nodes: wall {r['wall_s']:7.2f}s  cpu "
                      f"{r.get('cpu_s', float('nan')):7.2f}s  run {r['run_s']:6.2f}s  "
                      f"load {r['loadavg_1m'][0]:.1f}", flush=True)
    out: dict = {"sizes": sizes, "reps": args.reps}
    for name in codes:
        med = {key: [statistics.median(r[key] for r in runs[name][n]) for n in sizes]
               for key in ("wall_s", "cpu_s", "run_s", "build_s")}
        out[name] = {**{k: [round(v, 3) for v in vals] for k, vals in med.items()},
                     "slope_wall": loglog_slope(sizes, med["wall_s"]),
                     "slope_cpu": loglog_slope(sizes, med["cpu_s"]),
                     "slope_cpu_pairs": [loglog_slope(sizes[i:i + 2], med["cpu_s"][i:i + 2])
                                         for i in range(len(sizes) - 1)],
                     # VmHWM: a child's ru_maxrss starts at its parent's high-water mark
                     "peak_rss_mb": [statistics.median(r["hwm_mb"] or r["peak_rss_mb"]
                                                       for r in runs[name][n]) for n in sizes],
                     "events": [runs[name][n][0]["events"] for n in sizes],
                     "final": [runs[name][n][0]["final"] for n in sizes]}
        print(f"{name}: " + ", ".join(f"{n} nodes {w:.2f}s wall / {c:.2f}s cpu" for n, w, c in
                                      zip(sizes, med["wall_s"], med["cpu_s"], strict=True))
              + f"; log-log slope wall {out[name]['slope_wall']}, cpu {out[name]['slope_cpu']}"
              " (target <= 1.1)", flush=True)
    if args.ref:
        out["speedup_cpu"] = [round(r / t, 2) for r, t in zip(out["ref"]["cpu_s"],
                                                              out["this"]["cpu_s"], strict=True)]
        out["same_outcome"] = [a == b for a, b in zip(out["ref"]["final"], out["this"]["final"],
                                                      strict=True)]
        print(f"speed-up (ref cpu / this cpu): {out['speedup_cpu']}; same events count and end "
              f"state: {out['same_outcome']}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run the benchmark, print the JSON line last."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0,
                   help="fraction of the full size (5,000 nodes, 150,000 pods); default 1")
    p.add_argument("--duration", type=parse_duration, default=3600.0,
                   help="simulated time, e.g. 1h, 20m, 900s (default 1h); the zone failure is "
                        "at 1/6 of it for 1/3 of it")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scenario", default=None,
                   help="run this scenario file instead of the generated one")
    p.add_argument("--write-scenario", metavar="PATH", default=None,
                   help="write the generated scenario (for --scale/--duration) and exit")
    p.add_argument("--step", type=float, default=60.0,
                   help="sim seconds per timing checkpoint (default 60)")
    p.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU")
    p.add_argument("--profile", metavar="PATH", default=None,
                   help="run start + run under cProfile, write pstats to PATH, print top to stderr")
    p.add_argument("--profile-top", type=int, default=30)
    p.add_argument("--checkpoints", action="store_true",
                   help="include the per-checkpoint timings in the JSON line")
    p.add_argument("-v", "--verbose", action="store_true", help="print every checkpoint")
    p.add_argument("--no-scaling", action="store_true",
                   help="leave out the sweep over cluster sizes")
    p.add_argument("--large", action="store_true",
                   help="the sweep also runs 10,000 and 20,000 nodes")
    p.add_argument("--reps", type=int, default=3, help="runs per size in the sweep (median)")
    p.add_argument("--ref", metavar="DIR", default=None,
                   help="another checkout: the sweep runs its code too, side by side")
    p.add_argument("--code", metavar="DIR", default=None,
                   help="run the benchmark on the sim package of this checkout")
    args = p.parse_args(argv)
    if args.write_scenario:
        with open(args.write_scenario, "w", encoding="utf-8") as fh:
            fh.write(scenario_text(args.scale, args.duration, args.seed))
        print(f"wrote {args.write_scenario}")
        return 0
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    result = run(args)
    if not args.no_scaling and not args.scenario:
        print(f"scaling: {args.duration:g} sim s at each size, {args.reps} fresh process(es) "
              "each (median)", flush=True)
        result["scaling"] = scaling(args)
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
