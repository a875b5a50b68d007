"""The face of the core: every name the shells (``services/``) may use.

Written once, here, as explicit re-exports (``X as X``): type checkers read this stub, and
``sim/__init__.py`` loads each name's module on first use (:mod:`sim.kernel.face`). A shell
imports from ``sim``, ``sim.scenario`` and ``sim.telemetry`` only; the rooms behind the face
can move without breaking it (``.importlinter`` says so and ``tests/test_layers.py`` checks it).
"""

from sim.azure.vmsizes import VM_SIZES
from sim.azure.vnet import usable_addresses
from sim.engine import Simulation
from sim.events import SimEvent, known_categories, known_reasons
from sim.kernel.errors import FaultError, Issue, ScenarioError
from sim.netpol import NetworkPolicyError
from sim.sizing import (
    MAX_SURGE_DEFAULT,
    MODE_LABELS,
    NETWORK_PLUGIN_MODES,
    NETWORK_PLUGINS,
    NODE_POD_PREFIX_LEN,
    POD_IP_ALLOCATIONS,
    InputProblem,
    Plan,
    SizingError,
    surge_problems,
)
from sim.sizing import plan as plan_sizing
from sim.study import describe as describe_failure
from sim.study import failed_row, run_one
from sim.views.reach import reachability
from sim.views.reach import render as render_reach
from sim.views.report import render_text as render_report
from sim.views.route import RouteError
from sim.views.route import render as render_route
from sim.views.route import trace as trace_route
from sim.views.timeline import Timeline

__all__ = [
    "FaultError", "InputProblem", "Issue", "MAX_SURGE_DEFAULT", "MODE_LABELS", "NETWORK_PLUGINS",
    "NETWORK_PLUGIN_MODES", "NODE_POD_PREFIX_LEN", "NetworkPolicyError", "POD_IP_ALLOCATIONS",
    "Plan", "RouteError", "ScenarioError", "SimEvent", "Simulation", "SizingError", "Timeline",
    "VM_SIZES", "describe_failure", "failed_row", "known_categories", "known_reasons",
    "plan_sizing", "reachability", "render_reach", "render_report", "render_route", "run_one",
    "surge_problems", "trace_route", "usable_addresses",
]
