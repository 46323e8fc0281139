"""Redis with a local fallback: one Redis outage must not take the pods down with it.

While Redis answers, every call goes to it. The first call that fails (refused, reset, or no answer within the
client's socket timeout) or a failed probe puts this pod in *degraded* mode: from then on every call goes to an
in-process ``MemoryBus`` (local limits, local fan-out, local stream text) without waiting on Redis again, and a
probe asks Redis every ``PROBE_INTERVAL`` until it answers. Then the pod goes back to Redis: the text of the
replies it streamed meanwhile is written back (or dropped if they ended), message numbering is told it must not
trust the Redis counters blindly (``epoch``), and the gap listeners run (the hub closes every socket with 1012
so each client resumes with ``last_seq``; the session cache forgets what it can no longer trust).
"""

from __future__ import annotations

import logging
import threading

import redis

from chatbox.integrations.bus import SERIES_CAP, Bus, Handler, MemoryBus
from chatbox.integrations.redis_bus import RedisBus

log = logging.getLogger("chatbox.bus")
PROBE_INTERVAL = 0.5  # seconds between pings: with the client's 1 s socket timeout a pause is seen within 2 s
DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)


class FallbackBus(Bus):
    name = "redis"

    def __init__(self, primary: RedisBus, local: MemoryBus | None = None):
        self.primary, self.local = primary, local or MemoryBus()
        self.degraded = False
        self.epoch = 0  # bumped at each return of Redis: counters kept there may lag what was allocated meanwhile
        self.gap_listeners: list = []
        self._offline_streams: set[str] = set()  # sids whose stream changed while Redis was away
        self._wake = threading.Event()
        self._closed = False
        primary.gap_listeners.append(self._primary_gap)
        self._prober = threading.Thread(target=self._probe_loop, name="redis-probe", daemon=True)
        self._prober.start()

    # --- mode ------------------------------------------------------------------------------------------------

    def _call(self, op: str, *args, **kwargs):
        """``op`` on Redis, or on the local bus while Redis is away (a failure now switches to it)."""
        if not self.degraded:
            try:
                return getattr(self.primary, op)(*args, **kwargs)
            except DOWN as exc:
                self._lost(exc)
        return getattr(self.local, op)(*args, **kwargs)

    def _lost(self, exc: BaseException) -> None:
        if not self.degraded:
            self.degraded = True
            log.error("redis unreachable, this pod runs on local limits and local fan-out until it returns: %s", exc)
            self._wake.set()

    def _probe_loop(self) -> None:
        while not self._closed:
            self._wake.wait(PROBE_INTERVAL)
            self._wake.clear()
            if self._closed:
                return
            answered = self.primary.ping()
            if not answered:
                self._lost(RuntimeError("ping failed"))
            elif self.degraded and self.primary.subscribed:  # back only once events reach this pod again
                self._returned()

    def _returned(self) -> None:
        """Redis answers again: hand it the streams of the outage, then tell everyone events were missed."""
        try:
            for sid in list(self._offline_streams):
                state = self.local.stream_snapshot(sid)
                if state is None:
                    self.primary.stream_end(sid)
                else:
                    self.primary.stream_restore(sid, state)
                self._offline_streams.discard(sid)
        except DOWN as exc:
            log.warning("redis answered a ping but not the stream restore; staying degraded: %s", exc)
            return
        self.epoch += 1
        self.degraded = False
        log.warning("redis is back: resubscribed; sockets are closed so clients resume without a gap")
        self._gap()

    def _primary_gap(self) -> None:
        """The subscription was restored. While degraded, the return to Redis says so (once, when it happens)."""
        if not self.degraded:
            self._gap()

    def _gap(self) -> None:
        for listener in list(self.gap_listeners):
            try:
                listener()
            except Exception:
                log.exception("bus gap listener failed")

    # --- events ----------------------------------------------------------------------------------------------

    def publish(self, channel: str, event: dict) -> None:
        self._call("publish", channel, event)

    def subscribe(self, handler: Handler) -> None:
        self.local.subscribe(handler)  # what is published while degraded reaches this pod's handlers
        try:
            self.primary.subscribe(handler)
        except DOWN as exc:
            self._lost(exc)

    # --- streams: always mirrored locally, so a reply streaming when Redis goes keeps its numbering -----------

    def stream_begin(self, sid: str, seq: int, model_id: str) -> None:
        self.local.stream_begin(sid, seq, model_id)
        self._stream_call("stream_begin", sid, seq, model_id)

    def stream_append(self, sid: str, text: str) -> int:
        n = self.local.stream_append(sid, text)
        counted = self._stream_call("stream_append", sid, text)
        return n if counted is None else counted

    def stream_snapshot(self, sid: str) -> dict | None:
        return self._call("stream_snapshot", sid)

    def stream_end(self, sid: str) -> None:
        self._stream_call("stream_end", sid)
        self.local.stream_end(sid)

    def _stream_call(self, op: str, sid: str, *args):
        if not self.degraded:
            try:
                return getattr(self.primary, op)(sid, *args)
            except DOWN as exc:
                self._lost(exc)
        self._offline_streams.add(sid)
        return None

    # --- shared state ----------------------------------------------------------------------------------------

    def seq_next(self, key: str, count: int = 1) -> int | None:
        return self._call("seq_next", key, count)

    def seq_seed(self, key: str, value: int) -> None:
        self._call("seq_seed", key, value)

    def seq_floor(self, key: str, value: int) -> None:
        self._call("seq_floor", key, value)

    def hit(self, key: str, limit: int, window: float, now: float | None = None) -> float:
        return self._call("hit", key, limit, window, now)

    def slot_acquire(self, key: str, member: str, limit: int, ttl: float) -> bool:
        return self._call("slot_acquire", key, member, limit, ttl)

    def slot_release(self, key: str, member: str) -> None:
        self._call("slot_release", key, member)

    def slot_refresh(self, key: str, member: str, ttl: float) -> None:
        self._call("slot_refresh", key, member, ttl)

    def slot_count(self, key: str) -> int:
        return self._call("slot_count", key)

    def mark(self, key: str, ttl: float) -> None:
        self._call("mark", key, ttl)

    def marked(self, key: str) -> bool:
        return self._call("marked", key)

    def counter_add(self, key: str, ttl: float) -> int:
        return self._call("counter_add", key, ttl)

    def counter_take(self, key: str) -> int:
        return self._call("counter_take", key)

    def series_add(self, key: str, item: str, window: float, now: float, cap: int = SERIES_CAP) -> int:
        return self._call("series_add", key, item, window, now, cap)

    def series_items(self, key: str, window: float, now: float) -> list[str]:
        return self._call("series_items", key, window, now)

    def ping(self) -> bool:
        """Whether Redis answers now (readiness and the status page show it; degraded is still ready)."""
        return self.primary.ping()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.primary.close()
        self.local.close()
