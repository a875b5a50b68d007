"""Loading and validating scenarios off the event loop, each in a process of its own with a
wall-clock cap.

A scenario can be expensive to read (an alias bomb of 1 KB expands to a million values; a file
of thousands of entries takes seconds of checks). Done on the event loop that would stall every
other request and every live run; done in a thread it could never be stopped. So each load runs
in a child of a ``forkserver`` that has imported the loader once (a fork costs milliseconds),
sends back the result (or the issues) through a pipe, and is killed when the cap passes. At
most ``workers`` loads run at once; the rest wait their turn (within their own cap).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from sim import Issue, ScenarioError

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["sim.scenario", "sim.views.report", "sim.events"])


class LoadTimeout(Exception):
    """Loading took longer than the cap (the worker was killed)."""


def _child(conn: Connection, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """In the worker: load, and send ("ok", loaded), ("invalid", issues) or ("error", text)."""
    from sim.scenario import load_text

    try:
        result: tuple[str, Any] = ("ok", load_text(*args, **kwargs))
    except ScenarioError as exc:
        result = ("invalid", exc.issues)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which answers for it
        result = ("error", f"{type(exc).__name__}: {exc}"[:500])
    try:
        conn.send(result)
    finally:
        conn.close()


class Loader:
    """Scenario loads in worker processes: at most *workers* at once, each within *timeout*
    wall seconds (its wait for a turn included)."""

    def __init__(self, timeout: float, workers: int = 2) -> None:
        self.timeout = timeout
        self._turns = asyncio.Semaphore(workers)
        self._running: set[Any] = set()

    async def load(self, *args: Any, **kwargs: Any) -> Any:
        """``sim.scenario.load_text(*args, **kwargs)``: the :class:`LoadedScenario`.

        Raises:
            ScenarioError: the scenario is invalid (every issue, as ``load_text`` lists them).
            LoadTimeout: it took longer than the cap.
            RuntimeError: the worker failed (a bug, not the user's input).
        """
        deadline = time.monotonic() + self.timeout
        try:
            await asyncio.wait_for(self._turns.acquire(), self.timeout)
        except TimeoutError:
            raise LoadTimeout from None
        try:
            return await self._in_child(args, kwargs, deadline)
        finally:
            self._turns.release()

    async def _in_child(self, args: tuple[Any, ...], kwargs: dict[str, Any], deadline: float) -> Any:
        receiver, sender = _CONTEXT.Pipe(duplex=False)
        proc = _CONTEXT.Process(target=_child, args=(sender, args, kwargs), daemon=True,
                                name="aks-sim-load")
        await asyncio.to_thread(proc.start)
        sender.close()
        self._running.add(proc)
        done = threading.Event()
        try:
            kind, value = await asyncio.wait_for(
                asyncio.to_thread(_receive, receiver, done), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise LoadTimeout from None
        finally:
            if proc.is_alive():
                proc.kill()  # the thread's recv then ends (EOF)
            if done.is_set():  # else the thread still reads: it ends on EOF, then GC closes
                receiver.close()
            await asyncio.to_thread(proc.join, 5)
            self._running.discard(proc)
        if kind == "ok":
            return value
        if kind == "invalid":
            raise ScenarioError(value)
        raise RuntimeError(f"the scenario loader failed: {value}")

    def close(self) -> None:
        """Kill the loads still going (service shutdown)."""
        for proc in list(self._running):
            if proc.is_alive():
                proc.kill()


def _receive(conn: Connection, done: threading.Event) -> tuple[str, Any]:
    try:
        return conn.recv()  # type: ignore[no-any-return]
    except (EOFError, OSError):
        return "error", "the worker ended without an answer"
    finally:
        done.set()


def timeout_issue(file: str, seconds: float) -> Issue:
    """The issue of a scenario that took longer than *seconds* to load."""
    return Issue("", f"the scenario took more than {seconds:g} s to read and check (expected a "
                     "scenario that loads within AKSSIM_LOAD_TIMEOUT: no alias bombs, no "
                     "thousands of entries)", file, 1, 1)
