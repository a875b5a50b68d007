"""AKS rolling node pool upgrade (upgrade-aks-node-pools-rolling.md, "how does an upgrade
happen"): add maxSurge buffer nodes (default 1; a percentage of the pool rounded up), cordon
and drain as many old nodes at a time, reimage them to the new version, delete the buffer
nodes at the end; AKS refuses an upgrade whose surge nodes do not fit the subnet."""

from __future__ import annotations

import pytest
from simkit import Run, deployment, make_sim

from sim.objects import find_node

OLD, NEW = "1.29", "1.30"

UPGRADE = """
duration: 1h
seed: 1
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  kubernetesVersion: "{old}"
  timings:
    nodeProvisioningTime: 2m
  nodePools:
    - {{name: system, mode: System, count: 1}}
    - {{name: user, count: {count}{pool_surge}}}
workloads:{workloads}
operations:
  - {{operation: upgrade, at: 1m, nodePool: user, kubernetesVersion: "{new}"{op_surge}}}
"""


def upgrade(count: int = 4, *, pool_surge: str | None = None, op_surge: str | None = None,
            replicas: int = 8) -> str:
    """A pool of *count* nodes running a Deployment, upgraded from 1.29 to 1.30 at 1 min."""
    return UPGRADE.format(
        old=OLD, new=NEW, count=count,
        pool_surge=f", maxSurge: \"{pool_surge}\"" if pool_surge else "",
        op_surge=f", maxSurge: \"{op_surge}\"" if op_surge else "",
        workloads=deployment(replicas=replicas, cpu="500m"))


def nodes_of(run: Run, reason: str) -> list[str]:
    """Node names of the upgrade events with *reason*, in order."""
    return [e.event.node for e in run.of(reason)]


def original_nodes(run: Run) -> list[str]:
    """The user pool's nodes that existed at time 0."""
    return sorted(e.event.node for e in run.of("RegisteredNode")
                  if e.sim_time == 0 and e.event.node_pool == "user")


def test_default_max_surge_upgrade_publishes_one_surge_and_drains_every_node(simulate) -> None:
    """maxSurge defaults to 1: one Surge node; each of the 4 old nodes is drained and upgraded
    in turn; the buffer node is drained and deleted at the end; OperationSucceeded."""
    run = simulate(upgrade())
    old = original_nodes(run)
    assert len(old) == 4
    [surge] = nodes_of(run, "Surge")
    assert surge not in old
    drains = nodes_of(run, "Drain")
    assert len(drains) == 5
    assert sorted(drains[:4]) == old
    assert drains[-1] == surge
    assert sorted(nodes_of(run, "Upgrade")) == old
    assert run.times("Drain")[-1] >= max(run.times("Upgrade"))
    assert len(run.of("OperationSucceeded")) == 1
    assert run.of("OperationFailed") == []
    assert run.times("OperationSucceeded")[0] >= run.times("Drain")[-1]


def test_upgrade_drains_one_batch_at_a_time(simulate) -> None:
    """With maxSurge 1, a node is drained only after the previous one was upgraded (never two
    old nodes out at once)."""
    run = simulate(upgrade())
    drains = run.times("Drain")[:4]
    upgrades = run.times("Upgrade")
    for i in range(1, 4):
        assert drains[i] >= upgrades[i - 1]
        assert drains[i] > drains[i - 1]


def test_upgrade_ends_with_the_original_node_count_all_on_the_new_version(simulate) -> None:
    """At the end the pool has its original nodes, all Ready, schedulable and on the target
    version; the surge node is gone; the Deployment is fully available again."""
    run = simulate(upgrade())
    pool = run.model.pools["user"]
    assert sorted(pool.nodes) == original_nodes(run)
    assert all(n.version == NEW for n in pool.nodes.values())
    assert all(n.state == "Ready" and not n.cordoned for n in pool.nodes.values())
    assert pool.version == NEW
    f = run.sim.report().figures
    assert f["pool.user.nodesFinal"] == 4
    assert f["deployment.web.availableFinal"] == 8
    assert f["deployment.web.desiredFinal"] == 8
    assert f["pods.pendingFinal"] == 0


