"""One run with its sinks: events.jsonl, metrics (HTTP and samples file), MQTT, logs, pacing.

The simulation advances in slices on the asyncio loop. Between slices the MQTT publisher
drains the outbox; with ``speed`` the slices follow the wall clock (``speed`` simulated seconds
per wall second, lag reported as ``akssim_pacer_lag_seconds``), without it the run goes as
fast as the CPU allows. Back-pressure: a slice never publishes more events than the outbox
has room for, and an unpaced run waits for the broker rather than lose events; a paced run
keeps its clock and counts what did not fit.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, start_http_server

from services.eventlog import create_events
from services.live.metrics import ShellMetrics, isolate
from services.live.pacer import Pacer
from services.live.recording import Recording
from services.mqtt.publisher import MqttSettings, Publisher
from sim import SimEvent, Simulation
from sim.telemetry import (
    DEFAULT_SERIES_CAP,
    Outbox,
    Sampler,
    SampleWriter,
    SimCollector,
    event_logger,
    line_encoder,
    parse_start,
    status_message,
)

log = structlog.get_logger("akssim.run")


class ShellError(RuntimeError):
    """The run cannot be watched as asked (a port in use, a broker away): says which option."""

STATUS_UPDATES = 20
"""Retained status updates over a run (plus the first and the last)."""
SLICE_EVENTS = 20_000
"""Most events one slice publishes before the loop gets control back."""
SLICE_WALL = 0.005
"""Wall seconds a slice aims at, so the HTTP server and the MQTT client never starve: the
slice's event budget follows how long the last one took (heavy clusters get small slices)."""
LOOP_TURNS = 4
"""Turns of the event loop given to HTTP and MQTT between two slices of an unpaced run."""
CHECKPOINT_WALL = 1.0
"""Wall seconds between two updates of recording.json's ``logged_to`` (events are flushed to
the log every slice)."""


@dataclass
class LiveOptions:
    """How a run is watched: every field maps to an ``aks-sim run`` option."""

    speed: float | None = None
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    mqtt: MqttSettings | None = None
    outbox: int = 100_000
    sample_interval: float = 15.0
    series_cap: int = DEFAULT_SERIES_CAP
    linger: float = 0.0
    log_events: bool = False
    step: float = 0.02
    """Wall seconds between slices of a paced run."""
    compress: bool = False
    """Write ``events.jsonl.gz`` instead of ``events.jsonl`` (services.eventlog)."""


@dataclass
class Outcome:
    """What the shell saw: MQTT figures for the report and exit status."""

    published: int = 0
    dropped: int = 0
    lost_ranges: list[list[int]] = field(default_factory=list)
    reconnects: int = 0
    metrics_url: str | None = None


