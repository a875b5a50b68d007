"""Ingress routing (sim/ingress/), beyond the oracle file.

Sources: kubernetes/website ``content/en/docs/concepts/services-networking/ingress.md`` (path
types, the Examples table, precedence, hostname wildcards, virtual hosting), the IngressRule
API reference ("matched against the host before the IngressRuleValue"), and ingress-nginx for
what Kubernetes leaves to the controller (merge order, default backends, forwarded headers,
ssl-passthrough). AKS-NETWORKING.md section 5 lists them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.ingress import (
    CONTROLLER_DEFAULT_BACKEND,
    EXACT,
    HOST_ANY,
    HOST_EXACT,
    HOST_WILDCARD,
    IMPLEMENTATION_SPECIFIC,
    INGRESS_DEFAULT_BACKEND,
    LOOPBACK,
    PREFIX,
    RULE,
    SSL_PASSTHROUGH,
    IngressError,
    IngressRouter,
    NginxConfig,
    ResourceBackend,
    Route,
    ServiceBackend,
    forwarded_for,
    host_matches,
    normalize_host,
    path_matches,
    real_ip,
)

# --------------------------------------------------------------------------- helpers


def path(p: str, path_type: str = PREFIX, svc: str | None = None, port: int | str = 80) -> dict[str, Any]:
    """One ``http.paths`` entry; the service is named after the path unless given."""
    name = svc or "svc" + (p.replace("/", "-").rstrip("-") or "-root") + "-" + path_type.lower()
    key = "number" if isinstance(port, int) else "name"
    return {"path": p, "pathType": path_type, "backend": {"service": {"name": name, "port": {key: port}}}}


def ingress(name: str = "web", rules: list[dict[str, Any]] | None = None, *, default: str | None = None,
            namespace: str = "default", annotations: dict[str, str] | None = None,
            created: str | None = None, tls: list[str] | None = None,
            ingress_class: str | None = None) -> dict[str, Any]:
    """A networking.k8s.io/v1 Ingress dict, as kubectl would apply it."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    if created:
        meta["creationTimestamp"] = created
    spec: dict[str, Any] = {}
    if rules is not None:
        spec["rules"] = rules
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    if tls:
        spec["tls"] = [{"hosts": tls, "secretName": "cert"}]
    if ingress_class:
        spec["ingressClassName"] = ingress_class
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def rule(*paths: dict[str, Any], host: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"http": {"paths": list(paths)}}
    if host is not None:
        out["host"] = host
    return out


def svc(route: Route) -> str | None:
    """The chosen Service's name, None for the controller's default backend."""
    assert route.backend is None or isinstance(route.backend, ServiceBackend)
    return route.backend.name if route.backend else None


# --------------------------------------------------------------------------- the docs table

# (paths as (path, pathType), request, the path that wins or None = no match) for every row of
# the ingress.md "Examples" table, including the rows the oracle file leaves out.
EXAMPLES = [
    ([("/", PREFIX)], "/anything/at/all", "/"),
    ([("/foo", EXACT)], "/foo", "/foo"),
    ([("/foo", EXACT)], "/bar", None),
    ([("/foo", EXACT)], "/foo/", None),
    ([("/foo/", EXACT)], "/foo", None),
    ([("/foo", PREFIX)], "/foo", "/foo"),
    ([("/foo", PREFIX)], "/foo/", "/foo"),
    ([("/foo/", PREFIX)], "/foo", "/foo/"),
    ([("/foo/", PREFIX)], "/foo/", "/foo/"),
    ([("/aaa/bb", PREFIX)], "/aaa/bbb", None),
    ([("/aaa/bbb", PREFIX)], "/aaa/bbb", "/aaa/bbb"),
    ([("/aaa/bbb/", PREFIX)], "/aaa/bbb", "/aaa/bbb/"),
    ([("/aaa/bbb", PREFIX)], "/aaa/bbb/", "/aaa/bbb"),
    ([("/aaa/bbb", PREFIX)], "/aaa/bbb/ccc", "/aaa/bbb"),
    ([("/aaa/bbb", PREFIX)], "/aaa/bbbxyz", None),
    ([("/", PREFIX), ("/aaa", PREFIX)], "/aaa/ccc", "/aaa"),
    ([("/", PREFIX), ("/aaa", PREFIX), ("/aaa/bbb", PREFIX)], "/aaa/bbb", "/aaa/bbb"),
    ([("/", PREFIX), ("/aaa", PREFIX), ("/aaa/bbb", PREFIX)], "/ccc", "/"),
    ([("/aaa", PREFIX)], "/ccc", None),
    ([("/foo", PREFIX), ("/foo", EXACT)], "/foo", "/foo"),
]


