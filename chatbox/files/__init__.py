"""Files, photos and voice notes: checked uploads, storage (local disk or S3), guarded downloads, transcription.

``init_app`` registers ``POST {P}/upload`` and ``GET {P}/files/<id>`` and hands the chat service its ``files``
(vouches for file and voice frames) and, when TRANSCRIPTION_PROVIDER is set, its ``transcriber``; the reply
streamer gets ``files`` (keeps files a provider produced) and, when TTS_PROVIDER is set, speaks complete replies.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("files", __name__)

from chatbox.files import routes  # noqa: E402,F401  (routes register on bp)


def init_app(app, settings) -> None:
    from chatbox.files.ai_files import AiFiles
    from chatbox.files.service import FileService
    from chatbox.files.voice import build_speaker, build_transcriber
    from chatbox.integrations.files import create_store

    services = app.extensions["chatbox"]
    files = FileService(settings, create_store(settings), services.store, services.hub)
    services.extras["files"] = files
    services.chat.files = files
    services.chat.transcriber = build_transcriber(settings, files)
    services.replies.files = AiFiles(files, settings)
    speaker = build_speaker(settings, files, services.chat.queues)
    if speaker is not None:
        services.replies.on_reply_done = speaker.reply_done
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
