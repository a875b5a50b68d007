"""IP address management against AKS-NETWORKING.md section 1 (each test names its source)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import cluster_yaml, deployment, make_sim

from sim.azure.vnet import AddressPool, BlockPool, Subnet, ip_str
from sim.objects import find_node

# --- pools: properties ---------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(prefix=st.integers(22, 29), ops=st.lists(st.tuples(st.booleans(), st.integers(1, 40)),
                                                  max_size=40))
def test_subnet_never_hands_out_an_address_twice_or_a_reserved_one(prefix: int, ops) -> None:
    """Azure keeps .0 .1 .2 .3 and the broadcast address (virtual-networks-faq)."""
    net = ipaddress.IPv4Network(f"10.1.0.0/{prefix}")
    subnet = Subnet("s", net)
    reserved = {int(net.network_address) + i for i in range(4)} | {int(net.broadcast_address)}
    held: list[list[int]] = []
    for take, n in ops:
        if take:
            got = subnet.allocate(n, "node")
            if got is None:
                assert n > subnet.usable - sum(map(len, held))
                continue
            held.append(got)
        elif held:
            subnet.release(held.pop(0), "node")
        flat = [a for h in held for a in h]
        assert len(flat) == len(set(flat))
        assert not reserved & set(flat)
        assert all(a in net for a in map(ipaddress.IPv4Address, flat))
        assert subnet.used == len(flat)


@given(st.integers(1, 50))
def test_release_then_allocate_round_trips(n: int) -> None:
    """Released addresses come back, lowest first, so allocation stays compact."""
    pool = AddressPool(100, 199)
    first = pool.allocate(n)
    assert first is not None
    pool.release(first)
    assert pool.allocate(n) == first


def test_slash_24_has_251_usable_addresses_from_dot_4_to_dot_254() -> None:
    """192.168.1.0/24: first assignable .4, last .254, 251 usable (virtual-networks-faq)."""
    s = Subnet("s", ipaddress.IPv4Network("192.168.1.0/24"))
    got = s.allocate(251, "node")
    assert got is not None
    assert ip_str(got[0]) == "192.168.1.4" and ip_str(got[-1]) == "192.168.1.254"
    assert s.allocate(1, "node") is None


def test_block_pool_hands_out_node_24s_in_order() -> None:
    """kubenet: 10.244.0.0/24, 10.244.1.0/24, ... from --pod-cidr (configure-kubenet.md)."""
    pool = BlockPool(ipaddress.IPv4Network("10.244.0.0/16"), 24)
    got = pool.allocate(3)
    assert got is not None
    assert [ip_str(b) for b in got] == ["10.244.0.0", "10.244.1.0", "10.244.2.0"]
    assert pool.count == 256


# --- the model: each plugin mode ----------------------------------------------------------------

def _nodes(run_events: list, reason: str) -> int:
    return sum(1 for e in run_events if e.event.reason == reason)


def test_azure_cni_slash_24_holds_8_nodes_at_30_pods() -> None:
    """Azure CNI: a /24 supports 8 nodes at maxPods 30 (configure-kubenet.md); each node
    reserves 1 + maxPods addresses when it is created."""
    sim, events = make_sim(cluster_yaml(subnet="10.10.1.0/24", count=9, max_pods=30))
    sim.advance_to(1)
    subnet = sim.model.subnets["nodes"]
    ready = sum(1 for p in sim.model.pools.values() for n in p.nodes.values() if n.state == "Ready")
    assert ready == 8
    assert subnet.used == 8 * 31
    # one VMSS operation, one error: the pool's creation stops at its first failing node
    full = [e.event for e in events if e.event.reason == "SubnetIsFull"]
    assert len(full) == 1 and full[0].requested == 31 and full[0].available == 251 - 248


def test_kubenet_slash_24_holds_251_nodes() -> None:
    """kubenet: a /24 supports up to 251 nodes (configure-kubenet.md); pods use the pod CIDR."""
    text = cluster_yaml(plugin="kubenet", subnet="10.10.1.0/24", count=254, max_pods=110)
    text = text.replace("cluster:\n", "cluster:\n  podCidr: 10.244.0.0/14\n")
    sim, events = make_sim(text)
    sim.advance_to(1)
    assert sim.model.subnets["nodes"].used == 251
    assert _nodes(events, "NodeReady") == 251
    assert _nodes(events, "SubnetIsFull") == 1  # the pool's creation stops at node 252


def test_kubenet_pod_cidr_slash_16_holds_256_nodes() -> None:
    """A /16 pod CIDR has 256 node /24s; the 257th node gets CIDRNotAvailable, stays NotReady."""
    text = cluster_yaml(plugin="kubenet", subnet="10.10.0.0/22", count=256, max_pods=110)
    sim, events = make_sim(text)
    sim.advance_to(1)
    assert _nodes(events, "CIDRNotAvailable") == 1
    assert _nodes(events, "NodeReady") == 256


def test_kubenet_route_table_stops_at_400_routes() -> None:
    """One UDR route per node, 400 routes at most (configure-kubenet.md): node 401 has no route,
    and the scheduler keeps pods off it (network-unavailable taint)."""
    text = cluster_yaml(plugin="kubenet", subnet="10.10.0.0/22", count=400, max_pods=110)
    text = text.replace("cluster:\n", "cluster:\n  podCidr: 10.244.0.0/14\n")
    text += "workloads:" + deployment(replicas=420 * 6, cpu="500m", memory="128Mi")
    sim, events = make_sim(text)
    sim.advance_to(120)
    assert sim.model.ipam.routes == 400
    failed = [e.event for e in events if e.event.reason == "FailedToCreateRoute"]
    assert len(failed) == 1 and failed[0].limit == 400
    orphan = find_node(sim.model.pools, failed[0].node)
    assert orphan is not None and not orphan.pods


def test_overlay_pods_use_the_pod_cidr_not_the_vnet() -> None:
    """Overlay: a /24 per node from podCidr; only nodes take VNet addresses
    (concepts-network-azure-cni-overlay.md)."""
    text = cluster_yaml(overlay=True, subnet="10.10.1.0/24", count=2, max_pods=250)
    text += "workloads:" + deployment(replicas=20, cpu="10m", memory="16Mi")
    sim, _ = make_sim(text)
    sim.advance_to(60)
    assert sim.model.subnets["nodes"].used == 3
    pod_cidr = ipaddress.IPv4Network("10.244.0.0/16")
    ips = [p.ip for d in sim.model.workloads.deployments.values() for p in d.pods.values()]
    assert len(ips) == 20 and all(ipaddress.IPv4Address(ip) in pod_cidr for ip in ips)
    node_ranges = {ip_str(n.net.pod_range) for p in sim.model.pools.values() for n in p.nodes.values()}
    assert node_ranges == {"10.244.0.0", "10.244.1.0", "10.244.2.0"}


POD_SUBNET = """
duration: 30m
cluster:
  networkPlugin: azure
  vnet:
    managed: false
    addressSpace: [10.10.0.0/16]
    subnets:
      - {name: nodes, addressPrefix: 10.10.0.0/24}
      - {name: pods, addressPrefix: 10.10.16.0/20}
  nodePools:
    - {name: system, mode: System, count: 1, maxPods: 30}
    - name: user
      count: 1
      maxPods: 40
      podSubnet: pods
      podIPAllocationMode: MODE
