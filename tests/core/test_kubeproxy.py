"""kube-proxy endpoint choice, affinity, IPVS schedulers and traffic policy (sim/kubeproxy/).

Each test names its source: kubernetes/kubernetes pkg/proxy (iptables/proxier.go and its
tests, topology.go, healthcheck/), the LVS schedulers in net/netfilter/ipvs/ip_vs_*.c,
xt_recent.c / xt_statistic.c, and kubernetes/website virtual-ips.md.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from fractions import Fraction

import pytest

from sim import kubeproxy as kp
from sim.kernel.rng import Streams

# chi-square critical values at p = 0.001 (standard table), by degrees of freedom
CHI2_CRIT_001 = {1: 10.828, 2: 13.816, 4: 18.467, 6: 22.458, 9: 27.877, 19: 43.820}
NODE = "node-a"
POD_CIDR = "10.0.0.0/8"


def _node() -> kp.ProxyNode:
    return kp.ProxyNode(NODE, ("192.168.0.2",), (POD_CIDR,))


# --- iptables chain --------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 21))
def test_chain_conditionals_multiply_out_to_uniform_marginals(n: int) -> None:
    """proxier.go writeServiceToEndpointRules: rule i matches with 1/(n-i), so P(endpoint i)
    = prod_{j<i}(1 - 1/(n-j)) * 1/(n-i) = 1/n exactly."""
    rules = kp.iptables_chain(n)
    reach = Fraction(1)
    for r in rules:
        assert r.conditional == (Fraction(1, n - r.index) if r.index < n - 1 else 1)
        assert reach * r.conditional == Fraction(1, n) == r.marginal
        reach *= 1 - r.conditional
    assert reach == 0


@pytest.mark.parametrize("n", range(1, 21))
def test_chain_probability_args_are_compute_probability(n: int) -> None:
    """computeProbability: fmt.Sprintf("%0.10f", 1.0/float64(n-i)); the last rule (the only
    one when n == 1) has no statistic match."""
    rules = kp.iptables_chain(n)
    for r in rules[:-1]:
        assert r.probability_arg == "%0.10f" % (1.0 / (n - r.index))
        assert abs(float(r.probability_arg) - 1 / (n - r.index)) <= 5e-11
        assert r.match_args == ("-m", "statistic", "--mode", "random", "--probability", r.probability_arg)
    assert rules[-1].probability_arg is None and rules[-1].match_args == ()


def test_three_endpoint_chain_matches_upstream_literal() -> None:
    """proxier_test.go TestInternalTrafficPolicyE2E: 0.3333333333, 0.5000000000, then none."""
    assert [r.probability_arg for r in kp.iptables_chain(3)] == ["0.3333333333", "0.5000000000", None]


def test_chain_rejects_zero_endpoints() -> None:
    """A Service without endpoints gets a REJECT filter rule, not a chain (proxier.go)."""
    with pytest.raises(ValueError, match="at least one endpoint"):
        kp.iptables_chain(0)


@pytest.mark.parametrize("n", range(1, 21))
def test_o1_picker_marginals_equal_the_chain_walk_exactly(n: int) -> None:
    """The hot-path IptablesPicker draws k = bit_length(n-1) bits, keeps a value below n and
    re-draws otherwise. Feeding it every k-bit value shows each index is kept from exactly
    one value and every other value is re-drawn, so P(i) = (1/2^k) / (n/2^k) = 1/n exactly:
    the ideal chain's marginal."""
    k = (n - 1).bit_length()
    kept: Counter[int] = Counter()
    for value in range(2**k):
        script, asked = iter([value, 0]), []
        rng = random.Random()
        rng.getrandbits = lambda bits, s=script, a=asked: a.append(bits) or next(s)  # type: ignore
        got = kp.IptablesPicker(n, rng).pick()
        assert set(asked) <= {k}
        if value < n:
            assert (got, len(asked)) == (value, 1)
            kept[got] += 1
        else:
            assert (got, len(asked)) == (0, 2)  # rejected, re-drawn
    marginals = [Fraction(kept[i], sum(kept.values())) for i in range(n)]
    assert marginals == [r.marginal for r in kp.iptables_chain(n)] == [Fraction(1, n)] * n


