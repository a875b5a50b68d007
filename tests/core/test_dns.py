"""sim.dns beyond the oracle: what ndots:5 costs, AKS's search domains, the autoscaler ladder.

Sources: Kubernetes DNS spec 1.0.1 (kubernetes/dns docs/specification.md), resolv.conf(5) and
glibc res_nsearch, kubelet pkg/kubelet/network/dns (dns.go), dns-pod-service.md and
dns-debugging-resolution.md (kubernetes/website), AKS coredns-troubleshoot.md and
coredns-autoscale.md, cluster-proportional-autoscaler ladder/linear controllers and their tests.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import dns
from sim.dns import Rcode

# --------------------------------------------------------------------------- fixtures


def _cluster(*, aks_search_block: bool = True) -> dns.ClusterDNS:
    """A small cluster: kubernetes, a headless StatefulSet service, and two external names."""
    services = [
        dns.Service("default", "kubernetes", cluster_ips=("10.0.0.1",),
                    ports=(dns.ServicePort(443, "TCP", "https"),)),
        dns.Service("prod", "data", cluster_ips=("10.0.0.50",)),
        dns.Service("db", "pg", ports=(dns.ServicePort(5432, "TCP", "postgres"),), endpoints=(
            dns.Endpoint("10.244.1.10", True, "pg-0"),
            dns.Endpoint("10.244.2.11", True),  # no hostname: CoreDNS labels it 10-244-2-11
            dns.Endpoint("10.244.3.12", False, "pg-2"),
        )),
    ]
    upstream = dns.Upstream([
        dns.Record("api.example.com.", "A", "203.0.113.10"),
        dns.Record("aks12345.myvnetid.myregion.internal.cloudapp.net.", "A", "10.224.0.4"),
    ])
    return dns.ClusterDNS(services, upstream=upstream, aks_search_block=aks_search_block)


def _plain_pod(namespace: str = "default") -> dns.Resolver:
    """A ClusterFirst pod on a node with no search domain of its own."""
    return dns.pod_resolv_conf(namespace, node=dns.ResolvConf((dns.AZURE_DNS_IP,))).resolver()


# --------------------------------------------------------------------------- what ndots:5 costs


def test_external_name_walks_the_whole_search_list_first() -> None:
    """ndots:5 makes api.example.com (2 dots) try every search domain before itself: 4 queries,
    3 NXDOMAIN answered by CoreDNS, one forwarded upstream (dns-debugging-resolution; CoreDNS
    autopath blog: coredns.io.default.svc.cluster.local / ...svc.cluster.local / ...cluster.local)."""
    res = _plain_pod().resolve("api.example.com", "A", _cluster())
    assert res.tried_in_order == (
        "api.example.com.default.svc.cluster.local.",
        "api.example.com.svc.cluster.local.",
        "api.example.com.cluster.local.",
        "api.example.com.",
    )
    assert [r.rcode for r in res.responses] == [Rcode.NXDOMAIN] * 3 + [Rcode.NOERROR]
    assert (res.queries, res.upstream_queries) == (4, 1)
    assert res.final.answer is not None and res.final.answer.data == "203.0.113.10"


def test_trailing_dot_costs_one_query() -> None:
    """A name ending in '.' is absolute: no search list expansion (resolv.conf(5))."""
    res = _plain_pod().resolve("api.example.com.", "A", _cluster())
    assert res.tried_in_order == ("api.example.com.",)
    assert res.queries == 1


def test_absolute_cluster_name_is_one_query() -> None:
    res = _plain_pod("test").resolve("kubernetes.default.svc.cluster.local.", "A", _cluster())
    assert res.tried_in_order == ("kubernetes.default.svc.cluster.local.",)
    assert res.final.rcode == Rcode.NOERROR


def test_ndots_1_tries_a_dotted_name_first() -> None:
    """With the resolv.conf default ndots:1 (dnsPolicy Default) any dotted name goes as-is first."""
    node = dns.azure_node_resolv_conf()
    res = node.resolver().resolve("api.example.com", "A", _cluster())
    assert res.tried_in_order == ("api.example.com.",)


def test_failed_absolute_first_then_search_and_its_outcome() -> None:
    """glibc: a name with >= ndots dots that fails absolute still walks the search list, and the
    error reported is the absolute query's (res_nsearch saved_herrno). musl would stop."""
    res = _plain_pod().resolve("a.b.c.d.e.missing", "A", _cluster())
    assert res.tried_in_order[0] == "a.b.c.d.e.missing."
    assert res.queries == 4
    assert res.final.rcode == Rcode.NXDOMAIN and res.final.answer is None


