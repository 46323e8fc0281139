"""Speech to text (and text to speech) through an OpenAI-compatible ``/audio`` API, with the ``openai`` SDK.

It reuses a configured openai-type provider's endpoint and key (``TRANSCRIPTION_PROVIDER``), so a self-hosted
Whisper server speaking the same API works as well as OpenAI itself.
"""

from __future__ import annotations

import openai

from chatbox.settings import ProviderConfig


class SpeechError(Exception):
    """The audio API failed; the text is for logs (truncated, never holds the key)."""


class OpenAIAudio:
    def __init__(self, config: ProviderConfig, model: str, timeout: float = 60.0):
        self.model = model
        # One retry: a voice note waits in the user's socket handler, so a long retry ladder helps nobody.
        self.client = openai.OpenAI(
            base_url=config.endpoint, api_key=config.api_key or "unset", max_retries=1, timeout=timeout
        )

    def transcribe(self, name: str, data: bytes, mime: str) -> str:
        """The spoken words of an audio file. Raises SpeechError."""
        try:
            result = self.client.audio.transcriptions.create(
                model=self.model, file=(name, data, mime), response_format="json"
            )
        except openai.OpenAIError as exc:
            raise SpeechError(f"transcription failed: {type(exc).__name__}: {str(exc)[:500]}") from None
        text = result if isinstance(result, str) else getattr(result, "text", "")
        return (text or "").strip()

    def speak(self, text: str, model: str, voice: str = "alloy") -> bytes:
        """MP3 audio of ``text`` (text to speech). Raises SpeechError."""
        try:
            response = self.client.audio.speech.create(model=model, voice=voice, input=text, response_format="mp3")
        except openai.OpenAIError as exc:
            raise SpeechError(f"speech synthesis failed: {type(exc).__name__}: {str(exc)[:500]}") from None
        return response.content
