"""MongoDB documents in the Go service's schema (collection ``sessions``, short field names).

Fields the Go service wrote keep their names; fields we add (``seq``, ``mid``, usage and timing on messages,
``lastSeq``, ``takeoverBy`` …) are extra keys the Go service ignores. ``strict: False`` lets us read documents that
carry fields we do not model (gomongo's ``_ts``/``_mt`` among them).
"""

from __future__ import annotations

import logging
import time

import mongoengine as me
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import PyMongoError

log = logging.getLogger("chatbox.storage")


class Message(me.EmbeddedDocument):
    meta = {"strict": False}

    content = me.StringField(db_field="content", default="")
    ts = me.DateTimeField(db_field="ts")
    sender = me.StringField(db_field="sender", default="user")
    file_id = me.StringField(db_field="fileId")
    file_url = me.StringField(db_field="fileUrl")
    meta_ = me.DictField(db_field="meta")
    seq = me.IntField(db_field="seq")
    message_id = me.StringField(db_field="mid")
    model_id = me.StringField(db_field="modelId")
    usage = me.DictField(db_field="usage")  # prompt, completion, total, estimated
    first_token_ms = me.IntField(db_field="firstMs")
    response_ms = me.IntField(db_field="respMs")
    interrupted = me.BooleanField(db_field="interrupted")
    transcript = me.StringField(db_field="transcript")  # encrypted like content


class Session(me.Document):
    meta = {"collection": "sessions", "strict": False, "auto_create_index": False, "index_background": True}

    id = me.StringField(primary_key=True, db_field="_id")
    user_id = me.StringField(db_field="uid", required=True)
    name = me.StringField(db_field="nm", default="")
    model_id = me.StringField(db_field="modelId", default="")
    messages = me.EmbeddedDocumentListField(Message, db_field="msgs", default=list)
    start = me.DateTimeField(db_field="ts", required=True)
    end = me.DateTimeField(db_field="endTs")
    duration = me.IntField(db_field="dur", default=0)
    admin_assisted = me.BooleanField(db_field="adminAssisted", default=False)
    assisting_admin_id = me.StringField(db_field="assistingAdminId")
    assisting_admin_name = me.StringField(db_field="assistingAdminName")
    help_requested = me.BooleanField(db_field="helpRequested", default=False)
    help_time = me.DateTimeField(db_field="helpTs")
    # The helpTs of the help request already re-sent by SMS (the escalation sweep's atomic claim, once per request);
    # a later request (asked again after a takeover) has another helpTs and may be escalated too. Not in Go's schema.
    escalated_help_ts = me.DateTimeField(db_field="escalatedHelpTs")
    total_tokens = me.IntField(db_field="totalTokens", default=0)
    last_activity = me.DateTimeField(db_field="lastActivity")
    max_response_ms = me.IntField(db_field="maxRespTime", default=0)
    avg_response_ms = me.IntField(db_field="avgRespTime", default=0)
    response_count = me.IntField(db_field="respCount", default=0)
    share_token = me.StringField(db_field="shareToken")
    share_expires = me.DateTimeField(db_field="shareExp")  # not in Go's schema: Go links get a lifetime when first read
    last_seq = me.IntField(db_field="lastSeq")
    takeover_by = me.StringField(db_field="takeoverBy")
    takeover_name = me.StringField(db_field="takeoverName")
    provider_state = me.DictField(db_field="providerState")
    # The admin copilot's handoff summary (encrypted like message content) and when it was written; not in Go's
    # schema, so documents without them read as "no summary yet".
    handoff_summary = me.StringField(db_field="hoSum")
    handoff_time = me.DateTimeField(db_field="hoTs")
    created_at = me.DateTimeField(db_field="_ts")
    modified_at = me.DateTimeField(db_field="_mt")

    @property
    def is_active(self) -> bool:
        return self.end is None


