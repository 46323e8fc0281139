"""What the store tells every pod after it changed a session: small named facts, sent through the bus.

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


Event = MessageStored | TranscriptStored | SessionUpdated
KINDS: dict[str, type] = {cls.kind: cls for cls in (MessageStored, TranscriptStored, SessionUpdated)}


def to_wire(event: Event) -> dict:
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


def from_wire(kind: str, data: dict) -> Event:
    cls = KINDS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})
