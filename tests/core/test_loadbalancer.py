"""The Azure load balancer's distribution modes (distribution-mode-concepts; AKS-NETWORKING.md 3)
and how AKS sets them (cloud-provider-azure: SourceIP for sessionAffinity ClientIP)."""

from __future__ import annotations

import numpy as np
import pytest
from simkit import make_sim

from sim.traffic.loadbalancer import load_distribution, tuple_hash

CLIENTS = np.array([0x0A000001, 0xCB00710A, 0x08080808], np.uint64)


def test_five_tuple_hash_changes_with_the_source_port() -> None:
    """Default: a new connection (new source port) of the same client may land elsewhere."""
    ports = np.arange(40000, 40064, dtype=np.uint64)
    h = tuple_hash("Default", np.full(64, CLIENTS[1]), 42, "TCP", ports, 80)
    assert len(set((h % 3).tolist())) == 3


def test_two_tuple_ignores_ports_and_protocol() -> None:
    """SourceIP: the same client and frontend hash alike, whatever the ports or protocol."""
    tcp = tuple_hash("SourceIP", CLIENTS, 42, "TCP", np.array([1, 2, 3], np.uint64), 80)
    udp = tuple_hash("SourceIP", CLIENTS, 42, "UDP")
    assert tcp.tolist() == udp.tolist()
    assert tuple_hash("SourceIP", CLIENTS, 43).tolist() != tcp.tolist()  # another frontend


def test_three_tuple_adds_the_protocol() -> None:
    """SourceIPProtocol: TCP and UDP of one client may go to different backends."""
    many = np.arange(1, 257, dtype=np.uint64)
    tcp = tuple_hash("SourceIPProtocol", many, 42, "TCP")
    udp = tuple_hash("SourceIPProtocol", many, 42, "UDP")
    assert (tcp != udp).any()
    assert tcp.tolist() == tuple_hash("SourceIPProtocol", many, 42, "TCP", many, 8080).tolist()


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown load distribution"):
        tuple_hash("SourceIPPort", CLIENTS, 42)


def test_aks_maps_client_ip_affinity_to_source_ip_distribution() -> None:
    assert load_distribution("ClientIP") == "SourceIP"
    assert load_distribution("None") == "Default"


SCENARIO = """
duration: 2m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {{name: system, mode: System, count: 3, vmSize: Standard_D8s_v3}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: api}}
    spec:
      replicas: 6
      selector: {{matchLabels: {{app: api}}}}
      template:
        metadata: {{labels: {{app: api}}}}
        spec: {{containers: [{{name: api, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: api}}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Local
      selector: {{app: api}}
      ports: [{{port: 80}}]
      sessionAffinity: {affinity}
traffic:
  flows:
    - name: users
      to: {{service: api}}
      clients: 1
      rate: {{profile: constant, rps: 20}}
"""


def _nodes_reached(affinity: str) -> int:
    # externalTrafficPolicy Local: the pod that answers runs on the node the LB chose
    sim, _ = make_sim(SCENARIO.format(affinity=affinity))
    sim.run()
    flow = sim.model.traffic.flows[0]
    assert sum(flow.per_node.values()) > 2000
    return len(flow.per_node)


def test_one_client_lands_on_one_node_with_session_persistence() -> None:
    """ClientIP affinity -> SourceIP distribution: every connection of the one client goes to
    one node; with the 5-tuple hash its connections reach all three."""
    assert _nodes_reached("ClientIP") == 1
    assert _nodes_reached("None") == 3
