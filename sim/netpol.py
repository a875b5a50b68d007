"""Kubernetes NetworkPolicy: may this pod (or IP) open a connection to that pod (or IP), and why.

:class:`NetworkPolicies` takes plain ``networking.k8s.io/v1`` NetworkPolicy dicts, exactly as
``kubectl apply`` would send them, with the namespaces and pods they select. It compiles them
once and answers :meth:`NetworkPolicies.allows` with a :class:`Verdict` that says which side
decided and which policies were involved, in words a person can read in ``aks-sim reach``.

Semantics (kubernetes/website ``concepts/services-networking/network-policies.md``, the
``networking.k8s.io/v1`` API reference, AKS-NETWORKING.md section 6):

- A pod is non-isolated until a policy selects it with that policy type; from then on only
  what the union of its selecting policies allows gets through. Policies are additive, so
  their order never matters.
- A connection needs egress allowed at the source AND ingress allowed at the destination.
  Replies are implicitly allowed and are not separate connections here; traffic from the
  pod's own node (always allowed) is not modelled.
- External endpoints (``ip:1.2.3.4``) are never selected by a policy. As peers they match
  ``ipBlock`` only. ``ipBlock`` also matches pod IPs, as the upstream e2e suite
  (test/e2e/network/netpol) expects of a conformant plugin.
- A named policy port resolves against the destination pod's container ports, for ingress
  and for egress alike; a destination that is not a pod has only the name the caller gives.
- With the cluster's ``networkPolicy`` set to ``none`` nothing enforces the policies, so
  they have no effect. Azure NPM, Calico and Cilium are modelled alike, with upstream
  semantics; plugin deviations (e.g. an AKS doc revision saying Cilium's ``ipBlock`` cannot
  select pod or node IPs) are not modelled.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from sim import sizing
from sim.kernel.errors import SimError

Direction: TypeAlias = Literal["ingress", "egress"]
"""The side of a connection a policy type governs (``Ingress``/``Egress`` in the API)."""
IpAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

PROTOCOLS: tuple[str, ...] = ("TCP", "UDP", "SCTP")
"""Protocols a NetworkPolicyPort may name; the API defaults a missing one to TCP."""
DEFAULT_PROTOCOL = "TCP"
ENGINES: tuple[str, ...] = ("none", "azure", "calico", "cilium")
"""AKS ``networkPolicy`` settings: ``none`` enforces nothing; Azure NPM, Calico and Cilium
(Azure CNI powered by Cilium) enforce the policies (AKS-NETWORKING.md section 6)."""
DEFAULT_ENGINE = "azure"
AZURE_NPM_MAX_NODES: int = sizing.AZURE_NPM_MAX_NODES
"""Azure NPM supports at most 250 nodes (best-practices-performance-scale-large.md)."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The API server sets this label on every namespace to its name (immutable since 1.22)."""

_PEERS_KEY: dict[Direction, str] = {"ingress": "from", "egress": "to"}
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
# IANA_SVC_NAME (k8s.io/apimachinery validation): at most 15 characters of a-z, 0-9 and '-',
# at least one letter, no '-' at either end and no '--'.
_PORT_NAME = re.compile(r"^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")


class NetworkPolicyError(SimError):
    """A NetworkPolicy, pod or connection the API server (or this engine) would reject."""


def _error(where: str, message: str) -> NetworkPolicyError:
    return NetworkPolicyError(f"{where}: {message}")


def _frozen_labels(labels: Mapping[str, str], where: str) -> Mapping[str, str]:
    # Label values are strings in the API: an unquoted YAML number would never match a selector.
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise _error(where, f"labels must map strings to strings (quote numbers), got {dict(labels)!r}")
    return MappingProxyType(dict(labels))


# --- what policies select: namespaces, pods, external peers ---------------------------------

