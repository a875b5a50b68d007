"""``aks-sim watch``: subscribe to the topics the filters name and print events readably.

The broker is asked only for what will be printed (``akssim/<run>/node/#``,
``akssim/<run>/warnings/#``, ...) plus the run's retained status, never the whole run tree and
its TrafficTicks: a slow reader then has little queued at the broker, and the broker's queue
limit (Mosquitto's ``max_queued_messages``) is not what decides whether the end arrives.

Drops are checked against the publisher's own counts: each status carries ``topics``, how many
events the run sent on each topic so far. From the first status that arrives live (not the
retained copy a new subscription gets), the events received on the watched topics must match
the growth of those counts; a shortfall is what the broker (or the network) lost on the way to
this watcher, and is reported on stderr (exit code 1 at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from services.mqtt.publisher import MqttError, MqttSettings, SettingsError, render_event, render_status
from sim.telemetry import TOPIC_ROOT, WARNINGS

ENDED = ("finished", "stopped", "failed")
"""States after which a run publishes nothing more (``lost`` is not one: the publisher may
come back)."""
IDLE = 2.0
"""Seconds without a message after which ``--until-finished`` asks the broker again for the
run's retained status (in case the live one was lost on the way)."""




def _name(value: str, option: str, known: set[str]) -> str:
    if value not in known:
        raise SettingsError(f"{option}: unknown value {value!r} (expected one of "
                            f"{', '.join(sorted(known))})")
    return value


def topic_filters(run: str, categories: list[str] | None, reasons: list[str] | None,
                  warnings: bool = False) -> list[str]:
    """The MQTT topic filters that carry exactly the events the options ask for.

    ``run`` ``+`` means every run. Categories and reasons are checked against the model's
    (a typo would otherwise subscribe to nothing, silently).

    Raises:
        SettingsError: a run id, category or reason that cannot be in a topic.
    """
    from sim import known_categories, known_reasons

    if not run or any(c in run for c in "/#") or ("+" in run and run != "+"):
        raise SettingsError(f"--run: expected a run id (no '/', '#' or '+') or '+' for every "
                            f"run, found {run!r}")
    cats = [_name(c, "--category", known_categories()) for c in categories or []]
    names = [_name(r, "--reason", known_reasons()) for r in reasons or []]
    base = f"{TOPIC_ROOT}/{run}/" + (f"{WARNINGS}/" if warnings else "")
    if names:
        return [f"{base}{c}/{r}" for c in cats or ["+"] for r in names]
    if cats:
        return [f"{base}{c}/#" for c in cats]
    return [f"{base}#"] if warnings else [f"{base}+/+"]


def matches(pattern: str, topic: str) -> bool:
    """MQTT topic matching (``+`` one level, ``#`` the rest) of *topic* against *pattern*."""
    want, got = pattern.split("/"), topic.split("/")
    for i, w in enumerate(want):
        if w == "#":
            return True
        if i >= len(got) or (w != "+" and w != got[i]):
            return False
    return len(want) == len(got)


@dataclass
class RunCheck:
    """What one run sent on the watched topics (its statuses' ``topics``) against what arrived."""

    patterns: list[str]
    """The filters, relative to ``akssim/<run>/``."""
    baseline: int | None = None
    """Events on the watched topics at the first live status (None: none seen yet)."""
    since: float = 0.0
    """The simulated time of that status."""
    seen: set[int] = field(default_factory=set)
    arrived: int = 0
    """Distinct events received after the baseline."""
    expected: int = 0
    reported: int = 0

    def sent(self, topics: dict[str, Any]) -> int:
        return sum(int(n) for t, n in topics.items() if any(matches(p, t) for p in self.patterns))

    def event(self, seq: int) -> None:
        if seq not in self.seen:
            self.seen.add(seq)
            if self.baseline is not None:
                self.arrived += 1

    def status(self, body: dict[str, Any], retained: bool) -> int | None:
        """Take a status in; returns how many events are missing so far, or None when it
        cannot tell (no live status yet, or a publisher without ``topics``)."""
        topics = body.get("topics")
        if not isinstance(topics, dict):
            return None
        if self.baseline is None:
            if retained:
                return None  # events sent since that status may be missing by design
            self.baseline = self.sent(topics)
            self.since = float(body.get("sim_time") or 0.0)
            return 0
        self.expected = self.sent(topics) - self.baseline
        return self.expected - self.arrived


