"""The handoff summary: when a user asks for help, a few lines for the admin who will pick the conversation up.

``start`` runs the request on its own greenlet and returns it at once; the notifier waits for it a bounded time
(ADMIN_HANDOFF_SUMMARY_WAIT) and sends the alert with or without it. When the summary arrives it is stored on the
session (encrypted) and the dashboards are told, so an open conversation shows it even if the alert went without.
A failure is logged and counted; the user never hears of it.
"""

from __future__ import annotations

import logging

import gevent

from chatbox.copilot.ask import transcript
from chatbox.events import SessionChanged

log = logging.getLogger("chatbox.copilot")
FEATURE = "handoff_summary"
MAX_SUMMARY = 1200  # characters kept of what the model writes
INSTRUCTIONS = (
    "You brief a human support agent who is about to take over this chat from an AI assistant. In at most four "
    "short lines, say what the user wants, what was already tried or answered, and anything urgent (an angry or "
    "worried user, a deadline, money or safety at stake). Plain text, no greeting, no preamble."
)


class HandoffSummaries:
    def __init__(self, settings, store, hub, asker):
        self.settings, self.store, self.hub, self.asker = settings, store, hub, asker

    @property
    def wait(self) -> float:
        return self.settings.admin_handoff_summary_wait

    def start(self, session) -> gevent.Greenlet:
        """Begin summarising ``session`` in the background; the greenlet's value is the summary ("" if none)."""
        return gevent.spawn(self.summarise, session.id)

    def summarise(self, sid: str) -> str:
        """Write, store and announce the summary of ``sid``; return it, or "" when there is nothing to summarise
        or the model failed (logged and counted, never raised)."""
        session = self.store.get(sid)
        if session is None:
            return ""
        messages = self.store.messages(session)
        if not messages:
            return ""
        if session.handoff_time and session.handoff_summary and session.handoff_time >= messages[-1].ts:
            return self.store.handoff_summary(session)  # nothing said since the last one: no new request
        model = self.asker.model_for(self.settings.admin_handoff_summary_model, session)
        try:
            text = self.asker.ask(FEATURE, model, INSTRUCTIONS, transcript(messages), session)
        except Exception as exc:  # noqa: BLE001 - any failure of the model leaves the alert as it was
            log.warning(
                "handoff summary failed (the alert goes without it): %s: %s",
                type(exc).__name__,
                str(exc)[:300],
                extra={"session_id": sid},
            )
            return ""
        text = _clip(text)
        if not text:
            return ""
        self.store.set_handoff_summary(sid, text)
        self.hub.signal(SessionChanged(sid=sid))
        return text


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 3].rstrip() + "..."
