"""Operations on one agent pool are serialised as ARM does, and a manual scale-down drains.

- A write on a pool with an operation in progress is refused: HTTP 409 ``OperationNotAllowed``,
  "Operation is not allowed: Another operation (<pool> - <state>) is in progress, please wait
  for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation"
  (the AKS RP's text, as az CLI printed it in Azure/azure-workload-identity#417 and
  cilium/cilium#25944). The first operation goes on; so does the run.
- ``az aks nodepool scale`` to fewer nodes cordons and drains the removed nodes before their
  VMs are deleted (resize-node-pool.md: nodes are cordoned and drained before removal).
- ``az aks nodepool upgrade --node-image-only`` is an upgrade too (upgrade-aks-node-pools-
  rolling.md), with the same surge and drain, and the version unchanged.
"""

from __future__ import annotations

from simkit import deployment, make_sim

POOL = """
duration: 40m
seed: 1
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  kubernetesVersion: "1.30"
  timings:
    nodeProvisioningTime: 3m
  nodePools:
    - {{name: system, mode: System, count: 1}}
    - {{name: user, count: 3}}
workloads:{workloads}
operations:
{ops}
"""


def _run(ops: str, replicas: int = 3) -> tuple[list, object]:
    sim, events = make_sim(POOL.format(ops=ops, workloads=deployment(replicas=replicas)))
    sim.run()
    return events, sim.model


def _of(events: list, reason: str) -> list:
    return [e for e in events if e.event.reason == reason]


def test_a_second_scale_while_the_first_runs_is_refused_with_409() -> None:
    """Scale 3 -> 4 at 1 min (VMs take 3 min), then 3 -> 6 at 2 min: the second is refused with
    OperationNotAllowed naming the pool and its Scaling state; the pool ends with 4 nodes,
    not 6 (and not merged); a scale after the first finished is accepted."""
    events, model = _run("""  - {operation: scale, at: 1m, nodePool: user, count: 4}
  - {operation: scale, at: 2m, nodePool: user, count: 6}
  - {operation: scale, at: 10m, nodePool: user, count: 5}""")
    failed = _of(events, "OperationFailed")
    assert len(failed) == 1 and failed[0].sim_time == 120.0
    message = failed[0].event.message
    assert "(OperationNotAllowed)" in message and "409" in message
    assert ("Another operation (user - Scaling) is in progress, please wait for it to finish "
            "before starting a new operation") in message
    assert "https://aka.ms/aks-pending-operation" in message
    assert [e.sim_time for e in _of(events, "OperationStarted")] == [60.0, 600.0]
    assert len(_of(events, "OperationSucceeded")) == 2
    assert model.pools["user"].size == 5


def test_a_scale_during_an_upgrade_is_refused_with_the_upgrading_state() -> None:
    """An upgrade holds the pool for its whole rolling run: a scale meanwhile gets the 409 with
    'user - Upgrading'; the upgrade still succeeds."""
    events, model = _run("""  - {operation: upgrade, at: 1m, nodePool: user, kubernetesVersion: "1.31"}
  - {operation: scale, at: 5m, nodePool: user, count: 5}""")
    failed = _of(events, "OperationFailed")
    assert len(failed) == 1 and "(user - Upgrading)" in failed[0].event.message
    assert failed[0].event.operation == "scale"
    assert [e.event.operation for e in _of(events, "OperationSucceeded")] == ["upgrade"]
    assert model.pools["user"].size == 3


def test_a_node_image_upgrade_is_serialised_and_keeps_the_version() -> None:
    """nodeImageOnly: surge, drain, reimage like an upgrade, version unchanged; an upgrade
    asked for meanwhile is refused."""
    events, model = _run("""  - {operation: upgrade, at: 1m, nodePool: user, nodeImageOnly: true}
  - {operation: upgrade, at: 6m, nodePool: user, kubernetesVersion: "1.31"}""")
    started = _of(events, "OperationStarted")
    assert [e.event.operation for e in started] == ["node-image-upgrade"]
    failed = _of(events, "OperationFailed")
    assert len(failed) == 1 and failed[0].event.operation == "upgrade"
    assert "(user - Upgrading)" in failed[0].event.message
    assert len(_of(events, "Upgrade")) == 3
    assert model.pools["user"].version == "1.30"


def test_manual_scale_down_drains_then_deletes_after_the_deletion_time() -> None:
    """3 -> 1 at 1 min: both removed nodes are cordoned and drained at once (Drain events, their
    pods rescheduled), they leave the cluster drain + deletion time later (30 s + 60 s), and
    the operation succeeds then."""
    events, model = _run("  - {operation: scale, at: 1m, nodePool: user, count: 1}")
    drains = _of(events, "Drain")
    assert len(drains) == 2 and {e.sim_time for e in drains} == {60.0}
    removed = {e.event.node for e in drains}
    gone = [e for e in events if e.event.reason == "RemovingNode" and e.event.node in removed]
    assert gone and {e.sim_time for e in gone} == {150.0}
    [done] = _of(events, "OperationSucceeded")
    assert done.sim_time == 150.0 and "1 nodes" in done.event.message
    assert model.pools["user"].size == 1


def test_two_writes_at_the_same_instant_one_is_refused() -> None:
    """Two scales sent at the same second: ARM accepts the first, the second gets the 409."""
    events, model = _run("""  - {operation: scale, at: 1m, nodePool: user, count: 4}
  - {operation: scale, at: 1m, nodePool: user, count: 6}""")
    assert len(_of(events, "OperationStarted")) == 1
    [failed] = _of(events, "OperationFailed")
    assert failed.sim_time == 60.0 and "(user - Scaling)" in failed.event.message
    assert model.pools["user"].size == 4
