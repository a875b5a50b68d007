"""External-DNS under HTTP application routing: an Ingress host's A record appears at the next
sync after the Ingress is applied and is deleted at the next sync after it is deleted
(External-DNS --interval, policy sync); `aks-sim route` shows the record as it is then."""

from __future__ import annotations

from pathlib import Path

from simkit import make_sim

from sim.views.route import trace

ROOT = Path(__file__).resolve().parents[2]
DELETE = """
  - at: 15m
    operation: ingress
    delete: shop/deals
expect:"""


def _scenario() -> str:
    text = (ROOT / "scenarios" / "new-ingress-dns-and-certificate.yaml").read_text()
    return text.replace("\nexpect:", DELETE, 1)


def test_deleted_ingress_host_answers_404_then_stops_resolving_at_the_next_sync() -> None:
    """Deleted at 15m: the controller has neither the rule nor the TLS entry for the host at
    once, so the https clients get its self-signed default certificate and refuse it
    (tls_error; ingress-nginx user-guide/tls.md "Default SSL Certificate"; over http they
    would get the default backend's 404), and the record stays until External-DNS's next
    sync at 16m; from then on the name does not resolve (dns_failure)."""
    sim, events = make_sim(_scenario())
    sim.run()
    ticks = [e.event for e in events if e.event.reason == "TrafficTick" and e.event.requests]
    no_rule = [t.start for t in ticks if "tls_error" in t.errors and t.start >= 900]
    dns = [t.start for t in ticks if "dns_failure" in t.errors and t.start >= 900]
    assert min(no_rule) == 900 and max(no_rule) < 960
    assert min(dns) == 960 and all(t.ok == 0 for t in ticks if t.start >= 960)


def test_reapplied_before_the_sync_keeps_the_record() -> None:
    """Deleted at 15m and applied again at 15m20s, before the 16m sync: the record is never
    deleted, so no lookup fails."""
    text = _scenario()
    start = text.index("  - at: 10m\n    operation: ingress")
    again = text[start:text.index("\n  - at: 15m\n", start)].replace("at: 10m", "at: 15m20s", 1)
    text = text.replace("\nexpect:", "\n" + again + "\nexpect:", 1)
    sim, events = make_sim(text)
    sim.run()
    late_dns = [e.event.start for e in events if e.event.reason == "TrafficTick"
                and "dns_failure" in e.event.errors and e.event.start >= 900]
    assert late_dns == []


def test_route_dns_hop_follows_external_dns_records() -> None:
    """aks-sim route: before the record is written the host is NXDOMAIN; then External-DNS's
    record leads to the controller; after the Ingress is deleted it resolves until the next
    sync (and the controller answers 404), then it is NXDOMAIN again."""
    sim, _ = make_sim(_scenario())
    url = ("deals.example.com", "/today", "https")

    def at(t: float):  # noqa: ANN202
        sim.advance_to(t)
        return trace(sim.model, *url)

    before = at(600.5)
    assert not before.answered and "NXDOMAIN" in before.hops[0].detail
    assert "next sync" in before.hops[0].why[0]
    live = at(700)
    assert "ingress-nginx" in live.hops[0].detail and "External-DNS" in live.hops[0].why[0]
    deleted = at(930)
    assert "ingress-nginx" in deleted.hops[0].detail and "deletes" in deleted.hops[0].why[0]
    assert not deleted.answered and deleted.outcome == "tls_error"
    assert "404" in next(h for h in deleted.hops if h.what == "ingress rule").detail
    gone = at(970)
    assert not gone.answered and "NXDOMAIN" in gone.hops[0].detail
    assert "DNS failure" in gone.verdict
