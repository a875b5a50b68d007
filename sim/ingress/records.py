"""The Ingress rule book's records: backends, one merged path rule, and the :class:`Route` a
controller answers with (the backend and everything needed to explain it).

Sources: the ``networking.k8s.io/v1`` ``IngressBackend`` (``service`` or ``resource``), and
ingress-nginx ``internal/ingress/controller/location.go`` for how an ImplementationSpecific
path is matched (see :attr:`PathRule.match_type`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from sim.ingress.rules import (
    CONTROLLER_DEFAULT_BACKEND,
    EXACT,
    IMPLEMENTATION_SPECIFIC,
    INGRESS_DEFAULT_BACKEND,
    PREFIX,
    _prefix_key,
    path_matches,
)


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
