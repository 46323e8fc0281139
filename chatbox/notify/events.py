"""Operational events from the backbone (``services.alert``) turned into alerts.

``llm_failure`` and ``rate_limited`` are noisy by nature: they alert only as a burst (N within a window, one report
per window, counted across pods through the bus). The others alert on each occurrence and rely on the per-key rate
limit.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from chatbox.notify.limits import BurstDetector
from chatbox.notify.messages import Alert

log = logging.getLogger("chatbox.notify")


class AlertRouter:
    """The ``(event, **details)`` callable behind ``services.alert`` (built by ``notify.build``)."""

    def __init__(self, settings, notifier, affected_now: Callable[[], int] = lambda: 0):
        self.settings, self.notifier, self.affected_now = settings, notifier, affected_now
        clock, bus = notifier, notifier.bus  # reads notifier.clock, so a clock swapped in later applies here too
        self.llm = BurstDetector(bus, "llm", settings.notify_llm_failures, settings.notify_llm_failure_window, clock)
        self.refusals = BurstDetector(
            bus, "refusals", settings.notify_refusal_burst, settings.notify_refusal_window, clock
        )

    def __call__(self, event: str, **details) -> None:
        handler = getattr(self, f"_on_{event}", None)
        if handler is None:
            log.warning("unknown alert event %s", event)
            return
        alert = handler(**details)
        if alert is not None:
            self.notifier.submit(alert)

    def _alert(self, event: str, key: str, **values) -> Alert:
        return Alert(event, key, self.notifier.now(), **values)

    def _on_llm_failure(
        self, provider: str = "", code: str = "", session_id: str = "", user_id: str = "", **_
    ) -> Alert | None:
        burst = self.llm.add(provider, {"code": code, "session_id": session_id, "user_id": user_id})
        if burst is None:
            return None
        users = list(dict.fromkeys(item["user_id"] for item in burst if item["user_id"]))
        codes = Counter(item["code"] for item in burst)
        window = _seconds(self.settings.notify_llm_failure_window)
        return self._alert(
            "llm_failure",
            f"llm_failure:{provider}",
            user_id=_some(users),
            session_id=burst[-1]["session_id"],
            affected=len(users),
            count=len(burst),
            error=f"{len(burst)} failures within {window}: " + ", ".join(f"{code} x{n}" for code, n in codes.items()),
            details={"Provider": provider},
        )

    def _on_rate_limited(self, user_id: str = "", **_) -> Alert | None:
        burst = self.refusals.add("rate_limited", {"user_id": user_id})
        if burst is None:
            return None
        per_user = Counter(item["user_id"] for item in burst)
        window = _seconds(self.settings.notify_refusal_window)
        return self._alert(
            "rate_limited",
            "rate_limited",
            user_id=_some([u for u, _ in per_user.most_common()]),
            affected=len(per_user),
            count=len(burst),
            error=f"{len(burst)} rate-limit refusals within {window}",
            details={"Most refused": ", ".join(f"{u} ({n})" for u, n in per_user.most_common(5))},
        )

    def _on_connection_cap(self, limit: int = 0, **_) -> Alert:
        return self._alert(
            "connection_cap",
            "connection_cap",
            affected=self.affected_now,
            error=f"a connection was refused: {limit} connections open (MAX_CONNECTIONS)",
        )

    def _on_database_unavailable(self, reason: str = "", **_) -> Alert:
        return self._alert(
            "database_unavailable",
            "database_unavailable",
            affected=self.affected_now,
            error=reason or "MongoDB is not reachable",
        )

    def _on_crash(self, error: str = "", **_) -> Alert:
        kind = error.split("(", 1)[0].strip() or "error"
        return self._alert("crash", f"crash:{kind}", affected=self.affected_now, error=error)


def _some(users: list[str], shown: int = 5) -> str:
    text = ", ".join(users[:shown])
    return text + (f" (+{len(users) - shown} more)" if len(users) > shown else "")


def _seconds(value: float) -> str:
    return f"{value / 60:g}m" if value >= 60 and value % 60 == 0 else f"{value:g}s"
