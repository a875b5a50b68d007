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

The package, one module per part (each imports only the ones above it in this list):

- :mod:`sim.dns.records`: the constants, names (:func:`fqdn`), :class:`Record`, :class:`Answer`;
- :mod:`sim.dns.kube`: the Kubernetes objects DNS serves (:class:`Service` and its parts);
- :mod:`sim.dns.coredns`: :class:`ClusterDNS`, :class:`Upstream` and the AKS search block;
- :mod:`sim.dns.resolver`: :class:`Resolver` and resolv.conf (:func:`pod_resolv_conf`);
- :mod:`sim.dns.autoscaler`: :func:`replicas` (coredns-autoscaler).

Every public name is re-exported here: ``from sim import dns; dns.ClusterDNS``.
"""

from __future__ import annotations

from sim.dns.autoscaler import (
    AKS_COREDNS_LADDER,
    Ladder,
    LadderParams,
    LinearParams,
    ladder_steps,
    replicas,
)
from sim.dns.coredns import (
    ClusterDNS,
    Upstream,
    has_aks_search_block,
    is_aks_blocked_name,
)
from sim.dns.kube import (
    Endpoint,
    Service,
    ServicePort,
)
from sim.dns.records import (
    AKS_DNS_SERVICE_IP,
    AKS_SEARCH_BLOCK,
    AKS_SEARCH_BLOCK_RELEASE,
    AZURE_DNS_IP,
    CLUSTER_FIRST,
    CLUSTER_FIRST_NDOTS,
    DEFAULT_DNS_POLICY,
    DEFAULT_ZONE,
    DNS_POLICIES,
    INTERNAL_CLOUDAPP,
    INTERNAL_CLOUDAPP_BLOCK_LABELS,
    KUBEADM_COREDNS_REPLICAS,
    KUBERNETES,
    KUBERNETES_TTL,
    MAX_CNAME_CHAIN,
    MAX_NAMESERVERS,
    NAME_TYPES,
    REDDOG,
    RESOLV_DEFAULT_NDOTS,
    RESOLV_MAX_NDOTS,
    SCHEMA_VERSION,
    SRC_COREDNS_AUTOSCALE,
    SRC_COREDNS_TROUBLESHOOT,
    SRC_DNS_POD_SERVICE,
    SRC_RESOLV_CONF,
    SRC_SPEC,
    UPSTREAM,
    Answer,
    DNSError,
    NameServer,
    Rcode,
    Record,
    fqdn,
)
from sim.dns.resolver import (
    EXPANDED_SEARCH_LIMITS,
    LEGACY_SEARCH_LIMITS,
    SEARCH_PATH_MAX_CHARS,
    Outcome,
    PodDNSConfig,
    Resolution,
    ResolvConf,
    Resolver,
    SearchLimits,
    azure_node_resolv_conf,
    cluster_search_domains,
    pod_resolv_conf,
    policy_defaults,
    search_limits,
)
from sim.kubeproxy.config import SERVICE_TYPES

__all__ = [
    "SRC_SPEC",
    "SRC_DNS_POD_SERVICE",
    "SRC_RESOLV_CONF",
    "SRC_COREDNS_TROUBLESHOOT",
    "SRC_COREDNS_AUTOSCALE",
    "SCHEMA_VERSION",
    "DEFAULT_ZONE",
    "AZURE_DNS_IP",
    "AKS_DNS_SERVICE_IP",
    "KUBERNETES_TTL",
    "KUBEADM_COREDNS_REPLICAS",
    "CLUSTER_FIRST",
    "DNS_POLICIES",
    "DEFAULT_DNS_POLICY",
    "CLUSTER_FIRST_NDOTS",
    "RESOLV_DEFAULT_NDOTS",
    "RESOLV_MAX_NDOTS",
    "MAX_NAMESERVERS",
    "MAX_CNAME_CHAIN",
    "AKS_SEARCH_BLOCK_RELEASE",
    "REDDOG",
    "INTERNAL_CLOUDAPP",
    "INTERNAL_CLOUDAPP_BLOCK_LABELS",
    "KUBERNETES",
    "UPSTREAM",
    "AKS_SEARCH_BLOCK",
    "NAME_TYPES",
    "Rcode",
    "DNSError",
    "fqdn",
    "Record",
    "Answer",
    "NameServer",
    "ServicePort",
    "Endpoint",
    "SERVICE_TYPES",
    "Service",
    "Upstream",
    "ClusterDNS",
    "is_aks_blocked_name",
    "has_aks_search_block",
    "Outcome",
    "Resolution",
    "Resolver",
    "SearchLimits",
    "LEGACY_SEARCH_LIMITS",
    "EXPANDED_SEARCH_LIMITS",
    "SEARCH_PATH_MAX_CHARS",
    "search_limits",
    "ResolvConf",
    "PodDNSConfig",
    "cluster_search_domains",
    "azure_node_resolv_conf",
    "pod_resolv_conf",
    "policy_defaults",
    "Ladder",
    "LadderParams",
    "LinearParams",
    "AKS_COREDNS_LADDER",
    "replicas",
    "ladder_steps",
]
