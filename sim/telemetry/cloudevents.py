"""Envelope -> MQTT message: a CloudEvents 1.0 JSON payload on ``akssim/<run>/<category>/<reason>``.

Pure: the shell (``services/mqtt.py``) does the I/O. The payload is the same object as a line
of ``events.jsonl`` (:func:`sim.telemetry.jsonl.to_cloudevent`), so a subscriber and the file
agree byte for byte. A Warning event is sent a second time, right after the first and with the
same bytes, on ``akssim/<run>/warnings/<category>/<reason>``, so a subscriber can take the
Warnings alone by topic (``akssim/<run>/warnings/#``) instead of the whole run (TrafficTicks are
Normal: the copies are few). The run's state is a retained message on ``akssim/<run>/status``;
the same topic carries the publisher's last will, so subscribers learn when it died.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sim.events import EventType, SimEvent
from sim.kernel.bus import Envelope
from sim.telemetry.jsonl import to_cloudevent

TOPIC_ROOT = "akssim"
WARNINGS = "warnings"
"""The level under ``akssim/<run>/`` that holds the copies of Warning events."""
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """One message to publish: topic, UTF-8 JSON payload, retained or not, and its ``seq``
    (0 for status messages)."""

    topic: str
    payload: bytes
    retain: bool = False
    seq: int = 0


def event_topic(run_id: str, category: str, reason: str) -> str:
    """``akssim/<run_id>/<category>/<reason>``."""
    return f"{TOPIC_ROOT}/{run_id}/{category}/{reason}"


def warning_topic(run_id: str, category: str, reason: str) -> str:
    """``akssim/<run_id>/warnings/<category>/<reason>`` (the copy of a Warning event)."""
    return f"{TOPIC_ROOT}/{run_id}/{WARNINGS}/{category}/{reason}"


def status_topic(run_id: str) -> str:
    """``akssim/<run_id>/status`` (retained)."""
    return f"{TOPIC_ROOT}/{run_id}/status"


def to_message(env: Envelope[SimEvent], start: datetime) -> MqttMessage:
    """The MQTT message of one envelope."""
    return message_of(env, _dumps(to_cloudevent(env, start)))


def message_of(env: Envelope[SimEvent], line: str) -> MqttMessage:
    """The MQTT message of one envelope whose CloudEvent line is already encoded
    (:func:`sim.telemetry.jsonl.line_encoder`): the payload is those same bytes."""
    ev = env.event
    return MqttMessage(event_topic(env.run_id, ev.category, ev.reason), line.encode(), False, env.seq)


def status_message(run_id: str, state: str, **fields: Any) -> MqttMessage:
    """The retained status of a run: ``state`` (running, finished, failed, lost) and *fields*
    (sim_time, events, dropped, summary, ...)."""
    body = {"run_id": run_id, "state": state, **fields}
    return MqttMessage(status_topic(run_id), _dumps(body).encode(), True, 0)


class Outbox:
    """A bounded, ordered queue of messages between the bus and the broker.

    :meth:`handler` (or :meth:`put_line`) queues each event, and a Warning's copy on the
    warnings tree right behind it (the pair is never split: the copy may overshoot
    *capacity* by one). What does not fit is counted, with the ``seq`` range lost, and never
    dropped silently: the shell reports :attr:`dropped` and :attr:`lost_ranges` in the run's
    status and at its end. :meth:`topic_counts` says how many events went to each topic, for
    the status (a subscriber compares it with what it received).

    Args:
        start: wall-clock instant of simulated time 0 (the events' ``time``).
        capacity: most messages held at once.
        on_put: called after each put (the shell wakes its sender with it).
    """

    def __init__(self, start: datetime, capacity: int = 100_000,
                 on_put: Callable[[], None] | None = None) -> None:
        self.start = start
        self.capacity = capacity
        self.queue: deque[MqttMessage] = deque()
        self.dropped = 0
        self.lost_ranges: list[list[int]] = []
        self.on_put = on_put
        self._counts: dict[tuple[str, str, bool], int] = {}

    def __len__(self) -> int:
        return len(self.queue)

    @property
    def room(self) -> int:
        """How many more messages fit."""
        return self.capacity - len(self.queue)

    def put(self, msg: MqttMessage) -> bool:
        """Queue *msg*; False (and counted) when the outbox is full."""
        if len(self.queue) >= self.capacity and not msg.retain:
            self.dropped += 1
            if self.lost_ranges and self.lost_ranges[-1][1] == msg.seq - 1:
                self.lost_ranges[-1][1] = msg.seq
            else:
                self.lost_ranges.append([msg.seq, msg.seq])
            return False
        self.queue.append(msg)
        if self.on_put is not None:
            self.on_put()
        return True

    def handler(self, env: Envelope[SimEvent]) -> None:
        """The bus subscriber: every event becomes a message (two for a Warning)."""
        self.put_line(env, _dumps(to_cloudevent(env, self.start)))

    def put_line(self, env: Envelope[SimEvent], line: str) -> None:
        """Queue the message of *env* from its already encoded CloudEvent *line*, and for a
        Warning its copy on the warnings tree."""
        ev = env.event
        category, reason = ev.category, ev.reason
        payload = line.encode()
        if not self.put(MqttMessage(event_topic(env.run_id, category, reason), payload, False,
                                    env.seq)):
            return
        warning = ev.type is EventType.WARNING
        key = (category, reason, warning)
        self._counts[key] = self._counts.get(key, 0) + 1
        if warning:
            self.queue.append(MqttMessage(warning_topic(env.run_id, category, reason), payload,
                                          False, env.seq))

    def topic_counts(self) -> dict[str, int]:
        """Events queued so far on each topic under ``akssim/<run>/`` (``node/NodeReady``,
        ``warnings/node/NodeNotReady``, ...): what the broker was sent, less :attr:`dropped`."""
        out: dict[str, int] = {}
        for (category, reason, warning), n in sorted(self._counts.items()):
            out[f"{category}/{reason}"] = n
            if warning:
                out[f"{WARNINGS}/{category}/{reason}"] = n
        return dict(sorted(out.items()))