class AuditEntry(me.Document):
    """Who did what to a session: takeover start and end, admin reads."""

    meta = {
        "collection": "audit",
        "strict": False,
        "auto_create_index": False,
        "indexes": [{"fields": ["session_id", "-ts"], "name": "idx_audit_session"}],
    }

    session_id = me.StringField(db_field="sid", required=True)
    action = me.StringField(db_field="action", required=True)
    admin_id = me.StringField(db_field="adminId")
    admin_name = me.StringField(db_field="adminName")
    ts = me.DateTimeField(db_field="ts", required=True)
    detail = me.StringField(db_field="detail")


class Notification(me.Document):
    """One alert message (or its suppression): the notification log the dashboard shows."""

    meta = {
        "collection": "notifications",
        "strict": False,
        "auto_create_index": False,
        "indexes": [{"fields": ["-ts"], "name": "idx_notification_time"}],
    }

    ts = me.DateTimeField(db_field="ts", required=True)
    event = me.StringField(db_field="event", required=True)  # help_request, llm_failure, …
    key = me.StringField(db_field="key")  # rate-limit key, e.g. help_request:<sid>
    channel = me.StringField(db_field="channel")  # email | sms
    transport = me.StringField(db_field="transport")  # smtp | twilio | outbox
    recipient = me.StringField(db_field="to")
    subject = me.StringField(db_field="subject")
    body = me.StringField(db_field="body")
    # queued | sent | outbox | failed | suppressed | skipped
    status = me.StringField(db_field="status")
    attempts = me.IntField(db_field="attempts", default=0)
    error = me.StringField(db_field="error")
    session_id = me.StringField(db_field="sid")
    user_id = me.StringField(db_field="uid")
    # suppressed rows only: one row counts a key's suppressed alerts until the next message for it goes out, which
    # sums them up (then summarized is set and a new row starts counting)
    count = me.IntField(db_field="count")
    summarized = me.BooleanField(db_field="summarized")


# The five indexes of the Go service (ORIGINAL.md section 3.5), by name, then the sweeps' two.
SESSION_INDEXES: dict[str, tuple[list[tuple[str, int]], dict]] = {
    "idx_user_id": ([("uid", ASCENDING)], {}),
    "idx_start_time": ([("ts", DESCENDING)], {}),
    "idx_admin_assisted": ([("adminAssisted", ASCENDING)], {}),
    "idx_user_start_time": ([("uid", ASCENDING), ("ts", DESCENDING)], {}),
    "idx_share_token": ([("shareToken", ASCENDING)], {"unique": True, "sparse": True}),
    # Ours, not Go's: the sweeps every pod runs every 30 s would otherwise scan the whole collection. The reaper
    # asks for open sessions (endTs null) idle since a cutoff; the escalation sweep for open help requests older
    # than a cutoff. Equality keys first, the range last, so each sweep reads only the sessions it may act on.
    "idx_open_last_activity": ([("endTs", ASCENDING), ("lastActivity", ASCENDING)], {}),
    "idx_open_help": ([("helpRequested", ASCENDING), ("endTs", ASCENDING), ("helpTs", ASCENDING)], {}),
}


def ensure_indexes(timeout: float = 30.0) -> list[str]:
    """Create the session indexes that are missing; idempotent. Logs and returns the names present afterwards.

    Never raises: the service runs without indexes (slower) rather than not at all.
    """
    started = time.monotonic()
    collection = Session._get_collection()
    try:
        for name, (keys, options) in SESSION_INDEXES.items():
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"index creation exceeded {timeout:.0f}s")
            collection.create_index(keys, name=name, background=True, maxTimeMS=int(timeout * 1000), **options)
        AuditEntry.ensure_indexes()
        Notification.ensure_indexes()
    except (PyMongoError, TimeoutError) as exc:
        log.error("MongoDB index creation failed: %s", exc, extra={"indexes": list(SESSION_INDEXES)})
        return []
    log.info("MongoDB indexes created successfully indexes=[%s]", ", ".join(SESSION_INDEXES))
    return list(SESSION_INDEXES)


def present_indexes() -> list[str]:
    return [name for name in Session._get_collection().index_information() if name != "_id_"]