"""


def test_dynamic_pod_subnet_allocates_in_batches_of_16() -> None:
    """Dynamic: 16 at start, another 16 whenever fewer than 8 are free
    (configure-azure-cni-dynamic-ip-allocation.md)."""
    text = POD_SUBNET.replace("MODE", "DynamicIndividual").replace(
        "    - {name: system, mode: System, count: 1, maxPods: 30}\n",
        "    - {name: system, mode: System, count: 1, maxPods: 30, podSubnet: pods}\n")
    text += "workloads:" + deployment(replicas=9, cpu="10m", memory="16Mi")
    sim, _ = make_sim(text)
    sim.advance_to(60)
    held = {p.name: [len(n.net.pod_ips_held) for n in p.nodes.values()]
            for p in sim.model.pools.values()}
    assert held["system"] == [16]  # no pods: the start-up batch only
    # 9 pods on the user node: the 9th leaves 7 < 8 free, so a second batch arrives
    assert held["user"] == [32]
    assert sim.model.subnets["pods"].used == 48


def test_static_block_reserves_ceil_of_max_pods_plus_one_over_16_blocks() -> None:
    """Static block: /28 blocks, one address per node reserved, so 40 pods take 3 blocks
    (concepts-network-azure-cni-pod-subnet.md: 30 pods -> 2 blocks, 32 -> 3)."""
    sim, _ = make_sim(POD_SUBNET.replace("MODE", "StaticBlock"))
    sim.advance_to(1)
    assert sim.model.subnets["pods"].used == 3 * 16
    node = next(iter(sim.model.pools["user"].nodes.values()))
    assert len(node.net.blocks) == 3
    assert all(b % 16 == 0 for b in node.net.blocks)


def test_internal_load_balancer_takes_a_node_subnet_address() -> None:
    """Internal LB frontend IPs also come from the cluster subnet (ip-address-planning.md)."""
    svc = """
  - apiVersion: v1
    kind: Service
    metadata:
      name: api
      annotations: {service.beta.kubernetes.io/azure-load-balancer-internal: "true"}
    spec: {type: LoadBalancer, ports: [{port: 80}]}
