"""kube-proxy in IPVS mode: the schedulers it accepts, and one LVS virtual server per Service on each node.

Every node's kube-proxy programs its own IPVS table (pkg/proxy/ipvs/proxier.go), so each node
has its own scheduler state (where ``rr`` is in its list) and its own connection counts: a
connection is counted in the table of the node that scheduled it, never in another node's.
The schedulers are the LVS ones of :mod:`sim.kubeproxy.lvs` (``rr`` by default).

Connection counts, what ``lc``, ``wlc``, ``sed``, ``nq``, ``lblc`` and ``lblcr`` read: a
connection is *active* from its SYN until its response has been sent (one request per
connection), then *inactive* for ``fin_timeout`` seconds (the LVS FIN_WAIT / TIME_WAIT state,
2 minutes by default: ip_vs_proto_tcp.c), and then gone. ``lc`` weighs a server by
``active * 256 + inactive``. The caller says when each connection ends: it knows the pod's
queue. Pure and deterministic: no randomness at all here.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Sequence

from sim.kubeproxy.config import DEFAULT_FIN_TIMEOUT, DEFAULT_SCHEDULER, DEFAULT_UDP_TIMEOUT
from sim.kubeproxy.lvs import (
    DestinationHashing,
    IpvsScheduler,
    LeastConnection,
    LocalityBasedLeastConnection,
    LocalityBasedLeastConnectionReplicated,
    NeverQueue,
    RoundRobin,
    ShortestExpectedDelay,
    SourceHashing,
    WeightedLeastConnection,
    WeightedRoundRobin,
)

# --- the schedulers kube-proxy accepts, and one virtual server -------------------------------


IPVS_SCHEDULERS: dict[str, type[IpvsScheduler]] = {
    s.name: s for s in (RoundRobin, WeightedRoundRobin, LeastConnection, WeightedLeastConnection,
                        LocalityBasedLeastConnection, LocalityBasedLeastConnectionReplicated,
                        SourceHashing, DestinationHashing, ShortestExpectedDelay, NeverQueue)
}
"""Every ``--ipvs-scheduler`` kube-proxy accepts (validation.go), by name."""


def resolve_scheduler(name: str | None) -> str:
    """The scheduler kube-proxy uses for ``--ipvs-scheduler=name`` ('' means ``rr``).

    Raises:
        ValueError: for a name kube-proxy rejects, listing the valid ones.
    """
    if not name:
        return DEFAULT_SCHEDULER  # "IPVS scheduler not specified, use rr by default"
    if name not in IPVS_SCHEDULERS:
        raise ValueError(f"unknown IPVS scheduler {name!r}; expected one of "
                         f"{', '.join(IPVS_SCHEDULERS)} (or empty for {DEFAULT_SCHEDULER})")
    return name


def make_scheduler(name: str | None, weights: Sequence[int]) -> IpvsScheduler:
    """A fresh scheduler *name* over real servers of the given *weights* (kube-proxy uses 1)."""
    return IPVS_SCHEDULERS[resolve_scheduler(name)](weights)


class IpvsService:
    """One IPVS virtual server: real servers, their connection counts and the scheduler.

    The hot path is ``i = svc.pick(src)``, then ``svc.connect(i)`` and later ``svc.close(i)``.
    A change of endpoints builds a new IpvsService (as LVS re-inits the scheduler).
    """

    __slots__ = ("vip", "weights", "active", "inactive", "scheduler", "_pick")

    def __init__(self, n: int, scheduler: str | None = DEFAULT_SCHEDULER, *,
                 weights: Sequence[int] | None = None, vip: int = 0) -> None:
        self.vip = vip
        self.weights = list(weights) if weights is not None else [1] * n
        if len(self.weights) != n:
            raise ValueError(f"{n} real servers but {len(self.weights)} weights")
        self.active = [0] * n
        self.inactive = [0] * n
        self.scheduler = make_scheduler(scheduler, self.weights)
        self._pick = self.scheduler.pick

    def pick(self, src: int = 0) -> int:
        """Real server index for a new connection from *src* (an IPv4 int), or -1."""
        return self._pick(src, self.vip, self.active, self.inactive)

    def connect(self, i: int) -> None:
        """A connection to server *i* became active."""
        self.active[i] += 1

    def close(self, i: int) -> None:
        """An active connection to server *i* ended."""
        self.active[i] -= 1


def ip_to_int(ip: str) -> int:
    """Dotted IPv4 to the integer the IPVS hashes use (``ntohl``)."""
    return int(ipaddress.IPv4Address(ip))


# --- every node's IPVS tables (pkg/proxy/ipvs/proxier.go) ------------------------------------

COUNTING = frozenset({"lc", "wlc", "sed", "nq", "lblc", "lblcr"})
"""Schedulers that read connection counts (the others need no connection bookkeeping)."""


class VirtualServer:
    """One Service's IPVS virtual server on one node: real servers (by key) and their
    connections (end times of the active ones, expiry times of the inactive ones)."""

    __slots__ = ("keys", "ipvs", "_active", "_closed")

    def __init__(self, keys: Sequence[object], scheduler: str, vip: int,
                 old: VirtualServer | None = None) -> None:
        self.keys = tuple(keys)
        self.ipvs = IpvsService(len(self.keys), scheduler, vip=vip)
        self._active: list[list[float]] = [[] for _ in self.keys]
        self._closed: list[list[float]] = [[] for _ in self.keys]
        if old is not None:  # a real server that stays keeps its connections
            where = {k: i for i, k in enumerate(old.keys)}
            for i, key in enumerate(self.keys):
                j = where.get(key)
                if j is not None:
                    self._active[i], self._closed[i] = old.connections(j)
                    self.ipvs.active[i] = len(self._active[i])
                    self.ipvs.inactive[i] = len(self._closed[i])

    def advance(self, t: float, fin_timeout: float) -> None:
        """Bring the counts to time *t*: ended connections turn inactive, old ones leave."""
        active, inactive = self.ipvs.active, self.ipvs.inactive
        for j, heap in enumerate(self._active):
            closed = self._closed[j]
            while heap and heap[0] <= t:
                heapq.heappush(closed, heapq.heappop(heap) + fin_timeout)
            while closed and closed[0] <= t:
                heapq.heappop(closed)
            active[j] = len(heap)
            inactive[j] = len(closed)

    def connections(self, i: int) -> tuple[list[float], list[float]]:
        """Real server *i*'s connections, the lists themselves (not copies): the end times
        of the active ones and the expiry times of the inactive ones (both heaps)."""
        return self._active[i], self._closed[i]

    def open(self, i: int, end: float) -> None:
        """A connection to real server *i*, active until *end*."""
        heapq.heappush(self._active[i], end)
        self.ipvs.active[i] += 1


class IpvsTables:
    """The IPVS tables of every node: virtual servers by (node, Service)."""

    __slots__ = ("scheduler", "fin_timeout", "udp_timeout", "counts", "_servers")

    def __init__(self, scheduler: str, fin_timeout: float = DEFAULT_FIN_TIMEOUT,
                 udp_timeout: float = DEFAULT_UDP_TIMEOUT) -> None:
        self.scheduler = resolve_scheduler(scheduler)
        self.fin_timeout = fin_timeout
        self.udp_timeout = udp_timeout
        """How long a UDP connection's entry lives after its last packet (it counts as
        active all along: UDP has no states that would make it inactive)."""
        self.counts = self.scheduler in COUNTING
        """Whether the scheduler reads connection counts (callers then report each end)."""
        self._servers: dict[tuple[str, str], VirtualServer] = {}

    def server(self, node: str, service: str, keys: tuple[object, ...], vip: int) -> VirtualServer:
        """The virtual server of *service* on *node* with real servers *keys*; a changed
        list of real servers re-inits the scheduler (connections of the servers that stay
        are kept)."""
        vs = self._servers.get((node, service))
        if vs is None or vs.keys != keys:
            vs = self._servers[(node, service)] = VirtualServer(keys, self.scheduler, vip, vs)
        return vs

    def pick(self, vs: VirtualServer, src: int, t: float) -> int:
        """The real server for a new connection from *src* at *t* (-1: none may take it)."""
        if self.counts:
            vs.advance(t, self.fin_timeout)
        return vs.ipvs.pick(src)
