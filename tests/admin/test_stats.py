"""Concurrency, hourly sums and histograms on known intervals, with exact expected numbers."""

from datetime import datetime, timedelta

import pytest

from chatbox.admin import charts, stats
from chatbox.admin.queries import Window, summarize

START = datetime(2026, 11, 20, 10, 0)
END = START + timedelta(hours=1)
NOW = START + timedelta(hours=2)


def at(minutes):
    return START + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "intervals,average,maximum",
    [
        ([], 0.0, 0),
        ([(at(0), at(60))], 1.0, 1),
        ([(at(0), at(30))], 0.5, 1),
        # 10-40 and 20-50 overlap 20-40: area 30+30 = 60 min over 60 min, peak 2
        ([(at(10), at(40)), (at(20), at(50))], 1.0, 2),
        # clipped to the window: -30..15 counts 15 min, 45..open (now is +120) counts 15 min
        ([(at(-30), at(15)), (at(45), None)], 0.5, 1),
        # back to back: the second starts as the first ends -> counted as overlapping at that instant
        ([(at(0), at(30)), (at(30), at(60))], 1.0, 2),
        # entirely outside the window
        ([(at(-60), at(-1)), (at(61), at(90))], 0.0, 0),
        # 12 + 12 + 6 session-minutes = 30 over 60; three at once from 6 to 12
        ([(at(0), at(12)), (at(6), at(18)), (at(6), at(12))], 0.5, 3),
    ],
)
def test_concurrency(intervals, average, maximum):
    result = stats.concurrency(intervals, START, END, NOW)
    assert (result.average, result.maximum) == (average, maximum)


def test_concurrency_curve_steps():
    result = stats.concurrency([(at(10), at(40)), (at(20), at(50))], START, END, NOW)
    assert result.series == [(START, 0), (at(10), 1), (at(20), 2), (at(40), 1), (at(50), 0)]


def test_summarize_flat_keys():
    docs = [
        {"ts": at(0), "endTs": at(30), "totalTokens": 100, "avgRespTime": 400, "maxRespTime": 900},
        {
            "ts": at(15),
            "totalTokens": 20,
            "avgRespTime": 1000,
            "maxRespTime": 1500,
            "adminAssisted": True,
            "helpRequested": True,
        },
        {"ts": at(50), "endTs": at(55)},  # no replies: not part of the response-time average
    ]
    # session-minutes in the window: 30 + 45 (open, clipped at the end) + 5 = 80 over 60
    assert summarize(docs, Window(START, END), NOW) == {
        "total_sessions": 3,
        "active_sessions": 1,
        "avg_concurrent": 1.3333,
        "max_concurrent": 2,
        "total_tokens": 120,
        "avg_response_time": 700,
        "max_response_time": 1500,
        "admin_assisted_count": 1,
        "help_pending": 1,
    }


def test_hourly_sums_and_histogram():
    samples = [(at(5), 10.0), (at(59), 5.0), (at(61), 7.0), (at(-5), 100.0)]
    assert stats.hourly_sums(samples, START, START + timedelta(hours=2)) == [
        (START, 15.0),
        (at(60), 7.0),
        (at(120), 0.0),
    ]
    assert stats.histogram([100, 500, 999, 2500, 45000]) == [
        ("<0.5s", 1),
        ("0.5s–1s", 2),
        ("1s–2s", 0),
        ("2s–5s", 1),
        ("5s–10s", 0),
        ("10s–30s", 0),
        ("≥30s", 1),
    ]


@pytest.mark.parametrize(
    "span,size",
    [
        (timedelta(hours=1), timedelta(minutes=5)),
        (timedelta(hours=24), timedelta(hours=1)),
        (timedelta(days=7), timedelta(hours=6)),
        (timedelta(days=30), timedelta(days=1)),
    ],
)
def test_buckets_follow_the_range(span, size):
    assert stats.bucket_size(START, START + span) == size
    assert 12 <= len(stats.bucket_sums([], START, START + span, size)) <= 61


def test_bucket_peaks_from_the_step_curve():
    series = stats.concurrency([(at(10), at(40)), (at(20), at(50)), (at(44), at(46))], START, END, NOW).series
    peaks = stats.bucket_peaks(series, START, END, timedelta(minutes=15))
    # 0-15: one from 10; 15-30: two; 30-45: two until 40, then 1, then 2 again at 44; 45-60: 2 at 45, then 0; 60: 0
    assert [value for _, value in peaks] == [1, 2, 2, 2, 0]


def test_charts_escape_labels_and_draw_data():
    svg = charts.bar_chart([("<script>x</script>", 3), ("b", 1)], "T & <b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and svg.count('class="bar"') == 2
    assert 'data-value="3"' in svg
    series = stats.concurrency([(at(10), at(40))], START, END, NOW).series
    step = charts.step_chart(series, START, END, "Concurrent")
    assert 'data-points="3"' in step and "<polyline" in step


def test_change_hints_coalesce_without_losing_the_last():
    from chatbox.admin.live import Coalescer

    now = [100.0]
    hints = Coalescer(interval=0.5, clock=lambda: now[0])
    assert hints.timeout(15) == 15 and not hints.due()
    hints.note()
    assert hints.due() and not hints.due()  # the first goes at once, once
    hints.note()
    hints.note()
    assert not hints.due() and hints.timeout(15) == 0.5  # a burst waits for the interval...
    now[0] += 0.5
    assert hints.due() and not hints.pending  # ...and is sent as one


def test_axis_labels_stay_inside_and_never_overlap():
    import re

    bars = [(f"11-30 {hour:02d}:00", hour) for hour in range(25)]
    svg = charts.bar_chart(bars, "Per hour", label_every=4)
    labels = [(float(x), text) for x, text in re.findall(r'class="xlabel" x="([0-9.]+)"[^>]*>([^<]+)<', svg)]
    spans = [(x - len(t) * charts.CHAR_WIDTH / 2, x + len(t) * charts.CHAR_WIDTH / 2) for x, t in labels]
    assert spans[0][0] >= charts.PAD_LEFT and spans[-1][1] <= charts.WIDTH - charts.PAD_RIGHT
    assert all(left > right for (_, right), (left, _) in zip(spans, spans[1:], strict=False))
    assert labels[-1][1] == "11-30 24:00" and labels[0][1] == "11-30 00:00"
