"""Live pushes to dashboard browsers over Server-Sent Events.

One process-wide ``session_changed`` callback fans out to per-browser queues (``LiveChanges``); a browser watching
one conversation also has a ``SessionSink`` attached to the hub like a socket, receiving every frame of that session
(user messages, AI chunks as they stream, admin messages, joins and leaves) from whichever pod produced it.
"""

from __future__ import annotations

import logging
import time
import uuid

from gevent.queue import Empty, Full, Queue

from chatbox.events import SessionChanged

log = logging.getLogger("chatbox.admin.live")
KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 4096
CLOSE = ("close",)  # queued to every stream on shutdown: it ends at once instead of holding the worker


class LiveChanges:
    """Fan-out of ``session_changed`` events to the queues of connected browsers (optionally one session's)."""

    def __init__(self):
        self._queues: dict[Queue, str | None] = {}
        self.closed = False

    def subscribe(self, queue: Queue, sid: str | None = None) -> None:
        self._queues[queue] = sid
        if self.closed:
            queue.put_nowait(CLOSE)

    def close(self, grace: float = 0.0) -> None:
        """End every open stream now (a shutdown hook): gunicorn waits for open requests before a worker exits."""
        self.closed = True
        for queue in list(self._queues):
            try:
                queue.put_nowait(CLOSE)
            except Full:
                queue.get_nowait()  # a full queue is a stuck browser: drop one hint to make room for the close
                queue.put_nowait(CLOSE)

    def unsubscribe(self, queue: Queue) -> None:
        self._queues.pop(queue, None)

    def publish(self, event: SessionChanged) -> None:
        sid = event.sid
        for queue, wanted in list(self._queues.items()):
            if wanted is None or wanted == sid:
                try:
                    queue.put_nowait(("changed", sid))
                except Full:
                    pass  # a stuck browser misses a refresh hint; its next one catches up


class SessionSink:
    """Hub member for one dashboard browser: frames of the session go into its queue as JSON text."""

    def __init__(self, sid: str, identity, queue: Queue):
        self.id = "dash-" + uuid.uuid4().hex
        self.session_id = ""
        self.watching = True
        self.identity = identity
        self.closed = False
        self.target = sid
        self.queue = queue

    def deliver(self, text: str, seq: int | None = None, chunk: int | None = None) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(("frame", text, seq, chunk))
        except Full:
            # Too slow to keep up: end the stream; the browser reconnects with Last-Event-ID and catches up.
            self.closed = True

    def send(self, frame) -> None:
        self.deliver(frame.encode())


class Coalescer:
    """Turns bursts of change hints into at most one per ``interval``: the first at once, the last never lost."""

    def __init__(self, interval: float = 0.5, clock=time.monotonic):
        self.interval, self.clock = interval, clock
        self.pending, self.last_sent = False, float("-inf")

    def note(self) -> None:
        self.pending = True

    def timeout(self, idle: float = KEEPALIVE_SECONDS) -> float:
        """How long the stream may wait for its next queue item."""
        if not self.pending:
            return idle
        return max(self.last_sent + self.interval - self.clock(), 0.0)

    def due(self) -> bool:
        """True (once) when a pending hint may be sent now."""
        if self.pending and self.clock() - self.last_sent >= self.interval:
            self.pending, self.last_sent = False, self.clock()
            return True
        return False


def new_queue() -> Queue:
    return Queue(maxsize=QUEUE_LIMIT)


def next_item(queue: Queue, timeout: float = KEEPALIVE_SECONDS):
    """The next queued item, or None after ``timeout`` (time for a keepalive comment)."""
    try:
        return queue.get(timeout=timeout)
    except Empty:
        return None


def sse(event: str, data: str, event_id: str | int | None = None) -> str:
    """One SSE message; multi-line data becomes several ``data:`` lines."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in (data.splitlines() or [""]))
    return "\n".join(lines) + "\n\n"


KEEPALIVE = ": keepalive\n\n"
HELLO = "retry: 2000\n: connected\n\n"  # reconnect after 2 s if the stream drops
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
