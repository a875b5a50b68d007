"""Chaos over MQTT: fault commands on ``akssim/<run_id>/commands/faults``, answered on
``akssim/<run_id>/commands/faults/ack``.

The payload is a fault in the scenario's format (``at`` is a delay from now), plus an optional
``commandId`` echoed in the acknowledgement. Who may publish commands is the broker's
business: ship an ACL that lets only the chaos user write there (``deploy/mosquitto/acl``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog

from services.live.manager import RunManager
from services.live.requests import RunError, parse_fault, parse_json_object
from services.mqtt.publisher import MqttError, MqttSettings
from sim.telemetry import TOPIC_ROOT

log = structlog.get_logger("akssim.commands")
COMMANDS = f"{TOPIC_ROOT}/+/commands/faults"


async def handle(manager: RunManager, topic: str, payload: bytes) -> tuple[str, dict[str, Any]]:
    """Apply one command; the acknowledgement's topic and body. Never raises for a payload:
    whatever was sent, the answer is an acknowledgement (``ok: false`` and the error)."""
    run_id = topic.split("/")[1]
    ack_topic = f"{TOPIC_ROOT}/{run_id}/commands/faults/ack"
    body: dict[str, Any] = {"run": run_id}
    try:
        data = parse_json_object(payload, "payload")
        if "commandId" in data:
            body["commandId"] = data.pop("commandId")
        return ack_topic, body | {"ok": True, **await manager.apply(run_id, parse_fault(data))}
    except RunError as exc:
        return ack_topic, body | {"ok": False, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a bug must not kill the listener: answer, log it
        log.exception("fault_command_failed", run=run_id)
        return ack_topic, body | {"ok": False, "error": f"internal error ({type(exc).__name__}); "
                                                      "the service log has the details"}


async def listen(settings: MqttSettings, manager: RunManager, ready: asyncio.Event | None = None) -> None:
    """Subscribe to fault commands and answer each, reconnecting with backoff."""
    backoff = 0.2
    while True:
        try:
            async with settings.client(protocol="3.1.1", identifier=None) as client:
                await client.subscribe(COMMANDS, qos=1)
                if ready is not None:
                    ready.set()
                backoff = 0.2
                async for msg in client.messages:
                    payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                    ack_topic, ack = await handle(manager, msg.topic.value, payload)
                    try:
                        text = json.dumps(ack)
                    except (TypeError, ValueError, RecursionError):  # a commandId of any shape
                        ack.pop("commandId", None)
                        text = json.dumps(ack)
                    await client.publish(ack_topic, text, qos=1)
                    log.info("fault_command", **ack)
        except MqttError as exc:
            log.warning("commands_disconnected", error=str(exc))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        except Exception:  # noqa: BLE001 - the listener outlives any bug: log, then reconnect
            log.exception("commands_failed")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
