"""Cluster DNS on AKS: CoreDNS's answers, a pod's stub resolver, and the pod resolv.conf.

Pure functions and small records, no I/O. Sources (AKS doc paths are files of
``MicrosoftDocs/azure-aks-docs``; see ``shared/AKS-NETWORKING.md`` section 7):

- Server side, :class:`ClusterDNS`: the Kubernetes DNS-Based Service Discovery specification
  1.0.1 (``kubernetes/dns`` ``docs/specification.md``), as CoreDNS's ``kubernetes`` plugin
  serves it with the kubeadm Corefile (``kubernetes cluster.local in-addr.arpa ip6.arpa {pods
  insecure; fallthrough in-addr.arpa ip6.arpa; ttl 30}``, ``forward . /etc/resolv.conf``).
  Names outside the cluster zone go to the node's upstream, Azure DNS 168.63.129.16
  (:class:`Upstream`). Since AKS release v20241025 CoreDNS answers NXDOMAIN itself for
  ``reddog.microsoft.com`` and for ``internal.cloudapp.net`` names of seven or more labels
  (coredns-troubleshoot.md).
- Client side, :class:`Resolver`: glibc's ``res_nsearch`` over resolv.conf(5) ``search`` and
  ``ndots`` (musl differs: it never searches after an absolute try).
- The pod's resolv.conf, :func:`pod_resolv_conf`: kubelet ``pkg/kubelet/network/dns``
  (ClusterFirst: ``search <ns>.svc.<zone> svc.<zone> <zone>`` + the node's search domains,
  ``options ndots:5``; at most 3 nameservers; search-list limits of :class:`SearchLimits`).
  The node's own resolv.conf on Azure is :func:`azure_node_resolv_conf`.
- The ``coredns-autoscaler`` (cluster-proportional-autoscaler), :func:`replicas`, with the AKS
  ladder of coredns-autoscale.md.

Names are case-insensitive (spec 2.1): the server lower-cases every name it reads, and answers
with absolute, lower-case owner names.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeAlias

from sim.kernel.errors import SimError
from sim.sizing import DEFAULT_DNS_SERVICE_IP

# --------------------------------------------------------------------------- constants

SRC_SPEC = "https://github.com/kubernetes/dns/blob/master/docs/specification.md"
SRC_DNS_POD_SERVICE = "https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/"
SRC_RESOLV_CONF = "https://man7.org/linux/man-pages/man5/resolv.conf.5.html"
SRC_COREDNS_TROUBLESHOOT = "articles/aks/coredns-troubleshoot.md"
SRC_COREDNS_AUTOSCALE = "articles/aks/coredns-autoscale.md"

SCHEMA_VERSION = "1.0.1"
"""The DNS schema version served as TXT at ``dns-version.<zone>.`` (spec 2.2)."""
DEFAULT_ZONE = "cluster.local"
"""kubelet ``--cluster-domain`` and the Corefile's ``kubernetes`` zone on AKS."""
AZURE_DNS_IP = "168.63.129.16"
"""Azure-provided DNS, the node's nameserver in a VNet without custom DNS servers."""
AKS_DNS_SERVICE_IP = DEFAULT_DNS_SERVICE_IP
"""``--dns-service-ip`` default (10.0.0.10): the kube-dns Service, every pod's nameserver."""
KUBERNETES_TTL = 30
"""``ttl 30`` of the ``kubernetes`` plugin in the kubeadm/AKS Corefile (seconds)."""
KUBEADM_COREDNS_REPLICAS = 2
"""Replicas of the CoreDNS Deployment kubeadm creates (manifests.go)."""

CLUSTER_FIRST = "ClusterFirst"
DNS_POLICIES: tuple[str, ...] = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
"""Values of a pod's ``dnsPolicy``; ``ClusterFirst`` when unset (dns-pod-service)."""
DEFAULT_DNS_POLICY = CLUSTER_FIRST
CLUSTER_FIRST_NDOTS = 5
"""kubelet's ``defaultDNSOptions = ["ndots:5"]`` for ClusterFirst pods."""
RESOLV_DEFAULT_NDOTS = 1
"""resolv.conf(5): ``ndots`` defaults to 1 ..."""
RESOLV_MAX_NDOTS = 15
"""... and is capped at 15."""
MAX_NAMESERVERS = 3
"""kubelet keeps the first 3 nameservers (validation.MaxDNSNameservers, glibc MAXNS)."""
MAX_CNAME_CHAIN = 8
"""CNAME hops followed before a server gives up with SERVFAIL."""

AKS_SEARCH_BLOCK_RELEASE = "v20241025"
"""First AKS release whose CoreDNS answers NXDOMAIN for invalid search completions."""
REDDOG = "reddog.microsoft.com"
"""The non-functional search-domain stub Azure DHCP hands out in custom-DNS VNets."""
INTERNAL_CLOUDAPP = "internal.cloudapp.net"
"""Parent of ``<vnet-id>.<region>.internal.cloudapp.net``, the Azure DNS VNet suffix."""
INTERNAL_CLOUDAPP_BLOCK_LABELS = 7
"""Names under internal.cloudapp.net with at least this many labels are blocked."""

# Which component produced an answer (Answer.handled_by).
KUBERNETES = "kubernetes"
"""CoreDNS's kubernetes plugin: authoritative for the cluster zone (and found PTRs)."""
UPSTREAM = "upstream"
"""Forwarded by CoreDNS to the node's upstream resolver (Azure DNS)."""
AKS_SEARCH_BLOCK = "aks-search-block"
"""Refused in CoreDNS by the AKS v20241025 block, never forwarded."""