@pytest.mark.parametrize(("paths", "request_path", "winner"), EXAMPLES)
def test_every_row_of_the_docs_examples_table(paths: list[tuple[str, str]], request_path: str,
                                              winner: str | None) -> None:
    """Each row of ingress.md "Examples" routes as the table says; no match -> default backend (404)."""
    router = IngressRouter([ingress(rules=[rule(*(path(p, t) for p, t in paths))])])
    got = router.route("example.com", request_path)
    if winner is None:
        assert got.matched is None and got.source == CONTROLLER_DEFAULT_BACKEND and got.status == 404
    else:
        assert got.matched is not None and got.matched.path == winner and got.status == 200


def test_mixed_row_exact_wins_and_says_why() -> None:
    """Last table row: /foo as Prefix and as Exact; the request /foo goes to Exact."""
    router = IngressRouter([ingress(rules=[rule(path("/foo", PREFIX), path("/foo", EXACT))])])
    got = router.route("example.com", "/foo")
    assert got.matched is not None and got.matched.path_type == EXACT
    assert [b.why for b in got.beaten] == ["same length: Exact beats Prefix"]


# --------------------------------------------------------------------------- properties

SEGMENTS = st.lists(st.sampled_from(["a", "b", "aa", "ab"]), max_size=4)


def _join(segments: list[str], slash: bool = False) -> str:
    return "/" + "/".join(segments) + ("/" if slash and segments else "")


@given(rules=st.lists(st.tuples(SEGMENTS, st.booleans()), min_size=1, max_size=6,
                      unique_by=lambda r: tuple(r[0])),
       request=SEGMENTS, request_slash=st.booleans())
def test_the_longest_matching_prefix_wins(rules: list[tuple[list[str], bool]], request: list[str],
                                          request_slash: bool) -> None:
    """Among Prefix paths that are element-wise prefixes of the request, the longest one wins."""
    paths = [path(_join(segs, slash), PREFIX, svc=f"svc{i}") for i, (segs, slash) in enumerate(rules)]
    got = IngressRouter([ingress(rules=[rule(*paths)])]).route("h.example", _join(request, request_slash))
    matching = [i for i, (segs, _) in enumerate(rules) if request[: len(segs)] == segs]
    if not matching:
        assert got.backend is None and got.status == 404
        return
    best = max(matching, key=lambda i: len(_join(rules[i][0])))
    assert svc(got) == f"svc{best}"
    assert all(b.rule.length < got.matched.length for b in got.beaten)  # type: ignore[union-attr]


@given(segments=SEGMENTS, slash=st.booleans(), exact_first=st.booleans(), split=st.booleans())
def test_exact_beats_prefix_at_equal_length(segments: list[str], slash: bool, exact_first: bool,
                                            split: bool) -> None:
    """The same path as Exact and Prefix, in any order, in one Ingress or two: Exact wins."""
    p = _join(segments, slash)
    entries = [path(p, EXACT, svc="exact"), path(p, PREFIX, svc="prefix")]
    entries = entries if exact_first else entries[::-1]
    ings = ([ingress("one", [rule(entries[0])]), ingress("two", [rule(entries[1])])] if split
            else [ingress(rules=[rule(*entries)])])
    got = IngressRouter(ings).route("h.example", p)
    assert svc(got) == "exact"
    assert [b.rule.path_type for b in got.beaten] == [PREFIX]


