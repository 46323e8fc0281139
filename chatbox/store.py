"""Session storage: every read and write of the ``sessions`` collection, atomic where it matters.

Message content (and voice transcripts) are encrypted on the way in and decrypted on the way out; callers only ever
see plain text. Messages of Go-written sessions have no ``seq``: their position (1, 2, …) stands in for it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pymongo import ReturnDocument

from chatbox.crypto import KeyRing
from chatbox.models import Message, Session


def utcnow() -> datetime:
    # MongoDB keeps milliseconds; rounding here keeps what we send equal to what we read back.
    moment = datetime.now(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=None)


def new_id() -> str:
    return secrets.token_hex(16)


@dataclass
class PlainMessage:
    """A stored message, decrypted, with its effective seq."""

    seq: int
    message_id: str
    sender: str
    content: str
    ts: datetime
    file_id: str = ""
    file_url: str = ""
    meta: dict = field(default_factory=dict)
    model_id: str = ""
    usage: dict = field(default_factory=dict)
    first_token_ms: int | None = None
    response_ms: int | None = None
    interrupted: bool = False
    transcript: str = ""


@dataclass(frozen=True)
class ReplyTotals:
    """What one finished reply adds to its session: tokens, its response time, and the new running average."""

    tokens: int
    response_ms: int
    average_ms: int

    @classmethod
    def after(cls, prior_replies: int, prior_average_ms: int, tokens: int, response_ms: int) -> ReplyTotals:
        # A session's replies run one at a time (its queue), so the counters read when the reply started are
        # still current when it is stored.
        count = prior_replies + 1
        return cls(tokens, response_ms, int(round(prior_average_ms + (response_ms - prior_average_ms) / count)))


class SessionStore:
    def __init__(self, keyring: KeyRing):
        self.keyring = keyring

    # --- reading ---------------------------------------------------------------------------------------------

    def get(self, sid: str) -> Session | None:
        if not sid:
            return None
        return Session.objects(id=sid).first()

    def head(self, sid: str) -> Session | None:
        """The session without its messages (``messages`` is empty): cheap, for checks on the hot path."""
        if not sid:
            return None
        return Session.objects(id=sid).exclude("messages").first()

    def get_owned(self, sid: str, user_id: str) -> Session | None:
        session = self.get(sid)
        return session if session is not None and session.user_id == user_id else None

    def by_share_token(self, token: str) -> Session | None:
        return Session.objects(share_token=token).first() if token else None

    def active_for_user(self, user_id: str) -> Session | None:
        """The user's active session, without its messages."""
        return Session.objects(user_id=user_id, end=None).exclude("messages").order_by("-start").first()

    def list_for_user(self, user_id: str, limit: int = 100) -> list[Session]:
        return list(Session.objects(user_id=user_id).order_by("-start").limit(limit))

    def by_client_id(self, sid: str, client_msg_id: str) -> PlainMessage | None:
        """The message a client sent with this ``metadata.client_msg_id``, if it is stored (resends are no-ops)."""
        found = Session._get_collection().find_one(
            {"_id": sid}, {"msgs": {"$elemMatch": {"meta.client_msg_id": client_msg_id}}}
        )
        if not found or not found.get("msgs"):
            return None
        message = Message._from_son(found["msgs"][0])
        return self._plain(message.seq or 0, message)

    def messages(self, session: Session, after_seq: int = 0) -> list[PlainMessage]:
        plain = [self._plain(index, msg) for index, msg in enumerate(session.messages, start=1)]
        return sorted((m for m in plain if m.seq > after_seq), key=lambda m: m.seq)

    def _plain(self, index: int, msg: Message) -> PlainMessage:
        return PlainMessage(
            seq=msg.seq or index,
            message_id=msg.message_id or "",
            sender=msg.sender or "user",
            content=self.keyring.decrypt(msg.content or ""),
            ts=msg.ts,
            file_id=msg.file_id or "",
            file_url=msg.file_url or "",
            meta=dict(msg.meta_ or {}),
            model_id=msg.model_id or "",
            usage=dict(msg.usage or {}),
            first_token_ms=msg.first_token_ms,
            response_ms=msg.response_ms,
            interrupted=bool(msg.interrupted),
            transcript=self.keyring.decrypt(msg.transcript or ""),
        )

    # --- writing ---------------------------------------------------------------------------------------------

    def create(self, user_id: str, model_id: str) -> Session:
        moment = utcnow()
        session = Session(
            id=new_id(),
            user_id=user_id,
            name="",
            model_id=model_id,
            messages=[],
            start=moment,
            duration=0,
            last_activity=moment,
            last_seq=0,
            created_at=moment,
            modified_at=moment,
        )
        session.save(force_insert=True)
        return session

    def end(self, sid: str) -> bool:
        """End an active session (endTs, dur). Returns False if it was already ended or does not exist."""
        session = self.get(sid)
        if session is None or session.end is not None:
            return False
        moment = utcnow()
        duration = int((moment - session.start).total_seconds())
        updated = Session.objects(id=sid, end=None).update_one(
            set__end=moment, set__duration=duration, set__modified_at=moment
        )
        return bool(updated)

    def next_seq(self, sid: str, count: int = 1) -> int:
        """Allocate the next ``count`` message numbers of a session, atomically across pods; return the last."""
        collection = Session._get_collection()
        found = collection.find_one_and_update(
            {"_id": sid, "lastSeq": {"$exists": True}},
            {"$inc": {"lastSeq": count}},
            projection={"lastSeq": 1},
            return_document=ReturnDocument.AFTER,
        )
        if found is not None:
            return found["lastSeq"]
        # A session written by the Go service: its messages are numbered by position.
        current = collection.find_one({"_id": sid}, projection={"msgs.seq": 1})
        if current is None:
            raise LookupError(sid)
        messages = current.get("msgs", [])
        highest = max([len(messages)] + [m.get("seq") or 0 for m in messages])
        collection.update_one({"_id": sid, "lastSeq": {"$exists": False}}, {"$set": {"lastSeq": highest}})
        return self.next_seq(sid, count)

    def append(
        self, sid: str, seq: int, sender: str, content: str, reply: ReplyTotals | None = None, **fields
    ) -> PlainMessage:
        """Store one message (content encrypted) and bump lastActivity; with ``reply``, in the same write, add the
        reply's tokens and response time to the session's totals, maximum and average."""
        moment = utcnow()
        transcript = fields.pop("transcript", "")
        message = Message(
            content=self.keyring.encrypt(content),
            ts=moment,
            sender=sender,
            seq=seq,
            message_id=fields.pop("message_id", None) or uuid.uuid4().hex,
            transcript=self.keyring.encrypt(transcript) if transcript else None,
            **fields,
        )
        update = {"push__messages": message, "set__last_activity": moment, "set__modified_at": moment}
        if reply is not None:
            update.update(
                inc__total_tokens=reply.tokens,
                inc__response_count=1,
                max__max_response_ms=reply.response_ms,
                set__avg_response_ms=reply.average_ms,
            )
        Session.objects(id=sid).update_one(**update)
        return self._plain(seq, message)

    def set_transcript(self, sid: str, seq: int, transcript: str) -> bool:
        """Store (encrypted) the transcript of the message numbered ``seq``; False when there is no such message."""
        updated = Session._get_collection().update_one(
            {"_id": sid, "msgs.seq": seq},
            {"$set": {"msgs.$.transcript": self.keyring.encrypt(transcript), "_mt": utcnow()}},
        )
        return bool(updated.matched_count)

    def set_name_if_empty(self, sid: str, name: str) -> None:
        Session.objects(id=sid, name__in=["", None]).update_one(set__name=name)

    def set_model(self, sid: str, model_id: str) -> None:
        Session.objects(id=sid).update_one(set__model_id=model_id, set__modified_at=utcnow())

    def set_provider_state(self, sid: str, state: dict) -> None:
        Session.objects(id=sid).update_one(set__provider_state=state)

    def mark_help(self, sid: str) -> bool:
        """Flag a help request; True only the first time (so pressing again does not page twice)."""
        return bool(
            Session.objects(id=sid, help_requested__ne=True).update_one(
                set__help_requested=True, set__help_time=utcnow(), set__modified_at=utcnow()
            )
        )

    def clear_help(self, sid: str) -> None:
        Session.objects(id=sid).update_one(set__help_requested=False)

    def take_over(self, sid: str, admin_id: str, admin_name: str) -> bool:
        """Take the session's takeover lock; True if this admin holds it now (also when it already did)."""
        moment = utcnow()
        query = Session.objects(id=sid, end=None).filter(
            __raw__={"$or": [{"takeoverBy": {"$exists": False}}, {"takeoverBy": None}, {"takeoverBy": admin_id}]}
        )
        return bool(
            query.update_one(
                set__takeover_by=admin_id,
                set__takeover_name=admin_name,
                set__admin_assisted=True,
                set__assisting_admin_id=admin_id,
                set__assisting_admin_name=admin_name,
                set__help_requested=False,
                set__modified_at=moment,
            )
        )

    def release(self, sid: str, admin_id: str | None = None) -> bool:
        """Release the takeover lock (only the holder may, unless admin_id is None). The assisted mark stays."""
        query = Session.objects(id=sid, takeover_by__ne=None)
        if admin_id is not None:
            query = Session.objects(id=sid, takeover_by=admin_id)
        return bool(query.update_one(unset__takeover_by=True, unset__takeover_name=True, set__modified_at=utcnow()))

    def share(self, sid: str, expires: datetime | None = None) -> str:
        """The session's share token: the current one while it lives, else a new one valid until ``expires``."""
        session = self.get(sid)
        if session.share_token and (session.share_expires is None or session.share_expires > utcnow()):
            return session.share_token
        token = new_id()
        Session.objects(id=sid, share_token=session.share_token).update_one(
            set__share_token=token, set__share_expires=expires
        )
        return self.get(sid).share_token

    def set_share_expiry(self, sid: str, token: str, expires: datetime) -> None:
        """Give a share link without a lifetime (written by the Go service) one, if it has none yet."""
        Session.objects(id=sid, share_token=token, share_expires=None).update_one(set__share_expires=expires)

    def revoke_share(self, sid: str) -> bool:
        """Withdraw the session's share link; False when it had none."""
        return bool(
            Session.objects(id=sid, share_token__ne=None).update_one(unset__share_token=True, unset__share_expires=True)
        )

    def idle_active_sessions(self, older_than: datetime) -> list[Session]:
        idle = {
            "$or": [
                {"lastActivity": {"$lt": older_than}},
                {"lastActivity": {"$exists": False}, "ts": {"$lt": older_than}},
            ]
        }
        return list(Session.objects(end=None).filter(__raw__=idle).only("id", "user_id"))
