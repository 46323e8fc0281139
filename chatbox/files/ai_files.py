"""Files a provider produced (``Delta.file``), kept like uploads and sent after the reply's text.

``AiFiles`` is the reply streamer's ``files`` collaborator. A file given by URL is fetched only when the URL passes
the rule for provider endpoints (https, or http to an internal host) — the provider chose it, the user did not —
and never past UPLOAD_MAX_SIZE; then it goes through the same content checks as an upload. A file we will not keep
is logged and the session gets a notice saying why, instead of a broken attachment.
"""

from __future__ import annotations

import logging

from chatbox.chat.protocol import Frame, now
from chatbox.config_checks import check_endpoint
from chatbox.errors import ApiError, SettingsError
from chatbox.files.service import FileService
from chatbox.files.sniff import Refused, check_name, human_size
from chatbox.integrations.httpx_fetch import FetchError, TooLarge, fetch
from chatbox.integrations.llm import AiFile

log = logging.getLogger("chatbox.files")


def _allowed(url: str) -> None:
    try:
        check_endpoint("AI file", url)
    except SettingsError as exc:
        raise FetchError(str(exc)) from None


class AiFiles:
    def __init__(self, files: FileService, settings, fetch_timeout: float = 30.0):
        self.files, self.settings, self.fetch_timeout = files, settings, fetch_timeout

    def publish(self, sid: str, ai_file: AiFile, model_id: str = "") -> Frame | None:
        """Keep one provider file for the session and send it as an ``ai_response`` with ``file_url``; None (and a
        notice to the session) when it cannot be fetched or fails the upload checks."""
        try:
            data, declared = self._bytes(ai_file)
            name = _safe_name(ai_file.name)
            return self.files.publish_ai_file(sid, data, name, ai_file.mime or declared, model_id=model_id)
        except TooLarge:
            why = f"it is larger than the upload limit of {human_size(self.settings.upload_max_size)}"
        except FetchError as exc:
            log.warning("AI file not fetched: %s", exc, extra={"session_id": sid})
            why = "it could not be downloaded"
        except ApiError as exc:  # Refused by the content checks, or storage unavailable
            why = _clause(exc.message)
        log.info("AI file not kept: %s", why, extra={"session_id": sid})
        self.files.hub.broadcast(
            sid,
            Frame(
                "notification",
                session_id=sid,
                sender="system",
                timestamp=now(),
                content=f"The assistant sent a file that was not kept: {why}.",
            ),
        )
        return None

    def _bytes(self, ai_file: AiFile) -> tuple[bytes, str]:
        limit = self.settings.upload_max_size
        if ai_file.data:
            if len(ai_file.data) > limit:
                raise TooLarge(f"{len(ai_file.data)} bytes")
            return ai_file.data, ""
        if not ai_file.url:
            raise FetchError("the provider gave neither bytes nor a URL")
        data, content_type = fetch(ai_file.url, limit, _allowed, self.fetch_timeout)
        return data, content_type.split(";")[0].strip()


def _safe_name(name: str) -> str:
    """The provider's name when it is one we would accept from a user, else a neutral one."""
    try:
        return check_name(name)
    except Refused:
        return "ai-file"


def _clause(sentence: str) -> str:
    """A sentence made the end of another: "Windows programs …." → "windows programs …" (acronyms kept)."""
    sentence = sentence.rstrip(".")
    return sentence[:1].lower() + sentence[1:] if sentence[1:2].islower() else sentence
