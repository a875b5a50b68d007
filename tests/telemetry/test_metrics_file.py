"""metrics.jsonl as changes (issue 18): a sample line holds only what changed, the export
rebuilds every series at every sample exactly as the full snapshots did, and a file of format 1
(every series every time) still exports."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simkit import make_sim

from sim.telemetry.metrics import Histogram, Sampler
from sim.telemetry.openmetrics import SampleWriter, export

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 1, tzinfo=UTC)


def _full_line(t: float, snapshot: Any) -> str:
    """A format-1 sample line: every series, as aks-sim wrote them before."""
    fams: dict[str, list[Any]] = {}
    for fam, series in snapshot:
        rows = []
        for labels, value in series:
            if isinstance(value, Histogram):
                rows.append([list(labels), [[le, n] for le, n in value.buckets], value.sum,
                             value.count])
            else:
                rows.append([list(labels), value])
        if rows:
            fams[fam.name] = rows
    return json.dumps({"t": t, "f": fams}, separators=(",", ":")) + "\n"


def test_changes_export_like_full_snapshots_and_are_smaller() -> None:
    """The zone-failure scenario (nodes going NotReady, pods evicted and rescheduled): sampled
    every 30 s for 40 minutes, written as changes and as full snapshots, exported by both
    routes; the OpenMetrics text is identical and the changes file a fraction of the size."""
    sim, _ = make_sim((ROOT / "scenarios" / "zone-failure.yaml").read_text())
    sampler = Sampler(sim.model, sim.bus)
    changes = io.StringIO()
    writer = SampleWriter(changes.write, "r1", "2026-01-01T00:00:00Z", 30.0)
    head = changes.getvalue()
    full = [head.replace("akssim-metrics/2", "akssim-metrics/1")]
    for i in range(1, 81):
        t = 30.0 * i
        sim.advance_to(t)
        snapshot = list(sampler.sample())
        writer.write(t, snapshot)
        full.append(_full_line(t, snapshot))
    by_changes = "".join(export(io.StringIO(changes.getvalue()), START))
    by_full = "".join(export(io.StringIO("".join(full)), START))
    assert by_changes == by_full and by_changes.count("\n") > 10_000
    assert len(changes.getvalue()) * 5 < len("".join(full))
    quiet = [json.loads(line) for line in changes.getvalue().splitlines()[1:]]
    assert any(set(q) == {"t", "f"} and len(q["f"]) <= 3 for q in quiet)  # a quiet minute


def test_a_series_that_goes_away_is_gone_from_the_export() -> None:
    """A pod deleted between two samples has no point after it (``g`` in the line)."""
    sim, _ = make_sim((ROOT / "scenarios" / "zone-failure.yaml").read_text())
    sampler = Sampler(sim.model, sim.bus)
    buf = io.StringIO()
    writer = SampleWriter(buf.write, "r1", "2026-01-01T00:00:00Z", 60.0)
    seen: list[set[str]] = []
    for i in range(1, 41):
        sim.advance_to(60.0 * i)
        snapshot = list(sampler.sample())
        writer.write(60.0 * i, snapshot)
        seen.append({labels[1] for fam, series in snapshot if fam.name == "kube_pod_status_phase"
                     for labels, _ in series})
    lines = [json.loads(line) for line in buf.getvalue().splitlines()[1:]]
    assert any("g" in line for line in lines)
    om = "".join(export(io.StringIO(buf.getvalue()), START))
    last_ts = f"{START.timestamp() + 2400:.3f}"
    at_end = {line.split('pod="', 1)[1].split('"', 1)[0] for line in om.splitlines()
              if line.startswith("kube_pod_status_phase{") and line.endswith(last_ts)}
    assert at_end == seen[-1] and seen[0] - seen[-1]
