"""Ingress routing: which backend an Ingress controller picks for (host, path), and why.

Pure functions and frozen records, no I/O. The input is plain ``networking.k8s.io/v1`` Ingress
dicts exactly as ``kubectl apply`` takes them; several Ingresses are merged the way a controller
merges them. :class:`IngressRouter` answers :meth:`IngressRouter.route` with a :class:`Route`
that names the backend and the reason (winning Ingress, rule host, path, pathType, and the
candidates it beat). Section 5 of ``shared/AKS-NETWORKING.md`` summarises the rules.

Sources:

- Kubernetes Ingress concept page (kubernetes/website
  ``content/en/docs/concepts/services-networking/ingress.md``): path types and their Examples
  table, "precedence will be given first to the longest matching path. If two paths are still
  equally matched, precedence will be given to paths with an exact path type over prefix path
  type", hostname wildcards (one DNS label), name-based virtual hosting, ``defaultBackend``.
- ``IngressRule.host`` API reference: "Incoming requests are matched against the host before the
  IngressRuleValue"; host-less rules take all traffic no host-specific rule takes.
- API validation (kubernetes ``pkg/apis/networking/validation``): pathType required, absolute
  paths without ``//``, ``/./``, ``/../``, ``%2f`` for Exact and Prefix, hosts are lowercase DNS
  names (``*.`` only as the first label), never IPs, never with a port.
- ingress-nginx (kubernetes/ingress-nginx, the controller behind AKS's application routing
  add-on) where Kubernetes leaves the choice to the controller: the order Ingresses merge in
  (``store.go`` ``sortIngressSlice``), one NGINX server per host plus the catch-all ``_``,
  whose default backend each one gets (``controller.go`` ``createServers``), forwarded headers
  (``rootfs/etc/nginx/template/nginx.tmpl``, ConfigMap docs) and SSL passthrough (``tcp.go``,
  annotations docs, issue #8052).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeAlias

from sim.kernel.errors import SimError

EXACT = "Exact"
PREFIX = "Prefix"
IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"
PATH_TYPES: tuple[str, ...] = (EXACT, PREFIX, IMPLEMENTATION_SPECIFIC)
"""Values of ``spec.rules[].http.paths[].pathType`` (required in networking.k8s.io/v1)."""

API_VERSION = "networking.k8s.io/v1"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
"""Deprecated class annotation; ``spec.ingressClassName`` replaces it."""
NGINX_ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
SSL_PASSTHROUGH_ANNOTATION = NGINX_ANNOTATION_PREFIX + "ssl-passthrough"

STATUS_BACKEND = 200
"""Status when a backend takes the request (the model assumes the backend answers 200)."""
STATUS_NOT_FOUND = 404
"""What the controller's own default backend answers (the conformance suite expects 404)."""

# Route.source values
RULE = "rule"
INGRESS_DEFAULT_BACKEND = "ingress-default-backend"
CONTROLLER_DEFAULT_BACKEND = "controller-default-backend"
SSL_PASSTHROUGH = "ssl-passthrough"

# Route.host_match values: how the request host chose the NGINX server
HOST_EXACT = "exact host"
HOST_WILDCARD = "wildcard host"
HOST_ANY = "any host"

# Kubernetes validation.go: invalid in Exact and Prefix paths
_INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_PATH_SUFFIXES = ("/..", "/.")


class IngressError(SimError):
    """An Ingress the API server would reject, or a request no HTTP server would accept."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ServiceBackend:
    """``backend.service``: a Service in the Ingress's namespace and one of its ports."""

    name: str
    port: int | str
    """The Service port's number, or its name."""
    namespace: str = "default"

    def __str__(self) -> str:
        return f"service {self.namespace}/{self.name}:{self.port}"


@dataclass(frozen=True, slots=True)
class ResourceBackend:
    """``backend.resource``: an object of another kind (e.g. a storage bucket) in the namespace."""

    kind: str
    name: str
    api_group: str | None = None
    namespace: str = "default"

    def __str__(self) -> str:
        group = f"{self.api_group}/" if self.api_group else ""
        return f"resource {group}{self.kind} {self.namespace}/{self.name}"


Backend: TypeAlias = ServiceBackend | ResourceBackend
"""Where a rule (or a ``defaultBackend``) sends requests."""