@dataclass(frozen=True, slots=True)
class ContainerPort:
    """A container port; its ``name`` is what a named NetworkPolicy port resolves against."""

    container_port: int
    name: str | None = None
    protocol: str = DEFAULT_PROTOCOL

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise _error(f"containerPort {self.container_port}",
                         f"protocol {self.protocol!r} is not one of {', '.join(PROTOCOLS)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContainerPort:
        """From a pod spec's ``ports[]`` entry (``containerPort``, ``name``, ``protocol``)."""
        return cls(int(data["containerPort"]), data.get("name"), data.get("protocol") or DEFAULT_PROTOCOL)


@dataclass(frozen=True, slots=True)
class Namespace:
    """A namespace and its labels (``kubernetes.io/metadata.name`` is always added)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        labels = {**self.labels, NAMESPACE_NAME_LABEL: self.name}
        object.__setattr__(self, "labels", _frozen_labels(labels, f"namespace {self.name}"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Namespace:
        """From ``{name, labels}`` or a Namespace object (``metadata.name``, ``metadata.labels``)."""
        meta = data.get("metadata", data)
        return cls(str(meta["name"]), dict(meta.get("labels") or {}))


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod as NetworkPolicy sees it: namespace, name, labels, IP and container ports."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    ip: str | None = None
    """Pod IP, matched by ``ipBlock`` peers; ``None`` while the pod has none."""
    ports: tuple[ContainerPort, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen_labels(self.labels, f"pod {self.namespace}/{self.name}"))
        object.__setattr__(self, "ports", tuple(self.ports))

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pod:
        """From ``{namespace, name, labels, ip, ports: [{name, containerPort, protocol}]}``."""
        ports = tuple(ContainerPort.from_dict(p) for p in data.get("ports") or ())
        return cls(str(data.get("namespace") or "default"), str(data["name"]), dict(data.get("labels") or {}),
                   data.get("ip"), ports)


@dataclass(frozen=True, slots=True)
class ExternalPeer:
    """An endpoint outside the cluster: never selected by a policy, matched by ``ipBlock``."""

    ip: str
    name: str = ""

    @property
    def key(self) -> str:
        """``ip:<address>``."""
        return f"ip:{self.ip}"


Endpoint: TypeAlias = Pod | ExternalPeer
"""Either end of a connection."""


# --- compiled policies ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Requirement:
    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        # k8s.io/apimachinery labels.Selector: NotIn also matches a pod without the key.
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return labels.get(self.key) not in self.values
        return (self.key in labels) == (self.operator == "Exists")


@dataclass(frozen=True, slots=True)
class _Selector:
    """A LabelSelector: ``matchLabels`` and ``matchExpressions`` ANDed; empty selects all."""

    match_labels: tuple[tuple[str, str], ...] = ()
    requirements: tuple[_Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return (all(labels.get(k) == v for k, v in self.match_labels)
                and all(r.matches(labels) for r in self.requirements))


@dataclass(frozen=True, slots=True)
class _IpBlock:
    cidr: IpNetwork
    excepts: tuple[IpNetwork, ...]

    def contains(self, address: IpAddress) -> bool:
        return address in self.cidr and not any(address in e for e in self.excepts)


@dataclass(frozen=True, slots=True)
class _Peer:
    """One ``from``/``to`` entry. Selectors in one peer are ANDed; peers of a rule are ORed."""

    namespace: str
    """The policy's namespace: a peer with only ``podSelector`` selects pods there."""
    pods: _Selector | None
    namespaces: _Selector | None
    ip_block: _IpBlock | None

    def matches(self, peer: Endpoint, address: IpAddress | None, namespace_labels: Mapping[str, str]) -> bool:
        if self.ip_block is not None:
            return address is not None and self.ip_block.contains(address)
        if not isinstance(peer, Pod):
            return False
        if self.namespaces is None:
            if peer.namespace != self.namespace:
                return False
        elif not self.namespaces.matches(namespace_labels):
            return False
        return self.pods is None or self.pods.matches(peer.labels)


@dataclass(frozen=True, slots=True)
class _Connection:
    port: int
    protocol: str
    names: frozenset[str]
    """Names the destination knows this (port, protocol) by: its container ports' names."""

    def __str__(self) -> str:
        names = f" ({', '.join(sorted(self.names))})" if self.names else ""
        return f"{self.protocol}/{self.port}{names}"


@dataclass(frozen=True, slots=True)
class _Port:
    protocol: str
    port: int | None
    end_port: int | None
    name: str | None

    def matches(self, conn: _Connection) -> bool:
        if conn.protocol != self.protocol:
            return False
        if self.name is not None:
            return self.name in conn.names
        if self.port is None:
            return True
        return self.port <= conn.port <= (self.end_port or self.port)


@dataclass(frozen=True, slots=True)
class _Rule:
    peers: tuple[_Peer, ...]
    """Empty: every peer (``from``/``to`` missing or ``[]``)."""
    ports: tuple[_Port, ...]
    """Empty: every port of every protocol."""

    def matches(self, peer: Endpoint, address: IpAddress | None, namespace_labels: Mapping[str, str],
                conn: _Connection) -> bool:
        return ((not self.ports or any(p.matches(conn) for p in self.ports))
                and (not self.peers or any(p.matches(peer, address, namespace_labels) for p in self.peers)))


@dataclass(frozen=True, slots=True)
class _Policy:
    namespace: str
    name: str
    selector: _Selector
    ingress: tuple[_Rule, ...] | None
    """``None`` when the policy is not of type Ingress (it leaves ingress alone)."""
    egress: tuple[_Rule, ...] | None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: Direction) -> tuple[_Rule, ...] | None:
        return self.ingress if direction == "ingress" else self.egress

    def selects(self, pod: Pod, direction: Direction) -> bool:
        return self.rules(direction) is not None and self.selector.matches(pod.labels)


