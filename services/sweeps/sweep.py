"""``aks-sim sweep``: a study's runs on the local cores or a Dask cluster, as results.csv (the
command's flags and exit codes are in :mod:`services.cli.run`).

The runs are :func:`sim.study.run_one`, a pure function; this shell plans them (one per grid
point and seed), hands them to an executor, times them (the ``*_wall_s`` columns), writes each
row as it arrives, and at the end rewrites ``results.csv`` in plan order and renders
``report.html``. Started again on the same directory, a sweep skips the runs already in
``results.csv``.

Local runs use :class:`concurrent.futures.ProcessPoolExecutor`: one run is one process's worth
of sequential work, a pool of processes is all the scheduling a laptop needs, and it costs no
dependency or server. ``--scheduler`` sends the same function to an existing Dask cluster
(DESIGN.md: the project never grows its own scheduler).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # imported lazily at run time: `aks-sim --help` need not load the model
    from sim.scenario import LoadedScenario, LoadedStudy

Row = dict[str, Any]
STATUS_OK, STATUS_FAILED, STATUS_INVALID = "ok", "failed", "invalid"  # as in sim.study

RESULTS, REPORT, EVENTS_DIR = "results.csv", "report.html", "events"
FIXED_BEFORE = ("status", "passed")
FIXED_AFTER = ("events", "warnings", "error", "run_wall_s")


@dataclass(frozen=True)
class Task:
    """One planned run: a grid point and a seed (and, once loaded, the scenario or why this
    combination is invalid)."""

    run: str
    point: int
    """Index of the grid point in ``study.points``."""
    params: dict[str, Any]
    seed: int
    scenario: LoadedScenario | None = None
    """The study's variant of its scenario (see :func:`with_scenarios`)."""
    invalid: str | None = None
    """Why the combination is invalid, when it is (then ``scenario`` is None)."""
    keep_events: bool = False
    """Return the run's event log (gzipped JSON lines) with its row."""


def columns(study: LoadedStudy) -> list[str]:
    """The columns of results.csv for *study*, in order."""
    return ["run", *study.columns, "seed", *FIXED_BEFORE, *study.figures, *FIXED_AFTER]


def plan(study: LoadedStudy) -> list[Task]:
    """Every run of *study*: points in grid order, each once per seed (scenarios not loaded
    yet: :func:`with_scenarios` loads them as the runs are handed out)."""
    width = len(str(len(study.points)))
    return [Task(f"p{i + 1:0{width}d}-s{seed}", i, dict(point), seed)
            for i, point in enumerate(study.points) for seed in study.seeds]


def with_scenarios(tasks: Iterable[Task], study: LoadedStudy) -> Iterator[Task]:
    """*tasks* with their scenario variants, loaded one grid point at a time as the tasks are
    taken: the first runs start while later points are still being loaded, and memory holds
    one variant, not the grid's."""
    from sim import ScenarioError

    current: tuple[int, LoadedScenario | None, str | None] = (-1, None, None)
    for task in tasks:
        if task.point != current[0]:
            try:
                current = (task.point, study.variant(study.points[task.point]), None)
            except ScenarioError as exc:
                errors = [x for x in exc.issues if x.severity == "error"]
                current = (task.point, None,
                           "; ".join(f"{x.path}: {x.message}" for x in errors))
        yield replace(task, scenario=current[1], invalid=current[2])


EVENTS_KEY = "_events"
"""Where a row carries its gzipped event log back from the worker (never a CSV column)."""


def execute(scenario: Any, params: dict[str, Any], seed: int, figures: list[str],
            run_id: str = "sweep", keep_events: bool = False) -> Row:
    """:func:`run_one`, timed: what a worker runs (a local process or a Dask worker).

    With *keep_events*, the run's event log (the JSON lines of ``aks-sim run``) comes back
    gzipped with the row: one run's log at a time, never the study's.
    """
    from sim import run_one

    lines: list[str] = []
    observe = _event_writer(lines.append) if keep_events else None
    started = time.perf_counter()
    row = run_one(scenario, params, seed, figures, run_id=run_id, observe=observe)
    row["run_wall_s"] = round(time.perf_counter() - started, 6)
    if keep_events:
        row[EVENTS_KEY] = gzip.compress("".join(lines).encode(), mtime=0)
    return row


def _event_writer(write: Callable[[str], Any]) -> Callable[[Any], None]:
    def observe(sim: Any) -> None:
        from sim import SimEvent
        from sim.telemetry import line_writer, parse_start

        sim.bus.subscribe(SimEvent, line_writer(parse_start(sim.spec.start_time), write))

    return observe


