"""Every quantity docs/aks-networking.md (the shared facts file) names is computable through the conformance
harness (issue 14), and a question the harness cannot compute fails saying "cannot compute
<quantity>", never with an unrelated value (a held-out case once got the node pod CIDRs for
its forbidden address ranges).

Each expected value below is the number the document states, with its section; none is read
from sim.sizing.
"""

from __future__ import annotations

from typing import Any

import pytest
from conformance_azure_sizing import evaluate_case

# (group, quantity key, inputs, value AKS-NETWORKING.md states) -- section in the comment
NAMED: list[tuple[str, str, dict[str, Any], Any]] = [
    # section 1, subnets and IPAM
    ("azure_subnet_reserved", "reserved_count", {}, 5),
    ("azure_subnet_reserved", "usable", {"prefix_len": 24}, 251),
    ("azure_cni_min_subnet_ips", "required_ips",
     {"nodes": 50, "max_pods": 30, "upgrade_surge_nodes": 1}, 1581),
    ("azure_cni_min_subnet_ips", "min_prefix_len",
     {"nodes": 50, "max_pods": 30, "upgrade_surge_nodes": 1}, 21),
    ("azure_cni_min_subnet_ips", "required_ips",
     {"nodes": 50, "scale_out_nodes": 10, "max_pods": 30, "upgrade_surge_nodes": 1}, 1891),
    ("subnet_capacity_kubenet_vs_cni", "max_nodes",
     {"plugin": "kubenet", "subnet_prefix_len": 24, "max_pods": 110}, 251),
    ("subnet_capacity_kubenet_vs_cni", "max_pods_total",
     {"plugin": "kubenet", "subnet_prefix_len": 24, "max_pods": 110}, 27610),
    ("subnet_capacity_kubenet_vs_cni", "max_nodes",
     {"plugin": "azure-cni", "subnet_prefix_len": 24, "max_pods": 30}, 8),
    ("subnet_capacity_kubenet_vs_cni", "max_pods_total",
     {"plugin": "azure-cni", "subnet_prefix_len": 24, "max_pods": 30}, 240),
    ("kubenet_routes", "route_table_limit", {}, 400),
    ("kubenet_routes", "kubenet_max_nodes", {}, 400),
    ("kubenet_pod_cidr", "default_pod_cidr", {}, "10.244.0.0/16"),
    ("kubenet_pod_cidr", "node_pod_cidr", {"node_index": 1}, "10.244.1.0/24"),
    ("service_cidr", "default_service_cidr", {}, "10.0.0.0/16"),
    ("service_cidr", "default_dns_service_ip", {}, "10.0.0.10"),
    ("service_cidr", "kubernetes_service_ip", {"service_cidr": "10.0.0.0/16"}, "10.0.0.1"),
    ("service_cidr", "service_cidr_prefix_len_must_be_greater_than", {}, 12),
    ("forbidden_ranges", "forbidden_ranges", {},
     ["169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24"]),
    # the held-out question's wording, with a pod CIDR among the inputs
    ("forbidden_ranges", "forbidden_address_ranges", {"pod_cidr": "10.244.0.0/16", "nodes": 3},
     ["169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24"]),
    ("forbidden_ranges", "forbidden", {"cidr": "172.30.4.0/24"}, True),
    ("forbidden_ranges", "forbidden", {"cidr": "10.20.0.0/16"}, False),
    ("overlay", "max_nodes", {"plugin": "overlay"}, 5000),
    ("dynamic_pod_subnet", "batch_size", {}, 16),
    ("dynamic_pod_subnet", "refill_below", {}, 8),
    ("static_block", "blocks_per_node", {"max_pods": 30}, 2),
    ("static_block", "wasted_ips_per_node", {"max_pods": 32}, 15),
    ("static_block", "max_pods_per_cluster", {"plugin": "static-block"}, 1_000_000),
    ("vnet", "vnet_max_private_ips", {}, 65536),
    ("vnet", "vnet_largest_prefix_len", {}, 8),
    # section 2, max-pods and cluster limits
    ("max_pods", "default", {"plugin": "overlay"}, 250),
    ("max_pods", "default", {"plugin": "kubenet"}, 110),
    ("max_pods", "default", {"plugin": "azure-cni"}, 30),
    ("max_pods", "max_configurable", {"plugin": "kubenet"}, 250),
    ("max_pods", "min_max_pods", {}, 10),
    ("max_pods", "min_pods_per_pool", {}, 30),
    ("cluster_limits", "max_nodes_per_cluster", {}, 5000),
    ("cluster_limits", "max_nodes_per_pool", {}, 1000),
    ("cluster_limits", "max_node_pools", {}, 100),
    ("cluster_limits", "npm_max_nodes", {}, 250),
    ("cluster_limits", "max_pods_per_cluster", {"plugin": "overlay"}, 200_000),
    ("cluster_limits", "max_lb_services_per_cluster", {}, 300),
    ("cluster_limits", "max_clusters_per_subscription", {}, 5000),
    ("cluster_limits", "lb_max_backend_ip_configs_per_frontend", {}, 10_000),
    ("cluster_limits", "ilb_recommended_max_nodes", {}, 750),
    ("upgrade", "default_max_surge", {}, 1),
    # section 3, Azure Load Balancer
    ("snat", "snat_ports_per_instance", {"backend_pool_size": 50}, 1024),
    ("snat", "snat_ports_per_instance", {"backend_pool_size": 52}, 512),
    ("snat", "snat_ports_per_instance", {"backend_pool_size": 801}, 32),
    ("snat", "ports_per_frontend_ip", {}, 64000),
    ("snat", "max_nodes", {"allocated_outbound_ports": 1000, "frontend_ips": 7}, 448),
    # "keep surge headroom (default 1 buffer node)": 448 nodes with the upgrade's surge node
    ("snat", "max_nodes_including_surge",
     {"allocated_outbound_ports": 1000, "frontend_ips": 7}, 447),
    ("snat", "max_nodes_including_surge",
     {"allocated_outbound_ports": 1000, "frontend_ips": 7, "max_surge": 3}, 445),
    ("snat", "idle_timeout_minutes", {}, {"default": 30, "min": 4, "max": 120}),
    ("snat", "lb_idle_timeout_default_minutes", {}, 4),
    ("snat", "service_tcp_idle_timeout_minutes", {}, {"default": 4, "min": 4, "max": 30}),
    ("snat", "snat_port_range", {}, 8),
    ("snat", "release_after_finack_seconds", {}, 240),
    ("snat", "nat_gateway_snat_ports_per_ip", {}, 64512),
    ("upgrade", "max_surge_recommended", {}, "33%"),
    ("kubenet_routes", "kubenet_retirement", {}, "2028-03-31"),
    ("overlay", "overlay_max_pods_per_node", {}, 250),
]


