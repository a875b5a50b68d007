"""kube-proxy: which endpoint a Service connection lands on, or why it lands nowhere.

Four rooms, each following the upstream code it names:

- **iptables** (kubernetes/kubernetes pkg/proxy/iptables/proxier.go): the ``KUBE-SVC`` chain
  of n endpoints holds rule i < n-1 with ``-m statistic --mode random --probability
  1/(n-i)`` (``computeProbability``, ``%0.10f``) and an unconditional last rule, so every
  endpoint gets 1/n. The kernel compares a 31-bit random number with
  ``lround(2^31 * p)`` (libxt_statistic.c, xt_statistic.c): :class:`ChainWalker` does
  exactly that; :class:`IptablesPicker` is the O(1) hot-path equivalent.
- **IPVS** schedulers as LVS defines them (net/netfilter/ipvs/ip_vs_*.c): small strategy
  objects with ``pick(src, dst, active, inactive) -> index`` (-1: none available).
- **Session affinity** ``ClientIP`` (``-m recent --rcheck --seconds T --reap``): sticky
  while ``now - last_seen <= T`` (xt_recent.c), refreshed by every new connection.
- **Traffic policy** (pkg/proxy/topology.go ``CategorizeEndpoints`` and the iptables
  proxier's filter rules): which endpoints a packet can reach, whether it is masqueraded,
  or whether it is DROPped (policy Local, no local endpoint) or REJECTed (no endpoint at
  all); the health check node port answers and kube-proxy's ``/healthz``.

Everything here is pure and deterministic: times are simulated seconds passed in, and
randomness comes only from the ``random.Random`` stream a caller hands over.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache, reduce
from random import Random
from typing import ClassVar, Protocol

# --- defaults (virtual-ips.md, service.md, pkg/proxy/apis/config defaults) ------------------

MIN_SYNC_PERIOD = 1.0
"""``minSyncPeriod``: rules are rewritten at most once a second."""
SYNC_PERIOD = 30.0
"""``syncPeriod``: rules are rewritten at least every 30 s."""
HEALTHZ_TIMEOUT = 2 * SYNC_PERIOD
"""``/healthz`` fails once a queued update has waited this long (cmd/kube-proxy: 2 x syncPeriod)."""
HEALTHZ_PORT = 10256
NODE_PORT_RANGE = (30000, 32767)
"""``--service-node-port-range`` default, inclusive."""
DEFAULT_AFFINITY_TIMEOUT = 10800.0
"""``sessionAffinityConfig.clientIP.timeoutSeconds`` default (3 h)."""
MAX_AFFINITY_TIMEOUT = 86400.0
"""Largest allowed ClientIP affinity timeout (1 day)."""
DEFAULT_SCHEDULER = "rr"
"""pkg/proxy/ipvs/proxier.go ``defaultScheduler``."""
PROXY_MODES = ("iptables", "ipvs", "nftables")
SESSION_AFFINITIES = ("None", "ClientIP")
TRAFFIC_POLICIES = ("Cluster", "Local")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_BAND_MIN, _BAND_MAX, _BAND_STEP = 16, 256, 16


def compute_probability(n: int) -> str:
    """``computeProbability(n)``: ``fmt.Sprintf("%0.10f", 1.0/float64(n))``.

    Go and Python both round the exact binary value half-to-even, so the strings agree.
    """
    return "%0.10f" % (1.0 / n)


def kernel_threshold(probability_arg: str) -> int:
    """What ``--probability p`` becomes in the kernel: ``lround(0x80000000 * strtod(p))``.

    The rule matches when ``(random_u32 & 0x7FFFFFFF) < threshold`` (xt_statistic.c).
    """
    return math.floor(0x80000000 * float(probability_arg) + 0.5)  # exact: scaling by 2^31


# --- iptables: the probability chain ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One endpoint jump of a ``KUBE-SVC``/``KUBE-SVL`` chain."""

    index: int
    probability_arg: str | None
    """The exact ``--probability`` string; ``None`` for the unconditional last rule."""
    conditional: Fraction
    """P(this rule matches | the packet reached it) = 1/(n-i)."""
    marginal: Fraction
    """P(the packet jumps to this endpoint) = prod_{j<i}(1 - 1/(n-j)) * 1/(n-i) = 1/n."""

    @property
    def kernel_conditional(self) -> Fraction:
        """The conditional the kernel really applies: ``threshold / 2^31`` (1 when unconditional)."""
        if self.probability_arg is None:
            return Fraction(1)
        return Fraction(kernel_threshold(self.probability_arg), 0x80000000)

    @property
    def match_args(self) -> tuple[str, ...]:
        """The statistic match as iptables-restore sees it (empty for the last rule)."""
        if self.probability_arg is None:
            return ()
        return ("-m", "statistic", "--mode", "random", "--probability", self.probability_arg)


