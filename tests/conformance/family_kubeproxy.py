"""The kube-proxy family: probability chains, traffic policy, IPVS schedulers, defaults.

Every case runs through ``sim.kubeproxy``, dispatched on its ``kind`` (never on its id):

- ``chain``: ``iptables_chain(n)`` must give each rule's exact ``--probability`` string, its
  conditional and its marginal (to the printed precision). Literal iptables lines are
  accepted as well: their statistic match must be the model's.
- ``service-routing``: the case's Service, endpoints, client and destination go through
  ``kubeproxy.route``; reachable endpoints, verdict, masquerade, rule comment and chain
  must match. Unstated cluster facts follow upstream's test conventions (pod CIDR
  10.0.0.0/8, node IP 192.168.0.2: pkg/proxy/iptables/proxier_test.go).
- ``statistical-check``: connections are drawn from the model's pickers with a fixed seed
  and must meet the case's bounds (absolute deviation, chi-square p-value).
- ``enum`` / ``default`` / ``sequence``: names, defaults and orderings are read from the
  model (scheduler registry, constants, ``IpvsService`` picks), and every IPVS scheduler
  named is also exercised for its defining property.
- ``rule``: the statement's topic (probability chain, affinity, traffic policy, health
  checks, schedulers, NodePort range, ClusterIP bands, sync periods) selects checks through
  the API; each check prints what it verified. A statement no check understands fails.

A case that cannot be run fails and says why; nothing is skipped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from conformance_loader import OracleFile

from sim import kubeproxy as kp
from sim.kernel.rng import Streams

Check = Callable[[], None]
SEED = 20261126

# Conventions of upstream's iptables proxier tests (NewFakeProxier), used when a case is silent.
UPSTREAM_NODE = "testHostname"
UPSTREAM_NODE_IP = "192.168.0.2"
UPSTREAM_POD_CIDR = "10.0.0.0/8"


def collect(files: list[OracleFile]) -> list[tuple[str, Check]]:
    """One ``(case id, check)`` per case of every kube-proxy file given."""
    out: list[tuple[str, Check]] = []
    for f in files:
        cases = f.data.get("cases") if isinstance(f.data, Mapping) else None
        if not isinstance(cases, list):
            out.append(("<no cases>", _failing(f"{f.label}: expected a top-level 'cases' list")))
            continue
        for i, case in enumerate(cases):
            case_id = str(case.get("id") or f"case-{i}") if isinstance(case, Mapping) else f"case-{i}"
            out.append((case_id, _check_for(f.label, case_id, case)))
    return out


def _failing(message: str) -> Check:
    def check() -> None:
        raise AssertionError(message)

    return check


def _check_for(label: str, case_id: str, case: Any) -> Check:
    if not isinstance(case, Mapping):
        return _failing(f"{label}::{case_id}: a case must be a mapping, got {type(case).__name__}")
    kind = case.get("kind")
    handler = HANDLERS.get(str(kind))
    if handler is None:
        return _failing(f"{label}::{case_id}: kind {kind!r} has no check; known kinds: "
                        f"{', '.join(HANDLERS)}")

    def check() -> None:
        verified = handler(case)
        print(f"{label}::{case_id}: verified {verified}")

    return check


# --- reading cases ---------------------------------------------------------------------------


def _norm(key: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(key).lower())


def _get(d: Any, *names: str, default: Any = None) -> Any:
    """``d[name]`` for the first of *names* present, matching keys case- and separator-blind."""
    if not isinstance(d, Mapping):
        return default
    by_key = {_norm(k): v for k, v in d.items()}
    for name in names:
        if _norm(name) in by_key:
            return by_key[_norm(name)]
    return default


def _tokens(text: object) -> set[str]:
    """Words of a key or phrase: ``sessionAffinityConfig`` -> {session, affinity, config}."""
    words = re.findall(r"[A-Z]?[a-z]+|[0-9]+|[A-Z]+(?![a-z])", str(text))
    return {w.lower() for w in words}


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(v, (*path, str(k)))
    else:
        yield path, value


def _decimals(x: float) -> int:
    text = repr(float(x))
    return 0 if "e" in text or "." not in text else len(text.split(".")[1].rstrip("0"))


def _close(expected: Any, got: float) -> bool:
    """Equal to half a unit in the expected value's last printed digit; short decimals
    (fewer than 4 digits, such as 0.25 or 1.0) are exact values and must match to 1e-12."""
    if not isinstance(expected, int | float) or isinstance(expected, bool):
        return False
    d = _decimals(expected)
    tol = 0.5 * 10.0 ** -d if d >= 4 else 1e-12
    return abs(float(expected) - float(got)) <= tol + 1e-15


def _endpoint_count(inputs: Any) -> int:
    value = _get(inputs, "endpoints", "n", "endpoint_count", "backends", "servers")
    if isinstance(value, bool) or value is None:
        raise AssertionError(f"cannot tell the number of endpoints from inputs {inputs!r}")
    n = len(value) if isinstance(value, list) else int(value)
    if n < 1:
        raise AssertionError(f"inputs name {n} endpoints; a chain needs at least one")
    return n


# --- chain -----------------------------------------------------------------------------------

_PROB = re.compile(r"--probability\s+(\S+)")


def _literal_rule_lines(expected: Any) -> list[str]:
    lines: list[str] = []
    for _, value in _leaves(expected):
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, str):
                lines += [ln.strip() for ln in item.splitlines()
                          if "KUBE-SEP-" in ln and "-j" in ln and "--rcheck" not in ln
                          and re.search(r"-A KUBE-SV[CL]", ln)]
    return lines


def check_chain(case: Mapping[str, Any]) -> str:
    """The model's chain for n endpoints, rule by rule, against the case."""
    n = _endpoint_count(case.get("inputs"))
    expected = case.get("expected") or {}
    rules = kp.iptables_chain(n)
    listed = _get(expected, "rules")
    problems: list[str] = []
    if isinstance(listed, list) and listed and all(isinstance(r, Mapping) for r in listed):
        if len(listed) != n:
            problems.append(f"case lists {len(listed)} rules for {n} endpoints; the model writes {n}")
        for pos, (want, got) in enumerate(zip(listed, rules, strict=False)):
            problems += _rule_problems(pos, want, got)
        what = f"{n} rules: probability_arg, conditional and marginal of each"
    else:
        lines = _literal_rule_lines(expected)
        if not lines:
            raise AssertionError("the case's expected holds neither a 'rules' list of mappings nor "
                                 "literal '-A KUBE-SVC... -j KUBE-SEP-...' lines: nothing to compare")
        if len(lines) != n:
            problems.append(f"{len(lines)} literal endpoint rules for {n} endpoints")
        for line, got in zip(lines, rules, strict=False):
            m = _PROB.search(line)
            arg = m.group(1) if m else None
            if arg != got.probability_arg:
                problems.append(f"rule {got.index}: literal has --probability {arg}, model "
                                f"{got.probability_arg}")
            if got.match_args and " ".join(got.match_args) not in line:
                problems.append(f"rule {got.index}: literal lacks the model's match "
                                f"{' '.join(got.match_args)!r}: {line}")
        what = f"{n} literal iptables lines carry the model's statistic matches"
    if sum(r.marginal for r in rules) != 1:
        problems.append("model marginals do not sum to 1")
    assert not problems, "; ".join(problems)
    return f"iptables_chain({n}): {what}"


