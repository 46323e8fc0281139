"""Voice notes transcribed through a fake OpenAI-compatible /audio/transcriptions endpoint; the transcript is kept
(encrypted) with the message, shown with it, and is what the model answers."""

import json

import pytest
from conftest import text_of, token

from chatbox import create_app
from chatbox.models import Session
from chatbox.settings import ProviderConfig, Settings, SettingsError

from .helpers import WEBM, upload

KEY = "Vb7Qm2Xc9Lp4Rt6Yw1Zs8Nk3Hd5Jf0Ga"  # 32 bytes: message content and transcripts are encrypted


@pytest.fixture
def voice_server(make_server, fake_audio, tmp_path):
    providers = [ProviderConfig(id="demo", name="Demo", type="demo"),
                 ProviderConfig(id="whisper", name="Whisper", type="openai", endpoint=fake_audio.endpoint,
                                api_key="sk-audio-test-key", model="gpt-4o-mini")]
    return make_server(upload_dir=str(tmp_path / "uploads"), providers=providers, transcription_provider="whisper",
                       transcription_model="whisper-large-v3", encryption_key=KEY)


def test_transcript_is_stored_shown_and_answered(voice_server, fake_audio, connect):
    fake_audio.text = "What is the weather in Paris tomorrow?"
    phone = connect("alice", target=voice_server)
    answer = upload(voice_server, WEBM, "note.webm", mime="audio/webm").json()
    phone.send(type="voice_message", file_id=answer["file_id"], file_url=answer["file_url"],
               metadata={"client_msg_id": "v-1"})
    frames = phone.reply()
    shown = next(f for f in frames if f["type"] == "voice_message")
    assert shown["metadata"]["transcript"] == "What is the weather in Paris tomorrow?"
    assert shown["file_url"] == answer["file_url"]
    # The demo model quotes the user's words: the transcript was the user's turn.
    assert 'You said: "What is the weather in Paris tomorrow?"' in text_of(frames)
    assert not any(f["type"] == "notification" for f in frames)

    (request,) = fake_audio.requests
    assert request["path"] == "/v1/audio/transcriptions"
    assert request["headers"]["authorization"] == "Bearer sk-audio-test-key"
    assert WEBM in request["body"] and b"whisper-large-v3" in request["body"]

    stored = Session.objects.get(id=shown["session_id"]).messages[0]
    assert stored.transcript and "Paris" not in stored.transcript  # encrypted at rest
    messages = voice_server.services.store.messages(Session.objects.get(id=shown["session_id"]))
    assert messages[0].transcript == "What is the weather in Paris tomorrow?"


def test_transcript_is_in_the_session_history(voice_server, fake_audio, connect):
    import requests

    fake_audio.text = "Remind me to call Bob"
    phone = connect("alice", target=voice_server)
    answer = upload(voice_server, WEBM, "note.webm", mime="audio/webm").json()
    phone.send(type="voice_message", file_id=answer["file_id"], file_url=answer["file_url"])
    sid = phone.reply()[0]["session_id"]
    history = requests.get(f"{voice_server.url}/sessions/{sid}", headers={"Authorization": f"Bearer {token()}"},
                           timeout=30).json()["messages"]
    assert history[0]["metadata"]["transcript"] == "Remind me to call Bob"


def test_failed_transcription_keeps_the_note_and_tells_the_user(voice_server, fake_audio, connect):
    fake_audio.status = 500
    phone = connect("alice", target=voice_server)
    answer = upload(voice_server, WEBM, "note.webm", mime="audio/webm").json()
    phone.send(type="voice_message", file_id=answer["file_id"], file_url=answer["file_url"],
               metadata={"client_msg_id": "v-2"})
    frames = phone.recv_until(lambda f: f["type"] == "notification")
    assert [f["type"] for f in frames] == ["connection_status", "voice_message", "notification"]
    assert "metadata" not in frames[1] or "transcript" not in frames[1]["metadata"]
    assert phone.quiet(0.5) == []
    assert len(Session.objects.get(id=frames[1]["session_id"]).messages) == 1


def test_external_voice_urls_are_not_fetched_for_transcription(voice_server, fake_audio, connect):
    phone = connect("alice", target=voice_server)
    phone.send(type="voice_message", file_id="ext", file_url="https://93.184.216.34/note.webm",
               metadata={"client_msg_id": "v-3"})
    frames = phone.recv_until(lambda f: f["type"] == "notification")
    assert frames[-1]["content"].startswith("Your voice message was saved")
    assert fake_audio.requests == []


@pytest.mark.parametrize("provider_id,providers", [
    ("missing", []),
    ("demo", [ProviderConfig(id="demo", name="Demo", type="demo")]),
])
def test_transcription_provider_must_be_a_configured_openai_provider(provider_id, providers, tmp_path):
    settings = Settings.for_tests(transcription_provider=provider_id, providers=providers,
                                  upload_dir=str(tmp_path))
    with pytest.raises(SettingsError) as error:
        create_app(settings)
    assert str(error.value).startswith(f"TRANSCRIPTION_PROVIDER '{provider_id}' must be the id of a configured "
                                       "openai-type LLM provider (configured: ")


def test_spoken_reply_is_synthesised_stored_as_audio_and_sent(voice_server, fake_audio, connect):
    """Text to speech through the same provider, published with publish_ai_file (not triggered automatically)."""
    from chatbox.integrations.openai_transcribe import OpenAIAudio

    phone = connect("alice", target=voice_server)
    phone.send(type="user_message", content="read it to me")
    sid = phone.reply()[0]["session_id"]
    config = next(p for p in voice_server.services.settings.providers if p.id == "whisper")
    audio = OpenAIAudio(config, "whisper-large-v3").speak("Here is your answer", model="tts-1", voice="alloy")
    assert audio == fake_audio.speech
    request = fake_audio.requests[-1]
    assert request["path"] == "/v1/audio/speech"
    assert json.loads(request["body"]) == {"model": "tts-1", "input": "Here is your answer", "voice": "alloy",
                                           "response_format": "mp3"}
    voice_server.services.extras["files"].publish_ai_file(sid, audio, "reply.mp3", "audio/mpeg",
                                                          content="Here is your answer")
    frame = phone.recv()
    assert (frame["type"], frame["metadata"]["mime_type"], frame["content"]) == (
        "ai_response", "audio/mpeg", "Here is your answer")
