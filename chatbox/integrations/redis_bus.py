"""The bus over Redis: pub/sub between pods, shared stream text, cluster-wide limits.

One pattern subscription per process carries every event; one listener greenlet delivers them in order. The
shared-state operations are small Lua scripts so each is atomic across pods.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chatbox.integrations.bus import SERIES_CAP, Bus, Handler

log = logging.getLogger("chatbox.bus")
PREFIX = "cb:"
STREAM_TTL = 3600

_APPEND = """
local text = redis.call('HGET', KEYS[1], 'text')
if not text then return 0 end
redis.call('HSET', KEYS[1], 'text', text .. ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'n', 1)
"""
_HIT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
return '0'
"""
_SLOT = """
local now, ttl, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[4]) and redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(ttl) + 1)
return 1
"""
_SERIES_ADD = """
local now, window, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], now, string.format('%016d', seq) .. ARGV[4])
local n = redis.call('ZCARD', KEYS[1])
if n > cap then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1)
  n = cap
end
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
redis.call('EXPIRE', KEYS[2], math.ceil(window) + 1)
return n
"""
_SEQ_NEXT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return value
"""
_SEQ_FLOOR = """
local value = tonumber(redis.call('GET', KEYS[1]) or '0')
if value < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1
"""
SOCKET_TIMEOUT = 1.0  # seconds any Redis call may wait for an answer
HEALTH_CHECK_INTERVAL = 5  # an idle connection is pinged before use after this many seconds
LISTEN_RETRY = 0.5  # seconds between attempts to resubscribe
SEQ_TTL = 7 * 24 * 3600  # an idle session's counter goes; the next message seeds it again from the store
_COUNTER_ADD = """
local value = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return value
"""
# A series member is a 16-digit sequence number then the item: equal items at one instant stay apart, and items
# at one instant sort in the order they were added.
UNIQUE = 16


class _GapAwarePubSub(redis.client.PubSub):
    """redis-py's PubSub resubscribes by itself after a reconnect; this one also says that events were missed."""

    def __init__(self, connection_pool, on_reconnect: Callable[[], None], **kwargs):
        super().__init__(connection_pool, **kwargs)
        self._on_reconnect = on_reconnect
        self.armed = False  # set once the first subscription is in place; later connects are reconnects

    def on_connect(self, connection) -> None:
        super().on_connect(connection)  # re-sends the subscriptions
        if self.armed:
            self._on_reconnect()


