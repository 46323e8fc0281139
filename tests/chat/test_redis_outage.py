"""Issue 12, item 4: a Redis outage degrades each pod to local limits and fan-out; it does not take it down.

Each test runs its OWN redis-server (killed, restarted or paused with SIGSTOP here), never the shared one.
Liveness never touches Redis; readiness stays 200 and says "degraded"; the reply in progress finishes and is
stored; when Redis returns, sockets are closed with 1012 and clients resume with nothing lost; message numbers
stay unique across pods and across the outage.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import gevent
import pytest
import requests
import websocket
from conftest import Client, free_port, text_of, token

from chatbox.models import Session


class OwnRedis:
    """A redis-server on its own port that a test may kill, restart and pause."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                gevent.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.process.kill()
        self.process.wait(10)

    def pause(self):
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self):
        if self.process.poll() is None:
            self.resume()
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def own_redis():
    server = OwnRedis()
    yield server
    server.stop()


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        gevent.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def get(server, path, timeout=5, **headers):
    return requests.get(server.url + path, headers=headers, timeout=timeout)


def test_probes_answer_and_new_sockets_chat_while_redis_is_dead(make_server, own_redis):
    server = make_server(redis_url=own_redis.url, demo_chunk_delay=0)
    assert get(server, "/readyz").json()["checks"]["redis"] == {"status": "ready"}
    own_redis.kill()
    started = time.monotonic()
    health = get(server, "/healthz")
    assert health.status_code == 200 and time.monotonic() - started < 0.5  # liveness never asks Redis
    wait_for(lambda: server.services.bus.degraded, 3, "degraded mode")
    gevent.sleep(1.1)  # readiness checks are cached for a second
    ready = get(server, "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["degraded"] == ["redis"]
    assert ready.json()["checks"]["redis"]["status"] == "degraded"
    page = get(server, "/dashboard/status", Cookie=f"chatbox_admin={token('root', roles=('admin',))}")
    assert page.status_code == 200 and 'data-dependency="Redis"' in page.text and "local fan-out" in page.text
    client = Client(server.ws_url + f"?token={token('alice')}")  # a new socket: no 500
    client.recv()
    client.send(type="user_message", content="still there?")
    assert text_of(client.reply())
    for _ in range(3):  # limits still hold, locally
        client.send(type="user_message", content="again")
        client.reply()
    client.close()


def test_the_reply_in_progress_is_finished_and_stored_and_resume_after_return_loses_nothing(make_server, own_redis):
    server = make_server(redis_url=own_redis.url, demo_chunk_delay=0.05)
    client = Client(server.ws_url + f"?token={token('alice')}")
    client.recv()
    client.send(type="user_message", content="Tell me a long story please")
    frames = client.recv_until(lambda f: f.get("chunk") == 3)
    own_redis.kill()
    frames += client.reply(timeout=20)
    sid, reply_seq = frames[-1]["session_id"], frames[-1]["seq"]
    streamed = text_of([f for f in frames if f.get("chunk")])
    stored = Session._get_collection().find_one({"_id": sid})["msgs"]
    assert [m["seq"] for m in stored] == [1, 2] and stored[1]["content"] == streamed and streamed
    # While Redis is away, a second message is answered too.
    client.send(type="user_message", content="and another")
    assert text_of(client.reply(timeout=20))
    own_redis.start()
    # Back: the pod resubscribes and closes its sockets so every client resumes (events may have been missed).
    client.ws.settimeout(10)
    opcode, data = client.ws.recv_data(control_frame=True)
    while opcode != websocket.ABNF.OPCODE_CLOSE:
        opcode, data = client.ws.recv_data(control_frame=True)
    assert int.from_bytes(data[:2], "big") == 1012
    assert not server.services.bus.degraded
    again = Client(server.ws_url + f"?token={token('alice')}&last_seq={reply_seq - 1}")
    assert again.recv()["session_id"] == sid
    replayed = again.quiet(0.8)
    # The reply whole, then the exchange held during the outage (numbered from the store, past a margin).
    seqs = [f["seq"] for f in replayed]
    assert seqs[0] == 2 and replayed[0]["content"] == streamed and replayed[0]["metadata"]["done"] == "true"
    assert len(seqs) == 3 and seqs[1] > 2 and seqs[2] == seqs[1] + 1
    assert [f["type"] for f in replayed] == ["ai_response", "user_message", "ai_response"]
    again.send(type="user_message", content="all good?")  # and the bus carries the exchange again
    answer = again.reply()
    assert text_of(answer) and min(f["seq"] for f in answer) > seqs[2]
    again.close()


def test_a_paused_redis_is_noticed_within_two_seconds_and_a_message_is_still_answered(make_server, own_redis):
    server = make_server(redis_url=own_redis.url, demo_chunk_delay=0)
    client = Client(server.ws_url + f"?token={token('alice')}")
    client.recv()
    client.send(type="user_message", content="hello")
    client.reply()
    own_redis.pause()
    paused = time.monotonic()
    wait_for(lambda: server.services.bus.degraded, 5, "degraded mode")
    assert time.monotonic() - paused <= 2.0
    started = time.monotonic()
    client.send(type="user_message", content="are you there?")
    assert text_of(client.reply())
    assert time.monotonic() - started < 1.0  # no call waits on the paused Redis any more
    own_redis.resume()
    wait_for(lambda: not server.services.bus.degraded, 5, "return to Redis")
    client.close()


def numbering(store, sid):
    """``take(count=1, stored=True)``: allocate as the service does, storing the message it numbers (whose write
    records the allocation in ``lastSeq``), or only reserving it (a reply still streaming)."""

    def take(count=1, stored=True):
        last = store.next_seq(sid, count)
        if stored:
            store.append(sid, last, "user", "x", last_seq=last)
        return last

    return take


def test_two_pods_number_one_session_uniquely_across_a_pause_and_a_kill(make_server, own_redis):
    pod_a, pod_b = (make_server(redis_url=own_redis.url) for _ in range(2))
    session = pod_a.services.store.create("alice", "demo")
    a, b = numbering(pod_a.services.store, session.id), numbering(pod_b.services.store, session.id)
    numbers = [a(), b(count=2), a(stored=False)]
    reserved = numbers[-1]  # handed out by Redis for a reply not stored yet: nobody may reuse it
    own_redis.pause()
    wait_for(lambda: pod_a.services.bus.degraded and pod_b.services.bus.degraded, 5, "both pods degraded")
    during = [b(), a(count=2), b(stored=False)]
    assert min(during) > reserved
    numbers += during
    own_redis.resume()  # Redis kept its counter, which is now behind what the store handed out
    wait_for(lambda: not pod_a.services.bus.degraded and not pod_b.services.bus.degraded, 5, "return")
    numbers += [a(), b(), a(count=3), b(stored=False)]
    own_redis.kill()
    wait_for(lambda: pod_a.services.bus.degraded and pod_b.services.bus.degraded, 5, "both pods degraded")
    numbers += [b(), a()]
    own_redis.start()  # an empty Redis: counters are seeded again from the store
    wait_for(lambda: not pod_a.services.bus.degraded and not pod_b.services.bus.degraded, 5, "return")
    numbers += [a(), b()]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), str(numbers)


