"""HTTP hygiene: JSON errors ``{error, code}``, the Go security headers, request ids, and no permessage-deflate."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from chatbox import context
from chatbox.auth import AuthError
from chatbox.errors import ApiError

log = logging.getLogger("chatbox.http")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-XSS-Protection": "1; mode=block",
}


class NoDeflate:
    """WSGI middleware: drop the client's permessage-deflate offer, as gorilla's upgrader does.

    simple-websocket always accepts it, and a compressed socket costs ~142 KiB instead of ~38 KiB.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.app(environ, start_response)


def init_app(app: Flask) -> None:
    """Install the middleware, request ids, security headers and the JSON error handlers."""
    app.wsgi_app = NoDeflate(app.wsgi_app)
    _add_headers(app, app.config["CHATBOX_SETTINGS"].cors_allowed_origins)
    _add_error_handlers(app)


def _add_headers(app: Flask, cors_origins: list[str]) -> None:
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming[:64] if incoming.replace("-", "").isalnum() else uuid.uuid4().hex

    @app.after_request
    def add_headers(response):
        for name, value in SECURITY_HEADERS.items():
            # A page that names its allowed framers (CSP frame-ancestors) must not be refused by DENY.
            if name == "X-Frame-Options" and "frame-ancestors" in response.headers.get("Content-Security-Policy", ""):
                continue
            response.headers.setdefault(name, value)
        response.headers.setdefault("X-Request-ID", g.get("request_id", ""))
        if cors_origins:
            # The CORS headers depend on the Origin (allowed, other, none): every response says so, refusals too,
            # or a shared cache could hand one origin's answer to another.
            response.vary.add("Origin")
        return response


def _add_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        response = jsonify(error=exc.message, code=exc.code, **exc.extra)
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(AuthError)
    def auth_error(exc: AuthError):
        response = jsonify(error=exc.message, code=exc.code)
        response.status_code = exc.status
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        codes = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
        response = jsonify(
            error=exc.description if exc.code != 404 else "Resource not found", code=codes.get(exc.code, "HTTP_ERROR")
        )
        response.status_code = exc.code
        return response

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        context.services().lifecycle.crashed(exc)
        response = jsonify(error="An internal error occurred", code="INTERNAL_ERROR")
        response.status_code = 500
        return response
