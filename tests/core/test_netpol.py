"""NetworkPolicy engine against Kubernetes network-policies.md (AKS-NETWORKING.md section 6).

The oracle cases run in tests/conformance; these tests pin the rules the oracle does not
spell out (API defaulting, validation, readable verdicts) and the algebra of policies
(additive, order-free) as hypothesis properties.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.netpol import (
    AZURE_NPM_MAX_NODES,
    ENGINES,
    ContainerPort,
    ExternalPeer,
    Namespace,
    NetworkPolicies,
    NetworkPolicyError,
    Pod,
)
from sim.netpol.selectors import _Policy

# --- a small cluster ---------------------------------------------------------------------------

NAMESPACES = [Namespace("x", {"team": "red"}), Namespace("y", {"team": "blue"})]
PODS = [
    Pod("x", "a", {"app": "a", "tier": "web"}, "10.0.0.1", (ContainerPort(80, "http"),)),
    Pod("x", "b", {"app": "b"}, "10.0.0.2", (ContainerPort(81, "dns", "UDP"), ContainerPort(81, "alt"))),
    Pod("y", "a", {"app": "a", "tier": "db"}, "10.1.0.1", (ContainerPort(85, "http"),)),
    Pod("y", "c", {}, "10.1.0.2"),
]
EXTERNALS = ["ip:10.0.0.50", "ip:192.168.1.1"]
ENDPOINTS = [p.key for p in PODS] + EXTERNALS
PROBES = [(80, "TCP"), (81, "UDP"), (81, "TCP"), (85, "TCP")]


def policy(name: str, namespace: str = "x", **spec: Any) -> dict[str, Any]:
    """A NetworkPolicy dict as kubectl would apply it; *spec* defaults podSelector to {}."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {}, **spec}}


def compile_(*policies: dict[str, Any], engine: str = "calico") -> NetworkPolicies:
    return NetworkPolicies(policies, namespaces=NAMESPACES, pods=PODS, engine=engine)


def allowed(engine: NetworkPolicies, src: str, dst: str, port: int = 80, protocol: str = "TCP") -> bool:
    return engine.allows(src, dst, port, protocol).allowed


DENY_ALL = policy("deny-all", policyTypes=["Ingress", "Egress"])
ALLOW_ALL_INGRESS = policy("allow-all-in", ingress=[{}])

# --- defaults, engines ---------------------------------------------------------------------------


def test_without_policies_every_connection_is_allowed() -> None:
    """Pods are non-isolated by default."""
    engine = compile_()
    assert all(v.allowed for v in engine.matrix(ENDPOINTS, 80).values())


def test_engine_none_enforces_nothing() -> None:
    """networkPolicy=none: a policy with no enforcing plugin has no effect (AKS-NETWORKING.md 6)."""
    verdict = compile_(DENY_ALL, policy("deny-y", "y", policyTypes=["Ingress"]), engine="none").allows(
        "x/a", "y/a", 80)
    assert verdict.allowed
    assert "'none'" in verdict.reason


def test_every_aks_engine_but_none_enforces() -> None:
    for engine in ENGINES:
        assert allowed(compile_(DENY_ALL, engine=engine), "x/a", "x/b") == (engine == "none")


def test_unknown_engine_is_rejected_with_the_choices() -> None:
    with pytest.raises(NetworkPolicyError, match="azure, calico, cilium"):
        compile_(engine="weave")


def test_azure_npm_node_limit_is_250() -> None:
    """Azure NPM supports at most 250 nodes (best-practices-performance-scale-large.md)."""
    assert AZURE_NPM_MAX_NODES == 250


# --- policyTypes, rules and peers ----------------------------------------------------------------


def test_policy_types_default_to_ingress_plus_egress_only_when_it_has_egress_rules() -> None:
    """API defaulting: Ingress always; Egress when ``egress`` has at least one rule."""
    with_rules = compile_(policy("p", egress=[{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}]}]))
    assert with_rules.selecting("x/a", "egress") == ("x/p",)
    assert with_rules.selecting("x/a", "ingress") == ("x/p",)
    assert not allowed(with_rules, "x/a", "y/a")
    empty = compile_(policy("p", egress=[]))
    assert empty.selecting("x/a", "egress") == ()
    assert allowed(empty, "x/a", "y/a")
    assert not allowed(empty, "y/a", "x/a")