def test_a_pod_that_notices_the_return_late_never_repeats_a_number(make_server, own_redis, monkeypatch):
    pod_a, pod_b = (make_server(redis_url=own_redis.url) for _ in range(2))
    session = pod_a.services.store.create("alice", "demo")
    a, b = numbering(pod_a.services.store, session.id), numbering(pod_b.services.store, session.id)
    numbers = [a(), b()]
    own_redis.pause()
    wait_for(lambda: pod_a.services.bus.degraded and pod_b.services.bus.degraded, 5, "both pods degraded")
    numbers += [a(), b()]
    monkeypatch.setattr(pod_b.services.bus.primary, "ping", lambda: False)  # B has not seen Redis answer yet
    gevent.sleep(1.5)  # a ping already on its way fails against the paused Redis
    own_redis.resume()
    wait_for(lambda: not pod_a.services.bus.degraded, 5, "pod A back on Redis")
    assert pod_b.services.bus.degraded
    for _ in range(3):  # A numbers from Redis, B still from the store: both at once
        numbers += [a(stored=False), b(stored=False)]
    monkeypatch.undo()
    wait_for(lambda: not pod_b.services.bus.degraded, 5, "pod B back on Redis")
    numbers += [b(), a()]
    assert len(set(numbers)) == len(numbers), str(numbers)


