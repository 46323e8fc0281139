"""What the store tells every pod after it changed a session, and what features signal to every pod: small named
facts, sent through the bus.

Each pod keeps a copy of what the hot path needs about the sessions it serves (chat/state.py); these events keep
that copy current wherever the change was made: a message stored on another pod, a takeover from any dashboard,
an end by the reaper. They travel as JSON (``to_wire``/``from_wire``), so they hold plain values only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class MessageStored:
    """A message was written (``message``: a PlainMessage as ``to_wire`` gives it). ``totals`` is set for a
    finished AI reply: the session's reply count and average response time after it."""

    kind: ClassVar[str] = "message_stored"
    sid: str
    message: dict
    totals: dict | None = None


@dataclass(frozen=True)
class TranscriptStored:
    """The transcript of a voice note (message ``seq``) was written."""

    kind: ClassVar[str] = "transcript_stored"
    sid: str
    seq: int
    transcript: str


@dataclass(frozen=True)
class SessionUpdated:
    """Fields of a session changed; ``changes`` maps SessionState attribute names to their new values."""

    kind: ClassVar[str] = "session_updated"
    sid: str
    changes: dict


# --- signals: what a feature tells every pod (this one included), through the bus, in publish order ---------------
# Their ``kind`` is the channel name pods have always used, so pods of the previous release understand them during a
# rolling update (and unknown fields are dropped on arrival).


@dataclass(frozen=True)
class SessionChanged:
    """Something the dashboard shows about a session changed (a message, a takeover, help, the end): redraw it."""

    kind: ClassVar[str] = "session_changed"
    sid: str
    created: bool = False
    ended: bool = False
    help: bool = False


@dataclass(frozen=True)
class SessionStarted:
    """A user's new session exists: their other sockets without one join it."""

    kind: ClassVar[str] = "session_started"
    sid: str
    user_id: str


@dataclass(frozen=True)
class ReplyCancelRequested:
    """The reply streaming for ``sid`` (on whichever pod runs it) must stop: ``reason`` is takeover, stopped, ended,
    disconnected or shutdown."""

    kind: ClassVar[str] = "cancel_reply"
    sid: str
    reason: str = "cancelled"


@dataclass(frozen=True)
class UserNoticed:
    """Every socket of ``user_id`` shows ``content`` as a system notification."""

    kind: ClassVar[str] = "user_notice"
    user_id: str
    content: str


@dataclass(frozen=True)
class BarrierPassed:
    """A marker a pod sends itself: when it arrives, everything published before it has been delivered."""

    kind: ClassVar[str] = "barrier"
    token: str


Event = MessageStored | TranscriptStored | SessionUpdated
Signal = SessionChanged | SessionStarted | ReplyCancelRequested | UserNoticed | BarrierPassed
KINDS: dict[str, type] = {
    cls.kind: cls
    for cls in (
        MessageStored,
        TranscriptStored,
        SessionUpdated,
        SessionChanged,
        SessionStarted,
        ReplyCancelRequested,
        UserNoticed,
        BarrierPassed,
    )
}


def to_wire(event: Event | Signal) -> dict:
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


def from_wire(kind: str, data: dict) -> Event | Signal:
    """The event of ``kind`` from its wire form; raises KeyError for a kind this release does not know."""
    cls = KINDS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})
