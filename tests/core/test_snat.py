"""Outbound SNAT ports against load-balancer-outbound-connections.md (AKS-NETWORKING.md 3)."""

from __future__ import annotations

import numpy as np

from sim.traffic.snat import FIN_HOLD, RST_HOLD, SnatTable


def test_default_allocation_follows_the_backend_pool_table() -> None:
    """1-50 nodes: 1,024 ports each; 51-100: 512; 101-200: 256 (preallocated ports table)."""
    table = SnatTable(outbound_ips=1, allocated=0)
    assert [table.resize(n) for n in (1, 50, 51, 100, 101, 200, 201)] == [
        1024, 1024, 512, 512, 256, 256, 128]


def test_allocated_outbound_ports_overrides_the_table() -> None:
    """allocatedOutboundPorts fixes the ports per node whatever the pool size."""
    table = SnatTable(outbound_ips=2, allocated=4000)
    assert table.resize(5) == 4000 and table.resize(90) == 4000


def test_a_port_is_held_240_s_after_fin_then_reused() -> None:
    """A closed connection keeps its port 240 s (15 s after a RST)."""
    assert FIN_HOLD == 240 and RST_HOLD == 15
    table = SnatTable(1, 8)
    table.resize(10)
    ends = np.full(8, 1.0)
    assert table.take("n1", "1.2.3.4:443", 0.0, ends + FIN_HOLD, ends).all()
    # all 8 ports held: the 9th connection fails until 241 s
    assert not table.take("n1", "1.2.3.4:443", 100.0, np.array([342.0]), np.array([102.0])).any()
    assert table.take("n1", "1.2.3.4:443", 241.0, np.array([482.0]), np.array([242.0])).all()


def test_ports_are_per_destination() -> None:
    """A SNAT port is taken per destination IP:port: another destination has its own ports."""
    table = SnatTable(1, 8)
    table.resize(1)
    ends = np.full(8, 1.0)
    assert table.take("n1", "1.2.3.4:443", 0.0, ends + 240, ends).all()
    assert table.take("n1", "5.6.7.8:443", 0.0, ends + 240, ends).all()


def test_reclaim_takes_idle_ports_first_then_cuts_open_connections() -> None:
    """Crossing 50 -> 51 nodes halves the ports; flows on reclaimed ports are cut."""
    table = SnatTable(1, 0)
    table.resize(50)  # 1,024 ports
    # 900 connections: 300 still open until t=100, 600 closed (ports idle in their hold)
    ends = np.concatenate((np.full(300, 100.0), np.full(600, 5.0)))
    assert table.take("n1", "d", 1.0, ends + 240, ends).all()
    table.resize(51)  # 512 ports
    cut = table.reclaim(10.0)
    # 900 - 512 = 388 ports back: the 600 idle ones suffice, no open connection is cut
    assert cut == []
    table2 = SnatTable(1, 0)
    table2.resize(50)
    ends = np.full(900, 100.0)  # all open
    table2.take("n1", "d", 1.0, ends + 240, ends)
    table2.resize(51)
    [(node, dest, lost)] = table2.reclaim(10.0)
    assert (node, dest, len(lost)) == ("n1", "d", 900 - 512)


# --- keep-alive connections: a port per open connection until it idles out ----------------

DEST = "20.30.40.50:443"


def _pools(ports: int = 1024, idle: float = 240.0):  # noqa: ANN202
    from sim.traffic.snat import KeepAlivePools

    table = SnatTable(1, ports)
    table.resize(1)
    return table, KeepAlivePools(table, idle)


def test_keepalive_requests_one_after_another_share_one_port() -> None:
    """A keep-alive client reuses its open connection: 100 requests a second apart, 100 ms
    each, hold one port (a connection per request would hold 100 for 240 s after their FIN)."""
    table, pools = _pools()
    assert all(pools.use("web-1", "n1", DEST, t, t + 0.1) for t in range(100))
    assert table.in_use("n1", DEST, 100.0) == 1 and pools.connections("web-1", DEST) == 1


def test_overlapping_requests_open_more_connections() -> None:
    """Three requests in flight at once need three connections, hence three ports."""
    table, pools = _pools()
    assert all(pools.use("web-1", "n1", DEST, t, 10.0) for t in (0.0, 0.1, 0.2))
    assert table.in_use("n1", DEST, 1.0) == 3
    assert pools.use("web-1", "n1", DEST, 11.0, 11.5)     # one is free again: reused
    assert table.in_use("n1", DEST, 11.0) == 3


def test_idle_connection_is_closed_after_the_idle_timeout_and_frees_its_port() -> None:
    """The outbound rule's idle timeout closes a connection idle that long (TCP reset on idle):
    its port is free from then on; a later request opens a new connection."""
    table, pools = _pools(idle=240.0)
    pools.use("web-1", "n1", DEST, 0.0, 1.0)
    pools.sweep(240.9)
    assert table.in_use("n1", DEST, 240.9) == 1            # idle 239.9 s: still open
    pools.sweep(241.0)
    assert table.in_use("n1", DEST, 241.0) == 0 and pools.connections("web-1", DEST) == 0
    assert pools.use("web-1", "n1", DEST, 300.0, 301.0)
    assert table.in_use("n1", DEST, 300.0) == 1


def test_keepalive_connections_fail_when_the_node_has_no_port_left() -> None:
    """A new connection needs a port: with 2 ports, a third concurrent request fails."""
    table, pools = _pools(ports=8)
    table.per_node = 2
    assert pools.use("web-1", "n1", DEST, 0.0, 5.0)
    assert pools.use("web-2", "n1", DEST, 0.0, 5.0)        # another pod on the same node
    assert not pools.use("web-1", "n1", DEST, 1.0, 5.0)
    assert pools.use("web-1", "n1", DEST, 6.0, 7.0)         # its own connection is free again


def test_keepalive_flow_holds_few_ports_where_new_connections_exhaust_them() -> None:
    """20 calls a second for 10 minutes from one pod: a connection each holds 20 x 240 s of
    ports, more than the 1,024 a node has (snat_exhausted); keep-alive holds a few."""
    from simkit import make_sim

    text = """
duration: 10m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {{name: system, mode: System, count: 1}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web}}
    spec:
      replicas: 1
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec: {{containers: [{{name: web, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}
traffic:
  flows:
    - name: out
      from: pods
      client: web
      external: {{address: 20.30.40.50, port: 443}}
      connection: {connection}
      rate: {{profile: constant, rps: 20}}
"""
    runs = {}
    for connection in ("new", "keepalive"):
        sim, _ = make_sim(text.format(connection=connection))
        figures = sim.run().figures
        runs[connection] = (figures.get("flow.out.cause.snat_exhausted", 0),
                            sim.model.traffic.snat.peak_in_use)
    assert runs["new"][0] > 0 and runs["new"][1] == 1024
    assert runs["keepalive"][0] == 0 and runs["keepalive"][1] < 20
