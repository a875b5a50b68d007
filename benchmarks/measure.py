"""What every benchmark measures about itself: memory, garbage collection, the code version."""

from __future__ import annotations

import gc
import hashlib
import os
import platform
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def hwm_mb() -> float | None:
    """Peak RSS of this process image (VmHWM; Linux), None elsewhere.

    Unlike ``ru_maxrss``, it starts afresh at exec: a child started by ``subprocess`` (vfork +
    exec) otherwise inherits the parent's high-water mark in ``ru_maxrss``.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """Current resident set size, MiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


class GcWatch:
    """Time spent in the cyclic garbage collector while it is installed (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._t = 0.0
        gc.callbacks.append(self._on)

    def _on(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._t
            self.collections[info["generation"]] += 1

    def stop(self) -> None:
        """Uninstall the callback."""
        if self._on in gc.callbacks:
            gc.callbacks.remove(self._on)


def model_digest() -> str:
    """Short sha256 of the model's source (sim/**/*.py), to tie figures to a code version."""
    root = os.path.join(os.path.dirname(HERE), "sim")
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                h.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()[:12]


def cpu_name() -> str:
    """The CPU model, as /proc/cpuinfo names it."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> float | None:
    """The 1-minute load average (other work on this machine skews wall times)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None
