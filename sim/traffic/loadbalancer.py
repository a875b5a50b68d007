"""The Azure load balancer in front of LoadBalancer Services: backend pool and health probes.

- The backend pool is the cluster's nodes (a node joins when it registers, leaves when it is
  deleted).
- One probe loop per load balancer checks every backend each ``probeInterval`` (AKS default
  5 s) and takes a backend out after ``probeThreshold`` consecutive failures (AKS default 2;
  cloud-provider-azure consts.go), back in after one success (load-balancer-custom-probe-
  overview). DESIGN.md: one sweep event per subsystem, not a timer per node.
- What a probe sees (configure-load-balancer-standard.md, virtual-ips.md): with
  ``externalTrafficPolicy: Cluster`` a TCP probe of the NodePort, which answers while the VM
  and its kube-proxy run; with ``Local`` an HTTP probe of the health check node port, which
  answers 200 only where a ready endpoint of the Service runs on that node.
- Distribution (distribution-mode-concepts): by default a 5-tuple hash (source IP and port,
  destination IP and port, protocol), so each new connection, with its new source port, lands
  on any healthy backend: uniformly. Session persistence hashes only the 2-tuple (source IP,
  destination IP: ``SourceIP``) or the 3-tuple (plus protocol: ``SourceIPProtocol``), so a
  client's connections all land on one backend while the set of healthy backends stays the
  same, and are spread anew when it changes. cloud-provider-azure writes ``SourceIP`` on the
  rules of a Service with ``sessionAffinity: ClientIP`` and ``Default`` otherwise
  (``getExpectedLoadBalancingRulePropertiesForPort``). Azure's hash function is not
  published: :func:`tuple_hash` is a fixed 32-bit mix standing in for it.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

if TYPE_CHECKING:
    from sim.objects import Node, NodePool, ServiceState


LOAD_DISTRIBUTIONS = ("Default", "SourceIP", "SourceIPProtocol")
"""``loadDistribution`` of a load-balancing rule: 5-, 2- or 3-tuple hash."""
PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17}


def load_distribution(session_affinity: str) -> str:
    """The rule's distribution cloud-provider-azure writes for a Service's sessionAffinity."""
    return "SourceIP" if session_affinity == "ClientIP" else "Default"


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser on uint64 arrays holding 32-bit values."""
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def tuple_hash(mode: str, src_ip: np.ndarray, dst_ip: int, protocol: str = "TCP",
               src_port: np.ndarray | None = None, dst_port: int = 0) -> np.ndarray:
    """The hash the load balancer maps flows with, per *mode*: the 5-tuple (Default), the
    2-tuple (SourceIP) or the 3-tuple (SourceIPProtocol); fields outside the tuple are ignored.

    Raises:
        ValueError: for a mode that is not one of :data:`LOAD_DISTRIBUTIONS`, or Default
            without source ports.
    """
    if mode not in LOAD_DISTRIBUTIONS:
        raise ValueError(f"unknown load distribution {mode!r}; expected one of "
                         f"{', '.join(LOAD_DISTRIBUTIONS)}")
    h = _fmix32(np.asarray(src_ip, np.uint64) & 0xFFFFFFFF)
    h = _fmix32(h ^ np.uint64(dst_ip & 0xFFFFFFFF))
    if mode != "SourceIP":
        h = _fmix32(h ^ np.uint64(PROTOCOL_NUMBERS.get(protocol, 0)))
    if mode == "Default":
        if src_port is None:
            raise ValueError("the 5-tuple hash needs the source ports")
        h = _fmix32(h ^ (np.asarray(src_port, np.uint64) << np.uint64(16)) ^ np.uint64(dst_port))
    return h


def answers_probe(svc: ServiceState, node: Node) -> bool:
    """Whether *node* answers the health probe of *svc*'s load-balancing rule now: the VM runs
    (and kube-proxy with it); with ``externalTrafficPolicy: Local`` only where a ready endpoint
    of the Service runs on it."""
    if not node.alive or node.state in ("Provisioning", "Deleted", "Failed"):
        return False
    if svc.local:
        return any(p.node is node for p in svc.endpoints)
    return True


def backend_pool(pools: dict[str, NodePool]) -> list[Node]:
    """The load balancer's backend pool: every registered node, by name."""
    return sorted((n for p in pools.values() for n in p.nodes.values() if n.row >= 0),
                  key=lambda n: n.name)


class LoadBalancer:
    """One frontend of the Azure load balancer for one Service."""

    def __init__(self, env: simpy.Environment, pools: dict[str, NodePool], svc: ServiceState,
                 interval: float, threshold: int) -> None:
        self.env = env
        self.pools = pools
        self.svc = svc
        self.interval = interval
        self.threshold = threshold
        self.failures: dict[str, int] = {}
        self.distribution = load_distribution(svc.manifest.spec.session_affinity)
        """The rule's loadDistribution: Default (5-tuple) or SourceIP (ClientIP affinity)."""
        self.frontend = zlib.crc32(svc.key.encode())
        """Stands in for the frontend IP in the hash (one frontend per Service here)."""
        self.healthy: list[Node] = []
        """Backends the load balancer sends new connections to (sorted by name)."""
        self._healthy_names: set[str] = set()
        self.probe_blocked: set[str] = set()
        """Nodes whose probe fails whatever they answer (lb_probe_failure)."""
        self.probe_blocked_all = 0
        """lb_probe_failure faults in effect on every node."""
        self.refresh_now()
        env.process(self._probe_loop())

    def by_source(self, src_ip: np.ndarray, backends: int, protocol: str = "TCP") -> np.ndarray:
        """Backend index (among *backends* healthy ones) for connections from *src_ip* under
        session persistence: the same for every connection of a client."""
        return (tuple_hash(self.distribution, src_ip, self.frontend, protocol)
                % np.uint64(backends)).astype(np.int64)

    def _answers(self, node: Node) -> bool:
        if self.probe_blocked_all or node.name in self.probe_blocked:
            return False
        return answers_probe(self.svc, node)

    def refresh_now(self) -> None:
        """Probe every backend at once (used at the start of the run)."""
        nodes = self._backends()
        self._healthy_names = {n.name for n in nodes if self._answers(n)}
        self.healthy = [n for n in nodes if n.name in self._healthy_names]

    def _backends(self) -> list[Node]:
        return backend_pool(self.pools)

    def _probe_loop(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(self.interval)
            nodes = self._backends()
            for node in nodes:
                if self._answers(node):
                    self.failures[node.name] = 0
                    self._healthy_names.add(node.name)
                else:
                    count = self.failures.get(node.name, 0) + 1
                    self.failures[node.name] = count
                    if count >= self.threshold:
                        self._healthy_names.discard(node.name)
            present = {n.name for n in nodes}
            self._healthy_names &= present
            self.healthy = [n for n in nodes if n.name in self._healthy_names]
