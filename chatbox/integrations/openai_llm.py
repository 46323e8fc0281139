"""OpenAI, and every OpenAI-compatible server (Ollama, vLLM, llama.cpp), through the official ``openai`` SDK.

The endpoint is the SDK's ``base_url`` (``https://api.openai.com/v1``, ``http://ollama:11434/v1``); the SDK posts to
``{endpoint}/chat/completions``. Retries are ours (llm_retry.py), so the SDK's own are off.

The SDK sends the request and raises for statuses, connection errors and timeouts before the body; the body is read
raw and parsed by sse.py, because the SDK's pydantic model per chunk cost more CPU than everything else a chunk goes
through (bench/llm_client.py measures both).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import httpx2
import openai

from chatbox.integrations.llm import ADAPTERS, Delta, Provider, ProviderError, ReplyRequest, Usage
from chatbox.integrations.llm_retry import BODY_LIMIT, connection_error, redact, status_error, unwrap_interrupt
from chatbox.integrations.sse import Event, SSEError, body_chunks, drain, iter_events

CONNECT_TIMEOUT = 10.0


class OpenAIProvider(Provider):
    """Streams chat completions; usage comes from the final chunk (``stream_options.include_usage``)."""

    def __init__(self, config, read_timeout: float):
        super().__init__(config)
        # Local OpenAI-compatible servers often need no key, but the SDK refuses an empty one.
        self.client = openai.OpenAI(
            base_url=config.endpoint,
            api_key=config.api_key or "unused",
            max_retries=0,
            timeout=httpx2.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
        )

    def stream(self, request: ReplyRequest) -> Iterator[Delta]:
        options = {
            "model": self.config.model,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": t.role, "content": t.content} for t in request.turns],
            "max_tokens": self.config.max_tokens,
        }
        if self.config.temperature is not None:
            options["temperature"] = self.config.temperature
        try:
            # Not ``chat.completions.create``: its parameter transform alone costs ~0.6 ms a request, more with a
            # long history. ``post`` (the SDK's documented way to send what it does not model) still gives the
            # base URL, the key, the status and connection errors; ``stream=True`` leaves the body unread.
            response = self.client.post("/chat/completions", body=options, cast_to=httpx2.Response, stream=True)
            try:
                chunks = body_chunks(response)
                yield from self._deltas(iter_events(chunks))
                drain(chunks)
            finally:
                response.close()
        except openai.APIStatusError as exc:
            raise status_error(
                "OpenAI", exc.status_code, _body(exc), exc.response.headers, [self.config.api_key]
            ) from None
        except openai.APIConnectionError as exc:  # APITimeoutError included
            unwrap_interrupt(exc)
            raise connection_error("OpenAI", exc.__cause__ or exc) from None
        except openai.APIError as exc:
            raise ProviderError(f"OpenAI stream error: {type(exc).__name__}", retryable=False) from None
        except httpx2.HTTPError as exc:  # reading the body (TLS errors arrive as httpx2.ReadError)
            raise connection_error("OpenAI", exc) from None

    def _deltas(self, events: Iterable[Event]) -> Iterator[Delta]:
        """Text deltas from ``chat.completion.chunk`` events, then the usage; raises ProviderError for a stream
        that reports an error, is not JSON, or ends before a ``finish_reason``."""
        usage, finished = None, False
        try:
            for _, data in events:
                if data == b"[DONE]":
                    break
                chunk = json.loads(data)
                if chunk.get("error"):
                    raise self._stream_error(chunk["error"])
                if chunk.get("usage"):
                    usage = _usage(chunk["usage"])
                for choice in chunk.get("choices") or ():
                    finished = finished or bool(choice.get("finish_reason"))
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield Delta(text=text)
                    break  # we ask for one choice (n=1); others would be alternative replies
        except (SSEError, ValueError, AttributeError, TypeError) as exc:
            raise ProviderError(f"OpenAI stream is malformed: {type(exc).__name__}", retryable=False) from None
        if not finished:
            # The body ended without a finish_reason: the connection dropped, so the reply is cut short.
            raise ProviderError("OpenAI stream ended without a finish_reason", retryable=True)
        if usage is not None:
            yield Delta(usage=usage)

    def _stream_error(self, error) -> ProviderError:
        """An ``error`` object sent inside a 200 stream (OpenAI, vLLM and others do)."""
        message = error.get("message") if isinstance(error, dict) else error
        shown = redact(str(message), [self.config.api_key])[:BODY_LIMIT]
        return ProviderError(f"OpenAI stream error: {shown}", retryable=False)


def _usage(usage: dict) -> Usage:
    return Usage(
        usage.get("prompt_tokens") or 0,
        usage.get("completion_tokens") or 0,
        usage.get("total_tokens") or 0,
    )


def _body(exc: openai.APIStatusError) -> str:
    try:
        return exc.response.text
    except (httpx2.HTTPError, RuntimeError):
        return exc.message


ADAPTERS["openai"] = lambda config, settings: OpenAIProvider(config, settings.llm_stream_timeout)
