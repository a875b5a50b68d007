"""Live runs of the service: start, list, stop, inject, and follow their events.

Each run is a :class:`services.runner.LiveRun` task on the service's event loop, with its own
output directory (``runs_dir/<run_id>``: events, metrics, report, recording) and a bounded
buffer of its latest events for clients that follow it over HTTP (Server-Sent Events).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry
from pydantic import TypeAdapter, ValidationError

from services.mqtt import MqttSettings
from services.pacer import speed_problem
from services.runner import LiveOptions, LiveRun, ShellMetrics
from services.settings import Settings
from services.validation import Loader, LoadTimeout, timeout_issue
from sim.engine import Simulation
from sim.errors import Issue, ScenarioError
from sim.scenario.schema import MAX_SEED, Fault
from sim.scenario.units import MAX_DURATION

log = structlog.get_logger("akssim.runs")

FAULT = TypeAdapter(Fault)
MAX_DEPTH = 32
"""The deepest nesting of lists and objects a request body or an MQTT command may have (a
NetworkPolicy in a fault needs about 10)."""
MAX_HORIZON = 86400.0
"""The longest dry run of a fault (``horizon``): a simulated day."""

RUN_ID = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class RunError(Exception):
    """A request about runs cannot be honoured: *status* is the HTTP status to answer."""

    def __init__(self, status: int, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.issues = issues or []


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; expected a finite number")


def _depth(value: Any) -> int:
    """How deeply *value* nests lists and objects (iteratively: any depth is safe)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            stack += [(v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def parse_json_object(payload: bytes | str, what: str) -> dict[str, Any]:
    """A JSON object from a request body or an MQTT payload, whatever was sent.

    NaN and Infinity (which Python's json accepts) are refused, and so are integers of more
    than 4,300 digits and nesting deeper than :data:`MAX_DEPTH`.

    Raises:
        RunError: 422, saying where the text is wrong and what was expected.
    """
    try:
        data = json.loads(payload, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RunError(422, f"{what}: not JSON: {exc.msg} (line {exc.lineno}, column "
                            f"{exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise RunError(422, f"{what}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise RunError(422, f"{what}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # NaN, Infinity, an integer of more than 4,300 digits
        raise RunError(422, f"{what}: {str(exc).split(';')[0]}") from None
    if not isinstance(data, dict):
        raise RunError(422, f'{what}: expected a fault object, e.g. {{"fault": "zone_failure", '
                            f'"zone": "1"}}, found {type(data).__name__}')
    if _depth(data) > MAX_DEPTH:
        raise RunError(422, f"{what}: nested more than {MAX_DEPTH} levels deep")
    return data


def _found(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool | None) else (
        "an object" if isinstance(value, dict) else "a list" if isinstance(value, list)
        else type(value).__name__)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def _fault_problem(error: Any, data: dict[str, Any]) -> str:
    """``field: what was expected, found what`` (without pydantic's union tag and prefixes)."""
    loc = [str(x) for x in error["loc"]]
    if loc and loc[0] == str(data.get("fault")):
        loc = loc[1:]  # the discriminator's tag, not a key of the body
    message = str(error["msg"]).removeprefix("Value error, ").replace("Input should be ",
                                                                        "expected ", 1)
    ctx = error.get("ctx") or {}
    if error["type"] == "union_tag_invalid":
        return f"fault: expected one of {ctx.get('expected_tags')}, found {_found(ctx.get('tag'))}"
    if error["type"] == "union_tag_not_found":
        return "fault: required (which fault: node_failure, zone_failure, pod_kill...)"
    if "got " not in message:
        message += f", found {_found(error.get('input'))}"
    return f"{'.'.join(loc) or 'fault'}: {message}"


def parse_fault(data: dict[str, Any]) -> Any:
    """A live fault from a request (HTTP body or MQTT command): the scenario's fault model,
    with ``at`` a delay from now (default: now).

    Raises:
        RunError: 422, naming each field that is wrong, what was found and what was expected.
    """
    if _depth(data) > MAX_DEPTH:
        raise RunError(422, f"not a fault: nested more than {MAX_DEPTH} levels deep")
    try:
        return FAULT.validate_python({**data, "at": data.get("at", 0)})
    except ValidationError as exc:
        problems = "; ".join(_fault_problem(e, data) for e in exc.errors(include_url=False))
        raise RunError(422, f"not a fault: {problems}") from None


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
        self.runs: dict[str, RunHandle] = {}
        self.loader = Loader(settings.load_timeout)

    def active(self) -> int:
        """Runs not finished yet."""
        return sum(1 for r in self.runs.values() if r.live.state in ("pending", "running"))

    async def load(self, name: str | None, text: str | None) -> tuple[Any, str, str]:
        """The scenario by name (from ``scenarios_dir``) or inline; (loaded, label, path).

        Loading runs in a worker process (:mod:`services.validation`), never on the event
        loop, and within ``load_timeout`` wall seconds."""
        if (name is None) == (text is None):
            raise RunError(422, "give either scenario (a name from GET /v1/scenarios) or yaml")
        if name is not None:
            path = self._scenario_path(name)
            text = path.read_text(encoding="utf-8")
            label, file, base = name, str(path), str(path.parent)
        else:
            label, file, base = "inline", "<request>", str(self.settings.scenarios_dir)
        try:
            return await self.loader.load(text or "", file, base), label, file
        except ScenarioError as exc:
            raise RunError(422, "the scenario is invalid", exc.issues) from None
        except LoadTimeout:
            issue = timeout_issue(file, self.settings.load_timeout)
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
                    speed: float | None, duration: float | None, run_id: str | None) -> RunHandle:
        """Create and start a run."""
        if self.active() >= self.settings.max_runs:
            raise RunError(429, f"{self.settings.max_runs} runs are going already (max_runs)")
        run_id = run_id or f"run-{secrets.token_hex(4)}"
        if not RUN_ID.fullmatch(run_id):
            raise RunError(422, f"runId: expected lowercase letters, digits and '-' (at most 63), "
                                f"found {run_id!r}")
        if run_id in self.runs:
            raise RunError(409, f"a run {run_id!r} exists already")
        loaded, label, path = await self.load(scenario, text)
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
        source = {"path": path, "text": text if text is not None else
                  open(path, encoding="utf-8").read()}  # noqa: SIM115
        live = LiveRun(sim, opts, out_dir, registry=self.registry, shell=self.shell, source=source)
        handle = RunHandle(live, speed, label)
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

    def _write_report(self, handle: RunHandle) -> None:
        if handle.error is not None:
            return
        try:
            handle.report = report = handle.live.sim.report()
            path = os.path.join(handle.live.out_dir, "report.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(report.to_dict(), fh, indent=2)
        except Exception as exc:  # noqa: BLE001
            log.error("report_failed", run_id=handle.run_id, error=repr(exc))

    def get(self, run_id: str) -> RunHandle:
        """The run *run_id* (404 when there is none)."""
        handle = self.runs.get(run_id)
        if handle is None:
            raise RunError(404, f"no run {run_id!r}")
        return handle

    async def stop(self, run_id: str) -> RunHandle:
        """Stop a run at its next slice boundary and wait for it to end."""
        handle = self.get(run_id)
        handle.live.stop()
        if handle.task is not None:
            await asyncio.wait([handle.task], timeout=30)
        return handle

    async def inject(self, run_id: str, fault: Any, delay: float | None) -> float:
        """Apply *fault* to a going run; the simulated instant it applied."""
        from sim.errors import FaultError

        handle = self.get(run_id)
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
        from services.dryrun import dry_run
        from sim.errors import FaultError

        handle = self.get(run_id)
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

    async def follow(self, run_id: str, from_seq: int) -> AsyncIterator[tuple[int, str]]:
        """Every event from *from_seq* on as (seq, CloudEvent JSON), until the run ends."""
        handle = self.get(run_id)
        seq = max(from_seq, 1)
        while True:
            if seq < handle.first_seq:
                raise RunError(410, f"events before seq {handle.first_seq} are no longer kept "
                                    f"(max_events_kept); the event log has them all")
            index = seq - handle.first_seq
            while index < len(handle.events):
                yield seq, handle.events[index]
                seq += 1
                index += 1
            if handle.live.state not in ("pending", "running"):
                return
            handle.changed.clear()
            await handle.changed.wait()

    async def close(self) -> None:
        """Stop every run (service shutdown)."""
        self.loader.close()
        for handle in self.runs.values():
            handle.live.stop()
        tasks = [h.task for h in self.runs.values() if h.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=30)
