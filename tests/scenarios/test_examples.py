"""Every example scenario runs and meets its own `expect:` block (scenarios are tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.engine import Simulation
from sim.scenario import load

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_the_examples_the_issue_asks_for_exist() -> None:
    """Exhaustion, surge without IPs, kubenet past 400, Overlay, node failure, zone failure."""
    names = {p.stem for p in SCENARIOS}
    assert {"azure-cni-ip-exhaustion", "upgrade-surge-no-ips", "kubenet-600-nodes",
            "overlay-no-exhaustion", "node-failure-timeline", "zone-failure"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_meets_its_expectations(path: Path) -> None:
    """Run to the end; every expectation holds."""
    loaded = load(str(path))
    assert loaded.spec.expect, "an example without expectations tests nothing"
    report = Simulation(loaded).run()
    failed = [f"{r.expectation}: got {r.actual:g}" for r in report.expectations if not r.ok]
    assert failed == []
