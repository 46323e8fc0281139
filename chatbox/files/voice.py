"""Voice notes to text (the chat service's ``transcriber``, when TRANSCRIPTION_PROVIDER names a provider) and
replies to speech (the reply streamer's ``on_reply_done``, when TTS_PROVIDER does)."""

from __future__ import annotations

import contextlib
import logging

from chatbox.files.service import FileService
from chatbox.settings import SettingsError

log = logging.getLogger("chatbox.voice")

MAX_AUDIO = 25 * 1000 * 1000  # what OpenAI's transcription endpoint accepts
MAX_SPEECH_INPUT = 4096  # characters OpenAI's speech endpoint accepts; a longer reply is spoken in part


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


class Speaker:
    """Spoken replies: ``reply_done`` (the reply streamer's ``on_reply_done``) queues, on the session's FIFO so the
    stream never waits, the synthesis of a complete reply and sends the audio as an ``ai_response`` with
    ``file_url``. A failed synthesis is logged; the text reply stands on its own."""

    def __init__(self, files: FileService, engine, queues, model: str, voice: str):
        self.files, self.engine, self.queues, self.model, self.voice = files, engine, queues, model, voice

    def reply_done(self, sid: str, text: str, model_id: str) -> None:
        self.queues.submit(sid, lambda: self.speak(sid, text, model_id))

    def speak(self, sid: str, text: str, model_id: str = "") -> None:
        try:
            audio = self.engine.speak(text[:MAX_SPEECH_INPUT], model=self.model, voice=self.voice)
            self.files.publish_ai_file(sid, audio, "reply.mp3", "audio/mpeg", model_id=model_id)
        except Exception as exc:  # noqa: BLE001  (a spoken reply is a bonus; its failure must not look like one)
            log.warning("reply not spoken: %s", exc, extra={"session_id": sid})


def _audio_config(settings, key: str, wanted: str):
    """The openai-type provider named by setting ``key``. Raises SettingsError when it names none."""
    config = next((p for p in settings.providers if p.id == wanted), None)
    if config is None or config.type != "openai":
        configured = ", ".join(f"{p.id} ({p.type})" for p in settings.providers) or "none"
        raise SettingsError(
            f"{key} {wanted!r} must be the id of a configured openai-type LLM provider (configured: {configured})"
        )
    return config


def build_transcriber(settings, files: FileService) -> Transcriber | None:
    """The transcriber for TRANSCRIPTION_PROVIDER, or None when it is empty. Raises SettingsError when it names
    no openai-type provider."""
    if not settings.transcription_provider:
        return None
    config = _audio_config(settings, "TRANSCRIPTION_PROVIDER", settings.transcription_provider)
    from chatbox.integrations.openai_transcribe import OpenAIAudio

    return Transcriber(files, OpenAIAudio(config, settings.transcription_model))


def build_speaker(settings, files: FileService, queues) -> Speaker | None:
    """The speaker for TTS_PROVIDER, or None when it is empty. Raises SettingsError when it names no openai-type
    provider."""
    if not settings.tts_provider:
        return None
    config = _audio_config(settings, "TTS_PROVIDER", settings.tts_provider)
    from chatbox.integrations.openai_transcribe import OpenAIAudio

    return Speaker(
        files, OpenAIAudio(config, settings.transcription_model), queues, settings.tts_model, settings.tts_voice
    )
