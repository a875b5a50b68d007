""":class:`IngressRouter`: several Ingresses merged as one ingress-nginx controller serves them,
and the backend it picks for one request (host first, then the longest path), with the reason.

Sources: the Kubernetes Ingress concept page ("precedence will be given first to the longest
matching path. If two paths are still equally matched, precedence will be given to paths with
an exact path type over prefix path type", ``defaultBackend``); ``IngressRule.host`` ("Incoming
requests are matched against the host before the IngressRuleValue"); ingress-nginx where
Kubernetes leaves the choice to the controller: one NGINX server per host plus the catch-all
``_``, whose default backend each one gets (``controller.go`` ``createServers``), and SSL
passthrough (``tcp.go``, annotations docs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sim.ingress.nginx import NginxConfig
from sim.ingress.parse import _controller_order, _Ingress, _parse_ingress
from sim.ingress.records import Backend, Beaten, PathRule, Route, ServiceBackend
from sim.ingress.rules import (
    CONTROLLER_DEFAULT_BACKEND,
    EXACT,
    HOST_ANY,
    HOST_EXACT,
    HOST_WILDCARD,
    INGRESS_DEFAULT_BACKEND,
    NGINX_ANNOTATION_PREFIX,
    PREFIX,
    RULE,
    SSL_PASSTHROUGH,
    SSL_PASSTHROUGH_ANNOTATION,
    STATUS_BACKEND,
    STATUS_NOT_FOUND,
    IngressError,
    host_matches,
    normalize_host,
    request_path,
)


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
