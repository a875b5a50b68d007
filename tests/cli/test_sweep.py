"""`aks-sim sweep` on the local cores: the same table however it runs, failures as rows,
and a sweep started again skips what it already did."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from services.sweeps import sweep as sw
from sim.kernel.errors import ModelError
from sim.scenario import load
from sim.scenario.study import load_study
from sim.study import run_one

ROOT = Path(__file__).resolve().parents[2]
EXHAUSTION = ROOT / "scenarios" / "azure-cni-ip-exhaustion.yaml"


def _study(tmp_path: Path, body: str = "", name: str = "study.yaml") -> Any:
    path = tmp_path / name
    path.write_text(f"scenario: {EXHAUSTION}\n" + (body or """
parameters:
  - {path: "cluster.nodePools[user].maxPods", name: maxPods, values: [30, 50, 70]}
seeds: 2
figures: [nodes.peak, subnet.aks-subnet.peakUsed, first.SubnetIsFull, count.FailedScheduling]
outcome: nodes.peak
"""))
    return load_study(str(path))


def _deterministic(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if not k.endswith("wall_s")} for r in rows]


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_run_one_is_pure_and_returns_figures() -> None:
    """The same scenario, parameters and seed give the same row; figures as asked."""
    loaded = load(str(EXHAUSTION))
    figures = ["nodes.peak", "subnet.aks-subnet.peakUsed", "first.SubnetIsFull",
               "count.SubnetIsFull", "first.NodeNotReady", "flow.none.p99"]
    a = run_one(loaded, {"x": 1}, 7, figures)
    b = run_one(loaded, {"x": 1}, 7, figures)
    assert a == b
    assert a["status"] == "ok" and a["passed"] is True and a["x"] == 1 and a["seed"] == 7
    assert a["nodes.peak"] == 8 and a["subnet.aks-subnet.peakUsed"] == 249
    assert a["count.SubnetIsFull"] >= 1 and a["first.SubnetIsFull"] > 0
    assert a["first.NodeNotReady"] is None  # never happened: an empty cell
    assert a["flow.none.p99"] is None  # not a figure of this run


def test_two_processes_give_the_table_of_one(tmp_path: Path) -> None:
    """Local runs on 2 processes and inline: identical deterministic columns, plan order."""
    study = _study(tmp_path)
    one = sw.sweep(study, str(tmp_path / "one"), sw.local_runner(1))
    two = sw.sweep(study, str(tmp_path / "two"), sw.local_runner(2))
    assert one.ran == two.ran == 6 and one.failed == two.failed == 0
    a, b = _read(Path(one.results)), _read(Path(two.results))
    assert _deterministic(a) == _deterministic(b)
    assert [r["run"] for r in a] == ["p1-s1", "p1-s2", "p2-s1", "p2-s2", "p3-s1", "p3-s2"]
    assert list(a[0]) == sw.columns(study)
    assert all(float(r["run_wall_s"]) > 0 for r in a + b)
    assert [r["nodes.peak"] for r in a] == ["8", "8", "5", "5", "4", "4"]


def _failing_start(bad: int, how: str):  # noqa: ANN202
    from sim.model import Model

    original = Model.start

    def start(self: Model) -> None:
        if self.spec.cluster.node_pools[1].max_pods == bad:
            if how == "exit":
                os._exit(3)  # the worker process dies
            raise ModelError(f"maxPods {bad} broke the model")
        original(self)

    return start


def test_a_failing_run_is_a_row_with_its_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that raises is a failed row (with where it broke); the others run."""
    monkeypatch.setattr("sim.model.Model.start", _failing_start(50, "raise"))
    out = sw.sweep(_study(tmp_path), str(tmp_path / "out"), sw.local_runner(2))
    rows = _read(Path(out.results))
    failed = [r for r in rows if r["status"] == "failed"]
    assert [r["maxPods"] for r in failed] == ["50", "50"] and out.failed == 2
    assert failed[0]["error"].startswith("ModelError: maxPods 50 broke the model (at ")
    assert failed[0]["nodes.peak"] == "" and failed[0]["passed"] == ""
    assert {r["status"] for r in rows if r["maxPods"] != "50"} == {"ok"}


