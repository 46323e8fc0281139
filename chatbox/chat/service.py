"""The chat domain: what each inbound frame does. No Flask, no sockets: plain calls.

``socket.py`` hands each frame to ``ChatService.receive``; which session a socket belongs to is binding.py's job,
replies are replies.py's, admin actions takeover.py's. Every frame about a stored message carries its ``seq``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pymongo.errors import PyMongoError

from chatbox.chat import voice
from chatbox.chat.binding import SessionBinding
from chatbox.chat.frames import message_frame
from chatbox.chat.hub import Connection, Hub
from chatbox.chat.protocol import (
    ERROR_MESSAGES,
    Frame,
    ProtocolError,
    error_frame,
    now,
    parse,
    session_name,
    validate,
)
from chatbox.chat.replies import ReplyJob, ReplyStreamer, SessionQueues
from chatbox.chat.state import SessionCache, SessionState
from chatbox.chat.takeover import Takeover, TakeoverError
from chatbox.events import ReplyCancelRequested, SessionChanged
from chatbox.files.urls import check_external_url
from chatbox.integrations.bus import Bus
from chatbox.integrations.llm import Providers
from chatbox.store import PlainMessage, SessionStore, approx_size

log = logging.getLogger("chatbox.chat")


class ChatService:
    def __init__(
        self,
        settings,
        store: SessionStore,
        sessions: SessionCache,
        hub: Hub,
        providers: Providers,
        replies: ReplyStreamer,
        takeover: Takeover,
        metrics=None,
        *,
        bus: Bus,
        queues: SessionQueues | None = None,
        files=None,
        transcriber=None,
        notifier=None,
        on_rate_limited: Callable[[str], None] | None = None,
    ):
        self.settings, self.store, self.sessions, self.hub, self.providers = settings, store, sessions, hub, providers
        self.bus, self.replies, self.takeover, self.metrics = bus, replies, takeover, metrics
        self.queues = queues or SessionQueues()
        # Optional collaborators, when configured: files (vouches for upload frames), transcriber (voice notes),
        # notifier (help alerts); on_rate_limited hears each refusal's user (the notifier watches for bursts).
        self.files, self.transcriber, self.notifier = files, transcriber, notifier
        self.on_rate_limited = on_rate_limited
        self.binding = SessionBinding(settings, store, sessions, hub, bus, providers, replies, metrics)
        # The socket route's entry points, and ending a session (REST, reaper).
        self.open, self.close, self.end_session = self.binding.open, self.binding.close, self.binding.end_session

    # --- inbound frames --------------------------------------------------------------------------------------

    def receive(self, conn: Connection, raw: str | bytes) -> None:
        """Handle one inbound frame; any problem becomes an error frame on this socket."""
        frame = None
        try:
            frame = parse(raw)
            validate(frame)
            if self.metrics:
                self.metrics.message_received()
            self.dispatch(conn, frame)
        except TakeoverError as exc:
            conn.send(error_frame(exc.code, exc.message, session_id=conn.session_id))
        except ProtocolError as exc:
            if self.metrics:
                self.metrics.message_error()
            if exc.detail and exc.detail != exc.message:
                log.info("frame refused: %s", exc.detail, extra={"session_id": conn.session_id})
            retry = getattr(exc, "retry_after_ms", 0)
            sid = conn.session_id if frame is not None and exc.code != "INVALID_FORMAT" else ""
            conn.send(error_frame(exc.code, exc.message, session_id=sid, retry_after_ms=retry))
        except PyMongoError:
            log.exception("database failure while handling a frame", extra={"session_id": conn.session_id})
            conn.send(error_frame("DATABASE_ERROR", session_id=conn.session_id))
        except Exception:
            log.exception("unexpected failure while handling a frame", extra={"session_id": conn.session_id})
            conn.send(error_frame("SERVICE_ERROR", session_id=conn.session_id))

    def dispatch(self, conn: Connection, frame: Frame) -> None:
        handlers = {
            "user_message": self._on_user_message,
            "model_select": self._on_model_select,
            "help_request": self._on_help_request,
            "file_upload": self._on_file,
            "voice_message": self._on_file,
            "admin_join": self._on_admin_join,
            "admin_leave": self._on_admin_leave,
            "stop_reply": self._on_stop_reply,
        }
        handler = handlers.get(frame.type)
        if handler is None:
            raise ProtocolError("INVALID_FORMAT", f"Invalid message format: unknown message type {frame.type}")
        handler(conn, frame)

    def _on_user_message(self, conn: Connection, frame: Frame) -> None:
        if frame.sender == "admin" or conn.watching:
            if not conn.identity.is_admin:
                raise ProtocolError("UNAUTHORIZED", "You do not have permission to access this session")
            session = self.binding.session_for(conn, create=False)
            self.takeover.post_admin_message(session.id, conn.identity, frame.content, origin=conn.id)
            return
        self._count(conn)
        session = self.binding.session_for(conn, create=True)
        self._check_room(session, frame)
        self.post_user_message(conn, session, frame)

    def _count(self, conn: Connection) -> None:
        """Count a frame that stores, notifies or changes state against RATE_LIMIT (per user, every pod).

        Raises ProtocolError(TOO_MANY_REQUESTS) with ``retry_after_ms`` when the user is over it."""
        retry = self.bus.hit("msg:" + conn.identity.user_id, self.settings.rate_limit, 60.0)
        if retry:
            if self.metrics:
                self.metrics.rate_limited("message")
            if self.on_rate_limited:
                self.on_rate_limited(conn.identity.user_id)
            error = ProtocolError("TOO_MANY_REQUESTS", "Too many requests, please slow down")
            error.retry_after_ms = max(int(retry * 1000), 1)
            raise error

    def _check_room(self, session: SessionState, frame: Frame) -> None:
        """Refuse a message that would take the session's document past SESSION_MAX_BYTES (MongoDB refuses
        documents over 16 MB; the size is tracked in memory, so this reads nothing). Raises ProtocolError."""
        if session.stored_bytes + approx_size(frame.content, frame.metadata) > self.settings.session_max_bytes:
            raise ProtocolError("SESSION_FULL", ERROR_MESSAGES["SESSION_FULL"])

    def post_user_message(self, conn: Connection, session: SessionState, frame: Frame) -> PlainMessage:
        """Store the user's message (one write), show it to every socket of the session, and queue the AI reply."""
        resent = self._resent(conn, session, frame)
        if resent is not None:
            return resent
        # One allocation numbers the message and, unless an admin has the session, the reply that follows it.
        answered = not session.takeover_by
        last = self.store.next_seq(session.id, count=2 if answered else 1)
        seq = last - 1 if answered else last
        message = self.store.append(
            session.id,
            seq,
            "user",
            frame.content,
            last_seq=last,
            name="" if session.name else session_name(frame.content),
            meta_=dict(frame.metadata) or None,
            file_id=frame.file_id or None,
            file_url=frame.file_url or None,
        )
        self._show(conn, session.id, message, frame)
        self.queue_reply(session, conn.identity.user_id, seq=last if answered else None)
        return message

    def _resent(self, conn: Connection, session: SessionState, frame: Frame) -> PlainMessage | None:
        """A message the client already sent (same client_msg_id, resent after a drop): echo it, store nothing."""
        client_id = frame.metadata.get("client_msg_id")
        if not client_id or client_id not in session.client_ids:
            return None
        stored = self.store.by_seq(session.id, session.client_ids[client_id])
        if stored is not None:
            conn.send(message_frame(session.id, stored))
        return stored

    def queue_reply(self, session: SessionState, user_id: str, seq: int | None = None) -> None:
        """Reserve the reply's seq now (so it follows what came before) and queue it, unless an admin has it."""
        job = self.reserve_reply(session, user_id, seq)
        if job is not None:
            self.queues.submit(session.id, lambda: self.replies.run(job))

    def reserve_reply(self, session: SessionState, user_id: str, seq: int | None = None) -> ReplyJob | None:
        """The next AI reply with its seq reserved now (or ``seq``, already allocated), or None when an admin has
        the session.

        ``session`` was read for this message; a takeover that starts after that is caught when the reply starts.
        """
        if session.takeover_by:
            self.hub.signal(SessionChanged(sid=session.id))
            return None
        seq = seq if seq is not None else self.store.next_seq(session.id)
        return ReplyJob(session.id, seq, session.model_id or self.providers.default_id, user_id)

    def _show(self, conn: Connection, sid: str, message: PlainMessage, frame: Frame) -> None:
        shown = message_frame(sid, message)
        shown.type = frame.type if frame.type in ("file_upload", "voice_message") else shown.type
        # The sender drew its own message; it gets the echo only when it can match it (client_msg_id).
        origin = "" if "client_msg_id" in frame.metadata else conn.id
        self.hub.broadcast(sid, shown, origin=origin)
        self.hub.signal(SessionChanged(sid=sid))

    def _on_model_select(self, conn: Connection, frame: Frame) -> None:
        if frame.model_id not in self.providers:
            raise ProtocolError("INVALID_FORMAT", f"Invalid model ID: {frame.model_id}")
        self._count(conn)
        session = self.binding.session_for(conn, create=True)
        self.store.set_model(session.id, frame.model_id)
        conn.send(
            Frame(
                "connection_status",
                session_id=session.id,
                content=f"Model changed to {frame.model_id}",
                model_id=frame.model_id,
                sender="ai",
                timestamp=now(),
            )
        )

    def _on_help_request(self, conn: Connection, frame: Frame) -> None:
        self._count(conn)
        session = self.binding.session_for(conn, create=False)
        if self.store.mark_help(session.id):
            self.hub.signal(SessionChanged(sid=session.id, help=True))
            if self.notifier:
                self.notifier.help_requested(self.store.get(session.id))
        ack = Frame(
            "connection_status",
            session_id=session.id,
            sender="ai",
            timestamp=now(),
            content="Help request sent. An administrator will join your session shortly.",
            metadata={"help_requested": "true"},
        )
        self.hub.broadcast(session.id, ack)

    def _on_file(self, conn: Connection, frame: Frame) -> None:
        if self.files:
            self.files.check_frame(conn.identity, frame, conn.session_id)
        else:
            check_external_url(frame.file_url)
        self._count(conn)
        session = self.binding.session_for(conn, create=True)
        self._check_room(session, frame)
        if self._resent(conn, session, frame) is not None:
            return
        meta = dict(frame.metadata)
        if frame.type == "voice_message":
            meta["kind"] = "voice"
        seq = self.store.next_seq(session.id)
        message = self.store.append(
            session.id,
            seq,
            "user",
            frame.content,
            meta_=meta,
            file_id=frame.file_id,
            file_url=frame.file_url,
        )
        self._show(conn, session.id, message, frame)
        if frame.type == "voice_message":
            voice.hear(self, conn, session, message)

    def _on_admin_join(self, conn: Connection, frame: Frame) -> None:
        self._require_admin(conn)
        self.takeover.start(self.binding.session_for(conn, create=False).id, conn.identity)

    def _on_admin_leave(self, conn: Connection, frame: Frame) -> None:
        self._require_admin(conn)
        self.takeover.end(self.binding.session_for(conn, create=False).id, conn.identity)

    def _on_stop_reply(self, conn: Connection, frame: Frame) -> None:
        # The Stop button: the same cancel as a takeover, so the partial reply is kept, marked interrupted.
        self.hub.signal(ReplyCancelRequested(sid=self.binding.session_for(conn, create=False).id, reason="stopped"))

    @staticmethod
    def _require_admin(conn: Connection) -> None:
        if not conn.identity.is_admin:
            raise ProtocolError("UNAUTHORIZED", "You do not have permission to access this session")
