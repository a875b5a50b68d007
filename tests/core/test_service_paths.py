"""Pods calling a Service by name: the ClusterIP through the client node's kube-proxy
(internalTrafficPolicy, IPVS), or a headless Service's pod IPs straight from DNS
(virtual-ips.md, service.md#headless-services, service-traffic-policy.md)."""

from __future__ import annotations

from simkit import make_sim

SCENARIO = """
duration: 2m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  {proxy}
  nodePools:
    - {{name: system, mode: System, count: 1, vmSize: Standard_D8s_v3}}
    - {{name: front, count: 1, vmSize: Standard_D8s_v3}}
    - {{name: back, count: 1, vmSize: Standard_D8s_v3}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web}}
    spec:
      replicas: {web}
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec:
          nodeSelector: {{agentpool: front}}
          containers: [{{name: web, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: api-front}}
    spec:
      replicas: {near}
      selector: {{matchLabels: {{app: api, at: front}}}}
      template:
        metadata: {{labels: {{app: api, at: front}}}}
        spec:
          nodeSelector: {{agentpool: front}}
          containers: [{{name: api, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: api-back}}
    spec:
      replicas: 2
      selector: {{matchLabels: {{app: api, at: back}}}}
      template:
        metadata: {{labels: {{app: api, at: back}}}}
        spec:
          nodeSelector: {{agentpool: back}}
          containers: [{{name: api, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]
  - apiVersion: v1
    kind: Service
    metadata: {{name: api}}
    spec:
      selector: {{app: api}}
      ports: [{{port: 80}}]
      internalTrafficPolicy: {itp}
      {headless}
traffic:
  flows:
    - name: calls
      from: pods
      client: web
      to: {{service: api}}
      rate: {{profile: constant, rps: 20}}
      timeout: 3s
"""


def _run(*, itp: str = "Cluster", near: int = 1, headless: bool = False, proxy: str = "",
         web: int = 1):  # noqa: ANN202
    sim, _ = make_sim(SCENARIO.format(itp=itp, near=near, proxy=proxy, web=web,
                                      headless="clusterIP: None" if headless else ""))
    report = sim.run()
    return sim.model.traffic.flows[0], report.figures


def test_internal_traffic_policy_local_keeps_calls_on_the_client_node() -> None:
    """internalTrafficPolicy Local: only endpoints on the client pod's node (the front pool);
    Cluster: any endpoint."""
    local, figures = _run(itp="Local")
    assert set(local.per_pod) and all(p.startswith("api-front") for p in local.per_pod)
    assert figures["flow.calls.errors"] == 0
    spread, _ = _run(itp="Cluster")
    assert any(p.startswith("api-back") for p in spread.per_pod)


def test_internal_traffic_policy_local_without_a_local_endpoint_drops() -> None:
    """No endpoint on the client's node: kube-proxy drops the packets (no_local_endpoint) even
    though the Service has endpoints elsewhere."""
    _, figures = _run(itp="Local", near=0)
    assert figures["flow.calls.cause.no_local_endpoint"] == figures["flow.calls.requests"] > 0


def test_headless_service_goes_straight_to_pods() -> None:
    """clusterIP: None: DNS answers with the pods' IPs and the client connects to one of
    them; no kube-proxy, so internalTrafficPolicy Local changes nothing."""
    flow, figures = _run(itp="Local", headless=True)
    assert figures["flow.calls.errors"] == 0
    assert any(p.startswith("api-back") for p in flow.per_pod)
    assert any(p.startswith("api-front") for p in flow.per_pod)


def test_ipvs_round_robin_per_client_node() -> None:
    """IPVS rr on the client pods' node: its connections to the 3 endpoints go in turn."""
    flow, figures = _run(proxy="kubeProxyConfig: {mode: IPVS}", web=2)
    counts = sorted(flow.per_pod.values())
    assert figures["flow.calls.errors"] == 0 and len(counts) == 3 and sum(counts) > 1000
    assert counts[-1] - counts[0] <= 1


def test_ipvs_source_hashing_keeps_a_client_pod_on_one_endpoint() -> None:
    """IPVS sh hashes the client pod's IP: one client pod reaches one endpoint."""
    flow, _ = _run(proxy="kubeProxyConfig: {mode: IPVS, ipvsConfig: {scheduler: sh}}", web=1)
    assert len(flow.per_pod) == 1


def test_client_ip_affinity_keeps_a_client_pod_on_one_endpoint() -> None:
    """sessionAffinity ClientIP applies to pods calling the ClusterIP too: one client pod's
    connections all go to the endpoint it used first (within timeoutSeconds), in iptables and
    in IPVS mode (persistence); without affinity they reach all 3."""
    affinity = "sessionAffinity: ClientIP"  # in the Service spec, where {headless} goes
    for proxy in ("", "kubeProxyConfig: {mode: IPVS}"):
        sim, _ = make_sim(SCENARIO.format(itp="Cluster", near=1, proxy=proxy, web=1,
                                          headless=affinity))
        sim.run()
        assert len(sim.model.traffic.flows[0].per_pod) == 1, proxy
    spread, _ = _run()
    assert len(spread.per_pod) == 3
