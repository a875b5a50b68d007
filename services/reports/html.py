"""``aks-sim report DIR``: one self-contained HTML file with plots, for a run or a sweep.

A run directory (written by ``aks-sim run``) has ``report.json``, ``events.jsonl`` and
``timeline.json``; the report plots IP use over time per subnet with the exhaustion point
marked, Ready nodes and Pending pods, requests and errors by cause, latency percentiles, and
the load spread across backends, with fault windows shaded. A sweep directory (written by
``aks-sim sweep``) has ``results.csv`` and ``sweep.json``; its report is a heat map of the
outcome over the parameter grid, with a 95% confidence interval from the seeds.

The file has inline SVG and CSS only: no script, nothing fetched (its Content-Security-Policy
forbids it), so it opens anywhere with no network.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from html import escape
from statistics import fmean, stdev
from typing import Any

from services.reports.svgplot import PALETTE, Marker, Series, TimeChart, bar_chart, heatmap, time_chart

MAX_TICKS = 600
"""Traffic points per chart; longer runs are averaged into this many buckets."""

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f4f4f4}.pass{color:#2ca02c;font-weight:600}
.fail{color:#d62728;font-weight:600}.note{color:#666}svg.plot{display:block;margin:10px 0;
max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#333}
svg .ttl{font-size:13px;font-weight:600}svg .frame{fill:none;stroke:#999}
svg .grid{stroke:#eee}.wide{overflow-x:auto}td{white-space:nowrap}
td:last-child{white-space:normal}svg .window{fill:#ff7f0e;fill-opacity:.18}td.num{text-align:right}
"""


class ReportError(Exception):
    """The directory is not one this command can report on (says what was expected)."""


def _page(title: str, body: list[str]) -> str:
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def _table(header: list[str], rows: Iterable[list[str]], raw: bool = False) -> str:
    out = ['<div class="wide"><table><tr>' + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c if raw else escape(c)}</td>" for c in r) + "</tr>")
    return "".join(out) + "</table></div>"


def _duration(seconds: float) -> str:
    from sim.scenario import format_duration

    return format_duration(seconds)


# --- a run -------------------------------------------------------------------------------------

def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})") from None


