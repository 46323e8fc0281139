"""The WebSocket protocol without I/O: parse, sanitise, validate and encode frames (ORIGINAL.md section 2).

Our additions are extra keys old clients ignore: ``seq`` and ``message_id`` on frames about a stored message,
``chunk`` on streamed chunks, ``user_id`` on ``connection_status``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

MESSAGE_TYPES = (
    "user_message",
    "ai_response",
    "file_upload",
    "voice_message",
    "error",
    "connection_status",
    "typing_indicator",
    "help_request",
    "admin_join",
    "admin_leave",
    "model_select",
    "loading",
    "notification",
    "stop_reply",  # ours: the user stops the reply streaming now (the Go service never sends or expects it)
)
SENDERS = ("user", "ai", "admin", "system")
MAX_SESSION_ID = 128
MAX_CONTENT = 10_000
MAX_FILE_ID = 255
MAX_FILE_URL = 2048
MAX_MODEL_ID = 100
MAX_META_VALUE = 1000
MAX_DEPTH = 4  # envelope > models list > model object > value: nothing legitimate nests deeper
META_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # metadata keys are short plain names, never user text
FUTURE_TOLERANCE = timedelta(minutes=1)

# Plain words for every error code, shared by the server and the pages.
ERROR_MESSAGES = {
    "INVALID_FORMAT": "Invalid message format",
    "VALIDATION": "Message validation failed",
    "MISSING_FIELD": "Required field missing",
    "UNAUTHORIZED": "You do not have permission to access this session",
    "NOT_FOUND": "Session not found",
    "TOO_MANY_REQUESTS": "Too many requests, please slow down",
    "SERVICE_ERROR": "An unexpected error occurred",
    "DATABASE_ERROR": "Database operation failed",
    "LLM_UNAVAILABLE": "AI service is temporarily unavailable",
    "LLM_TIMEOUT": "AI service request timed out",
    "SESSION_ENDED": "This conversation has ended; start a new chat",
    "SESSION_FULL": "This conversation has reached its size limit; start a new chat",
    "ADMIN_ASSISTED": "An administrator is handling this conversation",
}


class ProtocolError(Exception):
    """A frame the client sent cannot be handled; ``code``/``message`` go into the error frame."""

    def __init__(self, code: str, message: str, detail: str = ""):
        super().__init__(detail or message)
        self.code, self.message, self.detail = code, message, detail


def now() -> datetime:
    return datetime.now(timezone.utc)


def format_frame_time(moment: datetime | None) -> str:
    """RFC3339 with second precision, UTC, as the Go envelope wrote it."""
    if moment is None:
        return "0001-01-01T00:00:00Z"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_api_time(moment: datetime | None) -> str | None:
    """RFC3339 with the fraction trimmed of trailing zeros, as Go's time.Time JSON (values from MongoDB: ms)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def parse_time(text: str) -> datetime:
    """Parse RFC3339 (fraction and offset allowed, 'Z' too)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None or "T" not in text.upper():
        raise ValueError("not RFC3339")
    return parsed


@dataclass
class Frame:
    """One envelope, either direction."""

    type: str
    session_id: str = ""
    content: str = ""
    file_id: str = ""
    file_url: str = ""
    model_id: str = ""
    models: list[dict] = field(default_factory=list)
    timestamp: datetime | None = None
    sender: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    error: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # seq, message_id, chunk, user_id

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        for key in ("session_id", "content", "file_id", "file_url", "model_id", "models"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out["timestamp"] = format_frame_time(self.timestamp)
        out["sender"] = self.sender
        if self.metadata:
            out["metadata"] = self.metadata
        if self.error:
            out["error"] = self.error
        out.update({k: v for k, v in self.extra.items() if v is not None})
        return out

    def encode(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


def error_frame(
    code: str, message: str = "", session_id: str = "", retry_after_ms: int = 0, recoverable: bool = True
) -> Frame:
    error = {"code": code, "message": message or ERROR_MESSAGES.get(code, code), "recoverable": recoverable}
    if retry_after_ms:
        error["retry_after"] = retry_after_ms
    return Frame("error", session_id=session_id, sender="ai", timestamp=now(), error=error)


_STRING_FIELDS = ("session_id", "content", "file_id", "file_url", "model_id", "sender", "type")


def _clean(value: str) -> str:
    return value.replace("\x00", "").strip()


def _check_tree(value: Any, depth: int = 1) -> str:
    """Why a decoded JSON value may not be handled further ("" when fine): too deep, or a lone surrogate anywhere
    (it cannot be encoded as UTF-8, so every socket it was broadcast to would fail on it)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "a string contains a lone surrogate"
        return ""
    if not isinstance(value, (dict, list)):
        return ""
    if depth > MAX_DEPTH:
        return f"JSON nested deeper than {MAX_DEPTH} levels"
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in items:
        problem = (_check_tree(key) if key is not None else "") or _check_tree(item, depth + 1)
        if problem:
            return problem
    return ""


