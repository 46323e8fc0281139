"""A conversation over real sockets: the Go streaming sequence, order, several devices, limits, help, models."""

import re

import gevent
from conftest import text_of

from chatbox.integrations.llm import DemoProvider, Turn
from chatbox.models import Session
from chatbox.settings import ProviderConfig

FRAME_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_a_reply_streams_in_the_go_sequence(connect):
    client = connect("alice")
    client.send(type="user_message", content="Hello.", timestamp="2026-01-01T00:00:00.120Z")
    frames = client.reply()
    status, loading, *chunks, done = frames
    sid = status["session_id"]
    assert status["type"] == "connection_status" and len(sid) == 32 and status["user_id"] == "alice"
    assert loading == {
        "type": "loading",
        "session_id": sid,
        "sender": "ai",
        "timestamp": loading["timestamp"],
        "seq": 2,
        "message_id": loading["message_id"],
    }
    assert chunks and all(
        c["type"] == "ai_response"
        and c["sender"] == "ai"
        and c["model_id"] == "demo"
        and c["metadata"] == {"streaming": "true", "done": "false"}
        and c["seq"] == 2
        for c in chunks
    )
    assert [c["chunk"] for c in chunks] == list(range(1, len(chunks) + 1))
    assert done["metadata"] == {"streaming": "true", "done": "true"} and "content" not in done
    assert all(FRAME_TIME.match(f["timestamp"]) for f in frames)
    expected = DemoProvider.reply_for([Turn("user", "Hello.")])
    assert text_of(chunks) == expected
    stored = Session.objects.get(id=sid)
    assert stored.name == "Hello."
    assert [(m.seq, m.sender) for m in stored.messages] == [(1, "user"), (2, "ai")]
    assert stored.messages[1].usage["estimated"] is True and stored.total_tokens == stored.messages[1].usage["total"]
    assert stored.response_count == 1 and stored.max_response_ms >= 0 and stored.last_activity is not None


def test_twenty_rapid_messages_are_answered_in_order(connect):
    client = connect("alice")
    for number in range(20):
        client.send(type="user_message", content=f"question {number}")
    answered = []
    for _ in range(20):
        reply = client.reply(timeout=30)
        answered.append(re.search(r'You said: "(question \d+)"', text_of(reply)).group(1))
    assert answered == [f"question {n}" for n in range(20)]
    session = Session.objects.get(user_id="alice")
    contents = [(m.seq, m.sender) for m in sorted(session.messages, key=lambda m: m.seq)]
    assert [seq for seq, _ in contents] == list(range(1, 41))
    # Each reply's seq follows its question: user, ai, user, ai...
    senders = [s for _, s in contents]
    assert senders == ["user", "ai"] * 20


def test_the_ai_sees_the_conversation_so_far(connect):
    client = connect("alice")
    client.send(type="user_message", content="one")
    client.reply()
    client.send(type="user_message", content="two")
    assert "I can see 1 earlier message from you" in text_of(client.reply())


def test_two_devices_of_one_user_both_receive_everything(connect):
    phone = connect("alice")
    phone.send(type="user_message", content="start")
    sid = phone.reply()[-1]["session_id"]
    laptop = connect("alice")
    assert laptop.greeting["session_id"] == sid
    phone.send(type="user_message", content="from the phone")
    seen_on_laptop = laptop.reply()
    assert seen_on_laptop[0]["type"] == "user_message" and seen_on_laptop[0]["content"] == "from the phone"
    assert seen_on_laptop[0]["seq"] == 3
    on_phone = phone.reply()
    assert text_of(on_phone) == text_of(seen_on_laptop[1:])
    assert not any(f["type"] == "user_message" for f in on_phone)  # the sender drew its own message


def test_client_msg_id_gets_the_sender_its_own_echo_with_seq(connect):
    client = connect("alice")
    client.send(type="user_message", content="hi", metadata={"client_msg_id": "c-1"})
    frames = client.reply()
    echo = next(f for f in frames if f["type"] == "user_message")
    assert echo["metadata"] == {"client_msg_id": "c-1"} and echo["seq"] == 1 and echo["content"] == "hi"


