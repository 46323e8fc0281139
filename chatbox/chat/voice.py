"""Voice notes after they are shown: transcribed in the session's queue, then answered like typed words.

The note is stored and shown at once; transcription (up to a minute) runs as a job on the session's FIFO, never in
the socket's reader, so the user can keep typing. The reply's seq is reserved when the note is accepted, so the reply
follows the note even when the user sends more meanwhile, and the transcript is stored before the reply reads the
history. The transcript reaches every socket as a repeat of the note's frame (same seq and message_id) carrying
``metadata.transcript``: pages treat it as an update of the note they already show.
"""

from __future__ import annotations

import logging

from chatbox.chat.frames import message_frame
from chatbox.chat.hub import Connection
from chatbox.chat.protocol import Frame, now
from chatbox.chat.replies import ReplyJob
from chatbox.events import SessionChanged
from chatbox.models import Session
from chatbox.store import PlainMessage

log = logging.getLogger("chatbox.voice")

NO_TRANSCRIPTION = (
    "Your voice message was saved, but it cannot be understood yet (voice transcription is not "
    "available). Please type your message."
)
NOT_TRANSCRIBED = (
    "Your voice message was saved, but it could not be transcribed. Please try again or type your message."
)


def hear(chat, conn: Connection, session: Session, message: PlainMessage) -> None:
    """Queue the transcription and then the reply of a voice note already stored and shown; without a
    transcriber, tell the sender at once that the note cannot be understood."""
    if chat.transcriber is None:
        conn.send(_notice(session.id, NO_TRANSCRIPTION))
        return
    job = chat.reserve_reply(session, conn.identity.user_id)
    chat.queues.submit(session.id, lambda: transcribe_and_answer(chat, conn, session.id, message, job))


def transcribe_and_answer(chat, conn: Connection, sid: str, message: PlainMessage, job: ReplyJob | None) -> None:
    """Transcribe the note, store and show the transcript, then run its reply (``job``; None under takeover)."""
    transcript = chat.transcriber.transcribe(message.file_id, message.file_url)
    if not transcript:
        conn.send(_notice(sid, NOT_TRANSCRIBED))
        return
    if not chat.store.set_transcript(sid, message.seq, transcript):
        log.warning("voice note vanished before its transcript was stored", extra={"session_id": sid})
        return
    message.transcript = transcript
    chat.hub.broadcast(sid, message_frame(sid, message))
    chat.hub.signal(SessionChanged(sid=sid))
    if job is not None:
        chat.replies.run(job)


def _notice(sid: str, text: str) -> Frame:
    return Frame("notification", session_id=sid, sender="system", timestamp=now(), content=text)