@dataclass(frozen=True, slots=True)
class PathRule:
    """One ``spec.rules[r].http.paths[p]`` entry of one Ingress, as the controller merged it."""

    ingress: str
    """``namespace/name`` of the Ingress that declares it."""
    host: str | None
    """The rule's host (``*.foo.com`` for a wildcard), or None: the rule matches any host."""
    path: str
    path_type: str
    backend: Backend
    rule_index: int
    path_index: int
    order: int
    """Position of its Ingress in controller order (see :class:`IngressRouter`)."""

    @property
    def match_type(self) -> str:
        """``Exact`` or ``Prefix``: how the path is matched.

        ``ImplementationSpecific`` is matched as ``Prefix``. Caveat, from ingress-nginx's
        ``internal/ingress/controller/location.go``: ingress-nginx only rewrites Prefix paths
        into element-wise locations; an ImplementationSpecific path becomes a plain NGINX
        prefix location (a *string* prefix, so ``/foo`` there also takes ``/foobar``), or a
        regex with ``use-regex``. The model keeps the Kubernetes Prefix semantics.
        """
        return EXACT if self.path_type == EXACT else PREFIX

    @property
    def length(self) -> int:
        """Length used for "the longest matching path wins" (Prefix: trailing slash ignored)."""
        return len(self.path) if self.match_type == EXACT else len(_prefix_key(self.path))

    def matches(self, request_path: str) -> bool:
        """Whether this path matches *request_path* (already stripped of its query)."""
        return path_matches(self.match_type, self.path, request_path)

    @property
    def where(self) -> str:
        """Where it is declared: ``Ingress ns/name spec.rules[r].http.paths[p]``."""
        return f"Ingress {self.ingress} spec.rules[{self.rule_index}].http.paths[{self.path_index}]"

    @property
    def type_label(self) -> str:
        """The pathType, plus how it is matched when that differs (ImplementationSpecific)."""
        if self.path_type == IMPLEMENTATION_SPECIFIC:
            return f"{self.path_type}, matched as {self.match_type}"
        return self.path_type

    def describe(self) -> str:
        """``'/foo' (Prefix) -> service default/svc:80``."""
        return f"{self.path!r} ({self.type_label}) -> {self.backend}"


@dataclass(frozen=True, slots=True)
class Beaten:
    """A path that matched the request but lost to the winner, and why."""

    rule: PathRule
    why: str