NAME_TYPES = frozenset({"CNAME", "PTR", "NS", "SRV"})
"""Record types whose data is a domain name."""


class Rcode(StrEnum):
    """DNS response codes the model produces (RFC 1035 names)."""

    NOERROR = "NOERROR"
    NXDOMAIN = "NXDOMAIN"
    SERVFAIL = "SERVFAIL"
    REFUSED = "REFUSED"


class DNSError(SimError):
    """Misuse of the DNS model: a malformed name, Service, resolv.conf or parameter."""


# --------------------------------------------------------------------------- names


def fqdn(name: str) -> str:
    """*name* as an absolute, lower-case domain name (trailing dot).

    Raises:
        DNSError: the name is empty or has an empty label (``a..b``).
    """
    text = name.strip().lower()
    if text == ".":
        return "."
    body = text.removesuffix(".")
    if not body:
        raise DNSError("empty domain name; expected labels such as 'kubernetes.default'")
    if "" in body.split("."):
        raise DNSError(f"domain name {name!r} has an empty label; remove the doubled dot")
    return body + "."


def _labels(name: str) -> list[str]:
    return [] if name == "." else name[:-1].split(".")


def _is_under(name: str, zone: str) -> bool:
    """Whether absolute *name* is *zone* or a name below it."""
    return name == zone or name.endswith("." + zone) or zone == "."


def _rr_type_for(ip: str) -> str:
    return "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"


