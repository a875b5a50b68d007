"""kube-scheduler rules (kubernetes/kubernetes pkg/scheduler) and AKS allocatable (sim/azure/vmsizes.py).

Each test runs a small scenario and checks where pods land (``Scheduled``) or why they do
not (``FailedScheduling``), against upstream's filters, scores and messages.
"""

from __future__ import annotations

from collections import Counter

import pytest
from simkit import Run, cluster_yaml, deployment, make_sim

from sim.cluster.scheduler import num_feasible_nodes_to_find

HARD_ZONE_SPREAD = """
          topologySpreadConstraints:
            - maxSkew: 1
              topologyKey: topology.kubernetes.io/zone
              whenUnsatisfiable: DoNotSchedule
              labelSelector: {matchLabels: {app: web}}"""


def scheduled_on(run: Run, *, after: float = -1.0) -> Counter[str]:
    """Pods bound per node (from ``Scheduled`` events at or after *after*)."""
    return Counter(e.event.node for e in run.of("Scheduled") if e.sim_time >= after)


def zones_of(run: Run) -> dict[str, str]:
    """Zone of every node that registered."""
    return {e.event.node: e.event.zone for e in run.of("RegisteredNode")}


def pending(run: Run) -> int:
    """Pods Pending at the end of the run (the report's figure)."""
    return int(run.sim.report().figures["pods.pendingFinal"])


def body(message: str) -> str:
    """The filter part of a FailedScheduling message (before `` preemption:``)."""
    return message.split(" preemption: ")[0]


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize(("nodes", "feasible"), [
    (1, 1),
    (50, 50),       # below minFeasibleNodesToFind (100): every node
    (99, 99),
    (100, 100),     # 50% of 100 = 50, raised to the minimum of 100
    (150, 100),     # 49% of 150 = 73, raised to 100
    (1000, 420),    # 50 - 1000/125 = 42%
    (2000, 680),    # 50 - 16 = 34%
    (5000, 500),    # 50 - 40 = 10%
    (6000, 300),    # 50 - 48 = 2%, floored at minFeasibleNodesPercentageToFind (5%)
    (10000, 500),   # 5%
])
def test_num_feasible_nodes_to_find_follows_upstream_adaptive_percentage(nodes: int, feasible: int) -> None:
    """schedule_one.go numFeasibleNodesToFind: all nodes below 100; otherwise
    percentage = 50 - n/125 (at least 5) and n*percentage/100 nodes, at least 100."""
    assert num_feasible_nodes_to_find(nodes) == feasible


# --------------------------------------------------------------------------- resources


def test_pod_larger_than_every_node_stays_pending_with_upstream_fit_error(simulate) -> None:
    """A pod requesting more CPU than any node's allocatable is never bound, and its
    FailedScheduling reads like kube-scheduler's FitError: one count per node's first failing
    filter, sorted; preemption cannot help because the request exceeds allocatable itself
    (NodeResourcesFit marks that Unresolvable)."""
    run = simulate(cluster_yaml(count=3) + "workloads:" + deployment(replicas=1, cpu="4"), until=120)
    assert run.of("Scheduled") == []
    assert pending(run) == 1
    messages = [e.event.message for e in run.of("FailedScheduling")]
    assert messages
    # upstream appends one more "." after the preemption message (FitError of a FitError);
    # compare everything up to it
    assert messages[0].startswith(
        "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "3 Insufficient cpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful "
        "for scheduling.")


def test_full_nodes_report_no_preemption_victims(simulate) -> None:
    """When a node is merely full (the pod would fit an empty node) and every pod has the same
    priority, DefaultPreemption's dry run finds no victims: upstream says
    ``N No preemption victims found for incoming pod`` for those nodes and
    ``Preemption is not helpful for scheduling`` only for the Unresolvable ones
    (node affinity)."""
    run = simulate(cluster_yaml(count=1) + "workloads:" + deployment(replicas=4, cpu="1"), until=60)
    message = run.of("FailedScheduling")[0].event.message
    assert message.startswith(
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node "
        "affinity/selector. preemption: 0/2 nodes are available: 1 No preemption victims found "
        "for incoming pod, 1 Preemption is not helpful for scheduling.")


@pytest.mark.parametrize(("cpu", "fit"), [
    ("1", 3),       # the brief's example: 3 x 1000m fit 3860m, a 4th does not
    ("965m", 4),    # 4 x 965m = 3860m: exactly the allocatable CPU
    ("966m", 3),    # 1m more per pod and the 4th no longer fits
])
def test_d4s_v3_allocatable_cpu_is_4_cores_minus_140m_kube_reserved(simulate, cpu: str, fit: int) -> None:
    """node-resource-reservations.md: a 4-vCPU node keeps 140m for kube-reserved, so a
    Standard_D4s_v3 has 3860m allocatable; pods fit while their requests sum to at most that."""
    run = simulate(cluster_yaml(count=1) + "workloads:" + deployment(replicas=4, cpu=cpu), until=60)
    assert sum(scheduled_on(run).values()) == fit
    assert pending(run) == 4 - fit
    if fit < 4:
        assert "1 Insufficient cpu" in run.of("FailedScheduling")[0].event.message