def test_nodata_on_the_search_path_is_reported_as_nodata() -> None:
    """'prod' hits prod.svc.cluster.local (a namespace: exists, no A record) then fails; glibc
    returns NO_DATA rather than NXDOMAIN when any search domain said NODATA."""
    res = _plain_pod("test").resolve("prod", "A", _cluster())
    assert res.responses[1].is_nodata
    assert res.queries == 4
    assert res.final.rcode == Rcode.NOERROR and res.final.answer is None


class _Refusing:
    """A nameserver that refuses everything except the bare name."""

    def answer(self, name: str, qtype: str) -> dns.Answer:
        if name == "svc.":
            return dns.Answer(Rcode.NOERROR, (dns.Record("svc.", "A", "192.0.2.1"),), dns.UPSTREAM)
        return dns.Answer(Rcode.REFUSED, (), dns.UPSTREAM)


def test_refused_ends_the_search_list_but_not_the_as_is_try() -> None:
    """glibc: a failure other than NXDOMAIN/NODATA/SERVFAIL stops the search list ('done'); a
    short name is still tried as-is afterwards."""
    res = dns.Resolver("10.0.0.10", ("a.example", "b.example"), 5).resolve("svc", "A", _Refusing())
    assert res.tried_in_order == ("svc.a.example.", "svc.")
    assert res.final.answer is not None


# --------------------------------------------------------------------------- AKS search domains


def test_azure_dns_vnet_adds_the_internal_cloudapp_domain_and_aks_blocks_it() -> None:
    """Azure DNS VNets add <vnet>.<region>.internal.cloudapp.net; with ndots:5 every external
    name also tries it (8 labels here), which CoreDNS >= v20241025 answers NXDOMAIN itself
    instead of forwarding (coredns-troubleshoot.md)."""
    conf = dns.pod_resolv_conf("default")
    assert conf.search == ("default.svc.cluster.local", "svc.cluster.local", "cluster.local",
                           "myvnetid.myregion.internal.cloudapp.net")
    res = conf.resolver().resolve("api.example.com", "A", _cluster())
    assert res.tried_in_order[3] == "api.example.com.myvnetid.myregion.internal.cloudapp.net."
    assert res.responses[3].handled_by == dns.AKS_SEARCH_BLOCK
    assert (res.queries, res.upstream_queries) == (5, 1)


def test_before_v20241025_the_invalid_completion_goes_upstream() -> None:
    conf = dns.pod_resolv_conf("default")
    res = conf.resolver().resolve("api.example.com", "A", _cluster(aks_search_block=False))
    assert (res.queries, res.upstream_queries) == (5, 2)
    assert res.responses[3].rcode == Rcode.NXDOMAIN and res.responses[3].is_forwarded


def test_custom_dns_vnet_adds_reddog_and_aks_blocks_it() -> None:
    """Custom DNS servers on the VNet: the node gets the non-functional stub reddog.microsoft.com."""
    node = dns.azure_node_resolv_conf(custom_dns_servers=("10.1.0.4", "10.1.0.5"))
    assert node.render() == "nameserver 10.1.0.4\nnameserver 10.1.0.5\nsearch reddog.microsoft.com\n"
    conf = dns.pod_resolv_conf("default", node=node)
    assert conf.nameservers == (dns.AKS_DNS_SERVICE_IP,)
    assert conf.search[-1] == "reddog.microsoft.com"
    res = conf.resolver().resolve("api.example.com", "A", _cluster())
    assert res.responses[3].handled_by == dns.AKS_SEARCH_BLOCK


@pytest.mark.parametrize(("name", "blocked"), [
    ("aks12345.myvnetid.myregion.internal.cloudapp.net.", False),   # 6 labels: VM hostnames work
    ("mcr.microsoft.com.myvnetid.myregion.internal.cloudapp.net", True),  # 8 labels
    ("a.b.myvnetid.myregion.internal.cloudapp.net", True),          # exactly 7
    ("internal.cloudapp.net", False),
    ("reddog.microsoft.com", True),                                  # the root of the stub ...
    ("api.example.com.reddog.microsoft.com.", True),                 # ... and below it
    ("notreddog.microsoft.com", False),
    ("api.example.com", False),
])
def test_aks_block_rule(name: str, blocked: bool) -> None:
    """coredns-troubleshoot.md: reddog.microsoft.com and its subdomains; internal.cloudapp.net
    subdomains with seven or more labels."""
    assert dns.is_aks_blocked_name(name) is blocked


