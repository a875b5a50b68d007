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

from sim.ingress.nginx import NginxConfig, forwarded_for, nginx_peer, real_ip
from sim.ingress.records import Backend, Beaten, PathRule, ResourceBackend, Route, ServiceBackend
from sim.ingress.router import IngressRouter
from sim.ingress.rules import (
    API_VERSION,
    CLASS_ANNOTATION,
    CONTROLLER_DEFAULT_BACKEND,
    EXACT,
    HOST_ANY,
    HOST_EXACT,
    HOST_WILDCARD,
    IMPLEMENTATION_SPECIFIC,
    INGRESS_DEFAULT_BACKEND,
    LOOPBACK,
    NGINX_ANNOTATION_PREFIX,
    PATH_TYPES,
    PREFIX,
    RULE,
    SSL_PASSTHROUGH,
    SSL_PASSTHROUGH_ANNOTATION,
    STATUS_BACKEND,
    STATUS_NOT_FOUND,
    IngressError,
    host_matches,
    normalize_host,
    path_matches,
    request_path,
)

__all__ = [
    "API_VERSION", "CLASS_ANNOTATION", "CONTROLLER_DEFAULT_BACKEND", "EXACT", "HOST_ANY", "HOST_EXACT",
    "HOST_WILDCARD", "IMPLEMENTATION_SPECIFIC", "INGRESS_DEFAULT_BACKEND", "LOOPBACK",
    "NGINX_ANNOTATION_PREFIX", "PATH_TYPES", "PREFIX", "RULE", "SSL_PASSTHROUGH",
    "SSL_PASSTHROUGH_ANNOTATION", "STATUS_BACKEND", "STATUS_NOT_FOUND",
    "Backend", "Beaten", "IngressError", "IngressRouter", "NginxConfig", "PathRule", "ResourceBackend",
    "Route", "ServiceBackend",
    "forwarded_for", "host_matches", "nginx_peer", "normalize_host", "path_matches", "real_ip",
    "request_path",
]
