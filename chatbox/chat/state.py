"""What the hot path knows about a session, kept in memory so a steady exchange reads nothing from the store.

A pod loads a session's state once (its first use here, or after the bus lost events) and from then on keeps it
current from the store's change events (chatbox/events.py), whichever pod made the change: messages, a takeover or
hand-back, an end, a model change. The history kept is what the model can be given: the newest messages up to
twice the context budget (and never fewer than ``MIN_HISTORY``).
"""

from __future__ import annotations

import bisect
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from chatbox.events import MessageStored, SessionUpdated, TranscriptStored
from chatbox.integrations.llm import estimate_tokens
from chatbox.models import Session
from chatbox.store import PlainMessage, SessionStore, approx_size, document_size, sealed_len

log = logging.getLogger("chatbox.state")
MIN_HISTORY = 8
CLIENT_IDS = 256  # client_msg_ids remembered per session (a resent message is recognised among these)
MAX_STATES = 20_000  # least recently used states go beyond this (they reload when used again)


@dataclass
class SessionState:
    """The hot fields of a session, named as on the Session document so frames can be built from either."""

    id: str
    user_id: str
    name: str = ""
    model_id: str = ""
    end: datetime | None = None
    takeover_by: str | None = None
    takeover_name: str = ""
    help_requested: bool = False
    response_count: int = 0
    avg_response_ms: int = 0
    provider_state: dict = field(default_factory=dict)
    history: list[PlainMessage] = field(default_factory=list)  # by seq
    client_ids: OrderedDict = field(default_factory=OrderedDict)  # client_msg_id -> seq, oldest first
    budget: int = 6000
    complete: bool = True  # ``history`` holds every stored message (nothing was trimmed yet)
    stored_bytes: int = 0  # about how big the session's document is (measured on load, then added to)

    def after(self, seq: int) -> list[PlainMessage] | None:
        """The messages numbered above ``seq``, or None when some of them may have been trimmed away."""
        if not self.complete and (not self.history or self.history[0].seq > seq + 1):
            return None
        return [m for m in self.history if m.seq > seq]

    def add(self, message: PlainMessage) -> None:
        """Insert or replace the message numbered ``message.seq``; forget history beyond the budget."""
        seqs = [m.seq for m in self.history]
        at = bisect.bisect_left(seqs, message.seq)
        if at < len(seqs) and seqs[at] == message.seq:
            self.history[at] = message
        else:
            self.history.insert(at, message)
        client_id = message.meta.get("client_msg_id")
        if client_id:
            self.client_ids[client_id] = message.seq
            while len(self.client_ids) > CLIENT_IDS:
                self.client_ids.popitem(last=False)
        self._trim()

    def _trim(self) -> None:
        kept, cost = 0, 0
        for message in reversed(self.history):
            cost += estimate_tokens(message.transcript or message.content)
            kept += 1
            if kept >= MIN_HISTORY and cost > 2 * self.budget:
                break
        if kept < len(self.history):
            del self.history[: len(self.history) - kept]
            self.complete = False


class SessionCache:
    """The states of the sessions this pod serves, loaded on first use, kept current by events from every pod."""

    def __init__(self, store: SessionStore, hub, context_tokens: int):
        self.store, self.hub, self.budget = store, hub, context_tokens
        self._states: OrderedDict[str, SessionState] = OrderedDict()
        self._loading: dict[str, list] = {}  # sid -> events that arrived while it was being read
        hub.on_event(MessageStored, self._apply)
        hub.on_event(TranscriptStored, self._apply)
        hub.on_event(SessionUpdated, self._apply)
        hub.on_gap(self.clear)

    def get(self, sid: str) -> SessionState | None:
        """The session's state; read from the store only when this pod does not hold it. None if unknown."""
        state = self._states.get(sid)
        if state is not None:
            self._states.move_to_end(sid)
            return state
        if not sid:
            return None
        self._loading[sid] = []
        try:
            session = self.store.get(sid)
            if session is None:
                return None
            state = self._load(session)
            for event in self._loading[sid]:
                _apply(state, event)
        finally:
            del self._loading[sid]
        self._states[sid] = state
        while len(self._states) > MAX_STATES:
            self._states.popitem(last=False)
        return state

    def drop(self, sid: str) -> None:
        """Forget a session nobody here is using (it is read again if it is used again)."""
        self._states.pop(sid, None)

    def clear(self) -> None:
        """Forget every state: events may have been missed, so none can be trusted."""
        log.info("forgetting %d cached session states", len(self._states))
        self._states.clear()

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, sid: str) -> bool:
        return sid in self._states

    def _load(self, session: Session) -> SessionState:
        state = SessionState(
            id=session.id,
            user_id=session.user_id,
            name=session.name or "",
            model_id=session.model_id or "",
            end=session.end,
            takeover_by=session.takeover_by or None,
            takeover_name=session.takeover_name or "",
            help_requested=bool(session.help_requested),
            response_count=session.response_count or 0,
            avg_response_ms=session.avg_response_ms or 0,
            provider_state=dict(session.provider_state or {}),
            budget=self.budget,
            stored_bytes=document_size(session),
        )
        for message in self.store.messages(session):
            state.add(message)
        return state

    def _apply(self, event) -> None:
        pending = self._loading.get(event.sid)
        if pending is not None:
            pending.append(event)
        state = self._states.get(event.sid)
        if state is not None:
            _apply(state, event)


def _apply(state: SessionState, event) -> None:
    if isinstance(event, MessageStored):
        message = PlainMessage.from_wire(event.message)
        state.add(message)
        state.stored_bytes += approx_size(
            message.content, message.meta, message.file_id, message.file_url, message.model_id
        ) + (64 if message.usage else 0)
        if event.totals:
            state.response_count = event.totals["response_count"]
            state.avg_response_ms = event.totals["avg_response_ms"]
    elif isinstance(event, TranscriptStored):
        state.stored_bytes += sealed_len(event.transcript) + 16
        for message in state.history:
            if message.seq == event.seq:
                message.transcript = event.transcript
    else:
        for name, value in event.changes.items():
            if name == "end" and value:
                value = datetime.fromisoformat(value)
            setattr(state, name, value)
