"""A small SVG line-chart writer for training curves (no plotting library needed).

    >>> svg = line_chart([1, 2, 3], [0.9, 0.7, float("nan")], title="d_loss")

The chart is one `<svg>` element, ready to be put inline into HTML: a frame, "nice" ticks with grid
lines on both axes, axis labels, a title, and the series as `<polyline>`s: one per run of finite
values, so NaN or infinite values leave gaps (an isolated finite point between gaps is drawn as a
dot; short series get a dot on every point). Every text is XML-escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np

WIDTH, HEIGHT = 440, 270
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 44  # margins around the plot area, pixels
COLOR = "#1f5fa8"
MARKERS_UP_TO = 30  # a series of at most this many finite points also gets a dot per point


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]:
    the first tick <= lo, the last >= hi. `integer`: steps of at least 1 (epochs).

    Example:
        >>> nice_ticks(0.0, 10.0)
        [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"need finite lo <= hi, got {lo}, {hi}")
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    if integer:
        step = max(1.0, round(step))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [_clean(i * step) for i in range(first, last + 1)]


def _clean(value: float) -> float:
    value = float(f"{value:.12g}")
    return 0.0 if value == 0 else value


def format_tick(value: float, step: float) -> str:
    """A tick label with as many decimals as the tick step needs ("0.25", "1e+06", "-3")."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or (step < 1e-3):
        return f"{value:.3g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


@dataclass(frozen=True)
class Frame:
    """The plot area of a chart and the linear maps from data to pixel coordinates.

    x_domain (x0, x1) maps to [left, width - right]; y_domain (y0, y1) to [height - bottom, top]
    (y grows upwards in the chart, downwards in SVG).
    """

    x_domain: tuple[float, float]
    y_domain: tuple[float, float]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM

    def x(self, value: float) -> float:
        """Pixel x of data x."""
        x0, x1 = self.x_domain
        return self.left + (value - x0) / (x1 - x0) * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        """Pixel y of data y."""
        y0, y1 = self.y_domain
        return self.height - self.bottom - (value - y0) / (y1 - y0) * (self.height - self.top - self.bottom)


def chart_frame(xs, ys, width: int = WIDTH, height: int = HEIGHT):
    """(frame, x ticks, y ticks) of a chart of the finite points of (xs, ys): the domains run from the
    first tick to the last; x ticks are integers (epochs). With no finite point: y ticks [0, 1]."""
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    finite = np.isfinite(xs) & np.isfinite(ys)
    x_lo, x_hi = (float(xs[finite].min()), float(xs[finite].max())) if finite.any() else (0.0, 1.0)
    if x_lo == x_hi:
        x_lo, x_hi = max(0.0, x_lo - 1), x_hi + 1
    y_lo, y_hi = (float(ys[finite].min()), float(ys[finite].max())) if finite.any() else (0.0, 1.0)
    x_ticks = nice_ticks(x_lo, x_hi, count=6, integer=True)
    y_ticks = nice_ticks(y_lo, y_hi, count=5)
    frame = Frame((x_ticks[0], x_ticks[-1]), (y_ticks[0], y_ticks[-1]), width, height)
    return frame, x_ticks, y_ticks