@pytest.mark.parametrize("n", [2, 3, 7, 10, 20])
def test_kernel_quantised_chain_is_uniform_to_1e9(n: int) -> None:
    """libxt_statistic.c stores lround(2^31 * p) and xt_statistic.c matches (u32 & 0x7FFFFFFF)
    < threshold: the real marginals differ from 1/n by well under 1e-9 (and sum to 1)."""
    marginals = kp.kernel_marginals(n)
    assert sum(marginals) == 1
    assert max(abs(m - Fraction(1, n)) for m in marginals) < Fraction(1, 10**9)


@pytest.mark.parametrize(("n", "draws"), [(3, 30000), (5, 50000), (10, 100000), (20, 100000)])
@pytest.mark.parametrize("walker", [kp.IptablesPicker, kp.ChainWalker])
def test_picker_empirical_distribution_passes_chi_square(n: int, draws: int, walker: type) -> None:
    """kubeproxy_cases.yaml iptables-sampling-acceptance generalised: counts from a fixed seed
    stay under the chi-square critical value at p = 0.001 (df = n-1)."""
    pick = walker(n, Streams(7)["kubeproxy"]).pick
    counts = Counter(pick() for _ in range(draws))
    mean = draws / n
    chi2 = sum((counts[i] - mean) ** 2 / mean for i in range(n))
    assert set(counts) == set(range(n))
    assert chi2 < CHI2_CRIT_001[n - 1]


def test_pickers_are_deterministic_per_seed() -> None:
    """DESIGN.md: same seed, same named stream, same draws."""
    a = kp.IptablesPicker(7, Streams(3)["kubeproxy"])
    b = kp.IptablesPicker(7, Streams(3)["kubeproxy"])
    assert [a.pick() for _ in range(100)] == [b.pick() for _ in range(100)]


def test_picker_cost_is_far_below_a_microsecond() -> None:
    """DESIGN.md hot path: a pick is a plain call (measured ~60 ns; generous 2 us guard)."""
    pick = kp.IptablesPicker(10, random.Random(1)).pick
    best = min(_time_picks(pick, 100_000) for _ in range(3))
    assert best < 2e-6


def _time_picks(pick: object, k: int) -> float:
    f = pick  # bound method: no attribute lookups inside the loop
    t0 = time.perf_counter()
    for _ in range(k):
        f()  # type: ignore[operator]
    return (time.perf_counter() - t0) / k


# --- session affinity ------------------------------------------------------------------------


def test_affinity_holds_at_exactly_the_timeout_and_expires_after() -> None:
    """xt_recent.c skips a stamp only when time_after(now - seconds, stamp), i.e. when
    now - stamp > seconds: at exactly the timeout the client is still sticky."""
    table = kp.AffinityTable()
    assert table.timeout == kp.DEFAULT_AFFINITY_TIMEOUT == 10800.0
    table.record("10.0.0.2", "ep-1", 50.0)
    assert table.lookup("10.0.0.2", 50.0 + 10800.0) == "ep-1"
    assert table.lookup("10.0.0.2", 50.0 + 10800.0 + 1e-9) is None
    assert len(table) == 0  # --reap


def test_each_new_connection_refreshes_affinity() -> None:
    """The KUBE-SEP chain's '-m recent --set' restamps the client on every new connection."""
    t = 100.0
    sticky = kp.StickyPicker(["a", "b", "c"], kp.IptablesPicker(3, random.Random(5)), kp.AffinityTable(t))
    first = sticky.pick("10.0.0.9", 0.0)
    assert all(sticky.pick("10.0.0.9", now) == first for now in (90.0, 180.0, 270.0))
    assert sticky.table.lookup("10.0.0.9", 270.0 + t) == ["a", "b", "c"][first]


def test_affinity_to_a_removed_endpoint_is_repicked() -> None:
    """The removed endpoint's rcheck rule is gone with its KUBE-SEP chain, so the client
    falls through to the random rules."""
    table = kp.AffinityTable()
    table.record("c1", "gone:80", 0.0)
    sticky = kp.StickyPicker(["x:80"], kp.IptablesPicker(1, random.Random(1)), table)
    assert sticky.pick("c1", 1.0) == 0 and table.lookup("c1", 1.0) == "x:80"


