"""Session storage: every read and write of the ``sessions`` collection, atomic where it matters.

Message content, voice transcripts, each string value of a message's metadata and the session's name are encrypted
on the way in and decrypted on the way out (legacy plaintext reads as it is); callers only ever see plain text.
Messages of Go-written sessions have no ``seq``: their position (1, 2, …) stands in for it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import bson
from pymongo import ReturnDocument

from chatbox.clock import utcnow
from chatbox.crypto import KeyRing
from chatbox.events import Event, MessageStored, SessionUpdated, TranscriptStored
from chatbox.integrations.bus import Bus, MemoryBus
from chatbox.models import Message, Session

SEQ_OUTAGE_MARGIN = 10  # numbers skipped when a session is first numbered from the store during a Redis outage
MESSAGE_OVERHEAD = 160  # bytes of field names, ts, seq, mid and BSON framing in one stored message


def sealed_len(text: str) -> int:
    """Bytes ``text`` takes once encrypted: base64 of nonce(12), ciphertext and tag(16)."""
    size = len(text.encode("utf-8", "replace"))
    return 4 * ((size + 30) // 3) if size else 0


def approx_size(content: str, meta: dict | None = None, *plain: str) -> int:
    """About how many bytes one message adds to its session's document (a little more without encryption)."""
    size = MESSAGE_OVERHEAD + sealed_len(content)
    for key, value in (meta or {}).items():
        size += len(key) + 8 + (sealed_len(value) if isinstance(value, str) else 16)
    return size + sum(len(text.encode("utf-8", "replace")) + 16 for text in plain if text)


def document_size(session: Session) -> int:
    """The BSON size of a loaded session document."""
    return len(bson.encode(session.to_mongo()))


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

    def to_wire(self) -> dict:
        # By hand: dataclasses.asdict deep-copies every value, and this runs for every stored message.
        ts = self.ts.isoformat() if self.ts else None
        return {**self.__dict__, "ts": ts, "meta": dict(self.meta), "usage": dict(self.usage)}

    @classmethod
    def from_wire(cls, data: dict) -> PlainMessage:
        ts = datetime.fromisoformat(data["ts"]) if data.get("ts") else None
        return cls(**{**data, "ts": ts})


@dataclass(frozen=True)
class ReplyTotals:
    """What one finished reply adds to its session: tokens, its response time, and the new running average."""

    tokens: int
    response_ms: int
    average_ms: int
    count: int = 1  # the session's reply count after this one

    @classmethod
    def after(cls, prior_replies: int, prior_average_ms: int, tokens: int, response_ms: int) -> ReplyTotals:
        # A session's replies run one at a time (its queue), so the counters read when the reply started are
        # still current when it is stored.
        count = prior_replies + 1
        return cls(tokens, response_ms, int(round(prior_average_ms + (response_ms - prior_average_ms) / count)), count)


