"""Spoken replies (TTS_PROVIDER): each complete AI reply is synthesised through a fake OpenAI-compatible
/audio/speech endpoint, stored as an audio file and sent after the reply as an ``ai_response`` with ``file_url``."""

import json

import pytest
import requests
from conftest import admin_token, text_of, token

from chatbox.models import Session
from chatbox.settings import ProviderConfig


@pytest.fixture
def speaking_server(make_server, fake_audio, tmp_path):
    def factory(**overrides):
        providers = [
            ProviderConfig(id="demo", name="Demo", type="demo"),
            ProviderConfig(
                id="voice",
                name="Voice",
                type="openai",
                endpoint=fake_audio.endpoint,
                api_key="sk-audio-test-key",
                model="gpt-4o-mini",
            ),
        ]
        settings = {
            "upload_dir": str(tmp_path / "uploads"),
            "providers": providers,
            "tts_provider": "voice",
            "tts_model": "tts-1-hd",
            "tts_voice": "nova",
            **overrides,
        }
        return make_server(**settings)

    return factory


def download(server, file_url, auth):
    origin = server.url.removesuffix(server.services.settings.prefix)
    return requests.get(origin + file_url, headers={"Authorization": auth}, timeout=30)


def test_a_complete_reply_is_spoken_stored_and_sent_after_it(speaking_server, fake_audio, connect):
    server = speaking_server()
    phone = connect("alice", target=server)
    phone.send(type="user_message", content="read it to me")
    reply = phone.reply()
    spoken = phone.recv(timeout=30)
    assert (spoken["type"], spoken["sender"], spoken.get("content", "")) == ("ai_response", "ai", "")
    assert spoken["metadata"] == {
        "done": "true",
        "filename": "reply.mp3",
        "mime_type": "audio/mpeg",
        "size": str(len(fake_audio.speech)),
    }
    assert spoken["seq"] == reply[-1]["seq"] + 1 and spoken["model_id"] == "demo"
    (request,) = fake_audio.requests
    assert request["path"] == "/v1/audio/speech"
    assert request["headers"]["authorization"] == "Bearer sk-audio-test-key"
    assert json.loads(request["body"]) == {
        "model": "tts-1-hd",
        "input": text_of(reply),
        "voice": "nova",
        "response_format": "mp3",
    }
    fetched = download(server, spoken["file_url"], f"Bearer {token('alice')}")
    assert (fetched.status_code, fetched.content) == (200, fake_audio.speech)
    assert fetched.headers["Content-Type"].startswith("audio/mpeg")
    messages = Session.objects.get(id=spoken["session_id"]).messages
    assert [(m.sender, bool(m.file_id)) for m in messages] == [("user", False), ("ai", False), ("ai", True)]
    assert phone.quiet() == []


def test_a_failed_synthesis_leaves_the_text_reply_alone(speaking_server, fake_audio, connect):
    fake_audio.status = 500
    server = speaking_server()
    phone = connect("alice", target=server)
    phone.send(type="user_message", content="read it to me")
    assert "read it to me" in text_of(phone.reply())
    phone.send(type="user_message", content="and this")
    frames = phone.reply()  # the session queue moved on
    assert "and this" in text_of(frames) and not any(f.get("file_url") for f in frames)
    assert phone.quiet() == []
    assert fake_audio.requests and all(r["path"] == "/v1/audio/speech" for r in fake_audio.requests)


def test_without_tts_provider_nothing_is_spoken(speaking_server, fake_audio, connect):
    phone = connect("alice", target=speaking_server(tts_provider=""))
    phone.send(type="user_message", content="read it to me")
    phone.reply()
    assert phone.quiet(0.5) == [] and fake_audio.requests == []


def test_an_interrupted_reply_is_not_spoken(speaking_server, fake_audio, connect):
    server = speaking_server(demo_chunk_delay=0.2)
    phone = connect("alice", target=server)
    phone.send(type="user_message", content="tell me a long story")
    first = phone.recv_until(lambda f: f["type"] == "ai_response" and f.get("content"), timeout=30)[-1]
    taken = requests.post(
        f"{server.url}/admin/takeover/{first['session_id']}",
        headers={"Authorization": f"Bearer {admin_token()}"},
        timeout=30,
    )
    assert taken.status_code == 200, taken.text
    done = phone.recv_until(lambda f: f["type"] == "ai_response" and f["metadata"].get("done") == "true", timeout=30)[
        -1
    ]
    assert done["metadata"].get("interrupted") == "true"
    assert not any(f.get("file_url") for f in phone.quiet(1.0))
    assert fake_audio.requests == []