def iptables_chain(n: int) -> list[Rule]:
    """The endpoint jumps kube-proxy writes for *n* endpoints (writeServiceToEndpointRules).

    Raises:
        ValueError: if *n* < 1 (a Service without endpoints gets a REJECT rule, no chain).
    """
    if n < 1:
        raise ValueError(f"a probability chain needs at least one endpoint, got n={n}")
    rules: list[Rule] = []
    reach = Fraction(1)  # probability that a packet gets to rule i
    for i in range(n):
        last = i == n - 1
        conditional = Fraction(1) if last else Fraction(1, n - i)
        rules.append(Rule(i, None if last else compute_probability(n - i), conditional,
                          reach * conditional))
        reach *= 1 - conditional
    return rules


def kernel_marginals(n: int) -> list[Fraction]:
    """Exact per-endpoint probabilities of the chain as the kernel evaluates it (31-bit thresholds)."""
    out: list[Fraction] = []
    reach = Fraction(1)
    for rule in iptables_chain(n):
        out.append(reach * rule.kernel_conditional)
        reach *= 1 - rule.kernel_conditional
    return out


class ChainWalker:
    """Walks the chain as the kernel does: one 31-bit draw per rule until one matches.

    Expected ``(n+1)/2`` draws per pick: faithful, but use :class:`IptablesPicker` on the
    hot path.
    """

    __slots__ = ("n", "_thresholds", "_getrandbits")

    def __init__(self, n: int, rng: Random) -> None:
        self.n = n
        self._thresholds = [kernel_threshold(r.probability_arg) for r in iptables_chain(n)
                            if r.probability_arg is not None]
        self._getrandbits = rng.getrandbits

    def pick(self, src: int = 0) -> int:
        """Index of the endpoint the next new connection jumps to (*src* is ignored)."""
        getrandbits = self._getrandbits
        i = 0
        for threshold in self._thresholds:
            if getrandbits(31) < threshold:
                return i
            i += 1
        return i


class IptablesPicker:
    """O(1) uniform endpoint choice with the chain's marginals (1/n each), for the hot path.

    Rejection sampling on ``k = bit_length(n-1)`` random bits: every index below n is
    accepted from exactly one k-bit value, so each has probability exactly 1/n, the same
    as the ideal chain's marginal (less than 2 draws per pick on average).
    """

    __slots__ = ("n", "_bits", "_getrandbits")

    def __init__(self, n: int, rng: Random) -> None:
        if n < 1:
            raise ValueError(f"cannot pick among {n} endpoints")
        self.n = n
        self._bits = (n - 1).bit_length()
        self._getrandbits = rng.getrandbits

    def pick(self, src: int = 0) -> int:
        """Index of the endpoint the next new connection goes to (*src* is ignored)."""
        n, k, getrandbits = self.n, self._bits, self._getrandbits
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return r


class Picker(Protocol):
    """Anything that names the endpoint index of a new connection from source *src*."""

    def pick(self, src: int = 0) -> int: ...


