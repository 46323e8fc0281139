"""Every validation rule of the Go protocol, through a real socket: the error frame each bad frame produces."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from chatbox.chat.protocol import parse, session_name, validate

FUTURE = (datetime.now(timezone.utc) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

# (frame sent, error code, error message): the client sees only the Go message, never the internal detail.
INVALID = [
    ("not json", "INVALID_FORMAT", "Invalid message format"),
    ("[1, 2]", "INVALID_FORMAT", "Invalid message format"),
    ({"type": "user_message", "content": 5}, "INVALID_FORMAT", "Invalid message format"),
    ({"type": "user_message", "content": "x", "metadata": {"size": 12}}, "INVALID_FORMAT", "Invalid message format"),
    ({"type": "user_message", "content": "x", "timestamp": "yesterday"}, "INVALID_FORMAT", "Invalid message format"),
    ({"type": "user_message", "content": "x", "timestamp": 1700000000}, "INVALID_FORMAT", "Invalid message format"),
    ({"content": "no type"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "ping"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "user_message", "content": "x", "sender": "robot"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "user_message", "content": "x", "timestamp": FUTURE}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "user_message"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "user_message", "content": "   "}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "ai_response"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "file_upload", "file_id": "f1"}, "INVALID_FORMAT", "Message validation failed"),
    (
        {"type": "voice_message", "file_url": "https://example.com/a.webm"},
        "INVALID_FORMAT",
        "Message validation failed",
    ),
    ({"type": "error"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "error", "error": {"code": "X"}}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "model_select"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "admin_join"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "admin_leave", "sender": "user"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "help_request", "sender": "ai"}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "user_message", "content": "x", "session_id": "s" * 129}, "INVALID_FORMAT", "Message validation failed"),
    ({"type": "user_message", "content": "é" * 5001}, "INVALID_FORMAT", "Message validation failed"),
    (
        {"type": "file_upload", "file_id": "f" * 256, "file_url": "https://example.com/x"},
        "INVALID_FORMAT",
        "Message validation failed",
    ),
    (
        {"type": "file_upload", "file_id": "f", "file_url": "https://example.com/" + "x" * 2048},
        "INVALID_FORMAT",
        "Message validation failed",
    ),
    ({"type": "model_select", "model_id": "m" * 101}, "INVALID_FORMAT", "Message validation failed"),
    (
        {"type": "user_message", "content": "x", "metadata": {"k": "v" * 1001}},
        "INVALID_FORMAT",
        "Message validation failed",
    ),
    # Handler-level checks.
    ({"type": "model_select", "model_id": "gpt-4"}, "INVALID_FORMAT", "Invalid model ID: gpt-4"),
    ({"type": "typing_indicator"}, "INVALID_FORMAT", "Invalid message format: unknown message type typing_indicator"),
    ({"type": "loading"}, "INVALID_FORMAT", "Invalid message format: unknown message type loading"),
    ({"type": "help_request"}, "NOT_FOUND", "Session not found"),
    (
        {"type": "file_upload", "file_id": "f", "file_url": "http://example.com/a.png"},
        "INVALID_FORMAT",
        "Invalid file URL",
    ),
    (
        {"type": "file_upload", "file_id": "f", "file_url": "https://127.0.0.1/a.png"},
        "INVALID_FORMAT",
        "Invalid file URL",
    ),
    (
        {"type": "file_upload", "file_id": "f", "file_url": "https://10.1.2.3/a.png"},
        "INVALID_FORMAT",
        "Invalid file URL",
    ),
    (
        {"type": "voice_message", "file_id": "f", "file_url": "https://[::1]/a.webm"},
        "INVALID_FORMAT",
        "Invalid file URL",
    ),
    ({"type": "admin_join", "sender": "admin"}, "UNAUTHORIZED", "You do not have permission to access this session"),
    (
        {"type": "user_message", "content": "hi", "sender": "admin"},
        "UNAUTHORIZED",
        "You do not have permission to access this session",
    ),
]


@pytest.mark.parametrize("sent,code,message", INVALID, ids=[str(i) for i in range(len(INVALID))])
def test_each_invalid_frame_gets_its_error_frame_and_the_socket_stays_open(connect, sent, code, message):
    client = connect("alice")
    client.ws.send(sent if isinstance(sent, str) else json.dumps(sent))
    frame = client.recv()
    assert frame["type"] == "error"
    assert frame["sender"] == "ai"
    assert frame["error"] == {"code": code, "message": message, "recoverable": True}
    # The socket survives: a valid message still gets an answer.
    client.send(type="user_message", content="still there?")
    assert "still there?" in "".join(f.get("content", "") for f in client.reply())


def test_sanitising_strips_nul_and_whitespace_and_fills_defaults():
    frame = parse(json.dumps({"type": " user_message ", "content": "  hi\x00 there  ", "metadata": {" k ": " v\x00"}}))
    validate(frame)
    assert (frame.type, frame.content, frame.sender, frame.metadata) == ("user_message", "hi there", "user", {"k": "v"})
    assert frame.timestamp is not None


def test_fractional_timestamps_from_javascript_are_accepted():
    frame = parse(json.dumps({"type": "user_message", "content": "x", "timestamp": "2026-03-05T10:00:01.120Z"}))
    validate(frame)
    assert frame.timestamp.year == 2026


NAMES = [
    ("", "New Chat"),
    ("   ", "New Chat"),
    ("Hello.", "Hello."),
    ("Hello. How are you?", "Hello."),
    ("What is this? Tell me", "What is this?"),
    ("Wow! Great", "Wow!"),
    ("first line. still\nsecond line", "first line. still"),
    ("no punctuation at all", "no punctuation at all"),
    ("a" * 60, "a" * 47 + "..."),
    ("word " * 20, "word word word word word word word word word..."),
]


@pytest.mark.parametrize("text,name", NAMES)
def test_session_naming_rule(text, name):
    assert session_name(text) == name
