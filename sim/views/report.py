"""What a run produced: figures (:mod:`sim.views.figures`), the event tally, ``expect`` results,
and the text report.

Pure: the CLI writes ``report.json`` and prints :func:`render_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sim.events import EventType, SimEvent
from sim.kernel.bus import Bus, Envelope
from sim.scenario.figures import DEFAULT_ZERO
from sim.scenario.units import format_duration
from sim.views.figures import figures

if TYPE_CHECKING:
    from sim.model import Model
    from sim.scenario.schema import EventExpectation, FigureExpectation, Scenario
    from sim.views.stats import Stats

def kept_reasons(spec: Scenario) -> frozenset[str]:
    """The reasons whose events an ``expect`` entry matches by fields or message (the Recorder
    keeps those events whole)."""
    items: list[Any] = []
    for e in spec.expect:
        items += [e] if hasattr(e, "event") else [i for i in getattr(e, "sequence", []) or []
                                                   if not isinstance(i, str)]
    return frozenset(i.event for i in items if getattr(i, "fields", None) or
                     getattr(i, "message", None) is not None or
                     getattr(i, "message_matches", None) is not None)


class Recorder:
    """Bus subscriber keeping (time, reason, object name, type) of every event, and the event
    itself (its fields and message) only for the reasons whose ``expect`` entries look at them
    (*keep*): a day of traffic publishes hundreds of thousands of TrafficTicks."""

    def __init__(self, bus: Bus, keep: frozenset[str] = frozenset()) -> None:
        self.events: list[tuple[float, str, str, str]] = []
        self.raw: dict[int, SimEvent] = {}
        """The kept events themselves, by their index in :attr:`events`."""
        self.keep = keep
        self.first_message: dict[str, str] = {}
        self.unsubscribe = bus.subscribe(SimEvent, self._on)

    def _on(self, env: Envelope[SimEvent]) -> None:
        ev = env.event
        reason = ev.reason
        if reason in self.keep:
            self.raw[len(self.events)] = ev
        self.events.append((env.sim_time, reason, ev.involved_object()["name"], ev.type))
        if reason not in self.first_message:
            self.first_message[reason] = ev.message

    def matching(self, e: Any) -> list[int]:
        """Indexes of the events an ``event`` expectation (or sequence item) selects."""
        pattern = re.compile(e.message_matches) if e.message_matches else None
        want = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in e.fields.items()}
        out = []
        for i, (t, reason, obj, _) in enumerate(self.events):
            if reason != e.event or (e.after is not None and t < e.after) or (
                    e.before is not None and t >= e.before) or (
                    e.object is not None and not obj.startswith(e.object)):
                continue
            if not want and e.message is None and pattern is None:
                out.append(i)
                continue
            ev = self.raw[i]  # kept: kept_reasons() lists every reason matched this way
            if want:
                have = ev.fields()
                if any(_text(have.get(k)) != v for k, v in want.items()):
                    continue
            if e.message is not None or pattern is not None:
                message = ev.message
                if (e.message is not None and e.message not in message) or (
                        pattern is not None and pattern.search(message) is None):
                    continue
            out.append(i)
        return out


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass
class Result:
    """One ``expect`` entry, evaluated."""

    index: int
    ok: bool
    expectation: str
    actual: float
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"index": self.index, "ok": self.ok, "expectation": self.expectation,
                "actual": self.actual, "description": self.description}


def _within(e: EventExpectation | FigureExpectation, value: float) -> bool:
    if e.equals is not None and value != e.equals:
        return False
    if e.at_least is not None and value < e.at_least:
        return False
    return e.at_most is None or value <= e.at_most


def _bounds(e: EventExpectation | FigureExpectation) -> str:
    parts = []
    if e.equals is not None:
        parts.append(f"== {e.equals:g}")
    if e.at_least is not None:
        parts.append(f">= {e.at_least:g}")
    if e.at_most is not None:
        parts.append(f"<= {e.at_most:g}")
    return " and ".join(parts)


def _describe_match(e: Any, duration: float) -> str:
    window = ""
    if e.after is not None or e.before is not None:
        window = (f" between {format_duration(e.after or 0)} and "
                  f"{format_duration(e.before if e.before is not None else duration)}")
    on = f" on {e.object}*" if e.object else ""
    with_fields = "".join(f" {k}={v}" for k, v in e.fields.items())
    text = f" with message containing {e.message!r}" if e.message is not None else ""
    regex = f" with message matching /{e.message_matches}/" if e.message_matches else ""
    return f"{e.event}{with_fields}{on}{window}{text}{regex}"


def _sequence(spec: Scenario, recorder: Recorder, i: int, e: Any) -> Result:
    """Each item's first matching event after the previous item's (in stream order)."""
    from sim.scenario.schema import EventMatch

    items = [EventMatch(event=x) if isinstance(x, str) else x for x in e.sequence]
    last, found, when = -1, 0, []
    for item in items:
        nxt = next((j for j in recorder.matching(item) if j > last), None)
        if nxt is None:
            break
        last = nxt
        found += 1
        when.append(format_duration(recorder.events[nxt][0]))
    names = " before ".join(_describe_match(x, spec.duration) for x in items)
    got = f" (found {', '.join(when)})" if when else ""
    return Result(i, found == len(items), f"{names}: {found} of {len(items)} in order{got}",
                  found, e.description)


def _reach(m: Model | None, i: int, e: Any) -> Result:
    """``aks-sim reach``'s cell for the expectation's source and destination, now."""
    from sim.views.reach import NOT_EXPOSED, reachability

    r = e.reach
    text = f"reach {r.from_} -> {r.to}{f' port {r.port}' if r.port else ''} is {r.verdict!r}"
    if m is None:
        return Result(i, False, text + ": no model to ask", float("nan"), e.description)
    table = reachability(m, port=r.port)
    dst = r.to if r.to in table.destinations else next(
        (d for d in table.destinations if d.split("/")[1] == r.to), r.to)
    src = r.from_ if r.from_ in table.sources else next(
        (s for s in table.sources if "/" in s and s.split("/")[1] == r.from_), r.from_)
    cell = table.cells.get((src, dst))
    got = "-" if cell is None else "allow" if cell.allowed else (
        "not exposed" if cell.reason == NOT_EXPOSED else
        "partial" if len(cell.denied) < cell.connections else "deny")
    ok = got == r.verdict
    return Result(i, ok, f"{text}: got {got!r}" + ("" if ok or cell is None else
                                                    f" ({cell.reason})"),
                  1.0 if ok else 0.0, e.description)


def evaluate(spec: Scenario, recorder: Recorder, figs: dict[str, float],
             samples: dict[float, dict[str, float]] | None = None,
             m: Model | None = None) -> list[Result]:
    """Every ``expect`` entry of *spec* against what the run recorded (*samples*: the figures
    as they were at the times ``at`` names; *m*: the model, for ``reach``)."""
    results = []
    for i, e in enumerate(spec.expect):
        if hasattr(e, "event"):
            count = len(recorder.matching(e))
            text = f"count of {_describe_match(e, spec.duration)} events {_bounds(e)}"
            results.append(Result(i, _within(e, count), text, count, e.description))
        elif hasattr(e, "sequence"):
            results.append(_sequence(spec, recorder, i, e))
        elif hasattr(e, "reach"):
            results.append(_reach(m, i, e))
        else:
            source = figs if e.at is None else (samples or {}).get(e.at, {})
            value = source.get(e.figure, 0.0 if source and DEFAULT_ZERO.fullmatch(e.figure)
                               else float("nan"))
            at = f" at {format_duration(e.at)}" if e.at is not None else ""
            results.append(Result(i, _within(e, value), f"{e.figure}{at} {_bounds(e)}", value,
                                  e.description))
    return results


@dataclass
class Report:
    """The end-of-run summary."""

    scenario: str
    seed: int
    run_id: str
    sim_time: float
    events: int
    figures: dict[str, float]
    expectations: list[Result]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    subnets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every expectation holds."""
        return all(r.ok for r in self.expectations)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``report.json``)."""
        return {
            "scenario": self.scenario, "seed": self.seed, "run_id": self.run_id,
            "sim_time": self.sim_time, "events": self.events, "passed": self.passed,
            "expectations": [r.to_dict() for r in self.expectations],
            "warnings": self.warnings, "subnets": self.subnets, "figures": self.figures,
        }


def build(m: Model, stats: Stats, recorder: Recorder, run_id: str, seed: int,
          samples: dict[float, dict[str, float]] | None = None) -> Report:
    """Assemble the report of a finished (or stopped) run (*samples*: figures sampled at the
    times ``expect`` entries name)."""
    figs = figures(m, stats)
    figs["events.warnings"] = sum(1 for e in recorder.events if e[3] == EventType.WARNING)
    tally: dict[str, dict[str, Any]] = {}
    for t, reason, obj, etype in recorder.events:
        if etype != EventType.WARNING:
            continue
        row = tally.setdefault(reason, {"reason": reason, "count": 0, "first": t, "last": t,
                                        "first_object": obj,
                                        "message": recorder.first_message[reason]})
        row["count"] += 1
        row["last"] = t
    subnets = [{"name": s.name, "cidr": str(s.cidr), "usable": s.usable, "peak_used": s.peak_used,
                "final_used": s.used,
                "peak_used_fraction": figs[f"subnet.{s.name}.peakUsedFraction"],
                "held_by": {k: v for k, v in sorted(s.held_by.items()) if v}}
               for s in m.subnets.values()]
    return Report(m.spec.name, seed, run_id, m.env.now, len(recorder.events), figs,
                  evaluate(m.spec, recorder, figs, samples, m),
                  sorted(tally.values(), key=lambda r: (r["first"], r["reason"])), subnets)


def render_text(r: Report) -> str:
    """The report as a person reads it in a terminal."""
    lines = [f"Scenario {r.scenario} (seed {r.seed}, run {r.run_id}): "
             f"{format_duration(r.sim_time)} simulated, {r.events} events"]
    lines.append("")
    if r.warnings:
        lines.append("What went wrong (first occurrence, count, why):")
        for w in r.warnings:
            lines.append(f"  {format_duration(w['first']):>8}  {w['reason']:<24} x{w['count']:<6} "
                         f"{w['first_object']}")
            lines.append(f"            {w['message']}")
    else:
        lines.append("No warning events.")
    lines.append("")
    lines.append("Subnets (how close each came to full):")
    for s in r.subnets:
        bar = _bar(s["peak_used_fraction"])
        lines.append(f"  {s['name']:<16} {s['cidr']:<18} peak {s['peak_used']:>6}/{s['usable']:<6} "
                     f"{bar} {100 * s['peak_used_fraction']:5.1f}%  final {s['final_used']}")
    lines.append("")
    f = r.figures
    lines.append(f"Nodes: peak {f['nodes.peak']:g}, final {f['nodes.final']:g} "
                 f"({f['nodes.readyFinal']:g} Ready, lowest Ready {f['nodes.readyMin']:g}); "
                 f"pods running {f['pods.runningFinal']:g}, pending {f['pods.pendingFinal']:g} "
                 f"(peak {f['pods.pendingPeak']:g})")
    flows = sorted({k.split(".")[1] for k in f if k.startswith("flow.")})
    if flows:
        lines.append("")
        lines.append("Traffic (what clients saw):")
        for name in flows:
            base = f"flow.{name}"
            causes = ", ".join(f"{k.rsplit('.', 1)[1]} {int(v)}" for k, v in sorted(f.items())
                               if k.startswith(f"{base}.cause.") and v)
            lines.append(f"  {name:<16} {int(f[base + '.requests'])} requests, "
                         f"{int(f[base + '.errors'])} failed ({100 * f[base + '.errorRate']:.2f}%)"
                         + (f": {causes}" if causes else ""))
            ongoing = f[base + ".ongoingErrorSeconds"]
            still = (f", still failing when the run ended (for its last {ongoing:g}s)"
                     if ongoing else "")
            lines.append(f"  {'':<16} errors during {f[base + '.errorSeconds']:g}s "
                         f"(longest {f[base + '.longestErrorSeconds']:g}s{still}); latency p50 "
                         f"{_ms(f[base + '.p50'])}, p90 {_ms(f[base + '.p90'])}, "
                         f"p99 {_ms(f[base + '.p99'])}")
    if r.expectations:
        lines.append("")
        lines.append("Expectations:")
        for e in r.expectations:
            mark = "PASS" if e.ok else "FAIL"
            desc = f"  ({e.description})" if e.description else ""
            lines.append(f"  {mark}  {e.expectation}: got {e.actual:g}{desc}")
    lines.append("")
    if not r.expectations:
        result = "no expectations (add an expect: block to check what you expect)"
    else:
        result = "every expectation holds" if r.passed else "an expectation FAILED"
    lines.append("Result: " + result)
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.0f} ms"


def _bar(fraction: float, width: int = 20) -> str:
    filled = min(width, int(round(fraction * width)))
    return "[" + "#" * filled + "." * (width - filled) + "]"
