"""The pages users see: the chat page, their session list, the read-only shared view, and the embed script.

Pages are static HTML shells plus scripts from ``static/chat/``; everything they show comes over the WebSocket or
the JSON routes. No inline script anywhere: the CSP allows scripts from this origin only. The chat and history
pages may be framed by the host origins in ``EMBED_ALLOWED_ORIGINS`` (CSP ``frame-ancestors``).
"""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Flask,
    current_app,
    render_template,
    request,
    send_from_directory,
)

from chatbox import context
from chatbox.chat.protocol import ERROR_MESSAGES
from chatbox.settings import SettingsError

bp = Blueprint("pages", __name__)
# The file picker offers exactly what the upload check accepts (chatbox/files/sniff.py names these types from the
# bytes): no "image/*" (SVG is refused) and no "video/*" (Matroska is refused). Extensions are added for the office
# and text types, which browsers do not always map to their MIME types.
PICKER_ACCEPT = ",".join(
    [
        "image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "text/plain", "text/csv", "application/json",
        "audio/mpeg", "audio/wav", "audio/webm", "audio/ogg", "audio/aac", "audio/mp4",
        "video/mp4", "video/webm", "video/ogg", "application/zip", "application/gzip", "application/x-tar",
        ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".txt", ".csv", ".json", ".m4a", ".tgz",
    ]
)  # fmt: skip
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")
HOST = re.compile(r"[A-Za-z0-9.\-\[\]:]+")


def init_app(app: Flask, settings) -> None:
    """Register the pages under the route prefix. Raises SettingsError for a malformed embed origin."""
    for origin in settings.embed_allowed_origins:
        if not ORIGIN.fullmatch(origin):
            raise SettingsError(
                f"EMBED_ALLOWED_ORIGINS: {origin!r} is not an origin (use e.g. https://app.example.com "
                "with no path or trailing slash)"
            )
    app.register_blueprint(bp, url_prefix=settings.prefix)


def _settings():
    return context.services().settings


def page_policy(settings, framable: bool) -> str:
    """The Content-Security-Policy of a page: own scripts and styles only; framing by the allowed origins."""
    host = request.host if HOST.fullmatch(request.host) else "localhost"
    ancestors = " ".join(["'self'", *settings.embed_allowed_origins]) if framable else "'none'"
    media = "'self' blob: https:"
    if settings.s3_endpoint:
        media += " " + settings.s3_endpoint.rstrip("/")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {media} data:",
            f"media-src {media}",
            f"connect-src 'self' ws://{host} wss://{host}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )


def _page(template: str, framable: bool = True, status: int = 200, **context):
    settings = _settings()
    config = {
        "prefix": settings.prefix,
        "errors": ERROR_MESSAGES,
        "embedOrigins": settings.embed_allowed_origins,
        **context.pop("config", {}),
    }
    html = render_template(template, prefix=settings.prefix, config=config, **context)
    response = current_app.response_class(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = page_policy(settings, framable)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Permissions-Policy"] = "microphone=(self), camera=(self)"
    return response


@bp.get("/")
def chat_page():
    return _page("pages/chat.html", accept=PICKER_ACCEPT)


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for it whatever the page links; the same icon the pages name, never a 404.
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.get("/history")
def history_page():
    return _page("pages/history.html")


@bp.get("/s/<share_token>")
def shared_page(share_token: str):
    # The token only goes into a JSON config block; the page fetches the conversation itself.
    return _page("pages/shared.html", framable=True, config={"shareToken": share_token[:200]})


@bp.get("/embed.js")
def embed_script():
    response = send_from_directory(
        current_app.static_folder, "chat/embed.js", mimetype="application/javascript", max_age=300
    )
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