def test_vm_hostname_in_the_vnet_still_resolves() -> None:
    answer = _cluster().answer("aks12345.myvnetid.myregion.internal.cloudapp.net", "A")
    assert answer.is_forwarded and answer.records("A")[0].data == "10.224.0.4"


@pytest.mark.parametrize(("release", "has_block"), [("v20241024", False), ("v20241025", True),
                                                    ("v20250101", True)])
def test_block_starts_with_release_v20241025(release: str, has_block: bool) -> None:
    assert dns.has_aks_search_block(release) is has_block


def test_release_must_look_like_an_aks_release() -> None:
    with pytest.raises(dns.DNSError, match="vYYYYMMDD"):
        dns.has_aks_search_block("2024-10-25")


# --------------------------------------------------------------------------- pod resolv.conf


def test_cluster_first_template() -> None:
    """dns-pod-service: nameserver <kube-dns> / search <ns>.svc.cluster.local svc.cluster.local
    cluster.local / options ndots:5; kubelet appends the node's search domains."""
    conf = dns.pod_resolv_conf("test", node=dns.ResolvConf((dns.AZURE_DNS_IP,)))
    assert conf.render() == ("nameserver 10.0.0.10\n"
                             "search test.svc.cluster.local svc.cluster.local cluster.local\n"
                             "options ndots:5\n")
    assert conf.ndots == 5 and conf.warnings == ()


def test_host_network_cluster_first_falls_back_to_the_node() -> None:
    """kubelet getPodDNSType: ClusterFirst on hostNetwork means Default; ClusterFirstWithHostNet
    keeps the cluster DNS."""
    node = dns.azure_node_resolv_conf()
    assert dns.pod_resolv_conf("x", host_network=True, node=node) == node
    assert dns.pod_resolv_conf("x", host_network=True, dns_policy="ClusterFirstWithHostNet",
                               node=node).nameservers == (dns.AKS_DNS_SERVICE_IP,)


def test_dns_policy_none_with_dns_config_matches_the_docs_example() -> None:
    """dns-pod-service 'Pod's DNS Config' example output."""
    cfg = dns.PodDNSConfig(("1.2.3.4",), ("ns1.svc.cluster-domain.example", "my.dns.search.suffix"),
                           ("ndots:2", "edns0"))
    conf = dns.pod_resolv_conf("ns1", dns_policy="None", dns_config=cfg)
    assert conf.render() == ("nameserver 1.2.3.4\n"
                             "search ns1.svc.cluster-domain.example my.dns.search.suffix\n"
                             "options ndots:2 edns0\n")


def test_dns_policy_none_needs_a_nameserver() -> None:
    with pytest.raises(dns.DNSError, match="at least one nameserver"):
        dns.pod_resolv_conf("x", dns_policy="None")


def test_dns_config_overrides_ndots_and_dedupes() -> None:
    cfg = dns.PodDNSConfig(("10.0.0.10",), ("svc.cluster.local", "corp.example"), ("ndots:2",))
    conf = dns.pod_resolv_conf("app", dns_config=cfg, node=dns.ResolvConf((dns.AZURE_DNS_IP,)))
    assert conf.nameservers == ("10.0.0.10",)
    assert conf.search == ("app.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example")
    assert conf.ndots == 2


def test_limits_drop_extra_nameservers_and_search_domains_with_a_warning() -> None:
    """kubelet keeps 3 nameservers; the search list is capped at 32 domains / 2048 chars from
    Kubernetes 1.26 (ExpandedDNSConfig) and at 6 / 256 before."""
    many = tuple(f"d{i}.example" for i in range(40))
    cfg = dns.PodDNSConfig(("1.1.1.1", "8.8.8.8", "9.9.9.9"), many)
    conf = dns.pod_resolv_conf("app", dns_config=cfg)
    assert len(conf.nameservers) == 3 and len(conf.search) == 32
    assert [w.split(",")[0] for w in conf.warnings] == ["Nameserver limits were exceeded",
                                                        "Search Line limits were exceeded"]
    legacy = dns.pod_resolv_conf("app", dns_config=cfg, limits=dns.search_limits("1.25"))
    assert legacy.search[:3] == dns.cluster_search_domains("app") and len(legacy.search) == 6


