"""Outbound SNAT on the Azure load balancer: ports per node, their use, and exhaustion.

Facts (AKS-NETWORKING.md section 3, load-balancer-outbound-connections.md,
configure-load-balancer-standard.md):
- with ``allocatedOutboundPorts: 0`` (the AKS default) each node gets ports by backend-pool
  size: 1,024 up to 50 nodes, 512 up to 100, 256 up to 200, 128 up to 400, 64 up to 800, 32
  up to 1,000 (times the outbound IPs, at most 1,024: ``sim.sizing.snat_ports_per_instance``);
  crossing into a larger tier reclaims ports, and the flows on them are cut;
- a TCP connection takes a port per distinct destination IP:port and keeps it until it closes,
  plus 240 s after a FIN (15 s after a RST); when a node has no free port for a destination,
  new connections there fail (their SYNs go unanswered).

- a keep-alive connection holds its port as long as it is open: a client reuses an idle
  connection of its pool for the next request, and the load balancer closes one that stays
  idle for the outbound rule's idle timeout (``idleTimeoutInMinutes``, 30 in AKS; TCP reset on
  idle), which frees its port (:class:`KeepAlivePools`).

One table per node and destination, with a queue of (release time, ports): per tick the
expired ports are freed and new connections take what is left, in arrival order. Ports freed
inside a tick become usable from the next one (a tick-length approximation).
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from sim import sizing

FIN_HOLD = float(sizing.SNAT_RELEASE_AFTER_FINACK_S)
RST_HOLD = float(sizing.SNAT_RELEASE_AFTER_TCP_RST_S)


@dataclass
class PortWindow:
    """Ports one node holds for one destination, by when they are released."""

    releases: deque[tuple[float, int]] = field(default_factory=deque)
    in_use: int = 0
    live: list[float] = field(default_factory=list)
    """When each connection still open on a port ends (sorted lazily)."""
    held: int = 0
    """Ports of open keep-alive connections (released when the connection closes)."""

    def expire(self, now: float) -> None:
        """Free every port released at or before *now*; forget connections that ended."""
        rel = self.releases
        while rel and rel[0][0] <= now:
            self.in_use -= rel.popleft()[1]
        if self.live and min(self.live) <= now:
            self.live = [t for t in self.live if t > now]


class SnatTable:
    """The SNAT ports of every node of the cluster's outbound load balancer."""

    def __init__(self, outbound_ips: int, allocated: int) -> None:
        self.outbound_ips = outbound_ips
        self.allocated = allocated
        """``allocatedOutboundPorts``: 0 means the default table."""
        self.per_node = 0
        self.pool_size = 0
        self.windows: dict[tuple[str, str], PortWindow] = {}
        self.peak_in_use = 0
        self.peak_by_node: dict[str, int] = {}
        """The most ports each node held for one destination (nodes that made calls)."""
        self.exhausted_nodes: set[str] = set()

    def resize(self, pool_size: int) -> int:
        """The backend pool has *pool_size* nodes: ports per node now (0 when none)."""
        self.pool_size = pool_size
        if pool_size <= 0:
            self.per_node = 0
        elif self.allocated:
            self.per_node = self.allocated
        else:
            self.per_node = sizing.snat_ports_per_instance(min(pool_size, 1000), self.outbound_ips)
        return self.per_node

    def take(self, node: str, dest: str, now: float, release: np.ndarray,
             ends: np.ndarray) -> np.ndarray:
        """New connections from *node* to *dest* (in arrival order) that get a port; each
        connection is open until *ends* and its port held until *release*."""
        window = self.windows.get((node, dest))
        if window is None:
            window = self.windows[(node, dest)] = PortWindow()
        window.expire(now)
        free = max(0, self.per_node - window.in_use)
        ok = np.zeros(release.size, bool)
        ok[:free] = True
        granted = release[:free]
        if granted.size:
            order = np.sort(granted)
            # group releases by tick-ish instants to keep the queue short
            for t in np.unique(np.ceil(order)).tolist():
                count = int(np.count_nonzero(np.ceil(order) == t))
                self._push(window, float(t), count)
            window.in_use += int(granted.size)
            window.live.extend(ends[:free].tolist())
            self.peak_in_use = max(self.peak_in_use, window.in_use)
            if window.in_use > self.peak_by_node.get(node, 0):
                self.peak_by_node[node] = window.in_use
        if free < release.size:
            self.exhausted_nodes.add(node)
        return ok

    def hold(self, node: str, dest: str, now: float) -> bool:
        """A keep-alive connection from *node* to *dest* opens at *now*: it takes a port until
        :meth:`free` says when it closed. False (and no port) when the node has none left."""
        window = self.windows.get((node, dest))
        if window is None:
            window = self.windows[(node, dest)] = PortWindow()
        window.expire(now)
        if window.in_use >= self.per_node:
            self.exhausted_nodes.add(node)
            return False
        window.in_use += 1
        window.held += 1
        self.peak_in_use = max(self.peak_in_use, window.in_use)
        if window.in_use > self.peak_by_node.get(node, 0):
            self.peak_by_node[node] = window.in_use
        return True

    def free(self, node: str, dest: str, at: float) -> None:
        """A keep-alive connection from *node* to *dest* closed at *at*: its port is free then."""
        window = self.windows[(node, dest)]
        window.held -= 1
        self._push(window, at, 1)

    def in_use(self, node: str, dest: str, now: float) -> int:
        """Ports *node* holds for *dest* at *now*."""
        window = self.windows.get((node, dest))
        if window is None:
            return 0
        window.expire(now)
        return window.in_use

    @staticmethod
    def _push(window: PortWindow, t: float, count: int) -> None:
        rel = window.releases
        if rel and rel[-1][0] == t:
            rel[-1] = (t, rel[-1][1] + count)
        elif rel and rel[-1][0] > t:
            items = sorted([*rel, (t, count)])
            rel.clear()
            rel.extend(items)
        else:
            rel.append((t, count))

    def reclaim(self, now: float) -> list[tuple[str, str, list[float]]]:
        """After a resize: ports above the new allocation are taken back. Idle ports (in their
        hold after a FIN) go first; beyond those, open connections are cut. Returns, per
        (node, destination), when each cut connection would have ended."""
        cut: list[tuple[str, str, list[float]]] = []
        for (node, dest), window in self.windows.items():
            window.expire(now)
            excess = window.in_use - self.per_node
            if excess <= 0:
                continue
            idle = window.in_use - len(window.live) - window.held
            lost = sorted(window.live)[-(excess - idle):] if excess > idle else []
            if lost:
                keep = sorted(window.live)[: len(window.live) - len(lost)]
                window.live = keep
                cut.append((node, dest, lost))
            while excess > 0 and window.releases:  # the latest-held ports go first
                t, n = window.releases.pop()
                drop = min(n, excess)
                if n > drop:
                    window.releases.append((t, n - drop))
                window.in_use -= drop
                excess -= drop
        return cut


