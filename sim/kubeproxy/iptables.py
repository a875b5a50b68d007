"""kube-proxy in iptables mode: the ``KUBE-SVC`` probability chain and its pickers.

kubernetes/kubernetes pkg/proxy/iptables/proxier.go: the ``KUBE-SVC`` chain of n endpoints
holds rule i < n-1 with ``-m statistic --mode random --probability 1/(n-i)``
(``computeProbability``, ``%0.10f``) and an unconditional last rule, so every endpoint gets
1/n. The kernel compares a 31-bit random number with ``lround(2^31 * p)`` (libxt_statistic.c,
xt_statistic.c): :class:`ChainWalker` does exactly that; :class:`IptablesPicker` is the O(1)
hot-path equivalent. Randomness comes only from the ``random.Random`` stream a caller hands
over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from random import Random
from typing import Protocol

# --- iptables: computeProbability and the kernel's threshold ---------------------------------


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