@pytest.mark.parametrize(("version", "limits"), [("1.25", dns.LEGACY_SEARCH_LIMITS),
                                                 ("1.26", dns.EXPANDED_SEARCH_LIMITS),
                                                 ("v1.30.4", dns.EXPANDED_SEARCH_LIMITS)])
def test_search_limits_by_version(version: str, limits: dns.SearchLimits) -> None:
    assert dns.search_limits(version) == limits


def test_search_line_character_cap_drops_from_the_end() -> None:
    long = tuple(f"{'x' * 60}-{i}.example" for i in range(5))
    out = dns.pod_resolv_conf("a", dns_config=dns.PodDNSConfig(searches=long),
                              node=dns.ResolvConf((dns.AZURE_DNS_IP,)), limits=dns.SearchLimits(32, 256))
    assert len(" ".join(out.search)) <= 256
    assert out.search[:3] == dns.cluster_search_domains("a")


def test_resolv_conf_parse_follows_kubelet() -> None:
    """Nameservers accumulate, the last search/options line wins, trailing dots are dropped."""
    conf = dns.ResolvConf.parse("# c\nnameserver 1.1.1.1\nsearch a.example\nnameserver 8.8.8.8\n"
                                "search b.example. c.example\noptions ndots:3 edns0\n")
    assert conf == dns.ResolvConf(("1.1.1.1", "8.8.8.8"), ("b.example", "c.example"), ("ndots:3", "edns0"))
    assert dns.ResolvConf.parse(conf.render()) == conf
    assert conf.ndots == 3 and dns.ResolvConf(options=("ndots:40",)).ndots == 15


