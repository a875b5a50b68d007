"""Small inline SVG charts for the HTML reports: lines over time, bars, a heat map.

Plain strings, no JavaScript and no fonts or files from anywhere: a report is one file that
opens with no network. Every chart is ``<svg class="plot">`` with a ``<title>``, and draws its
data with elements of class ``data`` (what the browser test looks for).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 30, 40


@dataclass
class Series:
    """One line: points (x, y), a label for the legend, drawn as steps or straight."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    color: str = ""
    dashed: bool = False
    step: bool = True


@dataclass
class Marker:
    """A vertical line at *x* with a label (an exhaustion point, an instant fault)."""

    x: float
    label: str
    color: str = "#d62728"


@dataclass
class TimeChart:
    """Lines over simulated time, with shaded windows (faults) and markers."""

    title: str
    y_label: str
    x_max: float
    series: list[Series] = field(default_factory=list)
    windows: list[tuple[float, float, str]] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    x_format: Callable[[float], str] = lambda v: f"{v:g}"
    y_min: float | None = 0.0


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering low..high."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return _ticks(low, high, step)


def _ticks(low: float, high: float, step: float) -> list[float]:
    """Multiples of *step* from the one at or below *low* to the one at or above *high*."""
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    return [round(first + k * step, 10) for k in range(int(round((last - first) / step)) + 1)]


TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
              43200, 86400, 172800, 604800)
"""Tick spacings of a time axis, in seconds: 1 s up to a week."""


def time_ticks(end: float, count: int = 6) -> list[float]:
    """Ticks at round durations (5m, 10m, 1h...) from 0 to *end*."""
    step = next((s for s in TIME_STEPS if s * count >= end), TIME_STEPS[-1])
    return [t for t in _ticks(0.0, end, step) if t <= end + 1e-9]


def _fmt(v: float) -> str:
    if abs(v) >= 10_000:
        return f"{v / 1000:g}k"
    return f"{v:.6g}"


def _svg(title: str, body: list[str], width: int = WIDTH, height: int = HEIGHT) -> str:
    return (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f"<title>{escape(title)}</title>"
            f'<text x="{width / 2}" y="18" class="ttl" text-anchor="middle">{escape(title)}</text>'
            + "".join(body) + "</svg>")


