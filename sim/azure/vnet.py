"""VNets, subnets and address pools, with Azure's 5 reserved addresses per subnet.

Addresses are plain ``int``s inside the model (fast, hashable, ordered); they are turned
into dotted strings only for events and reports.

Source: Azure reserves the first four addresses and the last one of every subnet
(virtual-networks-faq), so a /24 has 251 usable addresses.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections import Counter
from dataclasses import dataclass, field

AZURE_RESERVED_PER_SUBNET = 5
"""x.x.x.0 network, .1 gateway, .2 and .3 Azure DNS mapping, and the broadcast address."""

FORBIDDEN_RANGES = tuple(
    ipaddress.IPv4Network(c)
    for c in ("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24")
)
"""Ranges AKS refuses for service, pod and VNet address spaces (ip-address-planning.md)."""


def usable_addresses(prefix_len: int) -> int:
    """Addresses Azure lets you assign in a subnet of this prefix length (2^(32-p) - 5)."""
    total: int = 2 ** (32 - prefix_len)  # int ** int is typed Any (a negative power is a float)
    return max(0, total - AZURE_RESERVED_PER_SUBNET)


def min_prefix_len(required: int) -> int:
    """The longest prefix whose usable addresses hold *required* (at most /29, at least /2)."""
    for p in range(29, 1, -1):
        if usable_addresses(p) >= required:
            return p
    raise ValueError(f"{required} addresses do not fit in any IPv4 subnet")


def ip_str(address: int) -> str:
    """Dotted-quad form of an integer address."""
    return str(ipaddress.IPv4Address(address))


def forbidden_overlap(net: ipaddress.IPv4Network) -> ipaddress.IPv4Network | None:
    """The forbidden range *net* overlaps, if any."""
    return next((f for f in FORBIDDEN_RANGES if net.overlaps(f)), None)


class AddressPool:
    """Single addresses from an inclusive integer range, lowest free first.

    ``allocate(n)`` is all-or-nothing: a node that needs 31 addresses either gets all of
    them or none, as an Azure NIC with 31 IP configurations either deploys or fails.
    """

    __slots__ = ("first", "last", "_next", "_released", "used")

    def __init__(self, first: int, last: int) -> None:
        self.first = first
        self.last = last
        self._next = first
        self._released: list[int] = []
        self.used = 0

    @property
    def size(self) -> int:
        """Assignable addresses in the pool."""
        return max(0, self.last - self.first + 1)

    @property
    def free(self) -> int:
        """Addresses still assignable."""
        return self.size - self.used

    def allocate(self, n: int = 1) -> list[int] | None:
        """Take *n* addresses (lowest first), or none and return ``None`` if fewer are free."""
        if n > self.free:
            return None
        out: list[int] = []
        released = self._released
        while released and len(out) < n:
            out.append(heapq.heappop(released))
        k = n - len(out)
        if k:
            out.extend(range(self._next, self._next + k))
            self._next += k
        self.used += n
        return out

    def release(self, addresses: list[int]) -> None:
        """Give *addresses* back; they are handed out again lowest first."""
        for a in addresses:
            heapq.heappush(self._released, a)
        self.used -= len(addresses)


class BlockPool:
    """Aligned CIDR blocks of one size carved from a range, lowest free first.

    Used for kubenet and Overlay per-node pod ranges (a /24 each from ``podCidr``) and for
    the /28 blocks of static-block pod subnets.
    """

    __slots__ = ("base", "block_size", "count", "_next", "_released", "used", "_skip", "peak")

    def __init__(self, network: ipaddress.IPv4Network, prefix_len: int,
                 skip: frozenset[int] = frozenset()) -> None:
        if prefix_len < network.prefixlen:
            raise ValueError(f"/{prefix_len} blocks do not fit in {network}")
        self.base = int(network.network_address)
        self.block_size: int = 2 ** (32 - prefix_len)
        self.count: int = network.num_addresses // self.block_size
        self._skip = skip
        self._next = 0
        self._released: list[int] = []
        self.used = 0
        self.peak = 0

    @property
    def free(self) -> int:
        """Blocks still assignable."""
        return self.count - len(self._skip) - self.used

    def allocate(self, n: int = 1) -> list[int] | None:
        """Take *n* blocks (their first addresses), or none if fewer are free."""
        if n > self.free:
            return None
        out: list[int] = []
        while self._released and len(out) < n:
            out.append(heapq.heappop(self._released))
        while len(out) < n:
            index = self._next
            self._next += 1
            if index not in self._skip:
                out.append(self.base + index * self.block_size)
        self.used += n
        self.peak = max(self.peak, self.used)
        return out

    def release(self, blocks: list[int]) -> None:
        """Give blocks back by their first address."""
        for b in blocks:
            heapq.heappush(self._released, b)
        self.used -= len(blocks)


@dataclass
class Subnet:
    """An Azure subnet: its range, what holds its addresses, and the most ever held."""

    name: str
    cidr: ipaddress.IPv4Network
    pool: AddressPool = field(init=False)
    held_by: Counter[str] = field(default_factory=Counter)
    """Addresses held by kind of holder: ``node``, ``pod``, ``pod-reserved``, ``ilb``, ``squeeze``."""
    peak_used: int = 0

    def __post_init__(self) -> None:
        first = int(self.cidr.network_address) + 4
        last = int(self.cidr.broadcast_address) - 1
        self.pool = AddressPool(first, last)

    @property
    def usable(self) -> int:
        """Assignable addresses (the range minus Azure's 5)."""
        return self.pool.size

    @property
    def used(self) -> int:
        """Addresses assigned to anything."""
        return self.pool.used

    def allocate(self, n: int, holder: str) -> list[int] | None:
        """Take *n* addresses for *holder*, all or nothing."""
        got = self.pool.allocate(n)
        if got is not None:
            self.held_by[holder] += n
            if self.pool.used > self.peak_used:
                self.peak_used = self.pool.used
        return got

    def release(self, addresses: list[int], holder: str) -> None:
        """Return addresses held by *holder*."""
        self.pool.release(addresses)
        self.held_by[holder] -= len(addresses)


@dataclass
class VNet:
    """A virtual network: its address spaces, subnets, and whether AKS manages it."""

    name: str
    address_space: list[ipaddress.IPv4Network]
    subnets: dict[str, Subnet]
    managed: bool = True