@given(segments=SEGMENTS, extra=st.sampled_from(["x", "a", "aa"]))
def test_prefix_matching_is_element_wise_not_string_wise(segments: list[str], extra: str) -> None:
    """``/p`` matches ``/p``, ``/p/`` and ``/p/x``, never ``/px`` (ingress.md Prefix note)."""
    p = _join(segments)
    assert path_matches(PREFIX, p, p) and path_matches(PREFIX, p, p + "/")
    assert path_matches(PREFIX, p, p.rstrip("/") + "/" + extra)
    if segments:
        assert not path_matches(PREFIX, p, p + extra)


# --------------------------------------------------------------------------- hosts

WILDCARD = [ingress(rules=[rule(path("/", svc="wild"), host="*.foo.com"),
                           rule(path("/", svc="exact"), host="foo.bar.com"),
                           rule(path("/", svc="any"))])]


@pytest.mark.parametrize(("host", "expected", "how"), [
    ("bar.foo.com", "wild", HOST_WILDCARD),        # docs: "Matches based on shared suffix"
    ("baz.bar.foo.com", "any", HOST_ANY),          # docs: "wildcard only covers a single DNS label"
    ("foo.com", "any", HOST_ANY),                  # docs: same
    ("foo.bar.com", "exact", HOST_EXACT),
])
def test_wildcard_hosts_cover_exactly_one_label(host: str, expected: str, how: str) -> None:
    """ingress.md "Hostname wildcards" table; hosts no rule names go to the host-less rule."""
    got = IngressRouter(WILDCARD).route(host, "/")
    assert (svc(got), got.host_match) == (expected, how)


def test_host_matches_helper() -> None:
    assert host_matches("*.foo.com", "bar.foo.com")
    assert not host_matches("*.foo.com", "baz.bar.foo.com")
    assert not host_matches("*.foo.com", "foo.com")
    assert not host_matches("*.foo.com", ".foo.com")
    assert host_matches(None, "anything.example") and host_matches(None, None)
    assert not host_matches("foo.com", None)


def test_exact_host_beats_wildcard_which_beats_the_hostless_rule() -> None:
    """NGINX server_name order: exact name, then the wildcard, then the catch-all server."""
    router = IngressRouter([ingress(rules=[rule(path("/", svc="any")),
                                           rule(path("/", svc="wild"), host="*.example.com"),
                                           rule(path("/", svc="www"), host="www.example.com")])])
    got = router.route("www.example.com", "/x")
    assert svc(got) == "www"
    assert {svc_name(b.rule) for b in got.beaten} == {"any", "wild"}
    assert all("less specific" in b.why for b in got.beaten)


def svc_name(r: Any) -> str:
    return str(r.backend.name)


def test_a_host_rule_takes_the_request_even_when_none_of_its_paths_match() -> None:
    """Host first, then path: no fall-through to the host-less rule (docs virtual hosting)."""
    router = IngressRouter([ingress(rules=[rule(path("/api", svc="api"), host="shop.example.com"),
                                           rule(path("/", svc="catch-all"))])])
    got = router.route("shop.example.com", "/cart")
    assert got.backend is None and got.status == 404 and got.server == "shop.example.com"
    assert "none of its 1 path(s) matched '/cart'" in got.reason
    assert [svc_name(b.rule) for b in got.beaten] == ["catch-all"]
    assert svc(router.route("other.example.com", "/cart")) == "catch-all"


@pytest.mark.parametrize("host", ["shop.example.com:8443", "SHOP.Example.COM", "Shop.example.com.:80",
                                  " shop.example.com "])
def test_host_header_port_case_and_trailing_dot_are_ignored(host: str) -> None:
    """Host may carry a port (RFC 9110 7.2) and DNS names are case-insensitive (RFC 4343)."""
    router = IngressRouter([ingress(rules=[rule(path("/", svc="shop"), host="shop.example.com")])])
    got = router.route(host, "/")
    assert svc(got) == "shop" and got.host == "shop.example.com"


