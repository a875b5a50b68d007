"""The ``expect:`` vocabulary: the names of the figures a run reports, and :func:`check_figure`,
which says why a name is not a figure of a scenario.

``sim.views.report`` computes the figures under these names at the end of a run; the loader (a
``figure:`` expectation) and studies (the figures to collect) check names against them before
anything runs.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.scenario.loaded import Workloads
    from sim.scenario.schema import Scenario

SUBNET_FIGURES = ("usable", "peakUsed", "peakUsedFraction", "finalUsed", "free")
POOL_FIGURES = ("nodesFinal", "nodesPeak", "readyFinal")
DEPLOYMENT_FIGURES = ("desiredFinal", "availableFinal", "availableMin", "unavailableSeconds")
FLOW_FIGURES = ("requests", "ok", "errors", "errorRate", "errorSeconds", "longestErrorSeconds",
                "ongoingErrorSeconds", "p50", "p90", "p99", "maxPodShare", "dnsQueriesPerLookup",
                "dnsQueries")
"""Per flow; plus ``flow.<name>.cause.<cause>`` for each error cause (sim.outcomes.OUTCOMES)."""
CLUSTER_FIGURES = ("nodes.peak", "nodes.final", "nodes.readyFinal", "nodes.readyMin",
                   "pods.pendingFinal", "pods.pendingPeak", "pods.runningFinal",
                   "kubenet.routesPeak", "podCidr.rangesPeak", "events.warnings",
                   "snat.portsPerNodeFinal", "snat.peakPortsUsed", "snat.exhaustedNodes",
                   "coredns.maxPodShare", "coredns.resentQueries")
ZONE_FIGURES = ("nodesFinal", "readyFinal")
SNAT_NODE_FIGURES = ("peakPortsUsed", "exhausted")
DEFAULT_ZERO = re.compile(rf"(zone\.[^.]+\.({'|'.join(ZONE_FIGURES)})"
                          rf"|snat\.node\..+\.({'|'.join(SNAT_NODE_FIGURES)}))")
"""Figures that are 0 when the run has nothing to report for them (no node in the zone, no
outbound call from the node)."""


def check_figure(name: str, spec: Scenario, workloads: Workloads) -> str | None:
    """Why *name* is not a figure of this scenario (None when it is)."""
    if name in CLUSTER_FIGURES:
        return None
    if name.startswith("flow."):
        return _check_flow_figure(name, spec)
    m = re.fullmatch(r"zone\.([^.]+)\.([A-Za-z]+)", name)
    if m is not None:
        zones = sorted({str(z) for p in spec.cluster.node_pools
                        for z in (p.zones or spec.cluster.zones)})
        if m.group(1) not in zones:
            return f"zone {m.group(1)!r} has no node pool (zones: {', '.join(zones)})"
        if m.group(2) not in ZONE_FIGURES:
            return f"unknown zone figure {m.group(2)!r}; expected one of {', '.join(ZONE_FIGURES)}"
        return None
    m = re.fullmatch(r"snat\.node\.(.+)\.([A-Za-z]+)", name)
    if m is not None:
        prefixes = [f"aks-{p.name}-" for p in spec.cluster.node_pools]
        if not any(m.group(1).startswith(pre) for pre in prefixes):
            return (f"node {m.group(1)!r} is of no node pool (names start with "
                    f"{', '.join(prefixes)})")
        if m.group(2) not in SNAT_NODE_FIGURES:
            return (f"unknown SNAT node figure {m.group(2)!r}; expected one of "
                    f"{', '.join(SNAT_NODE_FIGURES)}")
        return None
    m = re.fullmatch(r"(subnet|pool|deployment)\.(.+)\.([A-Za-z]+)", name)
    if m is None:
        close = difflib.get_close_matches(name, CLUSTER_FIGURES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (f"unknown figure {name!r}{hint}; expected one of {', '.join(CLUSTER_FIGURES)}, "
                "subnet.<name>.<figure>, pool.<name>.<figure>, deployment.<name>.<figure> or "
                "flow.<name>.<figure> (see docs/scenarios.md)")
    kind, obj, fig = m.groups()
    figs: tuple[str, ...]
    if kind == "subnet":
        names, figs = [s.name for s in spec.cluster.vnet.subnets], SUBNET_FIGURES
    elif kind == "pool":
        names, figs = [p.name for p in spec.cluster.node_pools], POOL_FIGURES
    else:
        names = [n for p in workloads.deployments
                 for n in (p.obj.metadata.name, p.obj.key)]  # type: ignore[attr-defined]
        if spec.traffic is not None and any(f.from_ == "pods" and f.to is not None
                                            for f in spec.traffic.flows):
            names += ["coredns", "kube-system/coredns"]  # added when flows look names up
        figs = DEPLOYMENT_FIGURES
    if obj not in names:
        return f"{kind} {obj!r} is not defined (defined: {', '.join(names) or 'none'})"
    if fig not in figs:
        return f"unknown {kind} figure {fig!r}; expected one of {', '.join(figs)}"
    return None


def _check_flow_figure(name: str, spec: Scenario) -> str | None:
    from sim.outcomes import OUTCOMES  # numpy: loaded only when a flow figure is checked

    flows = [f.name for f in spec.traffic.flows] if spec.traffic else []
    parts = name.split(".")
    if len(parts) < 3 or parts[1] not in flows:
        return (f"flow {parts[1] if len(parts) > 1 else ''!r} is not defined "
                f"(defined: {', '.join(flows) or 'none'})")
    rest = ".".join(parts[2:])
    causes = [f"cause.{c}" for c in OUTCOMES[1:]]
    if rest not in FLOW_FIGURES and rest not in causes:
        return f"unknown flow figure {rest!r}; expected one of {', '.join(FLOW_FIGURES + tuple(causes))}"
    return None
