"""Local fake LLM servers speaking each vendor's real streaming wire format: OpenAI chat completions, Anthropic
messages and Dify chat-messages, over HTTP/1.1 chunked ``text/event-stream``.

One ``FakeVendor`` per vendor, on a free port, with knobs a test sets before sending a message:
``chunks`` (the reply's pieces), ``delay`` (pause before each piece), ``usage`` (prompt, completion or None),
``fail(status, times, retry_after)`` (refuse the first requests; ``times=None`` refuses forever),
``stall_after`` (stop writing after that many pieces and wait, watching for the client to hang up),
``break_after`` (drop the connection after that many pieces), ``hold_headers`` (stall before the response headers).
How the body is written: ``split`` (cut everything into HTTP chunks of that many bytes, so events arrive split
across reads), ``crlf`` (CRLF line ends), ``gzip`` (``Content-Encoding: gzip``, as a compressing proxy would),
``inject`` (``{index: raw SSE text}`` written before that piece, e.g. an error event), ``truncate`` (end the body
cleanly after the pieces, without the vendor's closing events), ``linger`` (send every event, then ``"open"``: keep
the body open, as a server that never ends it would; ``"drop"``: drop the connection instead of ending the body).
Each request is recorded (``requests``) with its path, headers, JSON body, start and end times, the client's port
(``peer``: the same port twice means a kept-alive connection) and whether the client hung up (``disconnected``).

Dify apps can produce files: ``serve(path, data, content_type)`` makes the fake serve bytes at ``path`` (GET, as
Dify's signed file URLs do) and ``message_files`` lists ``message_file`` events to send after the text (each a dict
such as ``{"type": "image", "url": ...}``); ``downloads`` records the paths fetched.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    path: str
    headers: dict
    body: dict
    started: float
    ended: float | None = None
    status: int = 200
    peer: int = 0
    disconnected: bool = False
    finished: threading.Event = field(default_factory=threading.Event)


class ClientGone(Exception):
    pass


PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "dify": "/v1/chat-messages"}


class FakeVendor:
    """A running fake of one vendor's streaming API. ``endpoint`` is what a provider config points at."""

    def __init__(self, vendor: str, api_key: str = "sk-fake-0123456789abcdef"):
        self.vendor, self.api_key = vendor, api_key
        self.requests: list[Recorded] = []
        self.conversations: set[str] = set()  # Dify conversation ids this fake has issued
        self.reset()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reset(self) -> None:
        self.chunks = ["Hel", "lo", " from ", self.vendor, "."]
        self.delay = 0.0
        self.usage: tuple[int, int] | None = (11, 4)
        self.stall_after: int | None = None
        self.stall_seconds = 30.0
        self.break_after: int | None = None
        self.hold_headers = False
        self.split: int | None = None
        self.crlf = False
        self.gzip = False
        self.inject: dict[int, str] = {}
        self.truncate = False
        self.linger: str | None = None
        self.dify_event = "message"
        self.message_files: list[dict] = []
        self.served: dict[str, tuple[bytes, str]] = {}
        self.downloads: list[str] = []
        self._fail: tuple[int, int | None, str | None] | None = None
        self._release = threading.Event()

    def fail(self, status: int, times: int | None = 1, retry_after: str | None = None) -> None:
        """Refuse the next ``times`` requests (None: all of them) with ``status`` and the vendor's error body."""
        self._fail = (status, times, retry_after)

    def serve(self, path: str, data: bytes, content_type: str) -> str:
        """Serve ``data`` at ``path`` (GET); returns its absolute URL."""
        self.served[path] = (data, content_type)
        return self.endpoint.removesuffix("/v1") + path

    def release(self) -> None:
        """End any stall now."""
        self._release.set()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.vendor} fake got {len(self.requests)} requests, expected {count}")
            time.sleep(0.01)
        return self.requests

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def _take_failure(self) -> tuple[int, str | None] | None:
        if self._fail is None:
            return None
        status, times, retry_after = self._fail
        if times is not None:
            if times <= 0:
                return None
            self._fail = (status, times - 1, retry_after)
        return status, retry_after


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeVendor
    _zip = None  # the gzip compressor of the response being streamed, when the fake compresses

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        fake = self.fake
        path = self.path.split("?")[0]
        fake.downloads.append(path)
        if path not in fake.served:
            return self._error(404, {"code": "file_not_found", "message": "File not found", "status": 404})
        data, content_type = fake.served[path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self._send(data)

    def do_POST(self) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        record = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
        record.peer = self.client_address[1]
        fake.requests.append(record)
        try:
            self._answer(fake, record)
        except ClientGone:
            record.disconnected = True
            self.close_connection = True
        finally:
            record.ended = time.monotonic()
            record.finished.set()

    def _answer(self, fake: FakeVendor, record: Recorded) -> None:
        if self.path != PATHS[fake.vendor]:
            return self._error(404, {"error": {"message": f"Unknown path {self.path}", "type": "not_found"}})
        if not self._authorised(fake):
            return self._error(401, VENDOR_ERRORS[fake.vendor](401, f"Incorrect API key provided: {self._key()}"))
        failure = fake._take_failure()
        if failure:
            status, retry_after = failure
            headers = {"Retry-After": retry_after} if retry_after else {}
            return self._error(
                status,
                VENDOR_ERRORS[fake.vendor](
                    status, "Rate limit reached, slow down" if status == 429 else "The server had an error"
                ),
                headers,
            )
        conversation = record.body.get("conversation_id") or ""
        if fake.vendor == "dify" and conversation and conversation not in fake.conversations:
            return self._error(404, {"code": "not_found", "message": "Conversation Not Exists.", "status": 404})
        self._stream(fake, record)

    def _key(self) -> str:
        # Anthropic's API takes ``x-api-key`` or, as anthropic 2.x sends it, a bearer token.
        if self.fake.vendor == "anthropic" and self.headers.get("x-api-key"):
            return self.headers["x-api-key"]
        return self.headers.get("Authorization", "").removeprefix("Bearer ")

    def _authorised(self, fake: FakeVendor) -> bool:
        if fake.vendor == "anthropic" and not self.headers.get("anthropic-version"):
            return False
        return self._key() == fake.api_key

    def _error(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _stream(self, fake: FakeVendor, record: Recorded) -> None:
        if fake.hold_headers:
            self._stall(fake)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._zip = zlib.compressobj(wbits=31) if fake.gzip else None
        if fake.gzip:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        events = EVENTS[fake.vendor](fake, record.body)
        self._write(next(events))  # the vendor's opening events
        for index, piece in enumerate(fake.chunks):
            if fake.break_after is not None and index == fake.break_after:
                self.connection.shutdown(socket.SHUT_RDWR)  # abrupt: no terminating chunk
                self.close_connection = True
                return
            if fake.stall_after is not None and index == fake.stall_after:
                self._stall(fake)
            if fake.delay:
                time.sleep(fake.delay)
            if index in fake.inject:
                self._write(fake.inject[index])
            self._write(events.send(piece))
        if not fake.truncate:
            self._write(events.send(None))
        if fake.linger == "open":
            return self._stall(fake)
        if fake.linger == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if self._zip:
            self._chunked(self._zip.flush())
        self._send(b"0\r\n\r\n")

    def _stall(self, fake: FakeVendor) -> None:
        """Write nothing; a read returning EOF means the client hung up."""
        deadline = time.monotonic() + fake.stall_seconds
        self.connection.settimeout(0.05)
        try:
            while time.monotonic() < deadline and not fake._release.is_set():
                try:
                    if self.connection.recv(1) == b"":
                        raise ClientGone()
                except TimeoutError:
                    continue
                except OSError:
                    raise ClientGone() from None
        finally:
            self.connection.settimeout(None)

    def _write(self, text: str) -> None:
        if self.fake.crlf:
            text = text.replace("\n", "\r\n")
        data = text.encode()
        if self._zip:
            data = self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        self._chunked(data)

    def _chunked(self, data: bytes) -> None:
        step = self.fake.split or len(data) or 1
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            self._send(b"%x\r\n%s\r\n" % (len(piece), piece))

    def _send(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            raise ClientGone() from None


def _sse(data: dict, event: str | None = None) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {json.dumps(data)}\n\n"


def _openai(fake: FakeVendor, body: dict):
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "system_fingerprint": "fp_fake",
    }

    def chunk(delta: dict, finish=None) -> str:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    piece = yield chunk({"role": "assistant", "content": ""})
    while piece is not None:
        piece = yield chunk({"content": piece})
    tail = chunk({}, "stop")
    if fake.usage and (body.get("stream_options") or {}).get("include_usage"):
        prompt, completion = fake.usage
        tail += _sse(
            {
                **base,
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )
    yield tail + "data: [DONE]\n\n"


def _anthropic(fake: FakeVendor, body: dict):
    prompt, completion = fake.usage or (0, 0)
    message = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": 1},
    }
    piece = yield (
        _sse({"type": "message_start", "message": message}, "message_start")
        + _sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        )
        + _sse({"type": "ping"}, "ping")
    )
    while piece is not None:
        piece = yield _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            "content_block_delta",
        )
    yield (
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        + _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": completion},
            },
            "message_delta",
        )
        + _sse({"type": "message_stop"}, "message_stop")
    )


