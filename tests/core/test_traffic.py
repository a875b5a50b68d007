"""Request traffic against theory and the documented timings (AKS-NETWORKING.md 3, 4, 8)."""

from __future__ import annotations

import json

import numpy as np
from simkit import make_sim

from sim.queueing.theory import mmc
from sim.traffic.flows import rate_at

BASE = """
duration: {duration}
seed: 4
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {{name: system, mode: System, count: 1}}
    - {{name: user, count: {nodes}, zones: ["1"]}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: api}}
    spec:
      replicas: {replicas}
      selector: {{matchLabels: {{app: api}}}}
      template:
        metadata: {{labels: {{app: api}}}}
        spec:
          nodeSelector: {{agentpool: user}}
          containers:
            - name: api
              resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: api}}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: {etp}
      selector: {{app: api}}
      ports: [{{port: 80}}]
traffic:
  networkLatency: 0s
  flows:
    - name: users
      to: {{service: api}}
      rate: {{profile: constant, rps: {rps}}}
      timeout: {timeout}
  backends:
    - deployment: api
      serviceTime: {{distribution: exponential, mean: {mean}}}
      concurrency: {concurrency}
"""


def scenario(*, duration: str = "10m", nodes: int = 3, replicas: int = 3, etp: str = "Cluster",
             rps: float = 100, timeout: str = "30s", mean: str = "10ms", concurrency: int = 1,
             extra: str = "") -> str:
    return BASE.format(duration=duration, nodes=nodes, replicas=replicas, etp=etp, rps=rps,
                       timeout=timeout, mean=mean, concurrency=concurrency) + extra


def ticks(events: list) -> list:
    return [e.event for e in events if e.event.reason == "TrafficTick"]


def test_one_pod_is_an_mm1_queue() -> None:
    """Poisson arrivals at 50/s into one pod serving exponential 10 ms requests: the mean
    response time is 1/(mu - lam) = 20 ms (M/M/1), and the pod is busy rho = 50% of the time."""
    sim, _ = make_sim(scenario(duration="40m", nodes=1, replicas=1, rps=50))
    sim.run()
    flow = sim.model.traffic.flows[0]
    queue = next(iter(sim.model.workloads.find("api").pods.values())).queue
    theory = mmc(50, 100, 1)
    assert theory is not None
    mean_w = (queue.wait_time + queue.busy_time) / queue.served
    assert abs(mean_w - theory.W) / theory.W < 0.05
    assert abs(queue.busy_time / 2400 - theory.rho) < 0.02
    # Poisson counts: 120,000 expected, within 5 standard deviations
    assert abs(int(flow.totals.sum()) - 50 * 2400) < 5 * np.sqrt(50 * 2400)
    # the latency quantiles the flow reports agree with M/M/1's exponential sojourn time:
    # P(T > t) = exp(-(mu - lam) t), so p50 = ln 2 / 50 = 13.9 ms (histogram buckets: +-10%)
    from sim.outcomes import quantile
    assert abs(quantile(flow.latency_total, 0.5) - np.log(2) / 50) / (np.log(2) / 50) < 0.1


def test_iptables_spreads_requests_evenly_over_endpoints() -> None:
    """kube-proxy iptables picks each endpoint with probability 1/n (proxier.go)."""
    sim, _ = make_sim(scenario(replicas=6, rps=300))
    sim.run()
    flow = sim.model.traffic.flows[0]
    counts = np.array(list(flow.per_pod.values()), float)
    assert len(counts) == 6
    expected = counts.sum() / 6
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 20.5  # chi-square, 5 degrees of freedom, p = 0.001


def test_node_failure_errors_last_until_not_ready_plus_propagation() -> None:
    """Requests to pods of a dead node fail until the node is NotReady (40 s grace, checked
    every 5 s) and the endpoints update (1 s) -- then clients see no more errors."""
    extra = "\nchaos:\n  - {at: 5m, fault: node_failure, nodePool: user, fixedBy: nothing}\n"
    sim, events = make_sim(scenario(timeout="2s", extra=extra))
    sim.run()
    bad = [e.start for e in ticks(events) if e.requests - e.ok > 0]
    assert bad, "a dead node's endpoints must fail some requests"
    assert min(bad) >= 300
    # last request sent to a dead endpoint leaves before NotReady + propagation + one tick
    assert max(bad) <= 300 + 45 + 1 + 1 + 2
    causes = {}
    for e in ticks(events):
        for k, v in json.loads(e.errors).items():
            causes[k] = causes.get(k, 0) + v
    assert set(causes) <= {"dead_endpoint", "dead_node"} and causes["dead_endpoint"] > 0


