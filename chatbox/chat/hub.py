"""Who is listening: the sockets of this process, fed from the bus so every pod's sockets get every event.

Session events go to every socket attached to the session on any pod (user devices and watching admins), except
the socket they came from when ``origin`` names it. Store events (``publish``) and signals (``signal``: cancel a
reply, a session changed, …; chatbox/events.py) go to the callbacks registered with ``on_event``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable

import gevent
from wsproto.events import Ping, TextMessage

from chatbox import events
from chatbox.chat.protocol import Frame
from chatbox.integrations.bus import Bus

log = logging.getLogger("chatbox.hub")
OUTBOX_LIMIT = 2048
CLOSE_GRACE = 5.0  # seconds a closing socket may take to write its close frame
_PING = object()


class Connection:
    """One WebSocket and its outbox.

    Frames are written by an event-loop callback that sends everything queued in one non-blocking call; a writer
    greenlet exists only while the peer is slow or a close or ping is queued, so an idle socket costs no greenlet;
    the process-wide keepalive loop (ops/lifecycle.py) calls ``keepalive`` to ping and to drop silent peers.
    A client too slow to drain its outbox is closed (1013) rather than silently losing frames: it resumes with
    ``last_seq`` and misses nothing.
    """

    # Thousands are held at once, each for hours: no per-instance dict.
    __slots__ = (
        "id", "ws", "identity", "session_id", "watching", "closed", "close_code", "_closed_at", "_ping_interval",
        "_pong_wait", "_clock", "_next_ping", "_ping_sent_at", "_outbox", "_writer", "_flush_due", "_held",
        "_on_sent",
    )  # fmt: skip

    def __init__(
        self,
        ws,
        identity,
        ping_interval: float = 54.0,
        pong_wait: float = 60.0,
        on_sent: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        conn_id: str = "",
    ):
        self.id = conn_id or uuid.uuid4().hex
        self.ws = ws
        self.identity = identity
        self.session_id = ""
        self.watching = False  # an admin watching someone else's session
        self.closed = False
        self.close_code: int | None = None
        self._closed_at: float | None = None
        self._ping_interval, self._pong_wait, self._clock = ping_interval, pong_wait, clock
        self._next_ping = clock() + ping_interval
        self._ping_sent_at: float | None = None
        self._outbox: deque = deque()
        self._writer: gevent.Greenlet | None = None
        self._flush_due = False
        self._held: list[tuple[str, int | None, int | None]] | None = None
        self._on_sent = on_sent

    def send(self, frame: Frame) -> None:
        self.deliver(frame.encode())

    def deliver(self, text: str, seq: int | None = None, chunk: int | None = None) -> None:
        if self.closed:
            return
        if self._held is not None:
            self._held.append((text, seq, chunk))
            return
        if len(self._outbox) >= OUTBOX_LIMIT:
            log.warning("closing a socket whose outbox is full", extra={"session_id": self.session_id})
            self._outbox.clear()
            self.close(1013, "Client too slow; reconnect with last_seq")
            return
        self._queue(text)

    def hold(self) -> None:
        """Buffer live events until ``release`` (used while replaying history)."""
        self._held = []

    def release(self, keep: Callable[[int | None, int | None], bool]) -> None:
        held, self._held = self._held or [], None
        for text, seq, chunk in held:
            if keep(seq, chunk):
                self.deliver(text, seq, chunk)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send what is queued, then a close frame."""
        if self.closed:
            return
        self.closed, self.close_code, self._closed_at = True, code, self._clock()
        self._queue((code, reason))

    def drain_and_close(self, code: int, reason: str, timeout: float = 5.0) -> None:
        """Close after the queued frames are written, waiting up to ``timeout`` (used at shutdown)."""
        self.close(code, reason)
        self.join(timeout)

    def join(self, timeout: float) -> None:
        """Wait for the writer to finish (then stop it if it is stuck on a peer that does not read)."""
        writer = self._writer
        if writer is not None:
            writer.join(timeout)
            writer.kill(block=False)
        self._wake_reader()

    def _wake_reader(self) -> None:
        """End the socket's reader, which waits for frames without a timeout (idle sockets cost no wake-ups)."""
        self.ws.connected = False
        self.ws.event.set()

    def keepalive(self) -> None:
        """Ping when due; close a peer whose pong is later than ``pong_wait``."""
        now = self._clock()
        if self.closed:
            if self._closed_at is not None and now - self._closed_at > CLOSE_GRACE:
                self.join(0)  # the close frame could not be written (a peer that does not read): give up on it
                self._closed_at = None
            return
        if self._ping_sent_at is not None:
            if self.ws.pong_received:
                self._ping_sent_at = None
            elif now - self._ping_sent_at >= self._pong_wait:
                self._outbox.clear()
                self.close(1008, "Ping/Pong timeout")
                return
        if now >= self._next_ping:
            if self._ping_sent_at is None:
                self.ws.pong_received = False
                self._ping_sent_at = now
            self._next_ping = now + self._ping_interval
            self._queue(_PING)

    def _queue(self, item) -> None:
        self._outbox.append(item)
        if self._writer is not None:
            return
        if isinstance(item, str):
            if not self._flush_due:
                self._flush_due = True
                gevent.get_hub().loop.run_callback(self._flush)
        else:  # a close or a ping: the writer greenlet, which may wait for the peer
            self._writer = gevent.spawn(self._drain)

    def _flush(self) -> None:
        """Write every frame queued since the last turn of the event loop in one non-blocking send.

        Runs as an event-loop callback (no greenlet of its own, never waits), so a reply's chunks that arrive
        together go out together and a lone chunk costs one send; what the socket cannot take at once, and any
        close or ping, is left to the writer greenlet."""
        self._flush_due = False
        if self._writer is not None:
            return  # it writes everything queued, in order
        try:
            data, frames = [], 0
            while self._outbox and isinstance(self._outbox[0], str):
                data.append(self.ws.ws.send(TextMessage(data=self._outbox.popleft())))
                frames += 1
            if data:
                payload = b"".join(data)
                try:
                    sent = self.ws.sock.send(payload, 0, 0.0)  # gevent's timeout 0.0: raise instead of waiting
                except BlockingIOError:
                    sent = 0
                if sent < len(payload):
                    self._outbox.appendleft(payload[sent:])  # the rest, already encoded
                if self._on_sent:
                    self._on_sent(frames)
        except Exception:  # socket gone: the reader notices and cleans up
            self.closed = True
            self._outbox.clear()
            return
        if self._outbox:
            self._writer = gevent.spawn(self._drain)

    def _drain(self) -> None:
        """Write what is queued: every frame queued so far in one ``sendall``, then the close if one is queued."""
        try:
            while self._outbox:
                if isinstance(self._outbox[0], tuple):
                    self._close_now(*self._outbox.popleft())
                    return
                data, frames = [], 0
                while self._outbox and not isinstance(self._outbox[0], tuple):
                    item = self._outbox.popleft()
                    if isinstance(item, bytes):  # the unsent rest of a frame
                        data.append(item)
                    else:
                        data.append(self.ws.ws.send(Ping() if item is _PING else TextMessage(data=item)))
                    frames += item is not _PING
                self.ws.sock.sendall(b"".join(data))
                if self._on_sent:
                    self._on_sent(frames)
        except Exception:  # socket gone: the reader notices and cleans up
            self.closed = True
        finally:
            self._writer = None

    def _close_now(self, code: int, reason: str) -> None:
        try:
            self.ws.close(reason=code, message=reason)
        except Exception:  # the peer may be gone already
            pass
        self._wake_reader()


