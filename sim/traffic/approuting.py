"""HTTP application routing on AKS: External-DNS's A records and cert-manager's certificates
for Ingress hosts, with their delays.

A component of :class:`sim.traffic.controller.TrafficController`. External-DNS (``--interval``,
1 minute by default; policy sync with its TXT registry) writes the A record of a host of the
cluster's DNS zone at its next sync after an Ingress claims it, and deletes it at its next
sync after no Ingress claims it any more; internet clients cannot resolve the host (NXDOMAIN:
``dns_failure``) before the record exists or after it is gone. cert-manager issues a TLS host's
certificate ``issuanceTime`` after the Ingress (or never, with ``failureProbability``); until
then ingress-nginx serves its default self-signed certificate (``tls_error``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sim.outcomes import DNS_FAILURE, TLS_ERROR
from sim.queueing.service_times import draw

if TYPE_CHECKING:
    from sim.kernel.rng import Streams
    from sim.scenario.schema import TrafficSpec
    from sim.traffic.flows import FlowState


class AppRouting:
    """External-DNS records and cert-manager certificates of Ingress hosts (see the module
    docstring), for the Ingresses in effect (*ingress_objects*, kept by the controller)."""

    def __init__(self, spec: TrafficSpec | None, streams: Streams,
                 ingress_objects: dict[str, dict[str, Any]]) -> None:
        self.spec = spec
        self.streams = streams
        self.ingress_objects = ingress_objects
        self.dns_ready: dict[str, float] = {}
        """Hosts of Ingresses applied during the run: when External-DNS writes their record."""
        self.dns_gone: dict[str, float] = {}
        """Hosts whose Ingress was deleted: when External-DNS deletes their record."""
        self.cert_ready: dict[str, float | None] = {}
        """TLS hosts with a cert-manager issuer: when the certificate is served (None: failed)."""

    def next_sync(self, now: float) -> float | None:
        routing = self.spec.http_application_routing if self.spec else None
        if routing is None:
            return None
        return (math.floor(now / routing.dns_sync_interval) + 1) * routing.dns_sync_interval

    def zone_hosts(self, ingress: dict[str, Any]) -> list[str]:
        """The hosts of *ingress* in the routing DNS zone (those External-DNS writes)."""
        routing = self.spec.http_application_routing if self.spec else None
        if routing is None:
            return []
        zone = routing.dns_zone.strip(".").lower()
        spec = ingress.get("spec") or {}
        hosts = [str(r.get("host", "")).lower() for r in spec.get("rules") or [] if r.get("host")]
        return [h for h in hosts if h == zone or h.endswith("." + zone)]

    def records_removed(self, ingress: dict[str, Any], now: float) -> None:
        """External-DNS deletes the A record of a host no Ingress claims any more, at its next
        sync (policy sync; its TXT registry owns the record): from then on the name does not
        resolve."""
        sync = self.next_sync(now)
        if sync is None:
            return
        claimed = {h for other in self.ingress_objects.values() for h in self.zone_hosts(other)}
        for host in self.zone_hosts(ingress):
            if host not in claimed:
                self.dns_gone[host] = sync
                self.dns_ready.pop(host, None)

    def records_and_certificates(self, ingress: dict[str, Any], now: float,
                                  claimed: set[str]) -> None:
        """A new host gets its A record at External-DNS's next sync (one another Ingress
        already claims, or whose record is still there, resolves all along)."""
        routing = self.spec.http_application_routing if self.spec else None
        if routing is None:
            return
        spec = ingress.get("spec") or {}
        next_sync = self.next_sync(now)
        assert next_sync is not None
        for host in self.zone_hosts(ingress):
            gone = self.dns_gone.pop(host, None)
            if gone is not None:
                if now >= gone:  # deleted already: written again at the next sync
                    self.dns_ready[host] = next_sync
                continue  # otherwise back before the sync that would have deleted it
            if host not in claimed and host not in self.dns_ready:
                self.dns_ready[host] = next_sync
        annotations = (ingress.get("metadata") or {}).get("annotations") or {}
        if not any(k in annotations for k in ("cert-manager.io/cluster-issuer",
                                               "cert-manager.io/issuer")):
            return
        rng = self.streams["certificates"]
        certs = routing.certificates
        for tls in spec.get("tls") or []:
            for host in tls.get("hosts") or []:
                host = str(host).lower()
                if host in self.cert_ready:
                    continue
                failed = rng.random() < certs.failure_probability
                self.cert_ready[host] = None if failed else now + draw(certs.issuance_time, rng)

    def ingress_blocked(self, flow: FlowState, t0: float) -> int | None:
        """DNS_FAILURE while the host's record is not there (internet clients: External-DNS
        writes public records); TLS_ERROR on https while its certificate is not issued yet, or
        when no ``spec.tls`` entry lists the host at all (the controller's self-signed default
        certificate: ingress-nginx user-guide/tls.md, "Default SSL Certificate")."""
        ingress = flow.spec.ingress
        if ingress is None:
            return None
        host = ingress.host.lower()
        internet = flow.spec.from_ == "internet"
        if internet:
            ready = self.dns_ready.get(host)
            if ready is not None and t0 < ready:
                return DNS_FAILURE
            gone = self.dns_gone.get(host)
            if gone is not None and t0 >= gone:
                return DNS_FAILURE  # External-DNS deleted the record: NXDOMAIN
        if ingress.scheme != "https":
            return None
        if flow.route is not None and flow.route.default_certificate:
            return TLS_ERROR
        if internet and host in self.cert_ready:
            cert = self.cert_ready[host]
            if cert is None or t0 < cert:
                return TLS_ERROR
        return None