class Watcher:
    """The state of one ``watch``: per-run checks, the last status printed, the exit code."""

    def __init__(self, args: argparse.Namespace, filters: list[str], out: TextIO) -> None:
        self.args = args
        self.out = out
        prefix = len(f"{TOPIC_ROOT}/{args.run}/")
        self.patterns = [f[prefix:] for f in filters]
        self.runs: dict[str, RunCheck] = {}
        self.last_status: dict[str, bytes] = {}
        self.printed = 0
        self.missed = False

    def check(self, run: str) -> RunCheck:
        if run not in self.runs:
            self.runs[run] = RunCheck(self.patterns)
        return self.runs[run]

    def on_status(self, topic: str, payload: bytes, retained: bool) -> bool:
        """Print a status (once per distinct payload); True when the watch should end."""
        run = topic.split("/")[1]
        if self.last_status.get(run) == payload:
            return False
        self.last_status[run] = payload
        print(render_status(payload, topic), file=self.out, flush=True)
        try:
            body = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False
        if not isinstance(body, dict):
            return False
        if not retained and body.get("state") == "running" and "seed" in body:
            self.runs[run] = RunCheck(self.patterns)  # a run starts (again, if its id is reused)
        check = self.check(run)
        missing = check.status(body, retained)
        ended = body.get("state") in ENDED
        if missing is not None and missing > check.reported:
            self.missed = True
            print(f"aks-sim watch: warning: run {run}: {missing} of the {check.expected} events "
                  f"it sent on the watched topics did not arrive (dropped by the broker or lost "
                  f"on the way)", file=sys.stderr, flush=True)
            check.reported = missing
        if ended and check.baseline is not None and missing is not None:
            since = "its start" if check.since == 0 else f"t={check.since:g}s"
            print(f"aks-sim watch: run {run} {body.get('state')}: {check.arrived} of "
                  f"{check.expected} events on the watched topics arrived (since {since})"
                  + (f"; {body['dropped']} events never reached the broker (the publisher's "
                     f"outbox was full)" if body.get("dropped") else ""),
                  file=sys.stderr, flush=True)
        return ended and self.args.until_finished

    def on_event(self, topic: str, payload: bytes) -> bool:
        """Print an event; True when ``--count`` is reached."""
        run = topic.split("/")[1]
        seq = _seq(payload)
        if seq is not None:
            check = self.check(run)
            if seq in check.seen:
                return False  # QoS 1 may deliver twice: print once
            check.event(seq)
        line = payload.decode("utf-8", "replace") if self.args.json else render_event(payload)
        print(line, file=self.out, flush=True)
        self.printed += 1
        return self.args.count is not None and self.printed >= self.args.count


def _seq(payload: bytes) -> int | None:
    try:
        seq = json.loads(payload)["data"]["seq"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        return None
    return seq if isinstance(seq, int) else None


async def watch(args: argparse.Namespace, out: Any = None) -> int:
    """Print events until ``--count`` events, the run's end (``--until-finished``) or Ctrl-C.

    Returns:
        0, or 1 when events were found missing, 2 on a broker error, 130 when cancelled.

    Raises:
        SettingsError: an option is not valid.
    """
    if args.count is not None and args.count < 1:
        raise SettingsError(f"--count: expected a number of events from 1, found {args.count}")
    if args.until_finished and args.run == "+":
        raise SettingsError("--until-finished: name the run to wait for with --run RUN_ID")
    filters = topic_filters(args.run, args.category, args.reason, args.warnings)
    settings = MqttSettings.from_url(args.mqtt, username=args.mqtt_username,
                                     password=os.environ.get("AKSSIM_MQTT_PASSWORD"),
                                     ca_file=args.mqtt_ca, tls=bool(args.mqtt_ca), protocol="3.1.1",
                                     insecure=bool(getattr(args, "mqtt_insecure", False)))
    watcher = Watcher(args, filters, out or sys.stdout)
    status = f"{TOPIC_ROOT}/{args.run}/status"
    persistent = args.session is not None
    try:
        async with settings.client(identifier=args.session, clean_session=not persistent,
                                   protocol="3.1.1") as client:
            for f in (*filters, status):
                await client.subscribe(f, qos=1)
            messages = aiter(client.messages)
            while True:
                try:
                    msg = await asyncio.wait_for(anext(messages), IDLE if args.until_finished
                                                 else None)
                except TimeoutError:
                    # quiet: ask again for the retained status (its live copy may have been lost)
                    await client.subscribe(status, qos=1)
                    continue
                topic = msg.topic.value
                payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                if topic.endswith("/status"):
                    if watcher.on_status(topic, payload, bool(msg.retain)):
                        break
                elif watcher.on_event(topic, payload):
                    break
    except MqttError as exc:
        print(f"aks-sim watch: error: MQTT broker {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)
        return 2
    except asyncio.CancelledError:
        return 130
    return 1 if watcher.missed else 0
