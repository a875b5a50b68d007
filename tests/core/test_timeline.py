"""The timeline the HTML report plots: it observes a run without changing it."""

from __future__ import annotations

import io

from simkit import ROOT

from sim.engine import Simulation
from sim.events import SimEvent
from sim.scenario import load
from sim.telemetry.jsonl import line_writer, parse_start
from sim.views import timeline
from sim.views.timeline import Timeline


def _run(path: str, with_timeline: bool) -> tuple[bytes, dict, dict]:
    loaded = load(path)
    sim = Simulation(loaded)
    tl = Timeline(sim.model, sim.bus) if with_timeline else None
    buf = io.StringIO()
    sim.bus.subscribe(SimEvent, line_writer(parse_start(loaded.spec.start_time), buf.write))
    report = sim.run()
    return buf.getvalue().encode(), (tl.to_dict() if tl else {}), report.figures


def test_timeline_follows_subnet_use_to_its_peak() -> None:
    """IP use over time reaches exactly the subnet's peak, and ends at its final use."""
    _, tl, figs = _run(str(ROOT / "scenarios" / "azure-cni-ip-exhaustion.yaml"), True)
    used = tl["subnets"]["aks-subnet"]["used"]
    assert max(used) == figs["subnet.aks-subnet.peakUsed"] == 249
    assert used[-1] == figs["subnet.aks-subnet.finalUsed"]
    assert tl["t"] == sorted(tl["t"]) and tl["t"][-1] == 7200.0
    assert max(tl["nodesReady"]) == figs["nodes.peak"]
    assert tl["podsPending"][-1] == figs["pods.pendingFinal"]


def test_timeline_does_not_change_the_event_log() -> None:
    """A subscriber that only observes: byte-identical events with and without it."""
    path = str(ROOT / "scenarios" / "node-failure-through-lb.yaml")
    with_tl, tl, figs = _run(path, True)
    without, _, _ = _run(path, False)
    assert with_tl == without
    spread = tl["backends"]["shoppers"]
    assert sum(spread.values()) > 0 and len(spread) >= 2
    assert round(max(spread.values()) / figs["flow.shoppers.requests"], 6) == figs[
        "flow.shoppers.maxPodShare"]


def test_thinning_keeps_the_peak() -> None:
    """Past MAX_POINTS, the point using the most addresses of each bucket is kept."""
    times = [float(i) for i in range(10_000)]
    samples = [((i % 97 if i != 4321 else 10_000,), 0, 0) for i in range(10_000)]
    t, s = timeline._thin(times, samples, 500)
    assert len(t) <= 500 and max(x[0][0] for x in s) == 10_000 and t == sorted(t)