# --- executors: each yields (task, row) as runs finish ------------------------------------

Runner = Callable[[Iterable[Task], list[str]], Iterator[tuple[Task, Row]]]
"""Takes the tasks (an iterator: each is loaded as it is taken) and the figures; yields
(task, row) as runs finish."""


def _invalid_row(task: Task, figures: list[str]) -> Row:
    from sim import failed_row

    return {**task.params, "seed": task.seed,
            **failed_row(task.invalid or "", figures, STATUS_INVALID), "run_wall_s": 0.0}


def _crashed_row(task: Task, figures: list[str], exc: BaseException) -> Row:
    """The row of a run whose worker failed (a dead process, a lost Dask worker)."""
    from sim import describe_failure as describe
    from sim import failed_row

    return {**task.params, "seed": task.seed, **failed_row(describe(exc), figures),
            "run_wall_s": None}


def run_inline(tasks: Iterable[Task], figures: list[str]) -> Iterator[tuple[Task, Row]]:
    """One run after the other in this process (``--workers 1``)."""
    for task in tasks:
        if task.scenario is None:
            yield task, _invalid_row(task, figures)
        else:
            yield task, execute(task.scenario, task.params, task.seed, figures, task.run,
                                task.keep_events)


def local_runner(workers: int) -> Runner:
    """Runs on *workers* local processes."""
    if workers == 1:
        return run_inline

    def run(tasks: Iterable[Task], figures: list[str]) -> Iterator[tuple[Task, Row]]:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # fork: workers start at once with the modules already imported; this
        # shell has no threads for fork to trip over. Elsewhere, the platform's default.
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                   initializer=_ignore_interrupts)
        try:
            futures = {}
            for task in tasks:
                if task.scenario is None:
                    yield task, _invalid_row(task, figures)
                    continue
                futures[pool.submit(execute, task.scenario, task.params, task.seed,
                                    figures, task.run, task.keep_events)] = task
            for future in as_completed(futures):
                task = futures[future]
                try:
                    yield task, future.result()
                except Exception as exc:  # the worker died or could not take the task
                    yield task, _crashed_row(task, figures, exc)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return run


def _ignore_interrupts() -> None:
    """Ctrl-C is the parent's to handle (it stops the sweep cleanly); a terminal sends it to
    the workers too, which would otherwise die printing tracebacks mid-run."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def dask_runner(address: str) -> Runner:
    """Runs on the Dask cluster whose scheduler is at *address*.

    Raises:
        SweepError: when Dask is not installed or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SweepError("--scheduler needs Dask: pip install 'aks-sim[dask]'") from None
    try:
        client = Client(address, timeout="5s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {address}: {exc}") from None

    def run(tasks: Iterable[Task], figures: list[str]) -> Iterator[tuple[Task, Row]]:
        futures: dict[Any, Task] = {}
        try:
            for task in tasks:
                if task.scenario is None:
                    yield task, _invalid_row(task, figures)
                    continue
                futures[client.submit(execute, task.scenario, task.params, task.seed, figures,
                                      task.run, task.keep_events, pure=False)] = task
            for future in as_completed(futures, loop=client.loop):
                task = futures[future]
                try:
                    yield task, future.result()
                except Exception as exc:  # a worker died (KilledWorker) or the task failed
                    yield task, _crashed_row(task, figures, exc)
        finally:
            client.cancel(list(futures))
            client.close()

    return run


class SweepError(Exception):
    """A problem the user can fix (a bad flag, an unreachable scheduler, a foreign CSV)."""


# --- results.csv -----------------------------------------------------------------------------

def cell(value: Any) -> str:
    """A CSV cell: empty for None, true/false, repr for floats (exact and the same everywhere),
    compact JSON for lists and mappings."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def row_key(row: dict[str, str], params: list[str]) -> tuple[str, ...]:
    """What identifies a run across restarts: its parameter values and seed."""
    return (*(row[p] for p in params), row["seed"])


def read_results(path: str, header: list[str]) -> list[dict[str, str]]:
    """The rows of an earlier (maybe interrupted) sweep at *path*; [] when there is none.

    Raises:
        SweepError: when the file belongs to a different study (other columns).
    """
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        return []
    lines = list(csv.reader(text.splitlines(keepends=True)))
    if not lines:
        return []
    if lines[0] != header:
        raise SweepError(f"{path} holds the results of a different study (columns "
                         f"{', '.join(lines[0][:8])}{', ...' if len(lines[0]) > 8 else ''}); "
                         "expected the columns of this one: use another --out, or remove it")
    if not text.endswith("\n"):
        lines = lines[:-1]  # the sweep was stopped in the middle of writing that row
    return [dict(zip(header, r, strict=True)) for r in lines[1:] if len(r) == len(header)]


def write_results(path: str, header: list[str], rows: Iterable[dict[str, str]]) -> None:
    """Replace *path* with *rows* at once (a reader never sees half a file)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


