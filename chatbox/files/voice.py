"""Voice notes to text: the chat service's ``transcriber``, built when TRANSCRIPTION_PROVIDER names a provider."""

from __future__ import annotations

import contextlib
import logging

from chatbox.files.service import FileService
from chatbox.settings import SettingsError

log = logging.getLogger("chatbox.voice")

MAX_AUDIO = 25 * 1000 * 1000  # what OpenAI's transcription endpoint accepts


class Transcriber:
    """``transcribe(file_id, file_url)`` → the words, or "" when the note cannot be understood (logged)."""

    def __init__(self, files: FileService, engine):
        self.files, self.engine = files, engine

    def transcribe(self, file_id: str, file_url: str) -> str:
        # Only our own stored files: fetching an arbitrary URL from the server would be an SSRF hole.
        if self.files.id_in_url(file_url) != file_id:
            return ""
        record = self.files.get(file_id)
        if record is None:
            return ""
        if record.size > MAX_AUDIO:
            log.warning("voice note too long to transcribe", extra={"file_id": file_id, "size": record.size})
            return ""
        try:
            with contextlib.closing(self.files.store.open(record.key)) as stream:
                data = stream.read()
            return self.engine.transcribe(record.name, data, record.mime)
        except Exception as exc:  # noqa: BLE001  (a failed transcription must not lose the voice note itself)
            log.warning("voice note not transcribed: %s", exc, extra={"file_id": file_id})
            return ""


def build_transcriber(settings, files: FileService) -> Transcriber | None:
    """The transcriber for TRANSCRIPTION_PROVIDER, or None when it is empty. Raises SettingsError when it names
    no openai-type provider."""
    wanted = settings.transcription_provider
    if not wanted:
        return None
    config = next((p for p in settings.providers if p.id == wanted), None)
    if config is None or config.type != "openai":
        configured = ", ".join(f"{p.id} ({p.type})" for p in settings.providers) or "none"
        raise SettingsError(f"TRANSCRIPTION_PROVIDER {wanted!r} must be the id of a configured openai-type LLM "
                            f"provider (configured: {configured})")
    from chatbox.integrations.openai_transcribe import OpenAIAudio

    return Transcriber(files, OpenAIAudio(config, settings.transcription_model))