@pytest.mark.parametrize("bad", [0, -1, 86400.5, 100000])
def test_affinity_timeout_bounds(bad: float) -> None:
    """API validation: 0 < timeoutSeconds <= 86400 (MaxClientIPServiceAffinitySeconds)."""
    assert kp.validate_affinity_timeout(86400) == kp.MAX_AFFINITY_TIMEOUT
    with pytest.raises(ValueError, match="timeoutSeconds"):
        kp.AffinityTable(bad)


# --- IPVS schedulers -------------------------------------------------------------------------


def test_default_scheduler_is_rr() -> None:
    """pkg/proxy/ipvs/proxier.go: 'IPVS scheduler not specified, use rr by default'."""
    assert kp.resolve_scheduler("") == kp.resolve_scheduler(None) == kp.DEFAULT_SCHEDULER == "rr"
    assert isinstance(kp.IpvsService(3).scheduler, kp.RoundRobin)
    with pytest.raises(ValueError, match="expected one of rr, wrr"):
        kp.resolve_scheduler("fastest")


def test_rr_cycles_in_order_and_skips_quiesced_servers() -> None:
    """ip_vs_rr.c: next destination after the last one, weight 0 is quiesced."""
    svc = kp.IpvsService(3, "rr")
    assert [svc.pick() for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    quiesced = kp.IpvsService(3, "rr", weights=[1, 0, 1])
    assert [quiesced.pick() for _ in range(4)] == [0, 2, 0, 2]
    assert kp.IpvsService(2, "rr", weights=[0, 0]).pick() == -1


def test_wrr_interleaves_by_weight() -> None:
    """ip_vs_wrr.c: current weight steps down by the gcd from the max: 3:2:1 gives
    A A B A B C."""
    svc = kp.IpvsService(3, "wrr", weights=[3, 2, 1])
    assert [svc.pick() for _ in range(12)] == [0, 0, 1, 0, 1, 2] * 2
    even = kp.IpvsService(2, "wrr", weights=[4, 2])
    assert [even.pick() for _ in range(6)] == [0, 0, 1, 0, 0, 1]


def test_lc_picks_least_connections_first_on_ties() -> None:
    """ip_vs_lc.c: least activeconns*256 + inactconns, the first such server on a tie."""
    svc = kp.IpvsService(3, "lc")
    svc.active[:] = [3, 1, 1]
    assert svc.pick() == 1
    svc.inactive[:] = [0, 5, 0]
    assert svc.pick() == 2
    fill = kp.IpvsService(3, "lc")
    for _ in range(9):
        fill.connect(fill.pick())
    assert fill.active == [3, 3, 3]


def test_wlc_divides_by_weight() -> None:
    """ip_vs_wlc.c: least overhead/weight, compared as loh*w_d > doh*w_least."""
    svc = kp.IpvsService(2, "wlc", weights=[1, 3])
    svc.active[:] = [1, 2]  # 256/1 vs 512/3
    assert svc.pick() == 1
    svc.active[:] = [1, 3]  # 256/1 vs 768/3: a tie keeps the first
    assert svc.pick() == 0


def test_sed_is_shortest_expected_delay() -> None:
    """ip_vs_sed.c: minimise (C+1)/U; the +1 makes it differ from wlc."""
    svc = kp.IpvsService(2, "sed", weights=[1, 3])
    svc.active[:] = [0, 1]  # 1/1 vs 2/3
    assert svc.pick() == 1
    svc.active[:] = [1, 5]  # 2/1 vs 6/3: tie, first wins
    assert svc.pick() == 0


def test_nq_sends_to_an_idle_server_first() -> None:
    """ip_vs_nq.c: a server with no active connections is taken at once, else as sed."""
    svc = kp.IpvsService(3, "nq", weights=[10, 1, 1])
    svc.active[:] = [1, 3, 0]
    assert svc.pick() == 2  # sed would prefer the heavy server: 2/10
    svc.active[:] = [1, 3, 4]
    assert svc.pick() == 0


def test_sh_is_sticky_per_source_and_spreads_sources() -> None:
    """ip_vs_sh.c: bucket hash_32(saddr, 8) of a 256-bucket table dealt round-robin."""
    ip = kp.ip_to_int
    svc = kp.IpvsService(4, "sh", vip=ip("172.30.0.10"))
    for client in ("10.1.2.3", "10.9.8.7", "203.0.113.2"):
        first = svc.pick(ip(client))
        svc.connect(first)
        assert all(svc.pick(ip(client)) == first for _ in range(20))
    spread = Counter(svc.pick(ip("10.0.0.0") + 7919 * i) for i in range(4000))
    assert set(spread) == {0, 1, 2, 3} and min(spread.values()) > 800


def test_dh_sends_a_whole_service_to_one_server() -> None:
    """ip_vs_dh.c hashes the destination; under kube-proxy that is always the Service VIP."""
    ip = kp.ip_to_int
    svc = kp.IpvsService(5, "dh", vip=ip("172.30.0.10"))
    assert len({svc.pick(ip("10.0.0.0") + i) for i in range(500)}) == 1


def test_lblc_keeps_a_destination_until_overloaded() -> None:
    """ip_vs_lblc.c is_overloaded: activeconns > weight while another server is under half."""
    svc = kp.IpvsService(2, "lblc", weights=[2, 4], vip=7)
    assert svc.pick() == 0  # first wlc pick: both idle, the first wins
    svc.active[:] = [2, 0]
    assert svc.pick() == 0  # busy but not over its weight: stays
    svc.active[:] = [3, 0]
    assert svc.pick() == 1  # 3 > 2 while server 1 is under half load: re-scheduled by wlc
    svc.active[:] = [3, 9]
    assert svc.pick() == 1  # the destination now belongs to server 1


def test_every_kube_proxy_scheduler_is_registered() -> None:
    """validation.go: rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq (virtual-ips.md)."""
    assert list(kp.IPVS_SCHEDULERS) == ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq"]
    for name in kp.IPVS_SCHEDULERS:
        assert kp.IpvsService(3, name).pick(1) in (0, 1, 2)


# --- traffic policy --------------------------------------------------------------------------


def _eps() -> list[kp.Endpoint]:
    return [kp.Endpoint("10.0.1.1", 80, NODE), kp.Endpoint("10.0.1.2", 80, "node-b"),
            kp.Endpoint("10.0.1.3", 80, "node-c")]


def test_internal_traffic_policy() -> None:
    """proxier_test.go TestInternalTrafficPolicyE2E: Cluster hits all, Local only the local
    endpoint, Local without one DROPs; no endpoints at all REJECTs."""
    cluster = kp.ServicePort("ns1", "svc1", "172.30.1.1", 80)
    local = kp.ServicePort("ns1", "svc1", "172.30.1.1", 80, internal_traffic_policy="Local")
    assert kp.reachable_endpoints(cluster, _eps(), NODE) == frozenset(_eps())
    assert kp.reachable_endpoints(local, _eps(), NODE) == frozenset(_eps()[:1])
    assert kp.reachable_endpoints(local, _eps(), "node-z") is kp.Verdict.DROP
    assert kp.reachable_endpoints(cluster, [], NODE) is kp.Verdict.REJECT


def test_external_traffic_policy_cluster_snats_to_any_node_endpoint() -> None:
    """virtual-ips.md: Cluster: every node is eligible and traffic is SNAT'd (client IP lost)."""
    svc = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80, type="LoadBalancer", node_port=30001,
                         load_balancer_ips=("1.2.3.4",))
    r = kp.route(svc, _eps()[1:], _node(), "203.0.113.2", "1.2.3.4", 80)
    assert set(r.endpoints) == set(_eps()[1:]) and r.masquerade and not r.client_ip_preserved