def test_rate_limit_answers_too_many_requests_with_retry_after(make_server, connect):
    server = make_server(rate_limit=3)
    client = connect("alice", target=server)
    for number in range(3):
        client.send(type="user_message", content=f"m{number}")
    client.send(type="user_message", content="one too many")
    refusal = client.recv_until(lambda f: f["type"] == "error")[-1]
    assert refusal["error"]["code"] == "TOO_MANY_REQUESTS"
    assert refusal["error"]["message"] == "Too many requests, please slow down"
    assert 0 < refusal["error"]["retry_after"] <= 60_000
    other = connect("bob", target=server)
    other.send(type="user_message", content="I am not limited")
    assert "I am not limited" in text_of(other.reply())


def test_model_select_confirms_with_a_real_timestamp_and_is_used(make_server, connect):
    providers = [
        ProviderConfig(id="first", name="First", type="demo"),
        ProviderConfig(id="second", name="Second", type="demo"),
    ]
    server = make_server(providers=providers)
    client = connect("alice", target=server)
    assert client.greeting["models"] == [{"id": "first", "name": "First"}, {"id": "second", "name": "Second"}]
    assert client.greeting["model_id"] == "first"
    client.send(type="model_select", model_id="second")
    frames = client.recv_until(lambda f: f.get("content", "").startswith("Model changed"))
    confirmation = frames[-1]
    assert confirmation["content"] == "Model changed to second" and confirmation["sender"] == "ai"
    assert confirmation["timestamp"] != "0001-01-01T00:00:00Z"
    client.send(type="user_message", content="which model?")
    assert {f["model_id"] for f in client.reply() if f["type"] == "ai_response"} == {"second"}
    assert Session.objects.get(user_id="alice").model_id == "second"


def test_help_request_is_acknowledged_and_persisted_once(connect):
    client = connect("alice")
    client.send(type="user_message", content="I need a person")
    sid = client.reply()[-1]["session_id"]
    client.send(type="help_request")
    ack = client.recv()
    assert ack["type"] == "connection_status" and ack["session_id"] == sid
    assert ack["content"] == "Help request sent. An administrator will join your session shortly."
    first_time = Session.objects.get(id=sid).help_time
    client.send(type="help_request")
    client.recv()
    session = Session.objects.get(id=sid)
    assert session.help_requested is True and session.help_time == first_time


def test_two_users_stream_at_the_same_time(make_server, connect):
    server = make_server(demo_chunk_delay=0.02)
    alice, bob = connect("alice", target=server), connect("bob", target=server)
    alice.send(type="user_message", content="alice here")
    bob.send(type="user_message", content="bob here")
    gevent.sleep(0.2)
    # Both replies are in flight at once: neither waits for the other to finish.
    assert len(server.services.replies.running) == 2
    assert "alice here" in text_of(alice.reply()) and "bob here" in text_of(bob.reply())


def test_two_devices_starting_at_once_share_one_session(connect):
    phone, laptop = connect("alice"), connect("alice")
    phone.send(type="user_message", content="from the phone")
    laptop.send(type="user_message", content="from the laptop")
    phone_sid = phone.recv_until(lambda f: f.get("session_id"))[-1]["session_id"]
    laptop_sid = laptop.recv_until(lambda f: f.get("session_id"))[-1]["session_id"]
    assert phone_sid == laptop_sid
    assert Session.objects(user_id="alice").count() == 1


def test_a_message_resent_with_the_same_client_msg_id_is_stored_once(connect):
    client = connect("alice")
    client.send(type="user_message", content="only once", metadata={"client_msg_id": "c-7"})
    first = client.reply()
    echo = next(f for f in first if f["type"] == "user_message")
    # The page did not see the echo (a drop) and sends it again after reconnecting.
    again = connect("alice", session_id=echo["session_id"])
    again.send(type="user_message", content="only once", metadata={"client_msg_id": "c-7"})
    repeat = again.recv()
    assert (repeat["type"], repeat["seq"], repeat["message_id"]) == ("user_message", echo["seq"], echo["message_id"])
    assert again.quiet(0.5) == [] and client.quiet(0.1) == []  # no second reply, nothing new for other devices
    session = Session.objects.get(user_id="alice")
    assert [m.sender for m in session.messages] == ["user", "ai"]