def test_normalize_host() -> None:
    assert normalize_host("[::1]:8080") == "[::1]"
    assert normalize_host("10.0.0.1:80") == "10.0.0.1"
    assert normalize_host("") is None and normalize_host(None) is None


def test_paths_stay_case_sensitive_while_hosts_do_not() -> None:
    """conformance path_rules: /FOO matches neither Exact /foo nor Prefix /foo."""
    router = IngressRouter([ingress(rules=[rule(path("/foo", EXACT, svc="e"), host="a.example"),
                                           rule(path("/foo", PREFIX, svc="p"), host="b.example")])])
    assert router.route("A.EXAMPLE", "/FOO").backend is None
    assert router.route("B.example", "/FOO").backend is None
    assert svc(router.route("B.EXAMPLE", "/foo/bar")) == "p"


def test_no_host_header_only_reaches_hostless_rules() -> None:
    router = IngressRouter([ingress(rules=[rule(path("/", svc="named"), host="a.example")])])
    assert router.route(None, "/").source == CONTROLLER_DEFAULT_BACKEND
    router = IngressRouter([ingress(rules=[rule(path("/", svc="any"))])])
    assert svc(router.route(None, "/")) == "any"


def test_query_string_is_not_part_of_the_path() -> None:
    router = IngressRouter([ingress(rules=[rule(path("/search", EXACT, svc="s"))])])
    assert svc(router.route("h", "/search?q=aks#top")) == "s"


def test_implementation_specific_is_matched_as_prefix() -> None:
    """A modelling choice: ImplementationSpecific = Prefix (see PathRule.match_type)."""
    router = IngressRouter([ingress(rules=[rule(path("/foo", IMPLEMENTATION_SPECIFIC, svc="impl"))])])
    assert svc(router.route("h", "/foo/bar")) == "impl"
    assert router.route("h", "/foobar").backend is None
    assert "matched as Prefix" in router.route("h", "/foo").explain()


# --------------------------------------------------------------------------- merging Ingresses


def test_ingresses_for_one_host_merge_into_one_server() -> None:
    router = IngressRouter([ingress("a", [rule(path("/a", svc="a"), host="h.example")]),
                            ingress("b", [rule(path("/b", svc="b"), host="h.example")])])
    assert svc(router.route("h.example", "/a/1")) == "a"
    assert svc(router.route("h.example", "/b/1")) == "b"


def test_a_duplicate_path_goes_to_the_oldest_ingress() -> None:
    """ingress-nginx sortIngressSlice: oldest creationTimestamp first; the first location stays."""
    newer = ingress("newer", [rule(path("/", svc="newer"))], created="2024-05-02T00:00:00Z")
    older = ingress("older", [rule(path("/", svc="older"))], created="2024-05-01T00:00:00Z")
    router = IngressRouter([newer, older])
    got = router.route("h", "/")
    assert svc(got) == "older" and router.ingresses == ("default/older", "default/newer")
    assert "comes first in controller order" in got.beaten[0].why


def test_equal_timestamps_order_by_name_descending_and_none_keep_list_order() -> None:
    stamp = "2024-05-01T00:00:00Z"
    router = IngressRouter([ingress("a", [], default="x", created=stamp),
                            ingress("b", [], default="y", created=stamp),
                            ingress("late", [], default="z")])
    assert router.ingresses == ("default/b", "default/a", "default/late")


# --------------------------------------------------------------------------- default backends


def test_an_ingress_without_rules_takes_everything_with_its_default_backend() -> None:
    """conformance default_backend.feature: every host and path reaches the defaultBackend (200)."""
    router = IngressRouter([ingress("d", default="echo")])
    for host in ("my-host", None, "x.y"):
        got = router.route(host, "/sub-path")
        assert (svc(got), got.status, got.source) == ("echo", 200, INGRESS_DEFAULT_BACKEND)
        assert got.default_from == "default/d" and got.matched is None


