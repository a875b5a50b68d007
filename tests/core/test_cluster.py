"""Node lifecycle against AKS-NETWORKING.md section 8 (node-monitor-grace-period,
DefaultTolerationSeconds, AKS node auto-repair)."""

from __future__ import annotations

from simkit import cluster_yaml, deployment, make_sim

FAIL_AT = 600.0


def _failure(extra: str = "", fixed_by: str = "reboot", duration: str = "") -> str:
    text = cluster_yaml(overlay=True, count=3, duration="1h") + extra
    if "workloads:" not in extra:
        text += "workloads:" + deployment(replicas=6, cpu="500m")
    dur = f"\n    duration: {duration}" if duration else ""
    return text + f"""
chaos:
  - at: 10m
    fault: node_failure
    nodePool: user
    fixedBy: {fixed_by}{dur}
"""


def test_node_is_not_ready_after_the_40s_grace_period_checked_every_5s() -> None:
    """NotReady once it has been silent for node-monitor-grace-period (40 s), at the node
    lifecycle controller's next check (node-monitor-period 5 s)."""
    sim, events = make_sim(_failure())
    sim.advance_to(FAIL_AT + 39)
    assert not [e for e in events if e.event.reason == "NodeNotReady"]
    sim.advance_to(FAIL_AT + 46)
    t = [e.sim_time for e in events if e.event.reason == "NodeNotReady"]
    assert len(t) == 1 and FAIL_AT + 40 <= t[0] < FAIL_AT + 45


def test_grace_period_is_a_scenario_setting() -> None:
    """Kubernetes 1.32 raised the grace period to 50 s; a scenario can say so."""
    text = _failure().replace("cluster:\n", "cluster:\n  timings: {nodeMonitorGracePeriod: 50s}\n")
    sim, events = make_sim(text)
    sim.run()
    t = [e.sim_time for e in events if e.event.reason == "NodeNotReady"]
    assert FAIL_AT + 50 <= t[0] < FAIL_AT + 55


def test_pods_are_evicted_300s_after_not_ready_and_replaced_elsewhere() -> None:
    """DefaultTolerationSeconds: 300 s for the unreachable taint, then TaintManagerEviction;
    the ReplicaSet creates replacements and the scheduler puts them on other nodes."""
    sim, events = make_sim(_failure())
    sim.run()
    not_ready = [e for e in events if e.event.reason == "NodeNotReady"][0]
    evicted = [e for e in events if e.event.reason == "TaintManagerEviction"]
    assert evicted
    assert {e.sim_time for e in evicted} == {not_ready.sim_time + 300}
    dead = not_ready.event.node
    assert all(e.event.node == dead for e in evicted)
    later = [e.event for e in events if e.event.reason == "Scheduled" and e.sim_time >= evicted[0].sim_time]
    assert len(later) >= len(evicted) and all(s.node != dead for s in later)
    dep = sim.model.workloads.find("web")
    assert dep.available == 6


def test_pods_become_unready_when_their_node_goes_not_ready() -> None:
    """The node lifecycle controller marks the pods of a NotReady node not ready at once."""
    sim, events = make_sim(_failure())
    sim.advance_to(FAIL_AT + 60)
    dep = sim.model.workloads.find("web")
    dead = [e.event.node for e in events if e.event.reason == "NodeNotReady"][0]
    on_dead = sum(1 for p in dep.pods.values() if p.node and p.node.name == dead)
    assert on_dead >= 1
    assert dep.available == 6 - on_dead


def test_a_pods_own_toleration_seconds_win() -> None:
    """A Deployment tolerating unreachable for 30 s is evicted 30 s after NotReady."""
    tol = """
          tolerations:
            - key: node.kubernetes.io/unreachable
              operator: Exists
              effect: NoExecute
              tolerationSeconds: 30"""
    text = _failure("workloads:" + deployment(replicas=6, cpu="500m", extra_spec=tol))
    sim, events = make_sim(text)
    sim.run()
    nr = [e.sim_time for e in events if e.event.reason == "NodeNotReady"][0]
    assert {e.sim_time for e in events if e.event.reason == "TaintManagerEviction"} == {nr + 30}


def test_node_back_before_toleration_keeps_its_pods() -> None:
    """A node that returns within 300 s is Ready again and its pods are not evicted."""
    sim, events = make_sim(_failure(duration="2m"))
    sim.run()
    reasons = [e.event.reason for e in events]
    assert "NodeNotReady" in reasons and "TaintManagerEviction" not in reasons
    back = [e.sim_time for e in events if e.event.reason == "NodeReady" and e.sim_time > FAIL_AT]
    assert back and FAIL_AT + 120 <= back[0] <= FAIL_AT + 125
    assert sim.model.workloads.find("web").available == 6


def test_auto_repair_reboots_after_10_minutes_not_ready() -> None:
    """AKS auto-repair acts on a node NotReady for 10 minutes: a reboot fixes a crashed VM."""
    sim, events = make_sim(_failure(fixed_by="reboot"))
    sim.run()
    nr = [e.sim_time for e in events if e.event.reason == "NodeNotReady"][0]
    starts = [e for e in events if e.event.reason == "NodeRebootStart"]
    assert len(starts) == 1 and nr + 600 <= starts[0].sim_time < nr + 660
    end = [e.sim_time for e in events if e.event.reason == "NodeRebootEnd"]
    assert end == [starts[0].sim_time + 300]
    assert "NodeReimageStart" not in {e.event.reason for e in events}


def test_auto_repair_escalates_reboot_reimage_redeploy() -> None:
    """Reboot, then reimage, then redeploy (node-auto-repair.md)."""
    sim, events = make_sim(_failure(fixed_by="redeploy"))
    sim.run()
    steps = [e.event.reason for e in events if e.event.category == "repair"]
    assert steps == ["NodeRebootStart", "NodeRebootError", "NodeReimageStart",
                     "NodeReimageError", "NodeRedeployStart", "NodeRedeployEnd"]


def test_auto_repair_can_be_disabled() -> None:
    """With autoRepair disabled the node stays NotReady."""
    text = _failure().replace("cluster:\n", "cluster:\n  autoRepair: {enabled: false}\n")
    sim, events = make_sim(text)
    sim.run()
    assert not [e for e in events if e.event.category == "repair"]
    assert sim.model.nodes.not_ready


def test_zone_failure_stops_every_node_of_the_zone_and_new_vms_avoid_it() -> None:
    """A zone outage: its nodes go NotReady; a scale-out places VMs in the other zones."""
    text = cluster_yaml(overlay=True, count=6, duration="1h") + """
chaos:
  - {at: 5m, fault: zone_failure, zone: "2", duration: 30m}
operations:
  - {at: 6m, operation: scale, nodePool: user, count: 9}
"""
    sim, events = make_sim(text)
    sim.advance_to(20 * 60)
    in_zone = [n for p in sim.model.pools.values() for n in p.nodes.values() if n.zone == "2"]
    nr = {e.event.node for e in events if e.event.reason == "NodeNotReady"}
    assert nr == {n.name for n in in_zone if n.created_at < 300}
    new = [n for n in sim.model.pools["user"].nodes.values() if n.created_at >= 360]
    assert len(new) == 3 and all(n.zone != "2" for n in new)
    sim.run()
    assert not sim.model.nodes.not_ready  # the zone came back at 35m
