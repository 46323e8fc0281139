"""Dify through its streaming ``POST {endpoint}/chat-messages`` API (``response_mode: streaming``), over httpx2.

Dify keeps the conversation itself: the ``conversation_id`` it returns is kept in the session's provider state
and sent with every later turn, so only the new message travels. A first turn that follows earlier messages (the
user switched models, or Dify forgot the conversation) carries them as a short transcript instead. The Dify app
owns its prompt, so the system prompt is not sent. Files the app produces (``message_file`` events, e.g. an image
a tool drew) come out as ``Delta(file=AiFile(url=...))``; the reply path fetches and keeps them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlparse

import httpx2

from chatbox.integrations.llm import ADAPTERS, AiFile, Delta, Provider, ProviderError, ReplyRequest, Turn, Usage
from chatbox.integrations.llm_retry import connection_error, redact, retryable_status, status_error

log = logging.getLogger("chatbox.llm")

CONNECT_TIMEOUT = 10.0


def build_query(turns: list[Turn], continuing: bool) -> str:
    """The ``query`` for Dify: the newest user message, prefixed by earlier turns when Dify has no conversation."""
    talk = [t for t in turns if t.role != "system"]
    question = talk[-1].content if talk else ""
    if continuing or len(talk) < 2:
        return question
    earlier = "\n".join(f"{t.role}: {t.content}" for t in talk[:-1])
    return f"Earlier in this conversation:\n{earlier}\n\nNew message:\n{question}"


class DifyProvider(Provider):
    def __init__(self, config, read_timeout: float):
        super().__init__(config)
        self.url = config.endpoint.rstrip("/") + "/chat-messages"
        self.http = httpx2.Client(timeout=httpx2.Timeout(read_timeout, connect=CONNECT_TIMEOUT))

    @property
    def state_key(self) -> str:
        # MongoDB field names may not hold "." or "$"; provider ids may.
        return "dify_conversation:" + self.id.replace(".", "_").replace("$", "_")

    def stream(self, request: ReplyRequest) -> Iterator[Delta]:
        conversation = request.state.get(self.state_key, "")
        try:
            yield from self._stream(request, conversation)
        except ProviderError as exc:
            if conversation and getattr(exc, "status", None) == 404:
                # Dify no longer knows the conversation (deleted or expired): start a new one with the transcript.
                log.info("Dify provider %s forgot conversation; starting a new one", self.id)
                request.state.pop(self.state_key, None)
                yield from self._stream(request, "")
            else:
                raise

    def _stream(self, request: ReplyRequest, conversation: str) -> Iterator[Delta]:
        body = {
            "inputs": {},
            "query": build_query(request.turns, bool(conversation)),
            "response_mode": "streaming",
            "conversation_id": conversation,
            "user": request.user_id,
        }
        headers = {"Authorization": f"Bearer {self.config.api_key}", "Accept": "text/event-stream"}
        try:
            with self.http.stream("POST", self.url, json=body, headers=headers) as response:
                if response.status_code != 200:
                    response.read()
                    error = status_error(
                        "Dify", response.status_code, response.text, response.headers, [self.config.api_key]
                    )
                    error.status = response.status_code
                    raise error
                yield from self._events(response, request)
        except httpx2.HTTPError as exc:
            raise connection_error("Dify", exc) from None

    def _events(self, response, request: ReplyRequest) -> Iterator[Delta]:
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue  # "event: ping" keep-alives and blank separators
            try:
                event = json.loads(line[5:].strip())
            except ValueError:
                continue
            kind = event.get("event")
            if event.get("conversation_id"):
                request.state[self.state_key] = event["conversation_id"]
            if kind in ("message", "agent_message") and event.get("answer"):
                yield Delta(text=event["answer"])
            elif kind == "message_file" and event.get("url") and event.get("belongs_to") != "user":
                yield Delta(file=self._file(event))
            elif kind == "message_end":
                usage = (event.get("metadata") or {}).get("usage") or {}
                if usage.get("total_tokens"):
                    yield Delta(
                        usage=Usage(
                            int(usage.get("prompt_tokens") or 0),
                            int(usage.get("completion_tokens") or 0),
                            int(usage["total_tokens"]),
                        )
                    )
                return
            elif kind == "error":
                status = int(event.get("status") or 500)
                shown = redact(f"{event.get('code', '')}: {event.get('message', '')}", [self.config.api_key])
                raise ProviderError(
                    f"Dify stream error (status {status}): {shown[:300]}", retryable=retryable_status(status)
                )
        raise ProviderError("Dify stream ended without message_end", retryable=True)

    def _file(self, event: dict) -> AiFile:
        """The file of a ``message_file`` event; Dify gives relative URLs unless its FILES_URL is set."""
        url = urljoin(self.config.endpoint, event["url"])
        name = unquote(PurePosixPath(urlparse(url).path).name)
        return AiFile(url=url, name=name or f"{event.get('type') or 'file'}-{event.get('id', '')[:8]}")


ADAPTERS["dify"] = lambda config, settings: DifyProvider(config, settings.llm_stream_timeout)
