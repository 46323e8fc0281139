"""The event bus and the little shared state pods need, behind one interface.

``MemoryBus`` serves one process; ``RedisBus`` (redis_bus.py) makes many pods act as one. Both offer:
- publish/subscribe of JSON events on named channels (every subscriber on every pod gets every event, in order);
- the text so far of each reply being streamed (so a resuming client gets it whole);
- sliding-window rate limits, counted slots (sockets per user) and expiring presence marks;
- message numbers per session (``seq_next``), unique and increasing across pods, seeded from the store;
- counters taken at once (what was suppressed since the last alert) and time series of small items (the
  occurrences that make a burst).

``now`` arguments let a caller count in its own timebase (seconds since the epoch; a test's clock); every pod must
pass the same kind for a key.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

Handler = Callable[[str, dict], None]
SERIES_CAP = 1000  # newest items a series keeps: bounds memory and work under a flood


class Bus:
    """Interface; see MemoryBus for the reference behaviour."""

    name = "bus"

    def publish(self, channel: str, event: dict) -> None: ...
    def subscribe(self, handler: Handler) -> None: ...
    def stream_begin(self, sid: str, seq: int, model_id: str) -> None: ...
    def stream_append(self, sid: str, text: str) -> int: ...
    def stream_snapshot(self, sid: str) -> dict | None: ...
    def stream_end(self, sid: str) -> None: ...
    def seq_next(self, key: str, count: int = 1) -> int | None: ...
    def seq_seed(self, key: str, value: int) -> None: ...
    def seq_floor(self, key: str, value: int) -> None: ...
    def hit(self, key: str, limit: int, window: float, now: float | None = None) -> float: ...
    def slot_acquire(self, key: str, member: str, limit: int, ttl: float) -> bool: ...
    def slot_release(self, key: str, member: str) -> None: ...
    def slot_refresh(self, key: str, member: str, ttl: float) -> None: ...
    def slot_count(self, key: str) -> int: ...
    def mark(self, key: str, ttl: float) -> None: ...
    def marked(self, key: str) -> bool: ...
    def counter_add(self, key: str, ttl: float) -> int: ...
    def counter_take(self, key: str) -> int: ...
    def series_add(self, key: str, item: str, window: float, now: float, cap: int = SERIES_CAP) -> int: ...
    def series_items(self, key: str, window: float, now: float) -> list[str]: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...


class MemoryBus(Bus):
    """In-process bus: handlers are called synchronously, in publish order."""

    name = "memory"

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._handlers: list[Handler] = []
        self._streams: dict[str, dict] = {}
        self._hits: dict[str, deque] = defaultdict(deque)
        self._slots: dict[str, dict[str, float]] = defaultdict(dict)
        self._marks: dict[str, float] = {}
        self._counters: dict[str, tuple[int, float]] = {}
        self._series: dict[str, deque] = defaultdict(deque)
        self._seqs: dict[str, int] = {}
        self._lock = threading.RLock()

    def publish(self, channel: str, event: dict) -> None:
        # Handlers get the same dict (they must not change it); Redis hands each pod a fresh copy instead.
        for handler in list(self._handlers):
            handler(channel, event)

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def stream_begin(self, sid: str, seq: int, model_id: str) -> None:
        self._streams[sid] = {"seq": seq, "model_id": model_id, "text": "", "n": 0}

    def stream_append(self, sid: str, text: str) -> int:
        state = self._streams.get(sid)
        if state is None:
            return 0
        state["text"] += text
        state["n"] += 1
        return state["n"]

    def stream_snapshot(self, sid: str) -> dict | None:
        state = self._streams.get(sid)
        return dict(state) if state else None

    def stream_end(self, sid: str) -> None:
        self._streams.pop(sid, None)

    def seq_next(self, key: str, count: int = 1) -> int | None:
        """Add ``count`` to the counter ``key`` and return its new value; None when it has not been seeded."""
        with self._lock:
            if key not in self._seqs:
                return None
            self._seqs[key] += count
            return self._seqs[key]

    def seq_seed(self, key: str, value: int) -> None:
        """Start the counter ``key`` at ``value`` unless it exists already (another caller seeded it first)."""
        with self._lock:
            self._seqs.setdefault(key, value)

    def seq_floor(self, key: str, value: int) -> None:
        """Raise the counter ``key`` to ``value`` if it is lower or missing (never lower it)."""
        with self._lock:
            self._seqs[key] = max(self._seqs.get(key, value), value)

    def hit(self, key: str, limit: int, window: float, now: float | None = None) -> float:
        """0.0 and counted if fewer than ``limit`` hits fell within ``window``; else seconds until one expires."""
        with self._lock:
            now = self._clock() if now is None else now
            stamps = self._hits[key]
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= limit:
                return max(stamps[0] + window - now, 0.001)
            stamps.append(now)
            return 0.0

    def slot_acquire(self, key: str, member: str, limit: int, ttl: float) -> bool:
        with self._lock:
            now = self._clock()
            slots = self._slots[key]
            for stale in [m for m, expiry in slots.items() if expiry <= now]:
                del slots[stale]
            if len(slots) >= limit:
                return False
            slots[member] = now + ttl
            return True

    def slot_release(self, key: str, member: str) -> None:
        with self._lock:
            self._slots[key].pop(member, None)

    def slot_refresh(self, key: str, member: str, ttl: float) -> None:
        with self._lock:
            if member in self._slots[key]:
                self._slots[key][member] = self._clock() + ttl

    def slot_count(self, key: str) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for expiry in self._slots.get(key, {}).values() if expiry > now)

    def mark(self, key: str, ttl: float) -> None:
        self._marks[key] = self._clock() + ttl

    def marked(self, key: str) -> bool:
        return self._marks.get(key, 0) > self._clock()

    def counter_add(self, key: str, ttl: float) -> int:
        """Add one to ``key`` (which lives ``ttl`` seconds from now) and return its new value."""
        with self._lock:
            value, expiry = self._counters.get(key, (0, 0.0))
            now = self._clock()
            value = value + 1 if expiry > now else 1
            self._counters[key] = (value, now + ttl)
            return value

    def counter_take(self, key: str) -> int:
        """Return ``key``'s value and reset it to nothing, in one step."""
        with self._lock:
            value, expiry = self._counters.pop(key, (0, 0.0))
            return value if expiry > self._clock() else 0

    def series_add(self, key: str, item: str, window: float, now: float, cap: int = SERIES_CAP) -> int:
        """Append ``item`` at ``now``; drop items older than ``window`` (and beyond the newest ``cap``); return how
        many remain."""
        with self._lock:
            series = self._series[key]
            series.append((now, item))
            while series and (series[0][0] <= now - window or len(series) > cap):
                series.popleft()
            return len(series)

    def series_items(self, key: str, window: float, now: float) -> list[str]:
        """The items of ``key`` within ``window`` before ``now``, oldest first."""
        with self._lock:
            return [item for stamp, item in self._series.get(key, ()) if stamp > now - window]

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self._handlers.clear()


def create_bus(redis_url: str) -> Bus:
    if not redis_url:
        return MemoryBus()
    from chatbox.integrations.fallback_bus import FallbackBus
    from chatbox.integrations.redis_bus import RedisBus

    return FallbackBus(RedisBus(redis_url))