def test_while_redis_is_away_devices_on_one_pod_share_the_stream_and_a_resume_gets_the_text_so_far(
    make_server, own_redis
):
    server = make_server(redis_url=own_redis.url, demo_chunk_delay=0.05)
    phone = Client(server.ws_url + f"?token={token('alice')}")
    phone.recv()
    phone.send(type="user_message", content="hello")
    sid = phone.reply()[-1]["session_id"]
    laptop = Client(server.ws_url + f"?token={token('alice')}&session_id={sid}")
    laptop.recv()
    own_redis.kill()
    wait_for(lambda: server.services.bus.degraded, 3, "degraded mode")
    phone.send(type="user_message", content="Tell me a long story please")
    shown = laptop.recv_until(lambda f: f.get("chunk") == 4)  # local fan-out: the other device sees it live
    assert shown[0]["type"] == "user_message" and shown[0]["content"] == "Tell me a long story please"
    user_seq = shown[0]["seq"]
    late = Client(server.ws_url + f"?token={token('alice')}&last_seq={user_seq}")
    late.recv()
    resumed = late.reply(timeout=20)
    whole = text_of(phone.reply(timeout=20)[1:])
    assert resumed[0]["metadata"].get("streaming") == "true" and len(resumed[0]["content"]) > 10  # the text so far
    assert text_of(resumed) == whole  # then the live rest: nothing lost, nothing twice
    for client in (phone, laptop, late):
        client.close()


def test_a_reply_streaming_across_a_pause_resumes_whole_on_another_pod(make_server, own_redis):
    pod_a, pod_b = (make_server(redis_url=own_redis.url, demo_chunk_delay=0.15) for _ in range(2))
    client = Client(pod_a.ws_url + f"?token={token('alice')}")
    client.recv()
    client.send(type="user_message", content=" ".join(f"word{i}" for i in range(30)))
    reply_seq = client.recv_until(lambda f: f.get("chunk") == 3)[-1]["seq"]
    own_redis.pause()
    wait_for(lambda: pod_a.services.bus.degraded, 5, "degraded mode")
    gevent.sleep(1.5)  # about ten chunks are streamed while Redis is away: only pod A holds them
    own_redis.resume()  # the reply is still streaming: its text so far must reach Redis again
    client.ws.settimeout(10)
    opcode, data = client.ws.recv_data(control_frame=True)
    while opcode != websocket.ABNF.OPCODE_CLOSE:
        opcode, data = client.ws.recv_data(control_frame=True)
    assert int.from_bytes(data[:2], "big") == 1012
    # Pod B has its own round of 1012 closes when it sees Redis back: resume there after it has had it.
    wait_for(lambda: not pod_b.services.bus.degraded, 10, "pod B back on Redis")
    gevent.sleep(0.3)
    resumed = Client(pod_b.ws_url + f"?token={token('alice')}&last_seq={reply_seq - 1}")
    sid = resumed.recv()["session_id"]
    frames = resumed.reply(timeout=20)
    assert frames[0].get("chunk", 0) > 3  # it joined mid-stream: the text so far, then the live rest
    stored = Session._get_collection().find_one({"_id": sid})["msgs"][-1]
    assert stored["seq"] == reply_seq and text_of(frames) == stored["content"]
    resumed.close()
