"""Issue 12, item 2: every frame kind that stores, notifies or changes state counts against RATE_LIMIT; every
socket has a frame-rate ceiling (WS_FRAME_RATE); a session's document has a size ceiling (SESSION_MAX_BYTES).

Before: 1,000 ``file_upload`` frames in 0.05 s were all stored and the session document grew to 13.7 MB.
"""

import bson
import gevent
import pytest
import websocket

from chatbox.models import Session
from chatbox.ops.limits import FrameCeiling
from tests.chat.test_go_compat import KEY
from tests.conftest import Client, token

EXTERNAL = {"file_id": "ext-1", "file_url": "https://1.1.1.1/x.png"}


def errors(frames):
    return [f["error"] for f in frames if f["type"] == "error"]


def close_code(client, timeout=5) -> int:
    """Read until the server's close frame; its code."""
    client.ws.settimeout(timeout)
    while True:
        opcode, data = client.ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big")


def stored_count(sid):
    return len(Session._get_collection().find_one({"_id": sid})["msgs"])


@pytest.mark.parametrize(
    "kind,frame",
    [
        ("file_upload", {"type": "file_upload", **EXTERNAL}),
        ("voice_message", {"type": "voice_message", **EXTERNAL}),
        ("help_request", {"type": "help_request"}),
        ("model_select", {"type": "model_select", "model_id": "demo"}),
    ],
)
def test_each_state_changing_frame_kind_counts_against_rate_limit(make_server, connect, kind, frame):
    server = make_server(rate_limit=4, ws_frame_rate=1000)
    client = connect("alice", target=server)
    client.send(type="user_message", content="hello")  # one of the four
    sid = client.reply()[-1]["session_id"]
    for _ in range(8):
        client.send(**frame)
    refused = [e for e in errors(client.quiet(1.0)) if e["code"] == "TOO_MANY_REQUESTS"]
    assert len(refused) == 5, kind  # three passed, the other five were refused
    assert all(e["retry_after"] > 0 for e in refused)
    if kind in ("file_upload", "voice_message"):
        assert stored_count(sid) == 2 + 3  # the exchange, then three files


def test_a_flood_of_frames_gets_one_error_then_a_1008_close(make_server, connect):
    server = make_server(ws_frame_rate=10)
    client = connect("alice", target=server)
    client.send(type="user_message", content="hello")
    sid = client.reply()[-1]["session_id"]
    for _ in range(300):
        client.send(type="typing_indicator")
    for _ in range(300):
        client.send(type="file_upload", **EXTERNAL)
    frames = []
    client.ws.settimeout(5)
    while True:
        opcode, data = client.ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(data[:2], "big")
            break
        frames.append(data.decode())
    floods = [f for f in frames if "Too many frames" in f]
    assert code == 1008 and 1 <= len(floods) <= 2  # the warning, then the refusal that closes
    assert stored_count(sid) <= 2 + 10  # at most one second's worth got through


def test_a_socket_that_stays_over_the_rate_is_closed_after_three_seconds(make_server, connect):
    server = make_server(ws_frame_rate=10)
    client = connect("alice", target=server)
    started = gevent.get_hub().loop.now()
    for _ in range(70):  # 14 a second: over the ceiling, never twice it
        client.send(type="typing_indicator")
        gevent.sleep(1 / 14)
        if client.ws.sock is None:
            break
    assert close_code(client) == 1008
    assert gevent.get_hub().loop.now() - started >= 2.0


def test_a_socket_within_the_rate_is_never_refused(make_server, connect):
    server = make_server(ws_frame_rate=10)
    client = connect("alice", target=server)
    for _ in range(25):
        client.send(type="model_select", model_id="demo")
        gevent.sleep(0.12)
    assert not [e for e in errors(client.quiet(0.5)) if e["code"] == "TOO_MANY_REQUESTS"]


@pytest.mark.parametrize(
    "times,verdicts",
    [
        ([0.1, 0.2, 0.3], ["pass", "pass", "warn"]),  # the first frame over the rate is answered
        ([0.1, 0.2, 0.3, 0.4, 0.5], ["pass", "pass", "warn", "drop", "close"]),  # twice the rate: closed
        ([0.1, 0.2, 0.3, 1.1, 1.2, 1.3], ["pass", "pass", "warn", "pass", "pass", "warn"]),
        ([0.1, 0.2, 0.3, 1.1, 1.2, 1.3, 2.1, 2.2, 2.3], ["pass", "pass", "warn"] * 2 + ["pass", "pass", "close"]),
        ([0.1, 0.2, 0.3, 2.1, 2.2, 2.3, 4.1, 4.2, 4.3], ["pass", "pass", "warn"] * 3),  # quiet seconds forgive
    ],
)
def test_frame_ceiling_table(times, verdicts):
    clock = iter(times)
    now = [0.0]

    def tick():
        return now[0]

    ceiling = FrameCeiling(2, clock=tick)
    seen = []
    for moment in clock:
        now[0] = moment
        seen.append(ceiling.check())
    assert seen == verdicts


def fill(client, **frame) -> dict:
    """Send ``frame`` (with a fresh client_msg_id each time) until it is refused; the refusal."""
    for n in range(40):
        client.send(**frame, metadata={"client_msg_id": f"c-{frame['type']}-{n}"})
        frames = client.recv_until(
            lambda f: f["type"] == "error" or f.get("metadata", {}).get("done") == "true" or f["type"] == "file_upload"
        )
        if frames[-1]["type"] == "error":
            return frames[-1]["error"]
    raise AssertionError("never refused")


def document_bytes():
    return len(bson.encode(Session._get_collection().find_one({})))


def test_a_session_past_its_size_ceiling_refuses_new_messages_clearly(make_server, connect):
    limit = 64 * 1024
    settings = {"session_max_bytes": limit, "ws_frame_rate": 1000, "rate_limit": 1000, "encryption_key": KEY}
    client = connect("alice", target=make_server(**settings))
    refusal = fill(client, type="user_message", content="x" * 9000)
    assert refusal["code"] == "SESSION_FULL" and "size limit" in refusal["message"]
    assert limit - 20_000 < document_bytes() <= limit
    sid = Session._get_collection().find_one({})["_id"]
    # A pod that loads the session afresh measures it, and refuses files as well as messages before the limit.
    other = make_server(**settings)
    again = Client(other.ws_url + f"?token={token('alice')}")
    assert again.recv()["session_id"] == sid
    assert fill(again, type="file_upload", content="y" * 9000, **EXTERNAL)["code"] == "SESSION_FULL"
    assert document_bytes() <= limit
    again.close()