def test_external_traffic_policy_local() -> None:
    """proxier_test.go TestExternalTrafficPolicyLocal / onlyLocalNodePorts: external traffic
    reaches only the local endpoint, unmasqueraded; pod traffic is short-circuited to all
    endpoints; without a local endpoint external traffic is DROPped."""
    svc = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80, type="LoadBalancer", node_port=30001,
                         load_balancer_ips=("1.2.3.4",), external_traffic_policy="Local")
    node = _node()
    for dest in (("1.2.3.4", 80), ("192.168.0.2", 30001)):
        r = kp.route(svc, _eps(), node, "203.0.113.2", *dest)
        assert r.endpoints == (_eps()[0],) and r.client_ip_preserved and r.chain == "KUBE-SVL"
    pod = kp.route(svc, _eps(), node, "10.0.0.2", "192.168.0.2", 30001)
    assert set(pod.endpoints) == set(_eps()) and not pod.masquerade
    host = kp.route(svc, _eps(), node, "192.168.0.2", "1.2.3.4", 80)
    assert set(host.endpoints) == set(_eps()) and host.masquerade
    dropped = kp.route(svc, _eps()[1:], node, "203.0.113.2", "1.2.3.4", 80)
    assert dropped.verdict is kp.Verdict.DROP and dropped.comment == "ns1/svc1 has no local endpoints"


