"""Runs that ended: what the service keeps of them, what it finds on disk after a restart.

A run that ends (finished, stopped, failed) keeps only what ``GET /v1/runs/{id}`` shows and its
metrics collector (its last sample, so its series stay on ``/metrics``); its model, its event
buffer and its live sinks are let go, so memory stays flat however many runs have ended. Its
events are read back from ``events.jsonl`` for anyone who follows it later.

At start the service lists every run directory under ``runs_dir`` with a ``recording.json``:
ended ones with their state and report, killed ones as ``interrupted`` (the recording says how
far their event log went). At most ``runs_kept`` ended runs are kept: past that the oldest
are deleted, directory and all (docs/api.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

RUN_ID = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""A run id (a DNS label: it names a directory and an MQTT topic level)."""


@dataclass
class EndedRun:
    """A run that is over: its public view, and where its files are."""

    run_id: str
    out_dir: str
    info: dict[str, Any]
    collector: Any = None
    """Its Prometheus collector (still registered), or None."""
    ended: float = field(default=0.0)
    """When it ended (wall clock, for the retention order)."""

    @property
    def state(self) -> str:
        return str(self.info.get("state"))

    def public(self) -> dict[str, Any]:
        """What ``GET /v1/runs/{id}`` shows (as it was when the run ended)."""
        return self.info

    def forget(self) -> None:
        """Take its series off ``/metrics``."""
        if self.collector is not None:
            self.collector.unregister()
            self.collector = None

    def events(self, from_seq: int) -> Iterator[tuple[int, str]]:
        """Its events from *from_seq* on, read back from ``events.jsonl`` (complete lines only)."""
        from services.eventlog import complete_lines, open_events

        try:
            fh = open_events(self.out_dir)
        except OSError:
            return
        with fh:
            for seq, line in enumerate(complete_lines(fh), start=1):
                if not line.endswith("\n"):
                    return  # a torn last line of a killed run
                if seq >= from_seq:
                    yield seq, line[:-1]


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def from_disk(out_dir: str) -> EndedRun | None:
    """The run whose directory is *out_dir*, as its files tell it (None: not a run)."""
    run_id = os.path.basename(os.path.normpath(out_dir))
    recording = _read_json(os.path.join(out_dir, "recording.json"))
    if not RUN_ID.fullmatch(run_id) or not isinstance(recording, dict):
        return None
    report = _read_json(os.path.join(out_dir, "report.json"))
    source = recording.get("scenario") if isinstance(recording.get("scenario"), dict) else {}
    state = recording.get("state") or "interrupted"
    sim_time = recording.get("stopped_at")
    if sim_time is None:
        sim_time = recording.get("logged_to")
    info: dict[str, Any] = {
        "id": run_id, "scenario": os.path.basename(str(source.get("path") or "")) or "inline",
        "seed": recording.get("seed"), "state": state, "speed": None, "simTime": sim_time,
        "duration": None, "events": recording.get("logged_events"), "lag": 0.0,
        "faults": recording.get("faults") or [], "error": None, "warnings": {},
    }
    if isinstance(report, dict):
        info["simTime"] = report.get("sim_time", info["simTime"])
        info["events"] = report.get("events", info["events"])
        info["passed"] = report.get("passed")
        info["expect"] = report.get("expectations", [])
    try:
        ended = os.path.getmtime(os.path.join(out_dir, "recording.json"))
    except OSError:
        ended = 0.0
    return EndedRun(run_id, out_dir, info, ended=ended)


def scan(runs_dir: str) -> list[EndedRun]:
    """Every run under *runs_dir*, oldest first."""
    try:
        names = os.listdir(runs_dir)
    except OSError:
        return []
    found = [r for r in (from_disk(os.path.join(runs_dir, n)) for n in names) if r is not None]
    return sorted(found, key=lambda r: (r.ended, r.run_id))


def delete(run: EndedRun) -> None:
    """Forget *run* and delete its directory."""
    run.forget()
    shutil.rmtree(run.out_dir, ignore_errors=True)
