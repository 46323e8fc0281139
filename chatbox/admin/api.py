"""The JSON admin API: the Go routes with the Go shapes (fixed), plus release, user drill-down and one session.

Every route: Bearer admin token (401, then 403), then the per-admin rate limit (429 with Retry-After).
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from chatbox.admin import queries
from chatbox.auth import require_admin
from chatbox.chat.shapes import session_summary, stored_message
from chatbox.chat.takeover import TakeoverError, audit
from chatbox.clock import utcnow
from chatbox.context import services
from chatbox.errors import ApiError
from chatbox.ops.limits import admin_limit

bp = Blueprint("admin_api", __name__)


def _api_time(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def takeover_api_error(exc: TakeoverError) -> ApiError:
    """Go's statuses: another admin holding the lock is a 400 BAD_REQUEST, as the Go server answered."""
    if exc.code == "ALREADY_ASSISTED":
        return ApiError(400, "BAD_REQUEST", exc.message)
    return ApiError(exc.status, exc.code, exc.message)


def _session_list(args, **fixed) -> dict:
    """One page of sessions for ``args`` (the query string), with ``fixed`` filters the route itself sets."""
    query = queries.SessionQuery.from_args({key: value for key, value in args.items() if key not in fixed})
    for name, value in fixed.items():
        setattr(query, name, value)
    sessions, total = queries.list_sessions(query)
    summaries = [session_summary(s) for s in sessions]
    return {
        "sessions": summaries,
        "count": len(summaries),
        "total": total,
        "limit": query.limit,
        "offset": query.offset,
    }


@bp.get("/admin/sessions")
@require_admin
@admin_limit
def list_sessions():
    return jsonify(_session_list(request.args))


@bp.get("/admin/users/<user_id>/sessions")
@require_admin
@admin_limit
def user_sessions(user_id: str):
    if len(user_id) > queries.MAX_USER_ID:
        raise queries.bad_request(f"user_id exceeds maximum length of {queries.MAX_USER_ID} characters")
    return jsonify(user_id=user_id, **_session_list(request.args, user_id=user_id))


@bp.get("/admin/sessions/<sid>")
@require_admin
@admin_limit
def get_session(sid: str):
    """One session with its messages, for an admin; the read is audited."""
    store = services().store
    session = store.get(sid)
    if session is None:
        raise ApiError(404, "NOT_FOUND", "Session not found")
    audit(sid, "read", g.identity, detail="api")
    return jsonify(session=session_summary(session), messages=[stored_message(m) for m in store.messages(session)])


@bp.get("/admin/metrics")
@require_admin
@admin_limit
def metrics():
    window = queries.Window.from_args(request.args)
    body = queries.summarize(queries.overlapping(window), window, utcnow())
    body["time_range"] = {"start": _api_time(window.start), "end": _api_time(window.end)}
    return jsonify(body)


@bp.post("/admin/takeover/<sid>")
@require_admin
@admin_limit
def takeover(sid: str):
    try:
        services().takeover.start(sid, g.identity)
    except TakeoverError as exc:
        raise takeover_api_error(exc) from None
    return jsonify(message="Takeover initiated successfully", session_id=sid, admin_id=g.identity.user_id)


@bp.post("/admin/sessions/<sid>/release")
@require_admin
@admin_limit
def release(sid: str):
    try:
        services().takeover.end(sid, g.identity)
    except TakeoverError as exc:
        raise takeover_api_error(exc) from None
    return jsonify(message="Session released", session_id=sid)
