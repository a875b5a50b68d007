"""One engine per question: the traffic path and ``aks-sim reach`` give the same NetworkPolicy
verdict for every pair of workloads (issue 14).

Semantics (kubernetes/website concepts/services-networking/network-policies.md, AKS-NETWORKING.md
section 6): a ``namespaceSelector`` matches the labels of the peer's namespace; a connection
needs egress allowed at the source and ingress allowed at the destination; a pod isolated for
egress may only send what a rule allows, DNS queries to CoreDNS (UDP 53) included, so an egress
default-deny without a DNS rule makes every lookup fail (the documented reason to add one;
kubernetes dns-debugging-resolution, "Are DNS queries being received/processed?").
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import make_sim

from sim.views.reach import reachability
from sim.views.route import trace


def _deployment(ns: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name, **labels}},
                                  "spec": {"containers": [{
                                      "name": name,
                                      "ports": [{"name": "http", "containerPort": 80}],
                                      "resources": {"requests": {"cpu": "50m",
                                                                 "memory": "32Mi"}}}]}}}}


def _service(ns: str, name: str) -> dict[str, Any]:
    # a public load balancer keeping the client's address (externalTrafficPolicy Local), so
    # policies see the internet client as reach's internet row does
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                     "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 80}]}}


def _scenario(namespaces: dict[str, dict[str, str]], deps: list[tuple[str, str, dict[str, str]]],
              policies: list[dict[str, Any]]) -> str:
    workloads: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}
        for ns, labels in namespaces.items()]
    flows = []
    for ns, name, labels in deps:
        workloads += [_deployment(ns, name, labels), _service(ns, name)]
    for sns, sname, _ in deps:
        flows.append({"name": f"internet-to-{sname}", "to": {"service": f"{sns}/{sname}"},
                      "clientIP": "203.0.113.10", "rate": {"profile": "constant", "rps": 5}})
    for cns, cname, _ in deps:
        for sns, sname, _ in deps:
            flows.append({"name": f"{cname}-to-{sname}", "from": "pods",
                          "client": f"{cns}/{cname}", "to": {"service": f"{sns}/{sname}"},
                          "dnsName": f"{sname}.{sns}.svc.cluster.local.",
                          "rate": {"profile": "constant", "rps": 5}})
    workloads += policies
    scenario = {
        "duration": "40s",
        "cluster": {"networkPlugin": "azure", "networkPluginMode": "overlay",
                    "networkPolicy": "calico",
                    "nodePools": [{"name": "system", "mode": "System", "count": 2}]},
        "workloads": workloads,
        "traffic": {"flows": flows},
    }
    return json.dumps(scenario)  # JSON is YAML


_ROUTES: dict[str, str] = {}
"""The outcome ``aks-sim route`` names for each flow of the last run (filled by _outcomes)."""


def _outcomes(text: str) -> tuple[dict[str, dict[str, int]], Any]:
    sim, _ = make_sim(text)
    figures = sim.run().figures
    _ROUTES.clear()
    for flow in sim.spec.traffic.flows if sim.spec.traffic else []:
        ns, name = flow.to.service.split("/")
        source = flow.client if flow.from_ == "pods" else None
        _ROUTES[flow.name] = trace(sim.model, flow.dns_name or f"{name}.{ns}", "/", "http",
                                   source=source, client_ip=str(flow.client_ip)).outcome
    out: dict[str, dict[str, int]] = {}
    for key, value in figures.items():
        parts = key.split(".")
        if parts[0] == "flow" and len(parts) == 4 and parts[2] == "cause":
            out.setdefault(parts[1], {})[parts[3]] = int(value)
        elif parts[0] == "flow" and len(parts) == 3 and parts[2] in ("requests", "errors"):
            out.setdefault(parts[1], {})[parts[2]] = int(value)
    return out, reachability(sim.model)


def _policy(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _expected(reach: Any, src: str, dst: str) -> str:
    """What reach says each request of a src -> dst call must end as."""
    if src == "internet":
        return "ok" if reach.cells[(src, dst)].allowed else "denied"
    if not reach.cells[(src, "kube-system/coredns")].allowed:
        return "dns_failure"  # the lookup never gets an answer
    return "ok" if reach.cells[(src, dst)].allowed else "denied"


def _check(namespaces: dict[str, dict[str, str]], deps: list[tuple[str, str, dict[str, str]]],
           policies: list[dict[str, Any]]) -> None:
    outcomes, reach = _outcomes(_scenario(namespaces, deps, policies))
    clients = [("internet", "internet")] + [(f"{ns}/{name}", name) for ns, name, _ in deps]
    for src, cname in clients:
        for sns, sname, _ in deps:
            got = outcomes[f"{cname}-to-{sname}"]
            want = _expected(reach, src, f"{sns}/{sname}")
            total = got["requests"]
            assert total > 0
            wrong = {k: v for k, v in got.items() if k not in ("requests", "errors", want) and v}
            assert not wrong and got.get(want, total - got["errors"]) == total, (
                cname, sname, want, got)
            # aks-sim route asks the same engine the same question (issue 14)
            assert _ROUTES[f"{cname}-to-{sname}"] == want, (cname, sname, want, _ROUTES)


def test_a_namespace_selector_on_a_custom_label_lets_that_namespace_in() -> None:
    """The issue's case: api in shop allows ingress only from namespaces labelled team: web.
    web (namespace front, team: web) gets through on every request; batch (namespace jobs,
    no such label) is denied on every request; reach says the same."""
    namespaces = {"front": {"team": "web"}, "jobs": {"team": "batch"}, "shop": {}}
    deps = [("front", "web", {}), ("jobs", "batch", {}), ("shop", "api", {})]
    policies = [_policy("shop", "from-web-teams", {
        "podSelector": {"matchLabels": {"app": "api"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "web"}}}]}]})]
    outcomes, reach = _outcomes(_scenario(namespaces, deps, policies))
    assert reach.cells[("front/web", "shop/api")].allowed
    assert not reach.cells[("jobs/batch", "shop/api")].allowed
    web = outcomes["web-to-api"]
    batch = outcomes["batch-to-api"]
    assert web["requests"] > 0 and web.get("denied", 0) == 0 and web["errors"] == 0
    assert batch["requests"] > 0 and batch.get("denied") == batch["requests"]


def test_an_egress_default_deny_blocks_dns_lookups() -> None:
    """A pod isolated for egress with no rule for UDP 53 cannot reach CoreDNS: its calls by
    name fail as dns_failure (the lookup times out), not as denied; adding the DNS rule
    leaves only the connection to decide (denied)."""
    namespaces = {"shop": {}}
    deps = [("shop", "web", {}), ("shop", "api", {})]
    deny = _policy("shop", "deny-egress", {"podSelector": {"matchLabels": {"app": "web"}},
                                            "policyTypes": ["Egress"]})
    outcomes, _ = _outcomes(_scenario(namespaces, deps, [deny]))
    calls = outcomes["web-to-api"]
    assert calls["requests"] > 0 and calls.get("dns_failure") == calls["requests"]
    dns = _policy("shop", "allow-dns", {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}]})
    outcomes, _ = _outcomes(_scenario(namespaces, deps, [deny, dns]))
    calls = outcomes["web-to-api"]
    assert calls["requests"] > 0 and calls.get("denied") == calls["requests"]


# --- the property: every pair, every generated cluster ----------------------------------------

_LABELS = st.dictionaries(st.sampled_from(["team", "env"]), st.sampled_from(["web", "db"]),
                          max_size=2)
_NS = ["a", "b", "c"]
_APPS = ["p", "q", "r"]


def _selector(draw: Any, keys: list[str], values: list[str]) -> dict[str, Any]:
    labels = draw(st.dictionaries(st.sampled_from(keys), st.sampled_from(values), max_size=1))
    return {"matchLabels": labels} if labels else {}


@st.composite
def _clusters(draw: Any) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]],
                                  list[dict[str, Any]]]:
    namespaces = {ns: draw(_LABELS) for ns in _NS[:draw(st.integers(1, 3))]}
    deps = []
    for app in _APPS[:draw(st.integers(2, 3))]:
        deps.append((draw(st.sampled_from(sorted(namespaces))), app,
                     draw(st.dictionaries(st.just("tier"), st.sampled_from(["front", "back"]),
                                          max_size=1))))
    policies = []
    for i in range(draw(st.integers(0, 3))):
        ns = draw(st.sampled_from(sorted(namespaces)))
        types = draw(st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        spec: dict[str, Any] = {"podSelector": _selector(draw, ["app", "tier"],
                                                         [*_APPS, "front", "back"]),
                                "policyTypes": types}
        for direction, key in (("Ingress", "from"), ("Egress", "to")):
            if direction not in types:
                continue
            rules = []
            for _ in range(draw(st.integers(0, 2))):
                peer_kind = draw(st.sampled_from(["pod", "ns", "both", "any", "ip"]))
                peer: dict[str, Any] = {}
                if peer_kind == "ip":  # the internet client's range, or another one
                    peer["ipBlock"] = {"cidr": draw(st.sampled_from(["203.0.113.0/24",
                                                                     "198.51.100.0/24"]))}
                if peer_kind in ("pod", "both"):
                    peer["podSelector"] = _selector(draw, ["app", "tier"], [*_APPS, "front"])
                if peer_kind in ("ns", "both"):
                    peer["namespaceSelector"] = _selector(draw, ["team", "env"], ["web", "db"])
                rule: dict[str, Any] = {key: [peer]} if peer else {}
                port = draw(st.sampled_from([None, 80, 53, 81]))
                if port is not None:
                    rule["ports"] = [{"port": port, "protocol": "UDP" if port == 53 else "TCP"}]
                rules.append(rule)
            spec[direction.lower()] = rules
        policies.append(_policy(ns, f"pol-{i}", spec))
    return namespaces, deps, policies


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_clusters())
def test_traffic_outcomes_equal_reach_verdicts_for_every_pair(cluster: Any) -> None:
    """For generated namespaces (with labels), labelled pods and policies, every pod -> Service
    call and every internet client of each Service's load balancer ends as reach says: all ok
    when reach allows the pair, all denied when it denies it, all dns_failure when reach
    denies the client's egress to CoreDNS on UDP 53; and aks-sim route names that outcome
    for the same request."""
    _check(*cluster)
