"""Ingress dicts as the API server takes them, parsed and validated, and the order a controller
merges them in.

Sources: API validation (kubernetes ``pkg/apis/networking/validation``): pathType required,
absolute paths without ``//``, ``/./``, ``/../``, ``%2f`` for Exact and Prefix, hosts are
lowercase DNS names (``*.`` only as the first label), never IPs, never with a port; the order
Ingresses merge in is ingress-nginx's (``store.go`` ``sortIngressSlice``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sim.ingress.records import Backend, ResourceBackend, ServiceBackend
from sim.ingress.rules import (
    _INVALID_PATH_SEQUENCES,
    _INVALID_PATH_SUFFIXES,
    API_VERSION,
    CLASS_ANNOTATION,
    IMPLEMENTATION_SPECIFIC,
    PATH_TYPES,
    SSL_PASSTHROUGH_ANNOTATION,
    IngressError,
)


@dataclass(frozen=True, slots=True)
class _Rule:
    host: str | None
    paths: tuple[tuple[str, str, Backend], ...]


@dataclass(frozen=True, slots=True)
class _Ingress:
    namespace: str
    name: str
    created: datetime | None
    ingress_class: str | None
    annotations: Mapping[str, str]
    default_backend: Backend | None
    rules: tuple[_Rule, ...]
    tls_hosts: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ssl_passthrough(self) -> bool:
        return str(self.annotations.get(SSL_PASSTHROUGH_ANNOTATION, "")).lower() == "true"


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise IngressError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
    return value


def _parse_backend(raw: Any, namespace: str, where: str) -> Backend:
    spec = _mapping(raw, where)
    svc, res = spec.get("service"), spec.get("resource")
    if (svc is None) == (res is None):
        found = "serviceName/servicePort (the removed v1beta1 form)" if "serviceName" in spec \
            else f"keys {sorted(spec)}"
        raise IngressError(f"{where}: exactly one of service or resource must be set, found {found}")
    if res is not None:
        r = _mapping(res, f"{where}.resource")
        if not r.get("kind") or not r.get("name"):
            raise IngressError(f"{where}.resource: kind and name are required, got {dict(r)}")
        return ResourceBackend(str(r["kind"]), str(r["name"]), r.get("apiGroup"), namespace)
    s = _mapping(svc, f"{where}.service")
    port = _mapping(s.get("port"), f"{where}.service.port")
    number, name = port.get("number"), port.get("name")
    if not s.get("name"):
        raise IngressError(f"{where}.service.name: required")
    if (number is None) == (name is None):
        raise IngressError(f"{where}.service.port: exactly one of number or name must be set, "
                           f"got {dict(port)}")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int)
                               or not 1 <= number <= 65535):
        raise IngressError(f"{where}.service.port.number: expected an integer 1-65535, got {number!r}")
    return ServiceBackend(str(s["name"]), number if number is not None else str(name), namespace)


def _parse_host(raw: Any, where: str) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise IngressError(f"{where}: expected a DNS name, got {raw!r}")
    if raw != raw.lower():
        raise IngressError(f"{where}: {raw!r} must be lowercase (a DNS-1123 subdomain); use {raw.lower()!r}")
    if ":" in raw:
        raise IngressError(f"{where}: {raw!r} may not contain a port; the rule host matches any port")
    if "*" in raw and not (raw.startswith("*.") and "*" not in raw[2:]):
        raise IngressError(f"{where}: {raw!r}: a wildcard is allowed only as the whole first label ('*.')")
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        return raw
    raise IngressError(f"{where}: {raw!r} is an IP address; Ingress hosts must be DNS names")


def _parse_path(spec: Mapping[str, Any], where: str) -> tuple[str, str]:
    path_type = spec.get("pathType")
    if path_type not in PATH_TYPES:
        raise IngressError(f"{where}.pathType: required, one of {', '.join(PATH_TYPES)}; got {path_type!r}")
    path = spec.get("path") or ""
    if path_type == IMPLEMENTATION_SPECIFIC and path == "":
        return "/", path_type  # ingress-nginx store.go: an empty path becomes "/"
    if not isinstance(path, str) or not path.startswith("/"):
        raise IngressError(f"{where}.path: must be an absolute path starting with '/', got {path!r}")
    if path_type != IMPLEMENTATION_SPECIFIC and (
            any(s in path for s in _INVALID_PATH_SEQUENCES) or path.endswith(_INVALID_PATH_SUFFIXES)):
        raise IngressError(f"{where}.path: {path!r} contains an invalid sequence for pathType {path_type} "
                           f"(any of {', '.join(_INVALID_PATH_SEQUENCES + _INVALID_PATH_SUFFIXES)})")
    return path, path_type


def _parse_created(raw: Any, where: str) -> datetime | None:
    if raw is None:
        return None
    try:
        stamp = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError:
        raise IngressError(f"{where}: expected an RFC 3339 time, got {raw!r}") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)  # Kubernetes times are UTC


def _parse_ingress(obj: Any, position: int) -> _Ingress:
    where = f"ingresses[{position}]"
    doc = _mapping(obj, where)
    if doc.get("kind") != "Ingress":
        raise IngressError(f"{where}: kind is {doc.get('kind')!r}, expected 'Ingress'")
    if doc.get("apiVersion") != API_VERSION:
        raise IngressError(f"{where}: apiVersion {doc.get('apiVersion')!r} is not supported; expected "
                           f"{API_VERSION} (the beta versions were removed in Kubernetes 1.22)")
    meta = _mapping(doc.get("metadata"), f"{where}.metadata")
    if not meta.get("name"):
        raise IngressError(f"{where}.metadata.name: required")
    namespace, name = str(meta.get("namespace") or "default"), str(meta["name"])
    where = f"Ingress {namespace}/{name}"
    spec = _mapping(doc.get("spec"), f"{where} spec")
    raw_annotations = _mapping(meta.get("annotations"), f"{where} metadata.annotations")
    annotations = {str(k): str(v) for k, v in raw_annotations.items()}
    default = spec.get("defaultBackend")
    rules: list[_Rule] = []
    for r, raw_rule in enumerate(spec.get("rules") or []):
        rw = f"{where} spec.rules[{r}]"
        rule = _mapping(raw_rule, rw)
        host = _parse_host(rule.get("host"), f"{rw}.host")
        paths: list[tuple[str, str, Backend]] = []
        if rule.get("http") is not None:
            raw_paths = _mapping(rule["http"], f"{rw}.http").get("paths") or []
            if not raw_paths:
                raise IngressError(f"{rw}.http.paths: at least one path is required")
            for p, raw_path in enumerate(raw_paths):
                pw = f"{rw}.http.paths[{p}]"
                spec_path = _mapping(raw_path, pw)
                path, path_type = _parse_path(spec_path, pw)
                paths.append((path, path_type, _parse_backend(spec_path.get("backend"), namespace,
                                                              f"{pw}.backend")))
        rules.append(_Rule(host, tuple(paths)))
    if not rules and default is None:
        raise IngressError(f"{where} spec: either defaultBackend or rules must be specified")
    tls_hosts = tuple(str(h).lower() for t in spec.get("tls") or [] for h in _mapping(t, f"{where} tls")
                      .get("hosts") or [])
    return _Ingress(
        namespace=namespace, name=name,
        created=_parse_created(meta.get("creationTimestamp"), f"{where} metadata.creationTimestamp"),
        ingress_class=spec.get("ingressClassName") or annotations.get(CLASS_ANNOTATION),
        annotations=annotations,
        default_backend=None if default is None else _parse_backend(default, namespace,
                                                                    f"{where} spec.defaultBackend"),
        rules=tuple(rules), tls_hosts=tls_hosts)


def _created(ing: _Ingress) -> datetime:
    return ing.created or datetime.min.replace(tzinfo=UTC)


def _controller_order(ingresses: list[_Ingress]) -> list[_Ingress]:
    # ingress-nginx store.go sortIngressSlice: oldest creationTimestamp first; on equal times
    # "namespace/name" in *descending* order. Dicts without a timestamp have not been created
    # yet: they come after, in the order given (the order they are applied in).
    stamped = sorted((i for i in ingresses if i.created is not None), key=lambda i: i.key, reverse=True)
    return sorted(stamped, key=_created) + [i for i in ingresses if i.created is None]