# --- progress --------------------------------------------------------------------------------

class Progress:
    """``aks-sim sweep``'s bar over the runs (see :mod:`services.progress`)."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        from services.progress import Bar

        self.bar = Bar(total, stream, enabled)
        self.total, self.enabled = total, enabled
        self.done = self.failed = 0

    def update(self, failed: bool) -> None:
        """Count one finished run and redraw."""
        self.done += 1
        self.failed += failed
        self.bar.draw(self.done, f"{self.done}/{self.total} runs, {self.failed} failed,", force=True)

    def close(self) -> None:
        """End the bar's line."""
        self.bar.close()


# --- the sweep -------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What a sweep did."""

    ran: int
    skipped: int
    failed: int
    results: str
    rows: list[dict[str, str]]


def sweep(study: LoadedStudy, out_dir: str, runner: Runner, *, retry_failed: bool = False,
          keep_events: bool = False, progress: Progress | None = None) -> Outcome:
    """Run every run of *study* not already in ``out_dir/results.csv``; rewrite it in plan
    order at the end. Interrupted, the rows written so far stay (and are skipped next time).
    With *keep_events*, each run's event log is ``out_dir/events/<run>.jsonl.gz``.
    """
    header = columns(study)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, RESULTS)
    params = study.columns
    done = {row_key(r, params): r for r in read_results(path, header)
            if not (retry_failed and r["status"] != STATUS_OK)}
    tasks = [replace(t, keep_events=keep_events) for t in plan(study)]
    if keep_events:
        os.makedirs(os.path.join(out_dir, EVENTS_DIR), exist_ok=True)
    todo = [t for t in tasks if row_key(_cells(t.run, t.params, t.seed), params) not in done]
    write_results(path, header, done.values())
    progress = progress or Progress(len(todo), sys.stderr, False)
    progress.total = len(todo)
    failed = 0
    with open(path, "a", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        for task, row in runner(with_scenarios(todo, study), study.figures):
            log = row.pop(EVENTS_KEY, None)
            if log is not None:  # before the row: a row in results.csv has its log
                _write_atomic(os.path.join(out_dir, EVENTS_DIR, f"{task.run}.jsonl.gz"), log)
            cells = {k: cell(row.get(k)) for k in header} | {"run": task.run}
            done[row_key(cells, params)] = cells
            writer.writerow(cells)
            fh.flush()
            bad = row.get("status") != STATUS_OK
            failed += bad
            progress.update(bad)
    progress.close()
    order = {row_key(_cells(t.run, t.params, t.seed), params): i for i, t in enumerate(tasks)}
    rows = sorted(done.values(), key=lambda r: order.get(row_key(r, params), len(order)))
    write_results(path, header, rows)
    return Outcome(len(todo), len(tasks) - len(todo), failed, path, rows)


def _write_atomic(path: str, data: bytes) -> None:
    with open(f"{path}.tmp", "wb") as fh:
        fh.write(data)
    os.replace(f"{path}.tmp", path)


def _cells(run: str, params: dict[str, Any], seed: int) -> dict[str, str]:
    return {"run": run, **{k: cell(v) for k, v in params.items()}, "seed": cell(seed)}


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def study_meta(study: LoadedStudy) -> dict[str, Any]:
    """What the report needs to know of the study (``sweep.json``)."""
    return {"name": study.name, "description": study.spec.description, "study": study.file,
            "scenario": study.base.file, "parameters": study.columns,
            "paths": [render(p.path) for p in study.parameters], "seeds": study.seeds,
            "figures": study.figures, "outcome": study.outcome}


def render(path: tuple[str | int, ...]) -> str:
    """A scenario path as written in a study."""
    from sim.scenario import render_path

    return render_path(path)


def write_report(study: LoadedStudy, outcome: Outcome, out_dir: str) -> str:
    from services.reports.html import render_sweep

    meta = study_meta(study)
    with open(os.path.join(out_dir, "sweep.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    path = os.path.join(out_dir, REPORT)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render_sweep(meta, outcome.rows))
    return path


__all__ = ["STATUS_FAILED", "STATUS_INVALID", "STATUS_OK", "Task", "columns", "cpu_count",
           "dask_runner", "execute", "local_runner", "plan", "read_results", "sweep",
           "with_scenarios", "write_report"]
