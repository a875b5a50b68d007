"""The face of telemetry: the sinks the shells attach to a run's bus (loaded on first use;
see ``sim/__init__.pyi``)."""

from sim.telemetry.cloudevents import TOPIC_ROOT, WARNINGS, Outbox, status_message, status_topic
from sim.telemetry.jsonl import line_encoder, line_writer, parse_start
from sim.telemetry.logging import event_logger
from sim.telemetry.metrics import DEFAULT_SERIES_CAP, Sampler
from sim.telemetry.openmetrics import ExportError, SampleWriter, export, read_header
from sim.telemetry.prometheus import SimCollector

__all__ = [
    "DEFAULT_SERIES_CAP", "ExportError", "Outbox", "SampleWriter", "Sampler", "SimCollector",
    "TOPIC_ROOT", "WARNINGS", "event_logger", "export", "line_encoder", "line_writer",
    "parse_start", "read_header", "status_message", "status_topic",
]