def test_load_balancer_stops_sending_to_a_dead_node_after_two_failed_probes() -> None:
    """AKS probes every 5 s and takes a backend out after 2 failures: dead_node errors stop
    within 10 s (+ one interval of phase) of the failure."""
    extra = "\nchaos:\n  - {at: 5m, fault: node_failure, nodePool: user, fixedBy: nothing}\n"
    sim, events = make_sim(scenario(timeout="1s", extra=extra))
    sim.run()
    dead_node = [e.start for e in ticks(events) if "dead_node" in e.errors]
    assert dead_node and max(dead_node) <= 300 + 15 + 1
    lb = sim.model.traffic.flows[0].lb
    assert all(n.alive for n in lb.healthy)


def test_no_ready_endpoint_is_refused_at_once() -> None:
    """kube-proxy REJECTs traffic to a Service without endpoints: refused, not a timeout."""
    extra = "\noperations:\n  - {at: 2m, operation: scale_deployment, deployment: api, replicas: 0}\n"
    sim, events = make_sim(scenario(timeout="5s", extra=extra))
    sim.run()
    late = [e for e in ticks(events) if e.start >= 130]
    assert late and all(e.ok == 0 and "no_endpoint" in e.errors for e in late if e.requests)


def test_external_traffic_policy_local_only_uses_nodes_with_endpoints() -> None:
    """externalTrafficPolicy Local: the LB health check passes only on nodes with a ready local
    endpoint, so nodes without one get no traffic (virtual-ips.md)."""
    sim, _ = make_sim(scenario(nodes=4, replicas=2, etp="Local"))
    sim.run()
    flow = sim.model.traffic.flows[0]
    with_pods = {p.node.name for p in sim.model.workloads.find("api").pods.values()}
    assert set(flow.per_node) == with_pods
    assert {n.name for n in flow.lb.healthy} == with_pods
    assert int(flow.totals[0]) == int(flow.totals.sum())


def test_overload_makes_clients_time_out() -> None:
    """Offered load above capacity: the queue grows and clients give up after the timeout."""
    sim, _ = make_sim(scenario(nodes=1, replicas=1, rps=150, timeout="2s"))
    sim.run()
    flow = sim.model.traffic.flows[0]
    from sim.outcomes import OK, TIMEOUT
    assert int(flow.totals[TIMEOUT]) > int(flow.totals[OK])


def test_rate_profiles() -> None:
    """constant, ramp, step, diurnal and spike give the documented rates."""
    from sim.scenario.schema import Diurnal, Ramp, Spike, Step

    ramp = Ramp.model_validate({"profile": "ramp", "from": 10, "to": 110, "at": "1m", "over": "100s"})
    assert [rate_at(ramp, t) for t in (0, 60, 110, 160, 999)] == [10, 10, 60, 110, 110]
    step = Step.model_validate({"profile": "step", "steps": [{"at": "0s", "rps": 5}, {"at": "1m", "rps": 9}]})
    assert rate_at(step, 59) == 5 and rate_at(step, 60) == 9
    d = Diurnal.model_validate({"profile": "diurnal", "mean": 100, "amplitude": 50, "period": "1h",
                                "peakAt": "30m"})
    assert rate_at(d, 1800) == 150 and abs(rate_at(d, 0) - 50) < 1e-9
    s = Spike.model_validate({"profile": "spike", "base": 1, "peak": 9, "at": "1m", "duration": "30s"})
    assert [rate_at(s, t) for t in (59, 60, 89, 90)] == [1, 9, 9, 1]


POLICY = """
operations:
  - at: 1m
    operation: network_policy
    apply:
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: clients-only}
      spec:
        podSelector: {matchLabels: {app: api}}
        ingress:
          - from: [{ipBlock: {cidr: 203.0.113.0/24}}]
"""


def _denied(etp: str) -> tuple[int, int]:
    text = scenario(nodes=3, replicas=3, etp=etp, duration="3m", extra=POLICY).replace(
        "networkPluginMode: overlay", "networkPluginMode: overlay\n  networkPolicy: calico")
    sim, _ = make_sim(text)
    report = sim.run()
    return (int(report.figures["flow.users.cause.denied"]),
            int(report.figures["flow.users.requests"]))


def test_ip_block_policy_sees_node_addresses_with_cluster_policy() -> None:
    """externalTrafficPolicy Cluster masquerades external traffic: the pod sees a node address,
    so an ipBlock of the clients' range drops what arrives through another node."""
    denied, total = _denied("Cluster")
    # LB picks 1 of 4 nodes (system + 3 user), kube-proxy 1 of 3 pods; allowed only when the
    # pod runs on that node: 1/4 of requests; denied 3/4 of the 2 minutes after the rollout
    assert abs(denied / total - 0.75 * 2 / 3) < 0.03


