"""Parsing: a NetworkPolicy dict into a compiled policy, rejecting what the API server rejects
(unknown fields, malformed selectors, CIDRs, ports), with the API's defaulting of
``policyTypes``.

Sources: the ``networking.k8s.io/v1`` API reference and its defaulting
(``pkg/apis/networking/v1`` defaults), k8s.io/apimachinery label-selector and IANA_SVC_NAME
validation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from sim.netpol.selectors import (
    _OPERATORS,
    _PEERS_KEY,
    _PORT_NAME,
    DEFAULT_PROTOCOL,
    PROTOCOLS,
    Direction,
    IpAddress,
    IpNetwork,
    _error,
    _IpBlock,
    _Peer,
    _Policy,
    _Port,
    _Requirement,
    _Rule,
    _Selector,
)


def _fields(raw: Any, where: str, known: tuple[str, ...]) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _error(where, f"expected a mapping, got {raw!r}")
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise _error(where, f"unknown field {', '.join(unknown)} (known here: {', '.join(known)})")
    return raw


def _items(raw: Any, where: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _error(where, f"expected a list, got {raw!r}")
    return raw


def _strings(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in raw.items()):
        raise _error(where, f"expected a mapping of strings to strings (quote numbers), got {raw!r}")
    return dict(raw)


def _parse_requirement(raw: Any, where: str) -> _Requirement:
    f = _fields(raw, where, ("key", "operator", "values"))
    key, op, values = f.get("key"), f.get("operator"), _items(f.get("values"), f"{where}.values")
    if not isinstance(key, str) or not key:
        raise _error(where, f"key must be a label key, got {key!r}")
    if op not in _OPERATORS:
        raise _error(where, f"operator must be one of {', '.join(_OPERATORS)}, got {op!r}")
    if (op in ("In", "NotIn")) != bool(values) or not all(isinstance(v, str) for v in values):
        need = "a non-empty list of strings" if op in ("In", "NotIn") else "empty"
        raise _error(where, f"values must be {need} for operator {op}, got {values!r}")
    return _Requirement(key, op, frozenset(values))


def _parse_selector(raw: Any, where: str) -> _Selector:
    f = _fields(raw, where, ("matchLabels", "matchExpressions"))
    labels = _strings(f.get("matchLabels"), f"{where}.matchLabels")
    exprs = _items(f.get("matchExpressions"), f"{where}.matchExpressions")
    requirements = (_parse_requirement(r, f"{where}.matchExpressions[{i}]") for i, r in enumerate(exprs))
    return _Selector(tuple(sorted(labels.items())), tuple(requirements))


def _parse_network(raw: Any, where: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(str(raw), strict=False)
    except ValueError:
        raise _error(where, f"expected a CIDR such as 10.0.0.0/24, got {raw!r}") from None


def _parse_ip_block(raw: Any, where: str) -> _IpBlock:
    f = _fields(raw, where, ("cidr", "except"))
    if f.get("cidr") is None:
        raise _error(where, "cidr is required")
    cidr = _parse_network(f["cidr"], f"{where}.cidr")
    excepts = tuple(_parse_network(e, f"{where}.except[{i}]") for i, e in enumerate(_items(f.get("except"),
                                                                                              where)))
    for i, e in enumerate(excepts):
        if e.version != cidr.version or e.network_address not in cidr or e.prefixlen < cidr.prefixlen:
            raise _error(f"{where}.except[{i}]", f"{e} is not inside cidr {cidr}")
    return _IpBlock(cidr, excepts)


def _parse_peer(raw: Any, where: str, namespace: str) -> _Peer:
    f = _fields(raw, where, ("podSelector", "namespaceSelector", "ipBlock"))
    present = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if f.get(k) is not None]
    if not present:
        raise _error(where, "a peer needs podSelector, namespaceSelector or ipBlock")
    if "ipBlock" in present and len(present) > 1:
        raise _error(where, "ipBlock cannot be combined with podSelector or namespaceSelector in one peer")
    pods, nss, block = (f.get(k) for k in ("podSelector", "namespaceSelector", "ipBlock"))
    return _Peer(namespace,
                 None if pods is None else _parse_selector(pods, f"{where}.podSelector"),
                 None if nss is None else _parse_selector(nss, f"{where}.namespaceSelector"),
                 None if block is None else _parse_ip_block(block, f"{where}.ipBlock"))


def _parse_port(raw: Any, where: str) -> _Port:
    f = _fields(raw, where, ("protocol", "port", "endPort"))
    protocol, port, end = f.get("protocol") or DEFAULT_PROTOCOL, f.get("port"), f.get("endPort")
    if protocol not in PROTOCOLS:
        raise _error(where, f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if isinstance(port, str):
        if not _PORT_NAME.match(port):
            raise _error(where, f"port {port!r} is neither a number nor a valid port name (IANA_SVC_NAME)")
        if end is not None:
            raise _error(where, "endPort needs a numeric port, not a named one")
        return _Port(protocol, None, None, port)
    for key, value in (("port", port), ("endPort", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1 <= value <= 65535):
            raise _error(where, f"{key} must be a number from 1 to 65535, got {value!r}")
    if end is not None and (port is None or end < port):
        raise _error(where, f"endPort {end} needs a port and must not be below it (port {port!r})")
    return _Port(protocol, port, end, None)


def _parse_rules(raw: Any, where: str, direction: Direction, namespace: str) -> tuple[_Rule, ...]:
    key = _PEERS_KEY[direction]
    rules = []
    for i, item in enumerate(_items(raw, where)):
        here = f"{where}[{i}]"
        f = _fields(item, here, (key, "ports"))
        peers = tuple(_parse_peer(p, f"{here}.{key}[{j}]", namespace)
                      for j, p in enumerate(_items(f.get(key), f"{here}.{key}")))
        ports = tuple(_parse_port(p, f"{here}.ports[{j}]")
                      for j, p in enumerate(_items(f.get("ports"), f"{here}.ports")))
        rules.append(_Rule(peers, ports))
    return tuple(rules)


def _policy_types(spec: Mapping[str, Any], where: str) -> set[str]:
    types = _items(spec.get("policyTypes"), f"{where}.policyTypes")
    for t in types:
        if t not in ("Ingress", "Egress"):
            raise _error(f"{where}.policyTypes", f"expected Ingress or Egress, got {t!r}")
    if types:
        return set(types)
    # API defaulting (pkg/apis/networking/v1 defaults): Ingress always, Egress only when the
    # policy has at least one egress rule (an empty `egress: []` does not count).
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


def _parse_policy(raw: Any) -> _Policy:
    top = _fields(raw, "NetworkPolicy", ("apiVersion", "kind", "metadata", "spec", "status"))
    meta = top.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise _error("NetworkPolicy", f"metadata.name is required, got metadata {meta!r}")
    namespace = str(meta.get("namespace") or "default")  # kubectl apply without -n: default
    where = f"NetworkPolicy {namespace}/{meta['name']}"
    if top.get("apiVersion", "networking.k8s.io/v1") != "networking.k8s.io/v1" or top.get(
            "kind", "NetworkPolicy") != "NetworkPolicy":
        raise _error(where, f"expected networking.k8s.io/v1 NetworkPolicy, got {top.get('apiVersion')} "
                            f"{top.get('kind')} (other policy kinds, e.g. Calico's, are not modelled)")
    spec = _fields(top.get("spec"), f"{where}: spec", ("podSelector", "policyTypes", "ingress", "egress"))
    types = _policy_types(spec, f"{where}: spec")
    ingress = _parse_rules(spec.get("ingress"), f"{where}: spec.ingress", "ingress", namespace)
    egress = _parse_rules(spec.get("egress"), f"{where}: spec.egress", "egress", namespace)
    selector = _parse_selector(spec.get("podSelector"), f"{where}: spec.podSelector")
    return _Policy(namespace, meta["name"], selector,
                   ingress if "Ingress" in types else None, egress if "Egress" in types else None)


def _parse_address(raw: str | None, where: str) -> IpAddress | None:
    if raw is None:
        return None
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        raise _error(where, f"expected an IP address, got {raw!r}") from None