def _reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer + "."


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record, in presentation form.

    For SRV, ``data`` is the target and ``port``/``priority``/``weight`` are set; for A/AAAA it
    is the address, for CNAME/PTR a name, for TXT the text (unquoted).
    """

    name: str
    """Owner name, absolute and lower-case."""
    type: str
    data: str
    ttl: int = KUBERNETES_TTL
    port: int | None = None
    """SRV only."""
    priority: int = 0
    """SRV only; its value is not prescribed by the spec."""
    weight: int = 100
    """SRV only; its value is not prescribed by the spec."""

    @property
    def target(self) -> str:
        """The SRV/CNAME/PTR target (same as ``data``)."""
        return self.data

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``port``/``target``/``priority``/``weight`` for SRV)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "ttl": self.ttl, "data": self.data}
        if self.type == "SRV":
            out |= {"port": self.port, "target": self.data, "priority": self.priority,
                    "weight": self.weight}
        return out

    def __str__(self) -> str:
        if self.type == "SRV":
            rdata = f"{self.priority} {self.weight} {self.port} {self.data}"
        elif self.type == "TXT":
            rdata = json.dumps(self.data)
        else:
            rdata = self.data
        return f"{self.name} {self.ttl} IN {self.type} {rdata}"


@dataclass(frozen=True, slots=True)
class Answer:
    """A DNS response: its rcode, its answer section, and who produced it.

    NOERROR with no records is NODATA: the name exists, but has no record of the asked type.
    """

    rcode: Rcode
    answers: tuple[Record, ...] = ()
    handled_by: str = KUBERNETES
    """:data:`KUBERNETES`, :data:`UPSTREAM` or :data:`AKS_SEARCH_BLOCK`."""

    @property
    def is_nodata(self) -> bool:
        """NOERROR with an empty answer section."""
        return self.rcode == Rcode.NOERROR and not self.answers

    @property
    def is_forwarded(self) -> bool:
        """Whether CoreDNS sent this query on to the upstream resolver."""
        return self.handled_by == UPSTREAM

    def records(self, qtype: str) -> tuple[Record, ...]:
        """The answer records of type *qtype* (e.g. the A records after a CNAME)."""
        return tuple(r for r in self.answers if r.type == qtype.upper())

    def __str__(self) -> str:
        status = "NODATA" if self.is_nodata else str(self.rcode)
        lines = [f";; {status} ({self.handled_by})"] + [str(r) for r in self.answers]
        return "\n".join(lines)


class NameServer(Protocol):
    """Anything that answers a query: :class:`ClusterDNS`, :class:`Upstream`."""

    def answer(self, name: str, qtype: str) -> Answer:
        """The response to one query for (*name*, *qtype*)."""
        ...


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


SERVICE_TYPES: tuple[str, ...] = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


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


# --------------------------------------------------------------------------- a toy internet


class _Zone:
    """Records by owner name, plus the names that exist without records (empty non-terminals)."""

    def __init__(self, apex: str) -> None:
        self.apex = apex
        self.records: dict[str, list[Record]] = {}
        self.ents: set[str] = set()

    def add(self, record: Record) -> None:
        self.records.setdefault(record.name, []).append(record)
        labels = _labels(record.name)
        for i in range(1, len(labels)):
            parent = ".".join(labels[i:]) + "."
            if not _is_under(parent, self.apex) or parent == ".":
                break
            self.ents.add(parent)

    def exists(self, name: str) -> bool:
        return name in self.records or name in self.ents


class Upstream:
    """The resolver CoreDNS forwards to: Azure DNS 168.63.129.16 unless the VNet has custom DNS.

    It knows only the records it is given (and the names above them): anything else is
    NXDOMAIN, as a search-list completion such as ``api.example.com.cluster.local.`` would be.
    """

    def __init__(self, records: Iterable[Record] = (), *, address: str = AZURE_DNS_IP) -> None:
        """Serve *records* (names are made absolute and lower-case) as the resolver at *address*."""
        self.address = address
        self._zone = _Zone(".")
        for r in records:
            self._zone.add(Record(fqdn(r.name), r.type.upper(), _rdata(r.type, r.data), r.ttl, r.port,
                                  r.priority, r.weight))

    def __repr__(self) -> str:
        return f"Upstream({self.address}, {sum(map(len, self._zone.records.values()))} records)"

    def answer(self, name: str, qtype: str) -> Answer:
        """Recursive answer for (*name*, *qtype*), following CNAMEs among the known records."""
        return self._answer(fqdn(name), qtype.upper(), 0)

    def _answer(self, name: str, qtype: str, depth: int) -> Answer:
        return _lookup(self._zone, name, qtype, UPSTREAM, self._answer, depth)

    @classmethod
    def from_records(cls, items: Iterable[Mapping[str, Any]], *, address: str = AZURE_DNS_IP) -> Upstream:
        """Build from ``[{name, type, data, port?}]`` mappings (an oracle's ``external_records``)."""
        out = []
        for item in items:
            _check_keys(item, frozenset({"name", "type", "data", "ttl", "port", "priority", "weight",
                                         "target", "note"}), "external record")
            data = item.get("data", item.get("target"))
            if not item.get("name") or not item.get("type") or data is None:
                raise DNSError(f"external record {dict(item)!r}: needs name, type and data")
            port = item.get("port")
            out.append(Record(str(item["name"]), str(item["type"]).upper(), str(data),
                              int(item.get("ttl", 300)), None if port is None else int(port),
                              int(item.get("priority", 0)), int(item.get("weight", 100))))
        return cls(out, address=address)


def _rdata(rtype: str, data: str) -> str:
    return fqdn(data) if rtype.upper() in NAME_TYPES else data


_Chase: TypeAlias = Callable[[str, str, int], Answer]
"""``(name, qtype, depth) -> Answer``: how a server resolves a CNAME's target."""


def _lookup(zone: _Zone, name: str, qtype: str, handled_by: str, chase: _Chase, depth: int) -> Answer:
    """Authoritative lookup in *zone* with CNAME following (RFC 1034 4.3.2)."""
    if not zone.exists(name):
        return Answer(Rcode.NXDOMAIN, (), handled_by)
    records = zone.records.get(name, [])
    cname = next((r for r in records if r.type == "CNAME"), None)
    if cname is None or qtype == "CNAME":
        return Answer(Rcode.NOERROR, tuple(r for r in records if r.type == qtype), handled_by)
    if depth >= MAX_CNAME_CHAIN:
        return Answer(Rcode.SERVFAIL, (cname,), handled_by)
    rest = chase(cname.data, qtype, depth + 1)
    # RFC 6604: the rcode is that of the last name in the chain
    return Answer(rest.rcode, (cname, *rest.answers), handled_by)


# --------------------------------------------------------------------------- CoreDNS


class ClusterDNS:
    """CoreDNS as AKS runs it: the ``kubernetes`` plugin for *zone*, then ``forward`` upstream.

    Inside the zone (never forwarded) it serves the spec's records:

    - ``dns-version.<zone>.`` TXT :data:`SCHEMA_VERSION` (2.2);
    - ClusterIP Service: ``<svc>.<ns>.svc.<zone>.`` A/AAAA the cluster IP, SRV
      ``_<port>._<proto>.<svc>.<ns>.svc.<zone>.`` per *named* port, PTR of the cluster IP (2.3);
    - headless Service: one A/AAAA per *ready* endpoint at the Service name and at
      ``<hostname>.<svc>...``, N x M SRV, PTR per endpoint; no ready endpoint means the name does
      not exist, so NXDOMAIN (2.4);
    - ExternalName: CNAME to the external name, which is then resolved (2.5);
    - ``<a>-<b>-<c>-<d>.<ns>.pod.<zone>.`` A ``a.b.c.d`` (2.6, ``pods insecure``).

    A name that exists without a record of the asked type (a Service name asked for TXT, an
    existing namespace's ``<ns>.svc.<zone>.``) is NODATA; a name that does not exist is NXDOMAIN.
    Reverse names with no PTR here fall through to the upstream, as the kubeadm Corefile's
    ``fallthrough in-addr.arpa ip6.arpa`` does.
    """

    def __init__(self, services: Iterable[Service] = (), *, zone: str = DEFAULT_ZONE,
                 upstream: NameServer | None = None, namespaces: Iterable[str] = (),
                 aks_search_block: bool = True) -> None:
        """Index *services* for *zone*.

        Args:
            services: the cluster's Services with their endpoints.
            zone: the cluster domain.
            upstream: where names outside the zone go (default: an empty Azure DNS).
            namespaces: namespaces that exist even without a Service (``<ns>.svc.<zone>.`` is
                NODATA rather than NXDOMAIN).
            aks_search_block: AKS v20241025 and later answer NXDOMAIN for ``reddog.microsoft.com``
                and 7+-label ``internal.cloudapp.net`` names; ``False`` models older releases or a
                custom server block that forwards them.
        """
        self.zone = fqdn(zone)
        self.services = tuple(services)
        self.upstream: NameServer = upstream if upstream is not None else Upstream()
        self.aks_search_block = aks_search_block
        self.namespaces = frozenset(n.lower() for n in namespaces) | {s.namespace.lower()
                                                                      for s in self.services}
        self._zone = _Zone(self.zone)
        self._ptr: dict[str, Record] = {}
        self._index()

    def __repr__(self) -> str:
        return (f"ClusterDNS(zone={self.zone!r}, {len(self.services)} services, "
                f"upstream={self.upstream!r}, aks_search_block={self.aks_search_block})")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, namespaces: Iterable[str] = (),
                     aks_search_block: bool = True) -> ClusterDNS:
        """Build from ``{zone, services[], external_records[]}`` (the oracle's ``cluster``)."""
        _check_keys(data, frozenset({"zone", "services", "external_records", "namespaces", "upstream",
                                     "note"}), "cluster")
        upstream = Upstream.from_records(data.get("external_records") or (),
                                         address=str(data.get("upstream") or AZURE_DNS_IP))
        services = [Service.from_mapping(s) for s in data.get("services") or ()]
        return cls(services, zone=str(data.get("zone") or DEFAULT_ZONE), upstream=upstream,
                   namespaces=[*namespaces, *(data.get("namespaces") or ())],
                   aks_search_block=aks_search_block)

    # ----------------------------------------------------------------- indexing

    def _index(self) -> None:
        z = self.zone
        self._zone.add(Record(f"dns-version.{z}", "TXT", SCHEMA_VERSION))
        self._zone.ents |= {f"svc.{z}", f"pod.{z}"}
        self._zone.ents |= {f"{ns}.svc.{z}" for ns in self.namespaces}
        for svc in self.services:
            self._index_service(svc)

    def _index_service(self, svc: Service) -> None:
        base = f"{svc.name}.{svc.namespace}.svc.{self.zone}".lower()
        add = self._zone.add
        named = [p for p in svc.ports if p.name]
        if svc.type == "ExternalName":
            add(Record(base, "CNAME", fqdn(svc.external_name or "")))
            return
        if not svc.is_headless:
            for ip in svc.cluster_ips:
                add(Record(base, _rr_type_for(ip), ip))
                self._ptr[_reverse_name(ip)] = Record(_reverse_name(ip), "PTR", base)
            for p in named:
                add(Record(_srv_name(p, base), "SRV", base, port=p.port))
            return
        for ep in svc.ready_endpoints:
            host = f"{ep.label}.{base}"
            add(Record(base, _rr_type_for(ep.ip), ep.ip))
            add(Record(host, _rr_type_for(ep.ip), ep.ip))
            self._ptr.setdefault(_reverse_name(ep.ip), Record(_reverse_name(ep.ip), "PTR", host))
            for p in named:
                add(Record(_srv_name(p, base), "SRV", host, port=p.port))

    # ----------------------------------------------------------------- answering

    def answer(self, name: str, qtype: str) -> Answer:
        """The response CoreDNS sends for one query (*name* is taken as absolute).

        Args:
            name: the queried name, e.g. ``kubernetes.default.svc.cluster.local.``.
            qtype: the record type, e.g. ``A``, ``AAAA``, ``SRV``, ``PTR``, ``TXT``, ``CNAME``.
        """
        return self._answer(fqdn(name), qtype.upper(), 0)

    def _answer(self, name: str, qtype: str, depth: int) -> Answer:
        if _is_under(name, self.zone):
            pod = self._pod_record(name, qtype)
            if pod is not None:
                return pod
            # an ExternalName target is resolved through the whole server again (CoreDNS upstream)
            return _lookup(self._zone, name, qtype, KUBERNETES, self._answer, depth)
        if qtype == "PTR" and name in self._ptr:
            return Answer(Rcode.NOERROR, (self._ptr[name],), KUBERNETES)
        if self.aks_search_block and is_aks_blocked_name(name):
            return Answer(Rcode.NXDOMAIN, (), AKS_SEARCH_BLOCK)
        return self.upstream.answer(name, qtype)

    def _pod_record(self, name: str, qtype: str) -> Answer | None:
        """``a-b-c-d.<ns>.pod.<zone>.`` (spec 2.6); ``None`` when *name* is not of that form."""
        labels = _labels(name)
        zone_len = len(_labels(self.zone))
        if len(labels) == zone_len + 2 and labels[1] == "pod":
            return Answer(Rcode.NOERROR, (), KUBERNETES)  # <ns>.pod.<zone>: above every pod name
        if len(labels) != zone_len + 3 or labels[2] != "pod":
            return None
        parts = labels[0].split("-")
        if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
            return Answer(Rcode.NXDOMAIN, (), KUBERNETES)
        ip = ".".join(str(int(p)) for p in parts)
        hit = (Record(name, "A", ip),) if qtype == "A" else ()
        return Answer(Rcode.NOERROR, hit, KUBERNETES)


