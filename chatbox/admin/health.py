"""Each AI provider's recent health, recorded from the reply path: last success, last failure, latency.

``watch`` wraps the reply streamer's ``stream_deltas`` seam (whatever is installed, retries included), so every
reply on this process is observed without touching the chat code. Per process: each pod reports its own replies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from chatbox.chat.replies import ReplyCancelled
from chatbox.store import utcnow


@dataclass
class ProviderRecord:
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str = ""
    first_token_ms: int | None = None
    total_ms: int | None = None
    replies: int = 0
    failures: int = 0


class ProviderHealth:
    def __init__(self):
        self.records: dict[str, ProviderRecord] = {}

    def record(self, provider_id: str) -> ProviderRecord:
        return self.records.setdefault(provider_id, ProviderRecord())

    def observe(self, provider, request, inner) -> Iterator:
        """Yield ``inner``'s deltas, noting time to first text, success, or the failure that ended it."""
        entry = self.record(provider.id)
        started, first = time.monotonic(), None
        try:
            for delta in inner(provider, request):
                if first is None and getattr(delta, "text", ""):
                    first = time.monotonic()
                    entry.first_token_ms = int((first - started) * 1000)
                yield delta
        except (GeneratorExit, ReplyCancelled):
            raise  # cancelled by a takeover or the session ending: not the provider's fault
        except BaseException as exc:
            entry.failures += 1
            entry.last_failure, entry.last_error = utcnow(), f"{type(exc).__name__}: {str(exc)[:200]}"
            raise
        entry.replies += 1
        entry.last_success = utcnow()
        entry.total_ms = int((time.monotonic() - started) * 1000)


def watch(replies, health: ProviderHealth) -> None:
    """Install the observer around the reply streamer's current ``stream_deltas``."""
    inner = replies.stream_deltas
    replies.stream_deltas = lambda provider, request: health.observe(provider, request, inner)
