"""Time-based counting for alerts: a per-key rate limit that remembers what it suppressed, and burst detection.

Both take a clock (``monotonic()``) so tests control time. State is per process, as in the Go service.
"""

from __future__ import annotations

import time
from collections import deque


class MonotonicClock:
    """Real time: ``monotonic()`` for windows, ``now()`` for timestamps, ``sleep()`` for backoff and escalation."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self):
        from chatbox.store import utcnow

        return utcnow()

    def sleep(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)


class KeyLimiter:
    """At most ``limit`` messages per key in a sliding ``window``; refused ones are counted until the next pass."""

    def __init__(self, limit: int, window: float, clock, max_keys: int = 100_000):
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._sent: dict[str, deque[float]] = {}
        self._suppressed: dict[str, int] = {}

    def admit(self, key: str) -> tuple[bool, int]:
        """Return (allowed, suppressed): when allowed, how many were suppressed for this key since the last pass
        (and forget them); when refused, the count so far including this one."""
        now = self.clock.monotonic()
        sent = self._sent.get(key)
        if sent is None:
            if len(self._sent) >= self.max_keys:
                self._sweep(now)
            sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        if len(sent) >= self.limit:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False, self._suppressed[key]
        sent.append(now)
        return True, self._suppressed.pop(key, 0)

    def _sweep(self, now: float) -> None:
        for key in [k for k, times in self._sent.items() if not times or times[-1] <= now - self.window]:
            if key not in self._suppressed:
                del self._sent[key]


class BurstDetector:
    """Reports a burst when ``threshold`` occurrences of a key fall within ``window``, then stays quiet for that key
    for one window (occurrences meanwhile still count towards the next report)."""

    def __init__(self, threshold: int, window: float, clock):
        self.threshold, self.window, self.clock = threshold, window, clock
        self._seen: dict[str, deque[tuple[float, dict]]] = {}
        self._reported: dict[str, float] = {}

    def add(self, key: str, item: dict) -> list[dict] | None:
        """Record one occurrence; return the occurrences within the window when they make a new burst."""
        now = self.clock.monotonic()
        seen = self._seen.setdefault(key, deque())
        seen.append((now, item))
        while seen and seen[0][0] <= now - self.window:
            seen.popleft()
        last = self._reported.get(key)
        if len(seen) < self.threshold or (last is not None and now - last < self.window):
            return None
        self._reported[key] = now
        return [entry for _, entry in seen]
