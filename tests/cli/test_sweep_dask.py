"""`aks-sim sweep --scheduler`: a real Dask scheduler and two workers on loopback run the same
study; the table equals the local run's."""

from __future__ import annotations

import csv
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from services.sweeps import sweep as sw
from sim.scenario.study import load_study

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1 (stopped afterwards)."""
    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    dask = str(BIN / "dask")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", port,
                               "--no-dashboard"], stdout=subprocess.DEVNULL,
                              stderr=open(logs / "scheduler.log", "w"))]  # noqa: SIM115
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--name", f"w{i}"],
                stdout=subprocess.DEVNULL, stderr=open(logs / f"worker{i}.log", "w"),  # noqa: SIM115
                cwd=str(logs)))
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in r.items() if not k.endswith("wall_s")}
                for r in csv.DictReader(fh)]


def test_dask_cluster_gives_the_local_table(scheduler: str, tmp_path: Path) -> None:
    """The example study on two Dask workers: the same deterministic columns as locally,
    and both workers took runs."""
    study_file = ROOT / "studies" / "subnet-vs-maxpods.yaml"
    result = subprocess.run([str(BIN / "aks-sim"), "sweep", str(study_file), "--scheduler",
                             scheduler, "--out", str(tmp_path / "dask")], capture_output=True,
                            text=True, cwd=ROOT, check=False, timeout=300)
    assert result.returncode == 0, result.stderr
    local = sw.sweep(load_study(str(study_file)), str(tmp_path / "local"), sw.local_runner(2))
    dask_rows = _read(tmp_path / "dask" / "results.csv")
    assert dask_rows == _read(Path(local.results))
    assert len(dask_rows) == 27 and {r["status"] for r in dask_rows} == {"ok"}
    with Client(scheduler, timeout="5s") as client:
        transitions = client.run(lambda dask_worker: dask_worker.state.transition_counter)
    assert len(transitions) == 2 and all(n > 0 for n in transitions.values())


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    """No scheduler at the address: exit 2 and one line, no traceback, nothing written."""
    result = subprocess.run([str(BIN / "aks-sim"), "sweep", "studies/subnet-vs-maxpods.yaml",
                             "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT,
                            check=False, timeout=120)
    assert result.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
