"""Hostile frames through a real socket: lone surrogates, odd metadata keys, deep nesting, binary frames and a
``?last_seq=`` that is not ASCII digits. None of them may reach the store or break the session for other sockets."""

import json
from urllib.parse import quote

import pytest
import websocket
from conftest import Client, token

from chatbox.models import Session

BAD_FORMAT = {"code": "INVALID_FORMAT", "message": "Invalid message format", "recoverable": True}

# Raw text as it travels (json.dumps escapes a lone surrogate as \ud800, which is valid UTF-8 on the wire).
HOSTILE = [
    ("surrogate-metadata-key", json.dumps({"type": "user_message", "content": "x", "metadata": {"\ud800": "v"}})),
    ("surrogate-metadata-value", json.dumps({"type": "user_message", "content": "x", "metadata": {"k": "\udfff"}})),
    ("surrogate-content", json.dumps({"type": "user_message", "content": "a\ud83d"})),
    ("surrogate-unknown-key", json.dumps({"type": "user_message", "content": "x", "\ud800": 1})),
    ("surrogate-in-models", json.dumps({"type": "user_message", "content": "x", "models": [{"id": "\ud800"}]})),
    ("metadata-key-with-space", json.dumps({"type": "user_message", "content": "x", "metadata": {"a b": "v"}})),
    ("metadata-key-too-long", json.dumps({"type": "user_message", "content": "x", "metadata": {"k" * 65: "v"}})),
    ("metadata-key-empty", json.dumps({"type": "user_message", "content": "x", "metadata": {"": "v"}})),
    ("metadata-key-markup", json.dumps({"type": "user_message", "content": "x", "metadata": {"<b>": "v"}})),
    ("nested-5-levels", json.dumps({"type": "user_message", "content": "x", "error": {"a": {"b": {"c": {}}}}})),
    ("nested-very-deep", '{"type":"user_message","content":"x","extra":' + "[" * 5000 + "]" * 5000 + "}"),
]


@pytest.mark.parametrize("raw", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_frame_is_refused_and_stored_nowhere(connect, raw):
    client = connect("alice")
    client.ws.send(raw)
    frame = client.recv()
    assert (frame["type"], frame["error"]) == ("error", BAD_FORMAT)
    assert Session.objects(user_id="alice").count() == 0
    client.send(type="user_message", content="still there?", metadata={"client_msg_id": "m-1"})
    assert "still there?" in "".join(f.get("content", "") for f in client.reply())


def test_plain_metadata_keys_and_three_levels_of_nesting_still_pass(connect):
    client = connect("alice")
    client.send(
        type="user_message",
        content="hello",
        metadata={"client_msg_id": "abc-1", "app.version": "2:1"},
        models=[{"id": "demo", "tags": ["a"]}],
    )
    mine = [f for f in client.reply() if f["type"] == "user_message"]
    assert mine[0]["metadata"]["app.version"] == "2:1"


def test_a_bad_key_does_not_drop_the_other_sockets_of_the_session(connect):
    first = connect("alice")
    first.send(type="user_message", content="hello")
    sid = first.reply()[0]["session_id"]
    second = connect("alice", session_id=sid)
    second.quiet()
    first.ws.send(json.dumps({"type": "user_message", "content": "x", "metadata": {"\ud800": "v"}}))
    assert first.recv()["error"] == BAD_FORMAT
    assert second.quiet() == []
    first.send(type="user_message", content="after")
    assert "after" in "".join(f.get("content", "") for f in second.reply())
    # A replay of the session (a reconnect from 0) still works: nothing unencodable was stored.
    third = connect("alice", session_id=sid, last_seq=0)
    assert [f["seq"] for f in third.recv_until(lambda f: f.get("seq") == 4)] == [1, 2, 3, 4]


def close_of(ws) -> tuple[int, str]:
    """Read until the close frame; return its code and reason."""
    ws.settimeout(10)
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(frame.data[:2], "big"), frame.data[2:].decode()


def test_binary_frame_closes_the_socket_with_1003_unread(connect):
    client = connect("alice")
    client.ws.send_binary(json.dumps({"type": "user_message", "content": "as bytes"}).encode())
    assert close_of(client.ws) == (1003, "Binary frames are not supported")
    assert Session.objects(user_id="alice").count() == 0


@pytest.mark.parametrize(
    "value", ["\u0661\u0662", "\u00b2", "-1", "1.5", "abc", "9" * 19, " 1", "0x10"], ids=lambda v: repr(v)
)
def test_last_seq_other_than_ascii_digits_is_a_clear_error(server, value):
    client = Client(f"{server.ws_url}?token={token('alice')}&last_seq={quote(value)}")
    frame = client.recv()
    assert frame["type"] == "error"
    assert frame["error"]["code"] == "INVALID_FORMAT"
    assert frame["error"]["message"] == "last_seq must be a whole number written with the digits 0-9"
    assert close_of(client.ws)[0] == 1008


@pytest.mark.parametrize("value", ["", "0", "000017", "9" * 18])
def test_last_seq_in_ascii_digits_is_accepted(server, value):
    client = Client(f"{server.ws_url}?token={token('alice')}&last_seq={value}")
    assert client.recv()["type"] == "connection_status"
    client.close()