def test_an_egress_only_policy_leaves_ingress_alone_even_with_an_ingress_section() -> None:
    engine = compile_(policy("p", policyTypes=["Egress"], ingress=[], egress=[{}]))
    assert engine.selecting("x/a", "ingress") == ()
    assert allowed(engine, "y/a", "x/a")


def test_no_rules_deny_but_one_empty_rule_allows_everything() -> None:
    """``ingress: []`` isolates and allows nothing; ``ingress: [{}]`` allows every peer and port."""
    assert not allowed(compile_(policy("p", ingress=[])), "y/a", "x/a")
    assert allowed(compile_(policy("p", ingress=[{}])), "y/a", "x/a", 9999, "SCTP")


def test_empty_from_list_is_the_same_as_a_missing_one() -> None:
    """A rule whose ``from`` is empty or missing matches all sources (API reference)."""
    rules = ({"from": []}, {"from": None}, {"ports": [{"port": 80}]}, {"from": [], "ports": [{"port": 80}]})
    for rule in rules:
        engine = compile_(policy("p", ingress=[rule]))
        assert allowed(engine, "y/c", "x/a") and allowed(engine, "ip:192.168.1.1", "x/a"), rule


@pytest.mark.parametrize("selector", [{}, None, {"matchLabels": None}, {"matchLabels": {}}])
def test_an_empty_pod_selector_selects_every_pod_of_the_namespace(selector: Any) -> None:
    engine = compile_(policy("p", podSelector=selector, ingress=[]))
    assert engine.selecting("x/a", "ingress") == engine.selecting("x/b", "ingress") == ("x/p",)
    assert engine.selecting("y/a", "ingress") == ()


def test_selectors_in_one_peer_are_anded_and_peers_are_ored() -> None:
    both = {"namespaceSelector": {"matchLabels": {"team": "blue"}},
            "podSelector": {"matchLabels": {"app": "a"}}}
    anded = compile_(policy("p", ingress=[{"from": [both]}]))
    assert [allowed(anded, s, "x/a") for s in ("y/a", "y/c", "x/b")] == [True, False, False]
    ored = compile_(policy("p", ingress=[{"from": [{"namespaceSelector": both["namespaceSelector"]},
                                                   {"podSelector": both["podSelector"]}]}]))
    sources = ("y/a", "y/c", "x/a", "ip:10.0.0.50")
    assert [allowed(ored, s, "x/b") for s in sources] == [True, True, True, False]


def test_a_pod_selector_peer_looks_only_in_the_policys_namespace() -> None:
    engine = compile_(policy("p", ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]))
    assert not allowed(engine, "y/a", "x/b")