def test_ip_block_policy_sees_client_addresses_with_local_policy() -> None:
    """externalTrafficPolicy Local keeps the client address: the same policy lets it in."""
    denied, total = _denied("Local")
    assert total > 0 and denied == 0


def test_ingress_routes_by_host_and_path_and_backends_queue_as_mmc() -> None:
    """Through ingress-nginx: host/path rules pick the backend (wildcards cover one label; no
    rule: 404), and each backend pod with 2 workers, 50 rps of 20 ms work, is an M/M/2 queue
    with W = 26.7 ms (closed form)."""
    from pathlib import Path

    from sim.engine import Simulation
    from sim.scenario import load

    root = Path(__file__).resolve().parents[2]
    sim = Simulation(load(str(root / "scenarios" / "ingress-shop.yaml")))
    sim.advance_to(600)  # before the pod kill
    figures = sim.report().figures
    assert figures["flow.typo.cause.no_ingress_rule"] == figures["flow.typo.requests"] > 0
    assert figures["flow.pages.errors"] == 0 and figures["flow.pages.requests"] > 0
    theory = mmc(50, 50, 2)
    assert theory is not None
    for pod in sim.model.workloads.find("shop/cart").pods.values():
        q = pod.queue
        mean = (q.wait_time + q.busy_time) / q.served
        assert abs(mean - theory.W) / theory.W < 0.1, (pod.name, mean, theory.W)


def _lookup_flow(dns_name: str, client_ns: str = "shop") -> str:
    return f"""
duration: 3m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {{name: system, mode: System, count: 2}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web, namespace: {client_ns}}}
    spec:
      replicas: 2
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec: {{containers: [{{name: web, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: api, namespace: shop}}
    spec:
      replicas: 2
      selector: {{matchLabels: {{app: api}}}}
      template:
        metadata: {{labels: {{app: api}}}}
        spec: {{containers: [{{name: api, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: api, namespace: shop}}
    spec: {{selector: {{app: api}}, ports: [{{port: 80}}]}}
traffic:
  flows:
    - name: calls
      from: pods
      client: {client_ns}/web
      to: {{service: shop/api}}
      dnsName: {dns_name}
      rate: {{profile: constant, rps: 20}}
"""


def test_lookups_cost_what_the_search_list_and_ndots_say() -> None:
    """ndots:5 and search <ns>.svc.cluster.local svc.cluster.local cluster.local plus, on an
    Azure-DNS VNet, the node's <vnet>.<region>.internal.cloudapp.net: 'api' from its own
    namespace is 1 query; 'api.shop' from another namespace 2; the full name with a trailing
    dot 1; without it (4 dots < 5) the 4 search domains first, then the name: 5
    (kubernetes dns-pod-service; AKS-NETWORKING.md section 7)."""
    cases = {("api", "shop"): 1, ("api.shop", "other"): 2,
             ("api.shop.svc.cluster.local.", "other"): 1, ("api.shop.svc.cluster.local", "other"): 5}
    for (name, ns), queries in cases.items():
        sim, _ = make_sim(_lookup_flow(name, ns))
        figures = sim.run().figures
        assert figures["flow.calls.dnsQueriesPerLookup"] == queries, (name, ns)
        assert figures["flow.calls.errors"] == 0


def test_a_name_that_does_not_exist_is_a_dns_failure() -> None:
    """NXDOMAIN after the whole search walk: the client never connects."""
    sim, _ = make_sim(_lookup_flow("apj"))
    figures = sim.run().figures
    assert figures["flow.calls.cause.dns_failure"] == figures["flow.calls.requests"] > 0


def test_two_flows_sharing_pods_queue_in_arrival_order() -> None:
    """Two flows of 50 rps each to the same 3 pods (exponential 20 ms): each pod is one M/M/1
    queue at 33.3 rps, W = 1/(50 - 33.3) = 60 ms, whichever flow a request came from
    (regression: a flow's whole tick used to queue behind the other's)."""
    from pathlib import Path

    from sim.engine import Simulation
    from sim.outcomes import quantile
    from sim.scenario import load

    root = Path(__file__).resolve().parents[2]
    sim = Simulation(load(str(root / "scenarios" / "vm-in-peered-vnet-azure-cni.yaml")))
    sim.run()
    theory = mmc(100 / 3, 50, 1)
    assert theory is not None
    for pod in sim.model.workloads.find("erp/inventory").pods.values():
        q = pod.queue
        assert abs((q.wait_time + q.busy_time) / q.served - theory.W) / theory.W < 0.1
    p50 = [quantile(f.latency_total, 0.5) for f in sim.model.traffic.flows]
    assert abs(p50[0] - p50[1]) / p50[0] < 0.1
    assert abs(p50[0] - np.log(2) * theory.W) < 0.01  # plus a few ms of hops


