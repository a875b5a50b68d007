"""``traffic:``: flows of clients (rate profiles, targets), how pods serve them, the ingress
controller, CoreDNS and HTTP application routing."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from sim.scenario.schema.types import (
    MAX_ITEMS,
    MAX_RPS,
    Address,
    Distribution,
    Duration,
    Exponential,
    Fixed,
    Period,
    SpecModel,
    Uniform,
    _tick,
)


class Constant(SpecModel):
    """The same rate all along."""

    profile: Literal["constant"]
    rps: Annotated[float, Field(ge=0, le=MAX_RPS)]


class Ramp(SpecModel):
    """From ``from`` to ``to`` requests per second, linearly, between ``at`` and ``at + over``."""

    profile: Literal["ramp"]
    from_: Annotated[float, Field(ge=0, le=MAX_RPS, alias="from")]
    to: Annotated[float, Field(ge=0, le=MAX_RPS)]
    at: Duration = 0.0
    over: Duration


class RateStep(SpecModel):
    """One step of a step profile."""

    at: Duration
    rps: Annotated[float, Field(ge=0, le=MAX_RPS)]


class Step(SpecModel):
    """Piecewise constant: each step's rate from its ``at`` on."""

    profile: Literal["step"]
    steps: Annotated[list[RateStep], Field(min_length=1, max_length=MAX_ITEMS)]


class Diurnal(SpecModel):
    """mean + amplitude x sin(2 pi (t - peakAt) / period + pi/2): highest at ``peakAt``."""

    profile: Literal["diurnal"]
    mean: Annotated[float, Field(ge=0, le=MAX_RPS)]
    amplitude: Annotated[float, Field(ge=0, le=MAX_RPS)]
    period: Period = 86400.0
    peak_at: Duration = 0.0


class Spike(SpecModel):
    """``base``, and ``peak`` between ``at`` and ``at + duration``."""

    profile: Literal["spike"]
    base: Annotated[float, Field(ge=0, le=MAX_RPS)]
    peak: Annotated[float, Field(ge=0, le=MAX_RPS)]
    at: Duration
    duration: Duration


Rate = Annotated[Constant | Ramp | Step | Diurnal | Spike, Field(discriminator="profile")]
"""Requests per second over time; arrivals are Poisson at that rate."""


class ServiceRef(SpecModel):
    """A Service and one of its ports."""

    service: str
    """``name`` or ``namespace/name``."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """The Service port (default: its first)."""


class ExternalRef(SpecModel):
    """An endpoint outside the cluster that pods call (through outbound SNAT)."""

    address: Address
    port: Annotated[int, Field(ge=1, le=65535)] = 443
    latency: Distribution = Exponential(distribution="exponential", mean=0.05)
    """Round trip plus the remote service's time (it never queues here)."""


class IngressRef(SpecModel):
    """An HTTP request through the ingress controller: Host header, path, scheme."""

    host: Annotated[str, Field(min_length=1, max_length=253)]
    path: Annotated[str, Field(pattern=r"^/", max_length=8192)] = "/"
    """The request target: it starts with ``/`` (an HTTP origin-form target)."""
    scheme: Literal["http", "https"] = "http"


class IngressControllerSpec(SpecModel):
    """The ingress controller (ingress-nginx-like) the scenario runs as ordinary pods."""

    service: str
    """Its LoadBalancer Service (``namespace/name``); its pods are the Deployment it selects."""
    proxy_time: Distribution = Fixed(distribution="fixed", value=0.0005)
    """A controller worker's time to route and proxy one request."""
    tls_time: Duration = 0.001
    """Extra worker time to terminate TLS on an https request (a new connection each)."""
    concurrency: Annotated[int, Field(ge=1, le=1_000_000)] = 1024
    """Requests one controller pod proxies at once (NGINX worker connections)."""
    ingress_class: str | None = None
    """Only Ingresses of this class (default: every Ingress)."""
    default_certificate_hosts: list[str] = []
    """Hosts the controller's ``--default-ssl-certificate`` is valid for (e.g. a wildcard
    ``*.example.com``); an https host no Ingress's ``spec.tls`` lists gets this certificate.
    Empty (the default, as shipped): the self-signed fake certificate, which clients refuse."""


