"""Live runs of the service: start, list, stop, inject, and follow their events.

Each run is a :class:`services.live.run.LiveRun` task on the service's event loop, with its own
output directory (``runs_dir/<run_id>``: events, metrics, report, recording) and a bounded
buffer of its latest events for clients that follow it over HTTP (Server-Sent Events).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from services.live import history
from services.live.history import RUN_ID, EndedRun
from services.live.metrics import ShellMetrics
from services.live.pacer import speed_problem
from services.live.recording import write_run_files
from services.live.requests import RunError
from services.live.run import LiveOptions, LiveRun
from services.live.validation import Loader, LoadTimeout, timeout_issue
from services.mqtt.publisher import MqttSettings
from services.settings import Settings
from sim import ScenarioError, Simulation, Timeline
from sim.scenario import MAX_DURATION, MAX_SEED, Bundle, read_bundle

log = structlog.get_logger("akssim.runs")

MAX_HORIZON = 86400.0
"""The longest dry run of a fault (``horizon``): a simulated day."""

_SHOWN_FILE = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_.]{0,127}")
"""A client's file name for messages and the run list (a base name, never a path)."""


FOLLOW_BATCH = 1000
"""Events at most in one chunk of the event stream."""


@dataclass
class RunHandle:
    """One run of the service and what clients can see of it."""

    live: LiveRun
    speed: float | None
    scenario: str
    task: asyncio.Task[Any] | None = None
    error: str | None = None
    events: deque[str] = field(default_factory=deque)
    first_seq: int = 1
    """seq of ``events[0]``."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    timeline: Any = None
    """The run's :class:`sim.views.timeline.Timeline` (``timeline.json`` for ``aks-sim report``)."""
    report: Any = None
    """The end-of-run report, built once when the run ends (None while it goes or if it failed)."""

    @property
    def run_id(self) -> str:
        return self.live.sim.run_id

    def public(self) -> dict[str, Any]:
        """What ``GET /v1/runs/{id}`` shows."""
        sim, live = self.live.sim, self.live
        out: dict[str, Any] = {
            "id": self.run_id, "scenario": self.scenario, "seed": sim.seed, "state": live.state,
            "speed": self.speed, "simTime": sim.now, "duration": sim.end,
            "events": sim.bus.published, "lag": round(live.lag, 3),
            "faults": live.recording.faults, "error": self.error,
            "warnings": live.sampler.warnings(),
        }
        report = self.report
        if report is None and live.state in ("finished", "stopped") and self.error is None:
            report = sim.report()  # ended, report not written yet (the publisher is closing)
        if report is not None:
            out["passed"] = report.passed
            out["expect"] = [r.to_dict() for r in report.expectations]
        return out


