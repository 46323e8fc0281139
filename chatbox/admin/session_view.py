"""One conversation in the dashboard: live view, take over / hand back, the admin's message box, audit rows."""

from __future__ import annotations

from flask import Response, abort, g, render_template, request, stream_with_context

from chatbox.admin import conversation, copilot_view, live
from chatbox.admin.guard import require_dashboard_admin
from chatbox.admin.inbox_view import render_inbox
from chatbox.admin.views import bp, is_htmx, services
from chatbox.chat.shapes import session_summary
from chatbox.chat.takeover import TakeoverError, audit
from chatbox.models import AuditEntry

MAX_ADMIN_MESSAGE = 10_000
AUDIT_WORDS = {
    "takeover_start": "took over",
    "takeover_end": "handed back",
    "read": "read",
    "reply_from_suggestion": "replied from a suggestion",
}


def _session(sid: str):
    session = services().store.get(sid)
    if session is None:
        abort(404)
    return session


def panel_context(sid: str, error: str = "") -> dict:
    session = _session(sid)
    holder = session.takeover_by or ""
    return {
        "s": session_summary(session),
        "holder": holder,
        "holder_name": session.takeover_name or holder,
        "mine": holder == g.identity.user_id,
        "active": session.end is None,
        "error": error,
        "audit": list(AuditEntry.objects(session_id=sid).order_by("-ts").limit(50)),
        "audit_words": AUDIT_WORDS,
        "handoff": copilot_view.handoff(session),
        "copilot_suggestions": copilot_view.suggestions_on(),
    }


@bp.get("/dashboard/sessions/<sid>")
@require_dashboard_admin
def session_page(sid: str):
    """The inbox with this conversation open (a whole page), or only the conversation pane for an htmx swap."""
    session = _session(sid)
    audit(sid, "read", g.identity, detail="dashboard")
    store, prefix = services().store, services().settings.prefix
    messages = store.messages(session)
    pane = {
        "messages": [conversation.message_view(m, prefix) for m in messages],
        "last_seq": max([m.seq for m in messages], default=0),
        **panel_context(sid),
    }
    if is_htmx():
        return render_template("admin/_pane.html", **pane)
    return render_inbox(pane=pane, user_id=request.args.get("user", ""))


@bp.get("/dashboard/sessions/<sid>/panel")
@require_dashboard_admin
def session_panel(sid: str):
    """The facts, controls and audit of a conversation: the live refresh swaps this (no read is audited)."""
    return render_template("admin/_session_panel.html", **panel_context(sid))


@bp.get("/dashboard/sessions/<sid>/stream")
@require_dashboard_admin
def session_stream(sid: str):
    """SSE for one conversation: ``message`` events (HTML to append) and ``changed`` (refresh the panel)."""
    _session(sid)
    svc = services()
    after = request.headers.get("Last-Event-ID", "") or request.args.get("after", "")
    renderer = conversation.LiveRenderer(svc.settings.prefix, int(after) if after.isdigit() else 0)
    queue = live.new_queue()
    sink = live.SessionSink(sid, g.identity, queue)
    changes = svc.admin_live

    def stream():
        # Attach first, then read what is stored: nothing falls between the two (the renderer drops repeats).
        changes.subscribe(queue, sid)
        svc.hub.attach(sink, sid)
        try:
            yield live.HELLO  # headers and a first byte now, so the browser's EventSource reports "open"
            yield from _catch_up(svc, sid, renderer)
            hints = live.Coalescer()
            while not sink.closed:
                item = live.next_item(queue, hints.timeout())
                if item == live.CLOSE:
                    return
                if item is not None and item[0] == "frame":
                    html = renderer.render(*item[1:])
                    if html:
                        yield live.sse("message", html, renderer.shown_seq)
                elif item is not None:
                    hints.note()
                if hints.due():
                    yield live.sse("changed", sid)
                elif item is None and not hints.pending:
                    yield live.KEEPALIVE
        finally:
            sink.closed = True
            svc.hub.detach(sink)
            changes.unsubscribe(queue)

    return Response(stream_with_context(stream()), mimetype="text/event-stream", headers=live.SSE_HEADERS)


def _catch_up(svc, sid: str, renderer: conversation.LiveRenderer):
    snapshot = svc.bus.stream_snapshot(sid)
    session = svc.store.get(sid)
    for message in svc.store.messages(session, after_seq=renderer.shown_seq):
        renderer.shown_seq = max(renderer.shown_seq, message.seq)
        yield live.sse(
            "message",
            conversation.render_message(conversation.message_view(message, renderer.prefix)),
            renderer.shown_seq,
        )
    html = renderer.snapshot(snapshot)
    if html:
        yield live.sse("message", html, renderer.shown_seq)


def _action(sid: str, act, template: str = "admin/_session_panel.html") -> tuple[str, int]:
    """Run a takeover step; answer the partial to swap (with the refusal shown and its status)."""
    error, status = "", 200
    try:
        act()
    except TakeoverError as exc:
        error, status = exc.message, exc.status
    if template == "admin/_session_panel.html":
        return render_template(template, **panel_context(sid, error)), status
    return render_template(template, error=error), status


@bp.post("/dashboard/sessions/<sid>/takeover")
@require_dashboard_admin
def take_over(sid: str):
    _session(sid)
    return _action(sid, lambda: services().takeover.start(sid, g.identity))


@bp.post("/dashboard/sessions/<sid>/release")
@require_dashboard_admin
def hand_back(sid: str):
    _session(sid)
    return _action(sid, lambda: services().takeover.end(sid, g.identity))


@bp.post("/dashboard/sessions/<sid>/share/revoke")
@require_dashboard_admin
def revoke_share(sid: str):
    """Withdraw the session's share link (and with it every file the link granted)."""
    _session(sid)
    if services().store.revoke_share(sid):
        audit(sid, "share_revoked", g.identity)
    return render_template("admin/_session_panel.html", **panel_context(sid))


@bp.post("/dashboard/sessions/<sid>/messages")
@require_dashboard_admin
def post_message(sid: str):
    """The admin's message to the user; only while this admin holds the session (no accidental takeover)."""
    session = _session(sid)
    text = request.form.get("content", "").strip()

    def send():
        if session.takeover_by != g.identity.user_id:
            raise TakeoverError(409, "NOT_ASSISTING", "Take the session over before writing to the user")
        if not text:
            raise TakeoverError(400, "EMPTY", "Type a message first")
        if len(text) > MAX_ADMIN_MESSAGE:
            raise TakeoverError(400, "TOO_LONG", f"Messages are limited to {MAX_ADMIN_MESSAGE} characters")
        picked = copilot_view.check_token(request.form.get("suggestion", "").strip())
        services().takeover.post_admin_message(sid, g.identity, text)
        copilot_view.note_sent(sid, picked, text)

    return _action(sid, send, "admin/_composer_status.html")
