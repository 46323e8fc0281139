"""An admin takes a conversation over, talks to the user, and hands it back; every step audited.

The lock is one atomic MongoDB update (``takeoverBy``), so two admins on two pods cannot both hold it. Taking over
cancels an AI reply in progress on whichever pod runs it; while the lock is held the AI stays silent.
"""

from __future__ import annotations

import time

import gevent

from chatbox.chat.protocol import Frame, now
from chatbox.clock import utcnow
from chatbox.events import ReplyCancelRequested, SessionChanged
from chatbox.models import AuditEntry


class TakeoverError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Takeover:
    def __init__(self, store, sessions, hub, bus, metrics=None):
        self.store, self.sessions, self.hub, self.bus, self.metrics = store, sessions, hub, bus, metrics

    def start(self, sid: str, admin) -> None:
        """Take the lock (idempotent for its holder), cancel the AI, tell the user. Raises TakeoverError."""
        session = self.sessions.get(sid)
        if session is None or session.end is not None:
            raise TakeoverError(404, "NOT_FOUND", "Session not found")
        if not self.store.take_over(sid, admin.user_id, admin.display_name):
            holder = self.store.head(sid)
            raise TakeoverError(
                409,
                "ALREADY_ASSISTED",
                f"session already assisted by another admin: {holder.takeover_name} ({holder.takeover_by})",
            )
        self.hub.signal(ReplyCancelRequested(sid=sid, reason="takeover"))
        self._wait_for_reply_to_stop(sid)
        audit(sid, "takeover_start", admin)
        if self.metrics:
            self.metrics.takeover()
        self._announce(sid, admin, "admin_join", "has joined the session")

    def _announce(self, sid: str, admin, kind: str, what: str) -> None:
        """The Go admin_join/admin_leave frame (name cut to 100 bytes in the text, whole in the metadata)."""
        name = admin.display_name
        short = name.encode()[:100].decode(errors="ignore")
        self.hub.broadcast(
            sid,
            Frame(
                kind,
                session_id=sid,
                sender="admin",
                timestamp=now(),
                content=f"Administrator {short} {what}",
                metadata={"admin_id": admin.user_id, "admin_name": name},
            ),
        )
        self.hub.signal(SessionChanged(sid=sid))

    def _wait_for_reply_to_stop(self, sid: str, timeout: float = 3.0) -> None:
        """Let the cancelled reply (on whichever pod) send its interrupted ``done`` before ``admin_join``."""
        deadline = time.monotonic() + timeout
        while self.bus.stream_snapshot(sid) is not None and time.monotonic() < deadline:
            gevent.sleep(0.02)

    def end(self, sid: str, admin) -> None:
        """Release the lock held by this admin and hand the user back to the AI. Raises TakeoverError."""
        if self.sessions.get(sid) is None:
            raise TakeoverError(404, "NOT_FOUND", "Session not found")
        if not self.store.release(sid, admin.user_id):
            raise TakeoverError(409, "NOT_ASSISTING", "You are not assisting this session")
        audit(sid, "takeover_end", admin)
        self._announce(sid, admin, "admin_leave", "has left the session")

    def post_admin_message(self, sid: str, admin, text: str, origin: str = "") -> int:
        """Store an admin's message and deliver it as a complete ai_response with sender admin.

        Takes the lock first when nobody holds it; raises TakeoverError when another admin does.
        """
        session = self.sessions.get(sid)
        if session is None or session.end is not None:
            raise TakeoverError(404, "NOT_FOUND", "Session not found")
        if session.takeover_by != admin.user_id:
            self.start(sid, admin)
        seq = self.store.next_seq(sid)
        meta = {"admin_id": admin.user_id, "admin_name": admin.display_name}
        message = self.store.append(sid, seq, "admin", text, meta_=meta)
        frame = Frame(
            "ai_response",
            session_id=sid,
            content=text,
            sender="admin",
            timestamp=now(),
            metadata=meta,
            extra={"seq": seq, "message_id": message.message_id},
        )
        self.hub.broadcast(sid, frame, origin=origin)
        self.hub.signal(SessionChanged(sid=sid))
        return seq


def audit(sid: str, action: str, admin, detail: str = "") -> None:
    AuditEntry(
        session_id=sid,
        action=action,
        admin_id=admin.user_id,
        admin_name=admin.display_name,
        ts=utcnow(),
        detail=detail or None,
    ).save()
