"""``Simulation``: one run of one scenario — the environment, streams, bus and model."""

from __future__ import annotations

import gc

import simpy

from sim import chaos, operations
from sim.kernel.bus import Bus
from sim.kernel.errors import FaultError
from sim.kernel.rng import Streams
from sim.model import Model
from sim.scenario.loaded import LoadedScenario
from sim.scenario.schema import AnyFault
from sim.views.report import Recorder, Report, build, kept_reasons
from sim.views.stats import Stats

Fault = AnyFault


class Simulation:
    """One run of one scenario: the environment, the random streams, the bus and the model.

    Same scenario + same seed gives the same event stream, byte for byte: every random draw
    comes from a named stream of :class:`Streams`, and nothing reads the wall clock.
    """

    def __init__(self, loaded: LoadedScenario, *, seed: int | None = None,
                 run_id: str = "local") -> None:
        self.loaded = loaded
        self.spec = loaded.spec
        self.seed = self.spec.seed if seed is None else seed
        self.run_id = run_id
        self.env = simpy.Environment()
        self.streams = Streams(self.seed)
        self.bus = Bus(run_id, lambda: self.env.now)
        self.recorder = Recorder(self.bus, kept_reasons(self.spec))
        self.model = Model(loaded, self.env, self.streams, self.bus)
        self.stats = self._stats(self.model)
        self._started = False
        self.end = self.spec.duration
        self.fault_errors: list[str] = []
        """Scheduled faults that could not apply when their time came."""
        self._sample_at = sorted({e.at for e in self.spec.expect
                                  if getattr(e, "at", None) is not None})
        self.samples: dict[float, dict[str, float]] = {}
        """Figures as they were at the times ``expect`` entries name (``at``)."""

    @staticmethod
    def _stats(model: Model) -> Stats:
        """The running figures of the run (peaks, minima), fed by the rooms' watches."""
        stats = Stats(model.env, model.pools, model.nodes, model.workloads)
        model.nodes.count_changed.subscribe(stats.node_count_changed)
        model.workloads.availability_changed.subscribe(stats.availability)
        model.workloads.pending_grew.subscribe(stats.pending_seen)
        return stats

    @property
    def now(self) -> float:
        """Simulated seconds since the start of the run."""
        return self.env.now

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self.model.start()
        self.stats.started()
        for fault in self.spec.chaos:
            self.inject(fault, at=fault.at)
        for op in self.spec.operations:
            self.model.timers.at(op.at, lambda o: operations.run(self.model, o), op)
        # the cluster is built: its objects live for the whole run (DESIGN.md, hot path)
        gc.collect()
        gc.freeze()

    def advance_to(self, t: float, *, max_events: int | None = None) -> bool:
        """Process events scheduled before *t*; events at exactly *t* run on the next call.

        Args:
            t: simulated time to reach (at most the scenario's end).
            max_events: stop early once this many events were published (a shell draining
                them to a broker applies back-pressure this way); the stop falls between
                two SimPy events, so the stream is the same however the run is cut.

        Returns:
            True when the simulation reached *t*; False when it stopped at *max_events*.
        """
        self._start()
        t = min(t, self.end)
        stop = None if max_events is None else self.bus.published + max_events
        while self._sample_at and self._sample_at[0] <= t:
            at = self._sample_at[0]
            if not self._advance(at, stop):
                return False
            self._sample(at)
        return self._advance(t, stop)

    def _advance(self, t: float, stop: int | None) -> bool:
        env = self.env
        if t <= env.now:
            return True
        if stop is not None:
            bus, step, peek = self.bus, env.step, env.peek
            while peek() < t:
                if bus.published >= stop:
                    return False
                step()
        env.run(until=t)
        return True

    def _sample(self, at: float) -> None:
        """The figures at *at*: everything scheduled before it has happened (read only)."""
        from sim.events import EventType
        from sim.views.report import figures

        self._sample_at.pop(0)
        figs = figures(self.model, self.stats)
        figs["events.warnings"] = sum(1 for e in self.recorder.events
                                      if e[3] == EventType.WARNING)
        self.samples[at] = figs

    def run(self) -> Report:
        """Run to the scenario's ``duration`` and return the report."""
        self.advance_to(self.end)
        return self.report()

    def inject(self, fault: Fault, *, at: float | None = None) -> None:
        """Apply *fault* at sim time *at* (default: now); recorded as ``FaultInjected``.

        Raises:
            FaultError: when *fault* cannot apply now (e.g. the node is gone). A fault
                scheduled for later that cannot apply when its time comes is skipped and
                recorded in :attr:`fault_errors`.
        """
        self._start()
        when = self.env.now if at is None else at
        if when <= self.env.now:
            chaos.inject(self.model, fault)
        else:
            self.model.timers.at(when, self._scheduled_fault, fault)

    def _scheduled_fault(self, fault: Fault) -> None:
        try:
            chaos.inject(self.model, fault)
        except FaultError as exc:
            self.fault_errors.append(f"{self.env.now:g}s {fault.fault}: {exc}")

    def report(self) -> Report:
        """The summary of the run so far."""
        return build(self.model, self.stats, self.recorder, self.run_id, self.seed, self.samples)