def _dify(fake: FakeVendor, body: dict):
    conversation = body.get("conversation_id") or str(uuid.uuid4())
    fake.conversations.add(conversation)
    ids = {
        "task_id": str(uuid.uuid4()),
        "id": (mid := str(uuid.uuid4())),
        "message_id": mid,
        "conversation_id": conversation,
    }
    piece = yield "event: ping\n\n"
    while piece is not None:
        piece = yield _sse({"event": fake.dify_event, **ids, "answer": piece, "created_at": int(time.time())})
    files = "".join(
        _sse(
            {
                "event": "message_file",
                "id": str(uuid.uuid4()),
                "type": "image",
                "belongs_to": "assistant",
                "conversation_id": conversation,
                **extra,
            }
        )
        for extra in fake.message_files
    )
    metadata: dict = {"retriever_resources": []}
    if fake.usage:
        prompt, completion = fake.usage
        metadata["usage"] = {
            "prompt_tokens": prompt,
            "prompt_unit_price": "0.001",
            "prompt_price": "0.000011",
            "completion_tokens": completion,
            "completion_unit_price": "0.002",
            "completion_price": "0.000008",
            "total_tokens": prompt + completion,
            "total_price": "0.000019",
            "currency": "USD",
            "latency": 0.42,
        }
    yield files + _sse({"event": "message_end", **ids, "metadata": metadata})


EVENTS = {"openai": _openai, "anthropic": _anthropic, "dify": _dify}

_ANTHROPIC_TYPES = {401: "authentication_error", 429: "rate_limit_error", 529: "overloaded_error"}
VENDOR_ERRORS = {
    "openai": lambda status, message: {
        "error": {
            "message": message,
            "type": "invalid_request_error" if status < 500 else "server_error",
            "param": None,
            "code": str(status),
        }
    },
    "anthropic": lambda status, message: {
        "type": "error",
        "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"), "message": message},
    },
    "dify": lambda status, message: {
        "code": "too_many_requests" if status == 429 else "internal_server_error",
        "message": message,
        "status": status,
    },
}
