"""Many pods acting as one: two app instances that talk only through a real Redis (and share one database)."""

import time

import gevent
import pytest
import redis
from conftest import text_of

from chatbox.auth import Identity
from chatbox.integrations.llm import DemoProvider, Turn
from chatbox.models import Session
from chatbox.settings import ProviderConfig


@pytest.fixture
def pods(make_server, redis_url):
    redis.Redis.from_url(redis_url).flushall()
    return [make_server(redis_url=redis_url, demo_chunk_delay=0.03, reconnect_timeout=30) for _ in range(2)]


ADMIN = Identity("root", ("admin",), "Ada Admin")


def test_an_admin_on_one_pod_watches_a_user_on_another(pods, connect):
    pod_a, pod_b = pods
    user = connect("alice", target=pod_a)
    user.send(type="user_message", content="first")
    sid = user.reply()[-1]["session_id"]
    admin = connect("root", roles=("admin",), target=pod_b, session_id=sid)
    assert admin.greeting["session_id"] == sid
    user.send(type="user_message", content="are you watching?")
    watched = admin.reply()
    assert watched[0]["type"] == "user_message" and watched[0]["content"] == "are you watching?"
    assert text_of(watched[1:]) == DemoProvider.reply_for([Turn("user", "first"), Turn("user", "are you watching?")])


def test_takeover_from_another_pod_cancels_the_reply_mid_stream_and_routes_both_ways(pods, connect):
    pod_a, pod_b = pods
    user = connect("alice", target=pod_a)
    user.send(type="user_message", content="please write a lot")
    sid = user.recv_until(lambda f: f.get("chunk") == 3)[-1]["session_id"]
    admin = connect("root", roles=("admin",), name="Ada Admin", target=pod_b, session_id=sid)
    pod_b.services.takeover.start(sid, ADMIN)
    rest = user.recv_until(lambda f: f["type"] == "admin_join")
    done = next(f for f in rest if f.get("metadata", {}).get("done") == "true")
    assert done["metadata"]["interrupted"] == "true"
    assert rest[-1]["metadata"] == {"admin_id": "root", "admin_name": "Ada Admin"}
    admin.send(type="user_message", sender="admin", content="Hi, I'm here.")
    from_admin = user.recv_until(lambda f: f.get("sender") == "admin" and f["type"] == "ai_response")[-1]
    assert from_admin["content"] == "Hi, I'm here." and from_admin["metadata"]["admin_name"] == "Ada Admin"
    user.send(type="user_message", content="thanks, my order is late")
    seen = admin.recv_until(lambda f: f["type"] == "user_message")[-1]
    assert seen["content"] == "thanks, my order is late"
    assert user.quiet(0.5) == [] and admin.quiet(0.1) == []  # the AI stays silent
    pod_b.services.takeover.end(sid, ADMIN)
    assert user.recv()["type"] == "admin_leave"
    user.send(type="user_message", content="back to the bot")
    assert "back to the bot" in text_of(user.reply())
    session = Session.objects.get(id=sid)
    assert session.admin_assisted and session.assisting_admin_name == "Ada Admin" and session.takeover_by is None


def test_resume_on_another_pod_mid_stream_misses_nothing(pods, connect):
    pod_a, pod_b = pods
    user = connect("alice", target=pod_a)
    user.send(type="user_message", content="stream across pods")
    sid = user.recv_until(lambda f: f.get("chunk") == 5)[-1]["session_id"]
    user.close()
    resumed = connect("alice", target=pod_b, session_id=sid, last_seq=1)
    frames = resumed.reply()
    partial, live = frames[0], [f for f in frames[1:] if f["type"] == "ai_response"]
    assert partial["metadata"] == {"streaming": "true", "done": "false"}
    assert partial["content"] + text_of(live) == DemoProvider.reply_for([Turn("user", "stream across pods")])