def test_terminating_endpoints_are_a_fallback_only() -> None:
    """topology.go CategorizeEndpoints / TestTerminatingEndpointsTrafficPolicyLocal: ready
    local endpoints win; serving-terminating ones are used only when no ready one exists."""
    svc = kp.ServicePort("ns1", "svc1", "172.30.1.1", 80, type="LoadBalancer",
                         load_balancer_ips=("1.2.3.4",), external_traffic_policy="Local")
    ready = kp.Endpoint("10.0.1.1", 80, NODE)
    draining = kp.Endpoint("10.0.1.2", 80, NODE, ready=False, serving=True, terminating=True)
    dead = kp.Endpoint("10.0.1.3", 80, NODE, ready=False, serving=False, terminating=True)
    ext = "203.0.113.2"
    assert kp.route(svc, [ready, draining, dead], _node(), ext, "1.2.3.4", 80).endpoints == (ready,)
    assert kp.route(svc, [draining, dead], _node(), ext, "1.2.3.4", 80).endpoints == (draining,)


def test_load_balancer_source_ranges() -> None:
    """proxier_test.go TestLoadBalancer: sources outside loadBalancerSourceRanges are DROPped
    (pods too); NodePorts bypass the ranges; the LB IP itself is allowed when a range holds
    the node IP."""
    svc = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80, type="LoadBalancer", node_port=3001,
                         load_balancer_ips=("1.2.3.4",),
                         load_balancer_source_ranges=("192.168.0.0/24", "203.0.113.0/25"))
    node, ep = _node(), [kp.Endpoint("10.180.0.1", 80)]
    assert kp.route(svc, ep, node, "203.0.113.2", "1.2.3.4", 80).verdict is kp.Verdict.FORWARD
    assert kp.route(svc, ep, node, "203.0.113.130", "1.2.3.4", 80).verdict is kp.Verdict.DROP
    assert kp.route(svc, ep, node, "10.0.0.2", "1.2.3.4", 80).verdict is kp.Verdict.DROP
    assert kp.route(svc, ep, node, "203.0.113.130", "192.168.0.2", 3001).verdict is kp.Verdict.FORWARD
    assert kp.route(svc, ep, node, "1.2.3.4", "1.2.3.4", 80).verdict is kp.Verdict.FORWARD


def test_hairpin_and_off_cluster_sources_are_masqueraded() -> None:
    """proxier_test.go TestClusterIPGeneral: a pod reaching itself through its Service is
    masqueraded ('-s <ep> -j KUBE-MARK-MASQ'), as is an off-cluster source to a ClusterIP."""
    svc = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80)
    ep = [kp.Endpoint("10.180.0.1", 80, NODE)]
    assert kp.route(svc, ep, _node(), "10.180.0.1", "172.30.0.41", 80).masquerade
    assert not kp.route(svc, ep, _node(), "10.180.0.2", "172.30.0.41", 80).masquerade
    assert kp.route(svc, ep, _node(), "192.168.0.9", "172.30.0.41", 80).masquerade
    assert kp.route(svc, ep, _node(), "10.180.0.2", "172.30.0.41", 443).verdict is kp.Verdict.PASS