@pytest.mark.parametrize(("memory", "fits"), [("15634Mi", True), ("15635Mi", False)])
def test_d4s_v3_allocatable_memory_keeps_kube_reserved_and_eviction_threshold(
        simulate, memory: str, fits: bool) -> None:
    """16 GiB with maxPods 30: kube-reserved min(20 x 30 + 50, 25%) = 650Mi plus the 100Mi
    eviction threshold leaves 16384 - 750 = 15634Mi for pods."""
    run = simulate(cluster_yaml(count=1) + "workloads:" + deployment(replicas=1, cpu="100m",
                                                                    memory=memory), until=60)
    assert len(run.of("Scheduled")) == (1 if fits else 0)
    if not fits:
        assert "1 Insufficient memory" in run.of("FailedScheduling")[0].event.message


def test_max_pods_caps_pods_per_node(simulate) -> None:
    """NodeResourcesFit counts pods against the node's allocatable pod count (maxPods): 3 nodes
    at maxPods 30 take 90 pods, the 91st fails with ``Too many pods``."""
    run = simulate(cluster_yaml(count=3, max_pods=30) + "workloads:" +
                   deployment(replicas=91, cpu="10m", memory="64Mi"), until=60)
    per_node = scheduled_on(run)
    assert sorted(per_node.values()) == [30, 30, 30]
    assert pending(run) == 1
    assert body(run.of("FailedScheduling")[0].event.message) == (
        "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "3 Too many pods.")


# --------------------------------------------------------------------------- node selection

TWO_USER_POOLS = """
duration: 10m
seed: 1
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {name: system, mode: System, count: 1}
    - {name: alpha, count: 2}
    - {name: beta, count: 2, nodeLabels: {tier: web}}
workloads:"""


@pytest.mark.parametrize("selector", ["{agentpool: beta}", "{tier: web}"])
def test_node_selector_keeps_pods_on_the_matching_pool(simulate, selector: str) -> None:
    """NodeAffinity: a nodeSelector (AKS's agentpool label, or a pool's nodeLabels) only
    admits the nodes that carry the label."""
    extra = f"\n          nodeSelector: {selector}"
    run = simulate(TWO_USER_POOLS + deployment(replicas=8, pool=None, extra_spec=extra), until=60)
    nodes = scheduled_on(run)
    assert sum(nodes.values()) == 8
    assert all(name.startswith("aks-beta-") for name in nodes)


def test_node_selector_with_no_matching_node_keeps_pods_pending(simulate) -> None:
    """A selector no node matches leaves the pod Pending, every node failing NodeAffinity."""
    extra = "\n          nodeSelector: {tier: db}"
    run = simulate(TWO_USER_POOLS + deployment(replicas=1, pool=None, extra_spec=extra), until=60)
    assert run.of("Scheduled") == []
    assert body(run.of("FailedScheduling")[0].event.message) == (
        "0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector.")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_default_spread_constraints_balance_replicas_over_zones(simulate, seed: int) -> None:
    """With no constraints of its own a pod gets the default ones (zone maxSkew 5, hostname
    maxSkew 3, ScheduleAnyway), scored with LeastAllocated: 9 replicas on 3 zones of one
    node each end up 3 per zone."""
    run = simulate(cluster_yaml(count=3) + "workloads:" + deployment(replicas=9), until=60,
                   seed=seed)
    zone = zones_of(run)
    assert len({zone[n] for n in zone if n.startswith("aks-user-")}) == 3
    per_zone = Counter({zone[n]: c for n, c in scheduled_on(run).items()})
    assert sorted(per_zone.values()) == [3, 3, 3]


ZONED_POOLS = """
duration: 10m
seed: 1
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {name: system, mode: System, count: 1, zones: ["1"]}
    - {name: big, count: 2, vmSize: Standard_D4s_v3, zones: ["1", "2"], nodeLabels: {tier: web}}
    - {name: small, count: 1, vmSize: Standard_D2s_v3, zones: ["3"], nodeLabels: {tier: web}}
workloads:"""


def test_do_not_schedule_zone_constraint_holds_max_skew(simulate) -> None:
    """PodTopologySpread (DoNotSchedule, zone, maxSkew 1): zone 3's only node (D2s_v3, 1900m)
    holds 2 pods of 900m, so zones 1 and 2 may hold at most 3 each; the 9th replica stays
    Pending although zones 1 and 2 still have CPU for it."""
    extra = "\n          nodeSelector: {tier: web}" + HARD_ZONE_SPREAD
    run = simulate(ZONED_POOLS + deployment(replicas=9, cpu="900m", pool=None, extra_spec=extra),
                   until=60)
    zone = zones_of(run)
    per_zone = Counter()
    for node, n in scheduled_on(run).items():
        per_zone[zone[node]] += n
    assert per_zone == {"1": 3, "2": 3, "3": 2}
    assert max(per_zone.values()) - min(per_zone.values()) <= 1
    assert pending(run) == 1
    assert body(run.of("FailedScheduling")[0].event.message) == (
        "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node "
        "affinity/selector, 2 node(s) didn't match pod topology spread constraints.")


def test_without_the_zone_constraint_the_same_replicas_all_fit(simulate) -> None:
    """Control for the test above: without DoNotSchedule, the 9 replicas fit (4 + 4 + 1 or
    similar), so it is the constraint that keeps the 9th Pending there."""
    extra = "\n          nodeSelector: {tier: web}"
    run = simulate(ZONED_POOLS + deployment(replicas=9, cpu="900m", pool=None, extra_spec=extra),
                   until=60)
    assert sum(scheduled_on(run).values()) == 9
    assert pending(run) == 0


def test_cordoned_node_gets_no_new_pods() -> None:
    """NodeUnschedulable: a cordoned node (spec.unschedulable) is filtered out."""
    text = cluster_yaml(count=3) + "workloads:" + deployment(replicas=0) + """
operations:
  - {operation: scale_deployment, at: 1m, deployment: web, replicas: 6}
"""
    sim, events = make_sim(text)
    sim.advance_to(30)
    pool = sim.model.pools["user"]
    cordoned = sorted(pool.nodes.values(), key=lambda n: n.name)[0]
    sim.model.nodes.cordon(cordoned)
    sim.advance_to(120)
    run = Run(sim, events)
    nodes = scheduled_on(run)
    assert sum(nodes.values()) == 6
    assert cordoned.name not in nodes
    assert sorted(nodes.values()) == [3, 3]


def test_not_ready_node_gets_no_new_pods(simulate) -> None:
    """TaintToleration: a node that stopped posting status is NotReady after the 40 s grace
    period and carries node.kubernetes.io/unreachable:NoSchedule; new pods avoid it."""
    text = cluster_yaml(count=3) + "workloads:" + deployment(replicas=0) + """
chaos:
  - {at: 30s, fault: node_failure, nodePool: user, zone: "1"}
operations:
  - {operation: scale_deployment, at: 3m, deployment: web, replicas: 6}
"""
    run = simulate(text, until=240)
    [down] = [e.event.node for e in run.of("NodeNotReady")]
    assert zones_of(run)[down] == "1"
    nodes = scheduled_on(run)
    assert sum(nodes.values()) == 6
    assert down not in nodes


def test_fit_error_counts_each_node_under_its_first_failing_filter_in_profile_order(simulate) -> None:
    """Each node is counted under the first filter that rejects it, in the default profile's
    order (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, ..., NodeResourcesFit,
    ..., PodTopologySpread; pkg/scheduler/apis/config/v1/default_plugins.go). The system node
    is NotReady (tainted) and outside the pod's pool: TaintToleration rejects it first."""
    text = cluster_yaml(count=1) + "workloads:" + deployment(replicas=0, cpu="4") + """
chaos:
  - {at: 0s, fault: node_failure, nodePool: system}
operations:
  - {operation: scale_deployment, at: 2m, deployment: web, replicas: 1}
"""
    run = simulate(text, until=150)
    assert len(run.of("NodeNotReady")) == 1
    message = run.of("FailedScheduling")[-1].event.message
    assert body(message) == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
        "{node.kubernetes.io/unreachable: }.")


def test_zone_of_a_not_ready_node_still_counts_for_do_not_schedule_skew(simulate) -> None:
    """Topology spread docs: nodeTaintsPolicy nil behaves as Ignore ("All nodes are
    included"). With 1 replica per zone and maxSkew 1, when zone 3's only node goes NotReady
    and its pod is evicted (300 s later), zone 3 has 0 pods: putting the replacement in zone 1
    or 2 would make the skew 2, so it stays Pending."""
    text = cluster_yaml(count=3) + "workloads:" + deployment(
        replicas=3, cpu="100m", extra_spec=HARD_ZONE_SPREAD) + """
chaos:
  - {at: 1m, fault: node_failure, nodePool: user, zone: "3"}
"""
    run = simulate(text, until=600)
    assert len(run.of("TaintManagerEviction")) == 1
    evicted_at = run.times("TaintManagerEviction")[0]
    assert scheduled_on(run, after=evicted_at) == Counter()
    assert pending(run) == 1