class RunManager:
    """Every run of the service."""

    def __init__(self, settings: Settings, registry: CollectorRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self.shell = ShellMetrics(registry)
        self.runs: dict[str, RunHandle | EndedRun] = {
            r.run_id: r for r in history.scan(str(settings.runs_dir))}
        """Going runs (RunHandle) and ended ones (EndedRun), those of earlier starts included."""
        self.loader = Loader(settings.load_timeout)
        self._retain()

    def active(self) -> int:
        """Runs not finished yet."""
        return sum(1 for r in self.runs.values() if isinstance(r, RunHandle))

    def _retain(self) -> None:
        """Keep at most ``runs_kept`` ended runs: delete the oldest past that."""
        ended = sorted((r for r in self.runs.values() if isinstance(r, EndedRun)),
                       key=lambda r: (r.ended, r.run_id))
        for run in ended[:max(0, len(ended) - self.settings.runs_kept)]:
            del self.runs[run.run_id]
            history.delete(run)
            log.info("run_deleted", run_id=run.run_id, why="runs_kept")

    def delete(self, run_id: str) -> None:
        """Forget an ended run and delete its directory (409 while it goes)."""
        run = self.get(run_id)
        if not isinstance(run, EndedRun):
            raise RunError(409, f"run {run_id!r} is {run.live.state}: stop it before deleting it")
        del self.runs[run_id]
        history.delete(run)

    def _going(self, run_id: str, what: str) -> RunHandle:
        run = self.get(run_id)
        if not isinstance(run, RunHandle):
            raise RunError(409, f"run {run_id!r} is {run.state}: {what} a going run")
        return run

    async def load(self, name: str | None, text: str | None, files: dict[str, str] | None = None,
                   file: str | None = None) -> tuple[Any, str, Bundle]:
        """The scenario by name (from ``scenarios_dir``) or inline with the *files* it references
        (a bundle: the service reads nothing a client names); (loaded, label, bundle).

        Loading runs in a worker process (:mod:`services.live.validation`), never on the event
        loop, and within ``load_timeout`` wall seconds."""
        if (name is None) == (text is None):
            raise RunError(422, "give either scenario (a name from GET /v1/scenarios) or yaml")
        try:
            if name is not None:
                path = self._scenario_path(name)
                bundle = read_bundle(str(path), root=str(self.settings.scenarios_dir))
                label = name
            else:
                shown = file if file and _SHOWN_FILE.fullmatch(file) else "<request>"
                bundle = Bundle(text or "", shown, dict(files or {}))
                label = shown if shown != "<request>" else "inline"
            loaded = await self.loader.load(bundle.text, bundle.file, bundle.base, bundle.files)
            return loaded, label, bundle
        except ScenarioError as exc:
            raise RunError(422, "the scenario is invalid", exc.issues) from None
        except LoadTimeout:
            issue = timeout_issue(file or name or "<request>", self.settings.load_timeout)
            raise RunError(422, "the scenario is invalid", [issue]) from None

    def _scenario_path(self, name: str) -> Any:
        if (len(name) > 200 or not re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9_.]*", name)
                or ".." in name):
            raise RunError(404, f"no scenario named {name!r:.80}")
        base = self.settings.scenarios_dir
        for candidate in (base / name, base / f"{name}.yaml"):
            try:
                if candidate.is_file():
                    return candidate
            except OSError:  # a name the file system refuses (too long...)
                continue
        raise RunError(404, f"no scenario named {name!r} in {base}")

    async def start(self, *, scenario: str | None, text: str | None, seed: int | None,
                    speed: float | None, duration: float | None, run_id: str | None,
                    files: dict[str, str] | None = None, file: str | None = None) -> RunHandle:
        """Create and start a run."""
        if self.active() >= self.settings.max_runs:
            raise RunError(429, f"{self.settings.max_runs} runs are going already (max_runs)")
        if run_id is None:
            run_id = f"run-{secrets.token_hex(4)}"
            while self._taken(run_id):
                run_id = f"run-{secrets.token_hex(4)}"
        if not RUN_ID.fullmatch(run_id):
            raise RunError(422, f"runId: expected lowercase letters, digits and '-' (at most 63), "
                                f"found {run_id!r}")
        if self._taken(run_id):
            raise RunError(409, f"a run {run_id!r} exists already (in the run list or as "
                                f"{os.path.join(self.settings.runs_dir, run_id)}): pick another "
                                f"id, or delete it first")
        loaded, label, bundle = await self.load(scenario, text, files, file)
        if speed is not None and (problem := speed_problem(speed)) is not None:
            raise RunError(422, f"speed: {problem}")
        if seed is not None and not 0 <= seed <= MAX_SEED:
            raise RunError(422, f"seed: expected an integer from 0 to {MAX_SEED}, found {seed}")
        sim = Simulation(loaded, seed=seed, run_id=run_id)
        if duration is not None:
            if not 0 < duration <= MAX_DURATION:
                raise RunError(422, f"duration: expected a positive duration of at most 7d, "
                                    f"found {duration:g}s")
            sim.end = min(sim.end, duration)
        opts = LiveOptions(speed=speed, sample_interval=self.settings.sample_interval,
                           mqtt=self.mqtt())
        out_dir = os.path.join(self.settings.runs_dir, run_id)
        source = {"path": bundle.file, "text": bundle.text, "files": bundle.files}
        live = LiveRun(sim, opts, out_dir, registry=self.registry, shell=self.shell, source=source)
        handle = RunHandle(live, speed, label, timeline=Timeline(sim.model, sim.bus))
        keep = self.settings.max_events_kept

        def buffer(_: object, line: str) -> None:
            if len(handle.events) >= keep:
                handle.events.popleft()
                handle.first_seq += 1
            handle.events.append(line)
            handle.changed.set()

        live.line_listeners.append(buffer)  # the run's own encoding of each event
        self.runs[run_id] = handle
        handle.task = asyncio.create_task(self._run(handle), name=f"run-{run_id}")
        return handle

    def _taken(self, run_id: str) -> bool:
        """Whether *run_id* names a run, listed or on disk (its files are never overwritten)."""
        return run_id in self.runs or os.path.lexists(os.path.join(self.settings.runs_dir, run_id))

    def mqtt(self) -> MqttSettings | None:
        """The broker settings runs publish with (None: no broker)."""
        s = self.settings
        if not s.mqtt:
            return None
        return MqttSettings.from_url(s.mqtt, username=s.mqtt_username, password=s.mqtt_password)

    async def _run(self, handle: RunHandle) -> None:
        try:
            await handle.live.run()
        except asyncio.CancelledError:
            handle.live.state = "stopped"
            raise
        except Exception as exc:  # noqa: BLE001 - a failing run must not take the service down
            handle.live.state = "failed"
            handle.error = f"{type(exc).__name__}: {exc}"
            log.error("run_failed", run_id=handle.run_id, error=handle.error)
        finally:
            self._write_report(handle)
            handle.changed.set()
            self._ended(handle)

    def _ended(self, handle: RunHandle) -> None:
        """Keep only the ended run's public view and collector (its model is let go)."""
        info = handle.public()
        if "passed" not in info and handle.report is not None:
            info["passed"] = handle.report.passed
        collector = handle.live.collector if handle.live.collector.registered else None
        self.runs[handle.run_id] = EndedRun(handle.run_id, handle.live.out_dir, info, collector,
                                            ended=time.time())
        self._retain()

    def _write_report(self, handle: RunHandle) -> None:
        if handle.error is not None:
            return
        try:
            handle.report = handle.live.sim.report()
            write_run_files(handle.live.out_dir, handle.report, handle.timeline)
        except Exception as exc:  # noqa: BLE001
            log.error("report_failed", run_id=handle.run_id, error=repr(exc))

    def get(self, run_id: str) -> RunHandle | EndedRun:
        """The run *run_id* (404 when there is none)."""
        handle = self.runs.get(run_id)
        if handle is None:
            raise RunError(404, f"no run {run_id!r}")
        return handle

    async def stop(self, run_id: str) -> RunHandle | EndedRun:
        """Stop a run at its next slice boundary and wait for it to end."""
        handle = self.get(run_id)
        if isinstance(handle, EndedRun):
            return handle  # over already: nothing to stop
        handle.live.stop()
        if handle.task is not None:
            await asyncio.wait([handle.task], timeout=30)
        return self.runs[run_id]

    async def inject(self, run_id: str, fault: Any, delay: float | None) -> float:
        """Apply *fault* to a going run; the simulated instant it applied."""
        from sim import FaultError

        handle = self._going(run_id, "faults need")
        if handle.live.state not in ("pending", "running"):
            raise RunError(409, f"run {run_id!r} is {handle.live.state}: faults need a going run")
        try:
            return await asyncio.wait_for(handle.live.inject(fault, delay), 30)
        except FaultError as exc:
            raise RunError(409, f"the fault cannot apply: {exc}") from None
        except RuntimeError as exc:
            raise RunError(409, str(exc)) from None

    async def apply(self, run_id: str, fault: Any) -> dict[str, Any]:
        """Inject a parsed live fault (:func:`parse_fault`); what a client is told back."""
        delay = float(fault.at)
        applied = await self.inject(run_id, fault, delay or None)
        return {"run": run_id, "fault": fault.fault, "appliedAt": applied,
                "takesEffectAt": applied + delay}

    async def dry_run(self, run_id: str, fault: Any, horizon: float) -> dict[str, Any]:
        """What *fault* would do to the run from now on, simulated on a fork (in a thread)."""
        from services.live.dryrun import dry_run
        from sim import FaultError

        handle = self._going(run_id, "a dry run needs")
        live = handle.live
        if live.state not in ("pending", "running"):
            raise RunError(409, f"run {run_id!r} is {live.state}: a dry run needs a going run")
        if not 0 < horizon <= MAX_HORIZON:
            raise RunError(422, f"horizon: expected a positive duration of at most 1d, found "
                                f"{horizon:g}s")
        recording, now = live.recording.to_dict(), live.sim.now
        try:
            result = await asyncio.to_thread(dry_run, recording, now, fault, horizon)
        except FaultError as exc:
            raise RunError(409, f"the fault cannot apply: {exc}") from None
        return {"run": run_id, "dryRun": True, **result}

    async def follow(self, run_id: str, from_seq: int, idle: float | None = None,
                     batch: int = FOLLOW_BATCH) -> AsyncIterator[list[tuple[int, str]]]:
        """Every event from *from_seq* on as (seq, CloudEvent JSON), until the run ends: in
        lists of what is already there (at most *batch* each), and an empty list after each
        *idle* wall seconds without an event (None: never)."""
        handle = self.get(run_id)
        seq = max(from_seq, 1)
        if isinstance(handle, EndedRun):
            chunk: list[tuple[int, str]] = []
            for item in handle.events(seq):
                chunk.append(item)
                if len(chunk) >= batch:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
            return
        while True:
            if seq < handle.first_seq:
                raise RunError(410, f"events before seq {handle.first_seq} are no longer kept "
                                    f"(max_events_kept); the event log has them all")
            index = seq - handle.first_seq
            if index < len(handle.events):
                end = min(len(handle.events), index + batch)
                lines = itertools.islice(handle.events, index, end)
                chunk = list(zip(itertools.count(seq), lines, strict=False))
                seq += len(chunk)
                yield chunk
                continue  # (older events may have gone meanwhile: checked above)
            if handle.live.state not in ("pending", "running"):
                return
            handle.changed.clear()
            if idle is None:
                await handle.changed.wait()
            else:
                try:
                    await asyncio.wait_for(handle.changed.wait(), idle)
                except TimeoutError:
                    yield []

    async def close(self) -> None:
        """Stop every run (service shutdown)."""
        self.loader.close()
        going = [h for h in self.runs.values() if isinstance(h, RunHandle)]
        for handle in going:
            handle.live.stop()
        tasks = [h.task for h in going if h.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=30)
