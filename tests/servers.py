"""Real servers for tests: Mosquitto and Prometheus on free loopback ports.

Under CI (``CI`` set) a missing binary is a failure, never a skip: ``.ci/run`` installs
Debian's ``mosquitto``, ``mosquitto-clients`` and ``prometheus`` packages.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def need(binary: str) -> str:
    """The path of *binary*; fails under CI and skips elsewhere when it is missing."""
    path = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.path.exists(p)), None)
    if path is None:
        message = f"{binary} is not installed (Debian: see .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port nobody listens on now, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:*port*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Mosquitto:
    """A Mosquitto broker of the test's own (persistence on, verbose log in *log*)."""

    dir: Path
    port: int = field(default_factory=free_port)
    extra: str = ""
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / "mosquitto.log"

    def start(self) -> Mosquitto:
        binary = need("mosquitto")
        conf = self.dir / "mosquitto.conf"
        (self.dir / "data").mkdir(exist_ok=True)
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nuser {getpass.getuser()}\n"
            f"persistence true\npersistence_location {self.dir / 'data'}/\n"
            f"log_dest file {self.log}\nlog_type all\n"
            "max_queued_messages 0\nmax_inflight_messages 0\n"
            + (self.extra or "allow_anonymous true\n"))
        with open(self.dir / "stdout.log", "ab") as out:
            self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=out)
        wait_port(self.port, proc=self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            _stop(self.proc, sig)


@dataclass
class Prometheus:
    """A Prometheus server of the test's own; query it through its HTTP API."""

    dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, scrape: list[str] | None = None, storage: Path | None = None,
              interval: str = "1s", bearer: str | None = None) -> Prometheus:
        binary = need("prometheus")
        config = self.dir / "prometheus.yml"
        targets = json.dumps(scrape or [])
        config.write_text(
            f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
            + (f"scrape_configs:\n  - job_name: akssim\n    static_configs:\n"
               f"      - targets: {targets}\n" if scrape else "")
            + (f"    authorization:\n      credentials: {json.dumps(bearer)}\n"
               if scrape and bearer else ""))
        data = storage or self.dir / "data"
        with open(self.dir / "prometheus.log", "ab") as out:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--storage.tsdb.retention.time=100y", "--web.enable-lifecycle"],
                stdout=out, stderr=out)
        wait_port(self.port, 30, proc=self.proc)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.base}/-/ready", timeout=1) as r:
                if r.status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError("prometheus never became ready")

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """The result vector of an instant query (at Unix time *at*, default now)."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        url = f"{self.base}/api/v1/query?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def targets_up(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.base}/api/v1/targets", timeout=10) as r:
            return json.load(r)["data"]["activeTargets"]

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@contextlib.contextmanager
def mosquitto(tmp: Path, extra: str = "") -> Iterator[Mosquitto]:
    """A running Mosquitto for the block."""
    broker = Mosquitto(tmp, extra=extra).start()
    try:
        yield broker
    finally:
        broker.stop()


@contextlib.contextmanager
def prometheus(tmp: Path, **kwargs: Any) -> Iterator[Prometheus]:
    """A running Prometheus for the block."""
    server = Prometheus(tmp).start(**kwargs)
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def uvicorn_client(app: Any, log_level: str = "warning") -> Any:
    """*app* served by uvicorn on a free loopback port in this event loop (lifespan on), and
    an httpx client of it; the server stops when the block ends."""
    import asyncio

    import httpx
    import uvicorn

    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level,
                                       lifespan="on"))
    task = asyncio.create_task(uv.serve())
    for _ in range(500):
        if uv.started:
            break
        await asyncio.sleep(0.01)
    assert uv.started
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 30)
