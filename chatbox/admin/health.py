"""Each AI provider's recent health, recorded from the reply path: last success, last failure, latency.

The reply streamer reports every finished reply to ``ProviderHealth.reply_finished`` (its observers are given at
construction). Per process: each pod reports its own replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chatbox.clock import utcnow


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

    def reply_finished(self, provider_id: str, first_token_ms: int | None, total_ms: int, error: str) -> None:
        """Note one finished reply (the reply streamer calls this; cancelled replies are not the provider's)."""
        entry = self.record(provider_id)
        if first_token_ms is not None:
            entry.first_token_ms = first_token_ms
        if error:
            entry.failures += 1
            entry.last_failure, entry.last_error = utcnow(), error[:200]
            return
        entry.replies += 1
        entry.last_success = utcnow()
        entry.total_ms = total_ms