def _rule_problems(pos: int, want: Mapping[str, Any], got: kp.Rule) -> list[str]:
    out: list[str] = []
    index = _get(want, "index", default=pos)
    if index != got.index:
        out.append(f"rule at position {pos} has index {index}, model {got.index}")
    if "probability_arg" in want and want["probability_arg"] != got.probability_arg:
        out.append(f"rule {got.index}: --probability {want['probability_arg']!r}, model "
                   f"{got.probability_arg!r}")
    for key, value in (("conditional_probability", got.conditional),
                       ("marginal_probability", got.marginal)):
        if key in want and not _close(want[key], float(value)):
            out.append(f"rule {got.index}: {key} {want[key]}, model {value} = {float(value):.12f}")
    return out


# --- service-routing -------------------------------------------------------------------------


def _ips(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        ip = _get(item, "ip", "address") if isinstance(item, Mapping) else item
        if ip:
            out.append(str(ip).strip())
    return tuple(out)


def _flatten_k8s_service(s: Mapping[str, Any]) -> dict[str, Any]:
    """A ``v1.Service`` dict (metadata/spec/status) as one flat mapping of its first port."""
    spec = dict(s.get("spec") or {})
    ports = spec.pop("ports", None) or [{}]
    flat: dict[str, Any] = {**(s.get("metadata") or {}), **spec, **ports[0]}
    flat["portName"] = ports[0].get("name", "")
    ingress = _get(_get(s.get("status"), "loadBalancer"), "ingress")
    if ingress:
        flat["loadBalancerIPs"] = ingress
    return flat


def _service_mapping(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    s = _get(inputs, "service")
    if not isinstance(s, Mapping):
        raise AssertionError("service-routing case without an inputs.service mapping")
    return _flatten_k8s_service(s) if isinstance(s.get("spec"), Mapping) else s


def build_service(inputs: Mapping[str, Any]) -> kp.ServicePort:
    s = _service_mapping(inputs)
    lb = _ips(_get(s, "loadBalancerIPs", "loadBalancerIP", "loadBalancerIngress", "lbIPs", "lbIP"))
    node_port = int(_get(s, "nodePort", default=0) or 0)
    external = _ips(_get(s, "externalIPs", "externalIP"))
    default_type = "LoadBalancer" if lb else "NodePort" if node_port else "ClusterIP"
    ranges = _get(s, "loadBalancerSourceRanges", default=()) or ()
    port = _get(s, "port")
    cluster_ip = _get(s, "clusterIP", "cluster_ip")
    if port is None or cluster_ip is None:
        raise AssertionError(f"inputs.service needs clusterIP and port, got {dict(s)!r}")
    return kp.ServicePort(
        namespace=str(_get(s, "namespace", default="default")),
        name=str(_get(s, "name", default="svc")),
        cluster_ip=str(cluster_ip), port=int(port),
        protocol=str(_get(s, "protocol", default="TCP")).upper(),
        port_name=str(_get(s, "portName", default="") or ""),
        type=str(_get(s, "type", default=default_type)), node_port=node_port,
        external_ips=external, load_balancer_ips=lb,
        load_balancer_source_ranges=tuple(str(r).strip() for r in ranges),
        internal_traffic_policy=str(_get(s, "internalTrafficPolicy", default="Cluster")),
        external_traffic_policy=str(_get(s, "externalTrafficPolicy", default="Cluster")),
        health_check_node_port=int(_get(s, "healthCheckNodePort", default=0) or 0),
        session_affinity=str(_get(s, "sessionAffinity", default="None")),
    )


def build_endpoints(inputs: Mapping[str, Any], svc: kp.ServicePort) -> list[kp.Endpoint]:
    target = _get(_service_mapping(inputs), "targetPort")
    default_port = int(target) if isinstance(target, int) else svc.port
    out: list[kp.Endpoint] = []
    for e in _get(inputs, "endpoints", default=[]) or []:
        ip = _get(e, "ip", "address") or (_get(e, "addresses") or [None])[0]
        if not ip:
            raise AssertionError(f"endpoint without an ip: {e!r}")
        serving = _get(e, "serving")
        out.append(kp.Endpoint(
            ip=str(ip), port=int(_get(e, "port", default=default_port)),
            node=_get(e, "node", "nodeName", "hostname"),
            ready=bool(_get(e, "ready", default=True)),
            serving=None if serving is None else bool(serving),
            terminating=bool(_get(e, "terminating", default=False)),
        ))
    return out


def _split_dest(dest: Any) -> tuple[str, int]:
    if isinstance(dest, Mapping):
        return str(_get(dest, "ip", "address")), int(_get(dest, "port"))
    text = str(dest)
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise AssertionError(f"cannot read destination {dest!r}: expected 'ip:port'")
    return host.strip("[]"), int(port)


def check_service_routing(case: Mapping[str, Any]) -> str:
    """One packet through the model's rules of the case's node."""
    inputs = case.get("inputs") or {}
    expected = case.get("expected") or {}
    svc = build_service(inputs)
    endpoints = build_endpoints(inputs, svc)
    client = _get(inputs, "client") or {}
    source = _get(client, "sourceIP", "ip", "source")
    if source is None:
        raise AssertionError("inputs.client has no sourceIP")
    node_ips = _ips(_get(inputs, "nodeIPs", "nodeIP") or _get(client, "nodeIP")) or (UPSTREAM_NODE_IP,)
    cidrs = _get(inputs, "clusterCIDR", "clusterCIDRs", "podCIDR") or UPSTREAM_POD_CIDR
    node = kp.ProxyNode(
        name=str(_get(inputs, "node", "proxyNode", "kubeProxyNode") or _get(client, "node", "nodeName")
                 or UPSTREAM_NODE),
        ips=node_ips, cluster_cidrs=tuple(cidrs) if isinstance(cidrs, list) else (str(cidrs),))
    dest = _get(inputs, "dest", "destination")
    if dest is None:
        raise AssertionError("service-routing case without inputs.dest")
    dest_ip, dest_port = _split_dest(dest)
    protocol = str(_get(inputs, "protocol") or _get(dest, "protocol") or svc.protocol).upper()
    r = kp.route(svc, endpoints, node, str(source), dest_ip, dest_port, protocol)
    got_eps = sorted(str(e) for e in r.endpoints)
    problems: list[str] = []
    checked: list[str] = []
    reach = _get(expected, "reachable_endpoints", "reachable", "output")
    if reach is not None:
        want = sorted(str(x) for x in (reach if isinstance(reach, list) else [reach]))
        if r.verdict is not kp.Verdict.FORWARD or got_eps != want:
            problems.append(f"reachable {want}, model {r.verdict.value} {got_eps} ({r.comment})")
        checked.append(f"reachable endpoints {want}")
    verdict = _get(expected, "verdict")
    if "verdict" in {_norm(k) for k in expected}:
        want_v = str(verdict or "PASS").upper()
        if r.verdict.value != want_v:
            problems.append(f"verdict {want_v}, model {r.verdict.value} {got_eps} {r.comment!r}")
        checked.append(f"verdict {want_v}")
    masq = _get(expected, "masquerade", "masq")
    if masq is not None:
        if r.verdict is kp.Verdict.FORWARD and bool(masq) != r.masquerade:
            problems.append(f"masquerade {masq}, model {r.masquerade}")
        checked.append(f"masquerade={masq}")
    comment = _get(expected, "rule_comment", "comment")
    if comment is not None:
        if str(comment).strip('"') != r.comment:
            problems.append(f"rule comment {comment!r}, model {r.comment!r}")
        checked.append(f"comment {comment!r}")
    chain = _get(expected, "chain")
    if chain is not None:
        problems += _chain_text_problems(str(chain), r)
        checked.append(f"chain {chain!r}")
    if not checked:
        raise AssertionError(f"expected has none of reachable_endpoints/verdict/masquerade: {expected!r}")
    assert not problems, "; ".join(problems)
    return f"route({svc.label} {dest_ip}:{dest_port} from {source} on {node.name}): {'; '.join(checked)}"


_COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def _chain_text_problems(text: str, r: kp.Route) -> list[str]:
    out: list[str] = []
    m = re.search(r"KUBE-(SVC|SVL)", text)
    if m and r.chain != m.group(0):
        out.append(f"chain {m.group(0)}, model {r.chain or 'none'}")
    count = re.search(r"\b(\d+|one|two|three|four|five|six)\b[^.]*?\bjumps?\b", text.lower())
    if count:
        n = int(count.group(1)) if count.group(1).isdigit() else _COUNT_WORDS[count.group(1)]
        rules = kp.iptables_chain(len(r.endpoints)) if r.endpoints else []
        if len(rules) != n:
            out.append(f"{n} jump(s) in the chain, model {len(rules)}")
        if "unconditional" in text.lower() and n == 1 and rules and rules[0].probability_arg is not None:
            out.append("the single jump should be unconditional")
    return out


# --- statistical-check -----------------------------------------------------------------------


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X ~ chi-square(df): the regularized upper incomplete gamma Q(df/2, x/2)."""
    a, z = df / 2.0, x / 2.0
    if z <= 0:
        return 1.0
    scale = math.exp(-z + a * math.log(z) - math.lgamma(a))
    if z < a + 1:  # series for the lower P
        term = total = 1.0 / a
        k = a
        while abs(term) > abs(total) * 1e-16:
            k += 1
            term *= z / k
            total += term
        return max(0.0, 1.0 - total * scale)
    tiny = 1e-300  # modified Lentz continued fraction for Q
    b = z + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return h * scale


def _find_number(expected: Mapping[str, Any], must: set[str], *, avoid: set[str] = frozenset()) -> Any:
    for path, value in _leaves(expected):
        words = set().union(*(_tokens(p) for p in path)) if path else set()
        if must <= words and not (avoid & words) and isinstance(value, int | float):
            return value
    return None


def check_statistical(case: Mapping[str, Any]) -> str:
    """Sample the model's endpoint choice with a fixed seed and hold it to the case's bounds."""
    inputs = case.get("inputs") or {}
    expected = case.get("expected") or {}
    n = _endpoint_count(inputs)
    draws = _get(inputs, "connections", "samples", "draws", "requests", "n_connections")
    if not isinstance(draws, int) or draws < 1:
        raise AssertionError(f"inputs name no number of connections to draw: {inputs!r}")
    marginal = kp.iptables_chain(n)[0].marginal
    mean, p = draws * float(marginal), float(marginal)
    problems: list[str] = []
    stated = {
        "mean": (_find_number(expected, {"mean"}), mean),
        "sd": (_find_number(expected, {"sd"}), math.sqrt(draws * p * (1 - p))),
        "df": (_find_number(expected, {"df"}), n - 1),
    }
    for name, (want, got) in stated.items():
        if want is not None and not _close(want, got):
            problems.append(f"{name} {want} but the model's chain gives {got}")
    max_dev = _find_number(expected, {"dev"}) or _find_number(expected, {"deviation"})
    p_floor = _find_number(expected, {"p"}, avoid={"sd", "df"})
    if max_dev is None and p_floor is None:
        raise AssertionError(f"no acceptance bound (deviation or p-value) in expected {expected!r}")
    scheduler = _get(inputs, "scheduler", "ipvs_scheduler")
    samplers: dict[str, Callable[[], int]] = {}
    streams = Streams(SEED)
    if scheduler is not None:
        ipvs = kp.IpvsService(n, str(scheduler))
        samplers[f"IpvsService({scheduler})"] = ipvs.pick
    else:
        samplers["IptablesPicker"] = kp.IptablesPicker(n, streams["kubeproxy/picker"]).pick
        samplers["ChainWalker"] = kp.ChainWalker(n, streams["kubeproxy/chain"]).pick
    seen: list[str] = []
    for name, pick in samplers.items():
        counts = Counter(pick() for _ in range(draws))
        obs = [counts.get(i, 0) for i in range(n)]
        chi2 = sum((o - mean) ** 2 / mean for o in obs)
        pval = chi2_sf(chi2, n - 1) if n > 1 else 1.0
        worst = max(abs(o - mean) for o in obs)
        if max_dev is not None and worst > max_dev:
            problems.append(f"{name}: counts {obs} deviate by {worst:g} > {max_dev}")
        if p_floor is not None and not pval > p_floor:
            problems.append(f"{name}: chi-square {chi2:.3f} (df {n - 1}) p={pval:.4g} <= {p_floor}")
        seen.append(f"{name} counts {obs} (max |dev| {worst:g}, chi2 {chi2:.3f}, p {pval:.3f})")
    assert not problems, "; ".join(problems)
    return f"{draws} draws over {n} endpoints, seed {SEED}: " + "; ".join(seen)


# --- IPVS schedulers: their defining property ------------------------------------------------


def _picks(name: str, k: int, *, weights: Sequence[int] | None = None, active: Sequence[int] | None = None,
           src: Callable[[int], int] = lambda i: 0, vip: int = 0, hold: bool = False) -> list[int]:
    n = len(weights) if weights is not None else len(active) if active is not None else 3
    svc = kp.IpvsService(n, name, weights=weights, vip=vip)
    if active is not None:
        svc.active[:] = list(active)
    out = []
    for i in range(k):
        d = svc.pick(src(i))
        out.append(d)
        if hold and d >= 0:
            svc.connect(d)
    return out


def scheduler_behaviour(name: str) -> str:
    """Exercise scheduler *name* for the property its LVS definition states; return it."""
    ip = kp.ip_to_int
    if name == "rr":
        got = _picks("rr", 6)
        assert got == [0, 1, 2, 0, 1, 2], f"rr order {got}"
        return "rr cycles 0,1,2,0,1,2"
    if name == "wrr":
        got = Counter(_picks("wrr", 12, weights=[3, 2, 1]))
        assert [got[i] for i in range(3)] == [6, 4, 2], f"wrr shares {got}"
        return "wrr shares 6:4:2 for weights 3:2:1"
    if name == "lc":
        assert _picks("lc", 1, active=[2, 0, 1]) == [1]
        return "lc picks the server with fewest connections"
    if name == "wlc":
        assert _picks("wlc", 1, weights=[1, 3], active=[1, 2]) == [1]
        return "wlc picks least connections per weight (256/1 > 512/3)"
    if name == "sed":
        assert _picks("sed", 1, weights=[1, 2], active=[1, 1]) == [1]
        return "sed picks least (C+1)/U (2/1 > 2/2)"
    if name == "nq":
        assert _picks("nq", 1, active=[2, 0, 5]) == [1]
        assert _picks("nq", 1, weights=[1, 4], active=[1, 2]) == [1]
        return "nq picks an idle server first, else least (C+1)/U"
    if name in ("sh", "dh"):
        hashed_src = name == "sh"
        fixed = _picks(name, 20, weights=[1] * 5, hold=True,
                       src=lambda i: ip("10.1.2.3"), vip=ip("172.30.0.10"))
        assert len(set(fixed)) == 1, f"{name} not sticky: {fixed}"
        spread = set(_picks(name, 64, weights=[1] * 5, src=lambda i: ip("10.1.0.0") + 7919 * i,
                            vip=ip("172.30.0.10")))
        if hashed_src:
            assert len(spread) > 1, f"sh sends every source to one server: {spread}"
        else:
            assert len(spread) == 1, f"dh should ignore the source: {spread}"
        return f"{name} keeps one server per {'source' if hashed_src else 'destination'}"
    if name in ("lblc", "lblcr"):
        got = _picks(name, 3, weights=[5, 5], hold=True, vip=ip("172.30.0.10"))
        assert got == [0, 0, 0], f"{name} should keep a destination on its server: {got}"
        return f"{name} keeps a destination on its server while not overloaded"
    raise AssertionError(f"no behaviour check for IPVS scheduler {name!r}")


def _same_words(a: str, b: str) -> bool:
    x, y = re.sub(r"[^a-z]", "", a.lower()), re.sub(r"[^a-z]", "", b.lower())
    return bool(x) and bool(y) and (x in y or y in x)


# --- enum ------------------------------------------------------------------------------------

_ENUMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("scheduler", tuple(kp.IPVS_SCHEDULERS)),
    ("mode", kp.PROXY_MODES),
    ("affinity", kp.SESSION_AFFINITIES),
    ("policy", kp.TRAFFIC_POLICIES),
    ("type", kp.SERVICE_TYPES),
)


def check_enum(case: Mapping[str, Any]) -> str:
    """Every listed name must be one the model implements (and, for schedulers, behave so)."""
    expected = case.get("expected") or {}
    done: list[str] = []
    for key, value in (expected.items() if isinstance(expected, Mapping) else []):
        words = _tokens(key)
        family = next(((tok, names) for tok, names in _ENUMS if tok in words or f"{tok}s" in words), None)
        if family is None:
            continue
        tok, known = family
        listed = value if isinstance(value, Mapping) else {str(v): "" for v in (value or [])}
        problems = [f"{name!r} is not a known {tok} ({', '.join(known)})"
                    for name in listed if name not in known]
        assert not problems, "; ".join(problems)
        if tok == "scheduler":
            for name, text in listed.items():
                model = kp.IPVS_SCHEDULERS[name].description
                assert not text or _same_words(model, str(text)), (
                    f"{name}: case says {text!r}, model implements {model!r}")
                done.append(scheduler_behaviour(name))
        done.append(f"{tok} names {', '.join(listed)} are in the model")
    if not done:
        raise AssertionError(f"no enum the model knows in expected keys {list(expected)}: "
                             f"expected one naming {', '.join(t for t, _ in _ENUMS)}")
    return "; ".join(done)


# --- default ---------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|seconds|m|min|h|d)?\s*$")
_UNIT = {None: 1, "s": 1, "sec": 1, "seconds": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def _same(want: Any, got: Any) -> bool:
    if isinstance(got, list | tuple):
        return isinstance(want, list | tuple) and len(want) == len(got) and all(
            _same(w, g) for w, g in zip(want, got, strict=True))
    if isinstance(got, int | float) and not isinstance(got, bool):
        if isinstance(want, str):
            m = _DURATION.match(want)
            return bool(m) and float(m.group(1)) * _UNIT[m.group(2)] == float(got)
        return isinstance(want, int | float) and float(want) == float(got)
    return str(want).casefold() == str(got).casefold()


def _default_fact(words: set[str], context: set[str], inputs: Mapping[str, Any]) -> tuple[Any, str] | None:
    """The model's default for a key made of *words* (with the case's *context* words)."""
    if "scheduler" in words:
        asked = next((v for k, v in (inputs or {}).items() if "scheduler" in _tokens(k)), "")
        return kp.resolve_scheduler(str(asked or "")), f"resolve_scheduler({asked!r})"
    if "band" in words or "static" in words:
        cidr = _get(inputs, "cidr", "serviceCIDR", "service_cidr")
        if cidr:
            return kp.clusterip_static_band(str(cidr)), f"clusterip_static_band({cidr!r})"
    if {"node", "port"} <= words | context or "nodeport" in words:
        lo, hi = kp.NODE_PORT_RANGE
        if words & {"min", "start", "first", "low"}:
            return lo, "NODE_PORT_RANGE[0]"
        if words & {"max", "end", "last", "high"}:
            return hi, "NODE_PORT_RANGE[1]"
        if "range" in words:
            return [lo, hi], "NODE_PORT_RANGE"
    if "sync" in words:
        if "min" in words:
            return kp.MIN_SYNC_PERIOD, "MIN_SYNC_PERIOD"
        return kp.SYNC_PERIOD, "SYNC_PERIOD"
    if words & {"healthz", "health"} or ("health" in context and "timeout" in words):
        if "port" in words:
            return kp.HEALTHZ_PORT, "HEALTHZ_PORT"
        return kp.HEALTHZ_TIMEOUT, "HEALTHZ_TIMEOUT"
    affinity = bool((words | context) & {"affinity", "clientip", "session", "sticky"})
    if "max" in words and (affinity or "timeout" in words):
        return kp.MAX_AFFINITY_TIMEOUT, "MAX_AFFINITY_TIMEOUT"
    if "timeout" in words and (affinity or "seconds" in words):
        return kp.DEFAULT_AFFINITY_TIMEOUT, "DEFAULT_AFFINITY_TIMEOUT"
    if "affinity" in words:
        return kp.SESSION_AFFINITIES[0], "SESSION_AFFINITIES[0]"
    if "policy" in words:
        return kp.TRAFFIC_POLICIES[0], "TRAFFIC_POLICIES[0]"
    if "mode" in words:
        return kp.PROXY_MODES[0], "PROXY_MODES[0]"
    if "type" in words:
        return kp.SERVICE_TYPES[0], "SERVICE_TYPES[0]"
    return None


def check_default(case: Mapping[str, Any]) -> str:
    """Each expected value must equal the model's default for that key."""
    inputs = case.get("inputs") or {}
    expected = case.get("expected") or {}
    context = set().union(*(_tokens(k) | _tokens(v) for k, v in inputs.items())) if inputs else set()
    problems, done = [], []
    for path, want in _leaves(expected):
        if not path or _norm(path[-1]) in ("note", "why", "doubt"):
            continue
        words = set().union(*(_tokens(p) for p in path))
        fact = _default_fact(words, context, inputs)
        if fact is None:
            problems.append(f"{'.'.join(path)}: no model default matches this key")
            continue
        got, where = fact
        if not _same(want, got):
            problems.append(f"{'.'.join(path)}: case {want!r}, model {where} = {got!r}")
        done.append(f"{'.'.join(path)} = {where} = {got!r}")
    if not done and not problems:
        raise AssertionError(f"no expected value to check in {expected!r}")
    assert not problems, "; ".join(problems)
    return "; ".join(done)


# --- sequence --------------------------------------------------------------------------------


def check_sequence(case: Mapping[str, Any]) -> str:
    """Picks of the named scheduler (default rr) in order, against the expected sequence."""
    inputs = case.get("inputs") or {}
    expected = case.get("expected") or {}
    want = next((v for _, v in _leaves(expected) if isinstance(v, list)), None)
    if want is None:
        raise AssertionError(f"no sequence (list) in expected {expected!r}")
    scheduler = next((v for k, v in inputs.items() if "scheduler" in _tokens(k)), None) or (
        _get(inputs, "algorithm", "mode"))
    name = kp.resolve_scheduler(str(scheduler or ""))
    eps = _get(inputs, "endpoints", "backends", "servers", "real_servers", "pods")
    if eps is None:
        raise AssertionError(f"no endpoints in inputs {inputs!r}")
    labels = [str(_get(e, "ip", "name") or e) if isinstance(e, Mapping) else str(e)
              for e in (eps if isinstance(eps, list) else range(int(eps)))]
    weights = _get(inputs, "weights")
    got_idx = _picks(name, len(want), weights=weights or [1] * len(labels), hold=True)
    numeric = all(isinstance(w, int) and not isinstance(w, bool) for w in want)
    got = got_idx if numeric else [labels[i] if i >= 0 else None for i in got_idx]
    assert [str(x) for x in got] == [str(x) for x in want], f"{name} sequence {got}, case {want}"
    return f"IpvsService(scheduler={name!r}) picks {got}"


# --- rule ------------------------------------------------------------------------------------


def _rule_probability(text: str) -> str:
    fmt = re.search(r"%[0-9.]*f", text)
    form = fmt.group(0) if fmt else "%0.10f"
    for n in range(1, 101):
        rules = kp.iptables_chain(n)
        for r in rules[:-1]:
            want = form % (1.0 / (n - r.index))
            assert r.probability_arg == want, f"n={n} rule {r.index}: {r.probability_arg} != {want}"
            assert r.match_args[:4] == ("-m", "statistic", "--mode", "random")
        assert rules[-1].probability_arg is None and rules[-1].match_args == ()
        assert all(r.marginal == rules[0].marginal for r in rules) and rules[0].marginal * n == 1
    return (f"for n=1..100 rule i<n-1 carries '-m statistic --mode random --probability' "
            f"{form} of 1/(n-i), the last rule none, and every marginal is exactly 1/n")


def _rule_affinity(text: str) -> str:
    t = kp.DEFAULT_AFFINITY_TIMEOUT
    table = kp.AffinityTable()
    table.record("10.0.0.2", "ep-a", 100.0)
    assert table.lookup("10.0.0.2", 100.0 + t) == "ep-a", "not sticky at exactly the timeout"
    assert table.lookup("10.0.0.2", 100.0 + t + 1e-6) is None, "still sticky after the timeout"
    kp.validate_affinity_timeout(kp.MAX_AFFINITY_TIMEOUT)
    for bad in (0, kp.MAX_AFFINITY_TIMEOUT + 1):
        try:
            kp.validate_affinity_timeout(bad)
        except ValueError:
            continue
        raise AssertionError(f"timeout {bad} accepted")
    return (f"ClientIP affinity: default {t:g} s, sticky while now - last_seen <= timeout "
            f"(--rcheck --seconds), max {kp.MAX_AFFINITY_TIMEOUT:g} s enforced")


def _policy_scenario() -> tuple[kp.ServicePort, list[kp.Endpoint], kp.ProxyNode]:
    svc = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80, type="LoadBalancer", node_port=30001,
                         load_balancer_ips=("1.2.3.4",), external_traffic_policy="Local",
                         health_check_node_port=30000)
    eps = [kp.Endpoint("10.180.0.1", 80, "host-1"), kp.Endpoint("10.180.2.1", 80, UPSTREAM_NODE)]
    return svc, eps, kp.ProxyNode(UPSTREAM_NODE, (UPSTREAM_NODE_IP,), (UPSTREAM_POD_CIDR,))