@dataclass(frozen=True, slots=True)
class Route:
    """The controller's answer for one request, with everything needed to explain it."""

    host: str | None
    """The request host as matched: port and trailing dot removed, lowercased; None = no Host."""
    path: str
    """The request path as matched (query and fragment removed)."""
    scheme: str
    backend: Backend | None
    """Where the request goes; None = the controller's own default backend (HTTP 404)."""
    status: int
    source: str
    """:data:`RULE`, :data:`INGRESS_DEFAULT_BACKEND`, :data:`CONTROLLER_DEFAULT_BACKEND` or
    :data:`SSL_PASSTHROUGH`."""
    server: str | None
    """Rule host of the NGINX server that answered (None = the catch-all server)."""
    host_match: str
    """:data:`HOST_EXACT`, :data:`HOST_WILDCARD` or :data:`HOST_ANY`."""
    matched: PathRule | None = None
    """The winning path; None when no path matched (or passthrough used a defaultBackend)."""
    default_from: str | None = None
    """``namespace/name`` of the Ingress whose ``spec.defaultBackend`` answered."""
    beaten: tuple[Beaten, ...] = ()
    unmatched: tuple[PathRule, ...] = ()
    """Paths of the chosen server that did not match (why a request fell to a default)."""
    ssl_passthrough: bool = False
    """TLS went through to the backend untouched (L4): no path routing, no X-Forwarded-For."""
    ignored_annotations: tuple[str, ...] = ()
    """Annotations that ssl-passthrough invalidates on the Ingress that owns the host."""
    notes: tuple[str, ...] = ()
    default_certificate: bool = False
    """https and no ``spec.tls`` entry of a served Ingress lists the host: NGINX terminates
    TLS with the controller's default certificate, which ingress-nginx generates self-signed
    ("Kubernetes Ingress Controller Fake Certificate") unless ``--default-ssl-certificate``
    names one; a client checking the certificate refuses the handshake (ingress-nginx
    user-guide/tls.md, "Default SSL Certificate")."""

    @property
    def is_default_backend(self) -> bool:
        """True when no rule matched and a default backend (Ingress or controller) answered."""
        return self.source in (INGRESS_DEFAULT_BACKEND, CONTROLLER_DEFAULT_BACKEND)

    @property
    def host_rule(self) -> str:
        """How the host chose its rules: ``host 'a.b' (exact match)``, or ``rules without host``."""
        if self.server is None:
            return "rules without host (any host)"
        return f"host {self.server!r} ({self.host_match.split()[0]} match)"

    @property
    def reason(self) -> str:
        """One line: which Ingress, host, path and pathType won, or why a default answered."""
        target = self.backend if self.backend is not None else "the controller's default backend"
        if self.ssl_passthrough:
            origin = (self.matched.where if self.matched
                      else f"spec.defaultBackend of Ingress {self.default_from}")
            return (f"ssl-passthrough for host {self.server!r}: TLS goes untouched to {target}, "
                    f"the backend of its '/' ({origin})")
        if self.matched is not None:
            won = self.matched
            best = "the only matching path" if not self.beaten else (
                f"the best of {len(self.beaten) + 1} matching paths")
            return (f"{won.where}, {self.host_rule}: path {won.path!r} ({won.type_label}) is {best} "
                    f"-> {won.backend}")
        tried = (f"none of its {len(self.unmatched)} path(s) matched {self.path!r}" if self.unmatched
                 else "they have no paths")
        via = (f"spec.defaultBackend of Ingress {self.default_from}" if self.default_from
               else "no Ingress defaultBackend applies")
        return f"{self.host_rule}: {tried}; {via} -> {target} (HTTP {self.status})"

    def explain(self) -> str:
        """Several lines for ``aks-sim route``: the decision, what it beat, what did not match."""
        host = self.host if self.host is not None else "<no Host header>"
        lines = [f"{self.scheme}://{host}{self.path} -> "
                 f"{self.backend or 'controller default backend'} (HTTP {self.status})",
                 f"  why: {self.reason}"]
        lines += [f"  beat: {b.rule.describe()} [{b.rule.where}]: {b.why}" for b in self.beaten]
        lines += [f"  no match: {r.describe()} [{r.where}]" for r in self.unmatched]
        if self.ignored_annotations:
            lines.append("  ignored (ssl-passthrough works at L4): " + ", ".join(self.ignored_annotations))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- matching


def normalize_host(host: str | None) -> str | None:
    """The Host header as routing sees it: port dropped, lowercased, one trailing dot dropped.

    DNS names are case-insensitive (RFC 4343) and a Host header may carry ``:port``
    (RFC 9110 7.2); NGINX drops a trailing dot when it validates the host. An empty or
    missing header gives None (only host-less rules can match it).
    """
    if host is None:
        return None
    h = host.strip().lower()
    if h.startswith("["):  # IPv6 literal, "[::1]:8080"
        h = h[: h.find("]") + 1] if "]" in h else h
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    if h.endswith("."):
        h = h[:-1]
    return h or None


def request_path(path: str) -> str:
    """The path routing matches: the request target without its query and fragment.

    Raises:
        IngressError: *path* is not an origin-form target (it must start with ``/``).
    """
    p = path.split("#", 1)[0].split("?", 1)[0]
    if not p.startswith("/"):
        raise IngressError(f"request path {path!r} must start with '/' (an HTTP origin-form target)")
    return p


def host_matches(rule_host: str | None, request_host: str | None) -> bool:
    r"""Whether a rule host matches a (normalized) request host.

    No rule host matches every request. ``*.foo.com`` matches exactly one extra DNS label:
    ``bar.foo.com`` yes, ``baz.bar.foo.com`` and ``foo.com`` no (ingress.md "Hostname
    wildcards"; ingress-nginx compiles it to ``^[\w-]+\.foo\.com$``).
    """
    if rule_host is None:
        return True
    if request_host is None:
        return False
    if rule_host.startswith("*."):
        label, _, rest = request_host.partition(".")
        return bool(label) and "*" not in label and rest == rule_host[2:]
    return rule_host == request_host


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def _prefix_key(path: str) -> str:
    return "/" + "/".join(_elements(path))


