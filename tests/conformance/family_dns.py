"""The dns family: every record, resolution and default case, run through ``sim.dns``.

- ``record_cases``: the case's ``cluster`` becomes a :class:`sim.dns.ClusterDNS`; the query's
  response must have the expected ``rcode`` and ``answers`` (in order, or as a set with
  ``order: unordered``). Per answer, ``type``, ``name``, ``data`` (or ``data_pattern``, a
  regular expression), ``port`` and ``target`` are compared; TTLs, SRV priority/weight and the
  Additional section are not (README). Domain names compare case-insensitively and as absolute
  names (spec 2.1). Where the case gives no ``rcode`` (the spec allows NXDOMAIN or NODATA), the
  response must still be one of those two.
- ``resolution_cases``: the pod's ``resolv_conf`` (or, without one, the ClusterFirst template for
  ``pod_namespace``) becomes a :class:`sim.dns.Resolver`; ``tried_in_order`` must match exactly
  and ``final`` field by field (``answer``: an address, an SRV mapping, a list, or null).
- ``default_cases``: every expected key is looked up in :func:`sim.dns.policy_defaults` (key
  spellings such as ``dnsPolicy`` are normalised); ``<namespace>``/``<zone>`` placeholders are
  filled with a sample namespace and the zone, and the template is also checked against a pod's
  generated resolv.conf.

Nothing is keyed on case ids. Any expected key the harness cannot check, any unknown list of
cases, or any case the model cannot build fails with the reason.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from conformance_loader import OracleFile

from sim import dns

CASE_LISTS = ("record_cases", "resolution_cases", "default_cases")
HUMAN_KEYS = frozenset({"note", "notes", "why", "doubt", "setup_note", "source", "also_source", "derived",
                        "derived_parts", "comment", "quote"})
NOT_ASSERTED = frozenset({"ttl", "priority", "weight", "additional", "class"})
"""README: TTLs, SRV priority/weight and the Additional section are not asserted."""
SAMPLE_NAMESPACE = "oracle-ns"
NAMESPACE_PLACEHOLDERS = ("<namespace>", "<ns>", "<pod-namespace>")
ZONE_PLACEHOLDERS = ("<zone>", "<cluster-domain>", "<cluster_domain>")


class CannotRun(Exception):
    """The case cannot be run: a missing input or a key the harness does not know."""


def _is_human(key: str) -> bool:
    return key in HUMAN_KEYS or key.endswith("_note")


# --------------------------------------------------------------------------- comparing records


def _name(value: Any) -> str:
    return dns.fqdn(str(value))


def _same_data(rtype: str, expected: Any, actual: str) -> bool:
    if rtype in dns.NAME_TYPES:
        return _name(expected) == _name(actual)
    if rtype in ("A", "AAAA"):
        try:
            return ipaddress.ip_address(str(expected)) == ipaddress.ip_address(actual)
        except ValueError:
            return False
    return str(expected).strip('"') == actual


def _record_problems(exp: Mapping[str, Any], rec: dns.Record) -> list[str]:
    """Why *rec* does not match the expected answer item *exp* (empty: it matches)."""
    out: list[str] = []
    rtype = str(exp.get("type", rec.type)).upper()
    for key, want in exp.items():
        if _is_human(key) or key in NOT_ASSERTED:
            continue
        if key == "type":
            ok = rtype == rec.type
        elif key == "name":
            ok = _name(want) == rec.name
        elif key == "data":
            ok = _same_data(rtype, want, rec.data)
        elif key in ("data_pattern", "target_pattern", "name_pattern"):
            field = rec.name if key == "name_pattern" else rec.data
            ok = re.search(str(want), field) is not None
        elif key == "port":
            ok = rec.port is not None and int(want) == rec.port
        elif key == "target":
            ok = _name(want) == _name(rec.data)
        else:
            raise CannotRun(f"answer key {key!r} (in {dict(exp)}): the harness cannot compare it")
        if not ok:
            out.append(f"{key}: expected {want!r}, got {getattr(rec, key, rec.data)!r}")
    return out


def _match_unordered(expected: list[Mapping[str, Any]], actual: list[dns.Record]) -> bool:
    """Whether a one-to-one pairing exists (a tiny bipartite matching by backtracking)."""
    if len(expected) != len(actual):
        return False

    def place(i: int, used: frozenset[int]) -> bool:
        if i == len(expected):
            return True
        return any(j not in used and not _record_problems(expected[i], rec) and place(i + 1, used | {j})
                   for j, rec in enumerate(actual))

    return place(0, frozenset())


def _answers_problems(expected: Any, actual: tuple[dns.Record, ...], order: str) -> list[str]:
    if not isinstance(expected, list) or not all(isinstance(e, Mapping) for e in expected):
        raise CannotRun(f"answers must be a list of mappings, got {expected!r}")
    shown = "\n      ".join(str(r) for r in actual) or "(none)"
    if order == "unordered":
        if _match_unordered(expected, list(actual)):
            return []
        return [f"answers (as a set): expected {expected}, got\n      {shown}"]
    if order not in ("ordered", ""):
        raise CannotRun(f"order {order!r}: expected 'unordered' or 'ordered'")
    if len(expected) != len(actual):
        return [f"answers: expected {len(expected)} record(s) {expected}, got {len(actual)}:\n      {shown}"]
    out = []
    for i, (exp, rec) in enumerate(zip(expected, actual, strict=True)):
        out += [f"answers[{i}] {p}" for p in _record_problems(exp, rec)]
    return out


# --------------------------------------------------------------------------- the three kinds


def _cluster(case: Mapping[str, Any], *extra_namespaces: str) -> dns.ClusterDNS:
    cluster = case.get("cluster")
    if not isinstance(cluster, Mapping):
        raise CannotRun("no 'cluster' mapping (zone, services, external_records)")
    return dns.ClusterDNS.from_mapping(cluster, namespaces=[n for n in extra_namespaces if n])


def _query(case: Mapping[str, Any]) -> tuple[str, str]:
    query = case.get("query")
    if not isinstance(query, Mapping) or not query.get("name") or not query.get("type"):
        raise CannotRun(f"query must be a mapping with name and type, got {query!r}")
    unknown = set(query) - {"name", "type"} - HUMAN_KEYS
    if unknown:
        raise CannotRun(f"query key(s) {sorted(unknown)}: the harness does not know them")
    return str(query["name"]), str(query["type"]).upper()


def check_record_case(case: Mapping[str, Any]) -> list[str]:
    """Problems of one server-side case (empty: it passes)."""
    server = _cluster(case)
    name, qtype = _query(case)
    expected = case.get("expected")
    if not isinstance(expected, Mapping):
        raise CannotRun("no 'expected' mapping")
    got = server.answer(name, qtype)
    problems: list[str] = []
    for key, want in expected.items():
        if _is_human(key) or key in NOT_ASSERTED or key == "order":
            continue
        if key == "rcode":
            if str(want).upper() != got.rcode:
                problems.append(f"rcode: expected {want}, got {got.rcode}")
        elif key == "answers":
            problems += _answers_problems(want, got.answers, str(expected.get("order") or ""))
        else:
            raise CannotRun(f"expected key {key!r}: the harness cannot check it")
    if "rcode" not in expected and got.rcode not in (dns.Rcode.NOERROR, dns.Rcode.NXDOMAIN):
        problems.append(f"rcode: no rcode is prescribed, but {got.rcode} is neither NXDOMAIN nor NODATA")
    if problems:
        problems.append(f"response to {name} {qtype}:\n    {str(got).replace(chr(10), chr(10) + '    ')}")
    return problems


def _resolver(case: Mapping[str, Any]) -> dns.Resolver:
    conf = case.get("resolv_conf")
    if conf is None:
        ns = case.get("pod_namespace")
        if not ns:
            raise CannotRun("neither resolv_conf nor pod_namespace is given")
        zone = str((case.get("cluster") or {}).get("zone") or dns.DEFAULT_ZONE)
        return dns.pod_resolv_conf(str(ns), zone=zone, node=dns.ResolvConf()).resolver()
    if not isinstance(conf, Mapping):
        raise CannotRun(f"resolv_conf must be a mapping, got {conf!r}")
    unknown = set(conf) - {"nameserver", "nameservers", "search", "ndots", "options"} - HUMAN_KEYS
    if unknown:
        raise CannotRun(f"resolv_conf key(s) {sorted(unknown)}: the harness does not know them")
    servers = conf.get("nameservers") or ([conf["nameserver"]] if conf.get("nameserver") else [])
    raw_options = conf.get("options") or ()
    if isinstance(raw_options, Mapping):
        raw_options = [f"{k}:{v}" if v is not None else str(k) for k, v in raw_options.items()]
    options = [str(o) for o in raw_options]
    if "ndots" in conf:
        options.append(f"ndots:{int(conf['ndots'])}")
    parsed = dns.ResolvConf(tuple(map(str, servers)), tuple(map(str, conf.get("search") or ())),
                            tuple(options))
    return parsed.resolver()


def _final_answer_problems(want: Any, final: dns.Outcome, qtype: str) -> list[str]:
    got = [r.to_dict() for r in final.records] or None
    if want is None:
        return [] if final.answer is None else [f"final.answer: expected null, got {got}"]
    if isinstance(want, list):
        return _answers_problems(want, final.records, "unordered")
    if isinstance(want, Mapping):
        if len(final.records) != 1:
            return [f"final.answer: expected one record {dict(want)}, got {got}"]
        return [f"final.answer {p}" for p in _record_problems(want, final.records[0])]
    if len(final.records) != 1 or not _same_data(qtype, want, final.records[0].data):
        return [f"final.answer: expected {want!r}, got {got}"]
    return []


def check_resolution_case(case: Mapping[str, Any]) -> list[str]:
    """Problems of one stub-resolver case (empty: it passes)."""
    server = _cluster(case, str(case.get("pod_namespace") or ""))
    resolver = _resolver(case)
    name, qtype = _query(case)
    expected = case.get("expected")
    if not isinstance(expected, Mapping):
        raise CannotRun("no 'expected' mapping")
    got = resolver.resolve(name, qtype, server)
    problems: list[str] = []
    for key, want in expected.items():
        if _is_human(key):
            continue
        if key == "tried_in_order":
            if [_name(n) for n in want] != [_name(n) for n in got.tried_in_order]:
                problems.append(f"tried_in_order: expected {want}, got {list(got.tried_in_order)}")
        elif key == "final":
            problems += _final_problems(want, got.final, qtype)
        elif key in ("queries", "query_count"):
            if int(want) != got.queries:
                problems.append(f"{key}: expected {want} queries, the stub sent {got.queries}")
        else:
            raise CannotRun(f"expected key {key!r}: the harness cannot check it")
    if problems:
        problems.append("resolution:\n" + got.render())
    return problems


def _final_problems(want: Any, final: dns.Outcome, qtype: str) -> list[str]:
    if not isinstance(want, Mapping):
        raise CannotRun(f"final must be a mapping, got {want!r}")
    out: list[str] = []
    for key, value in want.items():
        if _is_human(key):
            continue
        if key == "rcode":
            if str(value).upper() != final.rcode:
                out.append(f"final.rcode: expected {value}, got {final.rcode}")
        elif key == "answer":
            out += _final_answer_problems(value, final, qtype)
        elif key == "matched_name":
            if final.matched_name is None or _name(value) != _name(final.matched_name):
                out.append(f"final.matched_name: expected {value}, got {final.matched_name}")
        else:
            raise CannotRun(f"final key {key!r}: the harness cannot check it")
    return out


_DEFAULT_RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    # (all of these words, none of these, policy_defaults key), first match wins; on the squashed key
    (("policy",), (), "dns_policy"),
    (("nameserver",), ("max", "limit"), "nameservers"),
    (("nameserver",), (), "max_nameservers"),
    (("search", "char"), (), "max_search_chars"),
    (("search", "max"), (), "max_search_domains"),
    (("search", "limit"), (), "max_search_domains"),
    (("search",), (), "search_template"),
    (("resolv", "ndots"), (), "resolv_default_ndots"),
    (("ndots",), (), "ndots"),
    (("option",), (), "options"),
    (("domain",), (), "cluster_domain"),
    (("zone",), (), "cluster_domain"),
    (("upstream",), (), "upstream"),
    (("replica",), (), "coredns_replicas"),
    (("ttl",), (), "ttl"),
)


def _default_fact(key: str) -> str | None:
    """The ``policy_defaults`` key an oracle key names (``dnsPolicy``, ``max_search_domains``...)."""
    squashed = re.sub(r"[^a-z]", "", key.lower())
    for words, excluded, fact in _DEFAULT_RULES:
        if all(w in squashed for w in words) and not any(w in squashed for w in excluded):
            return fact
    return None


def _fill(value: Any, zone: str) -> Any:
    if isinstance(value, str):
        for p in NAMESPACE_PLACEHOLDERS:
            value = value.replace(p, SAMPLE_NAMESPACE)
        for p in ZONE_PLACEHOLDERS:
            value = value.replace(p, zone)
        if re.search(r"<[^>]+>", value):
            raise CannotRun(f"placeholder in {value!r} is not one the harness can fill")
        return value
    if isinstance(value, list):
        return [_fill(v, zone) for v in value]
    return value


def check_default_case(case: Mapping[str, Any]) -> list[str]:
    """Problems of one policy-default case (empty: it passes)."""
    inputs = case.get("inputs") or {}
    version = str(inputs.get("kubernetes_version") or inputs.get("kubernetesVersion") or "1.30")
    zone = str(inputs.get("zone") or (case.get("cluster") or {}).get("zone") or dns.DEFAULT_ZONE)
    expected = case.get("expected")
    if not isinstance(expected, Mapping):
        raise CannotRun("no 'expected' mapping")
    model = dns.policy_defaults(version, zone=zone)
    pod = dns.pod_resolv_conf(SAMPLE_NAMESPACE, zone=zone, node=dns.ResolvConf((dns.AZURE_DNS_IP,)),
                              limits=dns.search_limits(version))
    problems: list[str] = []
    for key, want in expected.items():
        if _is_human(key):
            continue
        fact = _default_fact(key)
        if fact is None or fact not in model:
            raise CannotRun(f"expected key {key!r}: no such policy default in sim.dns.policy_defaults "
                            f"(known: {', '.join(sorted(model))})")
        have = _fill(model[fact], zone)
        want = _fill(want, zone)
        if fact == "nameservers" and not isinstance(want, list):
            have = have[0]
        if fact == "search_template":
            have = [str(s) for s in have]
            if list(pod.search) != have:
                problems.append(f"model inconsistent: template {have}, a pod gets {list(pod.search)}")
        if want != have:
            why = ""
            if fact in ("max_search_domains", "max_search_chars"):
                why = (f" (Kubernetes {version}: ExpandedDNSConfig from 1.26 raised 6/256 to 32/2048; "
                       "give inputs.kubernetes_version to check an older release)")
            problems.append(f"{key}: expected {want!r}, model has {have!r}{why}")
    return problems


# --------------------------------------------------------------------------- collect

_CHECKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "record_cases": check_record_case,
    "resolution_cases": check_resolution_case,
    "default_cases": check_default_case,
}


def _run(label: str, case_id: str, checker: Callable[[Mapping[str, Any]], list[str]], case: Any) -> None:
    where = f"{label}::{case_id}"
    if not isinstance(case, Mapping):
        raise AssertionError(f"{where}: a case must be a mapping, got {case!r}")
    try:
        problems = checker(case)
    except (CannotRun, dns.DNSError, KeyError, TypeError, ValueError) as err:
        raise AssertionError(f"{where}: case cannot be run: {type(err).__name__}: {err}") from err
    if problems:
        raise AssertionError(f"{where}:\n  " + "\n  ".join(problems))


def _fail(message: str) -> None:
    raise AssertionError(message)


def collect(files: list[OracleFile]) -> list[tuple[str, Callable[[], None]]]:
    """One ``(case id, check)`` per case of every dns oracle file in *files*."""
    out: list[tuple[str, Callable[[], None]]] = []
    for f in files:
        data = f.data
        if not isinstance(data, Mapping):
            out.append(("<file>", partial(_fail, f"{f.label}: top level is not a mapping")))
            continue
        for key, items in data.items():
            checker = _CHECKS.get(key)
            if checker is None and not (isinstance(items, list)
                                        and any(isinstance(i, Mapping) and "id" in i for i in items)):
                continue  # metadata (schema_version, resolver_model, ...)
            if not isinstance(items, list):
                out.append((key, partial(_fail, f"{f.label}: {key} must be a list of cases")))
                continue
            for i, case in enumerate(items):
                raw_id = case.get("id") if isinstance(case, Mapping) else None
                case_id = f"{key}::{raw_id or f'case-{i}'}"
                if checker is None:
                    msg = (f"{f.label}::{case_id}: unknown list {key!r}; the dns harness runs "
                           f"{', '.join(CASE_LISTS)}")
                    out.append((case_id, partial(_fail, msg)))
                else:
                    out.append((case_id, partial(_run, f.label, case_id, checker, case)))
    return out
