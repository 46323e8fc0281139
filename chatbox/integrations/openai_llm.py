"""OpenAI, and every OpenAI-compatible server (Ollama, vLLM, llama.cpp), through the official ``openai`` SDK.

The endpoint is the SDK's ``base_url`` (``https://api.openai.com/v1``, ``http://ollama:11434/v1``); the SDK posts to
``{endpoint}/chat/completions``. Retries are ours (llm_retry.py), so the SDK's own are off.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import openai

from chatbox.integrations.llm import ADAPTERS, Delta, Provider, ProviderError, ReplyRequest, Usage
from chatbox.integrations.llm_retry import connection_error, status_error, unwrap_interrupt

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
        usage, finished = None, False
        try:
            with self.client.chat.completions.create(**options) as chunks:
                for chunk in chunks:
                    if chunk.usage:
                        usage = Usage(
                            chunk.usage.prompt_tokens or 0,
                            chunk.usage.completion_tokens or 0,
                            chunk.usage.total_tokens or 0,
                        )
                    for choice in chunk.choices[:1]:
                        finished = finished or bool(choice.finish_reason)
                        if choice.delta and choice.delta.content:
                            yield Delta(text=choice.delta.content)
        except openai.APIStatusError as exc:
            raise status_error(
                "OpenAI", exc.status_code, _body(exc), exc.response.headers, [self.config.api_key]
            ) from None
        except openai.APIConnectionError as exc:  # APITimeoutError included
            unwrap_interrupt(exc)
            raise connection_error("OpenAI", exc.__cause__ or exc) from None
        except openai.APIError as exc:
            raise ProviderError(f"OpenAI stream error: {type(exc).__name__}", retryable=False) from None
        except httpx2.HTTPError as exc:
            raise connection_error("OpenAI", exc) from None
        if not finished:
            # The body ended without a finish_reason: the connection dropped, so the reply is cut short.
            raise ProviderError("OpenAI stream ended without a finish_reason", retryable=True)
        if usage is not None:
            yield Delta(usage=usage)


def _body(exc: openai.APIStatusError) -> str:
    try:
        return exc.response.text
    except (httpx2.HTTPError, RuntimeError):
        return exc.message


ADAPTERS["openai"] = lambda config, settings: OpenAIProvider(config, settings.llm_stream_timeout)
