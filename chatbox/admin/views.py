"""Dashboard plumbing and pages: the blueprint, page-or-partial rendering, headers, sign-in, CSV export.

One view serves the whole page or, for htmx requests, only its partial. The inbox is in ``inbox_view``.
"""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    render_template,
    request,
    url_for,
)

from chatbox.admin import guard, queries
from chatbox.auth import AuthError
from chatbox.chat.shapes import session_summary
from chatbox.context import services  # noqa: F401 (the dashboard modules import it from here)
from chatbox.errors import ApiError

bp = Blueprint("dashboard", __name__)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)


def is_htmx() -> bool:
    """An htmx swap (a partial answers it), not a boosted link or a history restore (they need the whole page)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def page(full: str, partial: str, status: int = 200, **context):
    """Render ``full`` for a browser navigation, ``partial`` for an htmx swap."""
    return render_template(partial if is_htmx() else full, **context), status


@bp.after_request
def dashboard_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- sign-in ---------------------------------------------------------------------------------------------------


@bp.post("/dashboard/signin")
def sign_in():
    return sign_in_with(request.form.get("token", "").strip(), url_for("dashboard.index"))


def sign_in_with(token: str, target: str):
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
