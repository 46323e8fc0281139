"""A recorded voice note in Chromium: shown at once, its transcript added under the same audio when it arrives (no
second bubble), and the AI's spoken reply shown as a playable audio message."""

import io
import math
import struct
import wave

from files.helpers import FakeAudio

from chatbox.settings import ProviderConfig

from .browser_helpers import open_chat, screenshot, wait_reply_done


def tone_wav(seconds=0.5, rate=8000) -> bytes:
    """A real WAV file (a 440 Hz tone) the browser can decode, standing in for the synthesised speech."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate))) for n in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def test_the_transcript_appears_under_the_voice_note_and_the_spoken_reply_plays(make_server, open_page, tmp_path):
    fake = FakeAudio(text="Please book a table for two")
    fake.speech = tone_wav()
    try:
        providers = [
            ProviderConfig(id="demo", name="Demo", type="demo"),
            ProviderConfig(id="voice", name="Voice", type="openai", endpoint=fake.endpoint, api_key="sk-x"),
        ]
        server = make_server(
            upload_dir=str(tmp_path / "uploads"),
            providers=providers,
            transcription_provider="voice",
            tts_provider="voice",
        )
        page = open_chat(open_page(), server)
        page.click("#voice-btn")
        page.wait_for_function("() => document.getElementById('recording-time').textContent === '0:01'")
        page.click("#stop-recording-btn")
        page.wait_for_selector(".message.user .transcript")
        wait_reply_done(page)
        page.wait_for_selector(".message.ai audio[controls]")
        assert page.locator(".message.user").count() == 1
        assert page.locator(".message.user audio").count() == 1
        assert page.locator(".message.user .transcript").all_inner_texts() == ["“Please book a table for two”"]
        assert 'You said: "Please book a table for two"' in page.locator(".message.ai").first.inner_text()
        duration = page.wait_for_function(
            "() => { const a = document.querySelector('.message.ai audio'); return a.readyState >= 1 && a.duration; }"
        )
        assert duration.json_value()
        screenshot(page, "chat-voice-transcript")
    finally:
        fake.close()