def segments(xs, ys) -> list[list[tuple[float, float]]]:
    """The runs of consecutive finite (x, y) points; NaN or infinity in x or y ends a run."""
    runs, current = [], []
    for x, y in zip(np.asarray(xs, np.float64), np.asarray(ys, np.float64)):
        if math.isfinite(x) and math.isfinite(y):
            current.append((float(x), float(y)))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def line_chart(xs, ys, title: str = "", x_label: str = "epoch", y_label: str = "", width: int = WIDTH,
               height: int = HEIGHT, color: str = COLOR) -> str:
    """An SVG line chart of ys (N,) over xs (N,) (any finite floats; NaN and infinity leave gaps).

    Returns:
        the `<svg>` element as a string: one `<polyline class="series">` per run of finite values
        (`segments`; its points "x,y ..." in pixels, `Frame.x`/`Frame.y` of the data), a
        `<circle class="point">` for a run of one point, a `<circle class="marker">` on every other
        point of a series of at most `MARKERS_UP_TO` points, ticks and labels, and the title, which
        says how many values were not finite.
    """
    xs, ys = np.asarray(xs, np.float64).ravel(), np.asarray(ys, np.float64).ravel()
    if xs.shape != ys.shape:
        raise ValueError(f"xs and ys differ in length: {xs.size} and {ys.size}")
    frame, x_ticks, y_ticks = chart_frame(xs, ys, width, height)
    x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else 1.0
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    bottom, right = height - frame.bottom, width - frame.right
    missing = int(np.sum(~(np.isfinite(xs) & np.isfinite(ys))))
    heading = title + (f" ({missing} non-finite value{'s' * (missing != 1)} not drawn)" if missing else "")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(heading)}">',
           f"<title>{escape(heading)}</title>",
           f'<rect x="{frame.left}" y="{frame.top}" width="{right - frame.left}" height="{bottom - frame.top}" '
           'fill="#fff"/>']
    for tick in x_ticks:
        px = frame.x(tick)
        out.append(f'<line class="grid" x1="{px:.2f}" y1="{frame.top}" x2="{px:.2f}" y2="{bottom}" stroke="#eee"/>')
        out.append(f'<line x1="{px:.2f}" y1="{bottom}" x2="{px:.2f}" y2="{bottom + 4}" stroke="#888"/>')
        out.append(f'<text class="tick" x="{px:.2f}" y="{bottom + 16}" text-anchor="middle" font-size="11">'
                   f"{escape(format_tick(tick, x_step))}</text>")
    for tick in y_ticks:
        py = frame.y(tick)
        out.append(f'<line class="grid" x1="{frame.left}" y1="{py:.2f}" x2="{right}" y2="{py:.2f}" stroke="#eee"/>')
        out.append(f'<line x1="{frame.left - 4}" y1="{py:.2f}" x2="{frame.left}" y2="{py:.2f}" stroke="#888"/>')
        out.append(f'<text class="tick" x="{frame.left - 6}" y="{py + 4:.2f}" text-anchor="end" font-size="11">'
                   f"{escape(format_tick(tick, y_step))}</text>")
    out.append(f'<text class="label" x="{(frame.left + right) / 2:.1f}" y="{height - 8}" text-anchor="middle" '
               f'font-size="12">{escape(x_label)}</text>')
    out.append(f'<text class="label" x="14" y="{(frame.top + bottom) / 2:.1f}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 14 {(frame.top + bottom) / 2:.1f})">{escape(y_label)}</text>')
    out.append(f'<text class="title" x="{(frame.left + right) / 2:.1f}" y="{frame.top - 10}" text-anchor="middle" '
               f'font-size="13" font-weight="bold">{escape(heading)}</text>')
    out.append(f'<rect class="frame" x="{frame.left}" y="{frame.top}" width="{right - frame.left}" '
               f'height="{bottom - frame.top}" fill="none" stroke="#888"/>')
    runs = segments(xs, ys)
    few = sum(len(run) for run in runs) <= MARKERS_UP_TO
    for run in runs:
        points = " ".join(f"{frame.x(x):.2f},{frame.y(y):.2f}" for x, y in run)
        out.append(f'<polyline class="series" points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in run if (few or len(run) == 1) else ():
            kind, radius = ("point", 3) if len(run) == 1 else ("marker", 2.5)
            out.append(f'<circle class="{kind}" cx="{frame.x(x):.2f}" cy="{frame.y(y):.2f}" r="{radius}" '
                       f'fill="{color}"/>')
    if not runs:
        out.append(f'<text x="{(frame.left + right) / 2:.1f}" y="{(frame.top + bottom) / 2:.1f}" '
                   'text-anchor="middle" font-size="12" fill="#a00">no finite values</text>')
    out.append("</svg>")
    return "\n".join(out)
