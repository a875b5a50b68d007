"""cluster-autoscaler with AKS's profile defaults (AKS-NETWORKING.md section 8,
cluster-autoscaler.md): scan-interval 10 s, scale-down-unneeded-time 10 min,
scale-down-delay-after-add 10 min, max-node-provision-time 15 min, backoff up to 30 min.

Node provisioning is fixed at 2 minutes here so that times are exact.
"""

from __future__ import annotations

import pytest
from simkit import Run, deployment

SCAN = 10.0
TEN_MINUTES = 600.0

BASE = """
duration: {duration}
seed: 1
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  timings:
    nodeProvisioningTime: {provision}
{profile}
  nodePools:
    - {{name: system, mode: System, count: 1}}
{pools}
workloads:{workloads}
{extra}
"""


def scenario(pools: str, workloads: str = " []", extra: str = "", *, duration: str = "40m",
             provision: str = "2m", profile: str = "") -> str:
    """An Overlay cluster with a 1-node system pool and the given pools (YAML lines)."""
    return BASE.format(duration=duration, provision=provision, profile=profile, pools=pools,
                       workloads=workloads, extra=extra)


def user_pool(count: int, min_count: int, max_count: int, name: str = "user") -> str:
    """An autoscaled pool line."""
    return (f"    - {{name: {name}, count: {count}, enableAutoScaling: true, "
            f"minCount: {min_count}, maxCount: {max_count}}}\n")


def scale(at: str, replicas: int, name: str = "web") -> str:
    """An ``operations:`` block scaling a Deployment."""
    return f"""operations:
  - {{operation: scale_deployment, at: {at}, deployment: {name}, replicas: {replicas}}}
"""


def figures(run: Run) -> dict[str, float]:
    """The report's figures at the end of the run."""
    return run.sim.report().figures


def pool_of(event_node: str) -> str:
    """The pool of a VMSS node name (aks-<pool>-<id>-vmss<n>)."""
    return event_node.split("-")[1]


# --------------------------------------------------------------------------- scale-up


def test_pending_pods_trigger_a_scale_up_within_one_scan_interval(simulate) -> None:
    """Pods that fail scheduling are seen at the next scan (scan-interval 10 s,
    new-pod-scale-up-delay 0): ScaledUpGroup follows the first FailedScheduling within 10 s,
    sized by bin-packing (3 pending pods of 1 CPU fit one 3860m node)."""
    text = scenario(user_pool(1, 1, 5), deployment(replicas=0, cpu="1"), scale("95s", 6))
    run = simulate(text)
    first_failure = run.times("FailedScheduling")[0]
    assert first_failure == pytest.approx(95.0)
    up = run.of("ScaledUpGroup")[0]
    assert 0 <= up.sim_time - first_failure <= SCAN
    assert (up.event.node_pool, up.event.old, up.event.new) == ("user", 1, 2)
    assert figures(run)["deployment.web.availableFinal"] == 6
    assert figures(run)["pods.pendingFinal"] == 0


def test_a_scale_up_that_brings_enough_room_is_not_repeated(simulate) -> None:
    """cluster-autoscaler first drops the pending pods that fit on existing nodes
    (FilterOutSchedulable, core/podlistprocessor) and counts upcoming nodes: one node is
    enough for the 3 pending pods, so there is exactly one scale-up and the pool peaks at 2."""
    text = scenario(user_pool(1, 1, 5), deployment(replicas=0, cpu="1"), scale("95s", 6))
    run = simulate(text)
    assert len(run.of("ScaledUpGroup")) == 1
    assert figures(run)["pool.user.nodesPeak"] == 2


def test_scale_up_stops_at_max_count_and_reports_the_pods_left_over(simulate) -> None:
    """A node group never grows past maxCount; pods that still do not fit get
    NotTriggerScaleUp ``max node group size reached``."""
    run = simulate(scenario(user_pool(1, 1, 3), deployment(replicas=12, cpu="1")))
    ups = run.of("ScaledUpGroup")
    assert ups
    assert all(e.event.new <= 3 and e.event.max == 3 for e in ups)
    f = figures(run)
    assert f["pool.user.nodesPeak"] == 3
    assert f["pool.user.nodesFinal"] == 3
    assert f["pods.pendingFinal"] == 3   # 12 pods, 3 per node
    still_pending = {p.name for p in run.model.workloads.find("web").pods.values()
                     if p.phase == "Pending"}
    warned = {e.event.pod for e in run.of("NotTriggerScaleUp")}
    assert still_pending <= warned
    assert all("max node group size reached" in e.event.message
               for e in run.of("NotTriggerScaleUp"))


