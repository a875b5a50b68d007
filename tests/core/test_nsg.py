"""NSG rules on the node subnet (network-security-groups-overview, configure-load-balancer-standard)."""

from __future__ import annotations

import ipaddress

from simkit import make_sim

from sim.azure.nsg import DEFAULT_RULES, Rule, evaluate

VNET = [ipaddress.IPv4Network("10.224.0.0/12")]


def ip(a: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(a)


def test_first_match_by_priority_decides() -> None:
    """Lower priority numbers are evaluated first; the first matching rule wins."""
    rules = [Rule("deny-client", 400, False, "198.51.100.0/24", (80,)),
             Rule("aks-web", 500, True, "Internet", (80,)), *DEFAULT_RULES]
    assert evaluate(rules, ip("198.51.100.7"), 80, "TCP", VNET).name == "deny-client"
    assert evaluate(rules, ip("203.0.113.9"), 80, "TCP", VNET).name == "aks-web"
    assert evaluate(rules, ip("203.0.113.9"), 22, "TCP", VNET).name == "DenyAllInBound"


def test_default_rules_allow_the_vnet_and_the_load_balancer_probes() -> None:
    """AllowVnetInBound (65000), AllowAzureLoadBalancerInBound (65001), DenyAllInBound (65500);
    probes come from 168.63.129.16."""
    assert evaluate(list(DEFAULT_RULES), ip("10.224.3.4"), 443, "TCP", VNET).allow
    assert evaluate(list(DEFAULT_RULES), ip("168.63.129.16"), 30080, "TCP", VNET).allow
    assert not evaluate(list(DEFAULT_RULES), ip("203.0.113.9"), 443, "TCP", VNET).allow


SCENARIO = """
duration: 2m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  vnet:
    subnets:
      - name: aks-subnet
        addressPrefix: 10.224.0.0/16
        securityRules: {rules}
  nodePools:
    - {{name: system, mode: System, count: 2}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web}}
    spec:
      replicas: 2
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec: {{containers: [{{name: web, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: web}}
    spec:
      type: LoadBalancer
      selector: {{app: web}}
      ports: [{{port: 80}}]
      {ranges}
traffic:
  flows:
    - name: users
      to: {{service: web}}
      clientIP: 198.51.100.7
      rate: {{profile: constant, rps: 20}}
      timeout: 2s
"""


def _denied(rules: str, ranges: str = "") -> float:
    text = SCENARIO.format(rules=rules, ranges=ranges)
    figures = make_sim(text)[0].run().figures
    return figures["flow.users.cause.nsg_denied"] / figures["flow.users.requests"]


def test_a_user_deny_rule_ahead_of_the_aks_rules_blocks_clients() -> None:
    """A Deny at priority 400 beats AKS's allow rule for the LoadBalancer port (500+)."""
    deny = "[{name: block-partner, priority: 400, access: Deny, source: 198.51.100.0/24}]"
    assert _denied(deny) == 1.0
    other = "[{name: block-other, priority: 400, access: Deny, source: 192.0.2.0/24}]"
    assert _denied(other) == 0.0


def test_load_balancer_source_ranges_narrow_who_may_connect() -> None:
    """With loadBalancerSourceRanges AKS allows only those sources; the rest hit DenyAllInBound."""
    keep = "[{name: noop, priority: 4000, access: Allow, source: 10.0.0.0/8}]"
    assert _denied(keep, "loadBalancerSourceRanges: [203.0.113.0/24]") == 1.0
    assert _denied(keep, "loadBalancerSourceRanges: [198.51.100.0/24]") == 0.0


def test_source_ranges_bite_without_any_user_rule() -> None:
    """The AKS-managed NSG is in every cluster (configure-load-balancer-standard.md, "Restrict
    inbound traffic to specific IP ranges"): a client outside loadBalancerSourceRanges is
    dropped although the scenario declares no NSG rule; one inside gets through."""
    assert _denied("[]", "loadBalancerSourceRanges: [203.0.113.0/24]") == 1.0
    assert _denied("[]", "loadBalancerSourceRanges: [198.51.100.0/24]") == 0.0
    assert _denied("[]") == 0.0  # no ranges: AKS's rule allows Internet


def test_managed_rules_name_each_service_port_and_range_from_priority_500() -> None:
    """One allow rule per Service port and source range, to that Service's frontend, numbered
    from 500 in creation order; a user Deny below 500 wins, a user Allow above the defaults
    cannot open a port AKS did not."""
    from sim.azure.nsg import LoadBalancerPorts, managed_rules

    rules = managed_rules([LoadBalancerPorts("shop/web", ((80, "TCP"), (443, "TCP")), ()),
                           LoadBalancerPorts("shop/admin", ((80, "TCP"),), ("198.51.100.0/24",))])
    aks = [r for r in rules if r.destination != "*"]
    assert [(r.priority, r.source, r.ports) for r in aks] == [
        (500, "Internet", (80,)), (501, "Internet", (443,)), (502, "198.51.100.0/24", (80,))]
    assert rules[len(aks):] == list(DEFAULT_RULES)
    client = ip("203.0.113.9")
    assert evaluate(rules, client, 80, "TCP", VNET, "shop/web").allow
    # port 80 of the other Service's frontend is restricted: web's rule does not apply there
    assert not evaluate(rules, client, 80, "TCP", VNET, "shop/admin").allow
    assert evaluate(rules, ip("198.51.100.7"), 80, "TCP", VNET, "shop/admin").allow
    user_deny = Rule("deny", 400, False, "198.51.100.0/24", (80,))
    assert not evaluate([user_deny, *rules], ip("198.51.100.7"), 80, "TCP", VNET, "shop/admin").allow