def _rule_traffic_policy(text: str) -> str:
    svc, eps, node = _policy_scenario()
    ext = "203.0.113.2"
    local = kp.route(svc, eps, node, ext, "1.2.3.4", 80)
    assert [str(e) for e in local.endpoints] == ["10.180.2.1:80"] and not local.masquerade, local
    pod = kp.route(svc, eps, node, "10.0.0.2", "1.2.3.4", 80)
    assert len(pod.endpoints) == 2 and not pod.masquerade, pod
    remote_only = [eps[0]]
    assert kp.route(svc, remote_only, node, ext, "1.2.3.4", 80).verdict is kp.Verdict.DROP
    assert kp.route(svc, [], node, ext, "1.2.3.4", 80).verdict is kp.Verdict.REJECT
    cluster = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80, type="LoadBalancer", node_port=30001,
                             load_balancer_ips=("1.2.3.4",))
    any_node = kp.route(cluster, remote_only, node, ext, "1.2.3.4", 80)
    assert any_node.endpoints == (eps[0],) and any_node.masquerade, any_node
    itp = kp.ServicePort("ns1", "svc1", "172.30.0.41", 80, internal_traffic_policy="Local")
    assert kp.route(itp, remote_only, node, "10.0.0.2", "172.30.0.41", 80).verdict is kp.Verdict.DROP
    return ("externalTrafficPolicy Local: external traffic only to ready local endpoints, client IP "
            "kept, DROP without one, pod traffic short-circuited to all; Cluster: any node's endpoint, "
            "SNAT; no endpoints: REJECT; internalTrafficPolicy Local without local endpoint: DROP")


