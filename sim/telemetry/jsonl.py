"""Envelope -> one CloudEvents 1.0 JSON line (structured mode).

``data`` is shaped like a Kubernetes Event (``reason``, ``type``, ``involvedObject``,
``message``) plus ``sim_time``, ``run_id`` and the gapless ``seq``, and the event's own
fields. ``time`` is the scenario's ``startTime`` plus the simulated time, so the line is the
same on every run of the same scenario and seed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sim.events import SimEvent
from sim.kernel.bus import Envelope

SPEC_VERSION = "1.0"


def parse_start(start_time: str) -> datetime:
    """The wall-clock instant of simulated time 0 (``2026-01-01T00:00:00Z``)."""
    return datetime.fromisoformat(start_time.replace("Z", "+00:00"))


def to_cloudevent(env: Envelope[SimEvent], start: datetime) -> dict[str, Any]:
    """The CloudEvents 1.0 structured-mode object of one envelope."""
    ev = env.event
    when = start + timedelta(seconds=env.sim_time)
    obj = ev.involved_object()
    data: dict[str, Any] = {
        "reason": ev.reason,
        "type": str(ev.type),
        "involvedObject": obj,
        "message": ev.message,
        "sim_time": env.sim_time,
        "run_id": env.run_id,
        "seq": env.seq,
        "fields": ev.fields(),
    }
    subject = f"{obj['kind']}/{obj.get('namespace') + '/' if obj.get('namespace') else ''}{obj['name']}"
    return {
        "specversion": SPEC_VERSION,
        "id": f"{env.run_id}-{env.seq}",
        "source": f"/akssim/runs/{env.run_id}",
        "type": f"io.akssim.{ev.category}.{ev.reason}",
        "subject": subject,
        "time": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }


def line_encoder(start: datetime) -> Callable[[Envelope], str]:
    """Envelope -> its CloudEvent as compact JSON (no newline): the bytes every sink shares."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def encode(env: Envelope) -> str:
        return dumps(to_cloudevent(env, start))

    return encode


def line_writer(start: datetime, write: Callable[[str], Any]) -> Callable[[Envelope], None]:
    """A bus handler that writes each envelope as one JSON line through *write*."""
    encode = line_encoder(start)

    def handle(env: Envelope) -> None:
        write(encode(env) + "\n")

    return handle