class KeepAlivePools:
    """Each client pod's keep-alive connections to each destination, over a :class:`SnatTable`.

    A request takes the pod's connection that has been free longest (if it is not past the
    idle timeout), else opens a new connection, which needs a SNAT port. A connection idle for
    *idle_timeout* seconds is closed by the load balancer and its port freed at that instant.
    Requests come to :meth:`use` in time order per pod.
    """

    __slots__ = ("table", "idle_timeout", "_pools")

    def __init__(self, table: SnatTable, idle_timeout: float) -> None:
        self.table = table
        self.idle_timeout = idle_timeout
        self._pools: dict[tuple[str, str], tuple[str, list[float]]] = {}
        """(pod, destination) -> (its node, min-heap of when each connection is free)."""

    def connections(self, pod: str, dest: str) -> int:
        """Connections *pod* keeps open to *dest* (closed ones are dropped at the next use)."""
        pool = self._pools.get((pod, dest))
        return len(pool[1]) if pool else 0

    def sweep(self, now: float) -> None:
        """Close every connection idle for the idle timeout at *now* (frees their ports)."""
        idle = self.idle_timeout
        for (_, dest), (node, heap) in self._pools.items():
            while heap and heap[0] + idle <= now:
                self.table.free(node, dest, heapq.heappop(heap) + idle)

    def use(self, pod: str, node: str, dest: str, t: float, end: float) -> bool:
        """A request of *pod* (on *node*) to *dest* at *t*, answered at *end*: whether it had
        a connection (False: a new one was needed and the node had no SNAT port for it)."""
        pool = self._pools.get((pod, dest))
        if pool is None:
            pool = self._pools[(pod, dest)] = (node, [])
        heap = pool[1]
        idle = self.idle_timeout
        while heap and heap[0] + idle <= t:  # closed by the idle timeout meanwhile
            self.table.free(node, dest, heapq.heappop(heap) + idle)
        if heap and heap[0] <= t:
            heapq.heapreplace(heap, end)
            return True
        if not self.table.hold(node, dest, t):
            return False
        heapq.heappush(heap, end)
        return True
