"""A database written by the Go service opens in ours: documents built field for field in the Go format."""

import base64
import json
import os
import urllib.request
from datetime import datetime

from bson.int64 import Int64
from conftest import token
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatbox.crypto import KeyRing
from chatbox.models import Session

KEY = "0123456789abcdef0123456789abcdef"  # 32 characters used as raw bytes, as `openssl rand -hex 16` gives


def go_encrypt(text: str, key: str = KEY) -> str:
    """What the Go service stored: base64(nonce(12) || ciphertext || tag(16)), AES-256-GCM, no AAD."""
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key.encode()).encrypt(nonce, text.encode(), None)).decode()


def go_session(sid="a" * 32, uid="alice", ended=False) -> dict:
    start = datetime(2026, 3, 5, 10, 0, 0, 123000)
    doc = {
        "_id": sid,
        "uid": uid,
        "nm": "Where is my order?",
        "modelId": "demo",
        "msgs": [
            {
                "content": go_encrypt("Where is my order? It is late."),
                "ts": datetime(2026, 3, 5, 10, 0, 1),
                "sender": "user",
            },
            {
                "content": "Legacy plaintext answer from before encryption.",
                "ts": datetime(2026, 3, 5, 10, 0, 2),
                "sender": "ai",
            },
            {
                "content": go_encrypt("here is the receipt"),
                "ts": datetime(2026, 3, 5, 10, 0, 3),
                "sender": "user",
                "fileId": "f-1",
                "fileUrl": "https://files.example.com/r.pdf",
                "meta": {"filename": "r.pdf"},
            },
        ],
        "ts": start,
        "dur": Int64(0),
        "adminAssisted": False,
        "helpRequested": False,
        "totalTokens": 0,
        "lastActivity": datetime(2026, 3, 5, 10, 0, 3),
        "maxRespTime": Int64(0),
        "avgRespTime": Int64(0),
        "_ts": start,
        "_mt": start,
    }
    if ended:
        doc.update(endTs=datetime(2026, 3, 5, 10, 5, 0), dur=Int64(300), shareToken="b" * 32)
    Session._get_collection().insert_one(doc)
    return doc


def get(url, bearer=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"} if bearer else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_go_session_reads_through_the_rest_api(make_server):
    server = make_server(encryption_key=KEY)
    go_session()
    body = get(server.url + "/sessions/" + "a" * 32, token("alice"))
    assert body["session_id"] == "a" * 32 and body["name"] == "Where is my order?" and body["model_id"] == "demo"
    assert [m["content"] for m in body["messages"]] == [
        "Where is my order? It is late.",
        "Legacy plaintext answer from before encryption.",
        "here is the receipt",
    ]
    assert body["messages"][0] == {
        "content": "Where is my order? It is late.",
        "timestamp": "2026-03-05T10:00:01Z",
        "sender": "user",
        "seq": 1,
    }
    receipt = body["messages"][2]
    assert receipt["file_id"] == "f-1" and receipt["file_url"] == "https://files.example.com/r.pdf"
    assert receipt["metadata"] == {"filename": "r.pdf"}
    listing = get(server.url + "/sessions", token("alice"))
    summary = listing["sessions"][0]
    assert summary["id"] == summary["session_id"] == "a" * 32
    assert summary["start_time"] == "2026-03-05T10:00:00.123Z" and summary["message_count"] == 3
    assert summary["last_activity"] == "2026-03-05T10:00:03Z" and summary["is_active"] is True
    assert "end_time" not in summary and "share_token" not in summary


def test_go_session_resumes_over_the_socket_and_continues_its_numbering(make_server, connect):
    server = make_server(encryption_key=KEY)
    go_session()
    client = connect("alice", target=server, session_id="a" * 32, last_seq=0)
    assert client.greeting["session_id"] == "a" * 32
    replayed = client.quiet(0.5)
    assert [(f["seq"], f["type"]) for f in replayed] == [(1, "user_message"), (2, "ai_response"), (3, "file_upload")]
    client.send(type="user_message", content="any news?")
    frames = client.reply()
    assert {f["seq"] for f in frames if f["type"] == "ai_response"} == {5}
    stored = Session._get_collection().find_one({"_id": "a" * 32})
    new_user, new_ai = stored["msgs"][-2], stored["msgs"][-1]
    assert (new_user["seq"], new_user["sender"], new_ai["seq"]) == (4, "user", 5)
    # Our writes use the same encryption format: the Go service (and this key alone) can read them.
    nonce_ct = base64.b64decode(new_user["content"])
    assert AESGCM(KEY.encode()).decrypt(nonce_ct[:12], nonce_ct[12:], None) == b"any news?"
    assert stored["uid"] == "alice" and stored["lastActivity"] > datetime(2026, 3, 5)


def test_ended_go_session_is_shared_and_listed_with_its_end(make_server):
    server = make_server(encryption_key=KEY)
    go_session(ended=True)
    shared = get(server.url + "/shared/" + "b" * 32)
    assert shared["session_id"] == "a" * 32 and len(shared["messages"]) == 3 and "model_id" not in shared
    summary = get(server.url + "/sessions", token("alice"))["sessions"][0]
    assert summary["end_time"] == "2026-03-05T10:05:00Z" and summary["duration"] == 299  # whole seconds, as Go
    assert summary["is_active"] is False and summary["share_token"] == "b" * 32


def test_key_rotation_reads_old_content_and_writes_with_the_new_key():
    old, new = KEY, "fedcba9876543210fedcba9876543210"
    ring = KeyRing(new, [old])
    legacy = go_encrypt("written under the old key", old)
    assert ring.decrypt(legacy) == "written under the old key"
    fresh = ring.encrypt("written now")
    assert KeyRing(new).decrypt(fresh) == "written now" and KeyRing(old).decrypt(fresh) == fresh
    assert ring.decrypt("plain legacy text") == "plain legacy text"
    assert ring.decrypt("aGVsbG8=") == "aGVsbG8="  # valid base64 that is not ciphertext stays as stored
