"""``aks-sim replay RUN_DIR``: run a recorded live run again, faults and all, as fast as the CPU
allows. Same scenario text, seed and faults at the same simulated instants: the same event
stream, byte for byte."""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.live.recording import Recording
from sim import FaultError, ScenarioError, SimEvent, Simulation
from sim.scenario import Bundle, Fault, load_bundle, load_text
from sim.telemetry import line_writer, parse_start

FAULT = TypeAdapter(Fault)


class ReplayError(ValueError):
    """The recording cannot be replayed; the message says where and why."""


def read_recording(run_dir: str) -> dict[str, Any]:
    """The recording of *run_dir* (``recording.json``), checked."""
    path = os.path.join(run_dir, "recording.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read the run's recording: {exc.strerror} (expected the "
                          f"directory of a run made by `aks-sim run` or the service)") from None
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("format") != Recording.FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ReplayError(f"{path}:1:1: format: expected {Recording.FORMAT!r}, found {found!r}")
    return data


def load_recorded(source: dict[str, Any]) -> Any:
    """The recorded scenario: from its bundle (text and every referenced file), or, for a
    recording made before bundles, with references read beside its recorded path.

    Raises:
        ScenarioError: it no longer loads.
    """
    path = source.get("path") or "<recorded scenario>"
    files = source.get("files")
    if isinstance(files, dict):
        return load_bundle(Bundle(source.get("text", ""), path, files))
    return load_text(source.get("text", ""), path, os.path.dirname(path) or ".")


def replay(run_dir: str, out_dir: str) -> Simulation:
    """Replay the run recorded in *run_dir*, writing ``events.jsonl`` into *out_dir*.

    Raises:
        ReplayError: the recording is unreadable, its scenario no longer loads, or a recorded
            fault does not apply any more.
    """
    data = read_recording(run_dir)
    source = data.get("scenario") or {}
    try:
        loaded = load_recorded(source)
    except ScenarioError as exc:
        first = exc.issues[0].render() if exc.issues else "invalid"
        raise ReplayError(f"the recorded scenario no longer loads: {first}") from None
    sim = Simulation(loaded, seed=int(data["seed"]), run_id=str(data["run_id"]))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "events.jsonl"), "w", encoding="utf-8") as events:
        sim.bus.subscribe(SimEvent, line_writer(parse_start(loaded.spec.start_time), events.write))
        for i, entry in enumerate(data.get("faults", [])):
            try:
                fault = FAULT.validate_python(entry["fault"])
            except (ValidationError, KeyError, TypeError) as exc:
                raise ReplayError(f"recording.json: faults[{i}]: not a fault: {exc}") from None
            sim.advance_to(float(entry["call"]))
            try:
                sim.inject(fault, at=entry.get("at"))
            except FaultError as exc:
                raise ReplayError(f"recording.json: faults[{i}] at {entry['call']}s: {exc}") from None
        sim.advance_to(replay_end(data, sim.end))
    return sim


def logged_prefix(data: dict[str, Any]) -> int | None:
    """How many lines of the original event log a replay can be checked against: all of them
    (None) for a run that ended, finished or stopped; the ``logged_events`` the recording last
    saw on disk for one that was killed (no ``state``)."""
    if data.get("state") is not None or data.get("stopped_at") is not None:
        return None
    return int(data.get("logged_events") or 0)


def replay_end(data: dict[str, Any], end: float) -> float:
    """The simulated instant to replay to: the end, where a stopped run stopped, or how far a
    killed run's log went."""
    if data.get("stopped_at") is not None:
        return float(data["stopped_at"])
    if logged_prefix(data) is not None:
        return min(end, float(data.get("logged_to") or 0.0))
    return end