class LiveRun:
    """Runs *sim* to its end with the sinks *opts* asks for, writing into *out_dir*."""

    def __init__(self, sim: Simulation, opts: LiveOptions, out_dir: str,
                 progress: Callable[[float, int], None] | None = None,
                 registry: CollectorRegistry | None = None, shell: ShellMetrics | None = None,
                 source: dict[str, Any] | None = None) -> None:
        self.sim = sim
        self.opts = opts
        self.out_dir = out_dir
        self.progress = progress or (lambda now, events: None)
        self.shared_registry = registry is not None
        self.registry = registry or CollectorRegistry()
        self.shell = shell or ShellMetrics(self.registry)
        self.collector = SimCollector(sim.run_id)
        self.sampler = Sampler(sim.model, sim.bus, opts.series_cap)
        self.outbox: Outbox | None = None
        self.publisher: Publisher | None = None
        self.outcome = Outcome()
        self.state = "pending"
        self.lag = 0.0
        self.recording = Recording(sim.run_id, sim.seed, source or {})
        self._server: Any = None
        self._next_status = 0.0
        self._faults: list[tuple[Any, float | None, asyncio.Future[float]]] = []
        self._stop = False
        self._budget = SLICE_EVENTS
        self._reported: dict[str, int] = {}
        self._files: list[Any] = []
        self._lazy: list[Any] = []
        self._checkpoint = 0.0
        self.line_listeners: list[Callable[[Any, str], None]] = []
        """Called with (envelope, CloudEvent line) for every event, after the event log."""

    def inject(self, fault: Any, delay: float | None = None) -> asyncio.Future[float]:
        """Apply *fault* at the next slice boundary (now, or *delay* simulated seconds later).

        Returns:
            A future of the simulated instant the fault was applied (or scheduled from);
            it fails with :class:`sim.kernel.errors.FaultError` when the fault cannot apply.
        """
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if self.state not in ("pending", "running"):
            future.set_exception(RuntimeError(f"run {self.sim.run_id} is {self.state}"))
        else:
            self._faults.append((fault, delay, future))
        return future

    def stop(self) -> None:
        """End the run at the next slice boundary (state ``stopped``)."""
        self._stop = True

    def _apply_faults(self) -> None:
        from sim import FaultError

        pending, self._faults = self._faults, []
        for fault, delay, future in pending:
            now = self.sim.now
            at = now + delay if delay else None
            try:
                self.sim.inject(fault, at=at)
            except FaultError as exc:
                if not future.done():
                    future.set_exception(exc)
                continue
            self.recording.add(now, at, fault)  # on disk at the next checkpoint, with the log's
            # length: a replay of a killed run checks the events logged by then (faults included)
            if not future.done():
                future.set_result(now)

    async def run(self) -> Outcome:
        """Run to the end; returns what the shell saw.

        Raises:
            ShellError: the broker cannot be reached at the start, or the metrics port cannot
                be opened.
        """
        sim, opts = self.sim, self.opts
        start = parse_start(sim.spec.start_time)
        os.makedirs(self.out_dir, exist_ok=True)
        events = create_events(self.out_dir, self.opts.compress)
        samples = open(os.path.join(self.out_dir, "metrics.jsonl"), "w", encoding="utf-8")  # noqa: SIM115
        self._files = [events, samples]
        self._lazy = [events] if self.opts.compress else []
        try:
            encode = line_encoder(start)
            listeners = self.line_listeners

            def emit(env: Any) -> None:
                # one encoding per event, shared by the log, the MQTT outbox and followers
                line = encode(env)
                events.write(line + "\n")
                for listener in listeners:
                    listener(env, line)

            sim.bus.subscribe(SimEvent, emit)
            writer = SampleWriter(samples.write, sim.run_id, sim.spec.start_time, opts.sample_interval)
            if opts.log_events:
                sim.bus.subscribe(SimEvent, isolate("log", event_logger(), self.shell, sim.run_id))
            if opts.metrics_port is not None:
                self._serve_metrics()
            elif self.shared_registry:
                self.collector.register(self.registry)
            if opts.mqtt is not None:
                await self._connect(start)
            self.state = "running"
            self.recording.write(self.out_dir)
            await self._loop(writer)
            if self.state == "running":
                self.state = "finished"
            await self._finish()
        except BaseException:
            self.state = "failed"
            raise
        finally:
            for _, _, future in self._faults:
                if not future.done():
                    future.set_exception(RuntimeError(f"run {sim.run_id} ended before the fault applied"))
            self.recording.state = self.state if self.state != "running" else "failed"
            self._flush(force=True)
            events.close()
            samples.close()
            if self.opts.linger > 0 and self._server is not None:
                await asyncio.sleep(self.opts.linger)
            self._stop_serving()
        return self.outcome

    def _serve_metrics(self) -> None:
        self.collector.register(self.registry)
        try:
            server, _thread = start_http_server(self.opts.metrics_port, addr=self.opts.metrics_host,
                                                registry=self.registry)
        except OSError as exc:
            raise ShellError(f"--metrics-port {self.opts.metrics_port}: cannot listen on "
                             f"{self.opts.metrics_host}:{self.opts.metrics_port}: "
                             f"{exc.strerror or exc}") from None
        self._server = server
        host, port = server.server_address[:2]
        self.outcome.metrics_url = f"http://{host}:{port}/metrics"
        log.info("metrics_serving", url=self.outcome.metrics_url)

    def _stop_serving(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if not self.shared_registry:
            self.collector.unregister()

    async def _connect(self, start: Any) -> None:
        assert self.opts.mqtt is not None
        self.outbox = outbox = Outbox(start, self.opts.outbox)
        self.publisher = Publisher(self.opts.mqtt, self.outbox, self.sim.run_id,
                                   on_change=self._mqtt_metrics)
        self.outbox.put(status_message(self.sim.run_id, "running", scenario=self.sim.spec.name,
                                       seed=self.sim.seed, sim_time=0.0, duration=self.sim.end,
                                       topics={}))
        self.line_listeners.append(isolate("mqtt", outbox.put_line, self.shell, self.sim.run_id))
        for counter in (self.shell.published, self.shell.reconnects, self.shell.dropped):
            counter.labels(self.sim.run_id)  # at 0 from the run's start, before the first change
        try:
            await self.publisher.start()
        except ConnectionError as exc:
            raise ShellError(f"--mqtt: {exc}") from None

    def _mqtt_metrics(self) -> None:
        p, s = self.publisher, self.shell
        if p is None or self.outbox is None:
            return
        run = self.sim.run_id
        s.outbox.labels(run).set(len(self.outbox))
        s.connected.labels(run).set(1 if p.connected else 0)
        # the publisher and the outbox keep the totals; the counters follow them
        for name, counter, total in (("published", s.published, p.stats.published),
                                     ("reconnects", s.reconnects, p.stats.reconnects),
                                     ("dropped", s.dropped, self.outbox.dropped)):
            counter.labels(run).inc(total - self._reported.get(name, 0))
            self._reported[name] = total

    async def _loop(self, writer: SampleWriter) -> None:
        sim, opts = self.sim, self.opts
        interval = opts.sample_interval
        next_sample = min(interval, sim.end)
        pacer = Pacer(opts.speed, asyncio.get_running_loop().time) if opts.speed is not None else None
        lag = self.shell.lag.labels(sim.run_id)
        # the run's start: every counter at 0 before the first event, so increase() sees it
        self._record(writer)
        while True:
            target = pacer.target() if pacer is not None else sim.end
            goal = min(target, next_sample)
            began = time.perf_counter()
            reached = sim.advance_to(goal, max_events=self._room())
            self._adapt(time.perf_counter() - began, reached)
            self._flush()
            self.progress(sim.now, sim.bus.published)
            if reached and (self._faults or self._stop):
                # between two instants: what replay reproduces with advance_to + inject
                self._apply_faults()
                if self._stop:
                    self.state = "stopped"
                    self.recording.stopped_at = sim.now
                    self._sample(writer)
                    break
            if reached and sim.now >= next_sample:
                self._sample(writer)
                if next_sample >= sim.end:
                    break
                next_sample = min(next_sample + interval, sim.end)
            if pacer is not None:
                self.lag = max(0.0, pacer.target() - sim.now)
                lag.set(self.lag)
            await self._breathe(reached, pacer, goal)

    def _flush(self, force: bool = False) -> None:
        """Put the slice's events and samples on disk (a ``kill -9`` loses at most the slice in
        progress) and, at most once a wall second, tell the recording how far the log goes."""
        wall = time.monotonic()
        checkpoint = force or wall - self._checkpoint >= CHECKPOINT_WALL
        for fh in self._files:
            if checkpoint or fh not in self._lazy:  # a gzip sync point costs compression
                fh.flush()
        if checkpoint:
            self._checkpoint = wall
            self.recording.logged_to = self.sim.now
            self.recording.logged_events = self.sim.bus.published
            self.recording.write(self.out_dir)

    def _room(self) -> int:
        budget = self._budget
        if self.outbox is None:
            return budget
        return max(1, min(budget, self.outbox.room))

    def _adapt(self, took: float, reached: bool) -> None:
        """Resize the event budget towards :data:`SLICE_WALL` of work per slice."""
        if took > SLICE_WALL:
            self._budget = max(1, int(self._budget * SLICE_WALL / took))
        elif not reached:
            self._budget = min(SLICE_EVENTS, self._budget * 2)

    async def _breathe(self, reached: bool, pacer: Pacer | None, goal: float) -> None:
        """Give the loop (and the publisher) its turn; wait for the wall clock or the broker."""
        p = self.publisher
        full = p is not None and self.outbox is not None and self.outbox.room <= 0
        if full and (p.connected or self.opts.speed is None):  # type: ignore[union-attr]
            # unpaced: wait for the broker (nothing lost); paced and connected: let it drain
            await p.wait_room(self.outbox.capacity // 2)  # type: ignore[union-attr]
            return
        if pacer is not None and reached and goal >= pacer.target() - 1e-9:
            await asyncio.sleep(self.opts.step)
        else:
            # several turns of the loop between two slices: a request needs a few (accept,
            # read, handle, write), each polled once a turn; a turn with nothing to do is ~10 us
            for _ in range(LOOP_TURNS):
                await asyncio.sleep(0)

    def _record(self, writer: SampleWriter) -> None:
        snapshot = self.sampler.sample()
        writer.write(self.sim.now, snapshot)
        self.collector.update(snapshot)

    def _sample(self, writer: SampleWriter) -> None:
        self._record(writer)
        if self.outbox is not None and self.sim.now >= self._next_status:
            self._next_status = self.sim.now + self.sim.end / STATUS_UPDATES
            self.outbox.put(status_message(self.sim.run_id, "running", sim_time=self.sim.now,
                                           duration=self.sim.end, events=self.sim.bus.published,
                                           dropped=self.outbox.dropped,
                                           topics=self.outbox.topic_counts()))

    async def _finish(self) -> None:
        if self.publisher is None or self.outbox is None:
            return
        report = self.sim.report()
        self.outbox.put(status_message(
            self.sim.run_id, self.state, sim_time=self.sim.now, events=self.sim.bus.published,
            passed=report.passed, dropped=self.outbox.dropped, lost=self.outbox.lost_ranges,
            topics=self.outbox.topic_counts()))
        await self.publisher.close()
        self._mqtt_metrics()
        o = self.outcome
        o.published = self.publisher.stats.published
        o.dropped = self.outbox.dropped + len(self.outbox)
        o.lost_ranges = self.outbox.lost_ranges
        o.reconnects = self.publisher.stats.reconnects
