"""Dashboard pages: sign-in, the live sessions table (filters, sorts, paging in the URL), user drill-down, CSV.

One view serves the whole page or, for htmx requests, only its partial (the same partial the live refresh swaps).
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from chatbox.admin import guard, live, queries
from chatbox.auth import AuthError
from chatbox.chat.shapes import session_summary
from chatbox.ops.http import ApiError

bp = Blueprint("dashboard", __name__)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
FILTER_KEYS = (
    "user_id",
    "status",
    "admin_assisted",
    "help_requested",
    "start_time",
    "end_time",
    "sort_by",
    "sort_order",
    "limit",
    "offset",
)


def services():
    return current_app.extensions["chatbox"]


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def page(full: str, partial: str, status: int = 200, **context):
    """Render ``full`` for a browser navigation, ``partial`` for an htmx swap."""
    return render_template(partial if is_htmx() else full, **context), status


def filters_from(args) -> dict:
    return {key: args.get(key, "") for key in FILTER_KEYS if args.get(key, "")}


def link_with(current: dict, **changes) -> str:
    merged = {**current, **{k: v for k, v in changes.items()}}
    merged = {k: v for k, v in merged.items() if v not in ("", None)}
    return "?" + urlencode(merged) if merged else "?"


@bp.after_request
def dashboard_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- sign-in ---------------------------------------------------------------------------------------------------


@bp.get("/dashboard/")
def index():
    token = request.args.get("token", "").strip()
    if token:
        return _sign_in(token, url_for("dashboard.index"))
    return _sessions_page()


@bp.post("/dashboard/signin")
def sign_in():
    return _sign_in(request.form.get("token", "").strip(), url_for("dashboard.index"))


def _sign_in(token: str, target: str):
    try:
        identity = guard.check_token(token)
    except AuthError as exc:
        message = exc.message if exc.status == 403 else "That token is invalid or expired"
        return guard.refusal(exc.status, message)
    return guard.sign_in_response(token, identity, target)


@bp.post("/dashboard/signout")
@guard.require_dashboard_admin
def sign_out():
    return guard.sign_out_response(url_for("dashboard.index"))


# --- sessions table --------------------------------------------------------------------------------------------


@guard.require_dashboard_admin
def _sessions_page():
    current = filters_from(request.args)
    try:
        query = queries.SessionQuery.from_args(request.args)
    except ApiError as exc:
        return page(
            "admin/sessions.html",
            "admin/_sessions_table.html",
            status=400,
            error=exc.message,
            sessions=[],
            help=[],
            total=0,
            query=None,
            current=current,
            link_with=link_with,
        )
    sessions, total = queries.list_sessions(query)
    return page(
        "admin/sessions.html",
        "admin/_sessions_table.html",
        sessions=[session_summary(s) for s in sessions],
        help=[session_summary(s) for s in queries.help_waiting()],
        total=total,
        query=query,
        current=current,
        link_with=link_with,
        error="",
    )


@bp.get("/dashboard/users/<user_id>")
@guard.require_dashboard_admin
def user_page(user_id: str):
    args = {**filters_from(request.args), "user_id": user_id}
    try:
        query = queries.SessionQuery.from_args(args)
    except ApiError as exc:
        return page(
            "admin/user.html",
            "admin/_sessions_table.html",
            status=400,
            error=exc.message,
            sessions=[],
            help=[],
            total=0,
            query=None,
            current=args,
            link_with=link_with,
            user_id=user_id,
        )
    sessions, total = queries.list_sessions(query)
    return page(
        "admin/user.html",
        "admin/_sessions_table.html",
        sessions=[session_summary(s) for s in sessions],
        help=[],
        total=total,
        query=query,
        current=args,
        link_with=link_with,
        user_id=user_id,
        error="",
    )


@bp.get("/dashboard/events")
@guard.require_dashboard_admin
def events():
    """SSE: ``changed`` whenever sessions change on any pod (bursts coalesced: at most one per half second)."""
    changes = services().extras["admin_live"]
    queue = live.new_queue()
    changes.subscribe(queue)

    def stream():
        hints = live.Coalescer()
        try:
            yield live.HELLO
            while True:
                item = live.next_item(queue, hints.timeout())
                if item is not None:
                    hints.note()
                if hints.due():
                    yield live.sse("changed", item[1] if item else "")
                elif item is None and not hints.pending:
                    yield live.KEEPALIVE
        finally:
            changes.unsubscribe(queue)

    return Response(stream_with_context(stream()), mimetype="text/event-stream", headers=live.SSE_HEADERS)


FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "session_id",
    "user_id",
    "name",
    "is_active",
    "start_time",
    "end_time",
    "duration",
    "last_activity",
    "message_count",
    "total_tokens",
    "avg_response_time",
    "max_response_time",
    "admin_assisted",
    "assisting_admin_name",
    "help_requested",
)


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_LEADERS) else text


@bp.get("/dashboard/sessions.csv")
@guard.require_dashboard_admin
def export_csv():
    args = dict(request.args)
    args.setdefault("limit", str(queries.MAX_LIMIT))
    try:
        query = queries.SessionQuery.from_args(args)
    except ApiError as exc:
        return Response(exc.message + "\n", 400, mimetype="text/plain")
    sessions, _ = queries.list_sessions(query)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for session in sessions:
        summary = session_summary(session)
        writer.writerow([csv_cell(summary.get(column, "")) for column in CSV_COLUMNS])
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="sessions.csv"'}
    )
