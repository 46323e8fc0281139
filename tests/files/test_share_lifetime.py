"""Share links have a lifetime and can be withdrawn (issue 12, item 15). An expired or withdrawn link answers 404
exactly like an unknown one, on the shared view and for the files it granted; the owner can share again."""

import gevent
import requests
from conftest import token

from chatbox.models import Session

from .helpers import PNG, upload

NOT_FOUND = {"error": "Shared session not found", "code": "NOT_FOUND"}
ALICE = {"Authorization": f"Bearer {token('alice')}"}


def shared_session_with_file(server, connect):
    client = connect("alice", target=server)
    client.send(type="user_message", content="hello")
    sid = client.reply()[0]["session_id"]
    file_id = upload(server, PNG, session_id=sid).json()["file_id"]
    answer = requests.post(f"{server.url}/sessions/{sid}/share", headers=ALICE, timeout=10).json()
    return sid, file_id, answer


def reachable(server, share, file_id) -> tuple[int, int]:
    view = requests.get(f"{server.url}/shared/{share}", timeout=10)
    download = requests.get(f"{server.url}/files/{file_id}", params={"share": share}, timeout=10)
    if view.status_code == 404:
        assert view.json() == NOT_FOUND
    return view.status_code, download.status_code


def test_a_link_expires_after_share_ttl_and_sharing_again_makes_a_new_one(make_server, connect, tmp_path):
    server = make_server(share_ttl=1.0, upload_dir=str(tmp_path))
    sid, file_id, answer = shared_session_with_file(server, connect)
    assert answer["expires_at"].endswith("Z")
    assert reachable(server, answer["share_token"], file_id) == (200, 200)
    gevent.sleep(1.2)
    assert reachable(server, answer["share_token"], file_id) == (404, 404)
    again = requests.post(f"{server.url}/sessions/{sid}/share", headers=ALICE, timeout=10).json()["share_token"]
    assert again != answer["share_token"]
    assert reachable(server, again, file_id) == (200, 200)


def test_the_default_lifetime_is_documented_and_applied(server, connect):
    sid, _, answer = shared_session_with_file(server, connect)
    stored = Session.objects.get(id=sid)
    left = (stored.share_expires - stored.start).total_seconds()
    assert 30 * 24 * 3600 - 60 < left <= 30 * 24 * 3600 + 60


def test_the_owner_revokes_a_link(server, connect):
    sid, file_id, answer = shared_session_with_file(server, connect)
    mallory = {"Authorization": f"Bearer {token('mallory')}"}
    assert requests.delete(f"{server.url}/sessions/{sid}/share", headers=mallory, timeout=10).status_code == 404
    assert reachable(server, answer["share_token"], file_id) == (200, 200)
    response = requests.delete(f"{server.url}/sessions/{sid}/share", headers=ALICE, timeout=10)
    assert (response.status_code, response.json()) == (200, {"status": "revoked"})
    assert reachable(server, answer["share_token"], file_id) == (404, 404)
    again = requests.delete(f"{server.url}/sessions/{sid}/share", headers=ALICE, timeout=10)
    assert again.json() == {"status": "not shared"}


def test_a_go_link_gets_its_lifetime_when_first_read(make_server, connect, tmp_path):
    server = make_server(share_ttl=1.0, upload_dir=str(tmp_path))
    sid, file_id, answer = shared_session_with_file(server, connect)
    # As the Go service wrote it: a token and no expiry field at all.
    Session._get_collection().update_one({"_id": sid}, {"$unset": {"shareExp": 1}})
    assert reachable(server, answer["share_token"], file_id) == (200, 200)
    assert Session.objects.get(id=sid).share_expires is not None
    gevent.sleep(1.2)
    assert reachable(server, answer["share_token"], file_id) == (404, 404)
