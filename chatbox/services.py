"""The service graph of one app, built from settings in one place and passed into constructors.

Reading ``build`` top to bottom shows who calls whom: storage and the bus, the files feature, the notifier, then
the chat core that uses them, then the process's lifecycle. No feature sets attributes on another's objects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from chatbox import copilot as copilot_feature
from chatbox import files as files_feature
from chatbox import notify
from chatbox.admin.health import ProviderHealth
from chatbox.admin.live import LiveChanges
from chatbox.chat.hub import Hub
from chatbox.chat.protocol import Frame, now
from chatbox.chat.replies import ReplyStreamer, SessionQueues
from chatbox.chat.service import ChatService
from chatbox.chat.state import SessionCache
from chatbox.chat.takeover import Takeover
from chatbox.copilot import Copilot
from chatbox.crypto import KeyRing
from chatbox.events import SessionChanged, UserNoticed
from chatbox.files.ai_files import AiFiles
from chatbox.files.service import FileService
from chatbox.integrations.bus import Bus, create_bus
from chatbox.integrations.llm import Providers
from chatbox.integrations.llm_retry import ResilientStreams
from chatbox.notify.escalation import Escalator
from chatbox.notify.events import AlertRouter
from chatbox.notify.notifier import Notifier
from chatbox.ops.lifecycle import Lifecycle
from chatbox.ops.metrics import Metrics
from chatbox.settings import Settings
from chatbox.store import SessionStore

log = logging.getLogger("chatbox.alerts")


class Alerts:
    """Report an operational event (llm_failure, database_unavailable, connection_cap, rate_limited, crash) to the
    alert router; never raises (an alert must not break what it reports on)."""

    def __init__(self, router: Callable[..., None]):
        self._router = router

    def __call__(self, event: str, **details) -> None:
        try:
            self._router(event, **details)
        except Exception:
            log.exception("alert listener failed for %s", event)


@dataclass
class Services:
    settings: Settings
    bus: Bus
    hub: Hub
    store: SessionStore
    sessions: SessionCache
    providers: Providers
    llm_streams: ResilientStreams
    provider_health: ProviderHealth
    metrics: Metrics
    files: FileService
    ai_files: AiFiles
    notifier: Notifier
    alert_router: AlertRouter
    escalator: Escalator | None
    alert: Alerts
    replies: ReplyStreamer
    takeover: Takeover
    chat: ChatService
    admin_live: LiveChanges
    copilot: Copilot
    lifecycle: Lifecycle

    def close(self) -> None:
        self.lifecycle.stop()
        self.bus.close()


def build(settings: Settings, bus: Bus | None = None) -> Services:
    """Every collaborator of one app, each given what it uses. Raises SettingsError on unusable settings."""
    bus = bus or create_bus(settings.redis_url)
    hub, metrics = Hub(bus), Metrics()
    store = SessionStore(KeyRing(settings.encryption_key, settings.encryption_keys_previous), bus, hub.publish)
    sessions, providers = SessionCache(store, hub, settings.llm_context_tokens), Providers(settings)
    queues = SessionQueues()
    files = files_feature.build(settings, store, hub, queues)
    copilot = copilot_feature.build(settings, store, hub, providers, metrics)
    notifications = notify.build(
        settings, store, bus, metrics.registry, lambda: _users_connected(hub), summaries=copilot.summaries
    )
    alert = Alerts(notifications.router)
    core = _chat_core(settings, store, sessions, hub, providers, metrics, queues, files, notifications, alert)
    admin_live = _admin_live(hub)
    lifecycle = Lifecycle(
        settings, bus, hub, store, core.chat, core.replies,
        on_crash=lambda exc: alert("crash", error=repr(exc)[:500]),
        shutdown_hooks=[admin_live.close, notifications.drain],
        duties=notifications.duties(),
    )  # fmt: skip
    return Services(
        settings=settings,
        bus=bus,
        hub=hub,
        store=store,
        sessions=sessions,
        providers=providers,
        metrics=metrics,
        files=files.service,
        ai_files=files.ai_files,
        notifier=notifications.notifier,
        alert_router=notifications.router,
        escalator=notifications.escalator,
        alert=alert,
        admin_live=admin_live,
        copilot=copilot,
        lifecycle=lifecycle,
        **vars(core),
    )


@dataclass
class _ChatCore:
    llm_streams: ResilientStreams
    provider_health: ProviderHealth
    replies: ReplyStreamer
    takeover: Takeover
    chat: ChatService


def _chat_core(settings, store, sessions, hub, providers, metrics, queues, files, notifications, alert) -> _ChatCore:
    """The reply streamer (retries and failover, provider health watching), takeover and the chat service."""
    streams = ResilientStreams(providers, metrics)  # retries and failover (issue 3)
    provider_health = ProviderHealth()
    replies = ReplyStreamer(
        settings,
        store,
        sessions,
        hub,
        providers,
        metrics,
        stream_deltas=streams,
        bus=hub.bus,
        observers=[provider_health],
        files=files.ai_files,
        on_reply_done=files.speaker.reply_done if files.speaker else None,
        on_failure=lambda **details: alert("llm_failure", **details),
    )
    takeover = Takeover(store, sessions, hub, hub.bus, metrics)
    chat = ChatService(
        settings,
        store,
        sessions,
        hub,
        providers,
        replies,
        takeover,
        metrics,
        bus=hub.bus,
        queues=queues,
        files=files.service,
        transcriber=files.transcriber,
        notifier=notifications.notifier,
        on_rate_limited=lambda user_id: alert("rate_limited", user_id=user_id),
    )
    hub.on_event(UserNoticed, lambda event: _notify_user(hub, event))
    return _ChatCore(streams, provider_health, replies, takeover, chat)


def _admin_live(hub: Hub) -> LiveChanges:
    """The dashboard's live feed: every session change, from any pod, as a refresh hint to open browsers."""
    changes = LiveChanges()
    hub.on_event(SessionChanged, changes.publish)
    return changes


def _users_connected(hub: Hub) -> int:
    """How many users have a socket on this process (alerts say how many are affected)."""
    return len({conn.identity.user_id for conn in list(hub.connections)})


def _notify_user(hub: Hub, event: UserNoticed) -> None:
    for conn in list(hub.connections):
        if conn.identity.user_id == event.user_id:
            conn.send(Frame("notification", sender="system", content=event.content, timestamp=now()))
