"""The JSON shapes of sessions and stored messages, as the Go service wrote them (ORIGINAL.md section 1.5)."""

from __future__ import annotations

from datetime import datetime, timezone

from chatbox.chat.protocol import format_api_time
from chatbox.models import Session
from chatbox.store import PlainMessage


def session_summary(session: Session) -> dict:
    """SessionSummary: ``id`` and (for the Go admin page) ``session_id``; optional keys omitted when empty."""
    last = session.messages[-1].ts if session.messages else None
    end = session.end
    reference = end or datetime.now(timezone.utc).replace(tzinfo=None)
    out = {
        "id": session.id,
        "session_id": session.id,
        "user_id": session.user_id,
        "name": session.name or "",
        "last_activity": format_api_time(last or session.start),
        "message_count": len(session.messages),
        "admin_assisted": bool(session.admin_assisted),
        "start_time": format_api_time(session.start),
        "is_active": end is None,
        "duration": max(int((reference - session.start).total_seconds()), 0),
        "total_tokens": session.total_tokens or 0,
        "max_response_time": session.max_response_ms or 0,
        "avg_response_time": session.avg_response_ms or 0,
        "help_requested": bool(session.help_requested),
    }
    if end is not None:
        out["end_time"] = format_api_time(end)
    if session.assisting_admin_name:
        out["assisting_admin_name"] = session.assisting_admin_name
    if session.share_token:
        out["share_token"] = session.share_token
    if session.takeover_by:
        out["taken_over_by"] = session.takeover_name or session.takeover_by
    return out


def stored_message(message: PlainMessage) -> dict:
    """StoredMessage: content, timestamp, sender, optional file_id/file_url/metadata; plus seq and message_id."""
    out = {"content": message.content, "timestamp": format_api_time(message.ts), "sender": message.sender}
    if message.file_id:
        out["file_id"] = message.file_id
    if message.file_url:
        out["file_url"] = message.file_url
    metadata = {k: str(v) for k, v in message.meta.items()}
    if message.transcript:
        metadata["transcript"] = message.transcript
    if message.interrupted:
        metadata["interrupted"] = "true"
    if metadata:
        out["metadata"] = metadata
    out["seq"] = message.seq
    if message.message_id:
        out["message_id"] = message.message_id
    return out
