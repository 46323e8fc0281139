"""The WebSocket route: checks before the upgrade, then a reader loop that hands frames to the service.

Refusals happen before the upgrade with plain-text bodies, as the Go service answered: 401 (no or bad token),
403 (origin), 429 (sockets per user), 503 (this process is full or shutting down).
"""

from __future__ import annotations

import logging
import time

from flask import Response, g, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from chatbox import context
from chatbox.auth import AuthError, request_identity
from chatbox.chat import bp
from chatbox.chat.hub import Connection
from chatbox.chat.protocol import Frame, ProtocolError, error_frame
from chatbox.events import UserNoticed
from chatbox.ops.limits import FrameCeiling

log = logging.getLogger("chatbox.socket")
sock = Sock()
CONNECTION_LIMIT_NOTICE = (
    "Connection limit reached. You have reached the maximum number of simultaneous connections. "
    "Close an existing connection to open a new one."
)
NOTICE_WINDOW = 60.0  # seconds: the user's sockets hear about refused handshakes at most once per window


@bp.before_request
def check_socket_request():
    """Authenticate and admit a WebSocket request before flask-sock upgrades it."""
    if request.endpoint != "chat.chat_socket":
        return None
    services = context.services()
    settings = services.settings
    if services.lifecycle.draining:
        return Response("Server is shutting down, reconnect to another instance", 503, mimetype="text/plain")
    origins = settings.ws_allowed_origins
    if origins and request.headers.get("Origin") not in origins:
        return Response("Forbidden", 403, mimetype="text/plain")
    try:
        identity = request_identity("headers", "query_string")
    except AuthError:
        return Response("Authentication failed", 401, mimetype="text/plain")
    if identity is None:
        return Response("Missing authentication token", 401, mimetype="text/plain")
    if len(services.hub.connections) >= settings.max_connections:
        services.metrics.rate_limited("connection")
        services.alert("connection_cap", limit=settings.max_connections)
        return Response(
            f"Server at capacity ({settings.max_connections} connections), try again later",
            503,
            mimetype="text/plain",
            headers={"Retry-After": "5"},
        )
    conn_id = services.lifecycle.new_connection_id()
    if not _take_user_slot(services, identity.user_id, conn_id):
        return Response("Connection limit exceeded, please try again later", 429, mimetype="text/plain")
    if request.headers.get("Upgrade", "").lower() != "websocket":
        services.bus.slot_release("user:" + identity.user_id, conn_id)
        return Response("Bad Request", 400, mimetype="text/plain", headers={"Sec-WebSocket-Version": "13"})
    g.socket_identity, g.socket_id = identity, conn_id
    for name in JWT_REQUEST_STATE:
        g.pop(name, None)  # the request lives as long as the socket: keep only the identity, not the decoded token
    return None


def _take_user_slot(services, user_id: str, conn_id: str) -> bool:
    """Count the socket against MAX_CONNECTIONS_PER_USER; when full, tell the user's open sockets why (once per
    window: a client retrying in a loop must not flood them)."""
    settings = services.settings
    if services.bus.slot_acquire(
        "user:" + user_id, conn_id, settings.max_connections_per_user, services.lifecycle.slot_ttl
    ):
        return True
    services.metrics.rate_limited("connection")
    if not services.bus.hit("notice:" + user_id, 1, NOTICE_WINDOW):
        services.hub.signal(UserNoticed(user_id=user_id, content=CONNECTION_LIMIT_NOTICE))
    return False


# What flask-jwt-extended leaves in ``g`` after reading a token (flask_jwt_extended/view_decorators.py).
JWT_REQUEST_STATE = (
    "_jwt_extended_jwt",
    "_jwt_extended_jwt_header",
    "_jwt_extended_jwt_user",
    "_jwt_extended_jwt_location",
)
LAST_SEQ_DIGITS = 18  # far beyond any session's length; a longer number is not a sequence number


def _last_seq() -> int | None:
    """``?last_seq=`` as an int (None when absent). Raises ProtocolError unless it is 1 to 18 ASCII digits:
    ``str.isdigit`` alone would let other scripts' digits and superscripts through."""
    value = request.args.get("last_seq")
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= LAST_SEQ_DIGITS):
        raise ProtocolError("INVALID_FORMAT", "last_seq must be a whole number written with the digits 0-9")
    return int(value)


def _refuse(conn: Connection, exc: ProtocolError) -> None:
    """Say why a socket cannot be served, then close it as a policy violation."""
    conn.send(error_frame(exc.code, exc.message, recoverable=False))
    conn.close(1008, exc.message[:120])


def _serve(services, conn: Connection, ws) -> None:
    """Bind the socket to its session (replaying from ``last_seq``), then hand each text frame to the service."""
    try:
        last_seq = _last_seq()
    except ProtocolError as exc:
        _refuse(conn, exc)
        return
    services.chat.open(conn, request.args.get("session_id", "").strip(), last_seq)
    ceiling = FrameCeiling(services.settings.ws_frame_rate)
    while not conn.closed:
        raw = ws.receive()  # no timeout: closing the Connection wakes it (an idle socket costs nothing)
        if isinstance(raw, bytes):
            # The protocol is JSON text; a binary frame is refused unread (RFC 6455: 1003, unsupported data).
            conn.close(1003, "Binary frames are not supported")
            return
        if raw is not None and _within_ceiling(services, conn, ceiling):
            services.chat.receive(conn, raw)


FRAME_FLOOD = "Too many frames, please slow down"


def _within_ceiling(services, conn: Connection, ceiling: FrameCeiling) -> bool:
    """Count one inbound frame against the socket's ceiling (checked before parsing: a flood costs no work)."""
    verdict = ceiling.check()
    if verdict == "pass":
        return True
    services.metrics.rate_limited("frame")
    if verdict == "warn":
        retry = max(int(ceiling.retry_after() * 1000), 1)
        conn.send(error_frame("TOO_MANY_REQUESTS", FRAME_FLOOD, session_id=conn.session_id, retry_after_ms=retry))
    elif verdict == "close":
        log.info("closing a socket that floods frames", extra={"session_id": conn.session_id})
        _refuse(conn, ProtocolError("TOO_MANY_REQUESTS", FRAME_FLOOD))
    return False


@sock.route("/ws", bp=bp)
def chat_socket(ws):
    services = context.services()
    settings = services.settings
    conn = Connection(
        ws,
        g.socket_identity,
        settings.ping_interval,
        settings.pong_wait,
        on_sent=services.metrics.sent.inc,
        conn_id=g.socket_id,
    )
    services.hub.connections.add(conn)
    services.metrics.socket_opened()
    opened = time.monotonic()
    try:
        _serve(services, conn, ws)
    except ConnectionClosed:
        pass
    except Exception:
        log.exception("socket handler failed", extra={"session_id": conn.session_id})
        conn.send(
            Frame(
                "error",
                sender="ai",
                error={"code": "SERVICE_ERROR", "recoverable": True, "message": "An unexpected error occurred"},
            )
        )
    finally:
        services.hub.connections.discard(conn)
        services.metrics.socket_closed(time.monotonic() - opened)
        try:
            services.chat.close(conn)
            services.bus.slot_release("user:" + conn.identity.user_id, conn.id)
        except Exception as exc:  # the bus may be down; the slot expires by itself
            log.warning("could not release a closed socket's presence: %s", exc, extra={"session_id": conn.session_id})
        if not conn.closed:
            conn.close(1000, "")
        conn.join(timeout=5)
