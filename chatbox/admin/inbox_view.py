"""The inbox: the session list on the left (live, help first, view chips, search, sortable, paged), the selected
conversation on the right (``session_view``), the URL following both.

The list stays live through one SSE stream per browser that sends only the rows that changed (``row`` events, one
``<tr>`` per session, placed by id in the page), never the whole list again.
"""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context, url_for

from chatbox.admin import guard, inbox, live
from chatbox.admin.views import bp, is_htmx, services, sign_in_with
from chatbox.errors import ApiError

ROW_INTERVAL = 1.0


def list_context(user_id: str = "") -> tuple[dict, int]:
    """What ``_list.html`` needs for the current request's list parameters, and the status to answer with."""
    base = url_for("dashboard.user_page", user_id=user_id) if user_id else url_for("dashboard.index")
    context = {"list_base": base, "user_id": user_id, "views": inbox.VIEWS, "list_error": ""}
    try:
        query = inbox.ListQuery.from_args(request.args, user_id=user_id)
    except ApiError as exc:
        query = inbox.ListQuery(user_id=user_id)
        context.update(list_error=exc.message, query=query, help_rows=[], rows=[], total=0, events="")
        return context, 400
    help_rows, rows, total = inbox.page(query)
    events = url_for("dashboard.events", **query.params())
    context.update(query=query, help_rows=help_rows, rows=rows, total=total + len(help_rows), events=events)
    return context, 200


def render_inbox(pane: dict | None = None, user_id: str = "", status: int = 200):
    """The whole inbox page, with the conversation pane filled when ``pane`` is given."""
    context, list_status = list_context(user_id)
    return render_template("admin/inbox.html", pane=bool(pane), **(pane or {}), **context), max(status, list_status)


@bp.get("/dashboard/")
def index():
    token = request.args.get("token", "").strip()
    if token:
        return sign_in_with(token, url_for("dashboard.index"))
    return _list_page()


@guard.require_dashboard_admin
def _list_page(user_id: str = ""):
    if is_htmx():
        context, status = list_context(user_id)
        return render_template("admin/_list.html", **context), status
    return render_inbox(user_id=user_id)


@bp.get("/dashboard/users/<user_id>")
def user_page(user_id: str):
    return _list_page(user_id)


@bp.get("/dashboard/pane")
@guard.require_dashboard_admin
def empty_pane():
    """The pane with nothing selected (the back control on a phone swaps this in)."""
    return render_template("admin/_pane_empty.html")


@bp.get("/dashboard/events")
@guard.require_dashboard_admin
def events():
    """SSE: a ``row`` event with the rows of the sessions that changed (bursts coalesced, at most one a second)."""
    try:
        query = inbox.ListQuery.from_args(request.args, user_id=request.args.get("user", ""))
    except ApiError as exc:
        return Response(exc.message + "\n", 400, mimetype="text/plain")
    changes = services().admin_live
    queue = live.new_queue()
    changes.subscribe(queue)
    return Response(
        stream_with_context(_row_stream(changes, queue, query)), mimetype="text/event-stream", headers=live.SSE_HEADERS
    )


def _row_stream(changes, queue, query: inbox.ListQuery):
    # At most one batch a second: a list is read by a person, and each batch costs a query and a render.
    hints, changed = live.Coalescer(interval=ROW_INTERVAL), set()
    try:
        yield live.HELLO
        while True:
            item = live.next_item(queue, hints.timeout())
            if item == live.CLOSE:
                return
            if item is not None and item[1]:
                changed.add(item[1])
                hints.note()
            if hints.due():
                yield live.sse("row", render_rows(query, changed))
                changed = set()
            elif item is None and not hints.pending:
                yield live.KEEPALIVE
    finally:
        changes.unsubscribe(queue)


def render_rows(query: inbox.ListQuery, sids: set[str]) -> str:
    """One ``<tr>`` per session: its row as the list shows it now, or a removal when it left the list."""
    rows = inbox.rows_for(query, sids)
    return render_template("admin/_rows.html", rows=rows, query=query)
