"""Anthropic (Claude) through the official ``anthropic`` SDK, streamed.

The Go service's configs name the endpoint ``https://api.anthropic.com/v1`` and post to ``{endpoint}/messages``;
the SDK wants the root and adds ``/v1/messages`` itself, so a trailing ``/v1`` is dropped. The system prompt goes
in ``system=``; input tokens come from ``message_start``, output tokens from ``message_delta``.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx2

from chatbox.integrations.llm import ADAPTERS, Delta, Provider, ProviderError, ReplyRequest, Turn, Usage
from chatbox.integrations.llm_retry import BODY_LIMIT, connection_error, redact, status_error, unwrap_interrupt

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
        prompt = completion = 0
        stopped = False
        try:
            with self.client.messages.create(**options) as events:
                for event in events:
                    if event.type == "message_start":
                        prompt = event.message.usage.input_tokens or 0
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        if event.delta.text:
                            yield Delta(text=event.delta.text)
                    elif event.type == "message_delta":
                        completion = event.usage.output_tokens or completion
                    elif event.type == "message_stop":
                        stopped = True
        except anthropic.APIStatusError as exc:
            if exc.status_code == 200:  # an ``error`` event inside the stream (e.g. overloaded_error)
                shown = redact(str(exc.body), [self.config.api_key])[:BODY_LIMIT]
                raise ProviderError(f"Anthropic stream error event: {shown}", retryable=True) from None
            raise status_error(
                "Anthropic", exc.status_code, _body(exc), exc.response.headers, [self.config.api_key]
            ) from None
        except anthropic.APIConnectionError as exc:  # APITimeoutError included
            unwrap_interrupt(exc)
            raise connection_error("Anthropic", exc.__cause__ or exc) from None
        except anthropic.APIError as exc:
            raise ProviderError(f"Anthropic stream error: {type(exc).__name__}", retryable=False) from None
        except httpx2.HTTPError as exc:
            raise connection_error("Anthropic", exc) from None
        if not stopped:
            raise ProviderError("Anthropic stream ended without message_stop", retryable=True)
        if prompt or completion:
            yield Delta(usage=Usage(prompt, completion, prompt + completion))


def _body(exc: anthropic.APIStatusError) -> str:
    try:
        return exc.response.text
    except (httpx2.HTTPError, RuntimeError):
        return str(exc.body)


ADAPTERS["anthropic"] = lambda config, settings: AnthropicProvider(config, settings.llm_stream_timeout)
