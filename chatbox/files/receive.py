"""Receive one multipart upload from a byte stream into a temp file, checking it as it arrives.

Flask's form parsing is not used: it would decide on its own where to buffer. Here the request body is read in
64 KiB pieces through werkzeug's sans-IO ``MultipartDecoder``; the ``file`` part goes straight to a temp file (with
its size, sha256 and type worked out on the way), small text fields are kept, and reading stops at the first
problem: a file over the size limit is refused without reading the rest.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
)

from chatbox.files.sniff import Inspector, Refused, check_name, human_size

READ_SIZE = 64 * 1024
FIELD_LIMIT = 1024  # bytes of one text field (session_id and the like)
MAX_PARTS = 16
ENVELOPE_SLACK = 64 * 1024  # multipart headers and fields on top of the file itself


@dataclass
class Received:
    """A checked upload waiting in a temp file: the caller moves it to storage or deletes it."""

    path: str
    name: str
    size: int
    sha256: str
    mime: str
    fields: dict[str, str] = field(default_factory=dict)
    on_discard: Callable[[], None] | None = None  # gives the spool reservation back

    def discard(self) -> None:
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        release, self.on_discard = self.on_discard, None
        if release is not None:
            release()


def boundary_of(content_type: str) -> bytes:
    """The multipart boundary. Raises Refused(400) when the body is not multipart/form-data."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not boundary:
        raise Refused(400, "NOT_MULTIPART", "Send the file as multipart/form-data in a field named 'file'")
    return boundary.encode("latin-1")


class _Upload:
    """The state of one upload while its parts arrive."""

    def __init__(self, spool_dir: str, max_size: int):
        self.spool_dir, self.max_size = spool_dir, max_size
        self.fields: dict[str, str] = {}
        self.part: str | None = None  # "file", a field name, or "" for a part we ignore
        self.handle: BinaryIO | None = None
        self.path = ""
        self.name = ""
        self.size = 0
        self.digest = hashlib.sha256()
        self.inspector: Inspector | None = None

    def on_event(self, event) -> None:
        if isinstance(event, File) and event.name == "file":
            if self.path:
                raise Refused(400, "TOO_MANY_FILES", "Send one file per upload")
            self.name = check_name(event.filename.strip())
            self.inspector = Inspector(self.name, event.headers.get("content-type", ""))
            # Closed by result() or abandon(): the part's data arrives over many later events.
            handle = tempfile.NamedTemporaryFile(dir=self.spool_dir, prefix="upload-", delete=False)  # noqa: SIM115
            self.handle, self.path, self.part = handle, handle.name, "file"
        elif isinstance(event, (File, Field)):
            self.part = event.name if isinstance(event, Field) and event.name not in self.fields else ""
            if self.part:
                self.fields[self.part] = ""
        elif isinstance(event, Data):
            self._on_data(event.data)

    def _on_data(self, data: bytes) -> None:
        if self.part == "file":
            self.size += len(data)
            if self.size > self.max_size:
                raise Refused(
                    413, "TOO_LARGE", f"The file is larger than the upload limit of {human_size(self.max_size)}"
                )
            self.digest.update(data)
            self.inspector.feed(data)
            self.handle.write(data)
        elif self.part:
            value = self.fields[self.part] + data.decode("utf-8", errors="replace")
            if len(value) > FIELD_LIMIT:
                raise Refused(400, "FIELD_TOO_LARGE", f"The form field '{self.part}' is too long")
            self.fields[self.part] = value

    def result(self) -> Received:
        if not self.path:
            raise Refused(400, "MISSING_FILE", "No file in the upload: send it in a multipart field named 'file'")
        self.handle.close()
        mime = self.inspector.finish()
        return Received(
            self.path,
            self.name,
            self.size,
            self.digest.hexdigest(),
            mime,
            {k: v.strip() for k, v in self.fields.items()},
        )

    def abandon(self) -> None:
        if self.handle is not None:
            self.handle.close()
            os.remove(self.path)


def _read(stream: BinaryIO) -> bytes:
    try:
        return stream.read(READ_SIZE)
    except (OSError, ClientDisconnected):
        # The client went away mid-upload: its problem, not a server crash worth an alert.
        raise Refused(400, "INTERRUPTED", "The upload was interrupted before it finished") from None


def receive(stream: BinaryIO, content_type: str, content_length: int | None, spool_dir: str, max_size: int) -> Received:
    """Read a multipart body into a checked temp file.

    Raises Refused: 400 (not multipart, malformed, no file, empty, bad name), 413 (too large), 415 (type).
    """
    boundary = boundary_of(content_type)
    if content_length is not None and content_length > max_size + ENVELOPE_SLACK:
        raise Refused(413, "TOO_LARGE", f"The file is larger than the upload limit of {human_size(max_size)}")
    decoder = MultipartDecoder(boundary, max_parts=MAX_PARTS)
    upload = _Upload(spool_dir, max_size)
    try:
        finished = False
        while not finished:
            chunk = _read(stream)
            decoder.receive_data(chunk or None)
            event = decoder.next_event()
            while event is not NEED_DATA:
                if isinstance(event, Epilogue):
                    finished = True
                    break
                upload.on_event(event)
                event = decoder.next_event()
            if not chunk and not finished:
                raise ValueError("body ended before the closing boundary")
        return upload.result()
    except (ValueError, UnicodeDecodeError, LookupError):
        upload.abandon()
        raise Refused(
            400, "MALFORMED", "The upload is not valid multipart/form-data (the body was cut short or badly formed)"
        ) from None
    except RequestEntityTooLarge:
        upload.abandon()
        raise Refused(400, "TOO_MANY_PARTS", f"The upload has more than {MAX_PARTS} parts") from None
    except BaseException:
        upload.abandon()
        raise