def _events(run_dir: str, wanted: set[str]) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """(sim time, reason, fields) of every event in *wanted*, streaming the run's event log
    (``events.jsonl`` or ``events.jsonl.gz``)."""
    from services.eventlog import complete_lines, events_path, open_events

    path = events_path(run_dir)
    try:
        fh = open_events(run_dir)
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    with fh:
        for n, line in enumerate(complete_lines(fh), start=1):
            if not any(f'"reason":"{w}"' in line for w in wanted):
                continue  # most lines are not plotted: skip them before parsing
            try:
                data = json.loads(line)["data"]
                yield float(data["sim_time"]), str(data["reason"]), dict(data["fields"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise ReportError(f"{path}:{n}: expected a CloudEvents line written by "
                                  "aks-sim run") from None


def _fault_windows(faults: list[tuple[float, str, dict[str, Any]]], end: float
                   ) -> tuple[list[tuple[float, float, str]], list[Marker]]:
    """Shaded windows (a fault until it is reverted or its node is Ready again) and markers
    for instant faults (a pod kill)."""
    windows, markers = [], []
    for i, (t, reason, f) in enumerate(faults):
        if reason != "FaultInjected":
            continue
        fault, target = f.get("fault", "?"), f.get("target", "?")
        until = next((u for u, r, g in faults[i + 1:]
                      if (r == "FaultReverted" and (g.get("fault"), g.get("target"))
                          == (fault, target)) or (r == "NodeReady" and g.get("node") == target)),
                     None)
        label = f"{fault} {target}"
        if until is None and fault in ("node_failure", "zone_failure"):
            until = end
        if until is None:
            markers.append(Marker(t, fault, "#ff7f0e"))
        else:
            windows.append((t, until, f"{label} ({_duration(t)}-{_duration(until)})"))
    return windows, markers


def _bucket(ticks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_TICKS points: consecutive ticks merged (counts summed, percentiles the
    worst of the bucket)."""
    if len(ticks) <= MAX_TICKS:
        return ticks
    size = -(-len(ticks) // MAX_TICKS)
    out = []
    for i in range(0, len(ticks), size):
        group = ticks[i:i + size]
        errors: dict[str, int] = defaultdict(int)
        for g in group:
            for k, v in g["errors"].items():
                errors[k] += v
        merged = {"t": group[-1]["t"], "span": sum(g["span"] for g in group),
                  "requests": sum(g["requests"] for g in group), "errors": dict(errors)}
        for q in ("p50", "p90", "p99"):
            values = [g[q] for g in group if g[q] is not None]
            merged[q] = max(values) if values else None
        out.append(merged)
    return out


def render_run(run_dir: str) -> str:
    """The HTML report of the run written to *run_dir* by ``aks-sim run``.

    Raises:
        ReportError: when a file is missing or not what ``aks-sim run`` writes.
    """
    report = _read_json(os.path.join(run_dir, "report.json"))
    if not isinstance(report, dict) or "figures" not in report:
        raise ReportError(f"{os.path.join(run_dir, 'report.json')}: expected the report.json "
                          "of aks-sim run")
    timeline_path = os.path.join(run_dir, "timeline.json")
    timeline = _read_json(timeline_path) if os.path.exists(timeline_path) else None
    end = float(report.get("sim_time", 0.0)) or 1.0
    full: list[tuple[float, str, dict[str, Any]]] = []
    ticks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t, reason, f in _events(run_dir,
                                {"SubnetIsFull", "FaultInjected", "FaultReverted", "NodeReady",
                                 "TrafficTick", "FailedCreatePodSandBox"}):
        if reason == "TrafficTick":
            ticks[f["flow"]].append({"t": f["start"] + f["tick"], "span": f["tick"],
                                     "requests": f["requests"],
                                     "errors": json.loads(f["errors"] or "{}"),
                                     "p50": f["p50"], "p90": f["p90"], "p99": f["p99"]})
        else:
            full.append((t, reason, f))
    windows, instants = _fault_windows(full, end)
    title = f"aks-sim run: {report.get('scenario', '?')}"
    body = [f"<h1>{escape(title)}</h1>", _run_summary(report)]
    body += _ip_section(timeline, full, windows, instants, end)
    body += _traffic_section(ticks, timeline, windows, instants, end)
    body += _tables(report)
    return _page(title, body)


def _run_summary(r: dict[str, Any]) -> str:
    verdict = ('<span class="pass">every expectation holds</span>' if r.get("passed")
               else '<span class="fail">an expectation FAILED</span>')
    return (f"<p>Seed {escape(str(r.get('seed')))}, run {escape(str(r.get('run_id')))}: "
            f"{escape(_duration(float(r.get('sim_time', 0))))} simulated, "
            f"{escape(str(r.get('events')))} events. Result: {verdict}. "
            '<span class="note">Shaded: fault windows.</span></p>')


def _ip_section(timeline: dict[str, Any] | None, events: list[tuple[float, str, dict[str, Any]]],
                windows: list[tuple[float, float, str]], instants: list[Marker],
                end: float) -> list[str]:
    out = ["<h2>IP addresses and nodes over time</h2>"]
    if not timeline:
        return out + ['<p class="note">No timeline.json in this directory (written by aks-sim '
                      "run from this version on): run the scenario again to plot it.</p>"]
    t = timeline["t"]
    for name, s in timeline["subnets"].items():
        first_full = next((e for e in events if e[1] == "SubnetIsFull"
                           and e[2].get("subnet") == name), None)
        markers = list(instants)
        if first_full is not None:
            markers.append(Marker(first_full[0], f"SubnetIsFull {_duration(first_full[0])}"))
        series = [Series("in use", t, s["used"])]
        title = f"Subnet {name} ({s['cidr']}): addresses in use"
        if max(s["used"], default=0) >= s["usable"] / 4:
            series.append(Series(f"usable {s['usable']}", [0.0, end], [s["usable"]] * 2,
                                 PALETTE[7], dashed=True))
        else:  # drawn to scale, the use would be a flat line at the bottom
            title += f" (of {s['usable']:,} usable)"
        chart = TimeChart(title, "addresses", end, series, windows, markers, _duration)
        out.append(time_chart(chart))
    out.append(time_chart(TimeChart("Nodes Ready and pods Pending", "count", end,
                                    [Series("nodes Ready", t, timeline["nodesReady"]),
                                     Series("pods Pending", t, timeline["podsPending"],
                                            PALETTE[1])], windows, instants, _duration)))
    return out


def _traffic_section(ticks: dict[str, list[dict[str, Any]]], timeline: dict[str, Any] | None,
                     windows: list[tuple[float, float, str]], instants: list[Marker],
                     end: float) -> list[str]:
    if not ticks:
        return []
    out = ["<h2>Traffic</h2>"]
    for flow, raw in sorted(ticks.items()):
        points = _bucket(raw)
        t = [p["t"] for p in points]
        causes = sorted({c for p in points for c in p["errors"]})
        series = [Series("requests/s", t, [p["requests"] / p["span"] for p in points])]
        series += [Series(f"{c}/s", t, [p["errors"].get(c, 0) / p["span"] for p in points],
                          PALETTE[(i + 1) % len(PALETTE)]) for i, c in enumerate(causes)]
        out.append(time_chart(TimeChart(f"Flow {flow}: requests and errors by cause",
                                        "per second", end, series, windows, instants,
                                        _duration)))
        lat = [Series(q, t, [None if p[q] is None else p[q] * 1000 for p in points],
                      PALETTE[i], step=False) for i, q in enumerate(("p50", "p90", "p99"))]
        out.append(time_chart(TimeChart(f"Flow {flow}: latency percentiles", "ms", end, lat,
                                        windows, instants, _duration)))
        backends = (timeline or {}).get("backends", {}).get(flow)
        if backends:
            names, counts = list(backends), [float(v) for v in backends.values()]
            out.append(bar_chart(f"Flow {flow}: load spread across {len(names)} backends",
                                 names, counts, "requests", fmean(counts), "even share"))
    return out


def _tables(r: dict[str, Any]) -> list[str]:
    out = []
    if r.get("expectations"):
        out.append("<h2>Expectations</h2>")
        rows = [[('<span class="pass">PASS</span>' if e["ok"] else
                  '<span class="fail">FAIL</span>'), escape(e["expectation"]),
                 escape(f"{e['actual']:g}" if isinstance(e["actual"], int | float) else
                        str(e["actual"])), escape(e.get("description") or "")]
                for e in r["expectations"]]
        out.append(_table(["", "expectation", "got", "why"], rows, raw=True))
    if r.get("warnings"):
        out.append("<h2>What went wrong (first occurrence, count, why)</h2>")
        out.append(_table(["first", "reason", "count", "object", "message"],
                          [[_duration(w["first"]), w["reason"], str(w["count"]),
                            str(w["first_object"]), str(w["message"])] for w in r["warnings"]]))
    return out


# --- a sweep -------------------------------------------------------------------------------------

_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 60: 2.000}
"""Two-sided 95% Student t quantiles by degrees of freedom (interpolated down, 1.96 past 60)."""


def interval95(values: list[float], proportion: bool) -> tuple[float, float]:
    """(mean, half-width of its 95% confidence interval) over the seeds.

    A share of passed runs uses Wilson's interval (honest at 0 and 1 with few seeds), its
    half-width being half the interval; a figure uses Student's t (0 for a single seed).
    """
    n = len(values)
    mean = fmean(values)
    if proportion:
        z = 1.96
        centre = (mean + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return mean, max(abs(centre + half - mean), abs(mean - centre + half))
    if n < 2:
        return mean, 0.0
    df = n - 1
    t = _T95[max(k for k in _T95 if k <= df)] if df <= 60 else 1.96
    return mean, t * stdev(values) / math.sqrt(n)


def _number(text: str) -> float | None:
    if text in ("", "nan"):
        return None
    if text in ("true", "false"):
        return 1.0 if text == "true" else 0.0
    try:
        return float(text)
    except ValueError:
        return None


def render_sweep(meta: dict[str, Any], rows: list[dict[str, str]]) -> str:
    """The HTML report of a sweep: the heat map of its outcome and its tables."""
    params: list[str] = meta["parameters"]
    outcome: str = meta["outcome"]
    title = f"aks-sim sweep: {meta['name']}"
    failed = [r for r in rows if r.get("status") != "ok"]
    body = [f"<h1>{escape(title)}</h1>",
            f"<p>{escape(meta.get('description') or '')}</p>",
            f"<p>Scenario {escape(meta['scenario'])}; {len(rows)} runs "
            f"({len(rows) - len(failed)} ok, {len(failed)} failed or invalid); seeds "
            f"{escape(', '.join(map(str, meta['seeds'])))}.</p>"]
    body += _heat(params, outcome, rows)
    body += _figure_table(params, meta["figures"], rows)
    if failed:
        body.append("<h2>Failed and invalid runs</h2>")
        body.append(_table(["run", *params, "seed", "status", "error"],
                           [[r["run"], *(r[p] for p in params), r["seed"], r["status"],
                             r["error"]] for r in failed]))
    return _page(title, body)


def _points(params: list[str], rows: list[dict[str, str]]) -> dict[tuple[str, ...], list[dict[str, str]]]:
    points: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for r in rows:
        points.setdefault(tuple(r[p] for p in params), []).append(r)
    return points


def _heat(params: list[str], outcome: str, rows: list[dict[str, str]]) -> list[str]:
    xp = params[0]
    yp = params[1] if len(params) > 1 else None
    xs = list(dict.fromkeys(r[xp] for r in rows))
    ys = list(dict.fromkeys(r[yp] for r in rows)) if yp else [outcome]
    proportion = outcome == "passed"
    cells: dict[tuple[int, int], tuple[float | None, str]] = {}
    for key, group in _points([xp, yp] if yp else [xp], rows).items():
        i, j = xs.index(key[0]), ys.index(key[1]) if yp else 0
        values = [v for r in group if r["status"] == "ok"
                  if (v := _number(r[outcome])) is not None]
        if not values:
            cells[(i, j)] = (None, f"no value (0/{len(group)})")
            continue
        mean, half = interval95(values, proportion)
        cells[(i, j)] = (mean, f"{mean:.3g} ±{half:.2g} (n={len(values)})")
    what = "share of runs whose expect: holds" if proportion else f"mean {outcome}"
    note = (f" Averaged over {', '.join(params[2:])} too." if len(params) > 2 else "")
    return [f"<h2>{escape(what)} over the grid</h2>",
            f'<p class="note">Each cell: the mean over its runs ± the half-width of a 95% '
            f"confidence interval ({'Wilson' if proportion else 'Student t'}), n = runs with a "
            f"value.{escape(note)}</p>",
            heatmap(f"{what} by {xp}" + (f" and {yp}" if yp else ""), xp, xs,
                    yp or "", ys, cells, what)]


def _figure_table(params: list[str], figures: list[str], rows: list[dict[str, str]]) -> list[str]:
    cols = ["passed", *figures]
    out_rows = []
    for key, group in _points(params, rows).items():
        cells = list(key)
        for c in cols:
            values = [v for r in group if r["status"] == "ok" if (v := _number(r[c])) is not None]
            if values:
                mean, half = interval95(values, c == "passed")
                cells.append(f"{mean:.4g} ±{half:.2g}" if half else f"{mean:.4g}")
            else:
                cells.append("")
        out_rows.append(cells)
    return ["<h2>Figures by grid point (mean ± 95% half-width over the seeds)</h2>",
            _table([*params, *cols], out_rows)]


# --- the command -------------------------------------------------------------------------------

def render_dir(path: str) -> str:
    """The report of a run or a sweep directory.

    Raises:
        ReportError: when *path* is neither.
    """
    if os.path.exists(os.path.join(path, "sweep.json")):
        import csv

        meta = _read_json(os.path.join(path, "sweep.json"))
        with open(os.path.join(path, "results.csv"), encoding="utf-8", newline="") as fh:
            return render_sweep(meta, list(csv.DictReader(fh)))
    if os.path.exists(os.path.join(path, "report.json")):
        return render_run(path)
    if not os.path.isdir(path):
        raise ReportError(f"{path}: no such directory; expected the --out directory of "
                          "aks-sim run or aks-sim sweep")
    raise ReportError(f"{path}: has neither report.json (aks-sim run) nor sweep.json and "
                      "results.csv (aks-sim sweep)")
