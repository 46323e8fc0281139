"""The service graph of one app, built from settings: storage, bus, hub, providers, chat, admin actions, ops."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from chatbox.admin.health import ProviderHealth
from chatbox.chat.hub import Hub
from chatbox.chat.protocol import Frame, now
from chatbox.chat.replies import ReplyStreamer
from chatbox.chat.service import ChatService
from chatbox.chat.state import SessionCache
from chatbox.chat.takeover import Takeover
from chatbox.crypto import KeyRing
from chatbox.integrations.bus import Bus, create_bus
from chatbox.integrations.llm import Providers
from chatbox.integrations.llm_retry import ResilientStreams
from chatbox.ops.lifecycle import Lifecycle
from chatbox.ops.metrics import Metrics
from chatbox.settings import Settings
from chatbox.store import SessionStore


@dataclass
class Services:
    settings: Settings
    bus: Bus
    hub: Hub
    store: SessionStore
    sessions: SessionCache
    providers: Providers
    replies: ReplyStreamer
    takeover: Takeover
    chat: ChatService
    lifecycle: Lifecycle
    metrics: Metrics
    provider_health: ProviderHealth
    extras: dict = field(default_factory=dict)  # optional collaborators (notifier, files, …) by name
    alert_listeners: list = field(default_factory=list)

    def alert(self, event: str, **details) -> None:
        """Report an operational event (llm_failure, database_unavailable, connection_cap, rate_limited, crash) to
        whoever listens (the notifier); never raises."""
        for listener in list(self.alert_listeners):
            try:
                listener(event, **details)
            except Exception:
                logging.getLogger("chatbox.alerts").exception("alert listener failed for %s", event)

    def close(self) -> None:
        self.lifecycle.stop()
        self.bus.close()


def build(settings: Settings, bus: Bus | None = None) -> Services:
    bus = bus or create_bus(settings.redis_url)
    hub = Hub(bus)
    metrics = Metrics()
    store = SessionStore(KeyRing(settings.encryption_key, settings.encryption_keys_previous), bus, hub.publish)
    sessions = SessionCache(store, hub, settings.llm_context_tokens)
    providers = Providers(settings)
    streams = ResilientStreams(providers, metrics)  # retries and failover (issue 3)
    provider_health = ProviderHealth()
    replies = ReplyStreamer(
        settings, store, sessions, hub, providers, metrics, stream_deltas=streams, observers=[provider_health]
    )
    takeover = Takeover(store, sessions, hub, metrics)
    chat = ChatService(settings, store, sessions, hub, providers, replies, takeover, metrics)
    lifecycle = Lifecycle(settings, bus, hub, store, chat, replies)
    services = Services(
        settings, bus, hub, store, sessions, providers, replies, takeover, chat, lifecycle, metrics, provider_health
    )
    services.extras["llm_streams"] = streams
    hub.on("user_notice", lambda event: _notify_user(hub, event))
    replies.on_failure = lambda **details: services.alert("llm_failure", **details)
    lifecycle.crash_listeners.append(lambda exc: services.alert("crash", error=repr(exc)[:500]))
    chat.on_rate_limited = lambda user_id: services.alert("rate_limited", user_id=user_id)
    return services


def _notify_user(hub: Hub, event: dict) -> None:
    for conn in list(hub.connections):
        if conn.identity.user_id == event.get("user_id"):
            conn.send(Frame("notification", sender="system", content=event.get("content", ""), timestamp=now()))
