"""Session affinity ``ClientIP``: the ``recent`` table of one Service on one node.

``-m recent --rcheck --seconds T --reap``: sticky while ``now - last_seen <= T``
(xt_recent.c), refreshed by every new connection (virtual-ips.md). Times are simulated
seconds passed in.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.kubeproxy.config import DEFAULT_AFFINITY_TIMEOUT, MAX_AFFINITY_TIMEOUT
from sim.kubeproxy.iptables import Picker

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
