"""A reply queued behind a slow one stays silent when an admin takes over meanwhile (issue 12, missing test).

The user's second message is answered only after the first reply; the takeover arrives while the second reply is
still waiting in the session's queue. When its turn comes it must see the takeover and never call the AI.
"""

from chatbox.models import Session


def is_ai_frame(frame: dict) -> bool:
    return frame["type"] in ("loading", "ai_response") and frame.get("sender") == "ai"


def test_a_queued_reply_does_not_start_after_a_takeover(make_server, connect):
    server = make_server(demo_chunk_delay=0.2)  # the demo reply takes seconds: time to queue behind it
    user = connect("alice", target=server)
    user.send(type="user_message", content="First question.")
    first = user.recv_until(lambda f: f["type"] == "ai_response")
    sid, first_reply = first[-1]["session_id"], first[-1]["seq"]
    user.send(type="user_message", content="Second question.", metadata={"client_msg_id": "q2"})
    echo = user.recv_until(lambda f: f["type"] == "user_message" and f.get("content") == "Second question.")[-1]
    queued_reply = echo["seq"] + 1  # reserved with the message, answered after the first reply
    assert queued_reply > first_reply
    admin = connect("root", roles=("admin",), name="Ada", target=server, session_id=sid)
    admin.send(type="admin_join", sender="admin")
    before_join = user.recv_until(lambda f: f["type"] == "admin_join", timeout=20)
    after_join = user.quiet(3.0)
    ai_frames = [f for f in before_join + after_join if is_ai_frame(f)]
    assert all(f["seq"] == first_reply for f in ai_frames), [(f["type"], f["seq"]) for f in ai_frames]
    assert not any(is_ai_frame(f) for f in after_join)
    stored = Session.objects.get(id=sid).messages
    assert [m.seq for m in stored if m.sender == "ai" and m.seq == queued_reply] == []
