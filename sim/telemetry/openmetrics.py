"""Backfill: every snapshot of a run with its simulated time, and OpenMetrics text from them.

During a run, :class:`SampleWriter` appends one JSON line per sampled instant to
``RUN_DIR/metrics.jsonl`` (the first line is a header: run id, start time, interval). Since
format 2 a line holds only what changed since the line before: the series whose value changed
or that are new (``f``) and the series that are gone (``g``); a quiet cluster writes a few
bytes a sample instead of every series again (issue 18: 800 MB for 24 hours of 600 nodes).
Later,
:func:`export` turns the file into OpenMetrics text with simulated time mapped onto wall-clock
timestamps (``start + sim_time``), ready for ``promtool tsdb create-blocks-from openmetrics``:
a run simulated in seconds can then be browsed as the hours it represents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client.utils import floatToGoString

from sim.telemetry.catalogue import (
    BY_NAME,
    CATALOGUE,
    COUNTER,
    EXACT_NAME,
    HISTOGRAM,
    Family,
    Histogram,
    Snapshot,
)

FORMAT = "akssim-metrics/2"
FORMATS = ("akssim-metrics/1", FORMAT)
"""Format 1 wrote every series at every sample; ``export`` still reads it."""


class SampleWriter:
    """Writes snapshots as JSON lines through *write* (a file's ``write``)."""

    def __init__(self, write: Callable[[str], Any], run_id: str, start_time: str,
                 interval: float) -> None:
        self._write = write
        self._dumps = json.JSONEncoder(separators=(",", ":")).encode
        self._last: dict[tuple[str, tuple[str, ...]], Any] = {}
        write(self._dumps({"format": FORMAT, "run": run_id, "startTime": start_time,
                           "interval": interval}) + "\n")

    def write(self, t: float, snapshot: Snapshot) -> None:
        """Append what changed at simulated time *t* since the last snapshot."""
        changed: dict[str, list[Any]] = {}
        gone: dict[str, list[Any]] = {}
        now: dict[tuple[str, tuple[str, ...]], Any] = {}
        last = self._last
        for fam, series in snapshot:
            rows: list[Any] = []
            for labels, value in series:
                if isinstance(value, Histogram):
                    encoded = ([[le, n] for le, n in value.buckets], value.sum, value.count)
                else:
                    encoded = (value,)
                key = (fam.name, tuple(labels))
                now[key] = encoded
                if last.get(key) != encoded:
                    rows.append([list(labels), *encoded])
            if rows:
                changed[fam.name] = rows
        for name, labels in last.keys() - now.keys():
            gone.setdefault(name, []).append(list(labels))
        self._last = now
        line: dict[str, Any] = {"t": t}
        if changed:
            line["f"] = changed
        if gone:
            line["g"] = {name: sorted(rows) for name, rows in sorted(gone.items())}
        self._write(self._dumps(line) + "\n")


class ExportError(ValueError):
    """The samples file is not what :class:`SampleWriter` writes; says where and why."""


def read_header(first_line: str, where: str) -> dict[str, Any]:
    """The header of a samples file (its first line)."""
    try:
        head = json.loads(first_line)
    except json.JSONDecodeError as exc:
        raise ExportError(f"{where}:1:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(head, dict) or head.get("format") not in FORMATS:
        found = head.get("format") if isinstance(head, dict) else type(head).__name__
        raise ExportError(f"{where}:1:1: format: expected one of {', '.join(FORMATS)}, found "
                          f"{found!r}")
    return head


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Iterable[str], values: Iterable[str], extra: str = "") -> str:
    body = ",".join(f'{n}="{_escape(str(v))}"' for n, v in zip(names, values, strict=True))
    if extra:
        body = f"{body},{extra}" if body else extra
    return "{" + body + "}"


def _num(v: float) -> str:
    return floatToGoString(v)


def _apply(state: dict[str, dict[tuple[str, ...], list[Any]]], fams: dict[str, Any],
           gone: dict[str, Any], where: str) -> None:
    """Bring *state* (family -> labels -> value) up to a sample line: its changes, then its
    removals. Raises ExportError naming the family when a row is not of its shape."""
    for name in (*fams, *gone):
        if name not in BY_NAME:
            raise ExportError(f"{where}: unknown metric family {name!r}")
    for name, rows in fams.items():
        width = len(BY_NAME[name].labels)
        series = state.setdefault(name, {})
        for r in rows:
            if not isinstance(r, list) or not r or not isinstance(r[0], list) or len(r[0]) != width:
                raise ExportError(
                    f"{where}: {name}: expected {width} label values "
                    f"({', '.join(BY_NAME[name].labels) or 'none'}), found "
                    f"{r[0] if isinstance(r, list) and r else r!r}: a file written by another "
                    f"version of aks-sim? (run the scenario again)")
            series[tuple(r[0])] = r[1:]
    for name, rows in gone.items():
        series = state.get(name, {})
        for labels in rows:
            series.pop(tuple(labels), None)


def export(lines: Iterable[str], start: datetime, where: str = "metrics.jsonl") -> Iterator[str]:
    """OpenMetrics text (lines with their newline) of a samples file; *start* is sim time 0.

    Raises:
        ExportError: the file is not a samples file, or a line is broken (file:line:column).
    """
    it = iter(lines)
    first = next(it, None)
    if first is None:
        raise ExportError(f"{where}: empty: expected a samples file written by aks-sim run")
    head = read_header(first, where)
    run = str(head.get("run", ""))
    data = _points(it, head.get("format") == FORMATS[0], start.timestamp(), where)
    for fam in CATALOGUE:
        series = data.get(fam.name)
        if not series:
            continue
        yield f"# TYPE {fam.name} {'unknown' if fam.name in EXACT_NAME else fam.type}\n"
        yield f"# HELP {fam.name} {_escape(fam.help)}\n"
        yield from _family_lines(fam, series, run)
    yield "# EOF\n"


def _points(it: Iterator[str], full: bool, base: float,
            where: str) -> dict[str, dict[tuple[str, ...], list[tuple[float, Any]]]]:
    """Every sample line after the header (from line 2) as family -> label values ->
    [(timestamp, value)]; *full*: format 1, where every line is the whole state."""
    data: dict[str, dict[tuple[str, ...], list[tuple[float, Any]]]] = {}
    state: dict[str, dict[tuple[str, ...], list[Any]]] = {}
    for lineno, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            ts = base + float(row["t"])
            fams = row["f"] if full else row.get("f", {})
            gone = {} if full else row.get("g", {})
            if not isinstance(fams, dict) or not isinstance(gone, dict):
                raise TypeError("f and g must be objects")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ExportError(f"{where}:{lineno}:1: expected a sample line "
                              f'({{"t": seconds, "f": families}}), found {line[:60]!r}: {exc}') from None
        if full:
            state = {}
        _apply(state, fams, gone, f"{where}:{lineno}:1")
        for name, series in state.items():
            points = data.setdefault(name, {})
            for labels, value in series.items():
                points.setdefault(labels, []).append((ts, value))
    return data


def _family_lines(fam: Family, series: dict[tuple[str, ...], list[tuple[float, Any]]],
                  run: str) -> Iterator[str]:
    """One family's samples, series by series in label order (a histogram as its buckets,
    count and sum; a counter with ``_total`` unless its exporter leaves it off)."""
    names = ("run", *fam.labels)
    for values in sorted(series):
        points = series[values]
        labels = _labels(names, (run, *values))
        if fam.type == HISTOGRAM:
            for ts, (buckets, total, count) in points:
                for le, n in (*buckets, ("+Inf", count)):
                    bound = le if isinstance(le, str) else _num(float(le))
                    le_labels = _labels(names, (run, *values), 'le="' + bound + '"')
                    yield f"{fam.name}_bucket{le_labels} {n} {ts:.3f}\n"
                yield f"{fam.name}_count{labels} {count} {ts:.3f}\n"
                yield f"{fam.name}_sum{labels} {_num(total)} {ts:.3f}\n"
        else:
            suffix = "_total" if fam.type == COUNTER and fam.name not in EXACT_NAME else ""
            for ts, (value,) in points:
                yield f"{fam.name}{suffix}{labels} {_num(value)} {ts:.3f}\n"
