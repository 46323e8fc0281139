"""Server-side SVG charts (no JavaScript): a step line for concurrency, bars for counts. Pure functions.

The output is markup built from numbers and escaped labels only, so it is safe to embed as-is.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 640, 220, 44, 36, 14, 12
CHAR_WIDTH = 6.5  # an axis label character at 11 px, generously (labels are digits and punctuation)


def _frame(title: str, ymax: float, body: list[str], x_labels: list[tuple[float, str]], kind: str) -> Markup:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        )
    ]
    for step in range(5):
        value = ymax * step / 4
        y = PAD_TOP + plot_h - plot_h * step / 4
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text class="ylabel" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    for x, label in _fitted(x_labels):
        parts.append(f'<text class="xlabel" x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle">{escape(label)}</text>')
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))


def _fitted(x_labels: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Labels centred on their bar, moved inwards at the edges so none is cut off, and left out where they would
    overlap the one before (the last label always stays: it says where the range ends)."""
    kept: list[tuple[float, str]] = []
    for index, (x, label) in enumerate(x_labels):
        half = len(label) * CHAR_WIDTH / 2
        x = min(max(x, PAD_LEFT + half), WIDTH - PAD_RIGHT - half)
        while kept and kept[-1][0] + len(kept[-1][1]) * CHAR_WIDTH / 2 + 4 > x - half:
            if index < len(x_labels) - 1:
                break
            kept.pop()  # the last label wins over its neighbour
        else:
            kept.append((x, label))
    return kept


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for candidate in (1, 2, 4, 5, 10):
        if value <= candidate:
            return candidate
    magnitude = 10 ** (len(str(int(value))) - 1)
    return ((int(value) // magnitude) + 1) * magnitude


def step_chart(series: list[tuple[datetime, int]], start: datetime, end: datetime, title: str) -> Markup:
    """A step line of a count over time (each point holds until the next one), from ``start`` to ``end``."""
    span = max((end - start).total_seconds(), 1.0)
    ymax = _nice_max(max([count for _, count in series], default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM

    def xy(moment: datetime, count: float) -> tuple[float, float]:
        x = PAD_LEFT + plot_w * min(max((moment - start).total_seconds() / span, 0), 1)
        return x, PAD_TOP + plot_h - plot_h * count / ymax

    coords: list[tuple[float, float]] = []
    for moment, count in series:
        x, y = xy(moment, count)
        if coords:
            coords.append((x, coords[-1][1]))  # hold the previous count until this instant
        coords.append((x, y))
    if coords:
        coords.append((xy(end, 0)[0], coords[-1][1]))
    points = [f"{x:.1f},{y:.1f}" for x, y in coords]
    body = [f'<polyline class="series" data-points="{len(series)}" fill="none" points="{" ".join(points)}"/>']
    labels = [(xy(moment, 0)[0], moment.strftime("%m-%d %H:%M")) for moment in (start, start + (end - start) / 2, end)]
    return _frame(title, ymax, body, labels, "step")


def bar_chart(bars: list[tuple[str, float]], title: str, label_every: int = 1) -> Markup:
    """Vertical bars with their labels (every ``label_every``-th label shown)."""
    ymax = _nice_max(max([value for _, value in bars], default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(bars), 1)
    body, labels = [], []
    for index, (label, value) in enumerate(bars):
        height = plot_h * value / ymax
        x = PAD_LEFT + slot * index + slot * 0.1
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{PAD_TOP + plot_h - height:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{height:.1f}" data-value="{value:g}"><title>{escape(label)}: {value:g}</title></rect>'
        )
        if index % label_every == 0:
            labels.append((x + slot * 0.4, label))
    return _frame(title, ymax, body, labels, "bars")
