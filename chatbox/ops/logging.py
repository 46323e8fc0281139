"""One JSON object per log line: time, level, component, request id, user id, session id, message.

Anything that looks like a JWT or a bearer token is masked before it is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

from flask import g, has_request_context

_TOKENISH = re.compile(r"(eyJ[\w-]+\.[\w-]+\.[\w-]*|(?i:bearer)\s+\S+|(?<=token=)[^&\s\"']+)")
_FIELDS = ("user_id", "session_id", "request_id")


def redact(text: str) -> str:
    return _TOKENISH.sub("[REDACTED]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": record.name,
            "message": redact(record.getMessage()),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            identity = g.get("identity") or g.get("socket_identity")
            if identity is not None:
                entry["user_id"] = identity.user_id
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps({k: v for k, v in entry.items() if v is not None}, ensure_ascii=False)


def configure(level: str = "info", stream=None) -> None:
    """Send every logger through one JSON handler on stderr (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_chatbox", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._chatbox = True
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for noisy in ("werkzeug", "urllib3", "botocore", "httpx", "httpcore", "openai", "anthropic"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
