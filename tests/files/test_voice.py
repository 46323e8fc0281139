"""Voice notes transcribed through a fake OpenAI-compatible /audio/transcriptions endpoint; the transcript is kept
(encrypted) with the message, shown with it, and is what the model answers."""

import pytest
from conftest import text_of, token

from chatbox import create_app
from chatbox.models import Session
from chatbox.settings import ProviderConfig, Settings, SettingsError

from .helpers import WEBM, upload

KEY = "Vb7Qm2Xc9Lp4Rt6Yw1Zs8Nk3Hd5Jf0Ga"  # 32 bytes: message content and transcripts are encrypted


@pytest.fixture
def voice_server(make_server, fake_audio, tmp_path):
    providers = [
        ProviderConfig(id="demo", name="Demo", type="demo"),
        ProviderConfig(
            id="whisper",
            name="Whisper",
            type="openai",
            endpoint=fake_audio.endpoint,
            api_key="sk-audio-test-key",
            model="gpt-4o-mini",
        ),
    ]
    return make_server(
        upload_dir=str(tmp_path / "uploads"),
        providers=providers,
        transcription_provider="whisper",
        transcription_model="whisper-large-v3",
        encryption_key=KEY,
    )


def test_transcript_is_stored_shown_and_answered(voice_server, fake_audio, connect):
    fake_audio.text = "What is the weather in Paris tomorrow?"
    phone = connect("alice", target=voice_server)
    answer = upload(voice_server, WEBM, "note.webm", mime="audio/webm").json()
    phone.send(
        type="voice_message", file_id=answer["file_id"], file_url=answer["file_url"], metadata={"client_msg_id": "v-1"}
    )
    frames = phone.reply()
    shown, update = [f for f in frames if f["type"] == "voice_message"]
    # Shown at once without words, then the same message again (same seq and id) with its transcript.
    assert "transcript" not in shown["metadata"]
    assert (update["seq"], update["message_id"]) == (shown["seq"], shown["message_id"])
    assert update["metadata"]["transcript"] == "What is the weather in Paris tomorrow?"
    assert update["file_url"] == shown["file_url"] == answer["file_url"]
    # The demo model quotes the user's words: the transcript was the user's turn.
    assert 'You said: "What is the weather in Paris tomorrow?"' in text_of(frames)
    assert frames[-1]["seq"] == shown["seq"] + 1
    assert not any(f["type"] == "notification" for f in frames)

    (request,) = fake_audio.requests
    assert request["path"] == "/v1/audio/transcriptions"
    assert request["headers"]["authorization"] == "Bearer sk-audio-test-key"
    assert WEBM in request["body"] and b"whisper-large-v3" in request["body"]

    stored = Session.objects.get(id=shown["session_id"]).messages[0]
    assert stored.transcript and "Paris" not in stored.transcript  # encrypted at rest
    messages = voice_server.services.store.messages(Session.objects.get(id=shown["session_id"]))
    assert messages[0].transcript == "What is the weather in Paris tomorrow?"


def test_transcription_waits_in_the_session_queue_not_in_the_socket(voice_server, fake_audio, connect):
    """While the note is being transcribed the socket keeps answering, and a message typed meanwhile is answered
    after the note, each reply seeing exactly what came before it."""
    import threading

    fake_audio.text, fake_audio.gate = "Book a table for two", threading.Event()
    phone = connect("alice", target=voice_server)
    answer = upload(voice_server, WEBM, "note.webm", mime="audio/webm").json()
    phone.send(
        type="voice_message", file_id=answer["file_id"], file_url=answer["file_url"], metadata={"client_msg_id": "v-4"}
    )
    note = phone.recv_until(lambda f: f["type"] == "voice_message")[-1]
    phone.send(type="model_select", model_id="demo")
    assert phone.recv_until(lambda f: f["type"] == "connection_status")[-1]["content"] == "Model changed to demo"
    phone.send(type="user_message", content="at eight", metadata={"client_msg_id": "t-1"})
    typed = phone.recv_until(lambda f: f["type"] == "user_message")[-1]
    assert len(fake_audio.requests) == 1 and not fake_audio.gate.is_set()  # still transcribing all along
    fake_audio.gate.set()

    first = phone.reply(timeout=30)
    second = phone.reply(timeout=30)
    assert [f["metadata"]["transcript"] for f in first if f["type"] == "voice_message"] == ["Book a table for two"]
    assert first[-1]["seq"] == note["seq"] + 1 < typed["seq"] < second[-1]["seq"]
    assert 'You said: "Book a table for two"' in text_of(first)
    assert "I can see 0 earlier messages" in text_of(first)  # the typed words came after: not in its history
    assert 'You said: "at eight"' in text_of(second) and "I can see 1 earlier message " in text_of(second)


def test_transcript_is_in_the_session_history(voice_server, fake_audio, connect):
    import requests

    fake_audio.text = "Remind me to call Bob"
    phone = connect("alice", target=voice_server)
    answer = upload(voice_server, WEBM, "note.webm", mime="audio/webm").json()
    phone.send(type="voice_message", file_id=answer["file_id"], file_url=answer["file_url"])
    sid = phone.reply()[0]["session_id"]
    history = requests.get(
        f"{voice_server.url}/sessions/{sid}", headers={"Authorization": f"Bearer {token()}"}, timeout=30
    ).json()["messages"]
    assert history[0]["metadata"]["transcript"] == "Remind me to call Bob"


def test_failed_transcription_keeps_the_note_and_tells_the_user(voice_server, fake_audio, connect):
    fake_audio.status = 500
    phone = connect("alice", target=voice_server)
    answer = upload(voice_server, WEBM, "note.webm", mime="audio/webm").json()
    phone.send(
        type="voice_message", file_id=answer["file_id"], file_url=answer["file_url"], metadata={"client_msg_id": "v-2"}
    )
    frames = phone.recv_until(lambda f: f["type"] == "notification")
    assert [f["type"] for f in frames] == ["connection_status", "voice_message", "notification"]
    assert "metadata" not in frames[1] or "transcript" not in frames[1]["metadata"]
    assert phone.quiet(0.5) == []
    assert len(Session.objects.get(id=frames[1]["session_id"]).messages) == 1


def test_external_voice_urls_are_not_fetched_for_transcription(voice_server, fake_audio, connect):
    phone = connect("alice", target=voice_server)
    phone.send(
        type="voice_message",
        file_id="ext",
        file_url="https://93.184.216.34/note.webm",
        metadata={"client_msg_id": "v-3"},
    )
    frames = phone.recv_until(lambda f: f["type"] == "notification")
    assert frames[-1]["content"].startswith("Your voice message was saved")
    assert fake_audio.requests == []


@pytest.mark.parametrize(
    "setting,provider_id,providers",
    [
        ("transcription_provider", "missing", []),
        ("transcription_provider", "demo", [ProviderConfig(id="demo", name="Demo", type="demo")]),
        ("tts_provider", "missing", []),
        ("tts_provider", "demo", [ProviderConfig(id="demo", name="Demo", type="demo")]),
    ],
)
def test_audio_providers_must_be_configured_openai_providers(setting, provider_id, providers, tmp_path):
    settings = Settings.for_tests(providers=providers, upload_dir=str(tmp_path), **{setting: provider_id})
    with pytest.raises(SettingsError) as error:
        create_app(settings)
    assert str(error.value).startswith(
        f"{setting.upper()} '{provider_id}' must be the id of a configured openai-type LLM provider (configured: "
    )
