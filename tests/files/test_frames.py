"""File and voice frames over a real socket: our file ids accepted for their owner only, external https URLs
still under the SSRF rule, shown on every device once, kept with the session; files from the AI."""

import pytest
import requests
from conftest import token

from chatbox.files.models import FileRecord
from chatbox.files.sniff import Refused

from .helpers import PNG, WEBM, upload

VOICE_NOTICE = (
    "Your voice message was saved, but it cannot be understood yet (voice transcription is not "
    "available). Please type your message."
)


def start_chat(connect, user="alice"):
    """A socket with a session (one exchanged message) and its session id."""
    client = connect(user)
    client.send(type="user_message", content="hello")
    sid = client.reply()[0]["session_id"]
    return client, sid


def test_file_frame_reaches_every_device_once_and_is_stored(server, connect):
    phone, sid = start_chat(connect)
    laptop = connect("alice", session_id=sid)
    answer = upload(server, PNG, "cat.png", mime="image/png").json()
    phone.send(
        type="file_upload",
        file_id=answer["file_id"],
        file_url=answer["file_url"] + "?token=secret",
        content="my cat",
        metadata={"client_msg_id": "c-7"},
    )
    expected_meta = {"client_msg_id": "c-7", "filename": "cat.png", "mime_type": "image/png", "size": str(len(PNG))}
    for device in (phone, laptop):
        frame = device.recv()
        assert (frame["type"], frame["file_id"], frame["file_url"], frame["content"], frame["metadata"]) == (
            "file_upload",
            answer["file_id"],
            f"/chat/files/{answer['file_id']}",
            "my cat",
            expected_meta,
        )
        assert device.quiet() == []  # once each, and no AI reply to a plain file
    stored = requests.get(
        f"{server.url}/sessions/{sid}", headers={"Authorization": f"Bearer {token('alice')}"}, timeout=30
    ).json()["messages"][-1]
    # The token the client appended is not kept: the stored URL is the canonical one.
    assert (stored["file_id"], stored["file_url"]) == (answer["file_id"], f"/chat/files/{answer['file_id']}")


def test_without_client_msg_id_the_sender_gets_no_echo(server, connect):
    phone, sid = start_chat(connect)
    laptop = connect("alice", session_id=sid)
    answer = upload(server, PNG).json()
    phone.send(type="file_upload", file_id=answer["file_id"], file_url=answer["file_url"])
    assert laptop.recv()["type"] == "file_upload"
    assert phone.quiet() == []


def test_a_file_sent_in_a_session_is_readable_through_its_share_link(server, connect):
    phone, sid = start_chat(connect)
    answer = upload(server, PNG).json()  # uploaded without session_id: the message ties it to the session
    phone.send(
        type="file_upload", file_id=answer["file_id"], file_url=answer["file_url"], metadata={"client_msg_id": "x"}
    )
    phone.recv()
    share = server.services.store.share(sid)
    response = requests.get(server.url + answer["file_url"].removeprefix("/chat"), params={"share": share}, timeout=30)
    assert (response.status_code, response.content) == (200, PNG)


