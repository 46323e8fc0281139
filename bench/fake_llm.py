"""A fake, instant OpenAI-compatible LLM: ``POST /v1/chat/completions`` streamed as chunked SSE over keep-alive.

It speaks the wire format the ``openai`` SDK reads (ENVIRONMENT.md, "Minimal SSE formats"): K content deltas of 1-8
characters, a finish chunk, a usage chunk, ``[DONE]``. Being an HTTP server (not a generator inside the app), it
puts the app's real LLM client path (connection pool, SSE parsing, one JSON document per chunk) into the measurement.

    python bench/fake_llm.py --port 18100 [--k 50] [--delay-ms 0] [--ttft-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json

WORDS = ("lorem", " ipsum", " dolor", " sit", " amet", ",", " consec", " tetur", " adipi", " scing")


def sse(document: dict | str) -> bytes:
    data = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


def chunk(payload: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def build_events(k: int) -> tuple[list[bytes], bytes]:
    """Return the K content events and the closing bytes (finish, usage, [DONE], last chunk)."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    events = [
        chunk(
            sse({**base, "choices": [{"index": 0, "delta": {"content": WORDS[i % len(WORDS)]}, "finish_reason": None}]})
        )
        for i in range(k)
    ]
    closing = (
        chunk(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        + chunk(
            sse({**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": k, "total_tokens": 10 + k}})
        )
        + chunk(sse("[DONE]"))
        + b"0\r\n\r\n"
    )
    return events, closing


HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class FakeLLM:
    def __init__(self, k: int, delay: float, ttft: float):
        self.events, self.closing = build_events(k)
        self.delay, self.ttft = delay, ttft
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, _, rest = head.decode("latin-1").partition("\r\n")
                length = 0
                for line in rest.split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length:
                    await reader.readexactly(length)
                if not request_line.startswith("POST ") or "/chat/completions" not in request_line:
                    writer.write(NOT_FOUND)
                    continue
                self.requests += 1
                await self.respond(writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def respond(self, writer: asyncio.StreamWriter) -> None:
        if self.ttft:
            await asyncio.sleep(self.ttft)
        if not self.delay:
            writer.write(HEAD + b"".join(self.events) + self.closing)
            await writer.drain()
            return
        writer.write(HEAD)
        for event in self.events:
            writer.write(event)
            await writer.drain()
            await asyncio.sleep(self.delay)
        writer.write(self.closing)
        await writer.drain()


async def serve(port: int, k: int, delay_ms: float, ttft_ms: float) -> None:
    fake = FakeLLM(k, delay_ms / 1000, ttft_ms / 1000)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", port, backlog=1024)
    print(f"fake LLM on http://127.0.0.1:{port}/v1 (k={k})", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--k", type=int, default=50, help="content chunks per reply")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="pause between chunks")
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="pause before the first chunk")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(args.port, args.k, args.delay_ms, args.ttft_ms))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