# --- ClientIP session affinity ---------------------------------------------------------------


def validate_affinity_timeout(timeout: float) -> float:
    """Check a ClientIP ``timeoutSeconds`` as the API server does (0 < t <= 86400).

    Raises:
        ValueError: naming the value and the allowed range.
    """
    if not 0 < timeout <= MAX_AFFINITY_TIMEOUT:
        raise ValueError(f"sessionAffinityConfig.clientIP.timeoutSeconds must be in (0, "
                         f"{MAX_AFFINITY_TIMEOUT:g}], got {timeout:g} (default "
                         f"{DEFAULT_AFFINITY_TIMEOUT:g})")
    return float(timeout)


class AffinityTable:
    """``sessionAffinity: ClientIP`` for one Service on one node: client -> (endpoint, last seen).

    As ``-m recent --rcheck --seconds T`` then ``--set`` in the endpoint chain: a client goes
    back to its endpoint while ``now - last_seen <= T`` (still sticky at exactly T), and each
    new connection refreshes ``last_seen``. Endpoints are identified by any hashable key, so
    an entry survives endpoint list changes as long as its endpoint is still there.
    """

    __slots__ = ("timeout", "_endpoint", "_seen")

    def __init__(self, timeout: float = DEFAULT_AFFINITY_TIMEOUT) -> None:
        self.timeout = validate_affinity_timeout(timeout)
        self._endpoint: dict[object, object] = {}
        self._seen: dict[object, float] = {}

    def __len__(self) -> int:
        return len(self._endpoint)

    def lookup(self, client: object, now: float) -> object | None:
        """The endpoint *client* is stuck to at *now*, or None (an expired entry is reaped)."""
        endpoint = self._endpoint.get(client)
        if endpoint is not None and now - self._seen[client] > self.timeout:
            del self._endpoint[client], self._seen[client]
            return None
        return endpoint

    def record(self, client: object, endpoint: object, now: float) -> None:
        """Remember that *client* opened a connection to *endpoint* at *now*."""
        self._endpoint[client] = endpoint
        self._seen[client] = now

    def forget_endpoint(self, endpoint: object) -> None:
        """Drop every entry that points at *endpoint* (it left the Service)."""
        for client in [c for c, e in self._endpoint.items() if e == endpoint]:
            del self._endpoint[client], self._seen[client]


class StickyPicker:
    """A picker behind a ClientIP affinity table: the hot-path call for affinity Services."""

    __slots__ = ("keys", "table", "_picker", "_index")

    def __init__(self, keys: Sequence[object], picker: Picker, table: AffinityTable) -> None:
        self.keys = tuple(keys)
        self.table = table
        self._picker = picker
        self._index = {k: i for i, k in enumerate(self.keys)}

    def pick(self, client: object, now: float, src: int = 0) -> int:
        """Endpoint index for a new connection of *client* at *now* (simulated seconds)."""
        table = self.table
        key = table.lookup(client, now)
        i = self._index.get(key, -1) if key is not None else -1
        if i < 0:
            i = self._picker.pick(src)
            if i < 0:
                return i
        table.record(client, self.keys[i], now)
        return i


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


# --- Services, endpoints and traffic policy --------------------------------------------------


class Verdict(StrEnum):
    """What kube-proxy does with a packet."""

    FORWARD = "FORWARD"
    """DNAT to one of the reachable endpoints."""
    DROP = "DROP"
    """Silently dropped: traffic policy Local with no local endpoint, or a blocked source range."""
    REJECT = "REJECT"
    """ICMP/TCP reset: the Service has no endpoints at all."""
    ACCEPT = "ACCEPT"
    """Delivered to the node itself (the health check node port)."""
    PASS = "PASS"
    """Not a Service address kube-proxy handles; the packet goes on untouched."""


class Entry(StrEnum):
    """How a packet addresses the Service."""

    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_IP = "ExternalIP"


