"""The Prometheus face of a run: a ``Collector`` serving the sampler's latest snapshot.

The collector is registered on a registry the shell injects (never the global one) and yields
one metric family per :data:`sim.telemetry.metrics.CATALOGUE` entry, each series with the
run's ``run`` label. It holds the latest snapshot, swapped whole by the shell after each step,
so a scrape from the HTTP server's thread always sees one instant of the model.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    UnknownMetricFamily,
)
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

from sim.telemetry.catalogue import COUNTER, EXACT_NAME, GAUGE, Histogram, Snapshot


class SimCollector:
    """Serves the latest :data:`Snapshot` of one run, every series labelled ``run``."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._snapshot: Snapshot = []
        self._registry: CollectorRegistry | None = None

    def update(self, snapshot: Snapshot) -> None:
        """Serve *snapshot* from now on."""
        self._snapshot = snapshot

    def register(self, registry: CollectorRegistry) -> None:
        """Register on *registry*; :meth:`unregister` undoes it at the run's end."""
        registry.register(self)
        self._registry = registry

    @property
    def registered(self) -> bool:
        """Whether a registry serves this run's series now."""
        return self._registry is not None

    def unregister(self) -> None:
        """Stop serving this run's series."""
        if self._registry is not None:
            self._registry.unregister(self)
            self._registry = None

    def describe(self) -> list[Metric]:
        # no describe-time collect: families appear with the first snapshot
        return []

    def collect(self) -> Iterator[Metric]:
        run = self.run_id
        for fam, series in self._snapshot:
            labels = ["run", *fam.labels]
            if fam.type == GAUGE or fam.name in EXACT_NAME:
                kind = UnknownMetricFamily if fam.name in EXACT_NAME else GaugeMetricFamily
                metric: Metric = kind(fam.name, fam.help, labels=labels)
                for values, value in series:
                    metric.add_metric([run, *values], value)  # type: ignore[attr-defined]
            elif fam.type == COUNTER:
                metric = CounterMetricFamily(fam.name, fam.help, labels=labels)
                for values, value in series:
                    metric.add_metric([run, *values], value)  # type: ignore[attr-defined]
            else:
                metric = HistogramMetricFamily(fam.name, fam.help, labels=labels)
                for values, hist in series:
                    assert isinstance(hist, Histogram)
                    buckets = [(floatToGoString(le), float(n)) for le, n in hist.buckets]
                    buckets.append(("+Inf", float(hist.count)))
                    metric.add_metric([run, *values], buckets, hist.sum)  # type: ignore[attr-defined]
            yield metric
