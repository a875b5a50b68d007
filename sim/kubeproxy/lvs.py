"""The IPVS schedulers as LVS defines them (net/netfilter/ipvs/ip_vs_*.c).

Small strategy objects with ``pick(src, dst, active, inactive) -> index`` (-1: none
available), one per ``--ipvs-scheduler`` name; kube-proxy's choice among them and its virtual
servers are :mod:`sim.kubeproxy.ipvs`. Pure and deterministic: no randomness at all here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce
from typing import ClassVar, Protocol

# --- IPVS schedulers (LVS) -------------------------------------------------------------------


class IpvsScheduler(Protocol):
    """An LVS scheduler over a fixed list of real servers (weights fixed at construction).

    ``pick`` returns the index of the real server for a new connection from *src* to *dst*
    (IPv4 addresses as ints), given the servers' active and inactive connection counts, or
    -1 when no server may take it (all quiesced with weight 0).
    """

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, weights: Sequence[int]) -> None: ...

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int: ...


def _wlc(weights: list[int], active: list[int], inactive: list[int], among: Sequence[int]) -> int:
    """Least ``(active*256 + inactive) / weight`` among *among* (ip_vs_wlc.c).

    The first server with a weight is the candidate; a later one replaces it only when
    strictly less loaded, compared without division: ``loh * w_d > doh * w_least``.
    """
    least, loh = -1, 0
    for d in among:
        w = weights[d]
        if least < 0:
            if w > 0:
                least, loh = d, (active[d] << 8) + inactive[d]
            continue
        doh = (active[d] << 8) + inactive[d]
        if loh * w > doh * weights[least]:
            least, loh = d, doh
    return least


class RoundRobin:
    """``rr``: next server in order, skipping quiesced ones (ip_vs_rr.c)."""

    name: ClassVar[str] = "rr"
    description: ClassVar[str] = "round-robin"
    __slots__ = ("_w", "_n", "_last", "_all_up")

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)
        self._n = len(self._w)
        self._last = -1  # the list head: the first pick is server 0
        self._all_up = all(w > 0 for w in self._w)

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        n = self._n
        i = self._last + 1
        if self._all_up:
            if i >= n:
                i = 0
            self._last = i
            return i if n else -1
        for _ in range(n):
            if i >= n:
                i = 0
            if self._w[i] > 0:
                self._last = i
                return i
            i += 1
        return -1


class WeightedRoundRobin:
    """``wrr``: interleaved weighted round-robin stepping the current weight down by the gcd
    (ip_vs_wrr.c: ``mw = max - (gcd - 1)``, ``cw`` starts at ``mw``)."""

    name: ClassVar[str] = "wrr"
    description: ClassVar[str] = "weighted round-robin"
    __slots__ = ("_w", "_n", "_i", "_cw", "_mw", "_di")

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)
        self._n = len(self._w)
        up = [w for w in self._w if w > 0]
        self._di = reduce(math.gcd, up) if up else 1
        self._mw = max(up) - (self._di - 1) if up else 0
        self._cw = self._mw
        self._i = -1

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        if self._mw == 0:
            return -1
        w, n, i, cw = self._w, self._n, self._i, self._cw
        while True:
            i += 1
            if i >= n:  # end of the list: lower the bar, wrap to the head
                i = 0
                cw -= self._di
                if cw <= 0:
                    cw = self._mw
            if w[i] >= cw:
                self._i, self._cw = i, cw
                return i


class LeastConnection:
    """``lc``: fewest ``active*256 + inactive`` connections; first one wins ties (ip_vs_lc.c)."""

    name: ClassVar[str] = "lc"
    description: ClassVar[str] = "least connection"
    __slots__ = ("_w",)

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        least, loh = -1, 0
        w = self._w
        for d in range(len(w)):
            if w[d] == 0:
                continue
            doh = (active[d] << 8) + inactive[d]
            if least < 0 or doh < loh:
                least, loh = d, doh
        return least


class WeightedLeastConnection:
    """``wlc``: least ``(active*256 + inactive) / weight`` (ip_vs_wlc.c)."""

    name: ClassVar[str] = "wlc"
    description: ClassVar[str] = "weighted least connection"
    __slots__ = ("_w",)

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        return _wlc(self._w, active, inactive, range(len(self._w)))


class ShortestExpectedDelay:
    """``sed``: least expected delay ``(C+1)/U``, C active connections, U the weight (ip_vs_sed.c)."""

    name: ClassVar[str] = "sed"
    description: ClassVar[str] = "shortest expected delay"
    __slots__ = ("_w",)

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        w = self._w
        least, loh = -1, 0
        for d in range(len(w)):
            if least < 0:
                if w[d] > 0:
                    least, loh = d, active[d] + 1
                continue
            doh = active[d] + 1  # the expected delay counts the new connection itself
            if loh * w[d] > doh * w[least]:
                least, loh = d, doh
        return least


class NeverQueue:
    """``nq``: an idle server if there is one (first in order), else as ``sed`` (ip_vs_nq.c)."""

    name: ClassVar[str] = "nq"
    description: ClassVar[str] = "never queue"
    __slots__ = ("_w",)

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        w = self._w
        least, loh = -1, 0
        for d in range(len(w)):
            if w[d] == 0:
                continue
            if active[d] == 0:
                return d
            doh = active[d] + 1
            if least < 0 or loh * w[d] > doh * w[least]:
                least, loh = d, doh
        return least


def _bucket_table(weights: list[int], by_weight: bool) -> list[int]:
    """The 256 hash buckets, dealt to the servers in order (``weight`` buckets each for sh)."""
    n = len(weights)
    if n == 0:
        return [-1] * 256
    table, p, count = [], 0, 0
    for _ in range(256):
        table.append(p)
        count += 1
        if not by_weight or count >= weights[p]:
            p, count = (p + 1) % n, 0
    return table


class SourceHashing:
    """``sh``: a 256-bucket table indexed by ``hash_32(src, 8)`` (ip_vs_sh.c); no fallback
    when the bucket's server is quiesced (the ``sh-fallback`` flag is off by default)."""

    name: ClassVar[str] = "sh"
    description: ClassVar[str] = "source hashing"
    __slots__ = ("_w", "_table")

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)
        self._table = _bucket_table(self._w, by_weight=True)

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        d = self._table[((src * 0x61C88647) & 0xFFFFFFFF) >> 24]  # hash_32(src, 8), GOLDEN_RATIO_32
        return d if d >= 0 and self._w[d] > 0 else -1


