"""kube-proxy: which endpoint a Service connection lands on, or why it lands nowhere.

Four rooms, each following the upstream code it names:

- **iptables** (kubernetes/kubernetes pkg/proxy/iptables/proxier.go): the ``KUBE-SVC`` chain
  of n endpoints holds rule i < n-1 with ``-m statistic --mode random --probability
  1/(n-i)`` (``computeProbability``, ``%0.10f``) and an unconditional last rule, so every
  endpoint gets 1/n. The kernel compares a 31-bit random number with
  ``lround(2^31 * p)`` (libxt_statistic.c, xt_statistic.c): :class:`ChainWalker` does
  exactly that; :class:`IptablesPicker` is the O(1) hot-path equivalent.
- **IPVS** schedulers as LVS defines them (net/netfilter/ipvs/ip_vs_*.c): small strategy
  objects with ``pick(src, dst, active, inactive) -> index`` (-1: none available).
- **Session affinity** ``ClientIP`` (``-m recent --rcheck --seconds T --reap``): sticky
  while ``now - last_seen <= T`` (xt_recent.c), refreshed by every new connection.
- **Traffic policy** (pkg/proxy/topology.go ``CategorizeEndpoints`` and the iptables
  proxier's filter rules): which endpoints a packet can reach, whether it is masqueraded,
  or whether it is DROPped (policy Local, no local endpoint) or REJECTed (no endpoint at
  all); the health check node port answers and kube-proxy's ``/healthz``.

Everything here is pure and deterministic: times are simulated seconds passed in, and
randomness comes only from the ``random.Random`` stream a caller hands over.

The package, one module per room (config at the bottom: every other module reads its numbers
there):

- :mod:`sim.kubeproxy.config`: the defaults, and the Service IP and NodePort ranges;
- :mod:`sim.kubeproxy.iptables`: the probability chain, :class:`ChainWalker`, :class:`IptablesPicker`;
- :mod:`sim.kubeproxy.affinity`: ``ClientIP`` affinity, :class:`AffinityTable`, :class:`StickyPicker`;
- :mod:`sim.kubeproxy.lvs`: the LVS schedulers (``rr``, ``wlc``, ``sh``...);
- :mod:`sim.kubeproxy.ipvs`: kube-proxy's IPVS: the schedulers it accepts, :class:`IpvsService`,
  and every node's virtual servers (:class:`IpvsTables`);
- :mod:`sim.kubeproxy.endpoints`: traffic policy, :func:`route`, and the health checks.

Every public name is re-exported here: ``from sim import kubeproxy as kp; kp.route``.
"""

from __future__ import annotations

from sim.kubeproxy.affinity import (
    AffinityTable,
    StickyPicker,
    validate_affinity_timeout,
)
from sim.kubeproxy.config import (
    DEFAULT_AFFINITY_TIMEOUT,
    DEFAULT_FIN_TIMEOUT,
    DEFAULT_SCHEDULER,
    DEFAULT_UDP_TIMEOUT,
    HEALTHZ_PORT,
    HEALTHZ_TIMEOUT,
    MAX_AFFINITY_TIMEOUT,
    MIN_SYNC_PERIOD,
    NODE_PORT_RANGE,
    PROXY_MODES,
    SERVICE_TYPES,
    SESSION_AFFINITIES,
    SYNC_PERIOD,
    TRAFFIC_POLICIES,
    clusterip_static_band,
    is_static_band,
    is_valid_node_port,
)
from sim.kubeproxy.endpoints import (
    Endpoint,
    Entry,
    Origin,
    ProxyHealth,
    ProxyNode,
    Route,
    ServicePort,
    Verdict,
    categorize_endpoints,
    classify_source,
    health_check_node_port,
    lb_health_probe,
    local_ready_endpoints,
    next_sync,
    reachable_endpoints,
    route,
)
from sim.kubeproxy.iptables import (
    ChainWalker,
    IptablesPicker,
    Picker,
    Rule,
    compute_probability,
    iptables_chain,
    kernel_marginals,
    kernel_threshold,
)
from sim.kubeproxy.ipvs import (
    COUNTING,
    IPVS_SCHEDULERS,
    IpvsService,
    IpvsTables,
    VirtualServer,
    ip_to_int,
    make_scheduler,
    resolve_scheduler,
)
from sim.kubeproxy.lvs import (
    DestinationHashing,
    IpvsScheduler,
    LeastConnection,
    LocalityBasedLeastConnection,
    LocalityBasedLeastConnectionReplicated,
    NeverQueue,
    RoundRobin,
    ShortestExpectedDelay,
    SourceHashing,
    WeightedLeastConnection,
    WeightedRoundRobin,
)

__all__ = [
    "MIN_SYNC_PERIOD",
    "SYNC_PERIOD",
    "HEALTHZ_TIMEOUT",
    "HEALTHZ_PORT",
    "NODE_PORT_RANGE",
    "DEFAULT_AFFINITY_TIMEOUT",
    "MAX_AFFINITY_TIMEOUT",
    "DEFAULT_SCHEDULER",
    "DEFAULT_FIN_TIMEOUT",
    "DEFAULT_UDP_TIMEOUT",
    "PROXY_MODES",
    "SESSION_AFFINITIES",
    "TRAFFIC_POLICIES",
    "SERVICE_TYPES",
    "clusterip_static_band",
    "is_static_band",
    "is_valid_node_port",
    "compute_probability",
    "kernel_threshold",
    "Rule",
    "iptables_chain",
    "kernel_marginals",
    "ChainWalker",
    "IptablesPicker",
    "Picker",
    "validate_affinity_timeout",
    "AffinityTable",
    "StickyPicker",
    "IpvsScheduler",
    "RoundRobin",
    "WeightedRoundRobin",
    "LeastConnection",
    "WeightedLeastConnection",
    "ShortestExpectedDelay",
    "NeverQueue",
    "SourceHashing",
    "DestinationHashing",
    "LocalityBasedLeastConnection",
    "LocalityBasedLeastConnectionReplicated",
    "IPVS_SCHEDULERS",
    "resolve_scheduler",
    "make_scheduler",
    "IpvsService",
    "ip_to_int",
    "COUNTING",
    "VirtualServer",
    "IpvsTables",
    "Verdict",
    "Entry",
    "Origin",
    "Endpoint",
    "ServicePort",
    "ProxyNode",
    "Route",
    "categorize_endpoints",
    "reachable_endpoints",
    "classify_source",
    "route",
    "local_ready_endpoints",
    "health_check_node_port",
    "ProxyHealth",
    "lb_health_probe",
    "next_sync",
]