def _srv_name(port: ServicePort, base: str) -> str:
    return f"_{(port.name or '').lower()}._{port.protocol.lower()}.{base}"


def is_aks_blocked_name(name: str) -> bool:
    """Whether AKS's CoreDNS (v20241025+) answers NXDOMAIN for *name* instead of forwarding it.

    ``reddog.microsoft.com`` and every name below it, and names below ``internal.cloudapp.net``
    with seven or more labels: ``aks12345.myvnetid.myregion.internal.cloudapp.net`` (six) still
    goes to Azure DNS, ``mcr.microsoft.com.myvnetid.myregion.internal.cloudapp.net`` (eight) is
    refused (coredns-troubleshoot.md).
    """
    n = fqdn(name)
    if _is_under(n, REDDOG + "."):
        return True
    return n.endswith("." + INTERNAL_CLOUDAPP + ".") and len(_labels(n)) >= INTERNAL_CLOUDAPP_BLOCK_LABELS


def has_aks_search_block(release: str) -> bool:
    """Whether an AKS release (``vYYYYMMDD``) carries the search-completion block."""
    if not re.fullmatch(r"v\d{8}", release):
        raise DNSError(f"AKS release {release!r}: expected the form vYYYYMMDD, e.g. v20241025")
    return release >= AKS_SEARCH_BLOCK_RELEASE