def test_match_expressions_follow_label_selector_semantics() -> None:
    """NotIn and DoesNotExist also match a pod without the key (apimachinery labels.Selector)."""
    def sources(op: str, values: list[str]) -> list[str]:
        expr = {"key": "tier", "operator": op, "values": values}
        engine = compile_(policy("p", "y", podSelector={"matchLabels": {"tier": "db"}}, ingress=[
            {"from": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": [expr]}}]}]))
        return [s for s in ("x/a", "x/b", "y/c") if allowed(engine, s, "y/a")]
    assert sources("In", ["web"]) == ["x/a"]
    assert sources("NotIn", ["web"]) == ["x/b", "y/c"]
    assert sources("Exists", []) == ["x/a"]
    assert sources("DoesNotExist", []) == ["x/b", "y/c"]


def test_ip_block_matches_pod_ips_and_honours_except() -> None:
    block = {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.2/32"]}}
    engine = compile_(policy("p", "y", ingress=[{"from": [block]}]))
    assert [allowed(engine, s, "y/a") for s in ("x/a", "x/b", "ip:10.0.0.50", "ip:192.168.1.1")] == [
        True, False, True, False]


def test_external_peers_match_only_ip_blocks() -> None:
    engine = compile_(policy("p", ingress=[{"from": [{"namespaceSelector": {}}]}]))
    assert allowed(engine, "y/c", "x/a")
    assert not allowed(engine, "ip:10.0.0.50", "x/a")


def test_a_policy_applied_twice_under_one_name_is_replaced() -> None:
    """kubectl apply of the same namespace/name replaces the earlier object."""
    engine = compile_(policy("p", ingress=[]), policy("p", ingress=[{}]))
    assert engine.policies == ("x/p",)
    assert allowed(engine, "y/a", "x/a")


# --- ports ---------------------------------------------------------------------------------------


def test_a_port_without_protocol_means_tcp_and_protocols_are_separate() -> None:
    engine = compile_(policy("p", ingress=[{"ports": [{"port": 81}]}]))
    assert allowed(engine, "y/a", "x/b", 81, "TCP")
    assert not allowed(engine, "y/a", "x/b", 81, "UDP")
    assert not allowed(engine, "y/a", "x/b", 81, "SCTP")


def test_a_protocol_without_port_allows_every_port_of_that_protocol() -> None:
    engine = compile_(policy("p", ingress=[{"ports": [{"protocol": "UDP"}]}]))
    assert allowed(engine, "y/a", "x/b", 12345, "UDP")
    assert not allowed(engine, "y/a", "x/b", 12345, "TCP")


def test_end_port_range_is_inclusive() -> None:
    engine = compile_(policy("p", ingress=[{"ports": [{"port": 80, "endPort": 85}]}]))
    assert [allowed(engine, "y/a", "x/a", p) for p in (79, 80, 85, 86)] == [False, True, True, False]


def test_named_ingress_port_resolves_against_the_destination_pod() -> None:
    """``http`` is 80 on x/a: 80 is allowed there, and x/b has no TCP port named http."""
    engine = compile_(policy("p", ingress=[{"ports": [{"port": "http"}]}]))
    assert allowed(engine, "y/a", "x/a", 80)
    assert not allowed(engine, "y/a", "x/a", 85)
    assert not allowed(engine, "y/a", "x/b", 80)


def test_named_port_needs_the_container_ports_protocol() -> None:
    """x/b names UDP 81 ``dns`` and TCP 81 ``alt``."""
    engine = compile_(policy("p", ingress=[{"ports": [{"port": "dns", "protocol": "UDP"}]}]))
    assert allowed(engine, "y/a", "x/b", 81, "UDP")
    assert not allowed(engine, "y/a", "x/b", 81, "TCP")


def test_named_egress_port_resolves_against_the_destination_pod() -> None:
    """x/a may reach ``http``: 85 on y/a, 80 on x/a; an external IP has no named ports."""
    engine = compile_(policy("p", podSelector={"matchLabels": {"app": "b"}}, policyTypes=["Egress"],
                             egress=[{"ports": [{"port": "http"}]}]))
    assert allowed(engine, "x/b", "y/a", 85)
    assert not allowed(engine, "x/b", "y/a", 80)
    assert allowed(engine, "x/b", "x/a", 80)
    assert not allowed(engine, "x/b", "ip:192.168.1.1", 80)
    assert engine.allows("x/b", "ip:192.168.1.1", 80, port_name="http").allowed


# --- validation: what the API server would reject --------------------------------------------------


@pytest.mark.parametrize(("spec", "message"), [
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}, "cannot be combined"),
    ({"ingress": [{"from": [{}]}]}, "needs podSelector, namespaceSelector or ipBlock"),
    ({"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}, "endPort needs a numeric port"),
    ({"ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}, "must not be below it"),
    ({"ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]}, "protocol must be one of"),
    ({"ingress": [{"ports": [{"port": "80"}]}]}, "neither a number nor a valid port name"),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.1.0.0/24"]}}]}]},
     "is not inside cidr"),
    ({"podSelector": {"matchLabels": {"version": 1}}}, "quote numbers"),
    ({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}},
     "operator must be one of"),
    ({"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}, "non-empty list"),
    ({"policyTypes": ["Ingress", "Sideways"]}, "expected Ingress or Egress"),
    ({"ingres": []}, "unknown field ingres"),
])
def test_invalid_policies_are_rejected_with_the_policy_and_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(NetworkPolicyError, match=message) as err:
        compile_(policy("bad", **spec))
    assert "NetworkPolicy x/bad" in str(err.value)


def test_other_policy_kinds_are_rejected() -> None:
    calico = {**policy("p"), "apiVersion": "projectcalico.org/v3"}
    with pytest.raises(NetworkPolicyError, match="not modelled"):
        compile_(calico)


def test_unknown_pods_and_bad_connections_are_errors_that_say_what_exists() -> None:
    engine = compile_()
    with pytest.raises(NetworkPolicyError, match="known pods: x/a, x/b, y/a, y/c"):
        engine.allows("x/zz", "x/a", 80)
    with pytest.raises(NetworkPolicyError, match="ip:<address>"):
        engine.allows("1.2.3.4", "x/a", 80)
    with pytest.raises(NetworkPolicyError, match="expected an IP address"):
        engine.allows("ip:nope", "x/a", 80)
    with pytest.raises(NetworkPolicyError, match="protocol"):
        engine.allows("x/b", "x/a", 80, "tcp")
    with pytest.raises(NetworkPolicyError, match="port must be"):
        engine.allows("x/b", "x/a", 0)
    with pytest.raises(NetworkPolicyError, match="listed twice"):
        NetworkPolicies([], pods=[PODS[0], PODS[0]])


def test_label_values_must_be_strings() -> None:
    with pytest.raises(NetworkPolicyError, match="pod x/v: labels must map strings to strings"):
        Pod("x", "v", {"version": 1})  # type: ignore[dict-item]


def test_a_pod_object_must_be_the_compiled_one() -> None:
    engine = compile_()
    assert engine.allows(PODS[0], PODS[1], 80).allowed
    relabelled = Pod("x", "a", {"app": "zz"}, "10.0.0.1")
    with pytest.raises(NetworkPolicyError, match="compile a new NetworkPolicies"):
        engine.allows(relabelled, "x/b", 80)


def test_a_pods_namespace_missing_from_the_list_gets_the_default_name_label() -> None:
    engine = NetworkPolicies([policy("p", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "z"}}}]}])], pods=[Pod("x", "a"), Pod("z", "a")])
    assert allowed(engine, "z/a", "x/a")


# --- verdicts a person can read ---------------------------------------------------------------------


def test_a_denied_verdict_names_the_side_the_policies_and_the_connection() -> None:
    deny_egress = policy("deny-egress", podSelector={"matchLabels": {"app": "a"}}, policyTypes=["Egress"])
    verdict = compile_(deny_egress).allows("x/a", "y/c", 80)
    assert not verdict and verdict.denied_by == ("egress",)
    assert verdict.reason == ("denied: egress of x/a is isolated by policy x/deny-egress and none allows "
                              "TCP/80 to y/c")


def test_an_allowed_verdict_names_the_allowing_policy_and_the_non_isolated_side() -> None:
    allow = policy("allow-foo", "y", podSelector={"matchLabels": {"app": "a"}},
                   ingress=[{"from": [{"namespaceSelector": {}}]}])
    verdict = compile_(allow).allows("x/b", "y/a", 85)
    assert verdict and verdict.ingress.allowed_by == ("y/allow-foo",)
    assert verdict.reason == ("allowed: egress of x/b is not isolated (no NetworkPolicy selects it for "
                              "Egress); ingress of y/a allowed by policy y/allow-foo")


def test_when_both_sides_deny_the_verdict_says_both_and_names_the_port() -> None:
    verdict = compile_(DENY_ALL, policy("deny-y", "y", ingress=[])).allows("x/a", "y/a", 85)
    assert verdict.denied_by == ("egress", "ingress")
    assert "egress of x/a is isolated by policy x/deny-all" in verdict.reason
    assert ("ingress of y/a is isolated by policy y/deny-y and none allows TCP/85 (http) from x/a"
            in verdict.reason)


def test_external_endpoints_say_no_policy_governs_them() -> None:
    verdict = compile_(ALLOW_ALL_INGRESS).allows("ip:192.168.1.1", "x/a", 80)
    assert verdict.egress.reason == "ip:192.168.1.1 is not a pod, so no NetworkPolicy governs its egress"
    assert verdict.ingress.allowed_by == ("x/allow-all-in",)


# --- truth tables ------------------------------------------------------------------------------------


def test_matrix_covers_every_ordered_pair_but_self_connections() -> None:
    table = compile_(DENY_ALL).matrix(ENDPOINTS, 80)
    assert len(table) == len(ENDPOINTS) * (len(ENDPOINTS) - 1)
    assert ("x/a", "x/a") not in table
    assert not table[("x/a", "y/a")] and table[("y/a", "y/c")]


def test_group_matrix_reports_partial_reachability() -> None:
    """Workload ``web`` = x/a + y/a: y/a can reach x/b? no (x is deny-all); y/a reaches y/c? yes."""
    groups = {"web": ["x/a", "y/a"], "rest": ["x/b", "y/c"]}
    table = compile_(DENY_ALL).group_matrix(groups, 80)
    web_to_rest = table[("web", "rest")]
    assert not web_to_rest.allowed and web_to_rest.partial
    assert web_to_rest.connections == 4 and len(web_to_rest.denied) == 3
    assert web_to_rest.reason.startswith("3 of 4 connections denied, e.g. x/a -> x/b: denied: ")
    assert table[("web", "web")].connections == 2  # x/a<->y/a only, no self-connections


# --- properties: policies are additive and order-free ----------------------------------------------

_LABELS = st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["a", "b", "web", "db"]),
                          max_size=2)
_SELECTOR = st.one_of(
    st.just({}),
    st.builds(lambda m: {"matchLabels": m}, _LABELS),
    st.builds(lambda op, v: {"matchExpressions": [{"key": "app", "operator": op, "values": v}]},
              st.sampled_from(["In", "NotIn"]),
              st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2)),
)
_NS_SELECTOR = st.one_of(st.just({}), st.builds(lambda t: {"matchLabels": {"team": t}},
                                                st.sampled_from(["red", "blue"])))
