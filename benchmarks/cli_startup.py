"""How long `aks-sim --help` (and `--version`) take to answer, against bare `python -c pass`.

Each command is started N times as a new process, alternating with the baseline so both see
the same machine load; the figure is the median wall time. Target (issue 11): `aks-sim --help`
under 0.3 s, so the CLI imports its heavy modules (numpy, the model, httpx, FastAPI) only in
the subcommands that need them. Ends with one JSON line.

    .venv/bin/python benchmarks/cli_startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _time(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    script = shutil.which("aks-sim", path=os.path.dirname(sys.executable)) or "aks-sim"
    commands = {"baseline": [sys.executable, "-c", "pass"], "help": [script, "--help"],
                "version": [script, "--version"], "run_help": [script, "run", "--help"]}
    for cmd in commands.values():  # warm the page cache and the .pyc files
        _time(cmd)
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(_time(cmd))
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, value in med.items():
        print(f"{name:<9} median {value * 1000:7.1f} ms  ({value / med['baseline']:.2f}x python -c pass)")
    print(json.dumps({"benchmark": "cli_startup", "runs": args.runs,
                      **{f"{k}_s": round(v, 4) for k, v in med.items()},
                      "help_ratio": round(med["help"] / med["baseline"], 3),
                      "help_under_0_3_s": med["help"] < 0.3}))


if __name__ == "__main__":
    main()