class Origin(StrEnum):
    """Where a packet comes from, as the node's rules classify it."""

    POD = "pod"
    """A source in the cluster (pod) CIDR."""
    NODE = "node"
    """The node itself (``--src-type LOCAL``)."""
    EXTERNAL = "external"
    """Anything else."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One EndpointSlice endpoint of one Service port, as kube-proxy reads it."""

    ip: str
    port: int
    node: str | None = None
    ready: bool = True
    serving: bool | None = None
    """``None`` means "same as ready" (the EndpointSlice API default)."""
    terminating: bool = False

    @property
    def is_serving(self) -> bool:
        """Whether the endpoint still answers (a terminating pod may, until it exits)."""
        return self.ready if self.serving is None else self.serving

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of a Service, with the fields kube-proxy's rules depend on."""

    namespace: str
    name: str
    cluster_ip: str
    port: int
    protocol: str = "TCP"
    port_name: str = ""
    type: str = "ClusterIP"
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_ips: tuple[str, ...] = ()
    load_balancer_source_ranges: tuple[str, ...] = ()
    internal_traffic_policy: str = "Cluster"
    external_traffic_policy: str = "Cluster"
    health_check_node_port: int = 0
    session_affinity: str = "None"
    affinity_timeout: float = DEFAULT_AFFINITY_TIMEOUT

    @property
    def label(self) -> str:
        """``ns/name`` or ``ns/name:port`` as in kube-proxy's rule comments."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def is_externally_accessible(self) -> bool:
        """Reachable other than by ClusterIP: a NodePort, a load balancer IP or an external IP."""
        return bool(self.node_port or self.load_balancer_ips or self.external_ips)

    @property
    def internal_policy_local(self) -> bool:
        """``internalTrafficPolicy: Local``."""
        return self.internal_traffic_policy == "Local"

    @property
    def external_policy_local(self) -> bool:
        """``externalTrafficPolicy: Local`` on a Service that has external addresses at all."""
        return self.external_traffic_policy == "Local" and self.is_externally_accessible

    @property
    def uses_cluster_endpoints(self) -> bool:
        """Whether some traffic uses the Cluster-policy endpoints (pkg/proxy/serviceport.go)."""
        # external traffic needs Cluster endpoints even with eTP=Local (short-circuiting)
        return not self.internal_policy_local or self.is_externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        """Whether some traffic uses the Local-policy (same-node) endpoints."""
        return self.internal_policy_local or self.external_policy_local


@dataclass(frozen=True, slots=True)
class ProxyNode:
    """The node whose kube-proxy handles the packet."""

    name: str
    ips: tuple[str, ...] = ()
    cluster_cidrs: tuple[str, ...] = ()
    """Pod CIDR(s) for ``--detect-local-mode=ClusterCIDR``; empty: local detection is off."""
    localhost_node_ports: bool = True


@dataclass(frozen=True, slots=True)
class Route:
    """The fate of one new connection."""

    verdict: Verdict
    endpoints: tuple[Endpoint, ...] = ()
    """Every endpoint the connection may land on (FORWARD only), in rule order."""
    masquerade: bool = False
    """SNAT to the node: the endpoint no longer sees the client IP."""
    chain: str = ""
    """``KUBE-SVC`` (Cluster policy endpoints) or ``KUBE-SVL`` (Local policy endpoints)."""
    comment: str = ""
    """The filter rule comment for DROP/REJECT, as kube-proxy writes it."""

    @property
    def client_ip_preserved(self) -> bool:
        """The endpoint sees the client's own source IP (delivered, not masqueraded)."""
        return self.verdict is Verdict.FORWARD and not self.masquerade