# --------------------------------------------------------------------------- stub resolver


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the application gets back from a search: the last response that counted."""

    rcode: Rcode
    """NOERROR with ``answer`` ``None`` is NODATA."""
    answer: Record | None = None
    """The first record of the asked type (after any CNAME), else ``None``."""
    records: tuple[Record, ...] = ()
    """Every record of the asked type."""
    matched_name: str | None = None
    """The candidate that answered."""

    def __str__(self) -> str:
        if self.answer is None:
            return "NODATA" if self.rcode == Rcode.NOERROR else str(self.rcode)
        data = self.answer.data if self.answer.type != "SRV" else f"{self.answer.port} {self.answer.data}"
        more = f" (+{len(self.records) - 1} more)" if len(self.records) > 1 else ""
        return f"{self.rcode} {self.answer.type} {data}{more} via {self.matched_name}"


@dataclass(frozen=True, slots=True)
class Resolution:
    """One application lookup: every name the stub sent, in order, and the outcome."""

    name: str
    """The name as the application typed it."""
    qtype: str
    tried_in_order: tuple[str, ...]
    """Absolute names queried until the first answer with records."""
    responses: tuple[Answer, ...]
    """The response to each of ``tried_in_order``."""
    final: Outcome

    @property
    def queries(self) -> int:
        """Queries the pod sent to its nameserver for this lookup."""
        return len(self.tried_in_order)

    @property
    def upstream_queries(self) -> int:
        """Of those, how many CoreDNS forwarded to the upstream resolver."""
        return sum(1 for r in self.responses if r.is_forwarded)

    def render(self) -> str:
        """A readable trace, one line per query, then the outcome."""
        width = max(len(n) for n in self.tried_in_order)
        lines = [f"{self.name} {self.qtype}:"]
        for i, (n, r) in enumerate(zip(self.tried_in_order, self.responses, strict=True), 1):
            status = "NODATA" if r.is_nodata else str(r.rcode)
            lines.append(f"  {i}. {n:<{width}}  {status:<8} ({r.handled_by})")
        lines.append(f"  => {self.final} after {self.queries} queries, "
                     f"{self.upstream_queries} forwarded upstream")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True, slots=True)
class Resolver:
    """A pod's stub resolver (glibc): a nameserver, a search list and ``ndots``.

    Try order (resolv.conf(5), glibc ``res_nsearch``): a name ending in ``.`` is absolute and
    tried once. Otherwise let d be its number of dots: if d >= ndots the name is tried as-is
    first, then with each search domain appended; if d < ndots each search domain comes first
    and the bare name last. The first NOERROR response with records ends the search; NXDOMAIN,
    NODATA and SERVFAIL move on; any other failure (REFUSED) stops the search list.
    """

    nameserver: str = AKS_DNS_SERVICE_IP
    search: tuple[str, ...] = ()
    ndots: int = RESOLV_DEFAULT_NDOTS

    def __post_init__(self) -> None:
        if self.ndots < 0:
            raise DNSError(f"ndots must be >= 0, got {self.ndots}")
        object.__setattr__(self, "ndots", min(self.ndots, RESOLV_MAX_NDOTS))
        object.__setattr__(self, "search", tuple(fqdn(s).rstrip(".") for s in self.search if s != "."))

    @classmethod
    def from_resolv_conf(cls, conf: ResolvConf) -> Resolver:
        """The resolver a process reading *conf* uses (its first nameserver)."""
        if not conf.nameservers:
            raise DNSError("resolv.conf has no nameserver line; expected e.g. 'nameserver 10.0.0.10'")
        return cls(conf.nameservers[0], conf.search, conf.ndots)

    def is_tried_as_is_first(self, name: str) -> bool:
        """Whether *name* goes out unchanged before any search domain (absolute or >= ndots dots)."""
        text = name.strip()
        return text.endswith(".") or text.count(".") >= self.ndots

    def candidates(self, name: str) -> tuple[str, ...]:
        """Every absolute name a full search for *name* would try, in order."""
        text = name.strip()
        fqdn(text)  # validate: no empty name, no empty label
        if text.endswith("."):
            return (text,)
        absolute = f"{text}."
        searched = tuple(f"{text}.{domain}." for domain in self.search)
        return (absolute, *searched) if self.is_tried_as_is_first(text) else (*searched, absolute)

    def resolve(self, name: str, qtype: str, dns: NameServer) -> Resolution:
        """Look *name* up as ``getaddrinfo``/``res_search`` would, querying *dns*.

        Args:
            name: as the application typed it (``api``, ``data.prod``, ``example.com.``).
            qtype: record type asked for.
            dns: the nameserver (normally :class:`ClusterDNS`).

        Returns:
            The names tried in order and the outcome. When every try fails, the outcome is
            glibc's: the as-is query's result if it went first, else NODATA if any search
            domain gave NODATA, else SERVFAIL if any gave SERVFAIL, else the last response.
        """
        qtype = qtype.upper()
        candidates = self.candidates(name)
        as_is_first = self.is_tried_as_is_first(name)
        searched = candidates[1:] if as_is_first else candidates[:-1]
        tried: list[str] = []
        responses: list[Answer] = []

        def ask(candidate: str) -> Resolution | None:
            answer = dns.answer(candidate, qtype)
            tried.append(candidate)
            responses.append(answer)
            if answer.rcode != Rcode.NOERROR or not answer.answers:
                return None
            hits = answer.records(qtype)
            return Resolution(name, qtype, tuple(tried), tuple(responses),
                              Outcome(Rcode.NOERROR, hits[0] if hits else None, hits, candidate))

        if as_is_first and (done := ask(candidates[0])):
            return done
        for candidate in searched:
            if done := ask(candidate):
                return done
            if responses[-1].rcode not in (Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.SERVFAIL):
                break  # glibc: any other failure ends the search list
        if not as_is_first and (done := ask(candidates[-1])):
            return done
        return Resolution(name, qtype, tuple(tried), tuple(responses),
                          _failed_outcome(responses, as_is_first))


def _failed_outcome(responses: Sequence[Answer], as_is_first: bool) -> Outcome:
    """The outcome glibc reports when no candidate answered.

    The first as-is try's error if it went first (``saved_herrno``), else NODATA if a
    search-domain try gave NODATA, else SERVFAIL if one did, else the last response's.
    """
    if as_is_first:
        return Outcome(responses[0].rcode)
    searched = responses[:-1]
    if any(r.is_nodata for r in searched):
        return Outcome(Rcode.NOERROR)
    if any(r.rcode == Rcode.SERVFAIL for r in searched):
        return Outcome(Rcode.SERVFAIL)
    return Outcome(responses[-1].rcode)


# --------------------------------------------------------------------------- resolv.conf


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """How long a pod's search list may be before kubelet drops domains from its end."""

    paths: int
    chars: int
    """Length of the ``search`` line's domains joined by spaces."""