def test_a_host_server_falls_back_to_its_own_ingress_default_backend() -> None:
    """createServers: a host's root location uses the defaultBackend of the Ingress declaring it."""
    router = IngressRouter([ingress("shop", [rule(path("/api", svc="api"), host="shop.example")],
                                    default="shop-home"),
                            ingress("other", [rule(path("/x", svc="x"), host="other.example")])])
    assert svc(router.route("shop.example", "/nope")) == "shop-home"
    other = router.route("other.example", "/nope")
    assert other.backend is None and other.status == 404
    # the catch-all server takes any Ingress's defaultBackend
    assert svc(router.route("unknown.example", "/")) == "shop-home"


def test_the_last_default_backend_in_controller_order_wins_the_catch_all() -> None:
    router = IngressRouter([ingress("first", default="one", created="2024-01-01T00:00:00Z"),
                            ingress("second", default="two", created="2024-02-01T00:00:00Z")])
    assert svc(router.route("h", "/")) == "two"


# --------------------------------------------------------------------------- ingress class


def test_ingress_class_filter() -> None:
    ings = [ingress("nginx", [rule(path("/n", svc="n"))], ingress_class="nginx"),
            ingress("legacy", [rule(path("/l", svc="l"))],
                    annotations={"kubernetes.io/ingress.class": "nginx"}),
            ingress("other", [rule(path("/o", svc="o"))], ingress_class="traefik"),
            ingress("none", [rule(path("/x", svc="x"))])]
    router = IngressRouter(ings, "nginx")
    assert router.ingresses == ("default/nginx", "default/legacy")
    ignored = dict(router.ignored)
    assert ignored["default/other"] == "its ingress class is 'traefik', the controller serves 'nginx'"
    assert "--watch-ingress-without-class" in ignored["default/none"]
    watching = IngressRouter(ings, "nginx", watch_ingress_without_class=True)
    assert "default/none" in watching.ingresses
    assert len(IngressRouter(ings).ingresses) == 4


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda i: i["spec"]["rules"][0]["http"]["paths"][0].pop("pathType"), "pathType: required"),
    (lambda i: i.update(apiVersion="extensions/v1beta1"), "removed in Kubernetes 1.22"),
    (lambda i: i["spec"]["rules"][0].update(host="Shop.example"), "must be lowercase"),
    (lambda i: i["spec"]["rules"][0].update(host="shop.example:80"), "may not contain a port"),
    (lambda i: i["spec"]["rules"][0].update(host="10.0.0.1"), "is an IP address"),
    (lambda i: i["spec"]["rules"][0].update(host="a.*.example"), "only as the whole first label"),
    (lambda i: i["spec"]["rules"][0]["http"]["paths"][0].update(path="foo"), "absolute path"),
    (lambda i: i["spec"]["rules"][0]["http"]["paths"][0].update(path="/a//b"), "invalid sequence"),
    (lambda i: i["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"].update(name="web"),
     "exactly one of number or name"),
    (lambda i: i["spec"].pop("rules"), "either defaultBackend or rules"),
    (lambda i: i["metadata"].pop("name"), "metadata.name: required"),
])
def test_ingresses_the_api_server_rejects_raise_with_the_location(mutate: Any, message: str) -> None:
    bad = ingress("bad", [rule(path("/foo"), host="shop.example")])
    mutate(bad)
    with pytest.raises(IngressError, match=message):
        IngressRouter([bad])


def test_resource_backends_and_named_ports() -> None:
    res = {"path": "/static", "pathType": PREFIX,
           "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket",
                                    "name": "static-assets"}}}
    router = IngressRouter([ingress(rules=[rule(res, path("/", svc="web", port="http"))])])
    assert router.route("h", "/static/app.js").backend == ResourceBackend(
        "StorageBucket", "static-assets", "k8s.example.com", "default")
    assert router.route("h", "/").backend == ServiceBackend("web", "http", "default")


def test_bad_requests_raise() -> None:
    router = IngressRouter([ingress(default="d")])
    with pytest.raises(IngressError, match="scheme 'ftp'"):
        router.route("h", "/", "ftp")
    with pytest.raises(IngressError, match="must start with '/'"):
        router.route("h", "index.html")


