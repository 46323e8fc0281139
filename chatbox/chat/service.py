"""The chat domain: sessions, inbound frames, resume, help. No Flask, no sockets: plain calls.

``socket.py`` hands each parsed frame to ``ChatService.receive``; admin routes call ``Takeover`` (takeover.py).
Every frame about a stored message carries its ``seq``; a client that reconnects with ``last_seq`` gets what it
missed, each message once, then the live rest.
"""

from __future__ import annotations

import logging

import gevent
from pymongo.errors import PyMongoError

from chatbox.chat import voice
from chatbox.chat.file_urls import check_external_url
from chatbox.chat.frames import message_frame, status_frame
from chatbox.chat.hub import Connection, Hub
from chatbox.chat.protocol import Frame, ProtocolError, error_frame, now, parse, session_name, validate
from chatbox.chat.replies import ReplyJob, ReplyStreamer, SessionQueues
from chatbox.chat.resume import replay
from chatbox.chat.takeover import Takeover, TakeoverError
from chatbox.integrations.llm import Providers
from chatbox.models import Session
from chatbox.ops.lifecycle import heartbeat_interval
from chatbox.store import PlainMessage, SessionStore

log = logging.getLogger("chatbox.chat")


class ChatService:
    def __init__(
        self,
        settings,
        store: SessionStore,
        hub: Hub,
        providers: Providers,
        replies: ReplyStreamer,
        takeover: Takeover,
        metrics=None,
    ):
        self.settings, self.store, self.hub, self.providers = settings, store, hub, providers
        self.replies, self.takeover, self.metrics = replies, takeover, metrics
        self.queues = SessionQueues()
        # Optional collaborators set by create_app when configured: notifier (help alerts), files (upload checks),
        # transcriber (voice notes).
        self.notifier = self.files = self.transcriber = None
        self.on_rate_limited = None  # called with user_id on each refusal (the notifier watches for bursts)
        hub.on("session_started", self._adopt)

    # --- connections -----------------------------------------------------------------------------------------

    def open(self, conn: Connection, requested_sid: str, last_seq: int | None) -> None:
        """Bind a new socket to its session (if any), greet it, and replay what it missed (``last_seq``)."""
        session = self._initial_session(conn, requested_sid)
        if session is None:
            conn.send(self._status(conn, None))
            return
        if last_seq is None:
            self._attach(conn, session.id)
            conn.send(self._status(conn, session))
            return
        conn.hold()  # live frames wait until the replay is out, then only the ones it did not cover pass
        self._attach(conn, session.id)
        snapshot = self.hub.bus.stream_snapshot(session.id)
        session = self.store.get(session.id)
        conn.send(self._status(conn, session))
        replay(conn, session.id, self.store.messages(session, after_seq=last_seq), last_seq, snapshot)

    def _initial_session(self, conn: Connection, requested_sid: str) -> Session | None:
        identity = conn.identity
        if requested_sid:
            session = self.store.head(requested_sid)
            if session is not None and session.user_id != identity.user_id and identity.is_admin:
                conn.watching = True
                return session
            if session is not None and session.user_id == identity.user_id and session.end is None:
                return session
            # An id we do not know (or one that ended) means "new chat": the next message starts a session.
            active = self.store.active_for_user(identity.user_id)
            if active is not None:
                self.end_session(active.id)
            return None
        return self.store.active_for_user(identity.user_id)

    def _attach(self, conn: Connection, sid: str) -> None:
        bus = self.hub.bus
        if conn.session_id and conn.session_id != sid:
            bus.slot_release("sess:" + conn.session_id, conn.id)
        self.hub.attach(conn, sid)
        bus.mark("alive:" + sid, self.settings.reconnect_timeout)
        bus.slot_acquire("sess:" + sid, conn.id, 1_000_000, 3 * heartbeat_interval(self.settings))

    def close(self, conn: Connection) -> None:
        """Forget a closed socket; if it was its session's last one anywhere, the reply is cancelled after a grace."""
        sid = conn.session_id
        self.hub.detach(conn)
        if not sid:
            return
        self.hub.bus.mark("alive:" + sid, self.settings.reconnect_timeout)
        self.hub.bus.slot_release("sess:" + sid, conn.id)
        if sid in self.replies.running and not self.hub.local(sid):
            gevent.spawn_later(self.settings.reply_orphan_grace, self._cancel_if_orphaned, sid)

    def _cancel_if_orphaned(self, sid: str) -> None:
        if sid in self.replies.running and not self.hub.local(sid) and not self.hub.bus.slot_count("sess:" + sid):
            log.info("cancelling a reply nobody is connected to", extra={"session_id": sid})
            self.hub.signal("cancel_reply", sid=sid, reason="disconnected")

    def _status(self, conn: Connection, session: Session | None) -> Frame:
        return status_frame(conn.identity.user_id, session, self.providers.models(), self.providers.default_id)

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
        }
        handler = handlers.get(frame.type)
        if handler is None:
            raise ProtocolError("INVALID_FORMAT", f"Invalid message format: unknown message type {frame.type}")
        handler(conn, frame)

    def _session_for(self, conn: Connection, create: bool) -> Session:
        """The socket's session; a new one (or the user's active one) when it has none or it ended."""
        if conn.session_id:
            session = self.store.head(conn.session_id)
            if session is not None and (session.end is None or conn.watching):
                return session
        if conn.watching:
            raise ProtocolError("NOT_FOUND", "Session not found")
        session = self.store.active_for_user(conn.identity.user_id)
        created = False
        if session is None:
            if not create:
                raise ProtocolError("NOT_FOUND", "Session not found")
            session, created = self._create_once(conn)
        self._attach(conn, session.id)
        conn.send(self._status(conn, session))
        if created:
            self.hub.signal("session_changed", sid=session.id, created=True)
            self.hub.signal("session_started", sid=session.id, user_id=session.user_id)
        return session

    def _create_once(self, conn: Connection) -> tuple[Session, bool]:
        """Create the user's session unless another device (on any pod) just did: one active session per user."""
        bus, lock = self.hub.bus, "create:" + conn.identity.user_id
        for _ in range(250):
            if bus.slot_acquire(lock, conn.id, 1, 5.0):
                break
            gevent.sleep(0.02)
        try:
            session = self.store.active_for_user(conn.identity.user_id)
            if session is not None:
                return session, False
            session = self.store.create(conn.identity.user_id, self.providers.default_id)
            if self.metrics:
                self.metrics.session_created()
            return session, True
        finally:
            bus.slot_release(lock, conn.id)

    def _adopt(self, event: dict) -> None:
        """A user's new session: bind the user's other sockets (on every pod) that have none yet."""
        for conn in list(self.hub.connections):
            if conn.identity.user_id == event["user_id"] and not conn.session_id and not conn.watching:
                session = self.store.head(event["sid"])
                if session is not None:
                    self._attach(conn, session.id)
                    conn.send(self._status(conn, session))

    def _on_user_message(self, conn: Connection, frame: Frame) -> None:
        if frame.sender == "admin" or conn.watching:
            if not conn.identity.is_admin:
                raise ProtocolError("UNAUTHORIZED", "You do not have permission to access this session")
            session = self._session_for(conn, create=False)
            self.takeover.post_admin_message(session.id, conn.identity, frame.content, origin=conn.id)
            return
        retry = self.hub.bus.hit("msg:" + conn.identity.user_id, self.settings.rate_limit, 60.0)
        if retry:
            if self.metrics:
                self.metrics.rate_limited("message")
            if self.on_rate_limited:
                self.on_rate_limited(conn.identity.user_id)
            error = ProtocolError("TOO_MANY_REQUESTS", "Too many requests, please slow down")
            error.retry_after_ms = max(int(retry * 1000), 1)
            raise error
        session = self._session_for(conn, create=True)
        if not session.name:
            self.store.set_name_if_empty(session.id, session_name(frame.content))
        self.post_user_message(conn, session, frame)

    def post_user_message(self, conn: Connection, session: Session, frame: Frame) -> PlainMessage:
        """Store the user's message, show it to every socket of the session, and queue the AI reply."""
        resent = self._resent(conn, session, frame)
        if resent is not None:
            return resent
        # One allocation numbers the message and, unless an admin has the session, the reply that follows it.
        answered = not session.takeover_by
        last = self.store.next_seq(session.id, count=2 if answered else 1)
        seq = last - 1 if answered else last
        meta = {k: v for k, v in frame.metadata.items()}
        message = self.store.append(
            session.id,
            seq,
            "user",
            frame.content,
            meta_=meta or None,
            file_id=frame.file_id or None,
            file_url=frame.file_url or None,
        )
        self._show(conn, session.id, message, frame)
        self.queue_reply(session, conn.identity.user_id, seq=last if answered else None)
        return message

    def _resent(self, conn: Connection, session: Session, frame: Frame) -> PlainMessage | None:
        """A message the client already sent (same client_msg_id, resent after a drop): echo it, store nothing."""
        client_id = frame.metadata.get("client_msg_id")
        stored = self.store.by_client_id(session.id, client_id) if client_id else None
        if stored is not None:
            conn.send(message_frame(session.id, stored))
        return stored

    def queue_reply(self, session: Session, user_id: str, seq: int | None = None) -> None:
        """Reserve the reply's seq now (so it follows what came before) and queue it, unless an admin has it."""
        job = self.reserve_reply(session, user_id, seq)
        if job is not None:
            self.queues.submit(session.id, lambda: self.replies.run(job))

    def reserve_reply(self, session: Session, user_id: str, seq: int | None = None) -> ReplyJob | None:
        """The next AI reply with its seq reserved now (or ``seq``, already allocated), or None when an admin has
        the session.

        ``session`` was read for this message; a takeover that starts after that is caught when the reply starts.
        """
        if session.takeover_by:
            self.hub.signal("session_changed", sid=session.id)
            return None
        seq = seq if seq is not None else self.store.next_seq(session.id)
        return ReplyJob(session.id, seq, session.model_id or self.providers.default_id, user_id)

    def _show(self, conn: Connection, sid: str, message: PlainMessage, frame: Frame) -> None:
        shown = message_frame(sid, message)
        shown.type = frame.type if frame.type in ("file_upload", "voice_message") else shown.type
        # The sender drew its own message; it gets the echo only when it can match it (client_msg_id).
        origin = "" if "client_msg_id" in frame.metadata else conn.id
        self.hub.broadcast(sid, shown, origin=origin)
        self.hub.signal("session_changed", sid=sid)

    def _on_model_select(self, conn: Connection, frame: Frame) -> None:
        if frame.model_id not in self.providers:
            raise ProtocolError("INVALID_FORMAT", f"Invalid model ID: {frame.model_id}")
        session = self._session_for(conn, create=True)
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
        session = self._session_for(conn, create=False)
        if self.store.mark_help(session.id):
            self.hub.signal("session_changed", sid=session.id, help=True)
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
            self.files.check_frame(conn.identity, frame)
        else:
            check_external_url(frame.file_url)
        session = self._session_for(conn, create=True)
        if self._resent(conn, session, frame) is not None:
            return
        meta = dict(frame.metadata)
        if frame.type == "voice_message":
            meta["kind"] = "voice"
        seq = self.store.next_seq(session.id)
        message = self.store.append(
            session.id, seq, "user", frame.content, meta_=meta, file_id=frame.file_id, file_url=frame.file_url
        )
        self._show(conn, session.id, message, frame)
        if frame.type == "voice_message":
            voice.hear(self, conn, session, message)

    def _on_admin_join(self, conn: Connection, frame: Frame) -> None:
        self._require_admin(conn)
        self.takeover.start(self._session_for(conn, create=False).id, conn.identity)

    def _on_admin_leave(self, conn: Connection, frame: Frame) -> None:
        self._require_admin(conn)
        self.takeover.end(self._session_for(conn, create=False).id, conn.identity)

    @staticmethod
    def _require_admin(conn: Connection) -> None:
        if not conn.identity.is_admin:
            raise ProtocolError("UNAUTHORIZED", "You do not have permission to access this session")

    # --- lifecycle -------------------------------------------------------------------------------------------

    def end_session(self, sid: str) -> bool:
        """End a session once: cancel its reply, record endTs/dur, tell every pod."""
        self.hub.signal("cancel_reply", sid=sid, reason="ended")
        ended = self.store.end(sid)
        if ended:
            if self.metrics:
                self.metrics.session_ended()
            self.hub.signal("session_changed", sid=sid, ended=True)
        return ended