class RedisBus(Bus):
    name = "redis"

    def __init__(self, url: str):
        # A Redis that stops answering (paused, partitioned) must cost a call at most SOCKET_TIMEOUT, not minutes.
        self._redis = redis.Redis.from_url(
            url,
            decode_responses=True,
            health_check_interval=HEALTH_CHECK_INTERVAL,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            # No retries: the fallback bus answers at once when a call fails (retries multiplied the timeout).
            retry=Retry(NoBackoff(), 0),
        )
        self._append = self._redis.register_script(_APPEND)
        self._hit = self._redis.register_script(_HIT)
        self._slot = self._redis.register_script(_SLOT)
        self._series_add = self._redis.register_script(_SERIES_ADD)
        self._counter_add = self._redis.register_script(_COUNTER_ADD)
        self._seq_next = self._redis.register_script(_SEQ_NEXT)
        self._seq_floor = self._redis.register_script(_SEQ_FLOOR)
        self.subscribed = False  # the pattern subscription is in place (false while its connection is down)
        self._handlers: list[Handler] = []
        self.gap_listeners: list[Callable[[], None]] = []  # called after the subscription was lost and restored
        self._pubsub = None
        self._listener: threading.Thread | None = None
        self._closed = False

    def publish(self, channel: str, event: dict) -> None:
        self._redis.publish(PREFIX + "ev:" + channel, json.dumps(event, separators=(",", ":")))

    def subscribe(self, handler: Handler) -> None:
        """Add ``handler``; the first call subscribes (raises a RedisError if Redis is away: the listener then
        keeps trying, and says so to the gap listeners once it succeeds)."""
        self._handlers.append(handler)
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, name="redis-bus", daemon=True)
            try:
                self._connect_pubsub()
            finally:
                self._listener.start()

    def _connect_pubsub(self) -> None:
        pubsub = _GapAwarePubSub(
            self._redis.connection_pool,
            self._gap,
            event_dispatcher=self._redis._event_dispatcher,
            ignore_subscribe_messages=True,
        )
        pubsub.psubscribe(PREFIX + "ev:*")
        pubsub.armed = True
        self._pubsub, self.subscribed = pubsub, True

    def _gap(self) -> None:
        log.warning("redis bus reconnected: events published while it was down were missed")
        self.subscribed = True
        for listener in list(self.gap_listeners):
            try:
                listener()
            except Exception:
                log.exception("bus gap listener failed")

    def _listen(self) -> None:
        while not self._closed:
            try:
                if self._pubsub is None:
                    self._connect_pubsub()
                    self._gap()  # the first subscription came late: whatever was published before it was missed
                # Waiting with a timeout (not the socket's): an idle bus is not an error.
                message = self._pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "pmessage":
                    self._dispatch(message)
            except (redis.RedisError, OSError, ValueError) as exc:
                if self._closed:
                    return  # close() shut the connection under the reader
                if self.subscribed:
                    log.error("redis bus connection lost, resubscribing: %s", exc)
                self.subscribed = False
                time.sleep(LISTEN_RETRY)

    def _dispatch(self, message: dict) -> None:
        event = json.loads(message["data"])
        channel = message["channel"][len(PREFIX + "ev:") :]
        for handler in list(self._handlers):
            try:
                handler(channel, event)
            except Exception:
                log.exception("bus handler failed")

    def stream_begin(self, sid: str, seq: int, model_id: str) -> None:
        key = PREFIX + "stream:" + sid
        with self._redis.pipeline() as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"seq": seq, "model_id": model_id, "text": "", "n": 0})
            pipe.expire(key, STREAM_TTL)
            pipe.execute()

    def stream_append(self, sid: str, text: str) -> int:
        return int(self._append(keys=[PREFIX + "stream:" + sid], args=[text]))

    def stream_snapshot(self, sid: str) -> dict | None:
        state = self._redis.hgetall(PREFIX + "stream:" + sid)
        if not state:
            return None
        return {"seq": int(state["seq"]), "model_id": state["model_id"], "text": state["text"], "n": int(state["n"])}

    def stream_end(self, sid: str) -> None:
        self._redis.delete(PREFIX + "stream:" + sid)

    def seq_next(self, key: str, count: int = 1) -> int | None:
        value = self._seq_next(keys=[PREFIX + "seq:" + key], args=[count, SEQ_TTL])
        return None if value is None else int(value)

    def seq_seed(self, key: str, value: int) -> None:
        self._redis.set(PREFIX + "seq:" + key, value, nx=True, ex=SEQ_TTL)

    def seq_floor(self, key: str, value: int) -> None:
        self._seq_floor(keys=[PREFIX + "seq:" + key], args=[value, SEQ_TTL])

    def stream_restore(self, sid: str, state: dict) -> None:
        """Write a stream's state as this pod kept it while Redis was away."""
        key = PREFIX + "stream:" + sid
        with self._redis.pipeline() as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={k: state[k] for k in ("seq", "model_id", "text", "n")})
            pipe.expire(key, STREAM_TTL)
            pipe.execute()

    def hit(self, key: str, limit: int, window: float, now: float | None = None) -> float:
        now = time.time() if now is None else now
        result = self._hit(keys=[PREFIX + "rate:" + key], args=[now, window, limit, uuid.uuid4().hex])
        return float(result)

    def slot_acquire(self, key: str, member: str, limit: int, ttl: float) -> bool:
        return bool(self._slot(keys=[PREFIX + "slot:" + key], args=[time.time(), ttl, limit, member]))

    def slot_release(self, key: str, member: str) -> None:
        self._redis.zrem(PREFIX + "slot:" + key, member)

    def slot_refresh(self, key: str, member: str, ttl: float) -> None:
        self._redis.zadd(PREFIX + "slot:" + key, {member: time.time() + ttl}, xx=True)

    def slot_count(self, key: str) -> int:
        return int(self._redis.zcount(PREFIX + "slot:" + key, time.time(), "+inf"))

    def mark(self, key: str, ttl: float) -> None:
        self._redis.set(PREFIX + "mark:" + key, "1", px=max(int(ttl * 1000), 1))

    def marked(self, key: str) -> bool:
        return bool(self._redis.exists(PREFIX + "mark:" + key))

    def counter_add(self, key: str, ttl: float) -> int:
        return int(self._counter_add(keys=[PREFIX + "count:" + key], args=[max(int(ttl * 1000), 1)]))

    def counter_take(self, key: str) -> int:
        return int(self._redis.getdel(PREFIX + "count:" + key) or 0)

    def series_add(self, key: str, item: str, window: float, now: float, cap: int = SERIES_CAP) -> int:
        keys = [PREFIX + "series:" + key, PREFIX + "series-seq:" + key]
        return int(self._series_add(keys=keys, args=[now, window, cap, item]))

    def series_items(self, key: str, window: float, now: float) -> list[str]:
        members = self._redis.zrangebyscore(PREFIX + "series:" + key, f"({now - window!r}", "+inf")
        return [member[UNIQUE:] for member in members]

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._closed = True
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except redis.RedisError:
                pass
        self._redis.close()
