"""CoreDNS as AKS runs it, :class:`ClusterDNS`, and the upstream it forwards to.

The Kubernetes DNS-Based Service Discovery specification 1.0.1 (``kubernetes/dns``
``docs/specification.md``), as CoreDNS's ``kubernetes`` plugin serves it with the kubeadm
Corefile (``kubernetes cluster.local in-addr.arpa ip6.arpa {pods insecure; fallthrough
in-addr.arpa ip6.arpa; ttl 30}``, ``forward . /etc/resolv.conf``). Names outside the cluster
zone go to the node's upstream, Azure DNS 168.63.129.16 (:class:`Upstream`, a toy internet).
Since AKS release v20241025 CoreDNS answers NXDOMAIN itself for ``reddog.microsoft.com`` and
for ``internal.cloudapp.net`` names of seven or more labels (coredns-troubleshoot.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from sim.dns.kube import Service, ServicePort, _check_keys
from sim.dns.records import (
    AKS_SEARCH_BLOCK,
    AKS_SEARCH_BLOCK_RELEASE,
    AZURE_DNS_IP,
    DEFAULT_ZONE,
    INTERNAL_CLOUDAPP,
    INTERNAL_CLOUDAPP_BLOCK_LABELS,
    KUBERNETES,
    MAX_CNAME_CHAIN,
    NAME_TYPES,
    REDDOG,
    SCHEMA_VERSION,
    UPSTREAM,
    Answer,
    DNSError,
    NameServer,
    Rcode,
    Record,
    _is_under,
    _labels,
    _reverse_name,
    _rr_type_for,
    fqdn,
)

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
