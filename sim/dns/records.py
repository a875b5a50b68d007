"""Cluster DNS's vocabulary: the constants, names, resource records and responses.

The bottom of :mod:`sim.dns`: every other module of the package reads its constants here.
Sources (AKS doc paths are files of ``MicrosoftDocs/azure-aks-docs``; see
``shared/AKS-NETWORKING.md`` section 7): the Kubernetes DNS-Based Service Discovery
specification 1.0.1 (``kubernetes/dns`` ``docs/specification.md``), dns-pod-service.md,
resolv.conf(5), coredns-troubleshoot.md and coredns-autoscale.md.

Names are case-insensitive (spec 2.1): the server lower-cases every name it reads, and answers
with absolute, lower-case owner names.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

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
