"""Faults on the network between nodes: added latency, packet loss, partitions.

A request crosses from one node to another where kube-proxy sends it to a pod on another
node (the load balancer's node -> the pod's node), where an ingress controller pod proxies to
a backend pod, where a pod calls a Service or a CoreDNS pod. Each active fault says which
node pairs it affects (zones, node pools) and what a connection between them sees:

- ``latency``: every packet is later; a request and its answer cross once each way, so the
  request takes ``latency`` (the added round trip) longer;
- ``loss``: the request's first packet is lost with this probability, and so is each
  retransmission. A new connection's SYN is sent again after Linux's initial retransmission
  timeout, 1 s, doubling at each loss (1, 2, 4 ... s; RFC 6298, ``TCP_TIMEOUT_INIT``), and
  connect() fails after ``tcp_syn_retries`` (6) retransmissions: k losses in a row add
  2^k - 1 s. On a kept-alive connection the request is retransmitted after the minimum RTO,
  200 ms (``TCP_RTO_MIN``; the RTT here is far below it), doubling likewise. A client whose
  timeout passes first times out. Later packets (the answer) are taken to get through;
- ``partition``: nothing crosses: the SYN is never answered and the client times out.

Nothing here runs unless a fault is active: the traffic path checks ``Links.active`` (an
empty list) before calling in, so the hot path costs one truth test when there is none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.objects import Node

SYN_RETRIES = 6
"""Linux ``net.ipv4.tcp_syn_retries``: retransmissions of a SYN before connect() fails."""
SYN_RTO = 1.0
"""Linux ``TCP_TIMEOUT_INIT``: the first retransmission timeout of a SYN (RFC 6298)."""
RTO_MIN = 0.2
"""Linux ``TCP_RTO_MIN``: the smallest retransmission timeout of an established connection."""


@dataclass
class Link:
    """One fault on the paths between some pairs of nodes."""

    crosses: Callable[[Node, Node], bool]
    """Whether a connection from the first node to the second is affected."""
    latency: float = 0.0
    """Added round-trip time, seconds."""
    loss: float = 0.0
    """Probability that a packet is lost."""
    partition: bool = False


class Links:
    """The link faults in effect, and what a batch of requests sees crossing them."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.active: list[Link] = []
        self._rng = rng

    def effect(self, src: Node, dst: Node) -> tuple[bool, float, float]:
        """(partitioned, added round trip, loss probability) from *src* to *dst*."""
        cut, rtt, kept = False, 0.0, 1.0
        if src is dst:
            return cut, rtt, 0.0
        for link in self.active:
            if link.crosses(src, dst):
                cut = cut or link.partition
                rtt += link.latency
                kept *= 1.0 - link.loss
        return cut, rtt, 1.0 - kept

    def partitioned(self, sources: list[Node | None], dst: Node) -> np.ndarray | None:
        """Which requests from nodes *sources* to *dst* a partition stops (None: none). Used
        for DNS over UDP, where latency and loss are left out (a lost query is resent only
        after the resolver's 5 s timeout)."""
        seen: dict[int, bool] = {}

        def cut_from(src: Node | None) -> bool:
            if src is None:
                return False
            hit = seen.get(id(src))
            if hit is None:
                hit = seen[id(src)] = self.effect(src, dst)[0]
            return hit

        cut = np.fromiter((cut_from(src) for src in sources), bool, len(sources))
        return cut if cut.any() else None

    def cross(self, sources: list[Node | None], dst: Node, timeout: float, new: bool = True
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """What requests from nodes *sources* (one per request) to *dst* see: a mask of those
        that never connect before the client's *timeout* (partitioned, or too many SYNs
        lost), the delay each adds on its way in (half the round trip plus SYN
        retransmissions: of the SYN for *new* connections, else of the request on a kept-alive
        one) and on its way back (the other half). None when no request of the batch crosses
        an active fault."""
        n = len(sources)
        effects: dict[int, tuple[bool, float, float]] = {}
        per_row = []
        hit = False
        for src in sources:
            if src is None:
                per_row.append((False, 0.0, 0.0))
                continue
            e = effects.get(id(src))
            if e is None:
                e = effects[id(src)] = self.effect(src, dst)
            hit = hit or e != (False, 0.0, 0.0)
            per_row.append(e)
        if not hit:
            return None
        cut = np.fromiter((e[0] for e in per_row), bool, n)
        half = np.fromiter((e[1] / 2 for e in per_row), float, n)
        loss = np.fromiter((e[2] for e in per_row), float, n)
        inbound = half.copy()
        cut |= loss >= 1.0
        lossy = np.flatnonzero((loss > 0) & (loss < 1.0))
        if lossy.size:
            # losses before the first SYN that gets through (numpy's geometric counts trials)
            k = self._rng.geometric(1.0 - loss[lossy]) - 1
            if new:
                cut[lossy[k > SYN_RETRIES]] = True
            k = np.minimum(k, 30)  # (past any timeout either way)
            rto = SYN_RTO if new else RTO_MIN
            inbound[lossy] += rto * (np.exp2(k) - 1.0)
            cut |= inbound >= timeout  # the client gave up before a SYN got through
        return cut, inbound, half