@pytest.mark.parametrize(("pool_surge", "op_surge", "surge"), [
    (None, None, 1),        # AKS default
    ("2", None, 2),         # the pool's setting
    (None, "50%", 2),       # 50% of 4
    (None, "33%", 2),       # 1.32 rounded up
    (None, "25%", 1),
    (None, "100%", 4),
    ("1", "50%", 2),        # the operation's maxSurge overrides the pool's
])
def test_max_surge_count_and_node_ceiling(simulate, pool_surge: str | None, op_surge: str | None,
                                          surge: int) -> None:
    """maxSurge is a node count or a percentage of the pool, fractional nodes rounded up
    (AgentPoolUpgradeSettings.maxSurge); the pool never has more than count + surge nodes, and
    every old node and every buffer node is drained once."""
    run = simulate(upgrade(pool_surge=pool_surge, op_surge=op_surge))
    assert len(run.of("Surge")) == surge
    assert run.sim.report().figures["pool.user.nodesPeak"] == 4 + surge
    assert len(run.of("Drain")) == 4 + surge
    assert len(run.of("Upgrade")) == 4
    assert len(run.of("OperationSucceeded")) == 1
    assert run.model.pools["user"].size == 4


def test_surge_node_runs_the_target_version(simulate) -> None:
    """upgrade-aks-node-pools-rolling.md: AKS adds "a new buffer node (or as many nodes as
    configured in max surge) to the cluster that runs the specified Kubernetes version"; the
    pods drained off the first old node move to it."""
    sim, events = make_sim(upgrade())
    sim.advance_to(200)    # surge created at 60 s, Ready at 180 s, first drain under way
    run = Run(sim, events)
    [surge] = nodes_of(run, "Surge")
    node = find_node(sim.model.pools, surge)
    assert node is not None and node.state == "Ready"
    assert node.version == NEW


BLOCKED = """
duration: 30m
seed: 1
cluster:
  networkPlugin: azure
  kubernetesVersion: "1.29"
  vnet:
    managed: false
    addressSpace: [10.20.0.0/16]
    subnets:
      - {name: sys, addressPrefix: 10.20.0.0/24}
      - {name: nodes, addressPrefix: 10.20.1.0/25}
  nodePools:
    - {name: system, mode: System, count: 1, maxPods: 30, vnetSubnet: sys}
    - {name: user, count: 3, maxPods: 30, vnetSubnet: nodes}
workloads:""" + deployment(replicas=6, cpu="250m") + """
operations:
  - {operation: upgrade, at: 5m, nodePool: user, kubernetesVersion: "1.30"}
"""


def test_upgrade_whose_surge_node_does_not_fit_the_subnet_fails_before_draining(simulate) -> None:
    """A /25 has 123 usable addresses; 3 Azure CNI nodes at maxPods 30 hold 93 and the surge
    node needs 31 more ("upgrade needs n+1", ip-address-planning.md): AKS refuses the upgrade
    with InsufficientSubnetSize, nothing is drained and the pods keep running."""
    run = simulate(BLOCKED)
    [failed] = run.of("OperationFailed")
    assert failed.event.node_pool == "user"
    assert "InsufficientSubnetSize" in failed.event.message
    full = run.of("SubnetIsFull")
    assert len(full) == 1
    assert (full[0].event.subnet, full[0].event.node_pool) == ("nodes", "user")
    assert full[0].event.requested == 31 and full[0].event.available == 30
    for reason in ("Surge", "Drain", "Upgrade", "Killing", "OperationSucceeded"):
        assert run.of(reason) == [], reason
    pool = run.model.pools["user"]
    assert pool.size == 3
    assert all(n.version == "1.29" and not n.cordoned for n in pool.nodes.values())
    f = run.sim.report().figures
    assert f["deployment.web.availableMin"] == 6
    assert f["deployment.web.availableFinal"] == 6


def test_a_node_being_reimaged_goes_not_ready_and_back(simulate) -> None:
    """A reimage restarts the VM (upgrade-aks-node-pools-rolling.md: drained nodes are
    reimaged): kubelet posts no status, so each old node goes NotReady one grace period (40 s)
    after its reimage starts (drain + 30 s), and Ready again after it ends (reimage 5 min)."""
    run = simulate(upgrade())
    old = original_nodes(run)
    drained = {e.event.node: e.sim_time for e in run.of("Drain") if e.event.node in old}
    not_ready = {e.event.node: e.sim_time for e in run.of("NodeNotReady")}
    ready_again = {e.event.node: e.sim_time for e in run.of("NodeReady")
                   if e.event.node in old and e.sim_time > 0}
    assert sorted(not_ready) == old and sorted(ready_again) == old
    for node in old:
        reimage = drained[node] + 30.0
        assert reimage + 40.0 <= not_ready[node] < reimage + 45.0
        assert reimage + 300.0 <= ready_again[node] < reimage + 305.0
