"""The bottom of the Ingress rule book: its vocabulary (path types, annotations, the values a
:class:`~sim.ingress.records.Route` names), its error, and how a request matches a rule.

Sources: the Kubernetes Ingress concept page (kubernetes/website
``content/en/docs/concepts/services-networking/ingress.md``: path types and their Examples
table, hostname wildcards, one DNS label), the ``IngressRule.host`` API reference, and the API
validation (kubernetes ``pkg/apis/networking/validation``) for the path sequences it rejects.
"""

from __future__ import annotations

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

LOOPBACK = "127.0.0.1"
"""Where HTTPS appears to come from behind ingress-nginx's own TLS proxy (issue #8052)."""


class IngressError(SimError):
    """An Ingress the API server would reject, or a request no HTTP server would accept."""


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