"""
    sim, _ = make_sim(cluster_yaml(subnet="10.10.1.0/24", count=2) + "workloads:" + svc)
    sim.advance_to(1)
    assert sim.model.subnets["nodes"].held_by["ilb"] == 1
    assert sim.model.subnets["nodes"].used == 3 * 31 + 1


def test_cluster_ips_skip_kubernetes_default_and_the_dns_service_ip() -> None:
    """The first service address is kubernetes.default; .10 is kube-dns (configure-kubenet.md)."""
    svcs = "".join(f"""
  - apiVersion: v1
    kind: Service
    metadata: {{name: s{i}}}
    spec: {{ports: [{{port: 80}}]}}
""" for i in range(12))
    sim, _ = make_sim(cluster_yaml() + "workloads:" + svcs)
    sim.advance_to(1)
    ips = sorted(sim.model.service_ctl.cluster_ip_of.values())
    assert ip_str(ips[0]) == "10.0.0.2"
    assert "10.0.0.1" not in map(ip_str, ips) and "10.0.0.10" not in map(ip_str, ips)
    assert len(set(ips)) == 12


def test_kubenet_range_and_route_failures_come_when_the_node_registers() -> None:
    """The node IPAM controller gives a Node its podCIDR when the Node object is created, and
    the route controller adds its route after that (kube-controller-manager
    --allocate-node-cidrs, cloud route controller; configure-kubenet.md): with one route left
    in the 400-route table and 3 VMs added, the first VM to register gets it and the other two
    fail, each when it registers (2-5 min after the scale), not when the scale starts nor by
    VMSS index."""
    text = cluster_yaml(plugin="kubenet", subnet="10.10.0.0/22", count=398, max_pods=110,
                        duration="30m")
    text = text.replace("cluster:\n", "cluster:\n  podCidr: 10.244.0.0/14\n")
    text += """
operations:
  - {at: 1m, operation: scale, nodePool: user, count: 401}
"""
    for seed in (1, 2, 3):
        sim, events = make_sim(text, seed=seed)
        sim.run()
        registered = sorted((e.sim_time, e.event.node) for e in events
                            if e.event.reason == "RegisteredNode" and e.sim_time > 0)
        assert len(registered) == 3
        failed = sorted((e.sim_time, e.event.node) for e in events
                        if e.event.reason == "FailedToCreateRoute")
        assert failed == registered[1:], seed
        assert all(t >= 60 + 120 for t, _ in failed)
