"""What ``expect:`` can say (issue 14): an event's fields and message, ordering, a figure
sampled at a time, per-zone node counts, per-node SNAT ports, a ``reach`` verdict, node
faults selected by pool, zone and index, and "this scenario must be rejected with this error
at this path".

The values expected come from the sources, not from the code: a node stops posting status
at the fault and is NotReady after node-monitor-grace-period, 40 s before Kubernetes 1.32
(AKS-NETWORKING.md section 8); VMSS spreads a pool's instances over its zones in turn, so
instance 1 of a 3-node pool over zones 1-3 is the pool's node in zone 2; an explicit
``allocatedOutboundPorts`` is each node's SNAT port budget per destination (section 3).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from simkit import make_sim

from sim.scenario import ScenarioError, load_text, rejection

HERE = Path(__file__).resolve().parent

NODE_FAULT = """
name: expect-demo
duration: 4m
seed: 3
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  kubernetesVersion: "1.31"
  nodePools:
    - {name: system, mode: System, count: 3}
    - {name: user, count: 3}
chaos:
  - {at: 1m, fault: node_failure, nodePool: user, SELECT, fixedBy: nothing}
expect:
  - {event: NodeNotReady, fields: {zone: 2}, equals: 1}
  - {event: NodeNotReady, fields: {zone: "1"}, atLeast: 1}
  - {event: NodeNotReady, messageMatches: "aks-user-[0-9]+-vmss000001", equals: 1}
  - {event: NodeNotReady, message: "status is now: NodeNotReady", equals: 1}
  - sequence: [FaultInjected, {event: NodeNotReady, fields: {zone: "2"}}]
  - sequence: [NodeNotReady, FaultInjected]
  - {figure: zone.2.readyFinal, at: 1m39s, equals: 2}
  - {figure: zone.2.readyFinal, at: 1m41s, equals: 1}
  - {figure: zone.2.nodesFinal, equals: 2}
  - {figure: zone.1.readyFinal, equals: 2}
"""


def _results(text: str) -> list[bool]:
    sim, _ = make_sim(text)
    return [r.ok for r in sim.run().expectations]


def test_events_by_field_and_message_ordering_and_sampled_figures() -> None:
    """The fault hits the user pool's node in zone 2 (index 0 there: instance 1): one
    NodeNotReady with zone 2 and that node's name in its message, none in zone 1; the
    fault comes before it, not after; zone 2 has 2 Ready nodes at 1m39s and 1 at 1m41s
    (grace period 40 s), still 2 nodes (the VM is not deleted)."""
    got = _results(NODE_FAULT.replace("SELECT", 'zone: "2", index: 0'))
    assert got == [True, False, True, True, True, False, True, True, True, True]


def test_index_without_zone_is_the_vmss_instance_number() -> None:
    """index 1 alone is instance 1 (vmss000001), the same node: the same verdicts."""
    got = _results(NODE_FAULT.replace("SELECT", "index: 1"))
    assert got == [True, False, True, True, True, False, True, True, True, True]
    got = _results(NODE_FAULT.replace("SELECT", "index: 0"))  # instance 0: zone 1
    assert got[:3] == [False, True, False] and got[7] is False


SNAT = """
duration: 2m
seed: 2
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  loadBalancerProfile: {allocatedOutboundPorts: 8}
  nodePools:
    - {name: system, mode: System, count: 1}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: caller, namespace: shop}
    spec:
      replicas: 1
      selector: {matchLabels: {app: caller}}
      template:
        metadata: {labels: {app: caller}}
        spec:
          containers: [{name: c, resources: {requests: {cpu: 50m, memory: 32Mi}}}]
traffic:
  flows:
    - name: out
      from: pods
      client: shop/caller
      external: {address: 20.30.40.50, port: 443, latency: {distribution: fixed, value: 1s}}
      rate: {profile: constant, rps: 50}
expect:
  - {figure: snat.node.NODE.peakPortsUsed, equals: 8}
  - {figure: snat.node.NODE.exhausted, equals: 1}
  - {figure: snat.node.aks-system-00000000-vmss00000z.peakPortsUsed, equals: 0}
  - {figure: snat.portsPerNodeFinal, equals: 8}
