"""What a run leaves for a replay (``recording.json``) and for ``aks-sim report``
(``report.json``, ``timeline.json``): the same files whether the CLI or the service ran it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Recording:
    """What a replay needs: the scenario, the seed, and every fault injected while the run went,
    with the simulated instant it was applied at (``call``) and, when it was scheduled ahead,
    the instant it takes effect (``at``)."""

    run_id: str
    seed: int
    source: dict[str, Any]
    """``{"path": ..., "text": ...}``: the scenario as it was when the run started."""
    faults: list[dict[str, Any]] = field(default_factory=list)
    stopped_at: float | None = None
    state: str | None = None
    """How the run ended (finished, stopped, failed); None while it goes, or if it was killed."""
    logged_to: float = 0.0
    logged_events: int = 0
    """The event log's first ``logged_events`` lines, up to simulated ``logged_to``, are on
    disk: what ``replay --check`` compares when the run was killed before it ended."""

    FORMAT = "akssim-recording/1"

    def add(self, call: float, at: float | None, fault: Any) -> None:
        """Record one applied fault."""
        self.faults.append({"call": call, "at": at,
                            "fault": fault.model_dump(mode="json", by_alias=True, exclude_none=True)})

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.FORMAT, "run_id": self.run_id, "seed": self.seed,
                "scenario": self.source, "faults": self.faults, "stopped_at": self.stopped_at,
                "state": self.state, "logged_to": self.logged_to,
                "logged_events": self.logged_events}

    def write(self, out_dir: str) -> None:
        """Write ``recording.json`` (atomically: a reader never sees half a file)."""
        path = os.path.join(out_dir, "recording.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)


def write_run_files(out_dir: str, report: Any, timeline: Any) -> None:
    """A finished run's ``report.json`` and ``timeline.json`` (for ``aks-sim report``'s plots):
    the same files whether the CLI or the service ran it."""
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(report.to_dict(), fh, indent=2)
        fh.write("\n")
    with open(os.path.join(out_dir, "timeline.json"), "w", encoding="utf-8") as fh:
        json.dump(timeline.to_dict(), fh, separators=(",", ":"))