def _decode(raw: str | bytes) -> dict:
    bad = ProtocolError("INVALID_FORMAT", "Invalid message format")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise bad from None
    if not isinstance(data, dict):
        raise bad
    problem = _check_tree(data)
    if problem:
        raise ProtocolError("INVALID_FORMAT", "Invalid message format", problem)
    return data


def parse(raw: str | bytes) -> Frame:
    """Decode one inbound frame. Raises ProtocolError(INVALID_FORMAT) for JSON or type errors, lone surrogates,
    nesting deeper than MAX_DEPTH and metadata keys that are not short plain names."""
    bad = ProtocolError("INVALID_FORMAT", "Invalid message format")
    data = _decode(raw)
    values: dict[str, Any] = {}
    for key in _STRING_FIELDS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ProtocolError("INVALID_FORMAT", "Invalid message format", f"{key} must be a string")
        values[key] = _clean(value)
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ProtocolError("INVALID_FORMAT", "Invalid message format", "metadata values must be strings")
    if not all(META_KEY.fullmatch(k.strip()) for k in metadata):
        raise ProtocolError("INVALID_FORMAT", "Invalid message format", "metadata keys must be short plain names")
    values["metadata"] = {_clean(k): _clean(v) for k, v in metadata.items()}
    error = data.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise bad
        values["error"] = {k: _clean(v) if isinstance(v, str) else v for k, v in error.items()}
    stamp = data.get("timestamp")
    if stamp not in (None, ""):
        if not isinstance(stamp, str):
            raise bad
        try:
            values["timestamp"] = parse_time(stamp)
        except ValueError:
            raise bad from None
    values.setdefault("type", "")
    frame = Frame(**values)
    if frame.timestamp is None:
        frame.timestamp = now()
    frame.sender = frame.sender or "user"
    return frame


def validate(frame: Frame, moment: datetime | None = None) -> None:
    """Apply the Go validation rules. Raises ProtocolError(INVALID_FORMAT, 'Message validation failed')."""
    detail = _validation_problem(frame, moment or now())
    if detail:
        raise ProtocolError("INVALID_FORMAT", "Message validation failed", detail)


def _validation_problem(frame: Frame, moment: datetime) -> str:
    if not frame.type:
        return "type is required"
    if frame.type not in MESSAGE_TYPES:
        return f"invalid message type: {frame.type}"
    if frame.sender not in SENDERS:
        return f"invalid sender type: {frame.sender}"
    if frame.timestamp and frame.timestamp > moment + FUTURE_TOLERANCE:
        return "timestamp cannot be in the future"
    required = {
        "user_message": ("content",),
        "ai_response": ("content",),
        "file_upload": ("file_id", "file_url"),
        "voice_message": ("file_id", "file_url"),
        "model_select": ("model_id",),
    }
    for name in required.get(frame.type, ()):
        if not getattr(frame, name):
            return f"{name} is required for {frame.type}"
    if frame.type == "error" and not (frame.error and frame.error.get("code") and frame.error.get("message")):
        return "error requires code and message"
    if frame.type in ("admin_join", "admin_leave") and frame.sender != "admin":
        return f"{frame.type} requires sender admin"
    if frame.type == "help_request" and frame.sender != "user":
        return "help_request requires sender user"
    limits = (
        ("session_id", MAX_SESSION_ID),
        ("content", MAX_CONTENT),
        ("file_id", MAX_FILE_ID),
        ("file_url", MAX_FILE_URL),
        ("model_id", MAX_MODEL_ID),
    )
    for name, limit in limits:
        if len(getattr(frame, name).encode()) > limit:
            return f"{name} exceeds {limit} bytes"
    for key, value in frame.metadata.items():
        if len(value.encode()) > MAX_META_VALUE:
            return f"metadata {key} exceeds {MAX_META_VALUE} bytes"
    return ""


def session_name(text: str) -> str:
    """Name a session from its first user message (ORIGINAL.md section 3.6), counting bytes as Go did."""
    text = text.strip()
    if not text:
        return "New Chat"
    cut = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=-1)
    if cut >= 0:
        text = text[:cut].strip()
    else:
        ends = [i for i in (text.find("."), text.find("?"), text.find("!")) if i >= 0]
        if ends:
            text = text[: min(ends) + 1].strip()
    if len(text.encode()) > 50:
        head = text.encode()[:47].decode(errors="ignore")
        space = head.rfind(" ")
        if space > 0:
            head = head[:space].strip()
        text = head + "..."
    return text or "New Chat"