@pytest.mark.parametrize(("group", "key", "inputs", "want"), NAMED,
                         ids=[f"{k}-{i}" for i, (_, k, _, _) in enumerate(NAMED)])
def test_every_named_quantity_is_computable_and_is_the_documented_value(
        group: str, key: str, inputs: dict[str, Any], want: Any) -> None:
    outcome = evaluate_case(group, {"id": key, "inputs": inputs, "expected": {key: want}})
    assert outcome.ok, outcome.report()


UNKNOWN = [
    # plural "ranges" keys with a pod CIDR among the inputs (the held-out forbidden-ranges
    # question was answered with the node pod CIDRs this way)
    ("vnet", "reserved_ranges", {"pod_cidr": "10.244.0.0/16", "nodes": 3}),
    ("snat", "ports_per_flux_capacitor", {"backend_pool_size": 10}),
    ("cluster_limits", "max_unicorns_per_cluster", {}),
    ("vnet", "peering_hop_ranges", {"vnet_cidr": "10.0.0.0/8"}),
    ("upgrade", "status", {"nodes": 3, "max_surge": 1}),
]


@pytest.mark.parametrize(("group", "key", "inputs"), UNKNOWN, ids=[u[1] for u in UNKNOWN])
def test_an_unknown_quantity_fails_saying_it_cannot_be_computed(
        group: str, key: str, inputs: dict[str, Any]) -> None:
    """Whatever value is expected (here one an unrelated computation could give), a quantity
    the rule books do not know fails as "cannot compute <quantity>"."""
    for want in (["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"], 400, "ok"):
        outcome = evaluate_case(group, {"id": key, "inputs": inputs, "expected": {key: want}})
        assert not outcome.ok
        assert outcome.problems == [p for p in outcome.problems
                                    if p.startswith(f"cannot compute {key!r}")], outcome.problems
