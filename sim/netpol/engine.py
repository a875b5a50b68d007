""":class:`NetworkPolicies`, the engine: the policies of one cluster compiled once, and the
:class:`Verdict` for one connection (egress allowed at the source AND ingress allowed at the
destination), with the reason in words a person can read in ``aks-sim reach``.

Sources: kubernetes/website ``concepts/services-networking/network-policies.md`` (isolation,
additive policies, both sides must allow), AKS-NETWORKING.md section 6 (``networkPolicy: none``
enforces nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sim.netpol.parse import _parse_address, _parse_policy
from sim.netpol.selectors import (
    DEFAULT_ENGINE,
    DEFAULT_PROTOCOL,
    ENGINES,
    PROTOCOLS,
    Direction,
    Endpoint,
    ExternalPeer,
    IpAddress,
    Namespace,
    NetworkPolicyError,
    Pod,
    _Connection,
    _Policy,
)

# --- verdicts ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Decision:
    """What one side of a connection decided: the source's egress or the destination's ingress."""

    direction: Direction
    endpoint: str
    """``namespace/pod`` or ``ip:<address>``."""
    allowed: bool
    isolated: bool
    """Whether any policy selects the endpoint for this direction."""
    policies: tuple[str, ...]
    """The ``namespace/name`` of every policy that selects the endpoint for this direction."""
    allowed_by: tuple[str, ...]
    """Those of :attr:`policies` that allow the connection."""
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a new connection may be opened (its replies then come back), and why."""

    src: str
    dst: str
    port: int
    protocol: str
    allowed: bool
    egress: Decision
    """The source's egress side."""
    ingress: Decision
    """The destination's ingress side."""
    reason: str
    """One readable line: the deciding side(s) and the policies involved."""

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def denied_by(self) -> tuple[Direction, ...]:
        """The sides that deny (empty when allowed)."""
        return tuple(d.direction for d in (self.egress, self.ingress) if not d.allowed)


@dataclass(frozen=True, slots=True)
class GroupVerdict:
    """The verdict between two groups (workloads): every member-to-member connection."""

    allowed: bool
    """Every member connection is allowed."""
    connections: int
    denied: tuple[Verdict, ...]
    reason: str

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def partial(self) -> bool:
        """Some member connections are allowed and some denied."""
        return 0 < len(self.denied) < self.connections


def _policies_text(refs: tuple[str, ...]) -> str:
    return f"policy {refs[0]}" if len(refs) == 1 else f"policies [{', '.join(refs)}]"


def _decision_reason(direction: Direction, key: str, selecting: tuple[str, ...], allowed_by: tuple[str, ...],
                     peer: str, conn: _Connection) -> str:
    if not selecting:
        return f"{direction} of {key} is not isolated (no NetworkPolicy selects it for {direction.title()})"
    if allowed_by:
        return f"{direction} of {key} allowed by {_policies_text(allowed_by)}"
    return (f"{direction} of {key} is isolated by {_policies_text(selecting)} and none allows {conn} "
            f"{'to' if direction == 'egress' else 'from'} {peer}")


def _summary(egress: Decision, ingress: Decision) -> str:
    denying = [d.reason for d in (egress, ingress) if not d.allowed]
    if denying:
        return "denied: " + "; ".join(denying)
    return f"allowed: {egress.reason}; {ingress.reason}"


def _group_reason(connections: int, denied: tuple[Verdict, ...]) -> str:
    if not denied:
        return f"all {connections} connections allowed"
    first = denied[0]
    head = f"all {connections}" if len(denied) == connections else f"{len(denied)} of {connections}"
    return f"{head} connections denied, e.g. {first.src} -> {first.dst}: {first.reason}"


# --- the engine -------------------------------------------------------------------------------

