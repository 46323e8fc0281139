"""Takeover over real WebSockets: a user, an admin socket, the dashboard's SSE stream, and a second admin."""

import gevent
import pytest
import requests

from chatbox.models import AuditEntry, Session

from .conftest import ADMIN, OTHER_ADMIN, Http


def is_done(frame):
    return frame["type"] == "ai_response" and frame.get("metadata", {}).get("done") == "true"


class SseReader:
    """Reads an SSE response in a greenlet; ``text`` is everything received so far."""

    def __init__(self, url, bearer):
        self.response = requests.get(url, headers={"Authorization": f"Bearer {bearer}"}, stream=True, timeout=30)
        assert self.response.status_code == 200
        self.chunks = []
        self.greenlet = gevent.spawn(self._read)

    def _read(self):
        for chunk in self.response.iter_content(chunk_size=None, decode_unicode=True):
            self.chunks.append(chunk)

    @property
    def text(self):
        return "".join(self.chunks)

    def wait_for(self, needle, timeout=10):
        with gevent.Timeout(timeout, AssertionError(f"{needle!r} never arrived in:\n{self.text[-2000:]}")):
            while needle not in self.text:
                gevent.sleep(0.02)

    def close(self):
        self.greenlet.kill()
        self.response.close()


@pytest.fixture
def live_server(make_server):
    return make_server(demo_chunk_delay=0.05)


def test_takeover_both_ways_then_hand_back(live_server, connect):
    http = Http(live_server)
    user = connect("alice", target=live_server)
    user.send(type="user_message", content="Tell me a long story, <script>alert(1)</script>")
    first = user.recv_until(lambda f: f["type"] == "ai_response" and f.get("chunk", 0) >= 3)
    sid = first[-1]["session_id"]
    reply_seq = first[-1]["seq"]

    admin = connect("root", roles=("admin",), name="Ada Admin", target=live_server, session_id=sid)
    dashboard = SseReader(f"{live_server.url}/dashboard/sessions/{sid}/stream?after=0", ADMIN)
    try:
        dashboard.wait_for("Tell me a long story, &lt;script&gt;")
        assert "<script>alert(1)" not in dashboard.text  # user content reaches the page escaped
        dashboard.wait_for(f'id="msg-{reply_seq}"')  # the reply streaming right now, as it streams

        assert http.post(f"/admin/takeover/{sid}", bearer=ADMIN).status_code == 200
        seen = user.recv_until(lambda f: f["type"] == "admin_join")
        seen += [] if any(is_done(f) for f in seen) else user.recv_until(is_done)
        done = next(f for f in seen if is_done(f))
        assert done["seq"] == reply_seq and done["metadata"].get("interrupted") == "true"
        join = next(f for f in seen if f["type"] == "admin_join")
        assert join["metadata"] == {"admin_id": "root", "admin_name": "Ada Admin"}
        dashboard.wait_for("has joined the session")
        dashboard.wait_for("event: changed")  # the page's facts panel refreshes on this

        # The admin writes over the WebSocket and from the dashboard; the user gets both at once.
        admin.send(type="user_message", sender="admin", content="Hi, I'm here.")
        from_socket = user.recv_until(lambda f: f["type"] == "ai_response" and f.get("sender") == "admin")[-1]
        assert from_socket["content"] == "Hi, I'm here." and from_socket["metadata"]["admin_name"] == "Ada Admin"
        assert (
            http.post(
                f"/dashboard/sessions/{sid}/messages", bearer=ADMIN, data={"content": "From the dashboard."}
            ).status_code
            == 200
        )
        from_page = user.recv_until(lambda f: f.get("sender") == "admin")[-1]
        assert from_page["content"] == "From the dashboard."
        dashboard.wait_for("From the dashboard.")

        # The user answers: the admin's socket and the dashboard see it; the AI says nothing.
        user.send(type="user_message", content="Thanks <b>admin</b>")
        to_admin = admin.recv_until(lambda f: f["type"] == "user_message")[-1]
        assert to_admin["content"] == "Thanks <b>admin</b>" and to_admin["sender"] == "user"
        dashboard.wait_for("Thanks &lt;b&gt;admin&lt;/b&gt;")
        assert not [f for f in user.quiet(1.0) if f["type"] in ("loading", "ai_response")]

        # A second admin cannot take over by accident, by API, socket or dashboard.
        refused = http.post(f"/admin/takeover/{sid}", bearer=OTHER_ADMIN)
        assert refused.status_code == 400 and "Ada Admin (root)" in refused.json()["error"]
        page = http.get(f"/dashboard/sessions/{sid}", bearer=OTHER_ADMIN)
        assert "Assisted by Ada Admin" in page.text and 'class="takeover"' not in page.text
        writes = http.post(f"/dashboard/sessions/{sid}/messages", bearer=OTHER_ADMIN, data={"content": "hey"})
        assert writes.status_code == 409 and "Take the session over" in writes.text

        assert http.post(f"/admin/sessions/{sid}/release", bearer=ADMIN).status_code == 200
        leave = user.recv_until(lambda f: f["type"] == "admin_leave")[-1]
        assert leave["metadata"]["admin_name"] == "Ada Admin"
        dashboard.wait_for("has left the session")
        user.send(type="user_message", content="Back to the AI?")
        again = user.reply(timeout=20)
        assert "Back to the AI?" in "".join(f.get("content", "") for f in again)
    finally:
        dashboard.close()

    session = Session.objects(id=sid).get()
    assert session.admin_assisted is True and session.assisting_admin_name == "Ada Admin"
    assert session.takeover_by is None
    actions = [(e.action, e.admin_id) for e in AuditEntry.objects(session_id=sid).order_by("ts")]
    assert ("takeover_start", "root") in actions and actions[-1] == ("takeover_end", "root")
    assert ("read", "second") in actions  # the second admin's look at the conversation is on record


def test_admin_socket_join_and_leave_frames(live_server, connect):
    user = connect("alice", target=live_server)
    user.send(type="user_message", content="Hello.")
    sid = user.reply(timeout=20)[-1]["session_id"]
    admin = connect("root", roles=("admin",), name="Ada Admin", target=live_server, session_id=sid)
    other = connect("second", roles=("admin",), name="Bob Admin", target=live_server, session_id=sid)
    admin.send(type="admin_join", sender="admin")
    assert user.recv_until(lambda f: f["type"] == "admin_join")[-1]["metadata"]["admin_id"] == "root"
    other.send(type="admin_join", sender="admin")
    error = other.recv_until(lambda f: f["type"] == "error")[-1]
    assert "already assisted by another admin: Ada Admin (root)" in error["error"]["message"]
    admin.send(type="admin_leave", sender="admin")
    assert user.recv_until(lambda f: f["type"] == "admin_leave")[-1]["metadata"]["admin_id"] == "root"
    assert Session.objects(id=sid).get().takeover_by is None
