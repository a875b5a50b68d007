"""The shell's own metrics (beside the model's): pacer lag, sink errors, the MQTT outbox and
connection; and :func:`isolate`, which keeps a failing sink from stopping a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

log = structlog.get_logger("akssim.run")


@dataclass
class ShellMetrics:
    """Metrics of the shell itself (not of the model), on the run's registry."""

    registry: CollectorRegistry
    lag: Gauge = field(init=False)
    sink_errors: Counter = field(init=False)
    outbox: Gauge = field(init=False)
    dropped: Counter = field(init=False)
    published: Counter = field(init=False)
    reconnects: Counter = field(init=False)
    connected: Gauge = field(init=False)

    def __post_init__(self) -> None:
        r, run = self.registry, ["run"]
        self.lag = Gauge("akssim_pacer_lag_seconds", "How far simulated time is behind the "
                         "wall clock's target (paced runs).", run, registry=r)
        self.sink_errors = Counter("akssim_sink_errors", "Errors raised by a sink (handled: the "
                                   "run goes on).", ["run", "sink"], registry=r)
        self.outbox = Gauge("akssim_mqtt_outbox_messages", "Messages waiting for the broker.",
                            run, registry=r)
        self.dropped = Counter("akssim_mqtt_dropped", "Events that did not fit in the outbox "
                               "during a broker outage (reported, never silent).", run, registry=r)
        self.published = Counter("akssim_mqtt_published", "Messages the broker acknowledged.",
                                 run, registry=r)
        self.reconnects = Counter("akssim_mqtt_reconnects", "Reconnections to the broker.", run,
                                  registry=r)
        self.connected = Gauge("akssim_mqtt_connected", "1 while the broker connection is up.",
                               run, registry=r)


def isolate(sink: str, handler: Callable[..., None], metrics: ShellMetrics, run_id: str
            ) -> Callable[..., None]:
    """Wrap a sink (called with an envelope first) so that its failure is logged and counted,
    and the run goes on."""
    counter = metrics.sink_errors.labels(run_id, sink)

    def safe(env: Any, *rest: Any) -> None:
        try:
            handler(env, *rest)
        except Exception as exc:  # noqa: BLE001 - a sink must not stop the run
            counter.inc()
            log.error("sink_failed", sink=sink, seq=getattr(env, "seq", None), error=repr(exc))

    return safe