def _rule_health(text: str) -> str:
    svc, eps, _ = _policy_scenario()
    assert kp.lb_health_probe(svc, eps, UPSTREAM_NODE) == 200
    assert kp.lb_health_probe(svc, eps, "host-2") == 503
    draining = [kp.Endpoint("10.180.2.1", 80, UPSTREAM_NODE, ready=False, serving=True, terminating=True)]
    assert kp.lb_health_probe(svc, draining, UPSTREAM_NODE) == 503
    health = kp.ProxyHealth()
    health.queued_update(10.0)
    assert health.healthz(10.0 + kp.HEALTHZ_TIMEOUT - 1e-6) == 200
    assert health.healthz(10.0 + kp.HEALTHZ_TIMEOUT) == 503
    health.updated(11.0)
    health.node_eligible = False
    assert health.healthz(12.0) == 503 and health.livez(12.0) == 200
    return ("health check node port 200 only with a ready local endpoint (503 when draining); "
            f"/healthz 503 after {kp.HEALTHZ_TIMEOUT:g} s (2 x syncPeriod) without a sync and on a "
            "node being deleted, /livez ignores the node")


def _rule_schedulers(text: str) -> str:
    named = [name for name in kp.IPVS_SCHEDULERS if re.search(rf"\b{name}\b", text)] or list(
        kp.IPVS_SCHEDULERS)
    done = [scheduler_behaviour(name) for name in named]
    assert kp.resolve_scheduler("") == "rr"
    return "default rr; " + "; ".join(done)


