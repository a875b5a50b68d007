"""The only module importing aiomqtt: the publisher of a run's outbox, and the broker client
(:meth:`MqttSettings.client`, :data:`MqttError`) that the ``watch`` reader and the fault
commands use.

The publisher drains :class:`sim.telemetry.cloudevents.Outbox` in order. A message leaves the
outbox only when the broker acknowledged it (QoS 1/2) or it was written (QoS 0). On a broker
outage it reconnects with exponential backoff and resends from the oldest unacknowledged
message, so a subscriber may see a message twice but never misses one the outbox held.
The run's status topic carries a retained last will (``state: lost``).

On MQTT 5, each message says what it is, as the CloudEvents MQTT protocol binding asks of
structured mode: Content Type ``application/cloudevents+json; charset=utf-8`` on events
(``application/json`` on status messages and the will), and payload format indicator 1
(UTF-8). MQTT 3.1.1 has no properties: there the payload alone says it.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sim.telemetry import Outbox, status_message, status_topic

log = structlog.get_logger("akssim.mqtt")

MqttError = aiomqtt.MqttError
"""What the broker client raises when the broker is away or refuses (every other module catches
this name, never aiomqtt's own)."""

REFUSED = (4, 5, 134, 135)
"""CONNACK codes that retrying cannot fix: bad user name or password, not authorised (3.1.1, v5)."""
PROTOCOLS = {"5": aiomqtt.ProtocolVersion.V5, "3.1.1": aiomqtt.ProtocolVersion.V311}
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
"""The CloudEvents MQTT binding's Content Type for a structured-mode event (JSON format)."""
STATUS_CONTENT_TYPE = "application/json"


def v5_properties(content_type: str, packet: int = PacketTypes.PUBLISH) -> Properties:
    """MQTT 5 properties of a UTF-8 JSON message: its Content Type, payload format 1."""
    props = Properties(packet)
    props.ContentType = content_type
    props.PayloadFormatIndicator = 1
    return props


class SettingsError(ValueError):
    """An MQTT option is wrong: the message names the option, what was found and expected."""


@dataclass(frozen=True)
class MqttSettings:
    """Where and how to publish (from ``--mqtt URL`` and its companion options)."""

    host: str
    port: int = 1883
    qos: int = 1
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    insecure: bool = False
    protocol: str = "auto"
    """``auto`` (MQTT v5, falling back to 3.1.1 when the broker refuses it), ``5`` or ``3.1.1``."""
    client_id: str | None = None
    timeout: float = 5.0
    """Seconds to wait for a broker's acknowledgement before treating the link as broken."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MqttSettings:
        """``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...`` (TLS, port 8883).

        Raises:
            SettingsError: the URL or an option is not valid.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise SettingsError(f"--mqtt: expected a URL like mqtt://host:1883 or mqtts://host:8883, "
                                f"found {url!r}")
        try:
            port = parts.port
        except ValueError:
            raise SettingsError(f"--mqtt: port of {url!r} is not a number from 1 to 65535") from None
        if not parts.hostname:
            raise SettingsError(f"--mqtt: no host in {url!r} (expected mqtt://host:port)")
        tls_option = bool(options.pop("tls", False))
        tls = parts.scheme in ("mqtts", "ssl") or tls_option
        qos = options.pop("qos", 1)
        if qos not in (0, 1, 2):
            raise SettingsError(f"--mqtt-qos: expected 0, 1 or 2, found {qos!r}")
        protocol = options.pop("protocol", "auto")
        if protocol not in ("auto", *PROTOCOLS):
            raise SettingsError(f"--mqtt-protocol: expected auto, 5 or 3.1.1, found {protocol!r}")
        username = options.pop("username", None) or (unquote(parts.username) if parts.username else None)
        password = options.pop("password", None) or (unquote(parts.password) if parts.password else None)
        return cls(host=parts.hostname, port=port or (8883 if tls else 1883), qos=qos,
                   username=username, password=password, tls=tls, protocol=protocol, **options)

    def client(self, *, will: aiomqtt.Will | None = None, protocol: str | None = None,
               identifier: str | None = None, clean_session: bool | None = None) -> aiomqtt.Client:
        """An (unconnected) aiomqtt client with these settings."""
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        version = PROTOCOLS[protocol or ("5" if self.protocol == "auto" else self.protocol)]
        client = aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                              identifier=identifier or self.client_id, protocol=version, will=will,
                              tls_context=context, timeout=self.timeout,
                              clean_session=clean_session if version != PROTOCOLS["5"] else None)
        # the publisher keeps a window of publishes in flight on purpose
        client.pending_calls_threshold = 1 << 20
        return client


