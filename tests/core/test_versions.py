"""Version-dependent defaults follow ``cluster.kubernetesVersion`` (issue 14).

- node-monitor-grace-period: 40 s, 50 s from Kubernetes 1.32 (kubernetes/kubernetes PR
  #126287, fixing #121793; AKS-NETWORKING.md section 8).
- kubelet's search-list limits: 6 domains / 256 characters before 1.26, 32 / 2,048 from 1.26
  (ExpandedDNSConfig, KEP-2595; dns-pod-service.md).
"""

from __future__ import annotations

import pytest
from simkit import cluster_yaml, make_sim

from sim import dns, versions

FAIL_AT = 600.0


def _not_ready_after(version: str, timings: str = "") -> float:
    """Seconds from a node failure at 10 min to its NodeNotReady, on *version*."""
    text = cluster_yaml(overlay=True, count=2, duration="30m").replace(
        "cluster:\n", f"cluster:\n  kubernetesVersion: \"{version}\"\n  {timings}\n")
    text += """
chaos:
  - {at: 10m, fault: node_failure, nodePool: user, fixedBy: reboot}
"""
    sim, events = make_sim(text)
    sim.advance_to(FAIL_AT + 120)
    [t] = [e.sim_time for e in events if e.event.reason == "NodeNotReady"]
    return t - FAIL_AT


@pytest.mark.parametrize(("version", "grace"), [("1.30", 40.0), ("1.31", 40.0),
                                                ("1.32", 50.0), ("1.33", 50.0)])
def test_the_grace_period_follows_the_version(version: str, grace: float) -> None:
    """The node goes NotReady at the first 5 s node-monitor check at least *grace* after its
    last status: 40 s before 1.32, 50 s from 1.32."""
    assert versions.node_monitor_grace_period(version) == grace
    waited = _not_ready_after(version)
    assert grace <= waited < grace + 5  # at the next 5 s node-monitor check


def test_a_grace_period_the_scenario_sets_wins_over_the_version() -> None:
    assert _not_ready_after("1.32", "timings: {nodeMonitorGracePeriod: 40s}") < 50.0


def test_search_limits_follow_the_version() -> None:
    assert dns.search_limits("1.25") == dns.SearchLimits(6, 256)
    assert dns.search_limits("1.26") == dns.SearchLimits(32, 2048)
