"""Files, photos and voice notes: checked uploads, storage (local disk or S3), guarded downloads, transcription.

``build`` makes the parts ``services.build`` hands on: the chat service gets the file service (vouches for file and
voice frames) and, when TRANSCRIPTION_PROVIDER is set, the transcriber; the reply streamer gets the AI files (keeps
files a provider produced) and, when TTS_PROVIDER is set, the speaker. ``init_app`` registers ``POST {P}/upload``
and ``GET {P}/files/<id>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint

from chatbox.files.ai_files import AiFiles
from chatbox.files.service import FileService
from chatbox.files.voice import Speaker, Transcriber, build_speaker, build_transcriber

bp = Blueprint("files", __name__)

from chatbox.files import routes  # noqa: E402,F401  (routes register on bp)


@dataclass
class FileParts:
    """What the files feature gives the others: the service (uploads, frames), the keeper of files a provider
    produced, and the transcriber and speaker when configured."""

    service: FileService
    ai_files: AiFiles
    transcriber: Transcriber | None
    speaker: Speaker | None


def build(settings, store, hub, queues) -> FileParts:
    """The file service on the configured store; ``queues`` are the session FIFOs spoken replies wait in."""
    from chatbox.integrations.files import create_store

    service = FileService(settings, create_store(settings), store, hub)
    return FileParts(
        service,
        AiFiles(service, settings),
        build_transcriber(settings, service),
        build_speaker(settings, service, queues),
    )


def init_app(app, settings) -> None:
    app.register_blueprint(bp, url_prefix=settings.prefix)
    import gevent

    gevent.spawn(_ensure_indexes)


def _ensure_indexes() -> None:
    """Create the ``files`` indexes in the background; without them the service still works, only slower."""
    import logging

    from pymongo.errors import PyMongoError

    from chatbox.files.models import FileRecord

    try:
        FileRecord.ensure_indexes()
    except PyMongoError as exc:
        logging.getLogger("chatbox.files").error("files index creation failed: %s", exc)
