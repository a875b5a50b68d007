"""``aks-sim route``: where does this URL go, hop by hop (:mod:`sim.views.route.trace`)."""

from sim.views.route.hops import VM_CLIENTS, Hop, RouteError, RouteTrace
from sim.views.route.trace import render, trace

__all__ = ["VM_CLIENTS", "Hop", "RouteError", "RouteTrace", "render", "trace"]
