"""Retries, backoff and failover around a provider stream, and the error mapping every vendor adapter shares.

Before the first token a failed attempt is tried again (3 attempts in all, 1 s then 2 s apart, or what the
vendor's Retry-After asks) when the failure is retryable (429, 5xx, connection errors); once every attempt failed,
the provider's ``fallback`` provider gets its turn. After the first token nothing is retried: the reply would
repeat itself, so the failure ends the reply (ReplyStreamer shows LLM_UNAVAILABLE and keeps the partial text).
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import time
from collections.abc import Callable, Iterable, Iterator

import gevent
from gevent import GreenletExit

from chatbox.integrations.llm import Delta, Provider, ProviderError, ReplyCancelled, ReplyRequest, ReplyTimeout, Turn

log = logging.getLogger("chatbox.llm")

BODY_LIMIT = 300  # characters of a vendor's error body kept for logs


def retryable_status(status: int) -> bool:
    """429 and every 5xx (Anthropic's 529 "overloaded" among them) may succeed later; other statuses will not."""
    return status == 429 or status >= 500


def parse_retry_after(headers) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` seconds or an HTTP date; None when absent."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    try:
        if millis:
            return max(float(millis) / 1000, 0.0)
    except ValueError:
        pass
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (and its long prefixes vendors like to echo) with ``[redacted]``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
            if len(secret) > 12:
                text = text.replace(secret[:12], "[redacted]")
    return text


def status_error(vendor: str, status: int, body: str, headers, secrets: Iterable[str]) -> ProviderError:
    """A ProviderError for a vendor's HTTP error: status, Retry-After, and a truncated body without keys."""
    shown = redact(" ".join((body or "").split()), secrets)
    if len(shown) > BODY_LIMIT:
        shown = shown[:BODY_LIMIT] + "…"
    return ProviderError(
        f"{vendor} API error (status {status}): {shown}",
        retryable=retryable_status(status),
        retry_after=parse_retry_after(headers),
    )


def connection_error(vendor: str, exc: BaseException) -> ProviderError:
    """A retryable ProviderError for a network failure; only the exception's type and first line are kept."""
    first_line = (str(exc).splitlines() or [""])[0][:200]
    return ProviderError(f"{vendor} connection failed: {type(exc).__name__}: {first_line}", retryable=True)


def unwrap_interrupt(exc: BaseException) -> None:
    """Re-raise a cancellation or deadline that an SDK wrapped as a connection error.

    Some SDKs turn any exception raised while sending (including the ReplyCancelled or ReplyTimeout that
    ReplyStreamer throws into the greenlet) into their connection error; retrying those would defeat the cancel.
    """
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, (ReplyCancelled, ReplyTimeout, gevent.Timeout, GreenletExit)):
            raise cause
        cause = cause.__cause__


class ResilientStreams:
    """``stream_deltas`` for ReplyStreamer: retries with backoff before the first token, then failover.

    ``sleep`` is injectable so tests need not wait real seconds; ``metrics.reply_event("request", type, 1)`` counts
    each attempt and ``"error"`` each failed attempt that was retried or failed over (the final failure is
    counted by ReplyStreamer).
    """

    def __init__(
        self,
        providers,
        metrics=None,
        sleep: Callable[[float], None] = gevent.sleep,
        attempts: int = 3,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
    ):
        self.providers, self.metrics, self.sleep = providers, metrics, sleep
        self.attempts, self.base_delay, self.max_delay = attempts, base_delay, max_delay

    def __call__(self, provider: Provider, request: ReplyRequest) -> Iterator[Delta]:
        tried: list[str] = []
        asked = provider.id
        while True:
            tried.append(provider.id)
            started = False
            try:
                for delta in self._attempts(provider, request):
                    started = started or bool(delta.text)
                    yield delta if provider.id == asked else dataclasses.replace(delta, provider_id=provider.id)
                return
            except ProviderError as exc:
                fallback = provider.config.fallback
                if started or not fallback or fallback in tried or fallback not in self.providers:
                    raise
                log.warning(
                    "provider %s failed before its first token (%s); failing over to %s",
                    provider.id,
                    exc,
                    fallback,
                    extra={"session_id": request.session_id},
                )
                self._observe("error", provider)
                provider = self.providers.get(fallback)
                request = _with_system_prompt(request, provider.config.system_prompt)

    def _attempts(self, provider: Provider, request: ReplyRequest) -> Iterator[Delta]:
        for attempt in range(1, self.attempts + 1):
            started = False
            self._observe("request", provider)
            try:
                for delta in _guarded(provider, request):
                    started = started or bool(delta.text)
                    yield delta
                return
            except ProviderError as exc:
                if started or not exc.retryable or attempt == self.attempts:
                    raise
                delay = self._delay(attempt, exc.retry_after)
                log.warning(
                    "provider %s attempt %d failed (%s); retrying in %.1fs",
                    provider.id,
                    attempt,
                    exc,
                    delay,
                    extra={"session_id": request.session_id},
                )
                self._observe("error", provider)
                self.sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = retry_after if retry_after is not None else self.base_delay * 2 ** (attempt - 1)
        return min(delay, self.max_delay)

    def _observe(self, what: str, provider: Provider) -> None:
        if self.metrics is not None:
            self.metrics.reply_event(what, provider.config.type, 1)


def _with_system_prompt(request: ReplyRequest, prompt: str) -> ReplyRequest:
    """The request with a fallback provider's own system prompt, if it sets one (state stays shared)."""
    if not prompt:
        return request
    turns = [Turn("system", prompt)] + [t for t in request.turns if t.role != "system"]
    return dataclasses.replace(request, turns=turns)


def _guarded(provider: Provider, request: ReplyRequest) -> Iterator[Delta]:
    """The provider's stream, with an adapter bug turned into a ProviderError so the reply still ends properly."""
    try:
        yield from provider.stream(request)
    except (ProviderError, ReplyCancelled, ReplyTimeout):
        raise
    except Exception as exc:
        log.exception("provider %s raised %s", provider.id, type(exc).__name__)
        raise ProviderError(f"{provider.id}: unexpected {type(exc).__name__}") from None
