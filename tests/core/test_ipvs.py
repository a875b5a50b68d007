"""kube-proxy's IPVS mode in the request path, against the LVS schedulers' definitions
(virtual-ips.md; net/netfilter/ipvs/ip_vs_rr.c, ip_vs_lc.c, ip_vs_sh.c) and AKS's
kubeProxyConfig (configure-kube-proxy.md)."""

from __future__ import annotations

import pytest
from simkit import make_sim

from sim.kubeproxy.ipvs import IpvsTables

SCENARIO = """
duration: {duration}
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  {proxy}
  nodePools:
    - {{name: system, mode: System, count: {nodes}, vmSize: Standard_D8s_v3}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: api}}
    spec:
      replicas: {replicas}
      selector: {{matchLabels: {{app: api, tier: fast}}}}
      template:
        metadata: {{labels: {{app: api, tier: fast}}}}
        spec: {{containers: [{{name: api, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
  {slow}
  - apiVersion: v1
    kind: Service
    metadata: {{name: api}}
    spec:
      type: LoadBalancer
      selector: {{app: api}}
      ports: [{{port: 80}}]
traffic:
  networkLatency: 0s
  flows:
    - name: users
      to: {{service: api}}
      clients: {clients}
      rate: {{profile: constant, rps: {rps}}}
      timeout: 5s
  backends:
    - {{deployment: api, serviceTime: {{distribution: exponential, mean: 10ms}}}}
    {slow_backend}
"""

SLOW = """
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: slow}
    spec:
      replicas: 1
      selector: {matchLabels: {app: api, tier: slow}}
      template:
        metadata: {labels: {app: api, tier: slow}}
        spec: {containers: [{name: api, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
"""


def _run(scheduler: str | None, *, replicas: int = 3, clients: int = 10_000, rps: float = 20,
         nodes: int = 1, slow: bool = False, duration: str = "3m"):  # noqa: ANN202
    proxy = ("" if scheduler is None else
             f"kubeProxyConfig: {{mode: IPVS, ipvsConfig: {{scheduler: {scheduler}}}}}")
    text = SCENARIO.format(
        proxy=proxy, replicas=replicas, clients=clients, rps=rps, nodes=nodes, duration=duration,
        slow=SLOW if slow else "",
        slow_backend="- {deployment: slow, serviceTime: 1s}" if slow else "")
    sim, events = make_sim(text)
    sim.run()
    return sim.model.traffic.flows[0], events


# --- the tables on their own ---------------------------------------------------------------


def test_round_robin_tables_are_per_node() -> None:
    """Each node's kube-proxy has its own IPVS table: rr goes round on each node separately."""
    tables = IpvsTables("rr")
    keys = ("a", "b", "c")
    one = tables.server("node-1", "ns/api", keys, 1)
    two = tables.server("node-2", "ns/api", keys, 1)
    assert [tables.pick(one, 0, t) for t in range(4)] == [0, 1, 2, 0]
    assert [tables.pick(two, 0, t) for t in range(2)] == [0, 1]


def test_least_connection_counts_active_then_inactive() -> None:
    """lc: fewest ``active*256 + inactive``; a closed connection stays inactive for the FIN
    timeout, then leaves the count (ip_vs_lc.c, ip_vs_proto_tcp.c)."""
    tables = IpvsTables("lc", fin_timeout=120.0)
    vs = tables.server("n", "ns/api", ("a", "b"), 1)
    assert tables.pick(vs, 0, 0.0) == 0      # a tie: the first server
    vs.open(0, 10.0)                          # a's connection is active until t=10
    assert tables.pick(vs, 0, 1.0) == 1       # a has 1 active: b
    vs.open(1, 2.0)
    # at t=5 b's connection ended (inactive, weight 1) but a's is active (weight 256)
    assert tables.pick(vs, 0, 5.0) == 1
    # at t=20 both ended: a inactive 1, b inactive 1, tie goes to a
    assert tables.pick(vs, 0, 20.0) == 0
    vs.open(0, 21.0)
    # at t=130 a's 2nd connection is still inactive (ended 21 < 130 < 141); b's expired at 122
    assert tables.pick(vs, 0, 130.0) == 1