"""


def test_per_node_snat_ports() -> None:
    """8 ports per node and 50 new connections a second held 1 s (plus 240 s after FIN):
    the node's peak is its whole budget, 8, and it ran out; a node that never called out
    has 0."""
    from sim.scenario.schema import ClusterSpec, node_name, vmss_id

    cluster = ClusterSpec.model_fields["name"].default
    node = node_name(cluster, "system", 0)
    other = f"aks-system-{vmss_id(cluster, 'system')}-vmss00000z"
    text = SNAT.replace("NODE", node).replace("aks-system-00000000-vmss00000z", other)
    assert _results(text) == [True, True, True, True]


REACH = """
duration: 1m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  networkPolicy: calico
  nodePools:
    - {name: system, mode: System, count: 2}
workloads:
""" + "".join(f"""
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: {n}, namespace: shop}}
    spec:
      replicas: 1
      selector: {{matchLabels: {{app: {n}}}}}
      template:
        metadata: {{labels: {{app: {n}}}}}
        spec:
          containers: [{{name: c, ports: [{{containerPort: 80}}],
                         resources: {{requests: {{cpu: 50m, memory: 32Mi}}}}}}]
""" for n in ("web", "db")) + """
  - apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db-from-nobody, namespace: shop}
    spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}
expect:
  - reach: {from: internet, to: shop/web, verdict: allow}
  - reach: {from: internet, to: shop/db, verdict: not exposed}
  - reach: {from: shop/web, to: shop/db, verdict: deny}
  - reach: {from: shop/db, to: shop/web, verdict: allow}
  - reach: {from: shop/web, to: shop/db, verdict: allow}
"""


def test_reach_verdicts() -> None:
    """A policy selecting db with no ingress rule isolates it (network-policies.md); web is
    behind a public load balancer, db behind nothing (not exposed)."""
    assert _results(REACH) == [True, True, True, True, False]


@pytest.mark.parametrize(("snippet", "where", "says"), [
    ("{event: NodeNotReady, fields: {pool: x}, equals: 0}", "expect[0].fields.pool",
     "field of NodeNotReady events 'pool' is not defined"),
    ("{event: NodeNotReady, messageMatches: '(', equals: 0}", "expect[0].messageMatches",
     "expected a regular expression"),
    ("{sequence: [NodeNotReady, NodeReadyy]}", "expect[0].sequence[1]", "NodeReadyy"),
    ("{reach: {from: internet, to: shop/nope, verdict: allow}}", "expect[0].reach.to",
     "Deployment 'shop/nope' is not defined"),
    ("{figure: nodes.final, at: 9m, equals: 1}", "expect[0].at", "after the end of the run"),
    ("{figure: zone.7.readyFinal, equals: 1}", "expect[0].figure", "zone '7' has no node pool"),
])
def test_bad_expectations_are_clear_errors(snippet: str, where: str, says: str) -> None:
    text = f"""
duration: 5m
cluster:
  nodePools:
    - {{name: system, mode: System, count: 1}}
expect:
  - {snippet}
"""
    with pytest.raises(ScenarioError) as err:
        load_text(text, "t.yaml")
    found = [(i.path, i.message) for i in err.value.issues]
    assert any(p == where and says in m for p, m in found), found


@pytest.mark.parametrize("path", sorted((HERE / "rejected").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_the_rejected_catalogue_is_rejected_as_each_file_says(path: Path) -> None:
    assert rejection(str(path)) == []


def test_a_rejection_that_does_not_happen_fails(tmp_path: Path) -> None:
    """A valid scenario claiming an error, or the wrong path or text, is reported."""
    valid = tmp_path / "valid.yaml"
    valid.write_text("duration: 5m\ncluster:\n  nodePools:\n    - {name: system, mode: System, "
                     "count: 1}\nexpectError:\n  - {path: cluster, message: x}\n")
    problems = rejection(str(valid))
    assert any("valid, but expectError" in p for p in problems)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text((HERE / "rejected" / "kubenet-max-pods-over-250.yaml").read_text()
                     .replace("path: cluster.nodePools[0].maxPods", "path: cluster.nodePools[0]"))
    problems = rejection(str(wrong))
    assert any("expected an error at cluster.nodePools[0] " in p for p in problems)
    assert any("unexpected error" in p and "maxPods" in p for p in problems)


def test_reach_sees_the_policies_in_effect_at_the_end() -> None:
    """The isolating policy is deleted at 30s (a network_policy operation): at the end web
    reaches db, as the traffic path would let it."""
    text = REACH.replace("expect:", """operations:
  - {at: 30s, operation: network_policy, delete: shop/db-from-nobody}
expect:""", 1)
    assert _results(text) == [True, True, False, True, True]
