"""A pod's stub resolver and the resolv.conf it reads (they call each other).

- :class:`Resolver`: glibc's ``res_nsearch`` over resolv.conf(5) ``search`` and ``ndots``
  (musl differs: it never searches after an absolute try).
- The pod's resolv.conf, :func:`pod_resolv_conf`: kubelet ``pkg/kubelet/network/dns``
  (ClusterFirst: ``search <ns>.svc.<zone> svc.<zone> <zone>`` + the node's search domains,
  ``options ndots:5``; at most 3 nameservers; search-list limits of :class:`SearchLimits`).
  The node's own resolv.conf on Azure is :func:`azure_node_resolv_conf`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.dns.records import (
    AKS_DNS_SERVICE_IP,
    AZURE_DNS_IP,
    CLUSTER_FIRST,
    CLUSTER_FIRST_NDOTS,
    DEFAULT_DNS_POLICY,
    DEFAULT_ZONE,
    DNS_POLICIES,
    INTERNAL_CLOUDAPP,
    KUBEADM_COREDNS_REPLICAS,
    KUBERNETES_TTL,
    MAX_NAMESERVERS,
    REDDOG,
    RESOLV_DEFAULT_NDOTS,
    RESOLV_MAX_NDOTS,
    Answer,
    DNSError,
    NameServer,
    Rcode,
    Record,
    fqdn,
)

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
