"""DaemonSets, StatefulSets and PodDisruptionBudgets.

Sources:
- kubernetes.io/docs/concepts/workloads/controllers/daemonset/: "a DaemonSet ensures that all
  (or some) Nodes run a copy of a Pod. As nodes are added to the cluster, Pods are added to
  them. As nodes are removed from the cluster, those Pods are garbage collected"; daemon pods
  tolerate node.kubernetes.io/unreachable and not-ready (NoExecute) without a limit.
- learn.microsoft.com/azure/aks/concepts-network-azure-cni (node subnet): each node takes
  1 + maxPods addresses of the subnet when it is created (pre-allocated), so pods on it take no
  further address; every pod still takes one of the node's maxPods slots.
- kubernetes.io/docs/concepts/workloads/controllers/statefulset/ "Deployment and Scaling
  Guarantees": pods are created sequentially in order {0..N-1}; "before a scaling operation is
  applied to a Pod, all of its predecessors must be Running and Ready"; they are terminated in
  reverse order {N-1..0}.
- kubernetes.io/docs/concepts/workloads/pods/disruptions/ and /tasks/run-application/
  configure-pdb/: an eviction that would violate the budget is refused (429) and retried.
- learn.microsoft.com/azure/aks/upgrade-aks-cluster (drainTimeoutInMinutes, default 30: "If
  this time is exceeded, the upgrade fails") and troubleshoot error-code-poddrainfailure:
  "(UpgradeFailed) Drain node ... failed when evicting pod ... failed with Too Many Requests
  error ...".
"""

from __future__ import annotations

from simkit import Run, cluster_yaml, deployment
from test_upgrade import upgrade

MAX_PODS = 30
USER_NODES = 3

DAEMONSET = """
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: {{name: agent, namespace: default}}
    spec:
      selector: {{matchLabels: {{app: agent}}}}
      template:
        metadata: {{labels: {{app: agent}}}}
        spec:{host}
          containers:
            - name: agent
              resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
"""


def _cluster(workloads: str) -> str:
    return (cluster_yaml(subnet="10.10.0.0/22", count=USER_NODES, max_pods=MAX_PODS)
            + "workloads:" + workloads)


def _fill() -> str:
    # a Deployment of exactly the user pool's pod slots, small enough that only maxPods binds
    return deployment(replicas=USER_NODES * MAX_PODS, cpu="10m", memory="16Mi")


def _pending(run: Run) -> int:
    return sum(1 for p in run.model.workloads.find("default/web").pods.values()
               if p.phase == "Pending")


def test_daemonset_takes_a_slot_on_every_node_but_no_extra_node_subnet_address(simulate) -> None:
    """Node-subnet Azure CNI: the subnet holds nodes x (1 + maxPods) with or without the
    DaemonSet, but a Deployment that filled every user node now leaves one pod per node
    pending (each node lost one slot to its daemon pod)."""
    nodes = 1 + USER_NODES  # the system node gets a daemon pod too
    without = simulate(_cluster(_fill()), until=60)
    with_ds = simulate(_cluster(DAEMONSET.format(host="") + _fill()), until=60)
    for run in (without, with_ds):
        assert run.model.subnets["nodes"].used == nodes * (1 + MAX_PODS)
    assert _pending(without) == 0
    assert _pending(with_ds) == USER_NODES
    agent = with_ds.model.workloads.find("default/agent")
    assert sorted(p.node.name for p in agent.pods.values()) == sorted(
        n.name for pool in with_ds.model.pools.values() for n in pool.nodes.values())
    # each daemon pod has an address of its node's pre-allocated block
    for pod in agent.pods.values():
        assert pod.ip and pod.ip != pod.node.net.node_ip


def test_daemonset_pod_follows_a_new_node_and_host_network_takes_the_node_address(
        simulate) -> None:
    """A node added by a scale-up gets its daemon pod when it is Ready; a hostNetwork daemon
    pod runs on the node's own address."""
    text = _cluster(DAEMONSET.format(host="\n          hostNetwork: true")) + """
operations:
  - {operation: scale, at: 1m, nodePool: user, count: 4}
"""
    run = simulate(text, until=20 * 60)
    agent = run.model.workloads.find("default/agent")
    nodes = [n for pool in run.model.pools.values() for n in pool.nodes.values()]
    assert len(nodes) == 2 + USER_NODES
    assert sorted(p.node.name for p in agent.pods.values()) == sorted(n.name for n in nodes)
    for pod in agent.pods.values():
        assert pod.ip == pod.node.net.node_ip
    new = max(run.of("RegisteredNode"), key=lambda e: e.sim_time)
    scheduled = [e for e in run.of("Scheduled") if e.event.node == new.event.node]
    assert scheduled and scheduled[0].sim_time == new.sim_time