# --- parsing: a NetworkPolicy dict into a _Policy, rejecting what the API server rejects -----

def _fields(raw: Any, where: str, known: tuple[str, ...]) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _error(where, f"expected a mapping, got {raw!r}")
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise _error(where, f"unknown field {', '.join(unknown)} (known here: {', '.join(known)})")
    return raw


def _items(raw: Any, where: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _error(where, f"expected a list, got {raw!r}")
    return raw


def _strings(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in raw.items()):
        raise _error(where, f"expected a mapping of strings to strings (quote numbers), got {raw!r}")
    return dict(raw)


def _parse_requirement(raw: Any, where: str) -> _Requirement:
    f = _fields(raw, where, ("key", "operator", "values"))
    key, op, values = f.get("key"), f.get("operator"), _items(f.get("values"), f"{where}.values")
    if not isinstance(key, str) or not key:
        raise _error(where, f"key must be a label key, got {key!r}")
    if op not in _OPERATORS:
        raise _error(where, f"operator must be one of {', '.join(_OPERATORS)}, got {op!r}")
    if (op in ("In", "NotIn")) != bool(values) or not all(isinstance(v, str) for v in values):
        need = "a non-empty list of strings" if op in ("In", "NotIn") else "empty"
        raise _error(where, f"values must be {need} for operator {op}, got {values!r}")
    return _Requirement(key, op, frozenset(values))


def _parse_selector(raw: Any, where: str) -> _Selector:
    f = _fields(raw, where, ("matchLabels", "matchExpressions"))
    labels = _strings(f.get("matchLabels"), f"{where}.matchLabels")
    exprs = _items(f.get("matchExpressions"), f"{where}.matchExpressions")
    requirements = (_parse_requirement(r, f"{where}.matchExpressions[{i}]") for i, r in enumerate(exprs))
    return _Selector(tuple(sorted(labels.items())), tuple(requirements))


def _parse_network(raw: Any, where: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(str(raw), strict=False)
    except ValueError:
        raise _error(where, f"expected a CIDR such as 10.0.0.0/24, got {raw!r}") from None


def _parse_ip_block(raw: Any, where: str) -> _IpBlock:
    f = _fields(raw, where, ("cidr", "except"))
    if f.get("cidr") is None:
        raise _error(where, "cidr is required")
    cidr = _parse_network(f["cidr"], f"{where}.cidr")
    excepts = tuple(_parse_network(e, f"{where}.except[{i}]") for i, e in enumerate(_items(f.get("except"),
                                                                                              where)))
    for i, e in enumerate(excepts):
        if e.version != cidr.version or e.network_address not in cidr or e.prefixlen < cidr.prefixlen:
            raise _error(f"{where}.except[{i}]", f"{e} is not inside cidr {cidr}")
    return _IpBlock(cidr, excepts)


def _parse_peer(raw: Any, where: str, namespace: str) -> _Peer:
    f = _fields(raw, where, ("podSelector", "namespaceSelector", "ipBlock"))
    present = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if f.get(k) is not None]
    if not present:
        raise _error(where, "a peer needs podSelector, namespaceSelector or ipBlock")
    if "ipBlock" in present and len(present) > 1:
        raise _error(where, "ipBlock cannot be combined with podSelector or namespaceSelector in one peer")
    pods, nss, block = (f.get(k) for k in ("podSelector", "namespaceSelector", "ipBlock"))
    return _Peer(namespace,
                 None if pods is None else _parse_selector(pods, f"{where}.podSelector"),
                 None if nss is None else _parse_selector(nss, f"{where}.namespaceSelector"),
                 None if block is None else _parse_ip_block(block, f"{where}.ipBlock"))


def _parse_port(raw: Any, where: str) -> _Port:
    f = _fields(raw, where, ("protocol", "port", "endPort"))
    protocol, port, end = f.get("protocol") or DEFAULT_PROTOCOL, f.get("port"), f.get("endPort")
    if protocol not in PROTOCOLS:
        raise _error(where, f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if isinstance(port, str):
        if not _PORT_NAME.match(port):
            raise _error(where, f"port {port!r} is neither a number nor a valid port name (IANA_SVC_NAME)")
        if end is not None:
            raise _error(where, "endPort needs a numeric port, not a named one")
        return _Port(protocol, None, None, port)
    for key, value in (("port", port), ("endPort", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1 <= value <= 65535):
            raise _error(where, f"{key} must be a number from 1 to 65535, got {value!r}")
    if end is not None and (port is None or end < port):
        raise _error(where, f"endPort {end} needs a port and must not be below it (port {port!r})")
    return _Port(protocol, port, end, None)


def _parse_rules(raw: Any, where: str, direction: Direction, namespace: str) -> tuple[_Rule, ...]:
    key = _PEERS_KEY[direction]
    rules = []
    for i, item in enumerate(_items(raw, where)):
        here = f"{where}[{i}]"
        f = _fields(item, here, (key, "ports"))
        peers = tuple(_parse_peer(p, f"{here}.{key}[{j}]", namespace)
                      for j, p in enumerate(_items(f.get(key), f"{here}.{key}")))
        ports = tuple(_parse_port(p, f"{here}.ports[{j}]")
                      for j, p in enumerate(_items(f.get("ports"), f"{here}.ports")))
        rules.append(_Rule(peers, ports))
    return tuple(rules)


def _policy_types(spec: Mapping[str, Any], where: str) -> set[str]:
    types = _items(spec.get("policyTypes"), f"{where}.policyTypes")
    for t in types:
        if t not in ("Ingress", "Egress"):
            raise _error(f"{where}.policyTypes", f"expected Ingress or Egress, got {t!r}")
    if types:
        return set(types)
    # API defaulting (pkg/apis/networking/v1 defaults): Ingress always, Egress only when the
    # policy has at least one egress rule (an empty `egress: []` does not count).
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


def _parse_policy(raw: Any) -> _Policy:
    top = _fields(raw, "NetworkPolicy", ("apiVersion", "kind", "metadata", "spec", "status"))
    meta = top.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise _error("NetworkPolicy", f"metadata.name is required, got metadata {meta!r}")
    namespace = str(meta.get("namespace") or "default")  # kubectl apply without -n: default
    where = f"NetworkPolicy {namespace}/{meta['name']}"
    if top.get("apiVersion", "networking.k8s.io/v1") != "networking.k8s.io/v1" or top.get(
            "kind", "NetworkPolicy") != "NetworkPolicy":
        raise _error(where, f"expected networking.k8s.io/v1 NetworkPolicy, got {top.get('apiVersion')} "
                            f"{top.get('kind')} (other policy kinds, e.g. Calico's, are not modelled)")
    spec = _fields(top.get("spec"), f"{where}: spec", ("podSelector", "policyTypes", "ingress", "egress"))
    types = _policy_types(spec, f"{where}: spec")
    ingress = _parse_rules(spec.get("ingress"), f"{where}: spec.ingress", "ingress", namespace)
    egress = _parse_rules(spec.get("egress"), f"{where}: spec.egress", "egress", namespace)
    selector = _parse_selector(spec.get("podSelector"), f"{where}: spec.podSelector")
    return _Policy(namespace, meta["name"], selector,
                   ingress if "Ingress" in types else None, egress if "Egress" in types else None)


def _parse_address(raw: str | None, where: str) -> IpAddress | None:
    if raw is None:
        return None
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        raise _error(where, f"expected an IP address, got {raw!r}") from None


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