def test_endpoint_change_keeps_connections_of_the_servers_that_stay() -> None:
    tables = IpvsTables("lc")
    vs = tables.server("n", "ns/api", ("a", "b"), 1)
    vs.open(1, 100.0)
    vs2 = tables.server("n", "ns/api", ("b", "c"), 1)
    assert vs2 is not vs
    assert tables.pick(vs2, 0, 1.0) == 1      # b still has its active connection: c


def test_unknown_scheduler_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown IPVS scheduler"):
        IpvsTables("fastest")


# --- in the request path -------------------------------------------------------------------


def test_round_robin_spreads_exactly_in_turn() -> None:
    """rr (the default scheduler, AKS's RoundRobin) through one node: the pods' counts differ
    by at most one; iptables' random choice does not do that."""
    flow, _ = _run("RoundRobin")
    counts = sorted(flow.per_pod.values())
    assert len(counts) == 3 and sum(counts) > 3000
    assert counts[-1] - counts[0] <= 1
    random_flow, _ = _run(None)
    spread = sorted(random_flow.per_pod.values())
    assert spread[-1] - spread[0] > 1


def test_source_hashing_keeps_each_client_on_one_backend() -> None:
    """sh hashes the source address: 2 clients reach at most 2 of 6 pods (rr uses all 6)."""
    flow, _ = _run("sh", replicas=6, clients=2)
    assert 1 <= len(flow.per_pod) <= 2
    rr, _ = _run("rr", replicas=6, clients=2)
    assert len(rr.per_pod) == 6


def test_least_connection_avoids_the_busy_pod() -> None:
    """A Service over 3 fast pods (10 ms) and one slow one (1 s): rr hands the slow pod a
    quarter of the connections, more than it can serve (5 rps > 1/s), so they time out; lc
    sees its connections pile up and sends it far fewer."""
    rr, _ = _run("rr", slow=True, rps=20)
    lc, _ = _run("lc", slow=True, rps=20)
    slow_rr = sum(c for p, c in rr.per_pod.items() if p.startswith("slow"))
    slow_lc = sum(c for p, c in lc.per_pod.items() if p.startswith("slow"))
    assert slow_rr >= 0.24 * sum(rr.per_pod.values())
    assert slow_lc < 0.5 * slow_rr
    assert lc.totals[1] < 0.5 * rr.totals[1]    # timeouts (sim.traffic.controller.TIMEOUT)


def test_iptables_mode_is_the_default_and_unchanged() -> None:
    """Without kubeProxyConfig the run is what mode IPTABLES gives, event for event."""
    _, default = _run(None, duration="1m")
    text = SCENARIO.format(proxy="kubeProxyConfig: {mode: IPTABLES}", replicas=3, clients=10000,
                           rps=20, nodes=1, duration="1m", slow="", slow_backend="")
    sim, explicit = make_sim(text)
    sim.run()
    assert [e.event for e in explicit] == [e.event for e in default]


BOTH = """
duration: 3m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  kubeProxyConfig: {mode: IPVS}
  nodePools:
    - {name: system, mode: System, count: 1, vmSize: Standard_D8s_v3}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 1
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec: {containers: [{name: api, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: api}
    spec: {type: LoadBalancer, selector: {app: api}, ports: [{port: 80}]}
traffic:
  flows:
    - name: users
      to: {service: api}
      rate: {profile: constant, rps: 20}
    - name: calls
      from: pods
      client: web
      to: {service: api}
      rate: {profile: constant, rps: 20}
"""


def test_load_balancer_ip_and_cluster_ip_are_separate_virtual_servers() -> None:
    """IPVS has a virtual server per address a Service is reached on: connections through the
    load balancer IP and to the ClusterIP go round on their own, each exactly (had they shared
    one rr position, each flow's share would drift with how the two interleave)."""
    sim, _ = make_sim(BOTH)
    sim.run()
    for flow in sim.model.traffic.flows:
        counts = sorted(flow.per_pod.values())
        assert len(counts) == 3 and sum(counts) > 3000, flow.spec.name
        assert counts[-1] - counts[0] <= 1, (flow.spec.name, counts)
