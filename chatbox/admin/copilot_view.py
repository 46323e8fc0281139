"""The admin copilot in the conversation pane: the reply drafts beside the composer, and the audit note when a sent
message started from one. (The handoff summary is part of the session panel: ``session_view.panel_context``.)"""

from __future__ import annotations

import re

from flask import abort, g, render_template

from chatbox.admin.guard import require_dashboard_admin
from chatbox.admin.views import bp, services
from chatbox.chat.takeover import TakeoverError, audit

_TOKEN = re.compile(r"(\d{1,12}):([0-2])")  # "<seq of the user message the drafts answer>:<index of the draft>"


def _features():
    return services().copilot


def suggestions_on() -> bool:
    return getattr(_features(), "suggestions", None) is not None


def handoff(session) -> dict:
    """What the panel shows of the session's handoff summary."""
    text = services().store.handoff_summary(session) if session.handoff_summary else ""
    return {"text": text, "time": session.handoff_time}


@bp.get("/dashboard/sessions/<sid>/suggestions")
@require_dashboard_admin
def reply_suggestions(sid: str):
    """Reply drafts for the admin who holds ``sid`` (nothing for anyone else, and no model request)."""
    session = services().store.get(sid)
    if session is None:
        abort(404)
    feature = getattr(_features(), "suggestions", None)
    drafts = None
    if feature is not None and session.end is None and session.takeover_by == g.identity.user_id:
        drafts = feature.for_session(session)
    return render_template("admin/_suggestions.html", drafts=drafts)


def check_token(token: str) -> tuple[str, int] | None:
    """The (key, index) of the draft a message started from, None when it started from none. Raises
    TakeoverError (400) on a token that is not one the dashboard hands out."""
    if not token:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise TakeoverError(400, "BAD_SUGGESTION", "That reply suggestion is not valid; clear it and try again")
    return match.group(1), int(match.group(2))


def note_sent(sid: str, picked: tuple[str, int] | None, text: str) -> None:
    """Audit that the message just sent started from a draft: as drafted, or edited by the admin."""
    if picked is None:
        return
    feature = getattr(_features(), "suggestions", None)
    offered = feature.offered(sid, picked[0]) if feature is not None else ()
    if picked[1] < len(offered):
        how = "sent as drafted" if offered[picked[1]] == text else "edited before sending"
    else:
        how = "draft no longer known here"
    audit(sid, "reply_from_suggestion", g.identity, detail=how)