def categorize_endpoints(svc: ServicePort, endpoints: Sequence[Endpoint], node: str,
                         ) -> tuple[tuple[Endpoint, ...], tuple[Endpoint, ...], bool]:
    """``CategorizeEndpoints`` (topology hints not modelled): (cluster, local, has_any).

    Cluster endpoints are the ready ones, else the serving-terminating ones; local ones are
    the ready local ones, else the serving-terminating local ones.
    """
    cluster: tuple[Endpoint, ...] = ()
    has_any = False
    if svc.uses_cluster_endpoints:
        cluster = tuple(e for e in endpoints if e.ready)
        if not cluster:
            cluster = tuple(e for e in endpoints if e.is_serving and e.terminating)
        has_any = bool(cluster)
    if not svc.uses_local_endpoints:
        return cluster, (), has_any
    ready = tuple(e for e in endpoints if e.ready and e.node == node)
    draining = tuple(e for e in endpoints if not e.ready and e.is_serving and e.terminating
                     and e.node == node)
    has_any = has_any or any(e.ready or (e.is_serving and e.terminating) for e in endpoints)
    return cluster, ready or draining, has_any


def _decide(svc: ServicePort, endpoints: Sequence[Endpoint], node: str, entry: Entry,
            origin: Origin, *, source_allowed: bool = True, detect_local: bool = True) -> Route:
    cluster, local, has_any = categorize_endpoints(svc, endpoints, node)
    # "! -s <clusterCIDR> -j KUBE-MARK-MASQ": off-cluster sources to a VIP are SNATed (only
    # written when kube-proxy can tell pod traffic apart)
    masq_internal = detect_local and origin is not Origin.POD
    if not has_any:
        return Route(Verdict.REJECT, comment=f"{svc.label} has no endpoints")
    no_local = f"{svc.label} has no local endpoints"
    if entry is Entry.CLUSTER_IP:
        if svc.internal_policy_local:
            if not local:
                return Route(Verdict.DROP, comment=no_local)
            return Route(Verdict.FORWARD, local, masq_internal, "KUBE-SVL")
        return Route(Verdict.FORWARD, cluster, masq_internal, "KUBE-SVC")
    if entry is Entry.LOAD_BALANCER and svc.load_balancer_source_ranges and not source_allowed:
        return Route(Verdict.DROP, comment=f"{svc.label} traffic not accepted by loadBalancerSourceRanges")
    if not svc.external_policy_local:  # "masquerade traffic for ... external destinations"
        return Route(Verdict.FORWARD, cluster, True, "KUBE-SVC")
    if origin is Origin.POD:  # short-circuit: subject to neither traffic policy
        return Route(Verdict.FORWARD, cluster, False, "KUBE-SVC")
    if origin is Origin.NODE:  # LOCAL sources are masqueraded and short-circuited too
        return Route(Verdict.FORWARD, cluster, True, "KUBE-SVC")
    if not local:
        return Route(Verdict.DROP, comment=no_local)
    return Route(Verdict.FORWARD, local, False, "KUBE-SVL")


def reachable_endpoints(svc: ServicePort, endpoints: Sequence[Endpoint], client_node: str, *,
                        entry: Entry = Entry.CLUSTER_IP, origin: Origin = Origin.POD,
                        ) -> frozenset[Endpoint] | Verdict:
    """Endpoints a new connection can land on, or why it lands nowhere (DROP / REJECT).

    Args:
        svc: the Service port addressed.
        endpoints: all its endpoints, any node, any condition.
        client_node: the node whose kube-proxy handles the packet (the client's node for a
            ClusterIP; the node the load balancer or NodePort client reached otherwise).
        entry: ClusterIP, NodePort, LoadBalancer or ExternalIP.
        origin: pod (cluster CIDR), node (LOCAL source) or external.

    Raises:
        ValueError: for a LoadBalancer entry of a Service with loadBalancerSourceRanges
            (the verdict depends on the source IP: use :func:`route`).
    """
    if entry is Entry.LOAD_BALANCER and svc.load_balancer_source_ranges:
        raise ValueError(f"{svc.label} has loadBalancerSourceRanges: the verdict depends on the "
                         "source IP; call route() with the packet's source")
    r = _decide(svc, endpoints, client_node, entry, origin)
    return frozenset(r.endpoints) if r.verdict is Verdict.FORWARD else r.verdict


