"""The metrics page: cards and server-side SVG charts over a chosen window, bucketed to the range shown."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from chatbox.admin import charts, queries, stats
from chatbox.admin.guard import require_dashboard_admin
from chatbox.admin.views import bp
from chatbox.clock import utcnow
from chatbox.errors import ApiError

PRESETS = {"1h": 1, "24h": 24, "7d": 24 * 7, "30d": 24 * 30}
MAX_CHART_DAYS = 400  # the tokens chart has one bar per hour


def _window() -> queries.Window:
    preset = request.args.get("range", "")
    if preset in PRESETS and not request.args.get("start_time"):
        end = utcnow()
        return queries.Window(end - timedelta(hours=PRESETS[preset]), end)
    return queries.Window.from_args(request.args, max_days=MAX_CHART_DAYS)


def bucket_words(size: timedelta) -> tuple[str, str]:
    """(how a bucket is named in a caption, the strftime of its axis label)."""
    if size < timedelta(hours=1):
        return f"{int(size.total_seconds() // 60)} minutes", "%H:%M"
    if size == timedelta(hours=1):
        return "hour", "%m-%d %H:00"
    if size < timedelta(days=1):
        return f"{int(size.total_seconds() // 3600)} hours", "%m-%d %H:00"
    return "day", "%m-%d"


def concurrent_text(value: float) -> str:
    """The time-weighted average, with enough digits that a small one does not read as zero."""
    if value == 0:
        return "0"
    return f"{value:.2g}" if value < 1 else f"{value:.2f}"


def charts_for(window: queries.Window, busy: stats.Concurrency) -> dict:
    size = stats.bucket_size(window.start, window.end)
    per, fmt = bucket_words(size)
    tokens, times, interrupted = queries.reply_samples(window)
    peaks = stats.bucket_peaks(busy.series, window.start, window.end, size)
    sums = stats.bucket_sums(tokens, window.start, window.end, size)
    every = max(len(sums) // 6, 1)
    return {
        "per": per,
        "concurrency_chart": charts.bar_chart(
            [(m.strftime(fmt), v) for m, v in peaks], f"Most sessions open at once, per {per}", label_every=every
        ),
        "tokens_chart": charts.bar_chart([(m.strftime(fmt), v) for m, v in sums], f"Tokens per {per}", every),
        "latency_chart": charts.bar_chart(stats.histogram(times), "AI response time (finished replies)"),
        "replies": len(times),
        "interrupted": interrupted,
    }


@bp.get("/dashboard/metrics")
@require_dashboard_admin
def metrics_page():
    try:
        window = _window()
    except ApiError as exc:
        return render_template("admin/metrics.html", error=exc.message, cards=None, args=request.args), 400
    now = utcnow()
    docs = queries.overlapping(window)
    cards = queries.summarize(docs, window, now)
    busy = stats.concurrency([(d["ts"], d.get("endTs")) for d in docs], window.start, window.end, now)
    context = charts_for(window, busy)
    cards["avg_concurrent_text"] = concurrent_text(cards["avg_concurrent"])
    return render_template("admin/metrics.html", error="", cards=cards, window=window, args=request.args, **context)