def test_a_dead_worker_does_not_crash_the_sweep(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker process that dies makes failed rows; --retry-failed runs them again."""
    study = _study(tmp_path)
    monkeypatch.setattr("sim.model.Model.start", _failing_start(70, "exit"))
    out = sw.sweep(study, str(tmp_path / "out"), sw.local_runner(2))
    rows = _read(Path(out.results))
    assert len(rows) == 6
    dead = [r for r in rows if r["maxPods"] == "70"]
    assert all(r["status"] == "failed" and "BrokenProcessPool" in r["error"] for r in dead)
    monkeypatch.undo()
    again = sw.sweep(study, str(tmp_path / "out"), sw.local_runner(2), retry_failed=True)
    assert again.ran == out.failed and again.failed == 0
    clean = sw.sweep(study, str(tmp_path / "clean"), sw.local_runner(1))
    assert _deterministic(again.rows) == _deterministic(clean.rows)


def test_an_invalid_combination_is_a_row(tmp_path: Path) -> None:
    """Values valid one by one but not together (overlapping subnets) make invalid rows."""
    scenario = tmp_path / "two-subnets.yaml"
    scenario.write_text("""
duration: 10m
cluster:
  networkPlugin: azure
  vnet:
    managed: false
    addressSpace: [10.10.0.0/16]
    subnets:
      - {name: a, addressPrefix: 10.10.1.0/24}
      - {name: b, addressPrefix: 10.10.3.0/24}
  nodePools:
    - {name: system, mode: System, vmSize: Standard_D4s_v3, count: 2, vnetSubnet: a}
    - {name: user, vmSize: Standard_D4s_v3, count: 2, vnetSubnet: b}
""")
    study_file = tmp_path / "s.yaml"
    study_file.write_text(f"""scenario: {scenario}
parameters:
  - {{path: "cluster.vnet.subnets[a].addressPrefix", name: a, values: [10.10.1.0/24, 10.10.2.0/24]}}
  - {{path: "cluster.vnet.subnets[b].addressPrefix", name: b, values: [10.10.2.0/24, 10.10.3.0/24]}}
figures: [nodes.peak]
""")
    study = load_study(str(study_file))
    out = sw.sweep(study, str(tmp_path / "out"), sw.local_runner(2))
    by = {(r["a"], r["b"]): r for r in out.rows}
    bad = by[("10.10.2.0/24", "10.10.2.0/24")]
    assert bad["status"] == "invalid" and "overlap" in bad["error"]
    assert [r["status"] for k, r in by.items() if k != ("10.10.2.0/24", "10.10.2.0/24")] == [
        "ok"] * 3


def _interrupted_after(n: int) -> sw.Runner:
    def run(tasks: Iterable[sw.Task], figures: list[str]):  # noqa: ANN202
        for i, item in enumerate(sw.run_inline(tasks, figures)):
            if i == n:
                raise KeyboardInterrupt
            yield item
    return run


def test_an_interrupted_sweep_resumes_without_redoing_runs(tmp_path: Path) -> None:
    """Rows written before Ctrl-C stay; started again, only the rest run, same table."""
    study = _study(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        sw.sweep(study, str(out), _interrupted_after(4))
    assert len(_read(out / "results.csv")) == 4
    seen: list[str] = []

    def counting(tasks: Iterable[sw.Task], figures: list[str]):  # noqa: ANN202
        for task in tasks:
            seen.append(task.run)
            yield from sw.run_inline([task], figures)

    resumed = sw.sweep(study, str(out), counting)
    assert resumed.ran == 2 and resumed.skipped == 4 and len(seen) == 2
    clean = sw.sweep(study, str(tmp_path / "clean"), sw.local_runner(2))
    assert _deterministic(_read(out / "results.csv")) == _deterministic(clean.rows)
    assert sw.sweep(study, str(out), counting).ran == 0  # nothing left to do


def test_a_row_cut_in_half_is_run_again(tmp_path: Path) -> None:
    """A sweep killed while writing a row leaves half a line: it is dropped and redone."""
    study = _study(tmp_path)
    out = tmp_path / "out"
    sw.sweep(study, str(out), sw.local_runner(1))
    text = (out / "results.csv").read_text()
    (out / "results.csv").write_text(text[: text.rindex("\n", 0, -1) + 12])
    again = sw.sweep(study, str(out), sw.local_runner(1))
    assert again.ran == 1 and len(again.rows) == 6


def test_results_of_another_study_are_not_overwritten(tmp_path: Path) -> None:
    """A results.csv with other columns stops the sweep with a clear error (exit 2)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("run,other,seed\np1-s1,3,1\n")
    with pytest.raises(sw.SweepError, match="different study"):
        sw.sweep(_study(tmp_path), str(out), sw.local_runner(1))
    study_file = tmp_path / "study.yaml"
    result = subprocess.run([sys.executable, "-m", "services.cli", "sweep", str(study_file),
                             "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                            check=False)
    assert result.returncode == 2 and "different study" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "results.csv").read_text() == "run,other,seed\np1-s1,3,1\n"


def test_progress_bar_counts_runs_and_failures() -> None:
    """On a terminal the bar shows done/total runs and failures; elsewhere nothing."""
    stream = io.StringIO()
    bar = sw.Progress(3, stream, enabled=True)
    bar.update(False)
    bar.update(True)
    bar.close()
    assert "2/3 runs, 1 failed" in stream.getvalue()
    quiet = io.StringIO()
    sw.Progress(3, quiet, enabled=False).update(False)
    assert quiet.getvalue() == ""


def test_cli_sweeps_the_example_study(tmp_path: Path) -> None:
    """`aks-sim sweep studies/subnet-vs-maxpods.yaml --workers 2` writes its table, exit 0."""
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "services.cli", "sweep",
                             "studies/subnet-vs-maxpods.yaml", "--workers", "2", "--out",
                             str(out)], capture_output=True, text=True, cwd=ROOT, check=False,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    rows = _read(out / "results.csv")
    study = load_study(str(ROOT / "studies" / "subnet-vs-maxpods.yaml"))
    assert len(rows) == len(study.points) * len(study.seeds)
    assert {r["status"] for r in rows} == {"ok"}
    assert "27 runs (0 already in results.csv), 0 failed" in result.stdout


@pytest.mark.parametrize("flags,message", [
    (["--workers", "0"], "expected at least 1"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--workers is for local runs"),
    (["--scheduler", "localhost:8786"], "expected an address such as tcp://host:8786"),
])
def test_bad_flags_are_clear_errors(flags: list[str], message: str, tmp_path: Path) -> None:
    """Bad flags exit 2 with one line that says what is wrong."""
    result = subprocess.run([sys.executable, "-m", "services.cli", "sweep",
                             "studies/subnet-vs-maxpods.yaml", "--out", str(tmp_path / "o"),
                             *flags], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_memory_stays_bounded_over_many_runs() -> None:
    """A worker running run after run does not keep the models: frozen objects come back."""
    import gc

    loaded = load(str(EXHAUSTION))
    run_one(loaded, {}, 1, [])
    gc.collect()
    before = len(gc.get_objects())
    for seed in range(2, 8):
        run_one(loaded, {}, seed, [])
    gc.collect()
    assert gc.get_freeze_count() == 0
    assert len(gc.get_objects()) < before * 1.1


def test_ctrl_c_stops_cleanly_and_the_sweep_resumes(tmp_path: Path) -> None:
    """SIGINT to the whole process group (as a terminal sends it) mid-sweep: exit 130, no
    traceback, the finished rows kept; started again, it runs only the rest."""
    import signal
    import time

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "services.cli", "sweep", "studies/zone-failure-toleration.yaml",
           "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        results = out / "results.csv"
        if results.exists() and len(results.read_text().splitlines()) >= 4:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    kept = _read(out / "results.csv")
    assert 3 <= len(kept) < 30 and {r["status"] for r in kept} == {"ok"}
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{30 - len(kept)} runs ({len(kept)} already in results.csv)" in again.stdout
    assert len(_read(out / "results.csv")) == 30


def test_event_logs_only_when_asked(tmp_path: Path) -> None:
    """--keep-events: each run's log, gzipped, is the log `aks-sim run` writes for the same
    scenario, seed and run id; without it, rows only."""
    import gzip

    from sim.engine import Simulation
    from sim.events import SimEvent
    from sim.telemetry.jsonl import line_writer, parse_start

    study = _study(tmp_path)
    kept = sw.sweep(study, str(tmp_path / "kept"), sw.local_runner(2), keep_events=True)
    logs = sorted(p.name for p in (tmp_path / "kept" / "events").iterdir())
    assert logs == sorted(f"{r['run']}.jsonl.gz" for r in kept.rows)
    variant = study.variant(study.points[1])
    sim = Simulation(variant, seed=2, run_id="p2-s2")
    lines: list[str] = []
    sim.bus.subscribe(SimEvent, line_writer(parse_start(variant.spec.start_time), lines.append))
    sim.run()
    assert gzip.decompress((tmp_path / "kept" / "events" / "p2-s2.jsonl.gz").read_bytes()
                           ).decode() == "".join(lines)
    plain = sw.sweep(study, str(tmp_path / "plain"), sw.local_runner(2))
    assert not (tmp_path / "plain" / "events").exists()
    assert _deterministic(plain.rows) == _deterministic(kept.rows)


def test_scenarios_are_loaded_as_runs_are_handed_out(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning loads nothing; each grid point's variant is loaded once, when its first run
    is taken (so runs start before the whole grid is loaded)."""
    study = _study(tmp_path)
    loaded: list[dict[str, Any]] = []
    real = type(study).variant
    monkeypatch.setattr(type(study), "variant",
                        lambda self, point: loaded.append(point) or real(self, point))
    tasks = sw.plan(study)
    assert loaded == [] and len(tasks) == 6
    stream = sw.with_scenarios(tasks, study)
    first = next(stream)
    assert first.scenario is not None and loaded == [study.points[0]]
    rest = list(stream)
    assert loaded == study.points and all(t.scenario is not None for t in rest)
