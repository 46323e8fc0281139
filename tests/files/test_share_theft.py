"""A share link is not a key to someone else's file (issue 12, item 1).

Bob names Alice's file id in a file frame with an external URL, shares his own session, and asks for Alice's file
with his share token. The frame is refused, and even a session document that names her file id (written by
anything else) does not make the share grant it.
"""

import requests
from conftest import token

from .helpers import PNG, upload


def alices_file(server) -> str:
    return upload(server, PNG, "private.png", user="alice").json()["file_id"]


def bobs_shared_session(connect, server) -> tuple:
    bob = connect("bob")
    bob.send(type="user_message", content="hello")
    sid = bob.reply()[0]["session_id"]
    share = requests.post(
        f"{server.url}/sessions/{sid}/share", headers={"Authorization": f"Bearer {token('bob')}"}, timeout=30
    ).json()["share_token"]
    return bob, sid, share


def test_a_frame_may_not_name_another_users_file_whatever_its_url(server, connect):
    file_id = alices_file(server)
    bob, sid, share = bobs_shared_session(connect, server)
    bob.send(type="file_upload", file_id=file_id, file_url="https://1.1.1.1/x.png")
    frame = bob.recv()
    assert (frame["type"], frame["error"]["code"], frame["error"]["message"]) == (
        "error",
        "INVALID_FORMAT",
        "Invalid file ID",
    )
    stored = server.services.store.get(sid)
    assert all(m.file_id != file_id for m in stored.messages)
    response = requests.get(f"{server.url}/files/{file_id}", params={"share": share}, timeout=30)
    assert response.status_code == 404


def test_own_file_id_with_an_external_url_is_still_accepted(server, connect):
    bob, sid, _ = bobs_shared_session(connect, server)
    own = upload(server, PNG, user="bob").json()["file_id"]
    bob.send(type="file_upload", file_id=own, file_url="https://1.1.1.1/x.png", metadata={"client_msg_id": "c1"})
    assert bob.recv()["file_id"] == own
    # An id that is none of our files (a Go client's S3 key, say) is the client's business.
    bob.send(
        type="file_upload", file_id="s3-key-123", file_url="https://1.1.1.1/y.png", metadata={"client_msg_id": "c2"}
    )
    assert bob.recv()["file_id"] == "s3-key-123"


def test_a_share_grants_only_files_of_the_sessions_owner(server, connect):
    file_id = alices_file(server)
    bob, sid, share = bobs_shared_session(connect, server)
    # However the id got into Bob's session (a Go-era document, a bug elsewhere), the share does not reach it.
    store = server.services.store
    store.append(sid, store.next_seq(sid), "user", "", file_id=file_id, file_url=f"/chat/files/{file_id}")
    response = requests.get(f"{server.url}/files/{file_id}", params={"share": share}, timeout=30)
    assert response.status_code == 404
    # Bob's own file sent in his session is still shared.
    own = upload(server, PNG, user="bob", session_id=sid).json()["file_id"]
    assert requests.get(f"{server.url}/files/{own}", params={"share": share}, timeout=30).content == PNG
