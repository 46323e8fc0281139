"""CPU per streamed chunk of the OpenAI and Anthropic adapters: the SDKs' model object per chunk (the old way) against
the raw body read by integrations/sse.py (the adapters now), in the same run, against bench/fake_llm.py.

    .venv/bin/python bench/llm_client.py [--k 50] [--replies 200] [--rounds 5] [--vendor openai|anthropic|both]

Only this process's CPU is counted (``time.process_time``); the fake LLM runs in its own process (pinned to the other
core when there are two). The process is gevent-patched like the app's workers, and the providers are the app's
adapters, so connection pooling and request building are in the figure too: "per chunk" is a reply's whole client
CPU divided by its K chunks. Rounds alternate old and new; the medians are printed.
"""

import sys

from gevent import monkey

if "--serve-anthropic" not in sys.argv:  # like the app's workers; the fake server is plain asyncio
    monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from chatbox.integrations.anthropic_llm import AnthropicProvider, to_messages  # noqa: E402
from chatbox.integrations.llm import Delta, ReplyRequest, Turn, Usage  # noqa: E402
from chatbox.integrations.openai_llm import OpenAIProvider  # noqa: E402
from chatbox.settings import ProviderConfig  # noqa: E402

TURNS = [Turn("system", "Be brief."), Turn("user", "Say something.")]


def old_openai(provider: OpenAIProvider, request: ReplyRequest) -> Iterator[Delta]:
    """The adapter's loop before it read the body itself (commit 2d0e0e5): one SDK model per chunk."""
    options = {
        "model": provider.config.model,
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": t.role, "content": t.content} for t in request.turns],
        "max_tokens": provider.config.max_tokens,
    }
    usage = None
    with provider.client.chat.completions.create(**options) as chunks:
        for chunk in chunks:
            if chunk.usage:
                usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0, 0)
            for choice in chunk.choices[:1]:
                if choice.delta and choice.delta.content:
                    yield Delta(text=choice.delta.content)
    yield Delta(usage=usage)


def old_anthropic(provider: AnthropicProvider, request: ReplyRequest) -> Iterator[Delta]:
    """The Anthropic adapter's loop before (commit 2d0e0e5): the SDK's event models."""
    system, messages = to_messages(request.turns)
    options = {"model": provider.config.model, "max_tokens": 1024, "messages": messages, "stream": True}
    prompt = completion = 0
    with provider.client.messages.create(system=system, **options) as events:
        for event in events:
            if event.type == "message_start":
                prompt = event.message.usage.input_tokens or 0
            elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                if event.delta.text:
                    yield Delta(text=event.delta.text)
            elif event.type == "message_delta":
                completion = event.usage.output_tokens or completion
    yield Delta(usage=Usage(prompt, completion, prompt + completion))


def anthropic_events(k: int) -> tuple[list[bytes], bytes]:
    """The Messages API's events for fake_llm.FakeLLM: K text deltas, as the real API frames them."""
    from fake_llm import WORDS, chunk

    def sse(name: str, data: str) -> bytes:
        return chunk(f"event: {name}\ndata: {data}\n\n".encode())

    start = sse(
        "message_start",
        '{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"m",'
        '"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}}',
    ) + sse("content_block_start", '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}')
    events = [
        sse(
            "content_block_delta",
            json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}}),
        )
        for word in (WORDS[i % len(WORDS)] for i in range(k))
    ]
    events[0] = start + events[0]
    closing = (
        sse("content_block_stop", '{"type":"content_block_stop","index":0}')
        + sse(
            "message_delta",
            json.dumps(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": k},
                }
            ),
        )
        + sse("message_stop", '{"type":"message_stop"}')
        + b"0\r\n\r\n"
    )
    return events, closing


def serve_anthropic(port: int, k: int) -> None:
    """fake_llm.py's server with Anthropic's events (it answers any POST whose path holds /chat/completions)."""
    import asyncio

    import fake_llm

    class AnthropicFake(fake_llm.FakeLLM):
        def __init__(self):
            super().__init__(k, 0.0, 0.0)
            self.events, self.closing = anthropic_events(k)

    async def main():
        server = await asyncio.start_server(AnthropicFake().handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], port: int) -> subprocess.Popen:
    """Start a fake LLM (pinned to core 1 when there are two) and wait until it accepts connections."""
    if (os.cpu_count() or 1) >= 2:
        command = ["taskset", "-c", "1", *command]
    process = subprocess.Popen(["timeout", "-s", "INT", "900", *command], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the fake LLM on port {port} did not start")


def cpu_per_chunk(stream: Callable[[], Iterator[Delta]], replies: int, k: int) -> float:
    """CPU microseconds of this process per text chunk, over ``replies`` replies that must each bring k chunks."""
    started = time.process_time()
    for _ in range(replies):
        chunks = sum(1 for delta in stream() if delta.text)
        if chunks != k:
            raise SystemExit(f"a reply brought {chunks} chunks, not {k}")
    return (time.process_time() - started) / (replies * k) * 1e6


def measure(name: str, provider, old, args) -> dict:
    request = ReplyRequest(turns=TURNS, user_id="bench", session_id="bench")
    ways = {
        "old (SDK model per chunk)": lambda: old(provider, request),
        "new (raw body, sse.py)": lambda: provider.stream(request),
    }
    for way in ways.values():  # warm up both: connection pool, imports, caches
        cpu_per_chunk(way, 20, args.k)
    samples: dict[str, list[float]] = {label: [] for label in ways}
    for _ in range(args.rounds):
        for label, way in ways.items():
            samples[label].append(cpu_per_chunk(way, args.replies, args.k))
    old_us, new_us = (statistics.median(values) for values in samples.values())
    print(f"{name}: K={args.k}, {args.replies} replies x {args.rounds} rounds per way")
    for label, values in samples.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"  {label:28} median {statistics.median(values):6.1f} us CPU per chunk   (rounds: {shown})")
    print(f"  new / old = {new_us / old_us:.2f}")
    return {"vendor": name, "old_us": old_us, "new_us": new_us, "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=50, help="chunks per reply")
    parser.add_argument("--replies", type=int, default=200, help="replies per way per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--vendor", choices=("openai", "anthropic", "both"), default="both")
    parser.add_argument("--serve-anthropic", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_anthropic:
        return serve_anthropic(args.serve_anthropic, args.k)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, pid {os.getpid()}")
    processes = []
    try:
        if args.vendor in ("openai", "both"):
            port = free_port()
            processes.append(
                start([sys.executable, str(BENCH / "fake_llm.py"), "--port", str(port), "--k", str(args.k)], port)
            )
            config = ProviderConfig("bench", "bench", "openai", f"http://127.0.0.1:{port}/v1", "sk-bench", "m")
            measure("openai", OpenAIProvider(config, 30.0), old_openai, args)
        if args.vendor in ("anthropic", "both"):
            port = free_port()
            command = [sys.executable, __file__, "--serve-anthropic", str(port), "--k", str(args.k)]
            processes.append(start(command, port))
            # The SDK posts to {root}/v1/messages; under /chat/completions so that fake_llm.py answers it.
            config = ProviderConfig(
                "bench", "bench", "anthropic", f"http://127.0.0.1:{port}/chat/completions", "sk-bench", "m"
            )
            measure("anthropic", AnthropicProvider(config, 30.0), old_anthropic, args)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
