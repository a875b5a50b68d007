"""A benchmark's figures at two git revisions, side by side.

Each revision gets its own git worktree and its own venv (``pip install -e '.[bench]'``), so
each runs its own ``sim`` and its own copy of the benchmark script. The benchmark then runs
alternately, base, head, base, head, ... ``--runs`` times each, at normal priority, and the
ratio head / base of the medians of every numeric figure of its JSON line (the last line of
its output; nested objects flattened to dotted keys, booleans and lists left out) is printed.
Besides the benchmark's own figures, two are measured from outside for every run:
``harness.wall_s`` (the whole process, imports included) and ``harness.cpu_s`` (its user +
system CPU time). The 1-minute load average before each run is printed next to it: other work
on the machine shows there, and alternating the runs spreads it over both revisions.

A ratio above 1 is a larger figure at head: slower for times (``wall_s``, ``cpu_s``,
``run_s``), faster for rates (``requests_per_s``, ``events_per_s``).

Worktrees are made under ``--worktrees`` (default ``/tmp/aks-sim-compare``), one directory per
commit, and reused when they are there already (an existing ``.venv`` too); ``--remove``
removes them at the end.

Usage::

    .venv/bin/python benchmarks/compare_revisions.py 627e8d8                 # traffic, vs HEAD
    .venv/bin/python benchmarks/compare_revisions.py 627e8d8 HEAD --benchmark control_plane \\
        --runs 5 -- --no-scaling
    .venv/bin/python benchmarks/compare_revisions.py HEAD~3 HEAD --runs 7 -- --no-memory-check

Arguments after ``--`` go to the benchmark script. The LAST line of output is one JSON object:
``{"base": ..., "head": ..., "benchmark": ..., "ratios": {...}}`` (commits in full, ratios of
medians, head / base; ``null`` where the base median is 0), plus ``medians`` and ``loadavg``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def git(repo: str, *args: str) -> str:
    """Run git in *repo* and return its stripped output."""
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def worktree(repo: str, commit: str, root: str, extras: str) -> str:
    """A worktree of *repo* at *commit* under *root* with its own venv: made, or reused."""
    path = os.path.join(root, commit[:12])
    if not os.path.isdir(path):
        os.makedirs(root, exist_ok=True)
        git(repo, "worktree", "add", "--detach", path, commit)
    elif git(path, "rev-parse", "HEAD") != commit:
        raise SystemExit(f"{path} exists but is not at {commit}")
    python = os.path.join(path, ".venv", "bin", "python")
    if not os.path.exists(python):
        print(f"making the venv of {path} (pip install -e '.[{extras}]')", flush=True)
        subprocess.run([sys.executable, "-m", "venv", ".venv"], cwd=path, check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "-e", f".[{extras}]"], cwd=path,
                       check=True)
    where = subprocess.run([python, "-c", "import sim; print(sim.__file__)"], cwd=path,
                           check=True, capture_output=True, text=True).stdout.strip()
    if not where.startswith(path + os.sep):
        raise SystemExit(f"the venv of {path} imports sim from {where}")
    return path


def flatten(obj: dict, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a JSON object, nested keys joined with dots (no bools, no lists)."""
    out: dict[str, float] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def run_once(path: str, benchmark: str, args: list[str]) -> dict[str, float]:
    """One run of *benchmark* in the worktree *path*: its JSON line's figures + the harness's."""
    cmd = [os.path.join(path, ".venv", "bin", "python"),
           os.path.join(path, "benchmarks", f"{benchmark}.py"), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=path, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    figures = flatten(json.loads(lines[-1]))
    figures["harness.wall_s"] = wall
    figures["harness.cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run the benchmark alternately at both revisions, print the JSON line last."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("base", help="the revision to compare against (e.g. a commit before a change)")
    p.add_argument("head", nargs="?", default="HEAD", help="the revision measured (default HEAD)")
    p.add_argument("--benchmark", default="traffic",
                   help="script name under benchmarks/, without .py (default traffic)")
    p.add_argument("--runs", "-n", type=int, default=3, help="runs at each revision (default 3)")
    p.add_argument("--worktrees", default="/tmp/aks-sim-compare",
                   help="where the worktrees go, one directory per commit")
    p.add_argument("--extras", default="bench", help="extras installed in each venv (default bench)")
    p.add_argument("--remove", action="store_true", help="remove the worktrees at the end")
    p.epilog = "Arguments after -- go to the benchmark script."
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    a, bench_args = p.parse_args(argv[:cut]), argv[cut + 1:]

    repo = git(HERE, "rev-parse", "--show-toplevel")
    commits = {side: git(repo, "rev-parse", "--verify", f"{rev}^{{commit}}")
               for side, rev in (("base", a.base), ("head", a.head))}
    paths = {side: worktree(repo, c, a.worktrees, a.extras) for side, c in commits.items()}
    print(f"{a.benchmark} {' '.join(bench_args)}: base {a.base} = {commits['base'][:12]}, "
          f"head {a.head} = {commits['head'][:12]}, {a.runs} runs each, alternating", flush=True)

    runs: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
    loads: dict[str, list[float]] = {"base": [], "head": []}
    try:
        for i in range(a.runs):
            for side in ("base", "head"):
                load = os.getloadavg()[0]
                figures = run_once(paths[side], a.benchmark, bench_args)
                runs[side].append(figures)
                loads[side].append(load)
                print(f"  run {i + 1} {side}: load {load:.2f}, process {figures['harness.wall_s']:.2f}s "
                      f"wall {figures['harness.cpu_s']:.2f}s CPU", flush=True)
    finally:
        if a.remove:
            for path in set(paths.values()):
                git(repo, "worktree", "remove", "--force", path)

    # figures present in every run of both sides
    names = sorted(set.intersection(*(set(r) for side in runs.values() for r in side)))
    medians = {side: {n: statistics.median(r[n] for r in runs[side]) for n in names} for side in runs}
    ratios = {n: (round(medians["head"][n] / medians["base"][n], 4) if medians["base"][n] else None)
              for n in names}
    width = max(len(n) for n in names)
    print(f"{'figure':{width}s} {'base median':>14s} {'head median':>14s} {'head/base':>9s}")
    for n in names:
        ratio = "-" if ratios[n] is None else f"{ratios[n]:.4f}"
        print(f"{n:{width}s} {medians['base'][n]:14.6g} {medians['head'][n]:14.6g} {ratio:>9s}")
    print(f"load average (1 min) before the runs: base {min(loads['base']):.2f}-{max(loads['base']):.2f}, "
          f"head {min(loads['head']):.2f}-{max(loads['head']):.2f}")
    print(json.dumps({"base": commits["base"], "head": commits["head"], "benchmark": a.benchmark,
                      "args": bench_args, "runs": a.runs, "ratios": ratios, "medians": medians,
                      "loadavg": loads}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