LEGACY_SEARCH_LIMITS = SearchLimits(6, 256)
"""Before ExpandedDNSConfig: 6 domains, 256 characters (the glibc < 2.26 limits)."""
EXPANDED_SEARCH_LIMITS = SearchLimits(32, 2048)
"""ExpandedDNSConfig (KEP-2595: beta and on by default in 1.26, GA in 1.28)."""
SEARCH_PATH_MAX_CHARS = 253
"""kubelet drops a single search domain longer than a DNS-1123 subdomain."""


def search_limits(kubernetes_version: str = "1.30") -> SearchLimits:
    """The search-list limits kubelet applies at *kubernetes_version* (``"1.30"``).

    1.26 and later default ExpandedDNSConfig on (32 domains, 2048 characters; current
    dns-pod-service.md); earlier releases allow 6 domains and 256 characters (the older
    revision's "Kubernetes allows for at most 6 search domains").
    """
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\..*)?", kubernetes_version.strip())
    if not match:
        raise DNSError(f"Kubernetes version {kubernetes_version!r}: expected a version such as \"1.30\"")
    major, minor = int(match.group(1)), int(match.group(2))
    return EXPANDED_SEARCH_LIMITS if (major, minor) >= (1, 26) else LEGACY_SEARCH_LIMITS


@dataclass(frozen=True, slots=True)
class ResolvConf:
    """A resolv.conf: nameservers, search list and options (``ndots:5``, ``edns0``...)."""

    nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """kubelet's ``DNSConfigForming`` warnings when limits dropped entries."""

    @property
    def ndots(self) -> int:
        """The ``ndots`` option (default 1, at most 15)."""
        value = RESOLV_DEFAULT_NDOTS
        for opt in self.options:
            if opt.startswith("ndots:"):
                try:
                    value = int(opt.split(":", 1)[1])
                except ValueError as err:
                    raise DNSError(f"option {opt!r}: expected ndots:<integer>, e.g. ndots:5") from err
        return max(0, min(value, RESOLV_MAX_NDOTS))

    def resolver(self) -> Resolver:
        """The stub resolver of a process reading this file."""
        return Resolver.from_resolv_conf(self)

    def render(self) -> str:
        """The file's text."""
        lines = [f"nameserver {ns}" for ns in self.nameservers]
        if self.search:
            lines.append("search " + " ".join(self.search))
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> ResolvConf:
        """Read a resolv.conf as kubelet's ``parseResolvConf`` does.

        Nameservers accumulate, the last ``search`` and ``options`` lines win, and trailing
        dots on search domains are dropped.
        """
        nameservers: list[str] = []
        search: list[str] = []
        options: list[str] = []
        for line in text.splitlines():
            fields = line.split()
            if not fields or fields[0].startswith(("#", ";")):
                continue
            if fields[0] == "nameserver" and len(fields) >= 2:
                nameservers.append(fields[1])
            elif fields[0] in ("search", "domain"):
                search = [s.rstrip(".") for s in fields[1:] if s != "."]
            elif fields[0] == "options":
                options = fields[1:]
        return cls(tuple(nameservers), tuple(search), tuple(options))


