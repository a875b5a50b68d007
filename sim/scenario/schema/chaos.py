"""``chaos:``: the faults, each starting ``at`` a time and lasting a ``duration``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.scenario.schema.cluster import SecurityRule
from sim.scenario.schema.types import MAX_PODS, Address, Duration, SpecModel, Zone
from sim.sizing import MAX_NODES_PER_CLUSTER


class FaultBase(SpecModel):
    """When a fault starts and how long it lasts."""

    at: Duration
    duration: Duration | None = None
    """How long the fault lasts; omitted means until the end of the run."""


class NodeFailure(FaultBase):
    """One or more nodes stop (VM crash or host failure): kubelet stops posting status."""

    fault: Literal["node_failure"]
    node: str | None = None
    """A node by name (e.g. aks-user-12345678-vmss000002); otherwise picked at random."""
    node_pool: str | None = None
    zone: Zone | None = None
    index: Annotated[int, Field(ge=0, le=MAX_NODES_PER_CLUSTER)] | None = None
    """With ``nodePool``: the pool's node with this VMSS instance number (0 is the first node
    the pool created, ``...vmss000000``); with ``zone`` too, the pool's index-th node in that
    zone (by instance number). Selects one node without spelling its generated name."""
    count: Annotated[int, Field(ge=1, le=MAX_NODES_PER_CLUSTER)] = 1
    fixed_by: Literal["reboot", "reimage", "redeploy", "nothing"] = "reboot"
    """Which auto-repair action brings the node back (nothing: only the end of the fault)."""

    @model_validator(mode="after")
    def _index_needs_pool(self) -> NodeFailure:
        if self.index is not None and (self.node_pool is None or self.node is not None):
            raise ValueError("index selects a node of nodePool: give nodePool (and optionally "
                             "zone), not node")
        return self


class ZoneFailure(FaultBase):
    """Every node of an availability zone stops, and no new VM starts there."""

    fault: Literal["zone_failure"]
    zone: Zone


class PodKill(FaultBase):
    """Pods are deleted (their controller recreates them)."""

    fault: Literal["pod_kill"]
    deployment: str | None = None
    """``name`` or ``namespace/name``; otherwise ``selector`` picks pods by labels."""
    selector: dict[str, str] = {}
    namespace: str | None = None
    count: Annotated[int, Field(ge=1, le=MAX_PODS)] | None = None
    """How many to kill (picked at random); omitted means all that match."""

    @model_validator(mode="after")
    def _one_of(self) -> PodKill:
        if (self.deployment is None) == (not self.selector):
            raise ValueError("expected exactly one of deployment (name or namespace/name) or "
                             "selector (pod labels, with an optional namespace)")
        return self


class CorednsOutage(FaultBase):
    """CoreDNS pods stop answering (a hung plugin, dropped UDP): lookups sent to them get no
    reply, and the resolver gives up after ``timeout x attempts`` (5 s x 2)."""

    fault: Literal["coredns_outage"]
    count: Annotated[int, Field(ge=1, le=1000)] | None = None
    """How many CoreDNS pods stop answering (picked at random); omitted means all of them,
    including any that start during the outage."""


class IngressControllerCrash(FaultBase):
    """The ingress controller's containers crash: in-flight requests are reset, the pods go
    NotReady, and the kubelet restarts each container after its back-off (10 s, doubling).
    With a ``duration`` they crash again at every restart until it ends (CrashLoopBackOff);
    without one they crash once."""

    fault: Literal["ingress_controller_crash"]
    count: Annotated[int, Field(ge=1, le=MAX_PODS)] | None = None
    """How many controller pods crash (picked at random); omitted means all of them."""


class LbProbeFailure(FaultBase):
    """The Azure load balancer's health probe of a LoadBalancer Service fails on some nodes:
    after ``probeThreshold`` failed probes (5 s apart) they leave the backend rotation."""

    fault: Literal["lb_probe_failure"]
    service: str
    """The LoadBalancer Service, ``name`` or ``namespace/name``."""
    node_pool: str | None = None
    """Only nodes of this pool."""
    zone: Zone | None = None
    """Only nodes of this zone."""
    count: Annotated[int, Field(ge=1, le=MAX_NODES_PER_CLUSTER)] | None = None
    """How many of the matching nodes (picked at random); omitted means all of them, including
    nodes that join during the fault."""


class SubnetSqueeze(FaultBase):
    """Something outside the cluster (another VM, a private endpoint) takes addresses of a
    subnet: new nodes and pods that need addresses there fail as the subnet fills."""

    fault: Literal["subnet_squeeze"]
    subnet: str
    addresses: Annotated[int, Field(ge=1, le=2**24)]
    """How many addresses are taken (at most what is free when the fault starts)."""


class NetworkPolicyFault(FaultBase):
    """A NetworkPolicy applied or deleted for a while, then put back as it was."""

    fault: Literal["network_policy"]
    apply: dict[str, Any] | None = None
    """A networking.k8s.io/v1 NetworkPolicy to create or replace."""
    delete: str | None = None
    """``namespace/name`` of a NetworkPolicy to delete."""

    @model_validator(mode="after")
    def _one_of(self) -> NetworkPolicyFault:
        if (self.apply is None) == (self.delete is None):
            raise ValueError("expected exactly one of apply (a NetworkPolicy) or delete "
                             "(namespace/name)")
        return self


class NsgRuleFault(FaultBase):
    """An inbound rule added to (or removed from) the node subnet's network security group."""

    fault: Literal["nsg_rule"]
    subnet: str | None = None
    """The subnet whose NSG changes (default: the node subnet, the VNet's first subnet)."""
    add: SecurityRule | None = None
    """A rule to add (or to replace, by name)."""
    remove: str | None = None
    """The name of a rule to remove."""

    @model_validator(mode="after")
    def _one_of(self) -> NsgRuleFault:
        if (self.add is None) == (self.remove is None):
            raise ValueError("expected exactly one of add (a security rule) or remove (its name)")
        return self