# --- health checks ---------------------------------------------------------------------------


def test_external_traffic_policy_local_health_check() -> None:
    """service_health.go: the health check node port answers 200 only where a ready local
    endpoint exists and kube-proxy is healthy, else 503; a node whose pods are terminating
    drains (503)."""
    svc = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80, type="LoadBalancer", node_port=30001,
                         load_balancer_ips=("1.2.3.4",), external_traffic_policy="Local",
                         health_check_node_port=30000)
    eps = _eps()
    assert kp.lb_health_probe(svc, eps, NODE) == 200
    assert kp.lb_health_probe(svc, eps, "node-z") == 503
    assert kp.lb_health_probe(svc, eps, NODE, proxy_healthy=False) == 503
    draining = [kp.Endpoint("10.0.1.1", 80, NODE, ready=False, serving=True, terminating=True)]
    assert kp.lb_health_probe(svc, draining, NODE) == 503
    # the health check node port itself is ACCEPTed by the node's firewall rules
    assert kp.route(svc, [], _node(), "168.63.129.16", "192.168.0.2", 30000).verdict is kp.Verdict.ACCEPT


def test_proxy_healthz_timeout_and_node_eligibility() -> None:
    """proxy_health.go: unhealthy once a queued update waited healthTimeout (2 x syncPeriod
    = 60 s, still healthy just before); /healthz also fails on a node being deleted, /livez
    does not; eTP=Cluster load balancers follow /healthz (KEP-3836)."""
    h = kp.ProxyHealth()
    assert h.healthz(0.0) == 200
    h.queued_update(5.0)
    h.queued_update(30.0)  # only the oldest pending update counts
    assert h.healthz(64.999) == 200 and h.healthz(65.0) == 503 and h.livez(65.0) == 503
    h.updated(66.0)
    assert h.healthz(66.0) == 200
    h.node_eligible = False
    assert h.healthz(67.0) == 503 and h.livez(67.0) == 200
    svc = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80, type="LoadBalancer",
                         load_balancer_ips=("1.2.3.4",))
    assert kp.lb_health_probe(svc, _eps(), NODE, node_eligible=False) == 503


def test_sync_periods() -> None:
    """virtual-ips.md: minSyncPeriod 1 s, syncPeriod 30 s; healthz 2 x syncPeriod."""
    assert (kp.MIN_SYNC_PERIOD, kp.SYNC_PERIOD, kp.HEALTHZ_TIMEOUT) == (1.0, 30.0, 60.0)
    assert kp.next_sync(last_sync=10.0, changed_at=10.25) == 11.0
    assert kp.next_sync(last_sync=10.0, changed_at=12.0) == 12.0


# --- ranges ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("cidr", "band"), [
    ("10.0.0.0/29", 0), ("10.0.0.0/28", 0), ("10.0.0.0/27", 16), ("10.0.0.0/24", 16),
    ("10.0.0.0/22", 64), ("10.0.0.0/21", 128), ("10.0.0.0/20", 256), ("10.0.0.0/16", 256),
    ("10.0.0.0/12", 256), ("fd00:10:96::/112", 256),
])
def test_clusterip_static_band(cidr: str, band: int) -> None:
    """virtual-ips.md min(max(16, cidrSize/16), 256), as ipallocator calculateRangeOffset,
    which gives no static band to a range of 16 addresses or fewer."""
    assert kp.clusterip_static_band(cidr) == band


def test_static_band_membership() -> None:
    """The static band is the lower band: offsets 0..band-1 from the first host address."""
    assert kp.is_static_band("10.96.0.0/24", "10.96.0.10")  # the conventional DNS IP
    assert kp.is_static_band("10.96.0.0/24", "10.96.0.16")
    assert not kp.is_static_band("10.96.0.0/24", "10.96.0.17")


def test_node_port_range() -> None:
    """service.md: --service-node-port-range defaults to 30000-32767."""
    assert kp.NODE_PORT_RANGE == (30000, 32767)
    assert kp.is_valid_node_port(30000) and kp.is_valid_node_port(32767)
    assert not kp.is_valid_node_port(29999) and not kp.is_valid_node_port(32768)
