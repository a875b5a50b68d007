"""Every figure of a run's end state by its ``expect:`` name (the vocabulary is
:mod:`sim.scenario.figures`): subnets, pools, Deployments, nodes and pods, flows, zones, SNAT,
CoreDNS and IPAM. Read by :mod:`sim.views.report` at the end of a run; never changes the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.model import Model
    from sim.views.stats import Stats


def figures(m: Model, stats: Stats) -> dict[str, float]:
    """Every figure of the run's end state, by its ``expect:`` name."""
    out: dict[str, float] = {}
    _subnet_figures(m, out)
    ready_total = _pool_figures(m, stats, out)
    _deployment_figures(m, out)
    running = sum(1 for d in m.workloads.deployments.values() for p in d.pods.values()
                  if p.phase == "Running")
    out["nodes.peak"] = stats.nodes_peak
    out["nodes.final"] = sum(p.size for p in m.pools.values())
    out["nodes.readyFinal"] = ready_total
    out["nodes.readyMin"] = stats.ready_min if stats.ready_min is not None else ready_total
    out["pods.pendingFinal"] = m.workloads.pending_count
    out["pods.pendingPeak"] = stats.pending_peak
    out["pods.runningFinal"] = running
    out.update(flow_figures(m))
    _zone_figures(m, out)
    _snat_dns_ipam_figures(m, out)
    return out


def _subnet_figures(m: Model, out: dict[str, float]) -> None:
    """``subnet.<name>.*``: usable, peak and final use, free addresses."""
    for s in m.subnets.values():
        base = f"subnet.{s.name}"
        out[f"{base}.usable"] = s.usable
        out[f"{base}.peakUsed"] = s.peak_used
        out[f"{base}.peakUsedFraction"] = round(s.peak_used / s.usable, 6) if s.usable else 0.0
        out[f"{base}.finalUsed"] = s.used
        out[f"{base}.free"] = s.usable - s.used


def _pool_figures(m: Model, stats: Stats, out: dict[str, float]) -> int:
    """``pool.<name>.*``: nodes at the end and at the peak, Ready ones; returns all Ready nodes."""
    ready_total = 0
    for pool in m.pools.values():
        base = f"pool.{pool.name}"
        out[f"{base}.nodesFinal"] = pool.size
        out[f"{base}.nodesPeak"] = stats.pool_peak[pool.name]
        ready = sum(1 for n in pool.nodes.values() if n.state == "Ready")
        out[f"{base}.readyFinal"] = ready
        ready_total += ready
    return ready_total


def _deployment_figures(m: Model, out: dict[str, float]) -> None:
    """``deployment.<name>.*`` (by name and by namespace/name): replicas and unavailability."""
    now = m.env.now
    for dep in m.workloads.deployments.values():
        if dep.kind != "Deployment":
            continue
        below = dep.unavailable_seconds + (now - dep.below_since if dep.below_since is not None
                                           else 0.0)
        for name in dict.fromkeys((dep.name, dep.key)):  # ordered: report.json is stable
            base = f"deployment.{name}"
            out[f"{base}.desiredFinal"] = dep.desired
            out[f"{base}.availableFinal"] = dep.available
            out[f"{base}.availableMin"] = (dep.min_available if dep.min_available is not None
                                           else dep.available)
            out[f"{base}.unavailableSeconds"] = round(below, 6)


def _zone_figures(m: Model, out: dict[str, float]) -> None:
    """``zone.<zone>.*``: nodes and Ready nodes at the end, zone by zone."""
    zones: dict[str, list[Any]] = {}
    for pool in m.pools.values():
        for n in pool.nodes.values():
            zones.setdefault(n.zone, []).append(n)
    for zone, members in sorted(zones.items()):
        out[f"zone.{zone}.nodesFinal"] = len(members)
        out[f"zone.{zone}.readyFinal"] = sum(1 for n in members if n.state == "Ready")


def _snat_dns_ipam_figures(m: Model, out: dict[str, float]) -> None:
    """``snat.*``, ``coredns.*``, ``kubenet.routesPeak`` and ``podCidr.rangesPeak``."""
    snat = m.traffic.snat
    for node, peak in sorted(snat.peak_by_node.items()):
        out[f"snat.node.{node}.peakPortsUsed"] = peak
        out[f"snat.node.{node}.exhausted"] = int(node in snat.exhausted_nodes)
    out["snat.portsPerNodeFinal"] = m.traffic.snat.per_node
    out["snat.peakPortsUsed"] = m.traffic.snat.peak_in_use
    out["snat.exhaustedNodes"] = len(m.traffic.snat.exhausted_nodes)
    # the busiest CoreDNS pod's share of all lookups (the UDP conntrack imbalance shows here)
    lookups = m.traffic.lookups.dns_by_pod
    total_lookups = sum(lookups.values())
    out["coredns.maxPodShare"] = (round(max(lookups.values()) / total_lookups, 6)
                                  if total_lookups else 0.0)
    out["coredns.resentQueries"] = m.traffic.lookups.dns_resends
    ranges = getattr(m.ipam, "ranges", None)
    out["kubenet.routesPeak"] = getattr(m.ipam, "peak_routes", 0)
    out["podCidr.rangesPeak"] = ranges.peak if ranges is not None else 0


def flow_figures(m: Model) -> dict[str, float]:
    """Figures of every traffic flow: counts, error rate, how long errors lasted, latency."""
    from sim.outcomes import OUTCOMES, quantile

    out: dict[str, float] = {}
    tick = m.spec.traffic.tick if m.spec.traffic else 1.0
    for flow in m.traffic.flows:
        base = f"flow.{flow.spec.name}"
        # outcomes still to come (a client timing out after the end) are known already
        totals = flow.totals + sum(flow.pending.values(), np.zeros_like(flow.totals))
        latency = flow.latency_total + sum(flow.latency.values(),
                                           np.zeros_like(flow.latency_total))
        total = int(totals.sum())
        ok = int(totals[0])
        out[f"{base}.requests"] = total
        out[f"{base}.ok"] = ok
        out[f"{base}.errors"] = total - ok
        out[f"{base}.errorRate"] = round((total - ok) / total, 6) if total else 0.0
        out[f"{base}.errorSeconds"] = flow.error_ticks * tick
        out[f"{base}.longestErrorSeconds"] = flow.longest_streak * tick
        out[f"{base}.ongoingErrorSeconds"] = flow.ongoing_streak * tick
        for q, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
            value = quantile(latency, q)
            out[f"{base}.{key}"] = value if value is not None else float("nan")
        if flow.spec.from_ == "pods" and flow.spec.to is not None:
            out[f"{base}.dnsQueriesPerLookup"] = flow.dns_queries
            out[f"{base}.dnsQueries"] = flow.dns_total
        busiest = max(flow.per_pod.values(), default=0)
        out[f"{base}.maxPodShare"] = round(busiest / total, 6) if total else 0.0
        for i, cause in enumerate(OUTCOMES[1:], start=1):
            out[f"{base}.cause.{cause}"] = int(totals[i])
    return out
