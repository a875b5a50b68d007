"""ingress-nginx's forwarded headers: the client address NGINX sees, what X-Real-IP shows, and the
X-Forwarded-For it sends to the backend, from its ConfigMap keys and controller flags.

Sources: ingress-nginx ``rootfs/etc/nginx/template/nginx.tmpl``, the ConfigMap docs
(``use-forwarded-headers``, ``compute-full-forwarded-for``, ``proxy-real-ip-cidr``,
``use-proxy-protocol``), the annotations docs on ssl-passthrough, and issue #8052 (HTTPS behind
the controller's own TLS proxy comes from 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sim.ingress.rules import LOOPBACK


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
