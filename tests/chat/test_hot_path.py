"""The hot path's store traffic, counted: a steady exchange on a bound socket reads nothing and writes two messages.

Counts come from chatbox.store_calls (every collection call, or every command sent to a real MongoDB), so a later
change that adds a read to the exchange fails here. Long reconnect timeouts keep the reaper out of the window.
"""

import time

import gevent
import pytest
from conftest import text_of

from chatbox.auth import Identity
from chatbox.models import Session
from chatbox.store_calls import calls

ADMIN = Identity("root", ("admin",), "Ada Admin")


@pytest.fixture
def quiet_server(make_server):
    return make_server(reconnect_timeout=600)


def exchange(client, content, **metadata) -> list[dict]:
    client.send(type="user_message", content=content, metadata=metadata)
    return client.reply()


def counted(action) -> tuple[int, int]:
    before = calls.snapshot()
    action()
    return calls.since(before)


def test_a_steady_exchange_reads_nothing_and_writes_each_message_once(quiet_server, connect):
    user = connect("alice", target=quiet_server)
    sid = exchange(user, "first")[-1]["session_id"]  # starts the session: reads are allowed here
    assert counted(lambda: exchange(user, "second")) == (0, 2)
    assert counted(lambda: exchange(user, "third", client_msg_id="c-3")) == (0, 2)
    stored = Session._get_collection().find_one({"_id": sid})
    assert [m["sender"] for m in stored["msgs"]] == ["user", "ai"] * 3
    assert [m["seq"] for m in stored["msgs"]] == [1, 2, 3, 4, 5, 6] and stored["lastSeq"] == 6


def test_watchers_and_other_devices_add_no_store_call(quiet_server, connect):
    user = connect("alice", target=quiet_server)
    sid = exchange(user, "first")[-1]["session_id"]
    phone = connect("alice", target=quiet_server)
    admin = connect("root", roles=("admin",), target=quiet_server, session_id=sid)

    def steady():
        exchange(user, "second")
        phone.reply()
        admin.reply()

    assert counted(steady) == (0, 2)


def test_after_a_takeover_and_hand_back_the_exchange_is_still_read_free(quiet_server, connect):
    user = connect("alice", target=quiet_server)
    sid = exchange(user, "first")[-1]["session_id"]
    quiet_server.services.takeover.start(sid, ADMIN)
    quiet_server.services.takeover.end(sid, ADMIN)
    user.recv_until(lambda f: f["type"] == "admin_leave")
    assert counted(lambda: exchange(user, "second")) == (0, 2)


def test_a_resent_message_is_recognised_from_memory_and_stored_once(quiet_server, connect):
    user = connect("alice", target=quiet_server)
    exchange(user, "first", client_msg_id="c-1")
    before = calls.snapshot()
    user.send(type="user_message", content="first", metadata={"client_msg_id": "c-1"})
    echo = user.recv()
    assert echo["type"] == "user_message" and echo["seq"] == 1
    assert calls.since(before) == (1, 0)  # one read fetches the stored copy to echo; nothing is written
    assert user.quiet(0.3) == []


def test_the_model_sees_the_history_kept_in_memory(quiet_server, connect):
    user = connect("alice", target=quiet_server)
    for content in ("one", "two", "three"):
        reply = exchange(user, content)
    assert "I can see 2 earlier messages from you" in text_of(reply)


def test_a_fresh_binding_reads_the_session_once_then_runs_from_memory(quiet_server, connect):
    first = connect("alice", target=quiet_server)
    sid = exchange(first, "first")[-1]["session_id"]
    first.close()
    quiet_server.services.sessions.drop(sid)  # as on a pod that has never seen the session
    reads = counted(lambda: connect("alice", target=quiet_server))[0]
    assert reads >= 1
    again = connect("alice", target=quiet_server)
    assert counted(lambda: exchange(again, "second")) == (0, 2)


def test_every_store_call_is_exported_for_prometheus(quiet_server, connect, http_get):
    user = connect("alice", target=quiet_server)
    exchange(user, "first")
    text = http_get(quiet_server.url + "/metrics/prometheus")
    reads, writes = calls.snapshot()
    assert f'chatbox_store_calls_total{{kind="read"}} {float(reads)}' in text
    assert f'chatbox_store_calls_total{{kind="write"}} {float(writes)}' in text


@pytest.fixture
def http_get():
    import urllib.request

    def get(url):
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode()

    return get


def test_periodic_sweeps_are_counted_apart_from_the_request_path(make_server):
    make_server(reconnect_timeout=0.3)  # the reaper sweeps every 0.1 s
    gevent.sleep(0.5)  # startup's own work (index creation) is done
    before = (calls.snapshot(), calls.background_reads)
    deadline = time.monotonic() + 5
    while calls.background_reads == before[1] and time.monotonic() < deadline:
        gevent.sleep(0.05)
    assert calls.background_reads > before[1]
    assert calls.since(before[0]) == (0, 0)  # no request, no request-path call
