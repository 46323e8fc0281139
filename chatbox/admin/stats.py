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


# Bucket sizes by window length, so a chart has 12-60 bars whatever range it shows.
BUCKETS = (
    (timedelta(hours=2), timedelta(minutes=5)),
    (timedelta(days=2), timedelta(hours=1)),
    (timedelta(days=10), timedelta(hours=6)),
)


def bucket_size(start: datetime, end: datetime) -> timedelta:
    """The bucket that suits the window ``[start, end]`` (5 min up to 2 h, hours up to 2 days, 6 h, then days)."""
    span = end - start
    return next((size for limit, size in BUCKETS if span <= limit), timedelta(days=1))


def _floor(moment: datetime, size: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1)
    return moment - (moment - epoch) % size


def _edges(start: datetime, end: datetime, size: timedelta) -> list[datetime]:
    edges, moment = [], _floor(start, size)
    while moment <= end:
        edges.append(moment)
        moment += size
    return edges


def bucket_sums(
    samples: list[tuple[datetime, float]], start: datetime, end: datetime, size: timedelta
) -> list[tuple[datetime, float]]:
    """Sum sample values into ``size`` buckets covering ``[start, end]`` (empty buckets are 0)."""
    buckets = dict.fromkeys(_edges(start, end, size), 0.0)
    for when, value in samples:
        if start <= when <= end:
            key = _floor(when, size)
            buckets[key] = buckets.get(key, 0.0) + value
    return sorted(buckets.items())


def hourly_sums(samples: list[tuple[datetime, float]], start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """Sum sample values into whole-hour buckets covering ``[start, end]`` (empty hours are 0)."""
    return bucket_sums(samples, start, end, timedelta(hours=1))


def bucket_peaks(
    series: list[tuple[datetime, int]], start: datetime, end: datetime, size: timedelta
) -> list[tuple[datetime, int]]:
    """The most sessions open at once within each ``size`` bucket, from a step curve (``Concurrency.series``)."""
    edges = _edges(start, end, size)
    peaks, index, current = [], 0, 0
    for edge in edges:
        peak = current  # what was open as the bucket began
        while index < len(series) and series[index][0] < edge + size:
            current = series[index][1]
            peak = max(peak, current)
            index += 1
        peaks.append((edge, peak))
    return peaks


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
