"""The fault library: plain functions on the model, one per ``fault:`` of a scenario.

Each function picks its targets (at random from the ``chaos`` stream where the fault does not
name them) and returns what it hits, how to apply it and how to undo it. ``inject`` records a
``FaultInjected`` event before applying, so a run is replayable from scenario + seed + faults.

The faults on nodes, zones and pods are in :mod:`sim.chaos.compute`, those on the network in
:mod:`sim.chaos.network`; :mod:`sim.chaos.effect` holds what they share. Chaos is an actor
above the model: it calls the public methods of the rooms only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Never, NoReturn

from sim.chaos.compute import (
    coredns_outage,
    ingress_controller_crash,
    node_failure,
    pod_kill,
    zone_failure,
)
from sim.chaos.effect import CRASH_BACKOFF, CRASH_BACKOFF_MAX, SNAT_RETRY, Effect
from sim.chaos.network import (
    lb_probe_failure,
    network_policy,
    nsg_rule,
    partition,
    snat_pressure,
    subnet_squeeze,
    zone_latency,
    zone_loss,
)
from sim.events import FaultInjected, FaultReverted
from sim.scenario.schema import (
    AnyFault,
    CorednsOutage,
    IngressControllerCrash,
    LbProbeFailure,
    NetworkPolicyFault,
    NodeFailure,
    NsgRuleFault,
    Partition,
    PodKill,
    SnatPressure,
    SubnetSqueeze,
    ZoneFailure,
    ZoneLatency,
    ZoneLoss,
)

if TYPE_CHECKING:
    from sim.model import Model

__all__ = [
    "CRASH_BACKOFF", "CRASH_BACKOFF_MAX", "FAULTS", "SNAT_RETRY", "Effect", "coredns_outage",
    "effect_of", "inject", "ingress_controller_crash", "lb_probe_failure", "network_policy",
    "node_failure", "nsg_rule", "partition", "pod_kill", "snat_pressure", "subnet_squeeze",
    "zone_failure", "zone_latency", "zone_loss",
]

FAULTS: dict[str, Callable[..., Effect]] = {fn.__name__: fn for fn in (
    node_failure, zone_failure, pod_kill, coredns_outage, ingress_controller_crash,
    lb_probe_failure, subnet_squeeze, network_policy, nsg_rule, snat_pressure, zone_latency,
    zone_loss, partition,
)}
"""Every fault function by its ``fault:`` name (each function is named for the literal its
fault model carries; tests/core/test_chaos.py checks). The names of the fault kinds for the
metrics; :func:`effect_of` dispatches on the fault's class, not on this table."""


def effect_of(m: Model, fault: AnyFault) -> Effect:
    """What *fault* would do to *m* now: its function, chosen by the fault's class."""
    match fault:
        case NodeFailure():
            return node_failure(m, fault)
        case ZoneFailure():
            return zone_failure(m, fault)
        case PodKill():
            return pod_kill(m, fault)
        case CorednsOutage():
            return coredns_outage(m, fault)
        case IngressControllerCrash():
            return ingress_controller_crash(m, fault)
        case LbProbeFailure():
            return lb_probe_failure(m, fault)
        case SubnetSqueeze():
            return subnet_squeeze(m, fault)
        case NetworkPolicyFault():
            return network_policy(m, fault)
        case NsgRuleFault():
            return nsg_rule(m, fault)
        case SnatPressure():
            return snat_pressure(m, fault)
        case ZoneLatency():
            return zone_latency(m, fault)
        case ZoneLoss():
            return zone_loss(m, fault)
        case Partition():
            return partition(m, fault)
        case _:
            _unknown(fault)


def _unknown(fault: Never) -> NoReturn:
    """A fault model without a chaos function: a bug (mypy flags it where it is statically
    known, as the match above is then not exhaustive)."""
    kind = getattr(fault, "fault", None)
    raise TypeError(f"no chaos function takes {type(fault).__name__} (fault: {kind!r}); "
                    "add one to sim.chaos.compute or sim.chaos.network and a case to effect_of")


def inject(m: Model, fault: AnyFault) -> None:
    """Apply *fault* now, record it, and schedule its revert after its duration."""
    spec = json.dumps(fault.model_dump(mode="json", by_alias=True, exclude_none=True),
                      sort_keys=True, separators=(",", ":"))
    effect = effect_of(m, fault)
    m.bus.publish(FaultInjected(fault.fault, effect.target, spec))
    effect.apply()
    if fault.duration is not None and effect.revert is not None:
        revert = effect.revert

        def end(_: object) -> None:
            revert()
            m.bus.publish(FaultReverted(fault.fault, effect.target))

        m.timers.after(fault.duration, end)
