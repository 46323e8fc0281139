"""Anthropic (Claude) through the official ``anthropic`` SDK, streamed.

The Go service's configs name the endpoint ``https://api.anthropic.com/v1`` and post to ``{endpoint}/messages``;
the SDK wants the root and adds ``/v1/messages`` itself, so a trailing ``/v1`` is dropped. The system prompt goes
in ``system=``; input tokens come from ``message_start``, output tokens from ``message_delta``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import anthropic
import httpx2

from chatbox.integrations.llm import ADAPTERS, Delta, Provider, ProviderError, ReplyRequest, Turn, Usage
from chatbox.integrations.llm_retry import BODY_LIMIT, connection_error, redact, status_error, unwrap_interrupt
from chatbox.integrations.sse import Event, SSEError, body_chunks, drain, iter_events

CONNECT_TIMEOUT = 10.0


def sdk_base_url(endpoint: str) -> str:
    """The SDK's base URL for a configured endpoint (``…/v1`` or the root)."""
    endpoint = endpoint.rstrip("/")
    return endpoint.removesuffix("/v1")


def to_messages(turns: list[Turn]) -> tuple[str, list[dict]]:
    """Split off the system prompt and merge same-role neighbours; the first message must be the user's."""
    system = "\n\n".join(t.content for t in turns if t.role == "system")
    messages: list[dict] = []
    for turn in turns:
        if turn.role == "system":
            continue
        if messages and messages[-1]["role"] == turn.role:
            messages[-1]["content"] += "\n\n" + turn.content
        else:
            messages.append({"role": turn.role, "content": turn.content})
    if messages and messages[0]["role"] == "assistant":
        # The token budget cut the conversation just before an answer; say so rather than lose the answer.
        messages.insert(0, {"role": "user", "content": "(earlier conversation omitted)"})
    return system, messages


class AnthropicProvider(Provider):
    def __init__(self, config, read_timeout: float):
        super().__init__(config)
        self.client = anthropic.Anthropic(
            base_url=sdk_base_url(config.endpoint),
            api_key=config.api_key,
            max_retries=0,
            timeout=httpx2.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
        )

    def stream(self, request: ReplyRequest) -> Iterator[Delta]:
        system, messages = to_messages(request.turns)
        options: dict = {
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "messages": messages,
            "stream": True,
        }
        if system:
            options["system"] = system
        if self.config.temperature is not None:
            options["temperature"] = self.config.temperature
        try:
            with self.client.messages.with_streaming_response.create(**options) as response:
                chunks = body_chunks(response.http_response)
                yield from self._deltas(iter_events(chunks))
                drain(chunks)
        except anthropic.APIStatusError as exc:
            raise status_error(
                "Anthropic", exc.status_code, _body(exc), exc.response.headers, [self.config.api_key]
            ) from None
        except anthropic.APIConnectionError as exc:  # APITimeoutError included
            unwrap_interrupt(exc)
            raise connection_error("Anthropic", exc.__cause__ or exc) from None
        except anthropic.APIError as exc:
            raise ProviderError(f"Anthropic stream error: {type(exc).__name__}", retryable=False) from None
        except httpx2.HTTPError as exc:  # reading the body (TLS errors arrive as httpx2.ReadError)
            raise connection_error("Anthropic", exc) from None

    def _deltas(self, events: Iterable[Event]) -> Iterator[Delta]:
        """Text deltas from the Messages API's events, then the usage; raises ProviderError for an ``error`` event,
        a body that is not JSON, or a stream that ends before ``message_stop``."""
        prompt = completion = 0
        try:
            for name, data in events:
                if name == "content_block_delta":
                    delta = json.loads(data)["delta"]
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        yield Delta(text=delta["text"])
                elif name == "message_start":
                    prompt = json.loads(data)["message"]["usage"].get("input_tokens") or 0
                elif name == "message_delta":
                    completion = (json.loads(data).get("usage") or {}).get("output_tokens") or completion
                elif name == "message_stop":
                    break
                elif name == "error":
                    raise self._stream_error(data)
            else:
                raise ProviderError("Anthropic stream ended without message_stop", retryable=True)
        except (SSEError, ValueError, LookupError, AttributeError, TypeError) as exc:
            raise ProviderError(f"Anthropic stream is malformed: {type(exc).__name__}", retryable=False) from None
        if prompt or completion:
            yield Delta(usage=Usage(prompt, completion, prompt + completion))

    def _stream_error(self, data: bytes) -> ProviderError:
        """An ``error`` event inside the 200 stream (e.g. ``overloaded_error``); trying again may help."""
        try:
            body = str(json.loads(data))
        except ValueError:
            body = data.decode("utf-8", "replace")
        shown = redact(body, [self.config.api_key])[:BODY_LIMIT]
        return ProviderError(f"Anthropic stream error event: {shown}", retryable=True)


def _body(exc: anthropic.APIStatusError) -> str:
    try:
        return exc.response.text
    except (httpx2.HTTPError, RuntimeError):
        return str(exc.body)


ADAPTERS["anthropic"] = lambda config, settings: AnthropicProvider(config, settings.llm_stream_timeout)