def test_rolling_restart_finishes_the_reply_then_closes_with_1012_and_the_client_resumes_elsewhere(pods, connect):
    pod_a, pod_b = pods
    user = connect("alice", target=pod_a)
    user.send(type="user_message", content="restart during this")
    frames = user.recv_until(lambda f: f.get("chunk") == 2)
    sid = frames[-1]["session_id"]
    seen = max(f.get("seq", 0) for f in frames)
    gevent.spawn(pod_a.services.lifecycle.shutdown, 10)
    gevent.sleep(0.05)
    assert pod_a.services.lifecycle.draining
    received = frames + user.recv_until(lambda f: f.get("metadata", {}).get("done") == "true")
    opcode, data = user.ws.recv_data(control_frame=True)
    assert opcode == 8 and int.from_bytes(data[:2], "big") == 1012
    seen = max(f.get("seq", 0) for f in received)
    resumed = connect("alice", target=pod_b, session_id=sid, last_seq=seen)
    assert resumed.quiet(0.4) == []  # nothing doubled
    assert text_of(received[1:]) == DemoProvider.reply_for([Turn("user", "restart during this")])


def test_limits_are_cluster_wide(make_server, redis_url, connect):
    redis.Redis.from_url(redis_url).flushall()
    pod_a, pod_b = (make_server(redis_url=redis_url, rate_limit=2, max_connections_per_user=2) for _ in range(2))
    on_a = connect("alice", target=pod_a)
    on_b = connect("alice", target=pod_b)
    from conftest import token

    from chat.test_connect import handshake_status

    assert handshake_status(pod_a.ws_url + f"?token={token('alice')}")[0] == 429
    on_a.send(type="user_message", content="one")
    on_a.reply()
    on_b.reply()  # the other device sees the reply too
    on_b.send(type="user_message", content="two")
    on_b.reply()
    on_a.send(type="user_message", content="three")
    refusal = on_a.recv_until(lambda f: f["type"] == "error")[-1]
    assert refusal["error"]["code"] == "TOO_MANY_REQUESTS"


def test_a_lost_redis_subscription_makes_clients_resume_instead_of_missing_events(pods, connect, redis_url):
    pod_a, _ = pods
    user = connect("alice", target=pod_a)
    user.send(type="user_message", content="before the blip")
    sid = user.reply()[-1]["session_id"]
    held = pod_a.services.sessions.get(sid)
    killed = redis.Redis.from_url(redis_url).client_kill_filter(_type="pubsub")
    assert killed >= 1
    opcode, data = user.ws.recv_data(control_frame=True)
    assert opcode == 8 and int.from_bytes(data[:2], "big") == 1012
    assert pod_a.services.sessions.get(sid) is not held  # what the missed events changed is read again
    resumed = connect("alice", target=pod_a, session_id=sid, last_seq=2)
    resumed.send(type="user_message", content="after the blip")
    assert "after the blip" in text_of(resumed.reply())


# --- each pod's copy of a session stays current, whichever pod changed it ----------------------------------------


def hot(client, content="warm up") -> str:
    """Exchange one message, so the socket's pod holds the session in memory; return the session id."""
    client.send(type="user_message", content=content)
    return client.reply()[-1]["session_id"]


def test_a_takeover_and_hand_back_from_another_pod_reach_a_hot_binding(pods, connect):
    pod_a, pod_b = pods
    user = connect("alice", target=pod_a)
    sid = hot(user)
    admin = connect("root", roles=("admin",), target=pod_b, session_id=sid)
    pod_b.services.takeover.start(sid, ADMIN)
    user.recv_until(lambda f: f["type"] == "admin_join")
    user.send(type="user_message", content="is anyone there?")
    assert admin.recv_until(lambda f: f["type"] == "user_message")[-1]["content"] == "is anyone there?"
    assert user.quiet(0.5) == []  # pod A knows an admin holds the session: no AI reply
    pod_b.services.takeover.end(sid, ADMIN)
    user.recv_until(lambda f: f["type"] == "admin_leave")
    user.send(type="user_message", content="hello again")
    assert "hello again" in text_of(user.reply())


