"""The user's REST routes (ORIGINAL.md section 1.5.1 to 1.5.5), same JSON as the Go service."""

from __future__ import annotations

from flask import g, jsonify

from chatbox import context
from chatbox.auth import require_user
from chatbox.chat import bp, sharing
from chatbox.chat.protocol import format_api_time
from chatbox.chat.shapes import session_summary, stored_message
from chatbox.errors import ApiError
from chatbox.ops.limits import public_limit

LIST_LIMIT = 100


def _owned(sid: str):
    session = context.services().store.get_owned(sid, g.identity.user_id)
    if session is None:
        raise ApiError(404, "NOT_FOUND", "Session not found")
    return session


@bp.get("/sessions")
@require_user
def list_sessions():
    sessions = context.services().store.list_for_user(g.identity.user_id, LIST_LIMIT)
    return jsonify(
        sessions=[session_summary(s) for s in sessions],
        user_id=g.identity.user_id,
        count=len(sessions),
        limit=LIST_LIMIT,
        truncated=len(sessions) == LIST_LIMIT,
    )


@bp.get("/sessions/<sid>")
@require_user
def get_session(sid: str):
    session = _owned(sid)
    messages = context.services().store.messages(session)
    return jsonify(
        session_id=session.id,
        name=session.name or "",
        model_id=session.model_id or "",
        messages=[stored_message(m) for m in messages],
    )


@bp.post("/sessions/<sid>/end")
@require_user
def end_session(sid: str):
    _owned(sid)
    context.services().chat.end_session(sid)
    return jsonify(status="ended")


@bp.post("/sessions/<sid>/share")
@require_user
def share_session(sid: str):
    _owned(sid)
    services = context.services()
    token = services.store.share(sid, sharing.expiry(services.settings))
    expires = services.store.get(sid).share_expires
    return jsonify(share_token=token, expires_at=format_api_time(expires))


@bp.delete("/sessions/<sid>/share")
@require_user
def revoke_share(sid: str):
    _owned(sid)
    revoked = context.services().store.revoke_share(sid)
    return jsonify(status="revoked" if revoked else "not shared")


@bp.get("/shared/<token>")
@public_limit
def shared_session(token: str):
    services = context.services()
    store = services.store
    session = sharing.live_share(store, token, services.settings)
    if session is None:
        raise ApiError(404, "NOT_FOUND", "Shared session not found")
    messages = [stored_message(m) for m in store.messages(session)]
    services.files.sign_for_share(session, messages)
    return jsonify(session_id=session.id, name=session.name or "", messages=messages)


@bp.get("/ws/admission")
@require_user
def socket_admission():
    """Would a socket for this user be admitted now? Browsers cannot read a refused handshake's status, so the
    page asks here and shows the reason in plain words."""
    services = context.services()
    settings = services.settings
    if services.lifecycle.draining:
        raise ApiError(503, "SHUTTING_DOWN", "The server is restarting", headers={"Retry-After": "1"})
    if len(services.hub.connections) >= settings.max_connections:
        raise ApiError(503, "SERVER_FULL", "The server is full right now", headers={"Retry-After": "5"})
    open_sockets = services.bus.slot_count("user:" + g.identity.user_id)
    if open_sockets >= settings.max_connections_per_user:
        raise ApiError(429, "CONNECTION_LIMIT", f"You have {open_sockets} chat windows open; close one to connect here")
    return jsonify(admitted=True)
