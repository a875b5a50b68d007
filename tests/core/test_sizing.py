"""sim.sizing against the numbers of shared/AKS-NETWORKING.md and the docs it cites."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import sizing
from sim.azure.vnet import usable_addresses
from sim.sizing import REVISIONS, SizingError

# --------------------------------------------------------------------------- Azure CNI formula


@pytest.mark.parametrize(("nodes", "max_pods", "required", "prefix"), [
    (50, 30, 1581, 21),   # ip-address-planning.md: (51) + (51 x 30) = 1,581, /21
    (60, 30, 1891, 21),   # 50 nodes + 10 to scale: (61) + (61 x 30) = 1,891, /21
])
def test_azure_cni_required_ips_doc_examples(
    nodes: int, max_pods: int, required: int, prefix: int
) -> None:
    assert sizing.azure_cni_required_ips(nodes, max_pods) == required
    assert sizing.min_prefix_len(required) == prefix


def test_plan_reproduces_the_scale_example() -> None:
    p = sizing.plan("azure", None, None, nodes=50, max_pods=30, max_surge=1, max_count=60)
    assert (p.required_ips, p.min_prefix_len, p.nodes_to_fit) == (1891, 21, 61)
    assert any("--max-count 60" in w for w in p.warnings)


def test_usable_addresses_of_a_slash_24() -> None:
    assert sizing.subnet_usable_addresses(24) == 251
    assert sizing.subnet_usable_addresses(24, revision=REVISIONS[
        "configure-kubenet-three-reserved"]) == 253


def test_reserved_addresses_and_assignable_range() -> None:
    reserved = sizing.subnet_reserved_addresses("192.168.1.0/24")
    assert list(reserved) == ["192.168.1.0", "192.168.1.1", "192.168.1.2", "192.168.1.3",
                              "192.168.1.255"]
    assert reserved["192.168.1.1"] == "default gateway"
    assert sizing.subnet_assignable_range("192.168.1.0/24") == ("192.168.1.4", "192.168.1.254")


@pytest.mark.parametrize(("prefix", "ok"), [(29, True), (2, True), (30, False), (1, False)])
def test_subnet_prefix_supported(prefix: int, ok: bool) -> None:
    assert sizing.subnet_prefix_supported(prefix) is ok


# --------------------------------------------------------------------------- capacity


@pytest.mark.parametrize(("plugin", "prefix", "pods", "nodes", "total"), [
    ("kubenet", 24, 110, 251, 27_610),   # configure-kubenet.md
    ("azure-cni", 24, 30, 8, 240),       # configure-kubenet.md
])
def test_subnet_capacity_kubenet_vs_cni(
    plugin: str, prefix: int, pods: int, nodes: int, total: int
) -> None:
    assert sizing.subnet_capacity(plugin, prefix, pods) == sizing.SubnetCapacity(nodes, total)


def test_kubenet_slash27_holds_a_25_node_cluster_with_headroom() -> None:
    # configure-kubenet.md: a /27 suits a 20-25 node cluster (2,200-2,750 pods at 110)
    cap = sizing.subnet_capacity("kubenet", 27, 110)
    assert cap.max_nodes == 27 >= 25 + sizing.MAX_SURGE_DEFAULT
    assert 25 * 110 == 2750 <= cap.max_pods_total


# --------------------------------------------------------------------------- kubenet / service CIDR


def test_kubenet_node_pod_cidrs_in_order() -> None:
    assert [sizing.node_pod_cidr("10.244.0.0/16", i) for i in range(2)] == [
        "10.244.0.0/24", "10.244.1.0/24"]
    assert sizing.pod_cidr_node_capacity("10.244.0.0/16") == 256
    with pytest.raises(ValueError):
        sizing.node_pod_cidr("10.244.0.0/16", 256)


def test_kubenet_route_limit_400() -> None:
    assert sizing.kubenet_route_status(400) == "ok"
    assert sizing.kubenet_route_status(401) == "exceeds route table limit"


def test_service_ips() -> None:
    assert sizing.dns_service_ip("10.0.0.0/16") == "10.0.0.10" == sizing.DEFAULT_DNS_SERVICE_IP
    assert sizing.kubernetes_service_ip("10.2.0.0/24") == "10.2.0.1"
    assert sizing.validate_dns_service_ip("10.2.0.0/24", "10.2.0.1")
    assert not sizing.validate_dns_service_ip("10.2.0.0/24", "10.2.0.10")
    assert sizing.validate_dns_service_ip("10.2.0.0/24", "10.3.0.10")


def test_service_cidr_must_be_smaller_than_slash12() -> None:
    assert sizing.validate_service_cidr("10.0.0.0/12")
    assert not sizing.validate_service_cidr("10.0.0.0/13")
    assert sizing.validate_service_cidr("172.30.0.0/16")  # forbidden range
    assert not sizing.validate_range("10.0.0.0/16")
    assert sizing.validate_range("169.254.1.0/24")


# --------------------------------------------------------------------------- pod subnet


@pytest.mark.parametrize(("max_pods", "blocks", "pod_ips", "wasted"), [
    (30, 2, 31, 1),   # concepts-network-azure-cni-pod-subnet.md example table
    (31, 2, 31, 0),
    (32, 3, 47, 15),
])
def test_static_block_doc_table(max_pods: int, blocks: int, pod_ips: int, wasted: int) -> None:
    assert sizing.static_blocks_per_node(max_pods) == blocks
    assert sizing.static_block_pod_ips_per_node(max_pods) == pod_ips
    assert sizing.static_block_wasted_ips(max_pods) == wasted


def test_static_block_subnet_capacity_excludes_reserved_blocks() -> None:
    assert sizing.static_block_subnet_capacity(28) == 0
    assert sizing.static_block_subnet_capacity(24) == 14
    assert sizing.static_block_min_prefix_len(15) == 23


def test_dynamic_batches() -> None:
    assert sizing.DYNAMIC_BATCH_IPS == 16 and sizing.DYNAMIC_REFILL_BELOW == 8
    assert sizing.dynamic_batches_after_refill(16, 9) == 1   # 7 free < 8
    assert sizing.dynamic_batches_after_refill(16, 8) == 0   # 8 free
    assert sizing.dynamic_batches_after_refill(0, 0) == 1    # a new node asks for 16
    assert sizing.dynamic_pod_ips_per_node(110) == 112
    assert sizing.dynamic_pod_ips_per_node(16) == 16


# --------------------------------------------------------------------------- max pods


def test_default_max_pods_model_and_revisions() -> None:
    assert dict(sizing.DEFAULT_MAX_PODS) == {
        "overlay": 250, "dynamic": 110, "static-block": 110, "node-subnet": 30, "kubenet": 110}
    assert sizing.default_max_pods("Azure CNI Overlay") == 250
    assert sizing.default_max_pods("dynamic", revision=REVISIONS["dynamic-ip-allocation"]) == 250
    rev_2024 = REVISIONS["ip-address-planning-2024-05"]
    assert sizing.default_max_pods("Kubenet", revision=rev_2024) == 30
    assert sizing.default_max_pods("Azure CNI (Legacy)", revision=rev_2024) == 110


def test_max_pods_limits() -> None:
    # current concepts-network-ip-address-planning.md: every plugin, kubenet included, up to
    # 250 (issue 14); configure-kubenet.md of 2020 said 110
    assert sizing.max_pods_limits("kubenet") == (10, 250)
    assert sizing.max_pods_limits("kubenet",
                                  revision=REVISIONS["configure-kubenet-2020"]) == (10, 110)
    assert sizing.max_pods_limits("azure-cni-overlay") == (10, 250)


@pytest.mark.parametrize(("max_pods", "mode", "pool", "ok"), [
    (110, "kubenet", None, True),
    (250, "kubenet", None, True),
    (251, "kubenet", None, False),
    (250, "node-subnet", None, True),
    (251, "node-subnet", None, False),
    (9, "overlay", None, False),
    (10, "overlay", 3, True),    # configure-azure-cni.md: 10 needs at least 3 nodes
    (10, "overlay", 2, False),
    (30, "overlay", 1, True),
    (30, "overlay", 0, True),    # the 30-pod rule binds only below 30 pods per node
])
def test_validate_max_pods(max_pods: int, mode: str, pool: int | None, ok: bool) -> None:
    assert (sizing.validate_max_pods(max_pods, mode, pool) == []) is ok


def test_min_nodes_per_pool() -> None:
    assert sizing.min_nodes_per_pool(10) == 3
    assert sizing.min_nodes_per_pool(30) == 1


def test_deployment_method_defaults() -> None:
    portal = sizing.max_pods_by_deployment_method("Portal")
    assert (portal.kubenet, portal.azure_cni, portal.configurable) == (110, 110, False)
    assert sizing.max_pods_by_deployment_method("azure cli").azure_cni == 30


# --------------------------------------------------------------------------- surge


@pytest.mark.parametrize(("surge", "pool", "nodes"), [
    (1, 50, 1), ("33%", 10, 4), ("33%", 3, 1), ("10%", 5, 1), ("100%", 7, 7), (0, 9, 0),
    ("2", 9, 2),
])
def test_surge_nodes(surge: int | str, pool: int, nodes: int) -> None:
    assert sizing.surge_nodes(surge, pool) == nodes


@pytest.mark.parametrize("bad", [-1, "150%", "x", "1.5", True])
def test_bad_surge(bad: int | str) -> None:
    assert sizing.surge_problems(bad)
    with pytest.raises(SizingError):
        sizing.surge_nodes(bad, 10)


# --------------------------------------------------------------------------- SNAT


@pytest.mark.parametrize(("pool", "ports"), [
    (1, 1024), (50, 1024), (51, 512), (100, 512), (101, 256), (200, 256), (201, 128),
    (400, 128), (401, 64), (800, 64), (801, 32), (1000, 32),
])
def test_snat_default_table(pool: int, ports: int) -> None:
    assert sizing.snat_ports_per_instance(pool) == ports


@pytest.mark.parametrize("pool", [0, 1001])
def test_snat_table_range(pool: int) -> None:
    with pytest.raises(ValueError):
        sizing.snat_ports_per_instance(pool)


def test_snat_multiple_frontends() -> None:
    assert sizing.snat_ports_per_instance(60, 2) == 1024    # MIN(512 x 2, 1024)
    assert sizing.snat_ports_per_instance(150, 2) == 512
    assert sizing.snat_ports_per_instance(50, 2) == 1024
    old = REVISIONS["lb-outbound-multiple-frontends-old"]
    assert sizing.snat_ports_per_instance(50, 2, revision=old) == 2048


def test_explicit_and_aks_outbound() -> None:
    assert sizing.explicit_outbound_ports_per_instance(10) == 6400
    assert sizing.outbound_max_nodes(1000, 7) == 448
    check = sizing.outbound_ports_check(100, 4000, 7)
    assert (check.total_ports_available, check.total_ports_needed, check.fits) == (
        448_000, 400_000, True)
    assert sizing.aks_outbound_ports_per_node(0, 48) == 1024
    assert sizing.aks_outbound_ports_per_node(0, 52) == 512
    with pytest.raises(SizingError):
        sizing.outbound_max_nodes(1001, 7)   # not a multiple of 8


# --------------------------------------------------------------------------- plan


def test_plan_kubenet_400_nodes_binds_routes_and_warns() -> None:
    p = sizing.plan("kubenet", None, None, nodes=400, max_pods=110)
    names = {b.name: b for b in p.binding_limits}
    routes = next(b for n, b in names.items() if "UDR routes" in n)
    assert (routes.limit, routes.value, routes.status) == (400, 401, "exceeded")
    assert any("31 Mar 2028" in w for w in p.warnings)
    assert p.required_ips == 401 and p.pod_cidr_min_prefix_len == 15


def test_plan_overlay_defaults_and_pod_cidr() -> None:
    p = sizing.plan("azure", "overlay", None, nodes=10, max_surge="33%")
    assert (p.max_pods, p.max_pods_defaulted, p.surge_nodes, p.required_ips) == (250, True, 4, 14)
    assert p.pod_cidr_min_prefix_len == 20      # 14 /24s fit a /20
    assert p.pod_subnet_required_ips is None


def test_plan_overlay_5000_nodes_at_cluster_limit() -> None:
    p = sizing.plan("azure", "overlay", None, nodes=5000, max_pods=30)
    limit = next(b for b in p.binding_limits if b.name == "nodes per cluster")
    assert (limit.limit, limit.status) == (5000, "at limit")


def test_plan_dynamic_and_static_block() -> None:
    dyn = sizing.plan("azure", None, "dynamic", nodes=10, max_pods=110)
    assert (dyn.required_ips, dyn.pod_subnet_required_ips, dyn.pod_subnet_floor_ips) == (
        11, 11 * 112, 11 * 16)
    static = sizing.plan("azure", None, "static-block", nodes=10, max_pods=30)
    assert (static.static_blocks_per_node, static.static_wasted_ips_per_node) == (2, 1)
    assert static.pod_subnet_required_ips == 11 * 2 * 16


def test_plan_to_dict_is_json() -> None:
    d = sizing.plan("kubenet", None, None, nodes=3, max_pods=110).to_dict()
    assert json.loads(json.dumps(d))["required_ips"] == 4
    assert {"required_ips", "min_prefix_len", "binding_limits", "warnings"} <= set(d)


@pytest.mark.parametrize(("args", "field"), [
    (("kubenet", "overlay", None, 3, 30), "network_plugin_mode"),
    (("kubenet", None, "dynamic", 3, 30), "pod_ip_allocation"),
    (("azure", "overlay", "static-block", 3, 30), "pod_ip_allocation"),
    (("calico", None, None, 3, 30), "network_plugin"),
    (("azure", None, None, -1, 30), "nodes"),
    (("azure", None, None, 3, 300), "max_pods"),
    (("kubenet", None, None, 3, 251), "max_pods"),
])
def test_plan_bad_input(args: tuple, field: str) -> None:
    with pytest.raises(SizingError) as info:
        sizing.plan(*args)
    assert field in [p.field for p in info.value.problems]


def test_plan_max_count_below_nodes() -> None:
    with pytest.raises(SizingError, match="max_count"):
        sizing.plan("azure", None, None, nodes=5, max_pods=30, max_count=4)


# --------------------------------------------------------------------------- properties


@given(st.integers(min_value=1, max_value=2**30 - 5))
def test_min_prefix_len_is_the_longest_that_fits(required: int) -> None:
    p = sizing.min_prefix_len(required)
    assert usable_addresses(p) >= required
    assert p == sizing.SUBNET_SMALLEST_PREFIX_LEN or usable_addresses(p + 1) < required


@given(nodes=st.integers(0, 1200), pods=st.integers(30, 250), surge=st.integers(0, 50),
       plugin=st.sampled_from([("azure", None, None), ("azure", None, "dynamic"),
                               ("azure", "overlay", None), ("azure", None, "static-block")]))
def test_plan_required_ips_fit_min_prefix_and_not_one_longer(
    nodes: int, pods: int, surge: int, plugin: tuple[str, str | None, str | None]
) -> None:
    p = sizing.plan(*plugin, nodes=nodes, max_pods=pods, max_surge=surge)
    assert p.min_prefix_len is not None
    assert usable_addresses(p.min_prefix_len) >= p.required_ips
    assert p.min_prefix_len == 29 or usable_addresses(p.min_prefix_len + 1) < p.required_ips


@given(st.integers(1, 250))
def test_static_blocks_are_the_fewest_that_hold_max_pods_plus_one(max_pods: int) -> None:
    blocks = sizing.static_blocks_per_node(max_pods)
    assert 16 * blocks - 1 >= max_pods > 16 * (blocks - 1) - 1


@given(st.integers(1, 2**20))
def test_pod_cidr_min_prefix_holds_one_slash24_per_node(nodes: int) -> None:
    p = sizing.pod_cidr_min_prefix_len(nodes)
    assert 2 ** (24 - p) >= nodes
    assert p == 24 or 2 ** (24 - p - 1) < nodes


@given(st.integers(1, 10**6))
def test_static_block_min_prefix_is_the_longest_that_fits(blocks: int) -> None:
    p = sizing.static_block_min_prefix_len(blocks)
    assert sizing.static_block_subnet_capacity(p) >= blocks
    assert sizing.static_block_subnet_capacity(p + 1) < blocks


@given(st.integers(0, 100), st.integers(0, 5000))
def test_percentage_surge_rounds_up(percent: int, pool: int) -> None:
    n = sizing.surge_nodes(f"{percent}%", pool)
    assert n == math.ceil(percent * pool / 100)
    assert n * 100 >= percent * pool > (n - 1) * 100 or n == 0


@given(st.integers(1, 999))
def test_snat_ports_never_grow_with_the_pool(pool: int) -> None:
    assert sizing.snat_ports_per_instance(pool + 1) <= sizing.snat_ports_per_instance(pool)
