"""kube-proxy's defaults and the Service address and port ranges: the bottom of sim.kubeproxy.

The defaults are those of virtual-ips.md, service.md and ``pkg/proxy/apis/config``; every
other module of the package reads its numbers here. The ranges are the API server's: the
ClusterIP range's static band (ipallocator) and ``--service-node-port-range``.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Literal

# --- defaults (virtual-ips.md, service.md, pkg/proxy/apis/config defaults) ------------------

MIN_SYNC_PERIOD = 1.0
"""``minSyncPeriod``: rules are rewritten at most once a second."""
SYNC_PERIOD = 30.0
"""``syncPeriod``: rules are rewritten at least every 30 s."""
HEALTHZ_TIMEOUT = 2 * SYNC_PERIOD
"""``/healthz`` fails once a queued update has waited this long (cmd/kube-proxy: 2 x syncPeriod)."""
HEALTHZ_PORT = 10256
NODE_PORT_RANGE = (30000, 32767)
"""``--service-node-port-range`` default, inclusive."""
PortProtocol = Literal["TCP", "UDP", "SCTP"]
"""The protocols a Service port, a container port or a NetworkPolicyPort may name (core/v1
``Protocol``; the API server defaults a missing one to TCP)."""
DEFAULT_AFFINITY_TIMEOUT = 10800.0
"""``sessionAffinityConfig.clientIP.timeoutSeconds`` default (3 h)."""
MAX_AFFINITY_TIMEOUT = 86400.0
"""Largest allowed ClientIP affinity timeout (1 day)."""
DEFAULT_SCHEDULER = "rr"
"""pkg/proxy/ipvs/proxier.go ``defaultScheduler``."""
DEFAULT_FIN_TIMEOUT = 120.0
"""LVS's FIN_WAIT timeout (2 min); kube-proxy's ``tcpFinTimeout: 0`` keeps the kernel's."""
DEFAULT_UDP_TIMEOUT = 300.0
"""LVS's UDP connection timeout (ip_vs_proto_udp.c, 5 min; AKS ``UDPTimeoutSeconds`` 300)."""
PROXY_MODES = ("iptables", "ipvs", "nftables")
SESSION_AFFINITIES = ("None", "ClientIP")
TRAFFIC_POLICIES = ("Cluster", "Local")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_BAND_MIN, _BAND_MAX, _BAND_STEP = 16, 256, 16


@lru_cache(maxsize=1024)
def _net(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr.strip(), strict=False)


# --- Service IP and port ranges --------------------------------------------------------------


def clusterip_static_band(cidr: str) -> int:
    """Size of the ClusterIP range's lower (static) band: ``min(max(16, size/16), 256)``.

    As ipallocator's ``calculateRangeOffset``: a range of 16 addresses or fewer (/28 and
    smaller) has no static band at all.
    """
    size = _net(cidr).num_addresses
    if size <= _BAND_MIN:
        return 0
    return min(max(_BAND_MIN, size // _BAND_STEP), _BAND_MAX)


def is_static_band(cidr: str, ip: str) -> bool:
    """Whether *ip* falls in *cidr*'s static band (offsets counted from the first host)."""
    net = _net(cidr)
    offset = int(ipaddress.ip_address(ip)) - int(net.network_address) - 1
    return 0 <= offset < clusterip_static_band(cidr)


def is_valid_node_port(port: int, port_range: tuple[int, int] = NODE_PORT_RANGE) -> bool:
    """Whether *port* lies in ``--service-node-port-range`` (inclusive)."""
    return port_range[0] <= port <= port_range[1]