def _rule_node_port(text: str) -> str:
    lo, hi = kp.NODE_PORT_RANGE
    assert (lo, hi) == (30000, 32767)
    assert kp.is_valid_node_port(lo) and kp.is_valid_node_port(hi)
    assert not kp.is_valid_node_port(lo - 1) and not kp.is_valid_node_port(hi + 1)
    return f"NodePort range {lo}-{hi} inclusive"


def _rule_bands(text: str) -> str:
    sizes = {"10.0.0.0/28": 0, "10.0.0.0/24": 16, "10.0.0.0/22": 64, "10.0.0.0/20": 256, "10.0.0.0/16": 256}
    for cidr, band in sizes.items():
        got = kp.clusterip_static_band(cidr)
        assert got == band, f"{cidr}: static band {got}, formula gives {band}"
    return f"ClusterIP static band min(max(16, size/16), 256): {sizes}"


def _rule_sync(text: str) -> str:
    assert (kp.MIN_SYNC_PERIOD, kp.SYNC_PERIOD, kp.HEALTHZ_TIMEOUT) == (1.0, 30.0, 60.0)
    assert kp.next_sync(last_sync=10.0, changed_at=10.2) == 11.0
    return "minSyncPeriod 1 s (a change 0.2 s after a sync waits 0.8 s), syncPeriod 30 s, healthz 60 s"


