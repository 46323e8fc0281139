"""Frames built from stored state: a stored message as one complete frame, and the connection greeting."""

from __future__ import annotations

from chatbox.chat.protocol import Frame, now
from chatbox.models import Session
from chatbox.store import PlainMessage


def message_frame(sid: str, message: PlainMessage) -> Frame:
    """One stored message as one complete frame: a finished AI reply is a single ``ai_response`` with ``done``."""
    extra = {"seq": message.seq, "message_id": message.message_id or None}
    meta = {k: str(v) for k, v in message.meta.items()}
    if message.sender == "ai":
        metadata = {"done": "true", **({"interrupted": "true"} if message.interrupted else {})}
        return Frame(
            "ai_response",
            session_id=sid,
            content=message.content,
            model_id=message.model_id,
            sender="ai",
            timestamp=message.ts,
            metadata=metadata,
            file_url=message.file_url,
            file_id=message.file_id,
            extra=extra,
        )
    if message.sender == "admin":
        return Frame(
            "ai_response",
            session_id=sid,
            content=message.content,
            sender="admin",
            timestamp=message.ts,
            metadata=meta,
            extra=extra,
        )
    kind = "user_message"
    if message.file_id or message.file_url:
        kind = "voice_message" if message.meta.get("kind") == "voice" else "file_upload"
    if message.transcript:
        meta["transcript"] = message.transcript
    return Frame(
        kind,
        session_id=sid,
        content=message.content,
        file_id=message.file_id,
        file_url=message.file_url,
        sender=message.sender,
        timestamp=message.ts,
        metadata=meta,
        extra=extra,
    )


def status_frame(user_id: str, session: Session | None, models: list[dict], default_model: str) -> Frame:
    """The ``connection_status`` greeting: models, the user, and once known the session and who assists it."""
    frame = Frame(
        "connection_status",
        sender="system",
        timestamp=now(),
        models=models,
        model_id=(session.model_id if session else "") or default_model,
        extra={"user_id": user_id},
    )
    if session is not None:
        frame.session_id = session.id
        if session.takeover_by:
            frame.metadata = {"admin_id": session.takeover_by, "admin_name": session.takeover_name or ""}
        if session.help_requested:
            frame.metadata["help_requested"] = "true"
    return frame