def test_not_trigger_scale_up_only_for_pods_that_fit_no_existing_node(simulate) -> None:
    """cluster-autoscaler first removes the pending pods that fit on existing nodes
    (FilterOutSchedulable) and only explains the rest: pods that the new nodes take never
    get NotTriggerScaleUp."""
    run = simulate(scenario(user_pool(1, 1, 3), deployment(replicas=12, cpu="1")))
    still_pending = {p.name for p in run.model.workloads.find("web").pods.values()
                     if p.phase == "Pending"}
    warned = {e.event.pod for e in run.of("NotTriggerScaleUp")}
    assert warned == still_pending


# --------------------------------------------------------------------------- scale-down


def test_scale_down_waits_for_unneeded_time_and_stops_at_min_count(simulate) -> None:
    """After the load goes away (5 min), the underused nodes are removed once unneeded for
    scale-down-unneeded-time (10 min) -- not earlier, and promptly after -- and the pool
    stays at minCount."""
    text = scenario(user_pool(1, 1, 3), deployment(replicas=9, cpu="1"), scale("5m", 1))
    run = simulate(text)
    [up] = run.times("ScaledUpGroup")
    load_gone = 300.0
    downs = run.times("ScaleDown")
    assert len(downs) == 2
    for t in downs:
        assert t >= load_gone + TEN_MINUTES
        assert t >= up + TEN_MINUTES
        assert t <= load_gone + TEN_MINUTES + 3 * SCAN
    f = figures(run)
    assert f["pool.user.nodesFinal"] == 1
    assert f["deployment.web.availableFinal"] == 1


@pytest.mark.parametrize("burst", [False, True])
def test_scale_down_waits_scale_down_delay_after_add(simulate, burst: bool) -> None:
    """scale-down-delay-after-add (10 min) is cluster-wide: an empty node of pool ``idle``,
    unneeded from the first scan, goes after 10 min (control), or 10 min after a scale-up
    of another pool that happened meanwhile (at 4 min)."""
    pools = user_pool(2, 1, 2, name="idle") + user_pool(1, 1, 2)
    text = scenario(pools, deployment(replicas=0, cpu="1"), scale("4m", 6) if burst else "")
    run = simulate(text)
    downs = run.of("ScaleDown")
    assert downs
    assert all(pool_of(e.event.node) == "idle" for e in downs)
    first = downs[0].sim_time
    if not burst:
        assert run.of("ScaledUpGroup") == []
        assert SCAN + TEN_MINUTES <= first <= SCAN + TEN_MINUTES + 2 * SCAN
    else:
        [up] = run.times("ScaledUpGroup")
        assert up + TEN_MINUTES > SCAN + TEN_MINUTES + 2 * SCAN  # the delay is what binds
        assert up + TEN_MINUTES <= first <= up + TEN_MINUTES + 2 * SCAN
    assert figures(run)["pool.idle.nodesFinal"] == 1


def test_scale_down_never_goes_below_min_count(simulate) -> None:
    """Four empty nodes with minCount 2: exactly two are removed, and the pool stays at 2."""
    run = simulate(scenario(user_pool(4, 2, 4)), until=3600)
    assert len(run.of("ScaleDown")) == 2
    f = figures(run)
    assert f["pool.user.nodesFinal"] == 2
    assert run.model.pools["user"].size == 2


@pytest.mark.parametrize(("profile", "pools", "workload"), [
    # two nodes, each full of tiny pods (maxPods 30): low utilisation, but no pod slot elsewhere
    pytest.param("", "    - {name: user, count: 2, enableAutoScaling: true, minCount: 1, "
                 "maxCount: 3, maxPods: 30}\n", deployment(replicas=60, cpu="10m", memory="32Mi"),
                 id="pod-slots"),
    # two nodes at 62% cpu under a 70% threshold: one pod of the other node fits, not both
    pytest.param("  autoscalerProfile: {scaleDownUtilizationThreshold: 0.7}",
                 user_pool(2, 1, 3), deployment(replicas=4, cpu="1200m"), id="cpu"),
])
def test_scale_down_keeps_a_node_whose_pods_cannot_fit_elsewhere(
        simulate, profile: str, pools: str, workload: str) -> None:
    """Regression (it used to flap): a node is removed only if the scheduling simulation
    places every one of its pods on the other nodes; otherwise it stays, and nothing is
    scaled up again."""
    run = simulate(scenario(pools, workload, profile=profile, duration="1h"))
    assert run.of("ScaleDown") == []
    assert run.of("ScaledUpGroup") == []
    assert run.of("Killing") == []
    f = figures(run)
    assert f["pool.user.nodesFinal"] == 2
    assert f["pods.pendingFinal"] == 0


