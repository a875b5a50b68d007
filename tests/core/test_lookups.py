"""Pods looking names up at CoreDNS: overload timeouts (resolv.conf timeout x attempts), the
UDP conntrack imbalance, forwarding to the VNet resolver with CoreDNS's cache, and
ExternalName / headless Services (AKS-NETWORKING.md section 7; coredns-troubleshoot.md;
resolv.conf(5); kubernetes dns-pod-service)."""

from __future__ import annotations

import numpy as np
from simkit import make_sim

from sim.outcomes import LATENCY_EDGES, quantile


def _slowest_bucket_floor(hist: np.ndarray) -> float:
    """The lower edge of the highest latency bucket anything landed in."""
    return float(LATENCY_EDGES[int(np.flatnonzero(hist).max())])


def _at_least(hist: np.ndarray, seconds: float) -> int:
    """How many latencies landed in buckets starting at or above *seconds*' bucket."""
    return int(hist[np.searchsorted(LATENCY_EDGES, seconds, side="right") - 1:].sum())

SCENARIO = """
duration: {duration}
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {{name: system, mode: System, count: 2, vmSize: Standard_D8s_v3}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web}}
    spec:
      replicas: {web}
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec: {{containers: [{{name: web, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: api}}
    spec:
      replicas: 2
      selector: {{matchLabels: {{app: api}}}}
      template:
        metadata: {{labels: {{app: api}}}}
        spec: {{containers: [{{name: api, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: api}}
    spec: {{selector: {{app: api}}, ports: [{{port: 80}}]}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: partner}}
    spec: {{type: ExternalName, externalName: api.partner.example, ports: [{{port: 443}}]}}
traffic:
  networkLatency: 0s
  flows:
    - name: calls
      from: pods
      client: web
      to: {{service: {target}}}
      rate: {{profile: constant, rps: {rps}}}
      timeout: 30s
      {extra}
  coredns:
    replicas: {replicas}
    {coredns}
"""


def _run(*, target: str = "api", rps: float = 20, replicas: int = 2, web: int = 1,
         extra: str = "", coredns: str = "", duration: str = "2m"):  # noqa: ANN202
    sim, events = make_sim(SCENARIO.format(target=target, rps=rps, replicas=replicas, web=web,
                                           extra=extra, coredns=coredns, duration=duration))
    report = sim.run()
    return sim, report.figures


def test_overloaded_coredns_fails_lookups_after_timeout_times_attempts() -> None:
    """One CoreDNS pod with one worker at 10 ms a query serves 100 lookups/s; at 300/s its
    queue grows 2 s per second, so after ~5 s replies come later than 5 s x 2 attempts and
    those lookups fail (dns_failure), each at 10 s after it was sent. The lookups that
    succeed waited at most 10 s (without the resolver's limit they would wait up to a
    minute). With enough CoreDNS capacity none fails."""
    overload = "serviceTime: 10ms\n    concurrency: 1"
    sim, figures = _run(rps=300, replicas=1, coredns=overload, duration="1m")
    assert figures["flow.calls.cause.dns_failure"] > 0.5 * figures["flow.calls.requests"]
    flow = sim.model.traffic.flows[0]
    assert _slowest_bucket_floor(flow.latency_total) <= 10.5  # plus the call itself
    _, fine = _run(rps=300, replicas=1, coredns="serviceTime: 10ms\n    concurrency: 4",
                   duration="1m")
    assert fine.get("flow.calls.cause.dns_failure", 0) == 0


def test_first_dns_failures_come_ten_seconds_after_the_queue_passes_ten_seconds() -> None:
    """The first failed lookup was sent once the backlog passed 10 s (about 5 s in) and is
    counted when the resolver gives up, 10 s later: no failure shows before ~15 s."""
    from simkit import make_sim as build

    sim, events = build(SCENARIO.format(target="api", rps=300, replicas=1, web=1, extra="",
                                        coredns="serviceTime: 10ms\n    concurrency: 1",
                                        duration="40s"))
    sim.run()
    failing = [e.event.start for e in events if e.event.reason == "TrafficTick"
               and "dns_failure" in e.event.errors]
    assert failing and 14.0 <= min(failing) <= 16.0


def test_reused_source_port_sticks_each_client_pod_to_one_coredns_pod() -> None:
    """A resolver keeping one UDP socket keeps its conntrack entry (30 s) while it queries:
    one client pod's lookups all reach one of 3 CoreDNS pods; with a socket per lookup they
    spread over all 3 (coredns-troubleshoot.md)."""
    sim, figures = _run(replicas=3, extra="dnsSourcePort: reused")
    assert len(sim.model.traffic.lookups.dns_by_pod) == 1 and figures["coredns.maxPodShare"] == 1.0
    sim, figures = _run(replicas=3)
    counts = sim.model.traffic.lookups.dns_by_pod
    assert len(counts) == 3 and min(counts.values()) > 0.2 * sum(counts.values())
    assert figures["coredns.maxPodShare"] < 0.4


