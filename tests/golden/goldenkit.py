"""Golden outputs: every example scenario under three seeds, run as `aks-sim run` runs it
(services.live.run.LiveRun with its default sinks), reduced to the sha256 of its event log,
metrics file and report. A change that moves any of them must say so by updating
``hashes.json`` (``python tests/golden/goldenkit.py --update``) in the same commit: refactors
(issue 12) must leave it untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HASHES = Path(__file__).resolve().parent / "hashes.json"
SEEDS = (1, 2, 3)
FILES = ("events.jsonl", "metrics.jsonl", "report.json")


def scenarios() -> list[Path]:
    return sorted((ROOT / "scenarios").glob("*.yaml"))


def run_one(path: Path, seed: int) -> dict[str, str]:
    """sha256 of each output file of one run."""
    sys.path.insert(0, str(ROOT))
    from services.live.recording import write_run_files
    from services.live.run import LiveOptions, LiveRun
    from sim.engine import Simulation
    from sim.scenario import load
    from sim.views.timeline import Timeline

    sim = Simulation(load(str(path)), seed=seed, run_id="golden")
    timeline = Timeline(sim.model, sim.bus)
    with tempfile.TemporaryDirectory() as out:
        asyncio.run(LiveRun(sim, LiveOptions(), out).run())
        write_run_files(out, sim.report(), timeline)
        return {name: hashlib.sha256((Path(out) / name).read_bytes()).hexdigest() for name in FILES}


def compute() -> dict[str, dict[str, str]]:
    return {f"{p.stem}@{seed}": run_one(p, seed) for p in scenarios() for seed in SEEDS}


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        raise SystemExit("usage: python tests/golden/goldenkit.py --update")
    HASHES.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {HASHES}")
