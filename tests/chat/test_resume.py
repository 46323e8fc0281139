"""Reconnecting: last_seq replay, mid-stream resume exactly once, RECONNECT_TIMEOUT, and "new chat" ids."""

import gevent
from conftest import text_of

from chatbox.integrations.llm import DemoProvider, Turn
from chatbox.models import Session


def chat(client, text):
    client.send(type="user_message", content=text)
    return client.reply()


def test_last_seq_replays_what_the_client_missed_each_once(connect):
    client = connect("alice")
    sid = chat(client, "first")[-1]["session_id"]
    chat(client, "second")
    client.close()
    again = connect("alice", session_id=sid, last_seq=1)
    assert again.greeting["session_id"] == sid
    replayed = again.quiet(0.5)
    assert [(f["type"], f["seq"]) for f in replayed] == [("ai_response", 2), ("user_message", 3), ("ai_response", 4)]
    first_reply, question, second_reply = replayed
    assert first_reply["content"] == DemoProvider.reply_for([Turn("user", "first")])
    assert first_reply["metadata"] == {"done": "true"} and first_reply["sender"] == "ai"
    assert question["content"] == "second" and question["sender"] == "user"
    assert second_reply["message_id"] and second_reply["model_id"] == "demo"


def test_last_seq_zero_replays_the_whole_history(connect):
    client = connect("alice")
    sid = chat(client, "hello")[-1]["session_id"]
    replayed = connect("alice", session_id=sid, last_seq=0).quiet(0.5)
    assert [f["seq"] for f in replayed] == [1, 2]


def test_resume_mid_stream_gets_the_text_so_far_then_the_live_rest_exactly_once(make_server, connect):
    server = make_server(demo_chunk_delay=0.03)
    client = connect("alice", target=server)
    client.send(type="user_message", content="tell me a long story")
    frames = client.recv_until(lambda f: f.get("chunk") == 8)
    sid, reply_seq = frames[-1]["session_id"], frames[-1]["seq"]
    client.close()
    gevent.sleep(0.1)
    resumed = connect("alice", target=server, session_id=sid, last_seq=1)
    rest = resumed.reply()
    partial = rest[0]
    assert partial["type"] == "ai_response" and partial["seq"] == reply_seq
    assert partial["metadata"] == {"streaming": "true", "done": "false"} and partial["chunk"] >= 8
    chunks_after = [f for f in rest[1:-1] if f["type"] == "ai_response"]
    assert all(f["chunk"] > partial["chunk"] for f in chunks_after)
    whole = partial["content"] + text_of(chunks_after)
    assert whole == DemoProvider.reply_for([Turn("user", "tell me a long story")])


def test_resume_after_the_reply_finished_gets_it_whole(make_server, connect):
    server = make_server(demo_chunk_delay=0.01)
    client = connect("alice", target=server)
    client.send(type="user_message", content="quick")
    sid = client.recv_until(lambda f: f.get("chunk") == 2)[-1]["session_id"]
    client.close()
    gevent.sleep(1.0)  # the reply finishes while nobody is connected (within the orphan grace)
    resumed = connect("alice", target=server, session_id=sid, last_seq=1)
    frames = resumed.quiet(0.5)
    assert [(f["type"], f["metadata"]) for f in frames] == [("ai_response", {"done": "true"})]
    assert frames[0]["content"] == DemoProvider.reply_for([Turn("user", "quick")])


def test_a_reply_nobody_comes_back_for_is_cancelled_and_kept_as_interrupted(make_server, connect):
    server = make_server(demo_chunk_delay=0.05, reply_orphan_grace=0.2)
    client = connect("alice", target=server)
    client.send(type="user_message", content="long one")
    sid = client.recv_until(lambda f: f.get("chunk") == 3)[-1]["session_id"]
    client.close()
    for _ in range(100):
        gevent.sleep(0.05)
        if not server.services.replies.running:
            break
    assert not server.services.replies.running
    reply = Session.objects.get(id=sid).messages[-1]
    full = DemoProvider.reply_for([Turn("user", "long one")])
    assert reply.sender == "ai" and reply.interrupted is True
    assert full.startswith(server.services.store.keyring.decrypt(reply.content)) and len(reply.content) < len(full)


def test_reconnecting_within_the_timeout_resumes_the_session(make_server, connect):
    server = make_server(reconnect_timeout=1.5)
    client = connect("alice", target=server)
    sid = chat(client, "hello")[-1]["session_id"]
    client.close()
    gevent.sleep(0.5)
    again = connect("alice", target=server, session_id=sid)
    assert again.greeting["session_id"] == sid
    assert Session.objects.get(id=sid).end is None


def test_a_session_without_sockets_longer_than_the_timeout_ends(make_server, connect):
    server = make_server(reconnect_timeout=0.6)
    client = connect("alice", target=server)
    sid = chat(client, "hello")[-1]["session_id"]
    client.close()
    for _ in range(60):
        gevent.sleep(0.1)
        if Session.objects.get(id=sid).end is not None:
            break
    session = Session.objects.get(id=sid)
    assert session.end is not None and session.duration >= 0
    again = connect("alice", target=server, session_id=sid)
    assert "session_id" not in again.greeting  # a new chat starts with the next message
    new_sid = chat(again, "hello again")[-1]["session_id"]
    assert new_sid != sid


def test_a_connected_session_does_not_end_while_idle(make_server, connect):
    server = make_server(reconnect_timeout=0.4)
    client = connect("alice", target=server)
    sid = chat(client, "hello")[-1]["session_id"]
    gevent.sleep(1.5)
    assert Session.objects.get(id=sid).end is None


def test_an_unknown_client_id_means_new_chat(connect):
    client = connect("alice")
    old = chat(client, "hello")[-1]["session_id"]
    client.close()
    fresh = connect("alice", session_id="7f1c0000-browser-generated-uuid")
    assert "session_id" not in fresh.greeting
    assert Session.objects.get(id=old).end is not None  # one active session per user
    frames = chat(fresh, "new topic")
    assert frames[0]["type"] == "connection_status" and frames[0]["session_id"] not in (old, "")
    assert Session.objects(user_id="alice", end=None).count() == 1


def test_someone_elses_session_id_is_treated_as_unknown(connect):
    alice = connect("alice")
    alice_sid = chat(alice, "private")[-1]["session_id"]
    mallory = connect("mallory", session_id=alice_sid, last_seq=0)
    assert "session_id" not in mallory.greeting
    assert mallory.quiet(0.3) == []  # nothing of Alice's replayed
    own = chat(mallory, "mine")
    assert own[0]["session_id"] != alice_sid
    assert Session.objects.get(id=alice_sid).end is None  # Alice's session untouched