def time_chart(c: TimeChart) -> str:
    """Render *c* as an SVG string."""
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = HEIGHT - BOTTOM, TOP
    values = [y for s in c.series for y in s.ys if y is not None and math.isfinite(y)]
    low = min(values, default=0.0) if c.y_min is None else min(c.y_min, *values) if values \
        else c.y_min
    high = max(values, default=1.0)
    yt = nice_ticks(low, high if high > low else low + 1)
    ylo, yhi = yt[0], yt[-1]
    xmax = c.x_max or 1.0

    def px(x: float) -> float:
        return x0 + (x1 - x0) * x / xmax

    def py(y: float) -> float:
        return y0 - (y0 - y1) * (y - ylo) / ((yhi - ylo) or 1)

    body = [f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" class="frame"/>']
    for start, end, label in c.windows:
        a, b = px(max(0.0, start)), px(min(xmax, end))
        body.append(f'<rect class="window" x="{a:.1f}" y="{y1}" width="{max(b - a, 1.5):.1f}" '
                    f'height="{y0 - y1}"><title>{escape(label)}</title></rect>')
    for t in yt:
        body.append(f'<line class="grid" x1="{x0}" x2="{x1}" y1="{py(t):.1f}" y2="{py(t):.1f}"/>'
                    f'<text x="{x0 - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in time_ticks(xmax):
        if t <= xmax:
            body.append(f'<text x="{px(t):.1f}" y="{y0 + 16}" text-anchor="middle">'
                        f"{escape(c.x_format(t))}</text>")
    body.append(f'<text x="14" y="{(y0 + y1) / 2}" text-anchor="middle" '
                f'transform="rotate(-90 14 {(y0 + y1) / 2})">{escape(c.y_label)}</text>')
    for i, s in enumerate(c.series):
        color = s.color or PALETTE[i % len(PALETTE)]
        pts = _points(s, px, py)
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        for part in pts:
            body.append(f'<polyline class="data" fill="none" stroke="{color}" stroke-width="1.8"'
                        f'{dash} points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in part)}"/>')
        ly = y1 + 14 + 16 * i
        body.append(f'<line x1="{x1 + 10}" x2="{x1 + 28}" y1="{ly - 4}" y2="{ly - 4}" '
                    f'stroke="{color}" stroke-width="2"{dash}/>'
                    f'<text x="{x1 + 32}" y="{ly}">{escape(s.label[:22])}</text>')
    for m in c.markers:
        x = px(min(max(m.x, 0.0), xmax))
        body.append(f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{y1}" y2="{y0}" '
                    f'stroke="{m.color}"/><text x="{x + 4:.1f}" y="{y1 + 12}" '
                    f'style="fill:{m.color}">{escape(m.label)}</text>')
    return _svg(c.title, body)


def _points(s: Series, px: Callable[[float], float], py: Callable[[float], float]
            ) -> list[list[tuple[float, float]]]:
    """Polyline pieces of *s* (a missing value breaks the line)."""
    parts: list[list[tuple[float, float]]] = [[]]
    for i, (x, y) in enumerate(zip(s.xs, s.ys, strict=True)):
        if y is None or not math.isfinite(y):
            if parts[-1]:
                parts.append([])
            continue
        if s.step and parts[-1] and i > 0:
            parts[-1].append((px(x), parts[-1][-1][1]))
        parts[-1].append((px(x), py(y)))
    return [p if len(p) > 1 else p * 2 for p in parts if p]


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], y_label: str,
              reference: float | None = None, reference_label: str = "") -> str:
    """Vertical bars, one per label, with an optional horizontal reference line."""
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = HEIGHT - BOTTOM - 40, TOP
    high = max([*values, reference or 0.0, 1.0])
    yt = nice_ticks(0, high)
    yhi = yt[-1]
    n = max(len(values), 1)
    slot = (x1 - x0) / n

    def py(y: float) -> float:
        return y0 - (y0 - y1) * y / yhi

    body = [f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" class="frame"/>']
    for t in yt:
        body.append(f'<line class="grid" x1="{x0}" x2="{x1}" y1="{py(t):.1f}" y2="{py(t):.1f}"/>'
                    f'<text x="{x0 - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = x0 + i * slot + slot * 0.15
        body.append(f'<rect class="data" x="{x:.1f}" y="{py(v):.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{max(y0 - py(v), 0.5):.1f}" fill="{PALETTE[0]}">'
                    f"<title>{escape(label)}: {_fmt(v)}</title></rect>")
        if n <= 24:
            cx = x + slot * 0.35
            body.append(f'<text x="{cx:.1f}" y="{y0 + 10}" text-anchor="end" '
                        f'transform="rotate(-40 {cx:.1f} {y0 + 10})">{escape(label[-18:])}</text>')
    if reference is not None:
        body.append(f'<line class="marker" x1="{x0}" x2="{x1}" y1="{py(reference):.1f}" '
                    f'y2="{py(reference):.1f}" stroke="{PALETTE[1]}" stroke-dasharray="6 4"/>'
                    f'<text x="{x1 + 6}" y="{py(reference) + 4:.1f}" style="fill:{PALETTE[1]}">'
                    f"{escape(reference_label)}</text>")
    body.append(f'<text x="14" y="{(y0 + y1) / 2}" text-anchor="middle" '
                f'transform="rotate(-90 14 {(y0 + y1) / 2})">{escape(y_label)}</text>')
    return _svg(title, body)


def _color(frac: float) -> str:
    """A light-to-dark blue-green-yellow scale (readable under black or white text)."""
    stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
    frac = min(max(frac, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(frac), len(stops) - 2)
    a, b, t = stops[i], stops[i + 1], frac - i
    return "#" + "".join(f"{round(a[k] + (b[k] - a[k]) * t):02x}" for k in range(3))


def heatmap(title: str, x_label: str, xs: Sequence[str], y_label: str, ys: Sequence[str],
            cells: dict[tuple[int, int], tuple[float | None, str]], value_label: str) -> str:
    """A grid of cells (x index, y index) -> (value for the colour, text to print in it).

    A cell with value None (no successful run) is hatched grey.
    """
    width = max(WIDTH, LEFT + 110 * len(xs) + RIGHT)
    cell_h = 44
    height = TOP + 20 + cell_h * max(len(ys), 1) + BOTTOM + 20
    x0, y1 = LEFT + 70, TOP + 20
    cell_w = (width - RIGHT - x0) / max(len(xs), 1)
    found = [v for v, _ in cells.values() if v is not None and math.isfinite(v)]
    low, high = min(found, default=0.0), max(found, default=1.0)
    body = []
    for (i, j), (value, text) in sorted(cells.items()):
        x, y = x0 + i * cell_w, y1 + j * cell_h
        if value is None or not math.isfinite(value):
            fill, ink = "#d9d9d9", "#000"
        else:
            frac = (value - low) / (high - low) if high > low else 0.5
            fill, ink = _color(frac), "#000" if frac > 0.55 else "#fff"
        body.append(f'<rect class="data" x="{x:.1f}" y="{y:.1f}" width="{cell_w - 2:.1f}" '
                    f'height="{cell_h - 2}" fill="{fill}"><title>{escape(text)}</title></rect>'
                    f'<text x="{x + cell_w / 2:.1f}" y="{y + cell_h / 2 + 4:.1f}" '
                    f'text-anchor="middle" style="fill:{ink}">{escape(text)}</text>')
    for i, label in enumerate(xs):
        body.append(f'<text x="{x0 + (i + 0.5) * cell_w:.1f}" y="{y1 + cell_h * len(ys) + 16}" '
                    f'text-anchor="middle">{escape(label)}</text>')
    for j, label in enumerate(ys):
        body.append(f'<text x="{x0 - 6}" y="{y1 + (j + 0.5) * cell_h + 4:.1f}" '
                    f'text-anchor="end">{escape(label)}</text>')
    body.append(f'<text x="{(x0 + width - RIGHT) / 2:.1f}" y="{height - 8}" '
                f'text-anchor="middle">{escape(x_label)}</text>')
    body.append(f'<text x="14" y="{y1 + cell_h * len(ys) / 2:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 14 {y1 + cell_h * len(ys) / 2:.1f})">'
                f"{escape(y_label)}</text>")
    lx = width - RIGHT + 20
    for k in range(5):
        v = low + (high - low) * (4 - k) / 4
        body.append(f'<rect x="{lx}" y="{y1 + k * 18}" width="14" height="16" '
                    f'fill="{_color((4 - k) / 4)}"/><text x="{lx + 20}" y="{y1 + k * 18 + 12}">'
                    f"{v:.4g}</text>")
    body.append(f'<text x="{lx}" y="{y1 - 6}">{escape(value_label[-24:])}</text>')
    return _svg(title, body, width, height)
