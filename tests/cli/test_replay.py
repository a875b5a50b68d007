"""A live run with faults injected while it goes, and its replay: byte-identical event logs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from pydantic import TypeAdapter

from services.live.replay import replay
from services.live.run import LiveOptions, LiveRun
from sim.engine import Simulation
from sim.scenario import load
from sim.scenario.schema import Fault

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "ingress-shop.yaml"
FAULT = TypeAdapter(Fault)


async def _live(out: Path, *, stop_at: float | None = None) -> LiveRun:
    loaded = load(str(SCENARIO))
    sim = Simulation(loaded, run_id="rec")
    live = LiveRun(sim, LiveOptions(), str(out),
                   source={"path": str(SCENARIO), "text": SCENARIO.read_text()})

    async def chaos() -> None:
        while sim.now < 130:
            await asyncio.sleep(0)
        applied = await live.inject(FAULT.validate_python(
            {"fault": "node_failure", "at": 0, "nodePool": "user", "fixedBy": "reimage"}))
        assert 130 <= applied < sim.end
        while sim.now < 400:
            await asyncio.sleep(0)
        await live.inject(FAULT.validate_python({"fault": "pod_kill", "at": 0, "deployment": "shop/cart",
                                                 "count": 1}), delay=45.5)
        if stop_at is not None:
            while sim.now < stop_at:
                await asyncio.sleep(0)
            live.stop()

    task = asyncio.create_task(chaos())
    await live.run()
    await task
    return live


async def test_replay_of_a_live_run_with_injected_faults_is_byte_identical(tmp_path: Path) -> None:
    live = await _live(tmp_path / "live")
    assert live.state == "finished" and len(live.recording.faults) == 2
    original = (tmp_path / "live" / "events.jsonl").read_bytes()
    assert b'"reason":"FaultInjected"' in original
    replay(str(tmp_path / "live"), str(tmp_path / "again"))
    assert (tmp_path / "again" / "events.jsonl").read_bytes() == original
    # and the faults changed the run: without them the log differs
    plain = Simulation(load(str(SCENARIO)), run_id="rec")
    plain_events: list = []
    from sim.events import FaultInjected
    plain.bus.subscribe(FaultInjected, plain_events.append)
    plain.run()
    assert len(plain_events) < original.count(b'"reason":"FaultInjected"')


async def test_a_stopped_run_replays_up_to_where_it_stopped(tmp_path: Path) -> None:
    live = await _live(tmp_path / "live", stop_at=700)
    assert live.state == "stopped" and live.recording.stopped_at is not None
    assert live.recording.stopped_at < live.sim.end
    original = (tmp_path / "live" / "events.jsonl").read_bytes()
    done = subprocess.run([sys.executable, "-m", "services.cli", "replay", str(tmp_path / "live"),
                           "--check", "--quiet", "--out", str(tmp_path / "again")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr
    assert "byte for byte" in done.stderr
    assert (tmp_path / "again" / "events.jsonl").read_bytes() == original


def test_replay_errors_say_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "recording.json").write_text('{"format": "other"}')
    done = subprocess.run([sys.executable, "-m", "services.cli", "replay", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "format: expected 'akssim-recording/1', found 'other'" in done.stderr
    assert "Traceback" not in done.stderr
