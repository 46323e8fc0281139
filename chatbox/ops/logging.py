"""One JSON object per log line: time, level, component, request id, user id, session id, message.

Anything that looks like a JWT, a bearer token or a ``key=value`` secret is masked before it is written. Message
content is never logged by the service; request lines carry the path without its query string (WebSocket tokens
travel in ``?token=``).
"""

from __future__ import annotations

import logging
import sys

from flask import request

from chatbox.jsonlog import JsonFormatter, redact

__all__ = ["JsonFormatter", "configure", "log_request", "log_upgrade", "redact"]

_PROBES = ("/healthz", "/readyz", "/metrics/prometheus")
access_log = logging.getLogger("chatbox.access")


def log_request(status: int, seconds: float) -> None:
    """Write the access line of the current request: method, path (no query string), status, duration.

    Probe and scrape requests are logged at debug level so that kubelet and Prometheus do not flood the log.
    """
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    if websocket and status == 200:
        status = 101  # flask-sock reports 200 once the socket is over; the client saw a switch of protocols
    level = logging.DEBUG if request.path.endswith(_PROBES) else logging.INFO
    what = "websocket closed" if websocket and status == 101 else "request"
    access_log.log(
        level,
        "%s %s %s %s",
        what,
        request.method,
        request.path,
        status,
        extra={
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        },
    )


def log_upgrade() -> None:
    """At debug level, note that a WebSocket handshake arrived (its access line comes when the socket closes)."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        access_log.debug("websocket opening %s", request.path, extra={"method": request.method, "path": request.path})


def configure(level: str = "info", stream=None) -> None:
    """Send every logger through one JSON handler on stderr (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_chatbox", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._chatbox = True
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for noisy in ("werkzeug", "urllib3", "botocore", "httpx", "httpcore", "openai", "anthropic"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
