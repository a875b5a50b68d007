"""Pacing on a fast-forwarded event loop (looptime): "60x for 10 minutes" in milliseconds,
with exact assertions on where simulated time is at each wall instant."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from simkit import cluster_yaml, deployment

from services.live.run import LiveOptions, LiveRun
from sim.engine import Simulation
from sim.scenario import load_text

pytestmark = pytest.mark.looptime


def _sim(duration: str = "10m") -> Simulation:
    text = cluster_yaml(count=2, duration=duration) + "workloads:" + deployment(replicas=3)
    return Simulation(load_text(text, "<pacer>"))


async def test_a_60x_run_of_10_minutes_takes_10_wall_seconds(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    sim = _sim()
    live = LiveRun(sim, LiveOptions(speed=60, step=0.02), str(tmp_path))
    t0 = loop.time()
    seen: list[tuple[float, float]] = []

    async def watch() -> None:
        while live.state in ("pending", "running"):
            seen.append((loop.time() - t0, sim.now))
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    await live.run()
    elapsed = loop.time() - t0
    await watcher
    assert live.state == "finished" and sim.now == 600.0
    assert 10.0 <= elapsed <= 10.0 + 0.05  # one step of slack
    # at every look, simulated time was where 60x says, never ahead of it
    for wall, now in seen[1:]:
        assert now <= 60 * wall + 1e-6
        assert now >= 60 * (wall - 0.05) - 1e-6


async def test_a_run_that_keeps_up_reports_no_lag(tmp_path: Path) -> None:
    sim = _sim("5m")
    live = LiveRun(sim, LiveOptions(speed=30, step=0.02), str(tmp_path))
    lags: list[float] = []

    async def watch() -> None:
        while live.state in ("pending", "running"):
            lags.append(live.lag)
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch())
    await live.run()
    await watcher
    assert sim.now == 300.0 and len(lags) > 30
    assert max(lags) <= 30 * 0.02 + 1e-9  # at most one step behind
    lag = live.registry.get_sample_value("akssim_pacer_lag_seconds", {"run": sim.run_id})
    assert lag is not None and lag <= 30 * 0.02 + 1e-9


def test_the_slice_budget_follows_the_wall_time_of_the_last_slice(tmp_path: Path) -> None:
    """A heavy cluster gets small slices so the loop (HTTP, MQTT) is never starved: a slice
    that took 10x the target shrinks the budget 10x; quick slices that stopped early grow it."""
    from services.live.run import SLICE_EVENTS, SLICE_WALL

    live = LiveRun(_sim(), LiveOptions(), str(tmp_path))
    assert live._room() == SLICE_EVENTS
    live._adapt(10 * SLICE_WALL, reached=False)
    assert live._room() == SLICE_EVENTS // 10
    live._adapt(1000 * SLICE_WALL, reached=False)
    assert live._room() == SLICE_EVENTS // 10_000  # one slice took 1,000x: 1,000x fewer
    live._adapt(1000 * SLICE_WALL, reached=False)
    assert live._room() == 1  # never below one event (a traffic tick can take 10 ms alone)
    for _ in range(20):
        live._adapt(SLICE_WALL / 10, reached=False)
    assert live._room() == SLICE_EVENTS
