"""Live pushes to dashboard browsers over Server-Sent Events.

One process-wide ``session_changed`` callback fans out to per-browser queues (``LiveChanges``); a browser watching
one conversation also has a ``SessionSink`` attached to the hub like a socket, receiving every frame of that session
(user messages, AI chunks as they stream, admin messages, joins and leaves) from whichever pod produced it.
"""

from __future__ import annotations

import logging
import uuid

from gevent.queue import Empty, Full, Queue

log = logging.getLogger("chatbox.admin.live")
KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 4096


class LiveChanges:
    """Fan-out of ``session_changed`` events to the queues of connected browsers (optionally one session's)."""

    def __init__(self):
        self._queues: dict[Queue, str | None] = {}

    def subscribe(self, queue: Queue, sid: str | None = None) -> None:
        self._queues[queue] = sid

    def unsubscribe(self, queue: Queue) -> None:
        self._queues.pop(queue, None)

    def publish(self, event: dict) -> None:
        sid = event.get("sid", "")
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
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