class Flow(SpecModel):
    """Clients calling a Service or an Ingress host and path: how often, how long they wait."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    from_: Literal["internet", "vnet", "peered-vnet", "on-premises", "pods"] = Field(
        "internet", alias="from")
    """internet: through the Service's public load balancer; vnet / peered-vnet / on-premises
    (VPN or ExpressRoute): a VM there (through a load balancer, or to pod IPs with ``pods``);
    pods: the pods of ``client`` call out."""
    pods: str | None = None
    """From a VM: connect to this Deployment's pod IPs directly (client-side balancing, e.g.
    over a headless Service): routable from outside only with Azure CNI pod IPs."""
    client: str | None = None
    """With ``from: pods``: the Deployment whose pods make the calls."""
    external: ExternalRef | None = None
    """With ``from: pods``: the address outside the cluster they call (outbound SNAT)."""
    dns_name: str | None = None
    """With ``from: pods`` and ``to``: the name the application looks up (default: the
    Service's name, with its namespace when the client is in another one)."""
    to: ServiceRef | None = None
    ingress: IngressRef | None = None
    """Instead of ``to``: a host and path routed by the ingress controller's rules."""
    client_ip: Address = Field(ipaddress.IPv4Address("203.0.113.10"), alias="clientIP")
    """The clients' address as NetworkPolicy ipBlocks see it (with externalTrafficPolicy
    Local; with Cluster the pod sees the node's address)."""
    rate: Rate
    clients: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    """Distinct client addresses; each request comes from one of them at random (what
    ClientIP session affinity keys on)."""
    timeout: Duration = 10.0
    """How long a client waits for a response before it gives up."""
    connection: Literal["new", "keepalive"] = "new"
    dns_source_port: Literal["ephemeral", "reused"] = "ephemeral"
    """With ``from: pods`` and ``to``: whether the client's resolver opens a socket per lookup
    (ephemeral, glibc) or keeps one (reused), so conntrack keeps each client pod on one
    CoreDNS pod while it queries at least every 30 s."""

    @model_validator(mode="after")
    def _target(self) -> Flow:
        if self.from_ == "pods":
            if self.client is None or (self.external is None) == (self.to is None):
                raise ValueError("a flow from pods needs client (a Deployment) and exactly one of "
                                 "to (a Service, looked up by name) or external (an address)")
            if self.ingress is not None:
                raise ValueError("a flow from pods calls a Service (to) or an external address, "
                                 "not an ingress")
            return self
        if self.external is not None or self.client is not None:
            raise ValueError("client and external are for flows from pods (from: pods)")
        if self.pods is not None:
            if self.from_ == "internet":
                raise ValueError("pod IPs are private: connecting to them needs a VM in the VNet, "
                                 "a peered VNet or on-premises (from: vnet, peered-vnet, on-premises)")
            if self.to is not None or self.ingress is not None:
                raise ValueError("expected one target: pods, to or ingress")
            return self
        if (self.to is None) == (self.ingress is None):
            raise ValueError("expected exactly one of to (a Service), ingress (host and path) or "
                             "pods (pod IPs, from a VM)")
        return self


class Backend(SpecModel):
    """How a Deployment's pods serve requests."""

    deployment: str
    service_time: Distribution = Exponential(distribution="exponential", mean=0.02)
    """Time a worker spends on one request."""
    concurrency: Annotated[int, Field(ge=1, le=10_000)] = 1
    """Requests a pod serves at once; more wait in its queue (first come, first served)."""
    cpu: Annotated[float, Field(gt=0, le=64)] = 1.0
    """Cores a worker uses while it serves a request (what an HPA on cpu measures)."""


class CertificateSpec(SpecModel):
    """Certificates cert-manager requests for Ingress TLS hosts (an ACME issuer such as
    Let's Encrypt)."""

    issuance_time: Distribution = Uniform(distribution="uniform", min=30.0, max=120.0)
    """From the Ingress being applied to the certificate being served."""
    failure_probability: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Chance an issuance fails (rate limits, a failed HTTP-01 challenge): no certificate."""


class HttpApplicationRouting(SpecModel):
    """AKS HTTP application routing: External-DNS writes A records for Ingress hosts in the
    cluster's DNS zone; cert-manager gets their certificates."""

    dns_zone: str
    """Hosts in this zone get records (e.g. ``example.com``)."""
    dns_sync_interval: Period = 60.0
    """External-DNS ``--interval`` (1 minute by default): records appear at the next sync."""
    certificates: CertificateSpec = CertificateSpec()


class CoreDNSSpec(SpecModel):
    """CoreDNS as the cluster runs it (kube-system/coredns behind kube-dns), added when a flow
    looks names up."""

    replicas: Annotated[int, Field(ge=0, le=1000)] | None = None
    """Default: the AKS coredns-autoscaler ladder for the cluster's nodes and cores."""
    service_time: Distribution = Fixed(distribution="fixed", value=0.0002)
    """A CoreDNS worker's time per query (answers come from its cache)."""
    concurrency: Annotated[int, Field(ge=1, le=10_000)] = 16
    query_timeout: Duration = 5.0
    """glibc's ``timeout:5``: how long a resolver waits for an answer..."""
    attempts: Annotated[int, Field(ge=1, le=5)] = 2
    """...and how many times it asks (``attempts:2``)."""
    upstream_latency: Distribution = Fixed(distribution="fixed", value=0.002)
    """Round trip from CoreDNS to the VNet resolver (168.63.129.16) for a forwarded name (an
    assumption: Azure publishes no figure)."""
    cache_ttl: Duration = 30.0
    """The Corefile's ``cache 30``: a forwarded answer is reused this long."""


class TrafficSpec(SpecModel):
    """Request traffic: flows of clients and how pods serve them."""

    tick: Annotated[float, BeforeValidator(_tick, json_schema_input_type=str | float)] = 1.0
    """Outcomes are counted per tick (a TrafficTick event each)."""
    flows: Annotated[list[Flow], Field(min_length=1, max_length=MAX_ITEMS)]
    backends: Annotated[list[Backend], Field(max_length=MAX_ITEMS)] = []
    ingress_controller: IngressControllerSpec | None = None
    """Where ``ingress:`` flows enter."""
    coredns: CoreDNSSpec = CoreDNSSpec()
    http_application_routing: HttpApplicationRouting | None = None
    """DNS records and certificates for Ingress hosts, with their delays."""
    endpoint_propagation_delay: Duration = 1.0
    """From a pod's readiness change to kube-proxy and the load balancer acting on it
    (EndpointSlice update plus kube-proxy's minSyncPeriod of 1 s)."""
    probe_interval: Period = 5.0
    """Azure LB health probe interval (AKS default 5 s)."""
    probe_threshold: Annotated[int, Field(ge=1, le=100)] = 2
    """Failed probes before a backend leaves the pool (AKS default 2)."""
    network_latency: Duration = 0.001
    """One-way latency added per hop (client to load balancer, node to pod)."""