def path_matches(path_type: str, rule_path: str, request: str) -> bool:
    """Whether *rule_path* of *path_type* matches the request path (ingress.md "Path types").

    Exact: case-sensitive string equality (``/foo`` does not match ``/foo/``). Prefix:
    element-wise on ``/``-split labels, so a trailing slash is ignored and ``/aaa/bb`` does not
    match ``/aaa/bbb``. ImplementationSpecific is matched as Prefix (see
    :attr:`PathRule.match_type`).
    """
    if path_type == EXACT:
        return request == rule_path
    rule = _elements(rule_path)
    return _elements(request)[: len(rule)] == rule


def _precedence(rule: PathRule) -> tuple[int, int, int, int, int]:
    # longest first, Exact before Prefix, then controller order (ingress-nginx keeps the first
    # location for a path+type and logs "already configured" for later ones)
    exact_first = 0 if rule.match_type == EXACT else 1
    return (-rule.length, exact_first, rule.order, rule.rule_index, rule.path_index)


def _why_lost(loser: PathRule, winner: PathRule) -> str:
    if loser.length < winner.length:
        return f"shorter match ({loser.length} < {winner.length} characters): the longest path wins"
    if loser.match_type == PREFIX and winner.match_type == EXACT:
        return "same length: Exact beats Prefix"
    if loser.ingress == winner.ingress:
        return "same path and type, declared later in the same Ingress: the first one wins"
    return (f"same path and type as Ingress {winner.ingress}, which comes first in controller "
            "order (older creationTimestamp): the first one wins")


# --------------------------------------------------------------------------- parsing


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


# --------------------------------------------------------------------------- router


@dataclass
class _Server:
    """One NGINX ``server`` block: a rule host (None = the catch-all ``_``) and its paths."""

    host: str | None
    owner: _Ingress | None
    """The first Ingress (controller order) that declares the host; it sets the server's
    default backend and its ssl-passthrough (controller.go createServers)."""
    paths: list[PathRule] = field(default_factory=list)


