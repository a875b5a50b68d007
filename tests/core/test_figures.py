"""Run figures that need the timeline, the starting state included (issue 14).

- ``pods.pendingPeak``: the most pods waiting for a node at any instant of the run. The pods a
  scenario starts with run at time 0 (the cluster as it stands); the instant before they are
  placed is not part of the run.
- ``nodes.readyMin``: the fewest Ready nodes at any instant, time 0 included.
"""

from __future__ import annotations

from simkit import cluster_yaml, deployment, make_sim


def _figures(text: str) -> dict[str, float]:
    sim, _ = make_sim(text)
    return sim.run().figures


def test_starting_pods_that_fit_are_never_pending() -> None:
    """6 pods of 250m on 3 user nodes: all placed at time 0; nothing ever waits."""
    f = _figures(cluster_yaml(overlay=True, count=3, duration="5m")
                 + "workloads:" + deployment(replicas=6))
    assert f["pods.runningFinal"] >= 6
    assert f["pods.pendingPeak"] == 0


def test_pods_that_never_fit_count_from_time_0() -> None:
    """A pod asking more cpu than any node has is pending from the start: the peak is 1 (not
    the whole Deployment), and it is still pending at the end."""
    f = _figures(cluster_yaml(overlay=True, count=3, duration="5m")
                 + "workloads:" + deployment(replicas=4)
                 + deployment(name="huge", replicas=1, cpu="64"))
    assert f["pods.pendingFinal"] == 1
    assert f["pods.pendingPeak"] == 1


def test_the_lowest_ready_count_includes_the_start() -> None:
    """3 user nodes + 1 system node Ready at time 0, a scale to 5 at 0 s: the new VMs are Ready
    minutes later, so the lowest Ready count is the 4 of the start, not a later 5 or 6."""
    text = cluster_yaml(overlay=True, count=3, duration="20m") + """
operations:
  - {at: 0s, operation: scale, nodePool: user, count: 5}
"""
    f = _figures(text)
    assert f["nodes.readyFinal"] == 6
    assert f["nodes.readyMin"] == 4
