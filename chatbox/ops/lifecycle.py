"""Background duties of one process: presence heartbeats, ending abandoned sessions, graceful shutdown.

Presence: every socket's session is marked alive in the bus for RECONNECT_TIMEOUT, refreshed while a socket is
attached and set once more when the last one closes. The reaper ends active sessions that have been idle longer than
that and carry no mark, so a session left without any socket (on any pod) for RECONNECT_TIMEOUT ends.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

import gevent
import gevent.event

from chatbox.clock import utcnow
from chatbox.events import BarrierPassed, ReplyCancelRequested
from chatbox.store_calls import calls as store_calls

log = logging.getLogger("chatbox.lifecycle")
RESTART_CLOSE_CODE = 1012


def heartbeat_interval(settings) -> float:
    """How often presence marks and socket slots are refreshed; slots live three beats."""
    return max(min(30.0, settings.reconnect_timeout / 3), 0.05)


class Lifecycle:
    def __init__(self, settings, bus, hub, store, chat, replies, *, on_crash=None, shutdown_hooks=(), duties=()):
        """``on_crash(exc)`` hears unhandled errors; each of ``shutdown_hooks`` is called at the end of shutdown with
        the seconds of grace left (e.g. the notifier waits for its sends); ``duties`` are a feature's periodic
        ``(work, interval)``, run from ``start`` until ``stop``."""
        self.settings, self.bus, self.hub, self.store, self.chat, self.replies = (
            settings,
            bus,
            hub,
            store,
            chat,
            replies,
        )
        self.beat = heartbeat_interval(settings)
        self.slot_ttl = self.beat * 3
        # Pings go out within a tick of being due; the pong deadline is checked at the same pace.
        self.keepalive_tick = max(min(settings.ping_interval / 4, 5.0), 0.02)
        self.draining = False
        self.on_crash = on_crash
        self.shutdown_hooks = list(shutdown_hooks)
        self.duties = list(duties)
        self._greenlets: list[gevent.Greenlet] = []
        self._barriers: dict[str, gevent.event.Event] = {}
        hub.on_event(BarrierPassed, self._on_barrier)

    def new_connection_id(self) -> str:
        return uuid.uuid4().hex

    def start(self) -> None:
        self._greenlets += [
            gevent.spawn(self._every, self.heartbeat),
            gevent.spawn(self._every, self.reap),
            gevent.spawn(self._every, self.keepalive, self.keepalive_tick),
        ]
        for duty, interval in self.duties:
            self.every(duty, interval)

    def every(self, duty, interval: float) -> None:
        """Run ``duty`` every ``interval`` seconds (a feature's periodic work) until ``stop``; failures are logged."""
        self._greenlets.append(gevent.spawn(self._every, duty, interval))

    def stop(self) -> None:
        gevent.killall(self._greenlets, block=False)

    def _every(self, duty, interval: float | None = None) -> None:
        while True:
            gevent.sleep(interval or self.beat)
            try:
                with store_calls.background():  # counted apart from the request path
                    duty()
            except Exception:
                log.exception("background duty %s failed", duty.__name__)

    def keepalive(self) -> None:
        for conn in list(self.hub.connections):
            conn.keepalive()

    def heartbeat(self) -> None:
        for sid in self.hub.local_sessions():
            self.bus.mark("alive:" + sid, self.settings.reconnect_timeout)
        for conn in list(self.hub.connections):
            self.bus.slot_refresh("user:" + conn.identity.user_id, conn.id, self.slot_ttl)
            if conn.session_id:
                self.bus.slot_refresh("sess:" + conn.session_id, conn.id, self.slot_ttl)

    def reap(self) -> None:
        cutoff = utcnow() - timedelta(seconds=self.settings.reconnect_timeout)
        local = set(self.hub.local_sessions())
        for session in self.store.idle_active_sessions(cutoff):
            if session.id in local or self.bus.marked("alive:" + session.id):
                continue
            if self.chat.end_session(session.id):
                log.info(
                    "session ended after %ss without a socket",
                    self.settings.reconnect_timeout,
                    extra={"session_id": session.id, "user_id": session.user_id},
                )

    def crashed(self, exc: BaseException) -> None:
        if self.on_crash is None:
            return
        try:
            self.on_crash(exc)
        except Exception:
            log.exception("crash listener failed")

    def _flush_bus(self, timeout: float) -> None:
        """Wait until events already published (a reply's last frames) have come back through the bus.

        The bus delivers in publish order, so once a marker published now arrives, everything before it has too.
        """
        arrived = gevent.event.Event()
        token = uuid.uuid4().hex
        self._barriers[token] = arrived
        try:
            self.hub.signal(BarrierPassed(token=token))
            arrived.wait(timeout)
        finally:
            self._barriers.pop(token, None)

    def _on_barrier(self, event: BarrierPassed) -> None:
        waiting = self._barriers.get(event.token)
        if waiting is not None:
            waiting.set()

    def shutdown(self, grace: float | None = None, cancel_replies: bool = False) -> None:
        """Stop admitting sockets, let in-flight replies finish (up to ``grace``), then close sockets with 1012.

        With ``cancel_replies`` (a quick stop, Ctrl-C) replies are cut instead: each keeps its text so far,
        marked interrupted, and the clients get their ``done`` frame before the close.
        """
        grace = self.settings.shutdown_timeout if grace is None else grace
        self.draining = True
        deadline = time.monotonic() + grace
        if cancel_replies:
            for sid in list(self.replies.running):
                self.hub.signal(ReplyCancelRequested(sid=sid, reason="shutdown"))
        while (self.replies.active() or self.chat.queues.busy()) and time.monotonic() < deadline:
            gevent.sleep(0.05)
        self._flush_bus(max(min(deadline - time.monotonic(), 2.0), 0.1))
        for conn in list(self.hub.connections):
            conn.drain_and_close(
                RESTART_CLOSE_CODE,
                "Service restarting, please reconnect",
                timeout=max(deadline - time.monotonic(), 0.5),
            )
        log.info("shutdown: %d sockets closed with %d", len(self.hub.connections), RESTART_CLOSE_CODE)
        for hook in self.shutdown_hooks:
            try:
                hook(max(deadline - time.monotonic(), 0.0))
            except Exception:
                log.exception("shutdown hook failed")
