"""Network security group rules on the node subnet, for traffic entering through the load balancer.

Azure evaluates inbound rules by priority (lowest number first) and the first match decides
(network-security-groups-overview). Every NSG ends with the default rules AllowVnetInBound
(65000), AllowAzureLoadBalancerInBound (65001) and DenyAllInBound (65500).

Every AKS cluster has its managed NSG (``aks-agentpool-<id>-nsg``), whether or not the scenario
declares rules: for each port of each public LoadBalancer Service the cloud provider writes an
allow rule to that Service's frontend IP from ``Internet``, or, with
``loadBalancerSourceRanges``, one from each range, at priority 500 and up in the order the
Services were created (configure-load-balancer-standard.md "Restrict inbound traffic to specific
IP ranges"; kubernetes-sigs/cloud-provider-azure reconcileSecurityGroup). A client outside the
ranges then meets DenyAllInBound. Rules the scenario declares on the subnet
(``securityRules``) are layered on the managed ones by priority: a user rule with a lower
number than 500 wins over AKS's.
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
    destination: str = "*"
    """``*`` or the LoadBalancer Service (``namespace/name``) whose frontend IP the rule names."""

    def matches(self, src: ipaddress.IPv4Address, port: int, protocol: str,
                vnet: list[ipaddress.IPv4Network], dst: str | None = None) -> bool:
        """Whether a connection from *src* to *port*/*protocol* (of the frontend of Service
        *dst*) falls under this rule."""
        if self.protocol not in ("*", protocol):
            return False
        if self.destination != "*" and dst is not None and dst != self.destination:
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


AKS_RULE_PRIORITY = 500
"""The first priority the cloud provider gives its per-Service rules."""


@dataclass(frozen=True)
class LoadBalancerPorts:
    """What the managed NSG needs of a public LoadBalancer Service."""

    key: str
    """``namespace/name``."""
    ports: tuple[tuple[int, str], ...]
    """(port, protocol) of each Service port."""
    source_ranges: tuple[str, ...]
    """``spec.loadBalancerSourceRanges`` (empty: ``Internet``)."""


def managed_rules(services: list[LoadBalancerPorts]) -> list[Rule]:
    """The rules AKS writes in its managed NSG for *services* (in creation order): one allow
    rule per port and source range, from priority 500 up, then the default rules."""
    rules: list[Rule] = []
    priority = AKS_RULE_PRIORITY
    for svc in services:
        for port, protocol in svc.ports:
            for src in svc.source_ranges or ("Internet",):
                rules.append(Rule(f"aks-{svc.key.replace('/', '-')}-{protocol}-{port}-{src}",
                                  priority, True, src, (port,), protocol, svc.key))
                priority += 1
    return rules + list(DEFAULT_RULES)


def evaluate(rules: list[Rule], src: ipaddress.IPv4Address, port: int, protocol: str,
             vnet: list[ipaddress.IPv4Network], dst: str | None = None) -> Rule:
    """The rule that decides a connection: the first match by priority (user rules and
    managed rules layered together; a tie keeps the order given)."""
    for rule in sorted(rules, key=lambda r: r.priority):
        if rule.matches(src, port, protocol, vnet, dst):
            return rule
    return DEFAULT_RULES[-1]