class SessionStore:
    """Reads and writes of sessions. Message numbers come from ``bus`` (seeded from the stored last seq); every
    change is told to ``publish`` (the hub), so each pod's copy of the session stays current."""

    def __init__(self, keyring: KeyRing, bus: Bus | None = None, publish: Callable[[Event], None] | None = None):
        self.keyring = keyring
        self.bus = bus or MemoryBus()
        self._floor_epoch, self._floored = 0, set()  # sessions whose Redis counter was raised since Redis returned
        self._outage_epoch, self._outage_sids = 0, set()  # sessions numbered from the store in this outage
        self._publish = publish or (lambda event: None)

    # --- reading ---------------------------------------------------------------------------------------------

    def get(self, sid: str) -> Session | None:
        if not sid:
            return None
        return self.readable(Session.objects(id=sid).first())

    def head(self, sid: str) -> Session | None:
        """The session without its messages (``messages`` is empty): cheap, for checks on the hot path."""
        if not sid:
            return None
        return self.readable(Session.objects(id=sid).exclude("messages").first())

    def get_owned(self, sid: str, user_id: str) -> Session | None:
        session = self.get(sid)
        return session if session is not None and session.user_id == user_id else None

    def by_share_token(self, token: str) -> Session | None:
        return self.readable(Session.objects(share_token=token).first()) if token else None

    def active_id(self, user_id: str) -> str | None:
        """The id of the user's active session (the newest, should there be more than one)."""
        found = Session._get_collection().find_one(
            {"uid": user_id, "endTs": None}, projection={"_id": 1}, sort=[("ts", -1)]
        )
        return found["_id"] if found else None

    def list_for_user(self, user_id: str, limit: int = 100) -> list[Session]:
        return [self.readable(s) for s in Session.objects(user_id=user_id).order_by("-start").limit(limit)]

    def readable(self, session: Session | None) -> Session | None:
        """The document with its name decrypted (such documents are read, never saved back)."""
        if session is not None and session.name:
            session.name = self.keyring.decrypt(session.name)
        return session

    def plain_meta(self, meta: dict | None) -> dict:
        """Stored message metadata with each string value decrypted (keys are stored plain)."""
        return {k: self.keyring.decrypt(v) if isinstance(v, str) else v for k, v in (meta or {}).items()}

    def sealed_meta(self, meta: dict | None) -> dict | None:
        """Metadata as stored: each string value encrypted on its own (the Go format), keys plain."""
        return {k: self.keyring.encrypt(v) if isinstance(v, str) else v for k, v in meta.items()} if meta else None

    def by_seq(self, sid: str, seq: int) -> PlainMessage | None:
        """The stored message numbered ``seq`` (a resent message is found by the seq its client_msg_id got: the
        id itself is stored encrypted, so it cannot be queried)."""
        found = Session._get_collection().find_one({"_id": sid}, {"msgs": {"$elemMatch": {"seq": seq}}})
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
            meta=self.plain_meta(msg.meta_),
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
        self.bus.seq_seed(session.id, 0)
        return session

    def end(self, sid: str) -> bool:
        """End an active session (endTs, dur). Returns False if it was already ended or does not exist."""
        collection = Session._get_collection()
        found = collection.find_one({"_id": sid}, {"ts": 1, "endTs": 1})
        if found is None or found.get("endTs") is not None:
            return False
        moment = utcnow()
        duration = int((moment - found["ts"]).total_seconds()) if found.get("ts") else 0
        updated = collection.update_one(
            {"_id": sid, "endTs": None}, {"$set": {"endTs": moment, "dur": duration, "_mt": moment}}
        )
        if updated.matched_count:
            self._publish(SessionUpdated(sid, {"end": moment.isoformat()}))
        return bool(updated.matched_count)

    def next_seq(self, sid: str, count: int = 1) -> int:
        """Allocate the next ``count`` message numbers of a session, unique across pods; return the last.

        The bus counts; a session it has no counter for (first use since a restart) starts from the stored last
        seq. While the bus's Redis is away, the stored ``lastSeq`` counts instead (an atomic ``$inc``), and once
        it is back its counter is first raised past what was stored meanwhile. Raises LookupError for an unknown
        session."""
        if not getattr(self.bus, "degraded", False):
            self._raise_floor(sid)
            last = self.bus.seq_next(sid, count)
            if last is None:
                self.bus.seq_seed(sid, self._stored_last_seq(sid))
                last = self.bus.seq_next(sid, count)
            if not getattr(self.bus, "degraded", False):  # a failure on the way answers from the local bus
                return last
        return self._next_seq_stored(sid, count)

    def _raise_floor(self, sid: str) -> None:
        """After Redis returned (a new ``epoch``), once per session: numbers handed out from the store during the
        outage are above Redis's counter, which must not hand them out again."""
        epoch = getattr(self.bus, "epoch", 0)
        if not epoch:
            return
        if epoch != self._floor_epoch:
            self._floor_epoch, self._floored = epoch, set()
        if sid not in self._floored:
            # The margin keeps clear of numbers a pod that has not noticed Redis's return yet takes from the store.
            self.bus.seq_floor(sid, self._stored_last_seq(sid) + SEQ_OUTAGE_MARGIN)
            self._floored.add(sid)

    def _next_seq_stored(self, sid: str, count: int) -> int:
        """Allocate from the stored ``lastSeq`` (Redis is away). The first time per session per outage it jumps
        ``SEQ_OUTAGE_MARGIN`` past what is stored: numbers Redis handed out for replies not yet stored stay free."""
        collection = Session._get_collection()
        if self._outage_epoch != getattr(self.bus, "epoch", 0):
            self._outage_epoch, self._outage_sids = getattr(self.bus, "epoch", 0), set()
        if sid not in self._outage_sids:
            floor = self._stored_last_seq(sid) + SEQ_OUTAGE_MARGIN
            collection.update_one({"_id": sid}, {"$max": {"lastSeq": floor}})
            self._outage_sids.add(sid)
        found = collection.find_one_and_update(
            {"_id": sid}, {"$inc": {"lastSeq": count}}, {"lastSeq": 1}, return_document=ReturnDocument.AFTER
        )
        if found is None:
            raise LookupError(sid)
        return found["lastSeq"]

    def _stored_last_seq(self, sid: str) -> int:
        found = Session._get_collection().find_one({"_id": sid}, {"lastSeq": 1, "msgs.seq": 1})
        if found is None:
            raise LookupError(sid)
        # Messages of a session written by the Go service have no seq: they are numbered by position.
        messages = found.get("msgs", [])
        return max([found.get("lastSeq") or 0, len(messages)] + [m.get("seq") or 0 for m in messages])

    def append(
        self,
        sid: str,
        seq: int,
        sender: str,
        content: str,
        reply: ReplyTotals | None = None,
        last_seq: int | None = None,
        name: str = "",
        provider_state: dict | None = None,
        **fields,
    ) -> PlainMessage:
        """Store one message (content encrypted) in one write: bump lastActivity and record ``last_seq`` (the
        highest number allocated, ``seq`` by default); set the session's ``name`` or ``provider_state`` when
        given; with ``reply``, add the reply's tokens and response time to the session's totals."""
        moment = utcnow()
        message = PlainMessage(seq, fields.pop("message_id", None) or uuid.uuid4().hex, sender, content, moment)
        for key, value in fields.items():
            if value is not None:
                setattr(message, "meta" if key == "meta_" else key, value)
        update: dict = {
            "$push": {"msgs": self._son(message)},
            "$set": {"lastActivity": moment, "_mt": moment},
            "$max": {"lastSeq": max(seq, last_seq or 0)},
        }
        if name:
            update["$set"]["nm"] = self.keyring.encrypt(name)
        if provider_state:
            update["$set"]["providerState"] = provider_state
        if reply is not None:
            update["$inc"] = {"totalTokens": reply.tokens, "respCount": 1}
            update["$max"]["maxRespTime"] = reply.response_ms
            update["$set"]["avgRespTime"] = reply.average_ms
        Session._get_collection().update_one({"_id": sid}, update)
        totals = {"response_count": reply.count, "avg_response_ms": reply.average_ms} if reply else None
        self._publish(MessageStored(sid, message.to_wire(), totals))
        changes = {k: v for k, v in (("name", name), ("provider_state", provider_state)) if v}
        if changes:
            self._publish(SessionUpdated(sid, changes))
        return message

    def _son(self, message: PlainMessage) -> dict:
        """The stored form of a message (Go's field names; empty optional fields left out, as mongoengine did)."""
        son = {
            "content": self.keyring.encrypt(message.content),
            "ts": message.ts,
            "sender": message.sender,
            "fileId": message.file_id or None,
            "fileUrl": message.file_url or None,
            "meta": self.sealed_meta(message.meta),
            "seq": message.seq,
            "mid": message.message_id,
            "modelId": message.model_id or None,
            "usage": message.usage or None,
            "firstMs": message.first_token_ms,
            "respMs": message.response_ms,
            "interrupted": message.interrupted or None,
            "transcript": self.keyring.encrypt(message.transcript) if message.transcript else None,
        }
        return {key: value for key, value in son.items() if value is not None}

    def set_transcript(self, sid: str, seq: int, transcript: str) -> bool:
        """Store (encrypted) the transcript of the message numbered ``seq``; False when there is no such message."""
        updated = Session._get_collection().update_one(
            {"_id": sid, "msgs.seq": seq},
            {"$set": {"msgs.$.transcript": self.keyring.encrypt(transcript), "_mt": utcnow()}},
        )
        if updated.matched_count:
            self._publish(TranscriptStored(sid, seq, transcript))
        return bool(updated.matched_count)

    def set_provider_state(self, sid: str, state: dict) -> None:
        Session._get_collection().update_one({"_id": sid}, {"$set": {"providerState": state}})
        self._publish(SessionUpdated(sid, {"provider_state": state}))

    def set_model(self, sid: str, model_id: str) -> None:
        Session._get_collection().update_one({"_id": sid}, {"$set": {"modelId": model_id, "_mt": utcnow()}})
        self._publish(SessionUpdated(sid, {"model_id": model_id}))

    def mark_help(self, sid: str) -> bool:
        """Flag a help request; True only the first time (so pressing again does not page twice)."""
        moment = utcnow()
        updated = Session._get_collection().update_one(
            {"_id": sid, "helpRequested": {"$ne": True}},
            {"$set": {"helpRequested": True, "helpTs": moment, "_mt": moment}},
        )
        if updated.matched_count:
            self._publish(SessionUpdated(sid, {"help_requested": True}))
        return bool(updated.matched_count)

    def take_over(self, sid: str, admin_id: str, admin_name: str) -> bool:
        """Take the session's takeover lock; True if this admin holds it now (also when it already did)."""
        moment = utcnow()
        query = Session.objects(id=sid, end=None).filter(
            __raw__={"$or": [{"takeoverBy": {"$exists": False}}, {"takeoverBy": None}, {"takeoverBy": admin_id}]}
        )
        taken = query.update_one(
            set__takeover_by=admin_id,
            set__takeover_name=admin_name,
            set__admin_assisted=True,
            set__assisting_admin_id=admin_id,
            set__assisting_admin_name=admin_name,
            set__help_requested=False,
            set__modified_at=moment,
        )
        if taken:
            changes = {"takeover_by": admin_id, "takeover_name": admin_name, "help_requested": False}
            self._publish(SessionUpdated(sid, changes))
        return bool(taken)

    def release(self, sid: str, admin_id: str | None = None) -> bool:
        """Release the takeover lock (only the holder may, unless admin_id is None). The assisted mark stays."""
        query = Session.objects(id=sid, takeover_by__ne=None)
        if admin_id is not None:
            query = Session.objects(id=sid, takeover_by=admin_id)
        released = query.update_one(unset__takeover_by=True, unset__takeover_name=True, set__modified_at=utcnow())
        if released:
            self._publish(SessionUpdated(sid, {"takeover_by": None, "takeover_name": ""}))
        return bool(released)

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

    def set_handoff_summary(self, sid: str, text: str) -> datetime:
        """Store the admin copilot's handoff summary of a session (encrypted like message content); return when."""
        moment = utcnow()
        Session._get_collection().update_one(
            {"_id": sid}, {"$set": {"hoSum": self.keyring.encrypt(text), "hoTs": moment}}
        )
        return moment

    def handoff_summary(self, session: Session) -> str:
        """The session's handoff summary in plain text ("" when there is none)."""
        return self.keyring.decrypt(session.handoff_summary or "")