@dataclass(frozen=True, slots=True)
class PodDNSConfig:
    """A pod's ``spec.dnsConfig``, merged into the policy's configuration."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    """``name`` or ``name:value`` (``ndots:2``, ``edns0``)."""


def cluster_search_domains(namespace: str, zone: str = DEFAULT_ZONE) -> tuple[str, str, str]:
    """The ClusterFirst search template: ``<ns>.svc.<zone> svc.<zone> <zone>`` (dns-pod-service)."""
    zone = zone.rstrip(".")
    return (f"{namespace}.svc.{zone}", f"svc.{zone}", zone)


def azure_node_resolv_conf(*, custom_dns_servers: Sequence[str] = (), vnet_id: str = "myvnetid",
                           region: str = "myregion") -> ResolvConf:
    """A node's resolv.conf as Azure DHCP configures it (coredns-troubleshoot.md).

    With Azure-provided DNS the nameserver is 168.63.129.16 and the search domain
    ``<vnet_id>.<region>.internal.cloudapp.net``; with custom DNS servers on the VNet the
    servers are those and the search domain is the non-functional stub ``reddog.microsoft.com``.
    """
    if custom_dns_servers:
        return ResolvConf(tuple(custom_dns_servers), (REDDOG,))
    return ResolvConf((AZURE_DNS_IP,), (f"{vnet_id}.{region}.{INTERNAL_CLOUDAPP}".lower(),))


def pod_resolv_conf(namespace: str, *, dns_policy: str = DEFAULT_DNS_POLICY, host_network: bool = False,
                    cluster_dns: Sequence[str] = (AKS_DNS_SERVICE_IP,), zone: str = DEFAULT_ZONE,
                    node: ResolvConf | None = None, dns_config: PodDNSConfig | None = None,
                    limits: SearchLimits = EXPANDED_SEARCH_LIMITS) -> ResolvConf:
    """The resolv.conf kubelet writes for a pod (``GetPodDNS`` in pkg/kubelet/network/dns).

    Args:
        namespace: the pod's namespace.
        dns_policy: ``ClusterFirst`` (default), ``ClusterFirstWithHostNet``, ``Default`` or ``None``.
        host_network: a hostNetwork pod with ClusterFirst falls back to ``Default``.
        cluster_dns: kubelet ``--cluster-dns`` (the kube-dns Service IP).
        zone: kubelet ``--cluster-domain``.
        node: the node's resolv.conf (default: :func:`azure_node_resolv_conf`).
        dns_config: the pod's ``spec.dnsConfig``, appended with duplicates removed.
        limits: search-list limits; see :func:`search_limits`.

    Returns:
        ClusterFirst: the cluster DNS as only nameserver, the cluster search template followed
        by the node's search domains, ``options ndots:5``. ``Default``: the node's file. ``None``:
        only ``dns_config``. Nameservers beyond 3 and search domains beyond *limits* are dropped,
        with kubelet's warning in ``warnings``.
    """
    if dns_policy not in DNS_POLICIES:
        raise DNSError(f"dnsPolicy {dns_policy!r} is not one of {', '.join(DNS_POLICIES)}")
    node = node if node is not None else azure_node_resolv_conf()
    cluster = dns_policy == "ClusterFirstWithHostNet" or (dns_policy == CLUSTER_FIRST and not host_network)
    if dns_policy == "None":
        if dns_config is None or not dns_config.nameservers:
            raise DNSError("dnsPolicy None needs spec.dnsConfig with at least one nameserver")
        servers: list[str] = []
        search: list[str] = []
        options: list[str] = []
    elif cluster and cluster_dns:
        servers = list(cluster_dns)
        search = _unique([*cluster_search_domains(namespace, zone), *node.search])
        options = [f"ndots:{CLUSTER_FIRST_NDOTS}"]
    else:  # Default, hostNetwork with ClusterFirst, or no cluster DNS configured
        servers, search, options = list(node.nameservers), list(node.search), list(node.options)
    if dns_config is not None:
        servers = _unique([*servers, *dns_config.nameservers])
        search = _unique([*search, *dns_config.searches])
        options = _merge_options(options, dns_config.options)
    warnings: list[str] = []
    if len(servers) > MAX_NAMESERVERS:
        servers = servers[:MAX_NAMESERVERS]
        warnings.append("Nameserver limits were exceeded, some nameservers have been omitted, "
                        f"the applied nameserver line is: {' '.join(servers)}")
    fitted = _fit_search(search, limits)
    if fitted != search:
        warnings.append("Search Line limits were exceeded, some search paths have been omitted, "
                        f"the applied search line is: {' '.join(fitted)}")
    return ResolvConf(tuple(servers), tuple(fitted), tuple(options), tuple(warnings))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(existing: Sequence[str], extra: Sequence[str]) -> list[str]:
    """Kubelet's ``mergeDNSOptions``: the pod's options override the policy's, by name."""
    merged: dict[str, str] = {}
    for opt in (*existing, *extra):
        name, _, value = opt.partition(":")
        merged[name] = opt if value else name
    return list(merged.values())


def _fit_search(search: list[str], limits: SearchLimits) -> list[str]:
    """Kubelet's ``formDNSSearchFitsLimits``: cap the count, drop over-long domains, cap the line."""
    out = [s for s in search[:limits.paths] if len(s) <= SEARCH_PATH_MAX_CHARS]
    while out and len(" ".join(out)) > limits.chars:
        out.pop()
    return out


def policy_defaults(kubernetes_version: str = "1.30", *, zone: str = DEFAULT_ZONE) -> dict[str, Any]:
    """The DNS policy defaults a pod gets, as one JSON-serialisable mapping.

    ``search_template`` carries the placeholder ``<namespace>``.
    """
    limits = search_limits(kubernetes_version)
    conf = pod_resolv_conf("<namespace>", zone=zone, node=ResolvConf((AZURE_DNS_IP,)), limits=limits)
    return {
        "dns_policy": DEFAULT_DNS_POLICY,
        "search_template": list(conf.search),
        "ndots": conf.ndots,
        "options": list(conf.options),
        "nameservers": list(conf.nameservers),
        "max_nameservers": MAX_NAMESERVERS,
        "max_search_domains": limits.paths,
        "max_search_chars": limits.chars,
        "cluster_domain": zone,
        "upstream": AZURE_DNS_IP,
        "resolv_default_ndots": RESOLV_DEFAULT_NDOTS,
        "coredns_replicas": KUBEADM_COREDNS_REPLICAS,
        "ttl": KUBERNETES_TTL,
    }