# --------------------------------------------------------------------------- reasons


def test_reasons_name_the_ingress_rule_path_and_losers() -> None:
    router = IngressRouter([ingress("path-rules", [rule(path("/aaa", svc="aaa"), path("/aaa/bbb", svc="bbb"),
                                                        host="prefix.example")])])
    got = router.route("prefix.example", "/aaa/bbb/ccc")
    assert got.source == RULE
    assert got.reason == ("Ingress default/path-rules spec.rules[0].http.paths[1], host 'prefix.example' "
                          "(exact match): path '/aaa/bbb' (Prefix) is the best of 2 matching paths "
                          "-> service default/bbb:80")
    assert "beat: '/aaa' (Prefix) -> service default/aaa:80" in got.explain()
    assert "shorter match (4 < 8 characters): the longest path wins" in got.explain()
    miss = router.route("prefix.example", "/aaaccc")
    assert miss.reason == ("host 'prefix.example' (exact match): none of its 2 path(s) matched '/aaaccc'; "
                           "no Ingress defaultBackend applies -> the controller's default backend (HTTP 404)")
    assert miss.explain().count("no match:") == 2


# --------------------------------------------------------------------------- X-Forwarded-For
# ingress-nginx ConfigMap docs + rootfs/etc/nginx/template/nginx.tmpl:
#   X-Forwarded-For = $full_x_forwarded_for if use-forwarded-headers and compute-full-forwarded-for
#                     else $remote_addr (after the real-IP module)

CLIENT, LB_SNAT, SPOOF = "203.0.113.7", "10.224.0.5", "198.51.100.66"


def test_by_default_incoming_xff_is_ignored_and_replaced_by_what_nginx_sees() -> None:
    """use-forwarded-headers defaults to false."""
    cfg = NginxConfig()
    assert forwarded_for(CLIENT, SPOOF, LB_SNAT, cfg) == LB_SNAT
    assert forwarded_for(CLIENT, None, CLIENT, cfg) == CLIENT  # externalTrafficPolicy: Local


def test_use_forwarded_headers_trusts_the_header() -> None:
    """real_ip_recursive on with proxy-real-ip-cidr 0.0.0.0/0: the leftmost address wins."""
    cfg = NginxConfig(use_forwarded_headers=True)
    assert forwarded_for(CLIENT, f"{SPOOF}, {CLIENT}", LB_SNAT, cfg) == SPOOF
    assert forwarded_for(CLIENT, None, LB_SNAT, cfg) == LB_SNAT


def test_a_narrow_proxy_real_ip_cidr_stops_at_the_first_untrusted_hop() -> None:
    cfg = NginxConfig(use_forwarded_headers=True, proxy_real_ip_cidr=("10.0.0.0/8",))
    assert real_ip(CLIENT, f"{SPOOF}, {CLIENT}, 10.1.2.3", LB_SNAT, cfg) == CLIENT
    assert real_ip(CLIENT, f"{SPOOF}, {CLIENT}", "192.0.2.1", cfg) == "192.0.2.1"  # untrusted peer


def test_compute_full_forwarded_for_appends_the_peer() -> None:
    cfg = NginxConfig(use_forwarded_headers=True, compute_full_forwarded_for=True)
    assert forwarded_for(CLIENT, f"{CLIENT}, 10.9.9.9", LB_SNAT, cfg) == f"{CLIENT}, 10.9.9.9, {LB_SNAT}"
    assert forwarded_for(CLIENT, None, LB_SNAT, cfg) == LB_SNAT


def test_compute_full_forwarded_for_alone_changes_nothing() -> None:
    """nginx.tmpl guards $full_x_forwarded_for with `and UseForwardedHeaders ComputeFullForwardedFor`."""
    assert forwarded_for(CLIENT, SPOOF, LB_SNAT, NginxConfig(compute_full_forwarded_for=True)) == LB_SNAT


