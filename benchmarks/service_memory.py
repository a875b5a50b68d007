"""Memory of the simulation service over many ended runs (issue 16: "memory is flat over 100
finished runs").

Runs N short scenarios one after another through the service's RunManager (as `POST /v1/runs`
does), unpaced, and reads the process's RSS after each. Prints MB per ended run over the last
N-10 runs (the first 10 warm the allocator and the imports) beside the RSS growth of the first
run (the baseline: what one run costs while it goes). Ends with one JSON line.

    .venv/bin/python benchmarks/service_memory.py [--runs 100] [--scenario shop-network-policies]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from prometheus_client import CollectorRegistry  # noqa: E402

from services.live.manager import RunManager  # noqa: E402
from services.settings import Settings  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def main(runs: int, scenario: str, kept: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        manager = RunManager(Settings(api_token="x" * 16, runs_dir=tmp, runs_kept=kept),
                             CollectorRegistry())
        before = rss_mb()
        series: list[float] = []
        started = time.perf_counter()
        for i in range(runs):
            handle = await manager.start(scenario=scenario, text=None, seed=i, speed=None,
                                         duration=None, run_id=f"m{i}")
            assert handle.task is not None
            await handle.task
            gc.collect()
            series.append(rss_mb())
        wall = time.perf_counter() - started
    warm = min(10, runs - 1)
    per_run = (series[-1] - series[warm]) / max(1, runs - 1 - warm)
    first = series[0] - before
    return {"benchmark": "service_memory", "runs": runs, "scenario": scenario, "runs_kept": kept,
            "rss_start_mb": round(before, 1), "rss_after_first_mb": round(series[0], 1),
            "rss_end_mb": round(series[-1], 1), "first_run_mb": round(first, 2),
            "mb_per_ended_run": round(per_run, 3),
            "ratio_per_run_to_first_run": round(per_run / first, 4) if first > 0 else None,
            "wall_s": round(wall, 2)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--scenario", default="shop-network-policies")
    parser.add_argument("--runs-kept", type=int, default=100)
    args = parser.parse_args()
    result = asyncio.run(main(args.runs, args.scenario, args.runs_kept))
    print(f"{result['runs']} runs of {result['scenario']}: RSS {result['rss_start_mb']} -> "
          f"{result['rss_end_mb']} MB; the first run {result['first_run_mb']} MB; then "
          f"{result['mb_per_ended_run']} MB per ended run")
    print(json.dumps(result))
