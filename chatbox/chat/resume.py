"""Gap-free resume: what a reconnecting socket gets, each message exactly once.

The socket is attached (its live frames held) before anything is read, so nothing published meanwhile is lost.
Then it gets every stored message after ``last_seq`` as one complete frame, the text so far of a reply still
streaming (from the bus, so it works from any pod), and finally the held live frames that neither covered.
"""

from __future__ import annotations

from chatbox.chat.frames import message_frame
from chatbox.chat.hub import Connection
from chatbox.chat.protocol import Frame, now
from chatbox.store import PlainMessage


def replay(conn: Connection, sid: str, missed: list[PlainMessage], last_seq: int, snapshot: dict | None) -> None:
    """Send ``missed`` and the streaming ``snapshot``, then release the socket's held frames without repeats."""
    for message in missed:
        conn.send(message_frame(sid, message))
    replayed = max([last_seq] + [m.seq for m in missed])
    streamed = 0
    if snapshot and snapshot["seq"] > replayed and snapshot["text"]:
        streamed = snapshot["n"]
        conn.send(
            Frame(
                "ai_response",
                session_id=sid,
                content=snapshot["text"],
                model_id=snapshot["model_id"],
                sender="ai",
                timestamp=now(),
                metadata={"streaming": "true", "done": "false"},
                extra={"seq": snapshot["seq"], "chunk": streamed},
            )
        )

    def keep(seq: int | None, chunk: int | None) -> bool:
        if seq is None:
            return True
        if seq <= replayed:
            return False  # already sent whole
        # Chunks the snapshot already contained; later chunks, the error and the done frame pass.
        return not (snapshot and seq == snapshot["seq"] and chunk is not None and chunk <= streamed)

    conn.release(keep)