@lru_cache(maxsize=1024)
def _net(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr.strip(), strict=False)


def _in_any(ip: str, cidrs: Sequence[str]) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr in _net(c) for c in cidrs)


def classify_source(node: ProxyNode, source_ip: str) -> Origin:
    """Pod if in the cluster CIDR (when local detection is on), node if local, else external."""
    if node.cluster_cidrs and _in_any(source_ip, node.cluster_cidrs):
        return Origin.POD
    if source_ip in node.ips or ipaddress.ip_address(source_ip).is_loopback:
        return Origin.NODE
    return Origin.EXTERNAL


def route(svc: ServicePort, endpoints: Sequence[Endpoint], node: ProxyNode, source_ip: str,
          dest_ip: str, dest_port: int, protocol: str = "TCP") -> Route:
    """Trace one new connection through the node's kube-proxy rules (iptables semantics).

    Recognises the Service's ClusterIP, external IPs and load balancer IPs on its port, its
    NodePort on any node address (and 127.0.0.1 from the node itself when localhost
    NodePorts are on) and its health check node port; anything else is PASS.
    """
    origin = classify_source(node, source_ip)
    hc_port = svc.health_check_node_port
    if hc_port and dest_port == hc_port and protocol == "TCP" and dest_ip in node.ips:
        return Route(Verdict.ACCEPT, comment=f"{svc.label} health check node port")
    if protocol != svc.protocol:
        return Route(Verdict.PASS)
    entry: Entry | None = None
    if dest_port == svc.port:
        if dest_ip == svc.cluster_ip:
            entry = Entry.CLUSTER_IP
        elif dest_ip in svc.load_balancer_ips:
            entry = Entry.LOAD_BALANCER
        elif dest_ip in svc.external_ips:
            entry = Entry.EXTERNAL_IP
    if entry is None and svc.node_port and dest_port == svc.node_port:
        loopback = ipaddress.ip_address(dest_ip).is_loopback
        if dest_ip in node.ips or (loopback and node.localhost_node_ports and origin is Origin.NODE):
            entry = Entry.NODE_PORT
    if entry is None:
        return Route(Verdict.PASS)
    allowed = True
    if entry is Entry.LOAD_BALANCER and svc.load_balancer_source_ranges:
        # KUBE-FW: the listed ranges, plus the LB IPs themselves when a range holds the node IP
        from_node = bool(node.ips) and _in_any(node.ips[0], svc.load_balancer_source_ranges)
        allowed = _in_any(source_ip, svc.load_balancer_source_ranges) or (
            from_node and source_ip in svc.load_balancer_ips)
    r = _decide(svc, endpoints, node.name, entry, origin, source_allowed=allowed,
                detect_local=bool(node.cluster_cidrs))
    if r.verdict is Verdict.FORWARD and not r.masquerade and any(e.ip == source_ip for e in r.endpoints):
        # hairpin: "-s <endpoint IP> -j KUBE-MARK-MASQ" in the endpoint's KUBE-SEP chain
        return Route(r.verdict, r.endpoints, True, r.chain, r.comment)
    return r


# --- health checks ---------------------------------------------------------------------------


def local_ready_endpoints(endpoints: Sequence[Endpoint], node: str) -> int:
    """Ready endpoints on *node*: the count the health check node port reports."""
    return sum(1 for e in endpoints if e.ready and e.node == node)


def health_check_node_port(endpoints: Sequence[Endpoint], node: str, *, proxy_healthy: bool = True) -> int:
    """HTTP status of an eTP=Local Service's ``healthCheckNodePort`` on *node*.

    200 only while the node has a ready local endpoint and kube-proxy is healthy, else 503
    (pkg/proxy/healthcheck/service_health.go). It ignores whether the node itself is being
    deleted: a draining node turns 503 once its pods are terminating (no longer ready).
    """
    return 200 if proxy_healthy and local_ready_endpoints(endpoints, node) else 503


