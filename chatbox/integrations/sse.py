"""Server-sent events read straight from an HTTP body, cheaply, for the vendor adapters.

The SDKs build a pydantic model per streamed chunk (with openai, ~105 µs of CPU a chunk: bench/README.md); the
adapters read the raw body instead and take only the fields they need. ``SSEDecoder`` does no I/O: it is fed the
body's bytes as they arrive (split anywhere) and returns complete events, following the WHATWG event-stream rules
(CR, LF or CRLF line ends, ``:`` comments, multi-line ``data``, unknown fields ignored, an unfinished event at the
end dropped). ``body_chunks`` and ``drain`` read an ``httpx2.Response``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import gevent
import httpx2

MAX_EVENT_BYTES = 1 << 20  # an LLM chunk is a few hundred bytes; a megabyte without a blank line is not SSE
DRAIN_SECONDS = 0.1  # how long to wait for the end of a body once its last event has arrived


class Event(NamedTuple):
    name: str  # the ``event:`` field, "" when absent
    data: bytes  # the ``data:`` lines joined by "\n", undecoded (``json.loads`` takes bytes)


class SSEError(ValueError):
    """The body is not a usable event stream."""


class SSEDecoder:
    def __init__(self, limit: int = MAX_EVENT_BYTES):
        self.limit = limit
        self._tail = b""  # an unfinished event (line ends already normalised to LF), waiting for more bytes

    def feed(self, chunk: bytes) -> list[Event]:
        """Add bytes from the body; return the events they complete. Raises SSEError past ``limit``."""
        buffer = self._tail + chunk if self._tail else chunk
        held = b""
        if b"\r" in buffer:
            if buffer[-1] == 13:  # maybe half of a CRLF split across reads: decide when the next bytes come
                buffer, held = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        blocks = buffer.split(b"\n\n")
        self._tail = blocks.pop() + held
        if len(self._tail) > self.limit:
            raise SSEError(f"an event longer than {self.limit} bytes")
        events = []
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:  # the usual one-line event, parsed without a loop
                events.append(Event("", block[6:]))
            elif block:
                event = _parse(block)
                if event is not None:
                    events.append(event)
        return events

    def finish(self) -> list[Event]:
        """The body ended: a CR held back as half of a CRLF was a line end after all."""
        tail, self._tail = self._tail, b""
        return self.feed(tail + b"\n") if tail.endswith(b"\r") else []


def _parse(block: bytes) -> Event | None:
    name, data = "", []
    for line in block.split(b"\n"):
        # A ":" comment (keep-alive) has the empty field name, which is ignored like every unknown field.
        field, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value.decode("utf-8", "replace")
    # An event without data is not dispatched (the spec's rule; an ``event:`` line alone is a no-op).
    return Event(name, b"\n".join(data)) if data else None


def iter_events(chunks: Iterable[bytes], limit: int = MAX_EVENT_BYTES) -> Iterator[Event]:
    """Decode a body given as byte chunks split anywhere."""
    decoder = SSEDecoder(limit)
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.finish()


def body_chunks(response: httpx2.Response) -> Iterator[bytes]:
    """The body as it arrives: raw bytes, or decoded ones when a proxy compressed it (``Content-Encoding``)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    return response.iter_raw() if encoding == "identity" else response.iter_bytes()


def drain(chunks: Iterator[bytes]) -> None:
    """Read the rest of a body whose last event has arrived, so its connection goes back to the pool.

    Vendors end the body right after their last event; one that keeps it open is not waited for (the response is
    then closed, and its connection with it). Nothing read here matters any more, so read errors are ignored.
    """
    try:
        with gevent.Timeout(DRAIN_SECONDS, False):
            for _ in chunks:
                pass
    except httpx2.HTTPError:
        pass
