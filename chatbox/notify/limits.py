"""Time-based counting for alerts: a per-key rate limit that remembers what it suppressed, and burst detection.

Both keep their state in the bus, so with REDIS_URL set every pod counts against the same limits and bursts (with
the in-memory bus, as before, per process). Times come from the notifier's clock as seconds since the epoch (the
one timebase pods share; tests move it by hand).
"""

from __future__ import annotations

import json
import time
from datetime import UTC

from chatbox.clock import utcnow

SUPPRESSED_TTL = 86_400.0  # a suppressed count waits this long for the next alert to sum it up


class MonotonicClock:
    """Real time: ``monotonic()`` for local waits, ``now()`` for timestamps and windows, ``sleep()`` for backoff."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self):
        return utcnow()

    def sleep(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)


def epoch(clock) -> float:
    """``clock.now()`` (naive UTC, as stored) in seconds since the epoch."""
    moment = clock.now()
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class KeyLimiter:
    """At most ``limit`` messages per key in a sliding ``window``, cluster-wide; refused ones are counted until the
    next message for that key goes out."""

    def __init__(self, bus, limit: int, window: float, clock):
        self.bus, self.limit, self.window, self.clock = bus, limit, window, clock

    def admit(self, key: str) -> tuple[bool, int]:
        """Return (allowed, suppressed): when allowed, how many were suppressed for this key since the last pass
        (and forget them); when refused, the count so far including this one."""
        if self.bus.hit("notify:limit:" + key, self.limit, self.window, now=epoch(self.clock)) > 0:
            return False, self.bus.counter_add("notify:suppressed:" + key, max(SUPPRESSED_TTL, self.window))
        # A refusal on another pod between our hit and this take lands in the next summary instead: none is lost.
        return True, self.bus.counter_take("notify:suppressed:" + key)


class BurstDetector:
    """Reports a burst when ``threshold`` occurrences of a key fall within ``window`` (on any pod), then stays quiet
    for that key for one window (occurrences meanwhile still count towards the next report)."""

    def __init__(self, bus, name: str, threshold: int, window: float, clock):
        self.bus, self.name, self.threshold, self.window, self.clock = bus, name, threshold, window, clock

    def add(self, key: str, item: dict) -> list[dict] | None:
        """Record one occurrence; return the occurrences within the window when they make a new burst."""
        now, series = epoch(self.clock), f"notify:burst:{self.name}:{key}"
        if self.bus.series_add(series, json.dumps(item, separators=(",", ":")), self.window, now) < self.threshold:
            return None
        # One report per window across pods: the first pod to claim it reports, the others stay quiet.
        if self.bus.hit(f"notify:burst-reported:{self.name}:{key}", 1, self.window, now=now) > 0:
            return None
        return [json.loads(entry) for entry in self.bus.series_items(series, self.window, now)]