class Hub:
    def __init__(self, bus: Bus):
        self.bus = bus
        self.pod = uuid.uuid4().hex  # tells this process's own store events apart when the bus echoes them
        self._members: dict[str, set[Connection]] = defaultdict(set)
        self._listeners: dict[type, list[Callable]] = defaultdict(list)
        self._gap_listeners: list[Callable[[], None]] = []
        self.connections: set[Connection] = set()
        bus.subscribe(self._on_event)
        if hasattr(bus, "gap_listeners"):
            bus.gap_listeners.append(self._resync)

    def on_gap(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the bus lost events (whatever was learnt from them can no longer be trusted)."""
        self._gap_listeners.append(callback)

    def _resync(self) -> None:
        """The bus lost events: close every socket (1012) so each client resumes with ``last_seq`` and misses none."""
        for callback in self._gap_listeners:
            callback()
        for conn in list(self.connections):
            conn.close(1012, "Event stream interrupted, please reconnect")

    # --- membership ------------------------------------------------------------------------------------------

    def attach(self, conn: Connection, sid: str) -> None:
        if conn.session_id and conn.session_id != sid:
            self.detach(conn)
        conn.session_id = sid
        self._members[sid].add(conn)

    def detach(self, conn: Connection) -> None:
        members = self._members.get(conn.session_id)
        if members is not None:
            members.discard(conn)
            if not members:
                del self._members[conn.session_id]

    def local(self, sid: str) -> set[Connection]:
        return set(self._members.get(sid, ()))

    def local_sessions(self) -> list[str]:
        return list(self._members)

    # --- events ----------------------------------------------------------------------------------------------

    def broadcast(self, sid: str, frame: Frame, origin: str = "", chunk: int | None = None) -> None:
        """Send a frame to every socket of the session on every pod (except ``origin``)."""
        self.broadcast_text(sid, frame.encode(), frame.extra.get("seq"), chunk, origin)

    def broadcast_text(
        self, sid: str, text: str, seq: int | None = None, chunk: int | None = None, origin: str = ""
    ) -> None:
        """``broadcast`` for a frame already encoded: the same text goes to the bus and every socket."""
        self.bus.publish("s:" + sid, {"text": text, "seq": seq, "chunk": chunk, "origin": origin})

    def signal(self, signal: events.Signal) -> None:
        """Tell every pod, this one included, through the bus (so in order with the frames published before it);
        listeners registered with ``on_event`` hear it."""
        self.bus.publish("c:" + signal.kind, events.to_wire(signal))

    def publish(self, event: events.Event) -> None:
        """Tell this process's listeners at once, then every other pod through the bus."""
        self._deliver(event)
        self.bus.publish("e:" + event.kind, {"pod": self.pod, **events.to_wire(event)})

    def on_event(self, kind: type, callback: Callable) -> None:
        """Call ``callback(event)`` for every event or signal of class ``kind``, from any pod."""
        self._listeners[kind].append(callback)

    def _deliver(self, event: events.Event | events.Signal) -> None:
        for callback in self._listeners.get(type(event), ()):
            try:
                callback(event)
            except Exception:
                log.exception("event listener failed for %s", event.kind)

    def _on_event(self, channel: str, event: dict) -> None:
        if channel.startswith("e:"):
            if event.get("pod") != self.pod:
                self._deliver(events.from_wire(channel[2:], event))
        elif channel.startswith("s:"):
            origin = event.get("origin")
            for conn in list(self._members.get(channel[2:], ())):
                if conn.id != origin:
                    conn.deliver(event["text"], event.get("seq"), event.get("chunk"))
        elif channel.startswith("c:"):
            try:
                signal = events.from_wire(channel[2:], event)
            except (KeyError, TypeError):  # a newer pod's signal, or one missing a field: nothing here can act on it
                log.warning("ignoring an unknown or malformed signal on %s", channel)
                return
            self._deliver(signal)
