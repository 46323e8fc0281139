"""The metrics page: cards and server-side SVG charts over a chosen window."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from chatbox.admin import charts, queries, stats
from chatbox.admin.guard import require_dashboard_admin
from chatbox.admin.views import bp
from chatbox.ops.http import ApiError
from chatbox.store import utcnow

PRESETS = {"1h": 1, "24h": 24, "7d": 24 * 7, "30d": 24 * 30}
MAX_CHART_DAYS = 400  # the tokens chart has one bar per hour


def _window() -> queries.Window:
    preset = request.args.get("range", "")
    if preset in PRESETS and not request.args.get("start_time"):
        end = utcnow()
        return queries.Window(end - timedelta(hours=PRESETS[preset]), end)
    return queries.Window.from_args(request.args, max_days=MAX_CHART_DAYS)


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
    tokens, times = queries.reply_samples(window)
    hours = stats.hourly_sums(tokens, window.start, window.end)
    every = max(len(hours) // 8, 1)
    context = {
        "concurrency_chart": charts.step_chart(busy.series, window.start, window.end, "Concurrent sessions"),
        "tokens_chart": charts.bar_chart(
            [(h.strftime("%m-%d %H:00"), v) for h, v in hours], "Tokens per hour", label_every=every
        ),
        "latency_chart": charts.bar_chart(stats.histogram(times), "AI response time (replies)"),
        "replies": len(times),
    }
    return render_template("admin/metrics.html", error="", cards=cards, window=window, args=request.args, **context)