@pytest.mark.parametrize(
    "frame,message",
    [
        ({"type": "file_upload", "file_id": "{other}", "file_url": "/chat/files/{other}"}, "Invalid file URL"),
        ({"type": "file_upload", "file_id": "0" * 32, "file_url": "/chat/files/" + "0" * 32}, "Invalid file URL"),
        (
            {"type": "file_upload", "file_id": "{mine2}", "file_url": "/chat/files/{mine}"},
            "The file_id does not match the file URL",
        ),
        (
            {"type": "voice_message", "file_id": "{mine}", "file_url": "/chat/files/{mine}"},
            "A voice message must be an audio file",
        ),
        ({"type": "file_upload", "file_id": "f", "file_url": "/etc/passwd"}, "Invalid file URL"),
        ({"type": "file_upload", "file_id": "f", "file_url": "http://93.184.216.34/a.png"}, "Invalid file URL"),
        ({"type": "file_upload", "file_id": "f", "file_url": "https://192.168.1.5/a.png"}, "Invalid file URL"),
        (
            {"type": "file_upload", "file_id": "{mine}", "file_url": "https://127.0.0.1/chat/files/{mine}"},
            "Invalid file URL",
        ),
    ],
)
def test_file_frames_refused(server, connect, frame, message):
    ids = {
        "mine": upload(server, PNG).json()["file_id"],
        "mine2": upload(server, PNG).json()["file_id"],
        "other": upload(server, PNG, user="mallory").json()["file_id"],
    }
    client = connect("alice")
    client.send(**{k: v.format(**ids) for k, v in frame.items()})
    error = client.recv()
    assert (error["type"], error["error"]["code"], error["error"]["message"]) == ("error", "INVALID_FORMAT", message)
    assert client.quiet() == []


def test_external_https_url_is_still_accepted(connect):
    phone, sid = start_chat(connect)
    phone.send(
        type="file_upload", file_id="ext-1", file_url="https://93.184.216.34/a.png", metadata={"client_msg_id": "e"}
    )
    frame = phone.recv()
    assert (frame["type"], frame["file_url"], frame["session_id"]) == (
        "file_upload",
        "https://93.184.216.34/a.png",
        sid,
    )


def test_voice_note_without_transcription_is_kept_and_the_user_told(server, connect):
    phone, sid = start_chat(connect)
    laptop = connect("alice", session_id=sid)
    answer = upload(server, WEBM, "note.webm", mime="audio/webm").json()
    phone.send(type="voice_message", file_id=answer["file_id"], file_url=answer["file_url"])
    shown = laptop.recv()
    assert (shown["type"], shown["file_id"], shown["metadata"]["mime_type"]) == (
        "voice_message",
        answer["file_id"],
        "audio/webm",
    )
    notice = phone.recv()
    assert (notice["type"], notice["sender"], notice["content"]) == ("notification", "system", VOICE_NOTICE)
    assert phone.quiet(0.5) == [] and laptop.quiet() == []  # no AI reply to words nobody could hear
    messages = server.services.store.messages(server.services.store.get(sid))
    assert (messages[-1].file_id, messages[-1].meta["kind"], messages[-1].transcript) == (
        answer["file_id"],
        "voice",
        "",
    )


def test_ai_generated_file_is_stored_and_sent_with_its_url(server, connect):
    phone, sid = start_chat(connect)
    files = server.services.files
    frame = files.publish_ai_file(
        sid, PNG, "chart.png", "image/png", content="Here is your chart", model_id="demo"
    ).to_dict()
    received = phone.recv()
    assert received == frame
    assert (received["type"], received["sender"], received["content"], received["metadata"]["done"]) == (
        "ai_response",
        "ai",
        "Here is your chart",
        "true",
    )
    record = FileRecord.objects.get(id=received["file_id"])
    assert (record.owner, record.session, record.origin, record.mime) == ("alice", sid, "ai", "image/png")
    download = requests.get(
        server.url + received["file_url"].removeprefix("/chat"),
        headers={"Authorization": f"Bearer {token('alice')}"},
        timeout=30,
    )
    assert (download.status_code, download.content) == (200, PNG)
    # Resume replays it as one complete frame with the same file.
    again = connect("alice", session_id=sid, last_seq=received["seq"] - 1)
    replayed = again.recv()
    assert (replayed["file_url"], replayed["content"]) == (received["file_url"], "Here is your chart")


def test_ai_generated_file_gets_the_upload_checks(server, connect):
    _, sid = start_chat(connect)
    with pytest.raises(Refused) as refused:
        server.services.files.publish_ai_file(sid, b"MZ\x90\x00" + b"\x00" * 64, "tool.png")
    assert refused.value.code == "EXECUTABLE"
    assert FileRecord.objects.count() == 0
