"""Headless Chromium driven over the DevTools protocol on a pipe (no WebSocket library needed).

``open_page(path)`` loads a file, waits for its load event, and returns what the page showed:
console messages and uncaught exceptions, log entries (CSP violations, failed loads), the
boxes of its ``svg.plot`` charts and their drawn ``.data`` elements, and a PNG screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLOTS_JS = """JSON.stringify([...document.querySelectorAll('svg.plot')].map(s => {
  const r = s.getBoundingClientRect();
  const drawn = [...s.querySelectorAll('.data')].filter(e => {
    const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length;
  return {title: s.querySelector('title').textContent, width: r.width, height: r.height,
          drawn: drawn};
}))"""


def chromium() -> str | None:
    """The Chromium executable (Debian's ``chromium`` package), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    """What a page showed in the browser."""

    console: list[str] = field(default_factory=list)
    """Console messages of level error or warning, uncaught exceptions, error log entries."""
    plots: list[dict[str, Any]] = field(default_factory=list)
    screenshot: bytes = b""
    title: str = ""


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, read_fd: int) -> None:
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})  # type: ignore[no-any-return]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read_message(deadline))


def _console_lines(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning",
                                                                            "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            out.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            out.append(f"exception: {details.get('exception', {}).get('description') or details}")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            out.append(f"log.{params['entry']['level']}: {params['entry']['text']}")
    return out


def open_page(path: Path, width: int = 1100, height: int = 900) -> Page:
    """Load *path* in headless Chromium and report what it showed."""
    exe = chromium()
    assert exe, "Chromium is not installed (Debian: apt-get install chromium)"
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()

    def fds() -> None:  # Chromium reads commands on fd 3 and writes answers on fd 4
        a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.dup2(a, 3)
        os.dup2(b, 4)

    profile = tempfile.mkdtemp(prefix="aks-sim-chromium-")
    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
         f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", f"--window-size={width},{height}", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=fds, close_fds=False)  # noqa: PLW1509 - the fds must reach the child
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    pipe = _Pipe(proc, to_chrome_w, from_chrome_r)
    page = Page()
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False}, session=session)
        pipe.events.clear()
        pipe.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        pipe.wait_for("Page.loadEventFired")
        result = pipe.call("Runtime.evaluate", {"expression": PLOTS_JS, "returnByValue": True},
                           session=session)
        page.plots = json.loads(result["result"]["value"])
        page.title = pipe.call("Runtime.evaluate", {"expression": "document.title",
                                                    "returnByValue": True},
                               session=session)["result"]["value"]
        shot = pipe.call("Page.captureScreenshot", {"format": "png",
                                                    "captureBeyondViewport": True},
                         session=session)
        page.screenshot = base64.b64decode(shot["data"])
        time.sleep(0.2)  # late console messages (a resource failing after load)
        pipe.call("Runtime.evaluate", {"expression": "1"}, session=session)
        page.console = _console_lines(pipe.events)
        with contextlib.suppress(RuntimeError, TimeoutError):
            pipe.call("Browser.close", timeout=5)
    finally:
        os.close(to_chrome_w)
        os.close(from_chrome_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return page