STATEFULSET = """
  - apiVersion: v1
    kind: Service
    metadata: {name: db}
    spec:
      clusterIP: None
      selector: {app: db}
      ports: [{port: 5432}]
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db}
    spec:
      serviceName: db
      replicas: 1
      selector: {matchLabels: {app: db}}
      template:
        metadata: {labels: {app: db}}
        spec:
          containers:
            - name: db
              resources: {requests: {cpu: 100m, memory: 128Mi}}
"""

STARTUP = 12.0


def test_statefulset_starts_ordinals_in_order_and_deletes_them_in_reverse(simulate) -> None:
    """Scaled from 1 to 4 at 1 min: db-1, db-2, db-3 are scheduled one pod startup time apart
    (each waits for its predecessor to be Running and Ready); scaled to 1 at 10 min they go
    db-3, db-2, db-1. The headless Service's endpoints are the StatefulSet's pods."""
    text = cluster_yaml().replace("cluster:\n", f"cluster:\n  timings: {{podStartupTime: "
                                  f"{STARTUP:g}s}}\n", 1) + "workloads:" + STATEFULSET + """
operations:
  - {operation: scale_deployment, at: 1m, deployment: db, replicas: 4}
  - {operation: scale_deployment, at: 10m, deployment: db, replicas: 1}
"""
    run = simulate(text, until=9 * 60)
    sched = [(e.event.pod, e.sim_time) for e in run.of("Scheduled")
             if e.event.pod.startswith("db-")]
    assert [n for n, _ in sched] == ["db-0", "db-1", "db-2", "db-3"]
    assert [t for _, t in sched[1:]] == [60.0, 60.0 + STARTUP, 60.0 + 2 * STARTUP]
    svc = run.model.service_ctl.find("default/db")
    assert [p.name for p in svc.endpoints] == ["db-0", "db-1", "db-2", "db-3"]
    # DNS: the governing headless Service names each ready pod, <pod>.<serviceName>
    resolve = run.model.traffic.lookups.resolve_name  # what a pod's resolver gets from CoreDNS
    for name, found in (("db-3.db", True), ("db-4.db", False), ("db", True)):
        answer = resolve("default", name).final
        assert (answer.rcode.name == "NOERROR" and answer.answer is not None) is found, name
    run.sim.advance_to(11 * 60)
    killed = [e.event.pod for e in run.events[len(run.events) - 50:]
              if e.event.reason == "Killing" and e.event.pod.startswith("db-")]
    assert killed == ["db-3", "db-2", "db-1"]
    assert sorted(run.model.workloads.find("default/db").pods) == ["db-0"]


def test_killed_daemon_and_stateful_pods_come_back_where_and_as_they_were(simulate) -> None:
    """A killed daemon pod is recreated on the same node (one per node), a killed StatefulSet
    pod under the same name."""
    text = _cluster(DAEMONSET.format(host="") + STATEFULSET.replace("replicas: 1", "replicas: 2")
                    ) + """
chaos:
  - {at: 1m, fault: pod_kill, selector: {app: agent}}
  - {at: 1m, fault: pod_kill, selector: {app: db}, count: 1}
"""
    run = simulate(text, until=5 * 60)
    agent = run.model.workloads.find("default/agent")
    nodes = sorted(n.name for pool in run.model.pools.values() for n in pool.nodes.values())
    killed = [e.event.pod for e in run.of("Killing")]
    assert len(killed) == len(nodes) + 1
    assert sorted(p.node.name for p in agent.pods.values()) == nodes
    assert not set(agent.pods) & set(killed)
    db = run.model.workloads.find("default/db")
    assert sorted(db.pods) == ["db-0", "db-1"] and all(p.ready for p in db.pods.values())
    assert [k for k in killed if k.startswith("db-")][0] in db.pods


def _pdb(spec: str) -> str:
    return f"""
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {{name: web-pdb}}
    spec:
      {spec}
      selector: {{matchLabels: {{app: web}}}}
"""


REPLICAS = 8


