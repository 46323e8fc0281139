"""Pure metric arithmetic over session intervals and reply samples: no database, no Flask.

An interval is ``(start, end)`` with ``end`` None for a session still open (it counts up to ``now``). Concurrency
is measured over a window: intervals are clipped to it, the maximum is the sweep-line peak and the average is the
area under the concurrency curve divided by the window length.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

Interval = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Concurrency:
    average: float
    maximum: int
    series: list[tuple[datetime, int]]  # the step curve: count from each instant until the next one


def _clipped(
    intervals: list[Interval], start: datetime, end: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    out = []
    for begin, finish in intervals:
        finish = finish or now
        low, high = max(begin, start), min(finish, end)
        if high > low or (high == low and begin <= end and finish >= start):
            out.append((low, high))
    return out


def concurrency(intervals: list[Interval], start: datetime, end: datetime, now: datetime) -> Concurrency:
    """Average and peak number of sessions open at once within ``[start, end]``, plus the step curve.

    Starts sort before ends at the same instant, so a session that begins as another ends counts as overlapping
    (the peak is reached at that instant, though the area it adds is zero).
    """
    if end <= start:
        return Concurrency(0.0, 0, [])
    events: list[tuple[datetime, int]] = []
    for low, high in _clipped(intervals, start, end, now):
        events.append((low, 1))
        events.append((high, -1))
    events.sort(key=lambda item: (item[0], -item[1]))
    open_now, peak, area = 0, 0, 0.0
    previous = start
    series: list[tuple[datetime, int]] = [(start, 0)]
    for moment, change in events:
        area += open_now * (moment - previous).total_seconds()
        previous = moment
        open_now += change
        peak = max(peak, open_now)
        if series[-1][0] == moment:
            series[-1] = (moment, open_now)
        else:
            series.append((moment, open_now))
    area += open_now * (end - previous).total_seconds()
    window = (end - start).total_seconds()
    return Concurrency(round(area / window, 4), peak, series)


def hourly_sums(samples: list[tuple[datetime, float]], start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """Sum sample values into whole-hour buckets covering ``[start, end]`` (empty hours are 0)."""
    first = start.replace(minute=0, second=0, microsecond=0)
    buckets: dict[datetime, float] = {}
    moment = first
    while moment <= end:
        buckets[moment] = 0.0
        moment += timedelta(hours=1)
    for when, value in samples:
        if start <= when <= end:
            key = when.replace(minute=0, second=0, microsecond=0)
            buckets[key] = buckets.get(key, 0.0) + value
    return sorted(buckets.items())


RESPONSE_EDGES_MS = (500, 1000, 2000, 5000, 10000, 30000)


def histogram(values: list[float], edges: tuple[float, ...] = RESPONSE_EDGES_MS) -> list[tuple[str, int]]:
    """Count values into buckets ``< e0``, ``e0–e1``, …, ``≥ last``; labels in seconds."""
    labels = [f"<{_seconds(edges[0])}"] + [f"{_seconds(a)}–{_seconds(b)}" for a, b in itertools.pairwise(edges)]
    labels.append(f"≥{_seconds(edges[-1])}")
    counts = [0] * (len(edges) + 1)
    for value in values:
        index = next((i for i, edge in enumerate(edges) if value < edge), len(edges))
        counts[index] += 1
    return list(zip(labels, counts, strict=True))


def _seconds(ms: float) -> str:
    return f"{ms / 1000:g}s"