_PEER = st.one_of(
    st.builds(lambda s: {"podSelector": s}, _SELECTOR),
    st.builds(lambda s: {"namespaceSelector": s}, _NS_SELECTOR),
    st.builds(lambda p, n: {"podSelector": p, "namespaceSelector": n}, _SELECTOR, _NS_SELECTOR),
    st.sampled_from([{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.2/32"]}},
                     {"ipBlock": {"cidr": "10.1.0.0/24"}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}]),
)
_PORT = st.sampled_from([{}, {"port": 80}, {"port": 81, "protocol": "UDP"}, {"port": 80, "endPort": 85},
                         {"port": "http"}, {"port": "dns", "protocol": "UDP"}, {"protocol": "UDP"}])


def _rules(peers_key: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    rule = st.fixed_dictionaries({}, optional={peers_key: st.lists(_PEER, max_size=2),
                                               "ports": st.lists(_PORT, max_size=2)})
    return st.lists(rule, max_size=2)


_SPEC = st.fixed_dictionaries(
    {"podSelector": _SELECTOR},
    optional={"policyTypes": st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
              "ingress": _rules("from"), "egress": _rules("to")},
)
_POLICIES = st.lists(st.tuples(st.sampled_from(["x", "y"]), _SPEC), min_size=1, max_size=4).map(
    lambda items: [policy(f"p{i}", ns, **spec) for i, (ns, spec) in enumerate(items)])


def _probes(engine: NetworkPolicies) -> list[tuple[str, str, int, str]]:
    return [(s, d, port, proto) for s in ENDPOINTS for d in ENDPOINTS if s != d for port, proto in PROBES]


@settings(max_examples=150, deadline=None)
@given(_POLICIES)
def test_each_side_is_the_union_of_its_policies(policies: list[dict[str, Any]]) -> None:
    """Isolated when any policy selects the pod; then allowed when any selecting policy allows."""
    combined = compile_(*policies)
    singles = [compile_(p) for p in policies]
    for src, dst, port, proto in _probes(combined):
        got = combined.allows(src, dst, port, proto)
        parts = [s.allows(src, dst, port, proto) for s in singles]
        for side in ("egress", "ingress"):
            decisions = [getattr(v, side) for v in parts]
            isolated = any(d.isolated for d in decisions)
            expected = not isolated or any(d.isolated and d.allowed for d in decisions)
            assert getattr(got, side).isolated == isolated
            assert getattr(got, side).allowed == expected, (src, dst, port, proto, side, got.reason)


@settings(max_examples=100, deadline=None)
@given(_POLICIES, st.randoms(use_true_random=False))
def test_policy_order_never_matters(policies: list[dict[str, Any]], rnd: Any) -> None:
    shuffled = list(policies)
    rnd.shuffle(shuffled)
    a, b = compile_(*policies), compile_(*shuffled)
    for probe in _probes(a):
        assert a.allows(*probe).allowed == b.allows(*probe).allowed


@settings(max_examples=100, deadline=None)
@given(_POLICIES, _POLICIES)
def test_once_everything_is_isolated_adding_policies_never_removes_a_connection(
        base: list[dict[str, Any]], extra: list[dict[str, Any]]) -> None:
    """Adding a policy can isolate a pod, but on isolated pods it only adds allowed traffic."""
    before = compile_(policy("deny-all-x", "x", policyTypes=["Ingress", "Egress"]),
                      policy("deny-all-y", "y", policyTypes=["Ingress", "Egress"]), *base)
    renamed = [{**p, "metadata": {**p["metadata"], "name": f"extra-{p['metadata']['name']}"}} for p in extra]
    after = compile_(policy("deny-all-x", "x", policyTypes=["Ingress", "Egress"]),
                     policy("deny-all-y", "y", policyTypes=["Ingress", "Egress"]), *base, *renamed)
    for probe in _probes(before):
        if before.allows(*probe).allowed:
            assert after.allows(*probe).allowed, probe


@settings(max_examples=50, deadline=None)
@given(_POLICIES)
def test_engine_none_allows_every_connection_whatever_the_policies(policies: list[dict[str, Any]]) -> None:
    engine = compile_(*policies, engine="none")
    assert all(engine.allows(*probe).allowed for probe in _probes(engine))


# --- scale: selection is computed once per pod, not once per connection ----------------------------


def test_200_policies_and_10000_connections_select_each_pod_once(monkeypatch: pytest.MonkeyPatch) -> None:
    namespaces = [Namespace(f"ns{i}", {"tier": str(i % 3)}) for i in range(4)]
    pods = [Pod(f"ns{i % 4}", f"pod{i}", {"app": f"app{i % 10}"}, f"10.0.{i // 250}.{i % 250 + 1}",
                (ContainerPort(8080, "http"),)) for i in range(100)]
    policies = [policy(f"p{i}", f"ns{i % 4}", podSelector={"matchLabels": {"app": f"app{i % 10}"}},
                       ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"tier": str(i % 3)}},
                                           "podSelector": {"matchLabels": {"app": f"app{(i + 1) % 10}"}}},
                                          {"ipBlock": {"cidr": f"10.0.{i % 2}.0/25"}}],
                                 "ports": [{"port": "http"}, {"port": 9000, "endPort": 9100}]}],
                       egress=[{"to": [{"namespaceSelector": {}}]}]) for i in range(200)]
    engine = NetworkPolicies(policies, namespaces=namespaces, pods=pods)
    calls = 0
    selects = _Policy.selects

    def counting(self: Any, pod: Pod, direction: Any) -> bool:
        nonlocal calls
        calls += 1
        return selects(self, pod, direction)

    monkeypatch.setattr(_Policy, "selects", counting)
    table = engine.matrix(pods, 8080)
    table_again = engine.matrix(pods, 9050)
    assert len(table) == len(table_again) == 100 * 99
    assert calls <= 2 * len(pods) * 50  # each pod against its namespace's 50 policies, per direction
    assert any(v.allowed for v in table.values()) and not all(v.allowed for v in table.values())


def test_external_peers_are_display_only() -> None:
    engine = NetworkPolicies([], pods=PODS, external_peers=[ExternalPeer("1.2.3.4", "example")])
    found = engine.endpoint("ip:1.2.3.4")
    assert isinstance(found, ExternalPeer) and found.name == "example"