class NetworkPolicies:
    """The NetworkPolicies of one cluster, compiled once, with the namespaces and pods they select.

    Args:
        policies: ``networking.k8s.io/v1`` NetworkPolicy dicts. A later policy with the same
            namespace and name replaces an earlier one, as a second ``kubectl apply`` does.
        namespaces: Every namespace with its labels. A pod's namespace that is missing here
            is added with only the ``kubernetes.io/metadata.name`` label.
        pods: Every pod policies may select or name as a peer.
        external_peers: Optional names for ``ip:`` endpoints (display only).
        engine: The cluster's ``networkPolicy`` setting, one of :data:`ENGINES`; ``none``
            means nothing enforces the policies (AKS-NETWORKING.md section 6).

    Raises:
        NetworkPolicyError: A policy the API server would reject, an unknown field, a field
            value this engine does not model, an unknown engine or a duplicate pod.
    """

    def __init__(self, policies: Iterable[Mapping[str, Any]] = (), *, namespaces: Iterable[Namespace] = (),
                 pods: Iterable[Pod] = (), external_peers: Iterable[ExternalPeer] = (),
                 engine: str = DEFAULT_ENGINE) -> None:
        if engine not in ENGINES:
            raise NetworkPolicyError(f"networkPolicy engine {engine!r} is not one of {', '.join(ENGINES)}")
        self.engine = engine
        compiled: dict[str, _Policy] = {}
        for raw in policies:
            policy = _parse_policy(raw)
            compiled[policy.ref] = policy
        self._by_namespace: dict[str, list[_Policy]] = {}
        for policy in compiled.values():
            self._by_namespace.setdefault(policy.namespace, []).append(policy)
        self._policies = tuple(compiled)
        self._namespaces = {ns.name: ns for ns in namespaces}
        self._pods: dict[str, Pod] = {}
        self._addresses: dict[str, IpAddress | None] = {}
        for pod in pods:
            self._add_pod(pod)
        self._externals = {e.key: e for e in external_peers}
        self._selected: dict[tuple[str, Direction], tuple[_Policy, ...]] = {}

    def _add_pod(self, pod: Pod) -> None:
        if pod.key in self._pods:
            raise NetworkPolicyError(f"pod {pod.key} is listed twice")
        self._pods[pod.key] = pod
        self._addresses[pod.key] = _parse_address(pod.ip, f"pod {pod.key}")
        self._namespaces.setdefault(pod.namespace, Namespace(pod.namespace))

    @property
    def is_enforced(self) -> bool:
        """Whether the engine enforces policies at all (not ``none``)."""
        return self.engine != "none"

    @property
    def policies(self) -> tuple[str, ...]:
        """``namespace/name`` of every compiled policy."""
        return self._policies

    @property
    def pods(self) -> tuple[Pod, ...]:
        """Every pod, in the order given."""
        return tuple(self._pods.values())

    def endpoint(self, ref: str) -> Endpoint:
        """The pod ``namespace/name`` or the external peer ``ip:<address>``.

        Raises:
            NetworkPolicyError: An unknown pod or a malformed reference.
        """
        if ref.startswith("ip:"):
            if ref not in self._externals:
                _parse_address(ref[3:], ref)
            return self._externals.get(ref) or ExternalPeer(ref[3:])
        if ref not in self._pods:
            hint = "use ip:<address> for an endpoint outside the cluster" if "/" not in ref else \
                f"known pods: {', '.join(sorted(self._pods)) or 'none'}"
            raise NetworkPolicyError(f"no pod {ref!r}; {hint}")
        return self._pods[ref]

    def selecting(self, pod: Pod | str, direction: Direction) -> tuple[str, ...]:
        """``namespace/name`` of the policies that select *pod* for *direction* (it is isolated
        in that direction exactly when this is not empty)."""
        found = self._resolve(pod)
        return tuple(p.ref for p in self._selecting(found, direction)) if isinstance(found, Pod) else ()

    def allows(self, src: Endpoint | str, dst: Endpoint | str, port: int, protocol: str = DEFAULT_PROTOCOL,
               port_name: str | None = None) -> Verdict:
        """Whether *src* may open a connection to *dst*'s *port*/*protocol*, and why.

        Args:
            src: The client: a pod, an external peer, or their reference string.
            dst: The server, reached directly at its IP (no Service DNAT, no SNAT).
            port: The destination (container) port.
            protocol: ``TCP``, ``UDP`` or ``SCTP``.
            port_name: The destination port's name, when the client only named it. Named
                policy ports otherwise resolve against the destination pod's container ports.

        Returns:
            The verdict: allowed only when the source's egress AND the destination's ingress
            allow the connection.

        Raises:
            NetworkPolicyError: An unknown pod, a malformed reference, port or protocol.
        """
        source, dest = self._resolve(src), self._resolve(dst)
        conn = self._connection(dest, port, protocol, port_name)
        egress = self._decide("egress", source, dest, conn)
        ingress = self._decide("ingress", dest, source, conn)
        reason = _summary(egress, ingress) if self.is_enforced else \
            "allowed: networkPolicy is 'none', so no NetworkPolicy is enforced"
        allowed = egress.allowed and ingress.allowed
        return Verdict(source.key, dest.key, port, protocol, allowed, egress, ingress, reason)

    def matrix(self, endpoints: Iterable[Endpoint | str], port: int, protocol: str = DEFAULT_PROTOCOL, *,
               port_name: str | None = None) -> dict[tuple[str, str], Verdict]:
        """The truth table between every two distinct *endpoints* (self-connections left out).

        Returns:
            ``{(src key, dst key): Verdict}`` in the order of *endpoints*.
        """
        found = [self._resolve(e) for e in endpoints]
        return {(s.key, d.key): self.allows(s, d, port, protocol, port_name)
                for s in found for d in found if s.key != d.key}

    def group_matrix(self, groups: Mapping[str, Iterable[Endpoint | str]], port: int,
                     protocol: str = DEFAULT_PROTOCOL, *, port_name: str | None = None,
                     ) -> dict[tuple[str, str], GroupVerdict]:
        """The truth table between groups (e.g. the pods of each workload).

        A group pair is allowed when every connection from a member of the first to a member
        of the second is; self-connections are left out, and so is a pair with none left.

        Returns:
            ``{(src group, dst group): GroupVerdict}``.
        """
        members = {name: [self._resolve(e) for e in group] for name, group in groups.items()}
        out: dict[tuple[str, str], GroupVerdict] = {}
        for src_name, sources in members.items():
            for dst_name, dests in members.items():
                verdicts = [self.allows(s, d, port, protocol, port_name)
                            for s in sources for d in dests if s.key != d.key]
                if verdicts:
                    denied = tuple(v for v in verdicts if not v.allowed)
                    out[(src_name, dst_name)] = GroupVerdict(not denied, len(verdicts), denied,
                                                             _group_reason(len(verdicts), denied))
        return out

    # --- internals ---

    def _resolve(self, endpoint: Endpoint | str) -> Endpoint:
        if isinstance(endpoint, str):
            return self.endpoint(endpoint)
        if isinstance(endpoint, Pod):
            known = self._pods.get(endpoint.key)
            if known is None or (known is not endpoint and known != endpoint):
                raise NetworkPolicyError(f"pod {endpoint.key} is not the one these policies were compiled "
                                         "with; compile a new NetworkPolicies with it")
            return known
        self._peer_address(endpoint)  # rejects a malformed address now
        return endpoint

    def _connection(self, dst: Endpoint, port: int, protocol: str, port_name: str | None) -> _Connection:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise NetworkPolicyError(f"port must be a number from 1 to 65535, got {port!r}")
        if protocol not in PROTOCOLS:
            raise NetworkPolicyError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        names = {port_name} if port_name else set()
        if isinstance(dst, Pod):
            names |= {cp.name for cp in dst.ports if cp.name and cp.container_port == port
                      and cp.protocol == protocol}
        return _Connection(port, protocol, frozenset(names))

    def _selecting(self, pod: Pod, direction: Direction) -> tuple[_Policy, ...]:
        # Cached per pod: selection depends on the pod's labels only, not on the peer.
        key = (pod.key, direction)
        if key not in self._selected:
            self._selected[key] = tuple(p for p in self._by_namespace.get(pod.namespace, ())
                                        if p.selects(pod, direction))
        return self._selected[key]

    def _peer_address(self, peer: Endpoint) -> IpAddress | None:
        if peer.key not in self._addresses:  # an external peer seen for the first time
            self._addresses[peer.key] = _parse_address(peer.ip, peer.key)
        return self._addresses[peer.key]

    def _decide(self, direction: Direction, subject: Endpoint, peer: Endpoint, conn: _Connection) -> Decision:
        if not self.is_enforced:
            return Decision(direction, subject.key, True, False, (), (),
                            f"{direction} of {subject.key} not enforced (networkPolicy is 'none')")
        if not isinstance(subject, Pod):
            return Decision(direction, subject.key, True, False, (), (),
                            f"{subject.key} is not a pod, so no NetworkPolicy governs its {direction}")
        selecting = self._selecting(subject, direction)
        address = self._peer_address(peer)
        labels = self._namespaces[peer.namespace].labels if isinstance(peer, Pod) else {}
        allowed_by = tuple(p.ref for p in selecting
                           if any(r.matches(peer, address, labels, conn) for r in p.rules(direction) or ()))
        refs = tuple(p.ref for p in selecting)
        return Decision(direction, subject.key, not refs or bool(allowed_by), bool(refs), refs, allowed_by,
                        _decision_reason(direction, subject.key, refs, allowed_by, peer.key, conn))
