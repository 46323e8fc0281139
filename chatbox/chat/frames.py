"""Frames built from stored state: a stored message as one complete frame, and the connection greeting."""

from __future__ import annotations

import json
import time

from chatbox.chat.protocol import Frame, format_frame_time, now
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
    return _user_frame(sid, message, meta, extra)


def _user_frame(sid: str, message: PlainMessage, meta: dict, extra: dict) -> Frame:
    """A user's message: text, a file or a voice note (with its transcript once there is one)."""
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


class ChunkFrames:
    """The text of each streamed ``ai_response`` chunk of one reply, filled into a template: a chunk costs one
    ``json.dumps`` of its text, no Frame object. Same keys as ``Frame.encode``."""

    def __init__(self, sid: str, seq: int, message_id: str):
        self._head = '{"type":"ai_response","session_id":' + json.dumps(sid) + ',"content":'
        self._tail = (
            ',"sender":"ai","metadata":{"streaming":"true","done":"false"},'
            f'"seq":{seq:d},"message_id":{json.dumps(message_id)},"chunk":'
        )
        self._model, self._model_part = None, ""
        self._second, self._stamp = -1, ""

    def text(self, content: str, model_id: str, chunk: int) -> str:
        if model_id != self._model:
            self._model, self._model_part = model_id, ',"model_id":' + json.dumps(model_id, ensure_ascii=False)
        second = int(time.time())
        if second != self._second:  # the envelope's time has second precision
            self._second, self._stamp = second, ',"timestamp":"' + format_frame_time(now()) + '"'
        body = json.dumps(content, ensure_ascii=False)
        return f"{self._head}{body}{self._model_part}{self._stamp}{self._tail}{chunk}}}"
