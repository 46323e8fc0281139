"""Admin: the JSON API under ``{P}/admin/`` (Go-compatible, fixed) and the htmx dashboard under ``{P}/dashboard/``.

Modules: ``api`` (JSON routes), ``queries`` (filters, sorts, metrics reads), ``stats`` (concurrency arithmetic),
``guard`` (cookie sign-in, CSRF), ``views`` (sessions table, users, CSV), ``session_view`` (one conversation,
takeover), ``live`` (SSE fan-out), ``conversation`` (frames as HTML), ``metrics_view`` + ``charts`` (SVG charts),
``status`` + ``health`` (indexes, dependencies, providers, outbox).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from markupsafe import Markup

from chatbox.admin import (  # noqa: F401 (routes)
    api,
    health,
    inbox_view,
    live,
    metrics_view,
    session_view,
    status,
    views,
)


def init_app(app: Flask, settings) -> None:
    """Register the API and dashboard blueprints and the dashboard's template filters."""
    app.register_blueprint(api.bp, url_prefix=settings.prefix)
    app.register_blueprint(views.bp, url_prefix=settings.prefix)
    app.jinja_env.filters.setdefault("clock", clock)
    app.jinja_env.filters.setdefault("duration", duration)
    app.jinja_env.filters.setdefault("ms", milliseconds)
    app.jinja_env.filters.setdefault("when", when)


def clock(value) -> str:
    """A stored time (datetime or RFC3339 text) as ``YYYY-MM-DD HH:MM:SS`` UTC."""
    if not value:
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def when(value, relative: bool = True) -> Markup:
    """A ``<time datetime>`` element: UTC text without scripts; the page's script shows it in the viewer's zone,
    relative ("3 min ago") with the exact time on hover."""
    text = clock(value)
    if text == "-" or not value:
        return Markup("<span>-</span>")
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return Markup("<span>{}</span>").format(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    mode = "relative" if relative else "exact"
    return Markup('<time datetime="{}" data-format="{}" title="{} UTC">{} UTC</time>').format(stamp, mode, text, text)


def duration(seconds) -> str:
    seconds = int(seconds or 0)
    if seconds <= 0:
        return "-"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def milliseconds(value) -> str:
    value = int(value or 0)
    if value <= 0:
        return "-"
    return f"{value}ms" if value < 1000 else f"{value / 1000:.2f}s"