_RULE_TOPICS: tuple[tuple[Callable[[str, set[str]], bool], Callable[[str], str]], ...] = (
    (lambda t, w: bool(w & {"probability", "statistic"}), _rule_probability),
    (lambda t, w: bool(w & {"affinity", "recent", "rcheck", "clientip"}), _rule_affinity),
    (lambda t, w: "trafficpolicy" in t.replace(" ", "") or bool(w & {"masquerade", "snat"}),
     _rule_traffic_policy),
    (lambda t, w: bool(w & {"healthz", "health", "livez"}), _rule_health),
    (lambda t, w: bool(w & {"scheduler", "ipvs"}), _rule_schedulers),
    (lambda t, w: "nodeport" in t.replace(" ", "") and "range" in w, _rule_node_port),
    (lambda t, w: "band" in w or "clusterip" in t.replace(" ", "") and "static" in w, _rule_bands),
    (lambda t, w: "sync" in w or "syncperiod" in t.replace(" ", ""), _rule_sync),
)


def _flatten_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return " ".join(f"{k} {_flatten_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(_flatten_text(v) for v in value)
    return str(value)


def check_rule(case: Mapping[str, Any]) -> str:
    """Checks chosen by the statement's topic, each run through the model's API."""
    statement = case.get("statement")
    if statement is None:
        raise AssertionError("rule case without a statement")
    text = _flatten_text(statement).lower()
    words = _tokens(_flatten_text(statement)) | set(re.findall(r"[a-z]+", text))
    done = [topic(text) for applies, topic in _RULE_TOPICS if applies(text, words)]
    if not done:
        raise AssertionError(f"no check understands this rule statement: {statement!r}")
    return " | ".join(done)


HANDLERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "rule": check_rule,
    "chain": check_chain,
    "service-routing": check_service_routing,
    "statistical-check": check_statistical,
    "enum": check_enum,
    "default": check_default,
    "sequence": check_sequence,
}
