"""Network security group rules on the node subnet, for traffic entering through the load balancer.

Azure evaluates inbound rules by priority (lowest number first) and the first match decides
(network-security-groups-overview). Every NSG ends with the default rules AllowVnetInBound
(65000), AllowAzureLoadBalancerInBound (65001) and DenyAllInBound (65500). For each port of a
LoadBalancer Service AKS adds an allow rule from ``Internet`` (or from the Service's
``loadBalancerSourceRanges``) at priority 500 and up (configure-load-balancer-standard.md).
Rules a user adds at a lower number win over those.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

AZURE_LB_PROBE_SOURCE = ipaddress.IPv4Address("168.63.129.16")
_PRIVATE = tuple(ipaddress.IPv4Network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16"))
"""Where Azure load balancer health probes come from (the AzureLoadBalancer service tag)."""


@dataclass(frozen=True)
class Rule:
    """One inbound security rule."""

    name: str
    priority: int
    allow: bool
    source: str
    """A CIDR, ``*``, or a service tag: ``Internet``, ``VirtualNetwork``, ``AzureLoadBalancer``."""
    ports: tuple[int, ...] | None
    """Destination ports; None for any."""
    protocol: str = "*"

    def matches(self, src: ipaddress.IPv4Address, port: int, protocol: str,
                vnet: list[ipaddress.IPv4Network]) -> bool:
        """Whether a connection from *src* to *port*/*protocol* falls under this rule."""
        if self.protocol not in ("*", protocol):
            return False
        if self.ports is not None and port not in self.ports:
            return False
        return _source_matches(self.source, src, vnet)


def _source_matches(source: str, src: ipaddress.IPv4Address,
                    vnet: list[ipaddress.IPv4Network]) -> bool:
    if source == "*":
        return True
    if source == "VirtualNetwork":
        return any(src in net for net in vnet)
    if source == "AzureLoadBalancer":
        return src == AZURE_LB_PROBE_SOURCE
    if source == "Internet":
        # outside the VNet and not a private range (documentation ranges stand for clients)
        return not any(src in net for net in vnet) and not any(src in net for net in _PRIVATE)
    return src in ipaddress.IPv4Network(source, strict=False)


DEFAULT_RULES = (
    Rule("AllowVnetInBound", 65000, True, "VirtualNetwork", None),
    Rule("AllowAzureLoadBalancerInBound", 65001, True, "AzureLoadBalancer", None),
    Rule("DenyAllInBound", 65500, False, "*", None),
)


def evaluate(rules: list[Rule], src: ipaddress.IPv4Address, port: int, protocol: str,
             vnet: list[ipaddress.IPv4Network]) -> Rule:
    """The rule that decides a connection: the first match by priority."""
    for rule in sorted(rules, key=lambda r: r.priority):
        if rule.matches(src, port, protocol, vnet):
            return rule
    return DEFAULT_RULES[-1]
