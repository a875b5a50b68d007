"""Byte-identity check: every scenario's events.jsonl under two versions of the code.

Runs ``aks-sim run S --seed N --out DIR --quiet`` for every ``scenarios/*.yaml``, the
control-plane benchmark scenario at a small scale and two scenarios built with the tests'
helpers (tests/simkit.py), with seeds 1, 2 and 3, once with the code
of this checkout and once with the code at ``--ref`` (a directory holding another checkout,
e.g. ``git archive main | tar -x -C /tmp/ref``), and compares the two ``events.jsonl`` byte
for byte (sha256). Prints one line per run and, last, one JSON object.

Usage::

    git archive HEAD~1 | tar -x -C /tmp/ref   # the code before a change
    .venv/bin/python benchmarks/event_identity.py --ref /tmp/ref
    .venv/bin/python benchmarks/event_identity.py --ref /tmp/ref --seeds 1 --only zone-failure
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _digest(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_one(code_root: str, scenario: str, seed: int, out: str) -> tuple[str | None, int, str]:
    """Run *scenario* with the code under *code_root*; (sha256 of events.jsonl, rc, stderr)."""
    env = dict(os.environ, PYTHONPATH=code_root, PYTHONHASHSEED="0")
    proc = subprocess.run([sys.executable, "-m", "services.cli", "run", scenario, "--seed",
                           str(seed), "--out", out, "--quiet"], cwd=code_root, env=env,
                          capture_output=True, text=True, check=False)
    return _digest(os.path.join(out, "events.jsonl")), proc.returncode, proc.stderr[-500:]


def simkit_scenarios(tmp: str) -> list[str]:
    """A few scenarios built with the tests' helpers (tests/simkit.py) that the scheduler's
    paths need: pods that do not all fit (FailedScheduling), a DoNotSchedule zone constraint
    (placed one at a time), node selectors, a batch of many replicas on few nodes."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from simkit import cluster_yaml, deployment  # noqa: PLC0415

    hard_zone = """
          topologySpreadConstraints:
            - maxSkew: 1
              topologyKey: topology.kubernetes.io/zone
              whenUnsatisfiable: DoNotSchedule
              labelSelector: {matchLabels: {app: api}}"""
    texts = {
        "simkit-too-many-replicas": cluster_yaml(count=3) + "workloads:"
        + deployment(replicas=120, cpu="100m"),
        "simkit-mixed": cluster_yaml(count=6, max_pods=50, overlay=True) + "workloads:"
        + deployment("web", replicas=90, cpu="120m")
        + deployment("api", replicas=40, cpu="200m", extra_spec=hard_zone)
        + deployment("batch", replicas=25, cpu="1500m", pool=None)
        + deployment("tiny", replicas=200, cpu="10m", memory="16Mi"),
    }
    paths = []
    for name, text in texts.items():
        path = os.path.join(tmp, f"{name}.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Compare the event streams of this checkout and ``--ref``; exit 1 on any difference."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ref", required=True, help="directory of the other checkout")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--only", default=None, help="substring of the scenario names to run")
    p.add_argument("--bench-scale", type=float, default=0.1,
                   help="scale of the control-plane benchmark scenario added to the list "
                        "(0 to leave it out)")
    p.add_argument("--no-simkit", dest="simkit", action="store_false",
                   help="leave out the scenarios built with tests/simkit.py's helpers")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    scenarios = sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.yaml")))
    tmp = tempfile.mkdtemp(prefix="event-identity-")
    if args.bench_scale > 0:
        sys.path.insert(0, HERE)
        from control_plane import scenario_text  # noqa: PLC0415

        path = os.path.join(tmp, f"control-plane-{round(5000 * args.bench_scale)}-nodes.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(scenario_text(args.bench_scale, 3600.0))
        scenarios.append(path)
    if args.simkit:
        scenarios += simkit_scenarios(tmp)
    if args.only:
        scenarios = [s for s in scenarios if args.only in os.path.basename(s)]
    rows = []
    t0 = time.perf_counter()
    for scenario in scenarios:
        name = os.path.basename(scenario)
        for seed in seeds:
            a = run_one(ROOT, os.path.abspath(scenario), seed, os.path.join(tmp, f"a-{name}-{seed}"))
            b = run_one(os.path.abspath(args.ref), os.path.abspath(scenario), seed,
                        os.path.join(tmp, f"b-{name}-{seed}"))
            same = a[0] is not None and a[0] == b[0] and a[1] == b[1]
            rows.append({"scenario": name, "seed": seed, "identical": same, "sha256": a[0],
                         "rc": a[1], "ref_rc": b[1]})
            print(f"{'same' if same else 'DIFFERENT'}  {name} seed {seed}  rc {a[1]}/{b[1]}  "
                  f"{(a[0] or '-')[:16]} {(b[0] or '-')[:16]}", flush=True)
            if a[0] is None or b[0] is None:
                print(f"  stderr: {a[2] or b[2]}", flush=True)
    different = [r for r in rows if not r["identical"]]
    print(json.dumps({"benchmark": "event_identity", "runs": len(rows),
                      "identical": len(rows) - len(different),
                      "different": [f"{r['scenario']}@{r['seed']}" for r in different],
                      "seconds": round(time.perf_counter() - t0, 1)}, separators=(",", ":")))
    return 1 if different else 0


if __name__ == "__main__":
    raise SystemExit(main())
