"""“What would this fault hit?”: fork a run at its current instant by replaying it, then simulate
ahead for a horizon twice, without and with the fault, and compare. The live run is never
touched; the fork is the same scenario, seed and faults, so it is the live run's exact state.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from pydantic import TypeAdapter

from services.live.replay import load_recorded
from sim import SimEvent, Simulation
from sim.scenario import Fault

FAULT = TypeAdapter(Fault)
HIT = {"NodeNotReady", "TaintManagerEviction", "Killing", "FailedScheduling", "SubnetIsFull",
       "FailedCreatePodSandBox", "RemovingNode", "SNATPortExhaustion", "OperationFailed",
       "CIDRNotAvailable", "FailedToCreateRoute"}


def _fork(recording: dict[str, Any], now: float) -> Simulation:
    loaded = load_recorded(recording["scenario"])
    sim = Simulation(loaded, seed=int(recording["seed"]), run_id=str(recording["run_id"]))
    for entry in recording.get("faults", []):
        if entry["call"] > now:
            break
        sim.advance_to(float(entry["call"]))
        sim.inject(FAULT.validate_python(entry["fault"]), at=entry.get("at"))
    sim.advance_to(now)
    return sim


class _Watch:
    """What happens after the fork: events of interest and traffic per flow."""

    def __init__(self, sim: Simulation) -> None:
        self.reasons: Counter[str] = Counter()
        self.objects: dict[str, set[str]] = defaultdict(set)
        self.flows: dict[str, Counter[str]] = defaultdict(Counter)
        self.error_ticks: dict[str, list[float]] = defaultdict(list)
        sim.bus.subscribe(SimEvent, self._on)

    def _on(self, env: Any) -> None:
        ev = env.event
        if ev.reason == "TrafficTick":
            c = self.flows[ev.flow]
            c["requests"] += ev.requests
            c["ok"] += ev.ok
            for cause, n in json.loads(ev.errors or "{}").items():
                c[cause] += n
            if ev.requests and ev.requests - ev.ok > 0.01 * ev.requests:
                self.error_ticks[ev.flow].append(ev.start)
        elif ev.reason in HIT:
            self.reasons[ev.reason] += 1
            self.objects[ev.reason].add(ev.involved_object()["name"])


def dry_run(recording: dict[str, Any], now: float, fault: Any, horizon: float) -> dict[str, Any]:
    """Simulate *fault* at *now* for *horizon* seconds against the same run without it.

    Raises:
        sim.kernel.errors.FaultError: the fault cannot apply at *now*.
    """
    base, hit = _fork(recording, now), _fork(recording, now)
    end = min(now + horizon, base.end)
    seen_base, seen_hit = _Watch(base), _Watch(hit)
    hit.inject(fault)
    base.advance_to(end)
    hit.advance_to(end)
    clients = {}
    for flow in sorted(set(seen_hit.flows) | set(seen_base.flows)):
        h, b = seen_hit.flows[flow], seen_base.flows[flow]
        errors = h["requests"] - h["ok"]
        causes = {k: v for k, v in h.items() if k not in ("requests", "ok")}
        base_causes = {k: v for k, v in b.items() if k not in ("requests", "ok")}
        extra = {k: v - base_causes.get(k, 0) for k, v in causes.items() if v > base_causes.get(k, 0)}
        ticks = seen_hit.error_ticks[flow]
        base_ticks = set(seen_base.error_ticks[flow])
        new_ticks = [t for t in ticks if t not in base_ticks]
        clients[flow] = {
            "requests": h["requests"], "errors": errors, "errorsWithout": b["requests"] - b["ok"],
            "extraErrorsByCause": extra,
            "firstErrorAt": new_ticks[0] if new_ticks else None,
            "lastErrorAt": new_ticks[-1] if new_ticks else None,
        }
    events = {r: {"count": n - seen_base.reasons.get(r, 0),
                  "objects": sorted(seen_hit.objects[r] - seen_base.objects[r])[:50]}
              for r, n in sorted(seen_hit.reasons.items()) if n > seen_base.reasons.get(r, 0)}
    return {"fault": fault.fault, "at": now, "horizon": end - now, "events": events,
            "clients": clients}