def test_pdb_min_available_equal_to_replicas_stalls_the_upgrade_and_fails_it_after_timeout(
        simulate) -> None:
    """minAvailable = replicas allows no disruption: the first drain never finishes, and after
    drainTimeoutInMinutes (30 by default) the upgrade fails with AKS's UpgradeFailed."""
    text = upgrade(replicas=REPLICAS).replace(
        "operations:", _pdb(f"minAvailable: {REPLICAS}").rstrip() + "\noperations:")
    run = simulate(text)
    [drain] = run.of("Drain")
    [failed] = run.of("OperationFailed")
    assert failed.sim_time == drain.sim_time + 30 * 60
    message = failed.event.message
    assert (f"(UpgradeFailed) Drain node {drain.event.node} failed when evicting pod web-"
            in message)
    assert "Too Many Requests" in message and "blocked by pdb web-pdb with 0 unready pods" in message
    assert run.of("OperationSucceeded") == [] and run.of("Upgrade") == []
    assert run.model.workloads.find("default/web").available == REPLICAS


def test_pdb_max_unavailable_one_lets_the_upgrade_through_one_pod_at_a_time(simulate) -> None:
    """maxUnavailable 1: the upgrade finishes, and never more than one pod is unavailable."""
    text = upgrade(replicas=REPLICAS).replace(
        "operations:", _pdb("maxUnavailable: 1").rstrip() + "\noperations:")
    run = simulate(text)
    assert len(run.of("OperationSucceeded")) == 1 and run.of("OperationFailed") == []
    dep = run.model.workloads.find("default/web")
    assert dep.min_available == REPLICAS - 1


def _rejected(text: str) -> str:
    import textwrap

    import pytest

    from sim.kernel.errors import ScenarioError
    from sim.scenario import load_text

    with pytest.raises(ScenarioError) as info:
        load_text(textwrap.dedent(text), "<test>", ".")
    return str(info.value)


def test_bad_kinds_get_located_errors() -> None:
    """A PDB with both minAvailable and maxUnavailable (policy/v1 validation refuses it) and a
    StatefulSet with a Deployment's name are errors at their line and field."""
    both = _cluster(deployment() + _pdb("minAvailable: 1\n      maxUnavailable: 1"))
    said = _rejected(both)
    assert "minAvailable and maxUnavailable cannot both be set" in said and "<test>:" in said
    clash = _cluster(deployment(name="db") + STATEFULSET.split("  - apiVersion: apps/v1")[0]
                     + "  - apiVersion: apps/v1" + STATEFULSET.split("  - apiVersion: apps/v1")[1])
    said = _rejected(clash)
    assert "StatefulSet default/db has the name of a Deployment" in said
    assert "metadata.name" in said


def test_autoscaler_sizes_a_scale_up_for_nodes_that_run_the_daemonset(simulate) -> None:
    """cluster-autoscaler simulates pending pods on a template node that already runs the
    pool's DaemonSet pods: with maxPods 30 and one daemon pod, a new node holds 29 pods, so 60
    pending pods need 3 nodes (60 / 30 would say 2)."""
    from test_autoscaler import scenario

    per_node = MAX_PODS - 1
    pending = 60
    pools = (f"    - {{name: user, count: 1, maxPods: {MAX_PODS}, enableAutoScaling: true, "
             "minCount: 1, maxCount: 10}\n")
    workloads = DAEMONSET.format(host="") + deployment(
        replicas=per_node + pending, cpu="10m", memory="16Mi")
    run = simulate(scenario(pools, workloads), until=15 * 60)
    first = run.of("ScaledUpGroup")[0].event
    assert (first.old, first.new) == (1, 1 + -(-pending // per_node))
    assert len(run.of("ScaledUpGroup")) == 1
    assert _pending(run) == 0


def test_a_scale_down_drains_within_the_budget(simulate) -> None:
    """A manual scale-down from 4 to 2 nodes evicts through the eviction API too: with
    maxUnavailable 1 it finishes, one pod down at a time; without the PDB all 4 pods of the two
    nodes go at once."""
    base = upgrade(replicas=REPLICAS)
    op = base[base.index("  - {operation: upgrade"):]
    scale_down = base.replace(op, "  - {operation: scale, at: 1m, nodePool: user, count: 2}\n")
    free = simulate(scale_down)
    held = simulate(scale_down.replace(
        "operations:", _pdb("maxUnavailable: 1").rstrip() + "\noperations:"))
    for run in (free, held):
        assert len(run.of("OperationSucceeded")) == 1 and run.of("OperationFailed") == []
    assert free.model.workloads.find("default/web").min_available == REPLICAS - 4
    assert held.model.workloads.find("default/web").min_available == REPLICAS - 1
    assert held.times("OperationSucceeded")[0] > free.times("OperationSucceeded")[0]
