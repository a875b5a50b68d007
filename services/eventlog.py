"""A run's event log on disk: ``events.jsonl``, or ``events.jsonl.gz`` when the run was asked
to compress it (``aks-sim run --compress``). Every reader opens it through :func:`open_events`,
so replay checks, reports and followers read either.

A compressed log is flushed (a gzip sync point) once a wall second rather than every slice,
so a ``kill -9`` loses up to that second of events instead of one slice; it is about a tenth of
the size (JSON lines of one kind of event compress well).
"""

from __future__ import annotations

import contextlib
import gzip
import os
from collections.abc import Iterator
from typing import IO

PLAIN, COMPRESSED = "events.jsonl", "events.jsonl.gz"


def events_path(run_dir: str) -> str:
    """The event log of *run_dir*: the compressed one if the run wrote it, else the plain one."""
    gz = os.path.join(run_dir, COMPRESSED)
    return gz if os.path.exists(gz) else os.path.join(run_dir, PLAIN)


def open_events(run_dir: str, binary: bool = False) -> IO:
    """Open *run_dir*'s event log for reading (raises OSError as ``open`` does)."""
    path = events_path(run_dir)
    if path.endswith(".gz"):
        return gzip.open(path, "rb" if binary else "rt", encoding=None if binary else "utf-8")
    return open(path, "rb" if binary else "r", encoding=None if binary else "utf-8")  # noqa: SIM115


def create_events(out_dir: str, compress: bool) -> IO[str]:
    """A new event log in *out_dir* (the other kind, left by an earlier run there, is removed)."""
    for name in (PLAIN, COMPRESSED):
        if name != (COMPRESSED if compress else PLAIN):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(out_dir, name))
    if compress:
        return gzip.open(os.path.join(out_dir, COMPRESSED), "wt", encoding="utf-8", compresslevel=6)
    return open(os.path.join(out_dir, PLAIN), "w", encoding="utf-8")  # noqa: SIM115


def complete_lines(fh: IO) -> Iterator:
    """The lines of an open event log up to its end, or up to where a killed run's compressed
    log stops (gzip raises EOFError there: what came before is all that was written)."""
    try:
        yield from fh
    except EOFError:
        return