def test_policy_defaults() -> None:
    d = dns.policy_defaults()
    assert (d["dns_policy"], d["ndots"], d["max_nameservers"]) == ("ClusterFirst", 5, 3)
    assert d["search_template"] == ["<namespace>.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    assert json.loads(json.dumps(d)) == d


# --------------------------------------------------------------------------- server answers


def test_nxdomain_versus_nodata() -> None:
    """A name that exists without the asked type is NODATA; a missing name is NXDOMAIN."""
    c = _cluster()
    assert c.answer("kubernetes.default.svc.cluster.local.", "TXT").is_nodata
    assert c.answer("prod.svc.cluster.local.", "A").is_nodata            # an existing namespace
    assert c.answer("nosuch.svc.cluster.local.", "A").rcode == Rcode.NXDOMAIN
    assert c.answer("nosuch.default.svc.cluster.local.", "A").rcode == Rcode.NXDOMAIN
    assert c.answer("_http._tcp.kubernetes.default.svc.cluster.local.", "SRV").rcode == Rcode.NXDOMAIN
    assert c.answer("_https._tcp.kubernetes.default.svc.cluster.local.", "A").is_nodata


def test_cluster_zone_is_never_forwarded() -> None:
    assert _cluster().answer("api.example.com.cluster.local.", "A").handled_by == dns.KUBERNETES


def test_clusterip_ptr_spec_2_3_3() -> None:
    answer = _cluster().answer("1.0.0.10.in-addr.arpa.", "PTR")
    assert [r.data for r in answer.answers] == ["kubernetes.default.svc.cluster.local."]


def test_headless_serves_ready_endpoints_only() -> None:
    """Spec 2.4: one A per ready endpoint; SRV targets the endpoint hostname, and an endpoint
    without one gets a unique label (CoreDNS: its dashed IP)."""
    c = _cluster()
    assert {r.data for r in c.answer("pg.db.svc.cluster.local", "A").answers} == {"10.244.1.10",
                                                                                   "10.244.2.11"}
    srv = c.answer("_postgres._tcp.pg.db.svc.cluster.local", "SRV").answers
    assert {(r.port, r.target) for r in srv} == {(5432, "pg-0.pg.db.svc.cluster.local."),
                                                 (5432, "10-244-2-11.pg.db.svc.cluster.local.")}
    assert c.answer("10-244-2-11.pg.db.svc.cluster.local", "A").answers[0].data == "10.244.2.11"
    assert c.answer("pg-2.pg.db.svc.cluster.local", "A").rcode == Rcode.NXDOMAIN  # not ready


def test_publish_not_ready_addresses_publishes_every_endpoint() -> None:
    svc = dns.Service("db", "pg", endpoints=(dns.Endpoint("10.244.3.12", False, "pg-2"),),
                      publish_not_ready_addresses=True)
    assert dns.ClusterDNS([svc]).answer("pg-2.pg.db.svc.cluster.local", "A").rcode == Rcode.NOERROR


def test_ipv6_service_has_aaaa_and_no_a() -> None:
    c = dns.ClusterDNS([dns.Service("default", "v6", cluster_ips=("fd12:3456:789a:1::10",))])
    assert c.answer("v6.default.svc.cluster.local", "AAAA").answers[0].data == "fd12:3456:789a:1::10"
    assert c.answer("v6.default.svc.cluster.local", "A").is_nodata


def test_externalname_chain_ends_with_the_target_rcode() -> None:
    """RFC 6604: a CNAME to a missing name answers NXDOMAIN with the CNAME; a CNAME query gets
    the CNAME alone."""
    c = dns.ClusterDNS([dns.Service("default", "gone", type="ExternalName",
                                    external_name="nothing.example.")])
    answer = c.answer("gone.default.svc.cluster.local", "A")
    assert answer.rcode == Rcode.NXDOMAIN and [r.type for r in answer.answers] == ["CNAME"]
    assert c.answer("gone.default.svc.cluster.local", "CNAME").rcode == Rcode.NOERROR


def test_externalname_loop_is_servfail() -> None:
    loop = [dns.Service("a", "x", type="ExternalName", external_name="y.a.svc.cluster.local"),
            dns.Service("a", "y", type="ExternalName", external_name="x.a.svc.cluster.local")]
    assert dns.ClusterDNS(loop).answer("x.a.svc.cluster.local", "A").rcode == Rcode.SERVFAIL


@pytest.mark.parametrize(("name", "rcode"), [("10-244-1-5.any.pod.cluster.local", Rcode.NOERROR),
                                             ("10-244-1-256.any.pod.cluster.local", Rcode.NXDOMAIN),
                                             ("10-244-1.any.pod.cluster.local", Rcode.NXDOMAIN)])
def test_deprecated_pod_records(name: str, rcode: Rcode) -> None:
    assert _cluster().answer(name, "A").rcode == rcode


def test_service_errors_say_what_to_fix() -> None:
    with pytest.raises(dns.DNSError, match="headless"):
        dns.Service.from_mapping({"namespace": "a", "name": "b", "type": "ClusterIP"})
    with pytest.raises(dns.DNSError, match="unknown key"):
        dns.Service.from_mapping({"namespace": "a", "name": "b", "clusterIP": "None", "spec": {}})
    with pytest.raises(dns.DNSError, match="empty label"):
        dns.fqdn("a..b")


# --------------------------------------------------------------------------- readable outputs


def test_outputs_read_like_dig_and_a_trace() -> None:
    c = _cluster()
    assert str(c.answer("_https._tcp.kubernetes.default.svc.cluster.local", "SRV")) == (
        ";; NOERROR (kubernetes)\n"
        "_https._tcp.kubernetes.default.svc.cluster.local. 30 IN SRV 0 100 443 "
        "kubernetes.default.svc.cluster.local.")
    assert str(c.answer("dns-version.cluster.local", "TXT")).endswith('IN TXT "1.0.1"')
    text = _plain_pod("test").resolve("data.prod", "A", c).render()
    assert text.splitlines() == [
        "data.prod A:",
        "  1. data.prod.test.svc.cluster.local.  NXDOMAIN (kubernetes)",
        "  2. data.prod.svc.cluster.local.       NOERROR  (kubernetes)",
        "  => NOERROR A 10.0.0.50 via data.prod.svc.cluster.local. after 2 queries, 0 forwarded upstream",
    ]
    assert json.dumps([r.to_dict() for r in c.answer("pg.db.svc.cluster.local", "A").answers])


# --------------------------------------------------------------------------- properties


_label = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)


@given(labels=st.lists(_label, min_size=1, max_size=7), ndots=st.integers(0, 6),
       search=st.lists(_label, max_size=5, unique=True))