class SnatPressure(FaultBase):
    """An outbound burst: each pod of a Deployment opens connections to one destination and
    keeps them open while the fault lasts, taking its node's SNAT ports for that destination;
    other pods on those nodes calling the same destination find none left."""

    fault: Literal["snat_pressure"]
    deployment: str
    """The Deployment whose pods burst (``name`` or ``namespace/name``)."""
    address: Address
    """The destination's public address."""
    port: Annotated[int, Field(ge=1, le=65535)] = 443
    connections: Annotated[int, Field(ge=1, le=64_000)]
    """Connections each pod opens (each takes a SNAT port of its node while a port is free)."""


class ZoneLatency(FaultBase):
    """Added latency between availability zones: requests that cross from a node of one zone
    to a node of another take longer."""

    fault: Literal["zone_latency"]
    zones: list[Zone] = []
    """Between these zones (at least two); omitted means between every two zones."""
    latency: Duration
    """Added round-trip time of a connection crossing (e.g. ``50ms``)."""


class ZoneLoss(FaultBase):
    """Packet loss between availability zones: connections that cross lose SYNs, which TCP
    sends again after 1 s, 2 s, 4 s...; some requests time out."""

    fault: Literal["zone_loss"]
    zones: list[Zone] = []
    """Between these zones (at least two); omitted means between every two zones."""
    loss: Annotated[float, Field(gt=0, le=1)]
    """Probability that a packet crossing is lost (1: nothing crosses)."""


class Partition(FaultBase):
    """A network partition: the nodes of the named pools and zones on one side, every other
    node on the other; nothing crosses (connections time out, lookups fail)."""

    fault: Literal["partition"]
    node_pools: list[str] = []
    """Node pools on the first side."""
    zones: list[Zone] = []
    """Zones on the first side."""

    @model_validator(mode="after")
    def _some_side(self) -> Partition:
        if not self.node_pools and not self.zones:
            raise ValueError("expected nodePools or zones: the nodes on one side of the "
                             "partition (every other node is on the other side)")
        return self


AnyFault = (NodeFailure | ZoneFailure | PodKill | CorednsOutage | IngressControllerCrash
            | LbProbeFailure | SubnetSqueeze | NetworkPolicyFault | NsgRuleFault | SnatPressure
            | ZoneLatency | ZoneLoss | Partition)
"""Any one fault (the plain union; :data:`Fault` is the same, discriminated by ``fault``)."""
Fault = Annotated[AnyFault, Field(discriminator="fault")]

