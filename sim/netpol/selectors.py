"""The bottom of the NetworkPolicy rule book: its vocabulary (protocols, the AKS
``networkPolicy`` engines), its error, what policies select (namespaces, pods, external peers),
and the compiled policy: label selectors, peers, ports and rules, each with the matching it does.

Sources: kubernetes/website ``concepts/services-networking/network-policies.md``, the
``networking.k8s.io/v1`` API reference, k8s.io/apimachinery ``labels.Selector`` (label
requirements) and its IANA_SVC_NAME validation (port names), AKS-NETWORKING.md section 6
(engines).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, get_args

from sim import sizing
from sim.kernel.errors import SimError
from sim.kubeproxy.config import PortProtocol

Direction: TypeAlias = Literal["ingress", "egress"]
"""The side of a connection a policy type governs (``Ingress``/``Egress`` in the API)."""
IpAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

PROTOCOLS: tuple[str, ...] = get_args(PortProtocol)
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
