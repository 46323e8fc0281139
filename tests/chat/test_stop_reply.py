"""Stop: a ``stop_reply`` frame cancels the reply streaming now; the partial text is kept, marked interrupted."""

import gevent

from chatbox.integrations.llm import DemoProvider, Turn
from chatbox.models import Session


def test_stop_ends_the_stream_and_keeps_the_partial_reply(make_server, connect):
    server = make_server(demo_chunk_delay=0.05)
    client = connect("alice", target=server)
    client.send(type="user_message", content="a long answer please")
    sid = client.recv_until(lambda f: f.get("chunk") == 3)[-1]["session_id"]
    client.send(type="stop_reply")
    done = client.reply(timeout=5)[-1]
    assert done["metadata"]["interrupted"] == "true"
    gevent.sleep(0.2)
    assert not server.services.replies.running
    reply = Session.objects.get(id=sid).messages[-1]
    full = DemoProvider.reply_for([Turn("user", "a long answer please")])
    partial = server.services.store.keyring.decrypt(reply.content)
    assert reply.sender == "ai" and reply.interrupted is True
    assert partial and full.startswith(partial) and len(partial) < len(full)
    assert not [f for f in client.quiet(0.5) if f["type"] == "error"]


def test_stop_with_nothing_streaming_is_harmless(make_server, connect):
    server = make_server()
    client = connect("alice", target=server)
    client.send(type="user_message", content="hi")
    client.reply(timeout=10)
    client.send(type="stop_reply")
    assert client.quiet(0.4) == []
    client.send(type="user_message", content="still there?")
    assert client.reply(timeout=10)[-1]["metadata"]["done"] == "true"