def test_candidates_try_the_bare_name_exactly_once(labels: list[str], ndots: int, search: list[str]) -> None:
    """Every search domain once, the name itself once, first iff dots >= ndots (resolv.conf(5))."""
    name = ".".join(labels)
    tried = dns.Resolver("10.0.0.10", tuple(search), ndots).candidates(name)
    assert len(tried) == len(search) + 1 and tried.count(name + ".") == 1
    assert (tried[0] == name + ".") is (name.count(".") >= ndots or not search)
    assert dns.Resolver("10.0.0.10", tuple(search), ndots).candidates(name + ".") == (name + ".",)


# --------------------------------------------------------------------------- coredns-autoscaler


@pytest.mark.parametrize(("cores", "nodes", "expected"), [
    (0, 0, 2),        # below the first step: the first step applies
    (4, 1, 2),        # 1 node -> 2 (nodesToReplicas [1,2])
    (28, 7, 2),
    (32, 8, 3),       # [8,3]
    (60, 15, 3),
    (64, 16, 4),      # 16 nodes -> 4
    (128, 32, 5),     # [32,5]
    (4000, 1000, 5),  # the top step holds
    (512, 2, 3),      # cores can win: [512,3]
    (1024, 2, 4),
    (2048, 2, 5),
])
def test_aks_ladder_steps(cores: int, nodes: int, expected: int) -> None:
    """coredns-autoscale.md: coresToReplicas [[1,2],[512,3],[1024,4],[2048,5]], nodesToReplicas
    [[1,2],[8,3],[16,4],[32,5]]; the larger of the two wins."""
    assert dns.replicas(cores, nodes) == expected


def test_aks_configmap_parses_to_the_default_ladder() -> None:
    raw = ('{"coresToReplicas":[[1,2],[512,3],[1024,4],[2048,5]],'
           '"nodesToReplicas":[[1,2],[8,3],[16,4],[32,5]]}')
    assert dns.LadderParams.from_configmap(raw) == dns.AKS_COREDNS_LADDER
    assert ("nodes", 16, 4) in list(dns.ladder_steps())


@pytest.mark.parametrize(("resources", "expected"), [(0, 1), (1, 1), (2, 2), (3, 3), (4, 4), (6, 4),
                                                     (10, 10), (11, 10), (19, 10), (20, 20), (21, 20),
                                                     (40, 20)])
def test_ladder_matches_upstream_controller_test(resources: int, expected: int) -> None:
    """cluster-proportional-autoscaler ladder_controller_test.go TestControllerScaler (entries
    unsorted on purpose: the controller sorts them)."""
    params = dns.LadderParams(cores_to_replicas=((20, 20), (1, 1), (2, 2), (3, 3), (4, 4), (10, 10)))
    assert dns.replicas(resources, 0, params) == expected


@pytest.mark.parametrize(("cores", "nodes", "expected"), [
    (0, 0, 1), (1, 2, 2), (2, 3, 2), (3, 4, 2), (4, 4, 2), (6, 4, 3), (6, 5, 3), (8, 5, 4),
    (8, 15, 6), (8, 16, 7), (19, 21, 10), (23, 20, 12), (26, 38, 16), (30, 49, 20), (40, 20, 20),
])
def test_linear_matches_upstream_controller_test(cores: int, nodes: int, expected: int) -> None:
    """linear_controller_test.go TestScaleFromMultipleParams: coresPerReplica 2, nodesPerReplica
    2.5, min 1, max 100, preventSinglePointFailure."""
    params = dns.LinearParams.from_configmap('{"coresPerReplica": 2, "nodesPerReplica": 2.5, "min": 1, '
                                             '"max": 100, "preventSinglePointFailure": true}')
    assert dns.replicas(cores, nodes, params) == expected


def test_linear_formula_from_the_aks_doc() -> None:
    """max(ceil(cores/coresPerReplica), ceil(nodes/nodesPerReplica)): 256 cores / 16 nodes per replica."""
    params = dns.LinearParams(cores_per_replica=256, nodes_per_replica=16)
    assert dns.replicas(1000, 20, params) == 4 and dns.replicas(100, 40, params) == 3


def test_autoscaler_parameter_errors() -> None:
    with pytest.raises(dns.DNSError, match="coresPerReplica or nodesPerReplica"):
        dns.LinearParams()
    with pytest.raises(dns.DNSError, match=">= 1"):
        dns.LadderParams(nodes_to_replicas=((0, 1),))