def test_external_name_is_a_cname_resolved_upstream_then_called_out() -> None:
    """An ExternalName Service: CoreDNS answers with a CNAME and forwards the target to the VNet
    resolver; the pod then connects out of the cluster (through SNAT) to the external name."""
    # 3 new connections a second hold at most 3 x (2 min) SNAT ports: below the 1,024
    sim, figures = _run(target="partner", rps=3,
                        coredns="upstreamLatency: 40ms\n    serviceTime: 0.1ms")
    flow = sim.model.traffic.flows[0]
    assert figures["flow.calls.errors"] == 0 and figures["flow.calls.requests"] > 300
    assert flow.dest == "api.partner.example:443"
    assert flow.per_pod == {}                        # no pod of the cluster answered
    assert sim.model.traffic.snat.peak_in_use > 0   # it took SNAT ports on its way out
    _, busy = _run(target="partner", rps=20)      # 20/s hold 20 x 240 s of ports: too many
    assert busy["flow.calls.cause.snat_exhausted"] > 0


def test_forwarded_names_wait_for_upstream_only_on_a_cache_miss() -> None:
    """cache 30: each CoreDNS pod forwards the name at most once per 30 s; the lookups that
    miss wait the upstream round trip (here 2 s, so they are easy to tell from the rest)."""
    sim, _ = _run(target="partner", coredns="upstreamLatency: 2s", duration="2m")
    flow = sim.model.traffic.flows[0]
    slow = _at_least(flow.latency_total, 2.0)
    assert 0 < slow < 0.05 * int(flow.latency_total.sum())
    sim, _ = _run(target="partner", coredns="upstreamLatency: 2s\n    cacheTtl: 0s",
                  duration="2m")
    assert quantile(sim.model.traffic.flows[0].latency_total, 0.5) >= 1.9



def test_external_name_is_called_on_the_port_the_client_asks_for() -> None:
    """An ExternalName has no ports of its own to map: the client's port is the far end's."""
    sim, figures = _run(target="partner, port: 8443", rps=3)
    assert sim.model.traffic.flows[0].dest == "api.partner.example:8443"
    assert figures["flow.calls.errors"] == 0


def test_resent_queries_add_to_the_overloaded_coredns_queue() -> None:
    """A lookup unanswered after 5 s is sent again (attempts:2) into the same pod's queue:
    CoreDNS serves more queries than the lookups asked for. With attempts:1 nothing is resent;
    without overload nothing either."""
    overload = "serviceTime: 10ms\n    concurrency: 1"
    sim, _ = _run(rps=300, replicas=1, coredns=overload, duration="1m")
    traffic = sim.model.traffic
    coredns = next(iter(sim.model.workloads.find("kube-system/coredns").pods.values()))
    assert traffic.lookups.dns_resends > 1000
    assert coredns.queue.served == traffic.flows[0].dns_total + traffic.lookups.dns_resends
    once, _ = _run(rps=300, replicas=1, coredns=overload + "\n    attempts: 1", duration="1m")
    assert once.model.traffic.lookups.dns_resends == 0
    calm, _ = _run(rps=20, replicas=1, coredns=overload, duration="1m")
    assert calm.model.traffic.lookups.dns_resends == 0


def test_ipvs_round_robin_spreads_lookups_over_coredns_pods_in_turn() -> None:
    """In IPVS mode the kube-dns virtual server of the client's node schedules each new UDP
    connection: with rr and a socket per lookup, the 3 CoreDNS pods take turns exactly; a
    reused source port keeps its IPVS entry (5 min) and stays on one pod."""
    text = SCENARIO.replace("  networkPluginMode: overlay\n",
                            "  networkPluginMode: overlay\n  kubeProxyConfig: {{mode: IPVS}}\n")
    sim, events = make_sim(text.format(target="api", rps=20, replicas=3, web=1, extra="",
                                       coredns="", duration="2m"))
    sim.run()
    counts = sorted(sim.model.traffic.lookups.dns_by_pod.values())
    assert len(counts) == 3 and sum(counts) > 2000 and counts[-1] - counts[0] <= 1
    sim, events = make_sim(text.format(target="api", rps=20, replicas=3, web=1,
                                       extra="dnsSourcePort: reused", coredns="", duration="2m"))
    sim.run()
    assert len(sim.model.traffic.lookups.dns_by_pod) == 1