class IngressRouter:
    """Several Ingresses merged as one controller (ingress-nginx) serves them.

    Args:
        ingresses: ``networking.k8s.io/v1`` Ingress dicts.
        ingress_class: only serve Ingresses of this class (``spec.ingressClassName``, or the
            deprecated ``kubernetes.io/ingress.class`` annotation); None serves them all.
        watch_ingress_without_class: with a class filter, also serve Ingresses that name no
            class (ingress-nginx ``--watch-ingress-without-class``, default false).
        nginx: ConfigMap keys and controller flags (ssl-passthrough needs
            ``enable_ssl_passthrough``).

    Raises:
        IngressError: an Ingress the API server would reject (the message says where and why).
    """

    def __init__(self, ingresses: Iterable[Mapping[str, Any]], ingress_class: str | None = None, *,
                 watch_ingress_without_class: bool = False, nginx: NginxConfig | None = None) -> None:
        self.ingress_class = ingress_class
        self.nginx = nginx or NginxConfig()
        parsed = [_parse_ingress(obj, i) for i, obj in enumerate(ingresses)]
        ignored: list[tuple[str, str]] = []
        kept: list[_Ingress] = []
        for ing in parsed:
            why = _class_mismatch(ing, ingress_class, watch_ingress_without_class)
            if why:
                ignored.append((ing.key, why))
            else:
                kept.append(ing)
        self.ignored: tuple[tuple[str, str], ...] = tuple(ignored)
        """``(namespace/name, why)`` of every Ingress the class filter left out."""
        self._ingresses = _controller_order(kept)
        self._servers: dict[str | None, _Server] = {None: _Server(None, None)}
        for order, ing in enumerate(self._ingresses):
            for r, rule in enumerate(ing.rules):
                server = self._servers.setdefault(rule.host, _Server(rule.host, ing))
                server.paths += [PathRule(ing.key, rule.host, path, path_type, backend, r, p, order)
                                 for p, (path, path_type, backend) in enumerate(rule.paths)]

    @property
    def ingresses(self) -> tuple[str, ...]:
        """``namespace/name`` of the Ingresses served, in controller order."""
        return tuple(i.key for i in self._ingresses)

    def route(self, host: str | None, path: str, scheme: str = "http") -> Route:
        """The backend this controller picks for one request, and why.

        Args:
            host: the Host header (may carry ``:port``; case-insensitive), or None if absent.
            path: the request target (a query string is ignored).
            scheme: ``http`` or ``https`` (https may take the ssl-passthrough path).

        Raises:
            IngressError: *scheme* is neither http nor https, or *path* does not start with '/'.
        """
        if scheme not in ("http", "https"):
            raise IngressError(f"scheme {scheme!r}: expected 'http' or 'https'")
        h, p = normalize_host(host), request_path(path)
        chosen, how = self._select_server(h)
        notes = self._tls_notes(h, scheme)
        passthrough = self._passthrough(h, p, scheme, chosen, notes)
        if passthrough is not None:
            return passthrough
        matching = sorted((r for r in chosen.paths if r.matches(p)), key=_precedence)
        shadowed = tuple(self._shadowed(h, p, chosen))
        fallback = Route(host=h, path=p, scheme=scheme, backend=None, status=STATUS_NOT_FOUND,
                         source=CONTROLLER_DEFAULT_BACKEND, server=chosen.host, host_match=how,
                         beaten=shadowed, unmatched=tuple(r for r in chosen.paths if not r.matches(p)),
                         notes=tuple(notes),
                         default_certificate=scheme == "https" and not self.has_certificate(h))
        if matching:
            won = matching[0]
            beaten = tuple(Beaten(r, _why_lost(r, won)) for r in matching[1:]) + shadowed
            return replace(fallback, backend=won.backend, status=STATUS_BACKEND, source=RULE,
                           matched=won, beaten=beaten)
        backend, owner = self._default_backend(chosen)
        if backend is None:
            return fallback
        return replace(fallback, backend=backend, status=STATUS_BACKEND, source=INGRESS_DEFAULT_BACKEND,
                       default_from=owner)

    def _select_server(self, host: str | None) -> tuple[_Server, str]:
        # Host first, then path (IngressRule.host API doc); NGINX picks the exact server_name,
        # then the wildcard, then the catch-all, and never falls through to a less specific
        # server when no path of the chosen one matches.
        if host is not None:
            if not host.startswith("*") and host in self._servers:
                return self._servers[host], HOST_EXACT
            wildcard = "*." + host.partition(".")[2]
            if wildcard in self._servers and host_matches(wildcard, host):
                return self._servers[wildcard], HOST_WILDCARD
        return self._servers[None], HOST_ANY

    def _shadowed(self, host: str | None, path: str, chosen: _Server) -> list[Beaten]:
        # every other server whose host matches is less specific than the chosen one
        out: list[Beaten] = []
        for server in self._servers.values():
            if server is chosen or not host_matches(server.host, host):
                continue
            why = (f"its rule host {server.host or '(none: any host)'} is less specific than "
                   f"{chosen.host!r}, which takes the request even when none of its paths match")
            out += [Beaten(r, why) for r in sorted(server.paths, key=_precedence) if r.matches(path)]
        return out

    def _default_backend(self, server: _Server) -> tuple[Backend | None, str | None]:
        if server.host is not None:
            # a host server's root location gets its owner's defaultBackend (createServers)
            owner = server.owner
            if owner is not None and owner.default_backend is not None:
                return owner.default_backend, owner.key
            return None, None
        # createServers rewrites the catch-all root location for *every* Ingress with a
        # defaultBackend, so the last one in controller order wins.
        for ing in reversed(self._ingresses):
            if ing.default_backend is not None:
                return ing.default_backend, ing.key
        return None, None

    def _passthrough(self, host: str | None, path: str, scheme: str, chosen: _Server,
                     notes: list[str]) -> Route | None:
        owner = chosen.owner
        if scheme != "https" or owner is None or not owner.ssl_passthrough:
            return None
        if not self.nginx.enable_ssl_passthrough:
            notes.append(f"{SSL_PASSTHROUGH_ANNOTATION} on Ingress {owner.key} is ignored: the controller "
                         "runs without --enable-ssl-passthrough, so NGINX terminates TLS")
            return None
        if chosen.host != host:
            # tcp.go TCPProxy.Get compares the SNI name for equality: no wildcard passthrough
            notes.append(f"ssl-passthrough of {chosen.host!r} does not apply: the TLS proxy matches "
                         "SNI names exactly, so wildcard hosts are terminated by NGINX")
            return None
        root = next((r for r in sorted(chosen.paths, key=_precedence) if r.path == "/"), None)
        backend = root.backend if root is not None else owner.default_backend
        if not isinstance(backend, ServiceBackend):
            notes.append(f"ssl-passthrough of {chosen.host!r} is ignored: no Service backs its '/' "
                         "location (ingress-nginx: 'has no default backend, ignoring SSL Passthrough')")
            return None
        ignored = tuple(sorted(k for k in owner.annotations
                               if k.startswith(NGINX_ANNOTATION_PREFIX) and k != SSL_PASSTHROUGH_ANNOTATION))
        notes.append("TLS is not terminated: the controller routes on SNI alone, never sees the path, "
                     "adds no X-Forwarded-For, and the backend sees the controller as the client")
        return Route(host=host, path=path, scheme=scheme, backend=backend, status=STATUS_BACKEND,
                     source=SSL_PASSTHROUGH, server=chosen.host, host_match=HOST_EXACT, matched=root,
                     default_from=None if root is not None else owner.key, ssl_passthrough=True,
                     ignored_annotations=ignored, notes=tuple(notes))

    def has_certificate(self, host: str | None) -> bool:
        """Whether a ``spec.tls`` entry of a served Ingress lists *host* (SNI picks the
        certificate; without SNI, or unlisted, NGINX presents the default certificate)."""
        return host is not None and (
            any(host_matches(t, host) for ing in self._ingresses for t in ing.tls_hosts)
            or any(host_matches(t.lower(), host) for t in self.nginx.default_certificate_hosts))

    def _tls_notes(self, host: str | None, scheme: str) -> list[str]:
        if scheme != "https" or host is None:
            return []
        if self.has_certificate(host):
            return []
        return [f"no spec.tls entry lists {host!r}: ingress-nginx presents its default (self-signed) "
                "certificate: a client that verifies it refuses the handshake; routing is unchanged"]


