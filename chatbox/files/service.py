"""Files as the rest of the app sees them: keep a checked upload, decide who may read it, vouch for file frames.

Plain calls, no Flask: the routes translate HTTP to these, the chat service calls ``check_frame``, and the reply
path can call ``publish_ai_file`` to send a file a provider produced.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import tempfile
from datetime import UTC, datetime
from urllib.parse import urlparse

from chatbox.chat.protocol import Frame, ProtocolError, now
from chatbox.chat.sharing import live_share
from chatbox.errors import ApiError
from chatbox.events import SessionChanged
from chatbox.files.links import signed_url
from chatbox.files.models import FileRecord
from chatbox.files.receive import Received, receive
from chatbox.files.sniff import Inspector, Refused, check_name, human_size
from chatbox.files.spool import Spool
from chatbox.files.urls import check_external_url
from chatbox.integrations.files import FileStore

log = logging.getLogger("chatbox.files")

MEDIA_PREFIXES = ("image/", "audio/", "video/")  # shown inline; everything else downloads as an attachment


def _utcnow() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=None)


class FileService:
    def __init__(self, settings, store: FileStore, sessions, hub):
        self.settings, self.store, self.sessions, self.hub = settings, store, sessions, hub
        self.spool = Spool(settings.upload_spool_dir or store.spool_dir(), settings.upload_spool_size)
        self.prefix = settings.prefix
        self._own_url = re.compile(re.escape(self.prefix) + r"/files/([0-9a-f]{32})")

    # --- keeping files ---------------------------------------------------------------------------------------

    def url_for(self, file_id: str) -> str:
        """Our own URL of a file: an absolute path without host, ``{P}/files/<id>``."""
        return f"{self.prefix}/files/{file_id}"

    def receive(self, stream, content_type: str, content_length: int | None) -> Received:
        """Read and check an upload body into a temp file, its size reserved in the spool until it is discarded.

        Raises Refused (see receive.receive), 507 before reading anything when the spool cannot hold it.
        """
        limit = self.settings.upload_max_size
        size = self.spool.reserve(min(content_length, limit) if content_length is not None else limit)
        try:
            received = receive(stream, content_type, content_length, self.spool.folder, limit)
        except BaseException:
            self.spool.release(size)
            raise
        received.on_discard = lambda: self.spool.release(size)
        return received

    def keep(self, identity, received: Received) -> FileRecord:
        """Store a checked upload for its sender. Raises Refused(404) for a session the sender may not use."""
        try:
            sid = received.fields.get("session_id", "")
            if sid:
                session = self.sessions.get(sid)
                if session is None or (session.user_id != identity.user_id and not identity.is_admin):
                    raise Refused(404, "NOT_FOUND", "Session not found")
            return self._store(identity.user_id, sid or None, received, origin="upload")
        finally:
            received.discard()

    def keep_bytes(
        self, owner: str, sid: str | None, name: str, data: bytes, declared: str = "", origin: str = "ai"
    ) -> FileRecord:
        """Store bytes produced by us or a provider, under the same checks as an upload. Raises Refused."""
        name = check_name(name)
        if len(data) > self.settings.upload_max_size:
            raise Refused(
                413,
                "TOO_LARGE",
                f"The file is larger than the upload limit of {human_size(self.settings.upload_max_size)}",
            )
        inspector = Inspector(name, declared)
        inspector.feed(data)
        mime = inspector.finish()
        with tempfile.NamedTemporaryFile(dir=self.spool.folder, prefix="generated-", delete=False) as handle:
            handle.write(data)
        received = Received(handle.name, name, len(data), hashlib.sha256(data).hexdigest(), mime)
        try:
            return self._store(owner, sid, received, origin=origin)
        finally:
            received.discard()

    def _store(self, owner: str, sid: str | None, received: Received, origin: str) -> FileRecord:
        file_id = secrets.token_hex(16)
        key = f"files/{file_id}"
        try:
            self.store.put(key, received.path, received.mime)
        except Exception:  # any store failure means the same thing to the user
            log.exception("file storage failed", extra={"file_id": file_id, "store": self.store.kind})
            raise ApiError(
                503, "STORAGE_UNAVAILABLE", "File storage is unavailable right now; please try again later"
            ) from None
        record = FileRecord(
            id=file_id,
            owner=owner,
            session=sid,
            key=key,
            store=self.store.kind,
            name=received.name,
            size=received.size,
            mime=received.mime,
            sha256=received.sha256,
            origin=origin,
            created=_utcnow(),
        )
        record.save(force_insert=True)
        log.info(
            "file stored",
            extra={"file_id": file_id, "size": received.size, "mime": received.mime, "session_id": sid or ""},
        )
        return record

    def get(self, file_id: str) -> FileRecord | None:
        if not file_id or not re.fullmatch(r"[0-9a-f]{32}", file_id):
            return None
        return FileRecord.objects(id=file_id).first()

    def remove(self, record: FileRecord) -> None:
        """Delete the bytes, then the record."""
        self.store.delete(record.key)
        record.delete()

    # --- reading ---------------------------------------------------------------------------------------------

    def may_read(self, identity, record: FileRecord, share_token: str = "") -> bool:
        """The owner, any admin, or whoever holds the share link of a session the file was sent in."""
        if identity is not None and (identity.is_admin or identity.user_id == record.owner):
            return True
        if not share_token:
            return False
        return self.shared_by(live_share(self.sessions, share_token, self.settings), record)

    @staticmethod
    def shared_by(session, record: FileRecord) -> bool:
        """Does a share of ``session`` grant ``record``? Only files of the session's owner that were sent in it: a
        message naming someone else's file id must not turn the link into a key to that file."""
        if session is None or record.owner != session.user_id:
            return False
        return record.session == session.id or any(m.file_id == record.id for m in session.messages)

    def sign_for_share(self, session, messages: list[dict]) -> None:
        """Give each of our files in a shared session's ``messages`` (``stored_message`` shapes) a signed link when
        the share grants it, else no URL at all; links to other hosts stay as they are."""
        for message in messages:
            file_id = self.id_in_url(message.get("file_url", ""))
            if file_id is None:
                continue
            record = self.get(file_id)
            if record is None or not self.shared_by(session, record):
                message["file_url"] = ""
                continue
            secret, ttl = self.settings.jwt_secret, self.settings.file_link_ttl
            message["file_url"] = signed_url(self.prefix, secret, record.id, ttl)[0]

    @staticmethod
    def inline(record: FileRecord) -> bool:
        return record.mime.startswith(MEDIA_PREFIXES)

    # --- chat frames -----------------------------------------------------------------------------------------

    def id_in_url(self, url: str) -> str | None:
        """The file id when ``url`` is one of our file URLs (a path, or an absolute URL on CHATBOX_PUBLIC_URL)."""
        parsed = urlparse(url)
        if parsed.scheme or parsed.netloc:
            public = urlparse(self.settings.public_url) if self.settings.public_url else None
            if public is None or (parsed.scheme, parsed.netloc) != (public.scheme, public.netloc):
                return None
        match = self._own_url.fullmatch(parsed.path)
        return match.group(1) if match else None

    def check_frame(self, identity, frame: Frame, sid: str = "") -> None:
        """Accept a file/voice frame: our file belonging to the sender (or stored in session ``sid``), or an
        external https URL (SSRF rule) whose ``file_id`` names none of our files but the sender's.

        For our files the frame is normalised (canonical URL, no query string, so no token gets stored) and
        ``metadata`` gains ``filename``, ``mime_type`` and ``size``. Raises ProtocolError.
        """
        file_id = self.id_in_url(frame.file_url)
        if file_id is None:
            check_external_url(frame.file_url)
            named = self.get(frame.file_id)
            if named is not None and not self._usable(identity, named, sid):
                raise ProtocolError("INVALID_FORMAT", "Invalid file ID", f"file {named.id} is not the sender's")
            return
        record = self.get(file_id)
        if record is None or not self._usable(identity, record, sid):
            raise ProtocolError("INVALID_FORMAT", "Invalid file URL", f"file {file_id} is unknown or not the sender's")
        if frame.file_id != file_id:
            raise ProtocolError("INVALID_FORMAT", "The file_id does not match the file URL")
        if frame.type == "voice_message" and not record.mime.startswith(("audio/", "video/")):
            raise ProtocolError("INVALID_FORMAT", "A voice message must be an audio file")
        frame.file_url = self.url_for(file_id)
        frame.metadata.update(filename=record.name, mime_type=record.mime, size=str(record.size))

    @staticmethod
    def _usable(identity, record: FileRecord, sid: str) -> bool:
        return record.owner == identity.user_id or (bool(sid) and record.session == sid)

    def publish_ai_file(
        self, sid: str, data: bytes, name: str, mime: str = "", content: str = "", model_id: str = ""
    ) -> Frame:
        """Store a file a provider produced for a session and send it as a complete ``ai_response`` with
        ``file_url`` to every socket of the session. Raises Refused when the bytes fail the upload checks."""
        session = self.sessions.get(sid)
        if session is None:
            raise LookupError(sid)
        record = self.keep_bytes(session.user_id, sid, name, data, mime, origin="ai")
        url = self.url_for(record.id)
        seq = self.sessions.next_seq(sid)
        meta = {"filename": record.name, "mime_type": record.mime, "size": str(record.size)}
        message = self.sessions.append(
            sid, seq, "ai", content, file_id=record.id, file_url=url, model_id=model_id, meta_=meta
        )
        frame = Frame(
            "ai_response",
            session_id=sid,
            content=content,
            file_id=record.id,
            file_url=url,
            model_id=model_id,
            sender="ai",
            timestamp=now(),
            metadata={"done": "true", **meta},
            extra={"seq": seq, "message_id": message.message_id},
        )
        self.hub.broadcast(sid, frame)
        self.hub.signal(SessionChanged(sid=sid))
        return frame