def test_scale_down_removes_empty_nodes_before_draining_a_busy_one(simulate) -> None:
    """Three unneeded nodes and a budget of two (minCount 1): upstream splits empty and
    non-empty nodes and checks the empty ones against the node group's min size first, so the
    two empty nodes go and the first node, still running ``base``, stays."""
    workloads = deployment(name="base", replicas=1, cpu="100m") + deployment(
        name="burst", replicas=6, cpu="1500m")
    run = simulate(scenario(user_pool(1, 1, 3), workloads, scale("5m", 0, name="burst")))
    [base_node] = [e.event.node for e in run.of("Scheduled") if e.event.pod.startswith("base-")
                   and e.sim_time == 0]
    removed = {e.event.node for e in run.of("ScaleDown")}
    assert len(removed) == 2
    assert base_node not in removed
    assert [e for e in run.of("Killing") if e.event.pod.startswith("base-")] == []


# --------------------------------------------------------------------------- failures

SMALL_SUBNET = """
duration: 2h
seed: 1
cluster:
  networkPlugin: azure
  timings:
    nodeProvisioningTime: 2m
  vnet:
    managed: false
    addressSpace: [10.10.0.0/16]
    subnets:
      - {name: sys, addressPrefix: 10.10.0.0/24}
      - {name: small, addressPrefix: 10.10.1.0/26}
  nodePools:
    - {name: system, mode: System, count: 1, maxPods: 30, vnetSubnet: sys}
    - {name: user, count: 1, maxPods: 30, enableAutoScaling: true, minCount: 1, maxCount: 3,
       vnetSubnet: small}
workloads:"""


def test_scale_up_into_a_full_subnet_fails_and_backs_off_exponentially(simulate) -> None:
    """Azure CNI takes 1 + maxPods = 31 addresses per node; a /26 has 59 usable, so the second
    node cannot be created: SubnetIsFull, FailedToScaleUpGroup, and the group backs off for
    5 min, doubling up to 30 min (cluster-autoscaler-overview.md) before trying again."""
    run = simulate(SMALL_SUBNET + deployment(replicas=6, cpu="1"))
    full = run.of("SubnetIsFull")
    assert full
    assert all(e.event.node_pool == "user" and e.event.subnet == "small" for e in full)
    assert run.of("FailedToScaleUpGroup")
    assert all(e.event.node_pool == "user" for e in run.of("FailedToScaleUpGroup"))
    attempts = run.times("ScaledUpGroup")
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    expected = [300.0, 600.0, 1200.0, 1800.0, 1800.0]
    assert len(gaps) == len(expected)
    for gap, backoff in zip(gaps, expected, strict=True):
        assert backoff <= gap <= backoff + SCAN
    # every attempt failed: the pool never got its second node
    assert figures(run)["pool.user.nodesPeak"] == 1
    assert figures(run)["pods.pendingFinal"] == 3


def test_a_node_not_registered_within_max_node_provision_time_backs_the_group_off(simulate) -> None:
    """max-node-provision-time (15 min): upstream clusterstate times the scale-up request out
    (ScaleUpTimedOut) and backs the node group off, as for any failed scale-up."""
    text = scenario(user_pool(1, 1, 3), deployment(replicas=6, cpu="1"), provision="20m",
                    duration="30m")
    run = simulate(text)
    up = run.times("ScaledUpGroup")[0]
    failures = run.times("FailedToScaleUpGroup")
    assert failures
    assert up + 900.0 <= failures[0] <= up + 900.0 + 2 * SCAN


# --------------------------------------------------------------------------- unready nodes

UNREADY = """chaos:
  - {at: 2m, fault: node_failure, nodePool: user, fixedBy: nothing}
"""


def test_an_unready_node_is_removed_unready_time_after_it_became_unneeded(simulate) -> None:
    """scale-down-unready-time (20 min on AKS) is "how long an unready node should be unneeded
    before it is eligible for scale down" (cluster-autoscaler FAQ.md; upstream counts from the
    unneeded tracker's since, not from NotReady): a busy node that fails is unneeded only once
    the taint manager evicted its pods (300 s after NotReady), and removed 20 min after that,
    not 20 min after NotReady."""
    text = scenario(user_pool(3, 1, 5), deployment(replicas=6, cpu="1500m"), UNREADY,
                    duration="50m", profile="  autoRepair: {enabled: false}")
    run = simulate(text)
    [nr] = run.of("NodeNotReady")
    victim, not_ready = nr.event.node, nr.sim_time
    evicted = [e.sim_time for e in run.of("TaintManagerEviction")]
    assert evicted and min(evicted) >= not_ready + 300
    removed = [e.sim_time for e in run.of("ScaleDown") if e.event.node == victim]
    assert len(removed) == 1
    assert removed[0] >= min(evicted) + 1200  # unneeded from the eviction on
    assert removed[0] <= max(evicted) + 1200 + 2 * SCAN