def test_ssl_passthrough_adds_no_forwarded_for() -> None:
    """annotations.md: passthrough works at L4, so NGINX never touches the HTTP request."""
    cfg = NginxConfig(enable_ssl_passthrough=True)
    assert forwarded_for(CLIENT, SPOOF, LB_SNAT, cfg, scheme="https", ssl_passthrough=True) is None


def test_with_the_passthrough_proxy_enabled_terminated_https_comes_from_loopback() -> None:
    """kubernetes/ingress-nginx#8052: without PROXY protocol, every HTTPS client is 127.0.0.1."""
    cfg = NginxConfig(enable_ssl_passthrough=True)
    assert forwarded_for(CLIENT, None, CLIENT, cfg, scheme="https") == LOOPBACK
    assert forwarded_for(CLIENT, None, CLIENT, cfg, scheme="http") == CLIENT
    with_proxy_protocol = NginxConfig(enable_ssl_passthrough=True, use_proxy_protocol=True)
    assert forwarded_for(CLIENT, None, LB_SNAT, with_proxy_protocol, scheme="https") == CLIENT


# --------------------------------------------------------------------------- ssl-passthrough routing

PASSTHROUGH = [ingress("vault", [rule(path("/", svc="vault", port=8200), path("/ui", svc="ui"),
                                      host="vault.example")],
                       annotations={"nginx.ingress.kubernetes.io/ssl-passthrough": "true",
                                    "nginx.ingress.kubernetes.io/rewrite-target": "/",
                                    "nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8"})]


def test_passthrough_needs_the_controller_flag() -> None:
    """annotations.md: ssl-passthrough is disabled by default (--enable-ssl-passthrough)."""
    got = IngressRouter(PASSTHROUGH).route("vault.example", "/ui", "https")
    assert not got.ssl_passthrough and svc(got) == "ui"
    assert any("--enable-ssl-passthrough" in n for n in got.notes)


def test_passthrough_routes_tls_by_sni_to_the_root_backend_and_ignores_other_annotations() -> None:
    router = IngressRouter(PASSTHROUGH, nginx=NginxConfig(enable_ssl_passthrough=True))
    got = router.route("vault.example:443", "/ui", "https")
    assert got.ssl_passthrough and got.source == SSL_PASSTHROUGH and svc(got) == "vault"
    assert got.ignored_annotations == ("nginx.ingress.kubernetes.io/rewrite-target",
                                       "nginx.ingress.kubernetes.io/whitelist-source-range")
    assert "ssl-passthrough for host 'vault.example'" in got.reason
    # plain HTTP is still routed by NGINX at L7
    assert svc(router.route("vault.example", "/ui", "http")) == "ui"


def test_passthrough_matches_sni_exactly_so_wildcard_hosts_are_terminated() -> None:
    """tcp.go TCPProxy.Get compares the SNI name for equality."""
    wild = ingress("w", [rule(path("/", svc="w"), host="*.example")],
                   annotations={"nginx.ingress.kubernetes.io/ssl-passthrough": "true"})
    router = IngressRouter([wild], nginx=NginxConfig(enable_ssl_passthrough=True))
    got = router.route("a.example", "/", "https")
    assert not got.ssl_passthrough and svc(got) == "w"


def test_passthrough_without_a_root_backend_is_ignored() -> None:
    no_root = ingress("n", [rule(path("/api", svc="api"), host="n.example")],
                      annotations={"nginx.ingress.kubernetes.io/ssl-passthrough": "true"})
    got = IngressRouter([no_root], nginx=NginxConfig(enable_ssl_passthrough=True)).route(
        "n.example", "/api", "https")
    assert not got.ssl_passthrough and svc(got) == "api"
    assert any("ignoring SSL Passthrough" in n for n in got.notes)


def test_https_to_a_host_without_tls_is_noted_but_routed_the_same() -> None:
    router = IngressRouter([ingress(rules=[rule(path("/", svc="s"), host="a.example")], tls=["b.example"])])
    got = router.route("a.example", "/", "https")
    assert svc(got) == "s" and any("default (self-signed) certificate" in n for n in got.notes)
    assert not router.route("b.example", "/", "https").notes