@dataclass
class PublisherStats:
    """What the publisher did, for metrics and the run's end."""

    published: int = 0
    reconnects: int = 0
    connected: bool = False
    errors: list[str] = field(default_factory=list)


class Publisher:
    """Drains an :class:`Outbox` to the broker, in order, through outages.

    Args:
        settings: the broker and options.
        outbox: the run's outbox (filled by the bus).
        run_id: the run (for the status topic and will).
        window: messages in flight at once (each acknowledged before it leaves the outbox).
        on_change: called after each batch or connection change (metrics).
    """

    def __init__(self, settings: MqttSettings, outbox: Outbox, run_id: str, *, window: int = 64,
                 on_change: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.outbox = outbox
        self.run_id = run_id
        self.window = window
        self.stats = PublisherStats()
        self._on_change = on_change or (lambda: None)
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._connected = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._protocol: str | None = None
        outbox.on_put = self._wake.set

    @property
    def connected(self) -> bool:
        """True while a broker connection is up."""
        return self.stats.connected

    async def start(self, first_connect_timeout: float = 5.0) -> None:
        """Connect (raising :class:`ConnectionError` with the broker's answer when the first
        connection fails within *first_connect_timeout*), then publish in the background."""
        self._task = asyncio.create_task(self._run(), name="mqtt-publisher")
        done, _ = await asyncio.wait(
            [self._task, asyncio.create_task(self._connected.wait())],
            timeout=first_connect_timeout, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            self._task.result()
        if not self._connected.is_set():
            self._closing = True
            self._task.cancel()
            detail = self.stats.errors[-1] if self.stats.errors else "no answer"
            raise ConnectionError(f"cannot connect to MQTT broker {self.settings.host}:"
                                  f"{self.settings.port}: {detail}")

    async def wait_room(self, low_water: int) -> None:
        """Wait until the outbox holds at most *low_water* messages (back-pressure)."""
        while len(self.outbox) > low_water:
            self._drained.clear()
            await self._drained.wait()

    async def close(self, timeout: float = 30.0) -> bool:
        """Send what is left (waiting at most *timeout* seconds) and disconnect cleanly.

        Returns:
            True when the outbox was empty at the end.
        """
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        return not self.outbox.queue

    def _will(self, protocol: str) -> aiomqtt.Will:
        lost = status_message(self.run_id, "lost", detail="the publisher disconnected without "
                              "finishing the run")
        props = (v5_properties(STATUS_CONTENT_TYPE, PacketTypes.WILLMESSAGE) if protocol == "5"
                 else None)
        return aiomqtt.Will(status_topic(self.run_id), lost.payload, qos=max(1, self.settings.qos),
                            retain=True, properties=props)

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            protocol = self._protocol or ("5" if self.settings.protocol == "auto"
                                          else self.settings.protocol)
            try:
                async with self.settings.client(will=self._will(protocol), protocol=protocol) as client:
                    self._protocol = protocol
                    self.stats.connected = True
                    self._connected.set()
                    self._on_change()
                    backoff = 0.2
                    if await self._send(client, v5=protocol == "5"):
                        return
            except aiomqtt.MqttCodeError as exc:
                refused_v5 = protocol == "5" and self.settings.protocol == "auto" and getattr(
                    exc, "rc", None) in (1, 132)  # unacceptable protocol version (3.1.1 / v5)
                if refused_v5:
                    self._protocol = "3.1.1"
                    continue
                self._broken(exc)
                if not self._connected.is_set() and getattr(exc, "rc", None) in REFUSED:
                    return  # bad credentials or not allowed: retrying will not help
            except (TimeoutError, aiomqtt.MqttError, OSError) as exc:
                self._broken(exc)
                if not self._connected.is_set() and _is_tls_failure(exc):
                    return  # a certificate the CA does not vouch for will not get better
            if self._closing and not self._connected.is_set():
                return
            self.stats.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _broken(self, exc: BaseException) -> None:
        was = self.stats.connected
        self.stats.connected = False
        self.stats.errors.append(str(exc) or type(exc).__name__)
        del self.stats.errors[:-5]
        self._on_change()
        if was:
            log.warning("mqtt_disconnected", broker=f"{self.settings.host}:{self.settings.port}",
                        error=str(exc), queued=len(self.outbox))

    async def _send(self, client: aiomqtt.Client, v5: bool = False) -> bool:
        """Publish until the outbox is empty and closing (True) or the link breaks (raises).

        A sliding window: up to ``window`` publishes in flight at all times; a message leaves
        the outbox (in order) as soon as it and every older one are acknowledged, and the next
        one is sent at once, instead of waiting for a whole window's acknowledgements.
        """
        queue, qos, window, wake = self.outbox.queue, self.settings.qos, self.window, self._wake
        # events carry their seq (from 1); status messages have none
        event_props = v5_properties(CLOUDEVENTS_CONTENT_TYPE) if v5 else None
        status_props = v5_properties(STATUS_CONTENT_TYPE) if v5 else None
        inflight: deque[asyncio.Task[None]] = deque()

        def acked(_: asyncio.Task[None]) -> None:
            wake.set()

        try:
            while True:
                wake.clear()
                n = 0
                while inflight and inflight[0].done():
                    task = inflight.popleft()
                    if task.cancelled():
                        raise aiomqtt.MqttError("publish cancelled")
                    failed = task.exception()
                    if failed is not None:
                        raise failed if isinstance(failed, Exception) else aiomqtt.MqttError(str(failed))
                    queue.popleft()
                    n += 1
                if n:
                    self.stats.published += n
                    if len(queue) <= self.outbox.capacity // 2:
                        self._drained.set()
                    self._on_change()
                while len(inflight) < window and len(inflight) < len(queue):
                    m = queue[len(inflight)]
                    props = event_props if m.seq else status_props
                    task = asyncio.ensure_future(client.publish(m.topic, m.payload, qos=qos,
                                                                retain=m.retain, properties=props))
                    task.add_done_callback(acked)
                    inflight.append(task)
                if not queue:
                    self._drained.set()
                    if self._closing:
                        return True
                await wake.wait()
        finally:
            for task in inflight:
                task.cancel()
            if inflight:
                await asyncio.gather(*inflight, return_exceptions=True)


def _is_tls_failure(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, ssl.SSLError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def render_event(payload: bytes) -> str:
    """One received message as a readable line (``watch``)."""
    try:
        ev = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return payload.decode("utf-8", "replace")
    data = ev.get("data") if isinstance(ev, dict) else None
    if not isinstance(data, dict):
        return json.dumps(ev, separators=(",", ":"))
    obj = data.get("involvedObject") or {}
    where = "/".join(x for x in (obj.get("namespace"), obj.get("name")) if x)
    return (f"{data.get('run_id', '?')} #{data.get('seq', '?'):>6} "
            f"t={float(data.get('sim_time', 0.0)):>10.3f}s {data.get('type', ''):<7} "
            f"{data.get('reason', '')}: {obj.get('kind', '')}/{where} {data.get('message', '')}")


def render_status(payload: bytes, topic: str) -> str:
    """A retained status message as a readable line (``watch``)."""
    try:
        body = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return f"{topic} {payload!r}"
    rest = ", ".join(f"{k}={v}" for k, v in body.items() if k not in ("run_id", "state", "topics"))
    return f"{body.get('run_id', '?')} status {body.get('state', '?')}" + (f" ({rest})" if rest else "")
