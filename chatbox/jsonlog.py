"""JSON log lines (time, level, component, pid, request id, user id, session id, message) with secrets masked.

Importable without building the app or touching the database modules: gunicorn's master formats its own lines with
``JsonFormatter`` before any worker has monkey-patched, so nothing here may import pymongo or chatbox.ops.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from flask import g, has_request_context, request

_TOKENISH = re.compile(
    r"(eyJ[\w-]+\.[\w-]+\.[\w-]*"  # a JWT anywhere
    r"|(?i:bearer)\s+\S+"  # Authorization: Bearer …
    r"|(?<=token=)[^&\s\"']+"  # ?token=…
    r"|(?i:(?<=api_key=)|(?<=apikey=)|(?<=secret=)|(?<=password=))[^&\s\"',]+"
    # Capabilities in URLs: share tokens (/s/<t>, /shared/<t>, ?share=), file ids (/files/<id>, ?file_id=) and the
    # signature of a signed file link; each alone is enough to read what it names.
    r"|(?:(?<=/s/)|(?<=/shared/)|(?<=/files/))[^/?#&\s\"']+"
    r"|(?:(?<=[?&]share=)|(?<=[?&]file_id=)|(?<=[?&]sig=))[^&#\s\"']+)"
)
_FIELDS = ("user_id", "session_id", "request_id")


def redact(text: str) -> str:
    """Return ``text`` with tokens, ``secret=`` values, share tokens and file ids replaced by [REDACTED]."""
    return _TOKENISH.sub("[REDACTED]", text)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line; inside a request, request id and user id come from ``flask.g``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": record.name,
            "message": redact(record.getMessage()),
            "pid": record.process,  # which gunicorn worker
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            identity = g.get("identity") or g.get("socket_identity")
            if identity is not None:
                entry["user_id"] = identity.user_id
            # A socket that resumes names its session in the query; views may also set g.session_id.
            entry["session_id"] = g.get("session_id") or request.args.get("session_id", "")[:64] or None
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        for name in ("method", "path", "status", "duration_ms"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = redact(value) if name == "path" else value
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps({k: v for k, v in entry.items() if v is not None}, ensure_ascii=False)
