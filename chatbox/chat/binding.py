"""Which session each socket belongs to: one active session per user, resume, presence, "new chat", ending.

A socket binds to the user's active session (or the one it names) when it connects, or to a new session with its
first message; the user's other sockets, on every pod, join a session the moment it starts. Presence marks and
socket slots in the bus let any pod know whether anyone is still connected to a session.
"""

from __future__ import annotations

import logging

import gevent

from chatbox.chat.frames import status_frame
from chatbox.chat.hub import Connection, Hub
from chatbox.chat.protocol import Frame, ProtocolError
from chatbox.chat.replies import ReplyStreamer
from chatbox.chat.resume import replay
from chatbox.chat.state import SessionCache, SessionState
from chatbox.events import ReplyCancelRequested, SessionChanged, SessionStarted
from chatbox.integrations.bus import Bus
from chatbox.integrations.llm import Providers
from chatbox.ops.lifecycle import heartbeat_interval
from chatbox.store import PlainMessage, SessionStore

log = logging.getLogger("chatbox.chat")


class SessionBinding:
    def __init__(
        self,
        settings,
        store: SessionStore,
        sessions: SessionCache,
        hub: Hub,
        bus: Bus,
        providers: Providers,
        replies: ReplyStreamer,
        metrics=None,
    ):
        self.settings, self.store, self.sessions, self.hub, self.providers = settings, store, sessions, hub, providers
        self.bus, self.replies, self.metrics = bus, replies, metrics
        hub.on_event(SessionStarted, self._adopt)

    def open(self, conn: Connection, requested_sid: str, last_seq: int | None) -> None:
        """Bind a new socket to its session (if any), greet it, and replay what it missed (``last_seq``)."""
        session = self._initial_session(conn, requested_sid)
        if session is None:
            conn.send(self.status(conn, None))
            return
        if last_seq is None:
            self.attach(conn, session.id)
            conn.send(self.status(conn, session))
            return
        conn.hold()  # live frames wait until the replay is out, then only the ones it did not cover pass
        self.attach(conn, session.id)
        snapshot = self.bus.stream_snapshot(session.id)
        conn.send(self.status(conn, session))
        replay(conn, session.id, self._missed(session, last_seq), last_seq, snapshot)

    def _missed(self, session: SessionState, last_seq: int) -> list[PlainMessage]:
        """The messages after ``last_seq``: from memory when the state holds all of them, else from the store."""
        missed = session.after(last_seq)
        if missed is not None:
            return missed
        stored = self.store.get(session.id)
        return self.store.messages(stored, after_seq=last_seq) if stored is not None else []

    def _initial_session(self, conn: Connection, requested_sid: str) -> SessionState | None:
        identity = conn.identity
        if requested_sid:
            session = self.sessions.get(requested_sid)
            if session is not None and session.user_id != identity.user_id and identity.is_admin:
                conn.watching = True
                return session
            if session is not None and session.user_id == identity.user_id and session.end is None:
                return session
            # An id we do not know (or one that ended) means "new chat": the next message starts a session.
            active = self.store.active_id(identity.user_id)
            if active is not None:
                self.end_session(active)
            return None
        active = self.store.active_id(identity.user_id)
        return self.sessions.get(active) if active is not None else None

    def attach(self, conn: Connection, sid: str) -> None:
        bus = self.bus
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
        self.bus.mark("alive:" + sid, self.settings.reconnect_timeout)
        self.bus.slot_release("sess:" + sid, conn.id)
        if self.hub.local(sid):
            return
        if sid in self.replies.running:
            gevent.spawn_later(self.settings.reply_orphan_grace, self._cancel_if_orphaned, sid)
        else:
            self.sessions.drop(sid)  # nobody here uses it now; the next use reads it again

    def _cancel_if_orphaned(self, sid: str) -> None:
        if sid in self.replies.running and not self.hub.local(sid) and not self.bus.slot_count("sess:" + sid):
            log.info("cancelling a reply nobody is connected to", extra={"session_id": sid})
            self.hub.signal(ReplyCancelRequested(sid=sid, reason="disconnected"))

    def status(self, conn: Connection, session: SessionState | None) -> Frame:
        return status_frame(conn.identity.user_id, session, self.providers.models(), self.providers.default_id)

    def session_for(self, conn: Connection, create: bool) -> SessionState:
        """The socket's session (from memory once bound); a new one, or the user's active one, when it has none
        or it ended."""
        if conn.session_id:
            session = self.sessions.get(conn.session_id)
            if session is not None and (session.end is None or conn.watching):
                return session
        if conn.watching:
            raise ProtocolError("NOT_FOUND", "Session not found")
        active = self.store.active_id(conn.identity.user_id)
        created = False
        if active is None:
            if not create:
                raise ProtocolError("NOT_FOUND", "Session not found")
            active, created = self._create_once(conn)
        session = self.sessions.get(active)
        self.attach(conn, session.id)
        conn.send(self.status(conn, session))
        if created:
            self.hub.signal(SessionChanged(sid=session.id, created=True))
            self.hub.signal(SessionStarted(sid=session.id, user_id=session.user_id))
        return session

    def _create_once(self, conn: Connection) -> tuple[str, bool]:
        """Create the user's session unless another device (on any pod) just did: one active session per user."""
        bus, lock = self.bus, "create:" + conn.identity.user_id
        for _ in range(250):
            if bus.slot_acquire(lock, conn.id, 1, 5.0):
                break
            gevent.sleep(0.02)
        try:
            active = self.store.active_id(conn.identity.user_id)
            if active is not None:
                return active, False
            session = self.store.create(conn.identity.user_id, self.providers.default_id)
            if self.metrics:
                self.metrics.session_created()
            return session.id, True
        finally:
            bus.slot_release(lock, conn.id)

    def _adopt(self, event: SessionStarted) -> None:
        """A user's new session: bind the user's other sockets (on every pod) that have none yet."""
        for conn in list(self.hub.connections):
            if conn.identity.user_id == event.user_id and not conn.session_id and not conn.watching:
                session = self.sessions.get(event.sid)
                if session is not None:
                    self.attach(conn, session.id)
                    conn.send(self.status(conn, session))

    def end_session(self, sid: str) -> bool:
        """End a session once: cancel its reply, record endTs/dur, tell every pod."""
        self.hub.signal(ReplyCancelRequested(sid=sid, reason="ended"))
        ended = self.store.end(sid)
        if ended:
            if self.metrics:
                self.metrics.session_ended()
            self.hub.signal(SessionChanged(sid=sid, ended=True))
        return ended
