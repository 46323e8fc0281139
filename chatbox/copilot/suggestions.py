"""Reply drafts for the admin who holds a session: up to three short replies the model proposes for the user's
latest message. They go only to that admin's dashboard; nothing is sent unless the admin presses Send.

Drafts are kept per session for the user message they answer, so a dashboard refresh costs no new request; a new
user message makes them stale. Concurrent asks for the same drafts share one request.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass

import gevent

from chatbox.copilot.ask import transcript

log = logging.getLogger("chatbox.copilot")
FEATURE = "reply_suggestions"
MAX_SUGGESTIONS = 3
MAX_LENGTH = 500  # characters of one draft
KEPT_SESSIONS = 500  # sessions whose drafts stay cached in this process
INSTRUCTIONS = (
    "You help a human support agent who is chatting with a user. Draft three different short replies the agent "
    "could send next to the user's latest message: friendly, concrete, at most two sentences each. Write one reply "
    "per line, with no numbering, quotes or commentary."
)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Drafts:
    key: str  # "<seq of the user message they answer>"; the composer sends it back with the index used
    texts: tuple[str, ...]


class ReplySuggestions:
    def __init__(self, settings, store, asker):
        self.settings, self.store, self.asker = settings, store, asker
        self._cache: OrderedDict[str, Drafts] = OrderedDict()
        self._pending: dict[tuple[str, str], gevent.Greenlet] = {}

    def for_session(self, session) -> Drafts | None:
        """The drafts for the user's latest message (asking the model when there are none yet), or None when the
        user has not written; a failing model gives no drafts (logged and counted)."""
        messages = self.store.messages(session)
        last_user = next((m for m in reversed(messages) if m.sender == "user"), None)
        if last_user is None:
            return None
        key = str(last_user.seq)
        cached = self._cache.get(session.id)
        if cached is not None and cached.key == key:
            return cached
        pending = self._pending.get((session.id, key))
        if pending is None:
            pending = gevent.spawn(self._draft, session, key, transcript(messages))
            self._pending[(session.id, key)] = pending
            pending.link(lambda _: self._pending.pop((session.id, key), None))
        return pending.get()

    def offered(self, sid: str, key: str) -> tuple[str, ...]:
        """The drafts this process offered for ``sid`` under ``key`` (empty when they are not known here)."""
        cached = self._cache.get(sid)
        return cached.texts if cached is not None and cached.key == key else ()

    def _draft(self, session, key: str, conversation: str) -> Drafts | None:
        model = self.asker.model_for(self.settings.admin_reply_suggestions_model, session)
        try:
            text = self.asker.ask(FEATURE, model, INSTRUCTIONS, conversation, session)
        except Exception as exc:  # noqa: BLE001 - no drafts is a fine answer; the admin writes their own
            log.warning(
                "reply suggestions failed: %s: %s", type(exc).__name__, str(exc)[:300], extra={"session_id": session.id}
            )
            return None
        drafts = Drafts(key, split_drafts(text))
        self._cache[session.id] = drafts
        self._cache.move_to_end(session.id)
        while len(self._cache) > KEPT_SESSIONS:
            self._cache.popitem(last=False)
        return drafts


def split_drafts(text: str) -> tuple[str, ...]:
    """Up to three drafts from the model's answer: one a line (bullets and numbers dropped); an answer on a single
    line is split into its sentences."""
    lines = [_BULLET.sub("", line).strip().strip('"').strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) == 1:
        lines = [part.strip() for part in _SENTENCE_END.split(lines[0]) if part.strip()]
    return tuple(_clip(line) for line in lines[:MAX_SUGGESTIONS])


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 3].rstrip() + "..."