# --------------------------------------------------------------------------- coredns-autoscaler

Ladder: TypeAlias = tuple[tuple[int, int], ...]
"""``[[threshold, replicas], ...]``: the step that applies is the last with threshold <= value."""


@dataclass(frozen=True, slots=True)
class LadderParams:
    """cluster-proportional-autoscaler ``ladder`` mode: the max of two step functions."""

    cores_to_replicas: Ladder = ()
    nodes_to_replicas: Ladder = ()

    def __post_init__(self) -> None:
        for name in ("cores_to_replicas", "nodes_to_replicas"):
            steps = tuple(sorted((int(a), int(b)) for a, b in getattr(self, name)))
            if any(a < 1 or b < 1 for a, b in steps):
                raise DNSError(f"{name} {steps}: thresholds and replicas must be >= 1 (upstream parseParams)")
            object.__setattr__(self, name, steps)

    @classmethod
    def from_configmap(cls, value: str | Mapping[str, Any]) -> LadderParams:
        """From the ConfigMap's ``ladder`` JSON (``{"coresToReplicas": [[1,2],...], ...}``)."""
        data = json.loads(value) if isinstance(value, str) else value
        return cls(tuple((int(a), int(b)) for a, b in data.get("coresToReplicas") or ()),
                   tuple((int(a), int(b)) for a, b in data.get("nodesToReplicas") or ()))


@dataclass(frozen=True, slots=True)
class LinearParams:
    """cluster-proportional-autoscaler ``linear`` mode.

    ``max(ceil(cores / coresPerReplica), ceil(nodes / nodesPerReplica))``, each clamped to
    [min, max] (``max`` 0 = none); ``preventSinglePointFailure`` asks for 2 replicas as soon as
    there is more than one node.
    """

    cores_per_replica: float = 0.0
    nodes_per_replica: float = 0.0
    min: int = 1
    max: int = 0
    prevent_single_point_failure: bool = False

    def __post_init__(self) -> None:
        if self.cores_per_replica < 0 or self.nodes_per_replica < 0:
            raise DNSError("coresPerReplica and nodesPerReplica must be >= 0")
        if self.cores_per_replica == 0 and self.nodes_per_replica == 0:
            raise DNSError("linear mode needs coresPerReplica or nodesPerReplica (> 0)")
        if self.min < 0 or (self.max and self.max < max(self.min, 1)):
            raise DNSError(f"min {self.min} / max {self.max}: need 0 <= min <= max (max 0 = no max)")

    @classmethod
    def from_configmap(cls, value: str | Mapping[str, Any]) -> LinearParams:
        """From the ConfigMap's ``linear`` JSON."""
        data = json.loads(value) if isinstance(value, str) else value
        return cls(float(data.get("coresPerReplica", 0)), float(data.get("nodesPerReplica", 0)),
                   int(data.get("min", 1)) or 1, int(data.get("max", 0)),
                   bool(data.get("preventSinglePointFailure", False)))


AKS_COREDNS_LADDER = LadderParams(((1, 2), (512, 3), (1024, 4), (2048, 5)),
                                  ((1, 2), (8, 3), (16, 4), (32, 5)))
"""The ``coredns-autoscaler`` ConfigMap AKS ships (coredns-autoscale.md)."""


def _step(value: int, ladder: Ladder) -> int:
    if not ladder:
        return 1
    replicas = ladder[0][1]
    for threshold, count in ladder:
        if value < threshold:
            break
        replicas = count
    return replicas


def _linear(value: int, per_replica: float, p: LinearParams) -> int:
    if per_replica == 0:
        return 1
    res = math.ceil(value / per_replica)
    if p.max:
        res = min(p.max, res)
    return max(max(p.min, 1), res)


def replicas(cores: int, nodes: int, params: LadderParams | LinearParams = AKS_COREDNS_LADDER) -> int:
    """CoreDNS replicas the cluster-proportional-autoscaler asks for.

    Args:
        cores: schedulable cores in the cluster.
        nodes: schedulable nodes.
        params: ladder (default: AKS's) or linear parameters.

    Returns:
        Ladder: the larger of the two step values (a value below the first threshold takes the
        first step). Linear: see :class:`LinearParams`.
    """
    if cores < 0 or nodes < 0:
        raise DNSError(f"cores ({cores}) and nodes ({nodes}) must be >= 0")
    if isinstance(params, LadderParams):
        return max(_step(cores, params.cores_to_replicas), _step(nodes, params.nodes_to_replicas))
    from_cores = _linear(cores, params.cores_per_replica, params)
    from_nodes = _linear(nodes, params.nodes_per_replica, params)
    if params.prevent_single_point_failure and nodes > 1 and from_nodes < 2:
        from_nodes = 2
    return max(from_cores, from_nodes)


def ladder_steps(params: LadderParams = AKS_COREDNS_LADDER) -> Iterator[tuple[str, int, int]]:
    """Every step as ``(axis, threshold, replicas)``, for reports (``("nodes", 16, 4)``)."""
    for threshold, count in params.cores_to_replicas:
        yield ("cores", threshold, count)
    for threshold, count in params.nodes_to_replicas:
        yield ("nodes", threshold, count)