class DestinationHashing:
    """``dh``: a 256-bucket table indexed by ``(dst * 2654435761) & 255`` (ip_vs_dh.c).

    Under kube-proxy the destination is always the Service VIP, so every connection of a
    Service goes to the same real server.
    """

    name: ClassVar[str] = "dh"
    description: ClassVar[str] = "destination hashing"
    __slots__ = ("_w", "_table")

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)
        self._table = _bucket_table(self._w, by_weight=False)

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        d = self._table[(dst * 2654435761) & 0xFF]
        return d if d >= 0 and self._w[d] > 0 else -1


def _lblc_overloaded(d: int, weights: list[int], active: list[int]) -> bool:
    # ip_vs_lblc.c is_overloaded: busier than its weight while some server is under half load
    return active[d] > weights[d] and any(active[j] * 2 < weights[j] for j in range(len(weights)))


class LocalityBasedLeastConnection:
    """``lblc``: keep sending a destination IP to its server unless it is overloaded, else
    ``wlc`` (ip_vs_lblc.c). The 24 h expiry of idle table entries is not modelled."""

    name: ClassVar[str] = "lblc"
    description: ClassVar[str] = "locality-based least connection"
    __slots__ = ("_w", "_table")

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)
        self._table: dict[int, int] = {}

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        w = self._w
        d = self._table.get(dst, -1)
        if d >= 0 and w[d] > 0 and not _lblc_overloaded(d, w, active):
            return d
        d = _wlc(w, active, inactive, range(len(w)))
        if d >= 0:
            self._table[dst] = d
        return d


class LocalityBasedLeastConnectionReplicated:
    """``lblcr``: a server *set* per destination IP; the least loaded member unless it is
    overloaded, else a ``wlc`` pick joins the set (ip_vs_lblcr.c). The 24 h set shrink is
    not modelled."""

    name: ClassVar[str] = "lblcr"
    description: ClassVar[str] = "locality-based least connection with replication"
    __slots__ = ("_w", "_sets")

    def __init__(self, weights: Sequence[int]) -> None:
        self._w = list(weights)
        self._sets: dict[int, list[int]] = {}

    def pick(self, src: int, dst: int, active: list[int], inactive: list[int]) -> int:
        w = self._w
        members = self._sets.get(dst)
        if members:
            d = _wlc(w, active, inactive, members)
            if d >= 0 and not _lblc_overloaded(d, w, active):
                return d
        d = _wlc(w, active, inactive, range(len(w)))
        if d >= 0:
            if members is None:
                self._sets[dst] = [d]
            elif d not in members:
                members.append(d)
        return d