def _class_mismatch(ing: _Ingress, wanted: str | None, watch_without_class: bool) -> str:
    if wanted is None or ing.ingress_class == wanted:
        return ""
    if ing.ingress_class is None:
        return "" if watch_without_class else (
            f"it names no ingress class and the controller serves class {wanted!r} without "
            "--watch-ingress-without-class")
    return f"its ingress class is {ing.ingress_class!r}, the controller serves {wanted!r}"


# --------------------------------------------------------------------------- ingress-nginx headers


LOOPBACK = "127.0.0.1"
"""Where HTTPS appears to come from behind ingress-nginx's own TLS proxy (issue #8052)."""


@dataclass(frozen=True, slots=True)
class NginxConfig:
    """The ingress-nginx ConfigMap keys and controller flags the model reads (defaults as shipped)."""

    use_forwarded_headers: bool = False
    """``use-forwarded-headers``: trust incoming X-Forwarded-* (only behind an L7 proxy)."""
    compute_full_forwarded_for: bool = False
    """``compute-full-forwarded-for``: append the remote address instead of replacing the header.
    nginx.tmpl only honours it together with ``use-forwarded-headers``."""
    forwarded_for_header: str = "X-Forwarded-For"
    """``forwarded-for-header``: the header the real-IP module reads (``incoming_xff`` is its value)."""
    proxy_real_ip_cidr: tuple[str, ...] = ("0.0.0.0/0",)
    """``proxy-real-ip-cidr``: peers trusted to set that header (or the PROXY header)."""
    use_proxy_protocol: bool = False
    """``use-proxy-protocol``: the hop in front sends a PROXY header carrying the client address."""
    enable_ssl_passthrough: bool = False
    """Controller flag ``--enable-ssl-passthrough`` (off by default)."""
    default_certificate_hosts: tuple[str, ...] = ()
    """Hosts the certificate of ``--default-ssl-certificate`` is valid for (a wildcard such as
    ``*.example.com`` covers one label); empty: no such flag, the controller's self-signed
    certificate ("Kubernetes Ingress Controller Fake Certificate", user-guide/tls.md)."""