def test_an_end_on_another_pod_starts_a_new_session_for_the_next_message(pods, connect):
    pod_a, pod_b = pods
    user = connect("alice", target=pod_a)
    sid = hot(user)
    assert pod_b.services.chat.end_session(sid)
    user.send(type="user_message", content="after the end")
    frames = user.reply()
    assert frames[-1]["session_id"] != sid
    assert [m.content for m in Session.objects.get(id=sid).messages][-1] != "after the end"


def test_an_end_by_the_reaper_on_another_pod_reaches_a_pod_that_holds_the_session(make_server, redis_url, connect):
    redis.Redis.from_url(redis_url).flushall()
    pod_a, pod_b = (make_server(redis_url=redis_url, reconnect_timeout=0.3, demo_chunk_delay=0) for _ in range(2))
    user = connect("alice", target=pod_a)
    sid = hot(user)
    user.close()
    for _ in range(100):  # pod A forgets the state when it sees the close: take it after that, or it is orphaned
        if not pod_a.services.hub.local(sid):
            break
        gevent.sleep(0.02)
    gevent.sleep(0.05)
    held = pod_a.services.sessions.get(sid)  # as while a reply is still running on pod A
    deadline = time.monotonic() + 10
    while Session.objects.get(id=sid).end is None and time.monotonic() < deadline:
        pod_b.services.lifecycle.reap()
        gevent.sleep(0.1)
    assert held.end is not None  # learnt from pod B's event, not read again
    again = connect("alice", target=pod_a, session_id=sid)
    assert again.greeting.get("session_id", "") == ""  # an ended session is not resumed


@pytest.fixture
def two_model_pods(make_server, redis_url):
    redis.Redis.from_url(redis_url).flushall()
    models = [ProviderConfig("alpha", "Alpha", "demo"), ProviderConfig("beta", "Beta", "demo")]
    return [make_server(redis_url=redis_url, providers=models, demo_chunk_delay=0) for _ in range(2)]


def test_a_model_change_from_a_second_device_on_the_other_pod_is_used_for_the_next_reply(two_model_pods, connect):
    pod_a, pod_b = two_model_pods
    laptop = connect("alice", target=pod_a)
    hot(laptop)
    phone = connect("alice", target=pod_b)
    phone.send(type="model_select", model_id="beta")
    assert phone.recv_until(lambda f: f["type"] == "connection_status")[-1]["model_id"] == "beta"
    laptop.send(type="user_message", content="which model?")
    assert {f["model_id"] for f in laptop.reply() if f["type"] == "ai_response"} == {"beta"}


def test_messages_posted_on_another_pod_are_in_the_history_the_model_sees(pods, connect):
    pod_a, pod_b = pods
    laptop = connect("alice", target=pod_a)
    hot(laptop, "zero")
    phone = connect("alice", target=pod_b)
    phone.send(type="user_message", content="one")
    phone.reply()
    laptop.reply()
    laptop.send(type="user_message", content="two")
    assert "I can see 2 earlier messages from you" in text_of(laptop.reply())


def test_seq_numbers_stay_unique_and_ordered_with_writers_on_two_pods(two_model_pods, connect):
    pod_a, pod_b = two_model_pods
    laptop = connect("alice", target=pod_a)
    sid = hot(laptop)
    phone = connect("alice", target=pod_b)
    for n in range(12):
        laptop.send(type="user_message", content=f"a{n}")
        phone.send(type="user_message", content=f"b{n}")
    deadline = time.monotonic() + 30
    while len(Session._get_collection().find_one({"_id": sid})["msgs"]) < 50 and time.monotonic() < deadline:
        gevent.sleep(0.1)
    stored = Session._get_collection().find_one({"_id": sid})
    seqs = [m["seq"] for m in stored["msgs"]]
    assert len(seqs) == 50 and len(set(seqs)) == 50 and stored["lastSeq"] == max(seqs) == 50
    by_content = {m["content"]: m["seq"] for m in Session.objects.get(id=sid).messages if m.sender == "user"}
    for device in "ab":
        sent = [by_content[f"{device}{n}"] for n in range(12)]
        assert sent == sorted(sent)  # each device's messages keep their order
