"""The Kubernetes objects DNS serves: a Service, its ports and its endpoints.

A Service as the kubernetes plugin of CoreDNS reads it (spec 2.3 to 2.5): its type, cluster
IPs (none: headless), named ports (SRV records) and ready endpoints (headless A/AAAA
records), built from the oracle's and the scenario's Kubernetes field names.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.dns.records import DNSError
from sim.kubeproxy.config import SERVICE_TYPES

# --------------------------------------------------------------------------- Kubernetes objects


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of a Service; only a *named* port has SRV records (spec 2.3.2)."""

    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint address of a Service (an EndpointSlice endpoint)."""

    ip: str
    ready: bool = True
    hostname: str | None = None
    """The endpoint's ``hostname`` (a pod's ``spec.hostname`` under a matching subdomain)."""

    @property
    def label(self) -> str:
        """The spec's *hostname*: ``hostname``, else a unique label; CoreDNS's is the dashed IP."""
        return (self.hostname or self.ip.replace(".", "-").replace(":", "-")).lower()


@dataclass(frozen=True, slots=True)
class Service:
    """A Kubernetes Service as DNS sees it.

    ``cluster_ips`` empty means headless (``clusterIP: None``), unless the type is ExternalName.
    """

    namespace: str
    name: str
    type: str = "ClusterIP"
    cluster_ips: tuple[str, ...] = ()
    ports: tuple[ServicePort, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    external_name: str | None = None
    publish_not_ready_addresses: bool = False
    """``spec.publishNotReadyAddresses`` (or the tolerate-unready annotation): all endpoints
    count as ready (spec 2.1 *ready*)."""

    def __post_init__(self) -> None:
        where = f"Service {self.namespace}/{self.name}"
        if self.type not in SERVICE_TYPES:
            raise DNSError(f"{where}: type {self.type!r} is not one of {', '.join(SERVICE_TYPES)}")
        if self.type == "ExternalName" and not self.external_name:
            raise DNSError(f"{where}: an ExternalName Service needs externalName (e.g. www.example.com)")
        for ip in (*self.cluster_ips, *(e.ip for e in self.endpoints)):
            try:
                ipaddress.ip_address(ip)
            except ValueError as err:
                raise DNSError(f"{where}: {err}; expected an IPv4 or IPv6 address") from None

    @property
    def is_headless(self) -> bool:
        """A non-ExternalName Service without a cluster IP (spec 2.4)."""
        return self.type != "ExternalName" and not self.cluster_ips

    @property
    def ready_endpoints(self) -> tuple[Endpoint, ...]:
        """Endpoints DNS publishes."""
        return self.endpoints if self.publish_not_ready_addresses else tuple(
            e for e in self.endpoints if e.ready)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Service:
        """Build from the oracle/scenario shape (Kubernetes field names, flattened).

        Keys: ``namespace``, ``name``, ``type``, ``clusterIP`` (``"None"`` = headless) or
        ``clusterIPs``, ``ports[]`` (``name``, ``port``, ``protocol``), ``endpoints[]`` (``ip``,
        ``hostname``, ``ready``), ``externalName``, ``publishNotReadyAddresses``.

        Raises:
            DNSError: an unknown key, or a required one is missing.
        """
        _check_keys(data, _SERVICE_KEYS, "service")
        where = f"service {data.get('namespace')}/{data.get('name')}"
        for key in ("namespace", "name"):
            if not data.get(key):
                raise DNSError(f"{where}: missing {key!r}")
        kind = str(data.get("type") or "ClusterIP")
        ips = _cluster_ips(data, kind, where)
        ports = tuple(_port(p, where) for p in data.get("ports") or ())
        endpoints = tuple(ep for e in data.get("endpoints") or () for ep in _endpoints(e, where))
        annotations = data.get("annotations") or {}
        tolerate = str(annotations.get("service.alpha.kubernetes.io/tolerate-unready-endpoints",
                                       "")).lower() == "true"
        return cls(namespace=str(data["namespace"]), name=str(data["name"]), type=kind,
                   cluster_ips=ips, ports=ports, endpoints=endpoints,
                   external_name=data.get("externalName"),
                   publish_not_ready_addresses=bool(data.get("publishNotReadyAddresses")) or tolerate)


_SERVICE_KEYS = frozenset({"namespace", "name", "type", "clusterIP", "clusterIPs", "ports", "endpoints",
                           "externalName", "publishNotReadyAddresses", "annotations", "note",
                           # fields that do not change what the kubernetes plugin serves
                           "selector", "labels", "ipFamilies", "ipFamilyPolicy", "sessionAffinity",
                           "internalTrafficPolicy", "externalTrafficPolicy", "externalIPs",
                           "loadBalancerIP"})
_PORT_KEYS = frozenset({"name", "port", "protocol", "targetPort", "nodePort", "appProtocol", "note"})
_ENDPOINT_KEYS = frozenset({"ip", "addresses", "hostname", "ready", "conditions", "nodeName", "zone",
                            "targetRef", "note"})


def _check_keys(data: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    if not isinstance(data, Mapping):
        raise DNSError(f"a {what} must be a mapping, got {data!r}")
    unknown = sorted(set(data) - known)
    if unknown:
        raise DNSError(f"{what} {data.get('name', '')!s}: unknown key(s) {', '.join(unknown)}; "
                       f"known: {', '.join(sorted(known))}")


def _cluster_ips(data: Mapping[str, Any], kind: str, where: str) -> tuple[str, ...]:
    raw = data.get("clusterIPs") or ([data["clusterIP"]] if "clusterIP" in data else None)
    if raw is None:
        if kind == "ExternalName":
            return ()
        raise DNSError(f"{where}: no clusterIP; give an address, or \"None\" for a headless Service")
    ips = tuple(str(ip) for ip in raw if ip not in (None, "", "None"))
    return ips


def _port(data: Mapping[str, Any], where: str) -> ServicePort:
    _check_keys(data, _PORT_KEYS, f"{where} port")
    if "port" not in data:
        raise DNSError(f"{where}: a port without 'port'")
    return ServicePort(port=int(data["port"]), protocol=str(data.get("protocol") or "TCP").upper(),
                       name=data.get("name") or None)


def _endpoints(data: Mapping[str, Any], where: str) -> list[Endpoint]:
    """One endpoint (``ip``), or an EndpointSlice endpoint (``addresses[]``, ``conditions.ready``)."""
    _check_keys(data, _ENDPOINT_KEYS, f"{where} endpoint")
    ips = [data["ip"]] if "ip" in data else list(data.get("addresses") or ())
    if not ips:
        raise DNSError(f"{where}: an endpoint without 'ip' (or 'addresses')")
    conditions = data.get("conditions") or {}
    ready = data.get("ready", conditions.get("ready", True))  # EndpointSlice: unset means ready
    return [Endpoint(ip=str(ip), ready=ready is not False, hostname=data.get("hostname") or None)
            for ip in ips]
