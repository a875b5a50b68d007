"""Same scenario + same seed = byte-identical event log; named streams keep subsystems apart."""

from __future__ import annotations

import io
import json
import random

from simkit import ROOT, cluster_yaml, deployment, make_sim

from sim.engine import Simulation
from sim.events import SimEvent
from sim.kernel.rng import Streams
from sim.scenario import load
from sim.telemetry.jsonl import line_writer, parse_start


def _jsonl(path: str, seed: int | None = None) -> bytes:
    loaded = load(path)
    sim = Simulation(loaded, seed=seed)
    buf = io.StringIO()
    sim.bus.subscribe(SimEvent, line_writer(parse_start(loaded.spec.start_time), buf.write))
    sim.run()
    return buf.getvalue().encode()


def test_same_scenario_and_seed_give_byte_identical_event_logs() -> None:
    """Two runs of the zone failure (random provisioning times, random expander) agree."""
    path = str(ROOT / "scenarios" / "zone-failure.yaml")
    first, second = _jsonl(path), _jsonl(path)
    assert len(first) > 10_000
    assert first == second


def test_another_seed_gives_another_log() -> None:
    """The seed matters (so the test above could fail)."""
    path = str(ROOT / "scenarios" / "zone-failure.yaml")
    assert _jsonl(path, seed=1) != _jsonl(path, seed=2)


def test_streams_are_independent_of_each_others_draws() -> None:
    """Drawing more from one stream leaves every other stream's sequence unchanged."""
    a, b = Streams(42), Streams(42)
    for _ in range(1000):
        a["traffic"].random()
    assert [a["chaos"].random() for _ in range(5)] == [b["chaos"].random() for _ in range(5)]
    assert Streams(42)["chaos"].random() != Streams(43)["chaos"].random()


def test_streams_do_not_depend_on_python_hash_seed() -> None:
    """A stream is seeded from 'seed/name' through SHA-512, never from hash()."""
    assert Streams(7)["scheduler"].random() == random.Random("7/scheduler").random()


FAULT = """
chaos:
  - at: 10m
    fault: node_failure
    nodePool: user
    count: 2
"""


def _fault_targets(replicas: int) -> tuple[str, int]:
    text = cluster_yaml(count=8, overlay=True) + "workloads:" + deployment(replicas=replicas) + FAULT
    sim, events = make_sim(text, seed=99)
    sim.run()
    targets = [e.event.target for e in events if e.event.reason == "FaultInjected"]
    scheduled = sum(1 for e in events if e.event.reason == "Scheduled")
    return targets[0], scheduled


def test_more_workload_draws_do_not_shift_which_nodes_fail() -> None:
    """Three times the pods (many more scheduler and pod-name draws) pick the same nodes."""
    small, scheduled_small = _fault_targets(4)
    large, scheduled_large = _fault_targets(40)
    assert scheduled_large > scheduled_small
    assert small == large


def test_report_json_does_not_depend_on_python_hash_seed(tmp_path) -> None:
    """report.json is byte-identical across processes (no set iteration order leaks in)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    aks_sim = str(Path(sys.executable).with_name("aks-sim"))
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        subprocess.run([aks_sim, "run", str(ROOT / "scenarios" / "upgrade-surge-no-ips.yaml"),
                        "--quiet", "--out", str(out)], check=True, timeout=120,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        outs.append((out / "report.json").read_bytes())
    assert outs[0] == outs[1]


def test_traffic_rooms_give_byte_identical_logs() -> None:
    """IPVS tables, CoreDNS queues and lookups run the same twice (no hidden order)."""
    for name in ("ipvs-least-connection-slow-canary", "coredns-overload-ndots"):
        path = str(ROOT / "scenarios" / f"{name}.yaml")
        first, second = _jsonl(path), _jsonl(path)
        assert len(first) > 10_000 and first == second, name


def test_new_faults_give_byte_identical_logs_and_do_not_shift_earlier_draws(tmp_path) -> None:
    """The chaos scenario runs the same twice, and so does zone_loss (its draws come from the
    ``chaos-network`` stream): with the loss added at 10m, every event before 10m is the same
    as without it, and the run differs after (so the check could fail)."""
    path = ROOT / "scenarios" / "dns-outage-and-zone-partition.yaml"
    plain = _jsonl(str(path))
    assert len(plain) > 10_000 and plain == _jsonl(str(path))
    lossy = tmp_path / "lossy.yaml"
    lossy.write_text(path.read_text().replace(
        "expect:\n", "  - {at: 10m, fault: zone_loss, loss: 0.3, duration: 1m}\nexpect:\n", 1))
    with_loss = _jsonl(str(lossy))
    assert with_loss == _jsonl(str(lossy))

    def early(log: bytes) -> list[bytes]:
        return [x for x in log.splitlines() if json.loads(x)["data"]["sim_time"] < 600]

    assert len(early(plain)) > 100 and early(plain) == early(with_loss)
    assert plain != with_loss
