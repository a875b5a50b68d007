"""``aks-sim watch``: subscribe to the akssim topic tree and print events readably."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import aiomqtt

from services.mqtt import MqttSettings, render_event, render_status
from sim.telemetry.cloudevents import TOPIC_ROOT


def topic_filters(run: str, categories: list[str] | None, reasons: list[str] | None) -> list[str]:
    """MQTT topic filters for a run (``+`` = any), categories and reasons."""
    cats = categories or ["+"]
    if reasons:
        return [f"{TOPIC_ROOT}/{run}/{c}/{r}" for c in cats for r in reasons]
    return [f"{TOPIC_ROOT}/{run}/{c}/#" if c != "+" else f"{TOPIC_ROOT}/{run}/+/+" for c in cats]


async def watch(args: argparse.Namespace, out: object = None) -> int:
    """Print events until ``--count`` events, the run's end (``--until-finished``) or Ctrl-C."""
    stream = out or sys.stdout
    settings = MqttSettings.from_url(args.mqtt, username=args.mqtt_username,
                                     password=os.environ.get("AKSSIM_MQTT_PASSWORD"),
                                     ca_file=args.mqtt_ca, tls=bool(args.mqtt_ca), protocol="3.1.1")
    filters = topic_filters(args.run, args.category, args.reason)
    status = f"{TOPIC_ROOT}/{args.run}/status"
    seen = 0
    persistent = args.session is not None
    try:
        async with settings.client(identifier=args.session, clean_session=not persistent,
                                   protocol="3.1.1") as client:
            for f in (*filters, status):
                await client.subscribe(f, qos=1)
            async for msg in client.messages:
                topic = msg.topic.value
                payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                if topic.endswith("/status"):
                    print(render_status(payload, topic), file=stream, flush=True)  # type: ignore[call-overload]
                    if args.until_finished and b'"state":"finished"' in payload:
                        return 0
                    continue
                if args.warnings and b'"type":"Warning"' not in payload:
                    continue
                line = payload.decode("utf-8", "replace") if args.json else render_event(payload)
                print(line, file=stream, flush=True)  # type: ignore[call-overload]
                seen += 1
                if args.count is not None and seen >= args.count:
                    return 0
    except aiomqtt.MqttError as exc:
        print(f"aks-sim watch: error: MQTT broker {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)
        return 2
    except asyncio.CancelledError:
        return 130
    return 0
