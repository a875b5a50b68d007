"""Outbound SNAT ports against load-balancer-outbound-connections.md (AKS-NETWORKING.md 3)."""

from __future__ import annotations

import numpy as np

from sim.snat import FIN_HOLD, RST_HOLD, SnatTable


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