class ProxyHealth:
    """kube-proxy's ``/healthz`` and ``/livez`` on :data:`HEALTHZ_PORT` (proxy_health.go).

    Unhealthy once an update queued at ``t0`` is still not applied at ``t0 + timeout``
    (``now - t0 < timeout`` is still healthy). ``/healthz`` also answers 503 while the node
    is not eligible (being deleted, or tainted ToBeDeletedByClusterAutoscaler), so load
    balancers drain it; ``/livez`` ignores the node.
    """

    __slots__ = ("timeout", "node_eligible", "last_updated", "_oldest_pending")

    def __init__(self, timeout: float = HEALTHZ_TIMEOUT) -> None:
        self.timeout = timeout
        self.node_eligible = True
        self.last_updated: float | None = None
        self._oldest_pending: float | None = None

    def queued_update(self, t: float) -> None:
        """A Service/EndpointSlice change arrived at *t* and awaits a sync."""
        if self._oldest_pending is None:
            self._oldest_pending = t

    def updated(self, t: float) -> None:
        """The rules were synced at *t*."""
        self._oldest_pending = None
        self.last_updated = t

    def is_healthy(self, t: float) -> bool:
        """No queued update has waited *timeout* seconds or more at *t*."""
        return self._oldest_pending is None or t - self._oldest_pending < self.timeout

    def healthz(self, t: float) -> int:
        """HTTP status of ``/healthz`` at *t*."""
        return 200 if self.is_healthy(t) and self.node_eligible else 503

    def livez(self, t: float) -> int:
        """HTTP status of ``/livez`` at *t*."""
        return 200 if self.is_healthy(t) else 503


def lb_health_probe(svc: ServicePort, endpoints: Sequence[Endpoint], node: str, *,
                    proxy_healthy: bool = True, node_eligible: bool = True) -> int:
    """What a load balancer HTTP probe of *node* gets for *svc*.

    eTP=Local: the health check node port (ready local endpoints); eTP=Cluster: kube-proxy's
    ``/healthz`` (KEP-3836), which fails on a node being deleted.
    """
    if svc.external_policy_local:
        return health_check_node_port(endpoints, node, proxy_healthy=proxy_healthy)
    return 200 if proxy_healthy and node_eligible else 503


def next_sync(last_sync: float, changed_at: float, min_sync_period: float = MIN_SYNC_PERIOD) -> float:
    """When a change seen at *changed_at* reaches the rules: no sooner than minSyncPeriod
    after the previous sync (BoundedFrequencyRunner)."""
    return max(changed_at, last_sync + min_sync_period)


# --- Service IP and port ranges --------------------------------------------------------------


def clusterip_static_band(cidr: str) -> int:
    """Size of the ClusterIP range's lower (static) band: ``min(max(16, size/16), 256)``.

    As ipallocator's ``calculateRangeOffset``: a range of 16 addresses or fewer (/28 and
    smaller) has no static band at all.
    """
    size = _net(cidr).num_addresses
    if size <= _BAND_MIN:
        return 0
    return min(max(_BAND_MIN, size // _BAND_STEP), _BAND_MAX)


def is_static_band(cidr: str, ip: str) -> bool:
    """Whether *ip* falls in *cidr*'s static band (offsets counted from the first host)."""
    net = _net(cidr)
    offset = int(ipaddress.ip_address(ip)) - int(net.network_address) - 1
    return 0 <= offset < clusterip_static_band(cidr)


def is_valid_node_port(port: int, port_range: tuple[int, int] = NODE_PORT_RANGE) -> bool:
    """Whether *port* lies in ``--service-node-port-range`` (inclusive)."""
    return port_range[0] <= port <= port_range[1]