def _trusted(addr: str, cidrs: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in (ipaddress.ip_network(c, strict=False)
                                                             for c in cidrs))


def nginx_peer(seen_ip: str, config: NginxConfig, scheme: str = "http") -> str:
    """The TCP peer NGINX itself sees (``$realip_remote_addr``).

    With ``--enable-ssl-passthrough`` every TLS connection first reaches the controller's Go
    TCP proxy, which hands the ones it does not pass through to NGINX over loopback: without
    PROXY protocol NGINX sees 127.0.0.1 (kubernetes/ingress-nginx#8052). Plain HTTP is unaffected.
    """
    if config.enable_ssl_passthrough and scheme == "https" and not config.use_proxy_protocol:
        return LOOPBACK
    return seen_ip


def real_ip(client_ip: str, incoming_xff: str | None, seen_ip: str, config: NginxConfig,
            scheme: str = "http") -> str:
    """``$remote_addr`` after NGINX's real-IP module: what X-Real-IP and the logs show.

    nginx.tmpl enables ``real_ip_header`` only with ``use-forwarded-headers`` or
    ``use-proxy-protocol``, with ``real_ip_recursive on`` and ``set_real_ip_from`` =
    ``proxy-real-ip-cidr`` (default 0.0.0.0/0, i.e. every IPv4 peer is trusted). Recursive mode
    walks the header from the right past trusted addresses; if all are trusted, the leftmost
    wins, so with the default CIDR a client can claim any address it likes.
    """
    peer = nginx_peer(seen_ip, config, scheme)
    trusted = config.proxy_real_ip_cidr
    if config.use_proxy_protocol:
        return client_ip if _trusted(peer, trusted) else peer
    if not config.use_forwarded_headers or not incoming_xff or not _trusted(peer, trusted):
        return peer
    hops = [a.strip() for a in incoming_xff.split(",") if a.strip()]
    for addr in reversed(hops):
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            return peer  # nginx declines an unparsable address and keeps the peer
        if not _trusted(addr, trusted):
            return addr
    return hops[0] if hops else peer


def forwarded_for(client_ip: str, incoming_xff: str | None, seen_ip: str, config: NginxConfig, *,
                  scheme: str = "http", ssl_passthrough: bool = False) -> str | None:
    """The X-Forwarded-For value ingress-nginx sends to the backend, or None if it sets none.

    Sources: ingress-nginx ConfigMap docs (``use-forwarded-headers`` default false,
    ``compute-full-forwarded-for``) and nginx.tmpl::

        proxy_set_header X-Forwarded-For $full_x_forwarded_for;  # use-forwarded-headers AND compute-full
        proxy_set_header X-Forwarded-For $remote_addr;           # otherwise
        $full_x_forwarded_for = "$http_x_forwarded_for, $realip_remote_addr"  # or $proxy_protocol_addr

    So by default the incoming header is ignored and replaced by the address NGINX sees. SSL
    passthrough works at L4 (annotations.md: it "invalidates all the other annotations"), so
    NGINX never sees the HTTP request and adds nothing: None.

    Args:
        client_ip: the real client; NGINX only learns it through PROXY protocol.
        incoming_xff: the forwarded-for header as received (None if absent).
        seen_ip: the TCP peer at the controller pod (the client when the Azure LB preserves it
            with ``externalTrafficPolicy: Local``, a node IP after SNAT with ``Cluster``).
        config: ConfigMap keys and flags.
        scheme: ``https`` goes through the TLS proxy when ssl-passthrough is enabled.
        ssl_passthrough: the request took the passthrough path (:attr:`Route.ssl_passthrough`).
    """
    if ssl_passthrough:
        return None
    remote = real_ip(client_ip, incoming_xff, seen_ip, config, scheme)
    if config.use_forwarded_headers and config.compute_full_forwarded_for:
        last = client_ip if config.use_proxy_protocol else nginx_peer(seen_ip, config, scheme)
        return f"{incoming_xff}, {last}" if incoming_xff else last
    return remote