def test_new_ingress_host_waits_for_external_dns_then_its_certificate() -> None:
    """An Ingress applied at 10m: its host resolves at External-DNS's next sync (1 min), its
    certificate is served after the issuance time; before each, clients fail with dns_failure,
    then tls_error; afterwards they are answered."""
    from pathlib import Path

    from sim.engine import Simulation
    from sim.scenario import load

    root = Path(__file__).resolve().parents[2]
    sim = Simulation(load(str(root / "scenarios" / "new-ingress-dns-and-certificate.yaml")))
    events: list = []
    from sim.events import SimEvent
    sim.bus.subscribe(SimEvent, events.append)
    sim.run()
    ticks = [e.event for e in events if e.event.reason == "TrafficTick" and e.event.requests]
    dns = [t.start for t in ticks if "dns_failure" in t.errors]
    tls = [t.start for t in ticks if "tls_error" in t.errors]
    assert min(dns) == 600 and max(dns) < 660          # the next sync after 10m is 11m
    cert = sim.model.traffic.routing.cert_ready["deals.example.com"]
    assert cert is not None and 690 <= cert <= 780       # issuance 90 s to 3 min
    assert min(tls) == 660 and max(tls) < cert
    assert all(t.ok == t.requests for t in ticks if t.start >= cert + 1)


AFFINITY = """
duration: 5m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {{name: system, mode: System, count: 1, vmSize: Standard_D8s_v3}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: api}}
    spec:
      replicas: 6
      selector: {{matchLabels: {{app: api}}}}
      template:
        metadata: {{labels: {{app: api}}}}
        spec: {{containers: [{{name: api, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: api}}
    spec:
      type: LoadBalancer
      selector: {{app: api}}
      ports: [{{port: 80}}]
      {affinity}
traffic:
  flows:
    - name: users
      to: {{service: api}}
      clients: {clients}
      rate: {{profile: constant, rps: {rps}}}
"""


def _pods_used(affinity: str, clients: int, rps: float) -> int:
    sim, _ = make_sim(AFFINITY.format(affinity=affinity, clients=clients, rps=rps))
    sim.run()
    return len(sim.model.traffic.flows[0].per_pod)


def test_client_ip_affinity_keeps_each_client_on_one_endpoint() -> None:
    """sessionAffinity ClientIP: a client's connections go to the endpoint it used last (on
    that node) within timeoutSeconds (default 10,800 s), so 3 clients use at most 3 of 6 pods;
    without affinity they use all 6 (virtual-ips.md)."""
    assert _pods_used("sessionAffinity: ClientIP", 3, 20) <= 3
    assert _pods_used("", 3, 20) == 6


def test_affinity_expires_after_timeout_seconds() -> None:
    """With timeoutSeconds 1 and clients calling every few seconds, each call picks anew."""
    expiring = ("sessionAffinity: ClientIP\n      sessionAffinityConfig: "
                "{clientIP: {timeoutSeconds: 1}}")
    assert _pods_used(expiring, 3, 0.5) == 6


def test_killing_an_ingress_controller_pod_resets_the_requests_it_holds() -> None:
    """ingress-nginx holds each client connection until the backend answers: with a 1 s
    backend and 150 requests a second, ~150 are in flight, half of them through each of the 2
    controller pods; killing one at 10m resets about 75 (before, only backend pods counted)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    text = (root / "scenarios" / "ingress-shop.yaml").read_text()
    text = text.replace("{at: 10m, fault: pod_kill, deployment: shop/cart}",
                        "{at: 10m, fault: pod_kill, deployment: ingress-nginx/ingress-nginx-controller,"
                        " count: 1}")
    text = text.replace("serviceTime: {distribution: exponential, mean: 20ms}\n      concurrency: 2",
                        "serviceTime: 1s\n      concurrency: 200")
    sim, events = make_sim(text)
    sim.advance_to(660)
    resets = sum(json.loads(e.event.errors).get("reset", 0) for e in events
                 if e.event.reason == "TrafficTick" and e.event.flow == "cart")
    assert 40 <= resets <= 120
