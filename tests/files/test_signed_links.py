"""Short-lived signed file links instead of the user's JWT in file URLs (issue 12, item 8).

``GET {P}/files/<id>/link`` mints a link for whoever may read the file (ownership rules unchanged); the link
alone opens that one file until it expires; a tampered, expired or other file's signature is a 404; a link cannot
mint its successor; the shared view's JSON carries signed links for the files the share grants.
"""

import gevent
import pytest
import requests
from conftest import admin_token, token

from .helpers import PNG, upload


def bearer(user="alice", roles=()):
    return {"Authorization": f"Bearer {token(user, roles=roles)}"}


def origin_of(server):
    return server.url.removesuffix(server.services.settings.prefix)


def link(server, file_id, headers=None, **params):
    return requests.get(f"{server.url}/files/{file_id}/link", headers=headers or {}, params=params, timeout=10)


def test_the_owner_gets_a_link_that_opens_the_file_without_credentials(server):
    file_id = upload(server, PNG).json()["file_id"]
    answer = link(server, file_id, bearer()).json()
    assert answer["url"].startswith(f"/chat/files/{file_id}?exp=") and "&sig=" in answer["url"]
    assert answer["expires_in"] == 900
    assert "eyJ" not in answer["url"]
    fetched = requests.get(origin_of(server) + answer["url"], timeout=10)
    assert (fetched.status_code, fetched.content) == (200, PNG)


@pytest.mark.parametrize(
    "who,status",
    [("owner", 200), ("admin", 200), ("other-user", 404), ("nobody", 404), ("query-jwt", 404)],
)
def test_links_are_minted_under_the_ownership_rules(server, who, status):
    file_id = upload(server, PNG).json()["file_id"]
    calls = {
        "owner": lambda: link(server, file_id, bearer()),
        "admin": lambda: link(server, file_id, {"Authorization": f"Bearer {admin_token()}"}),
        "other-user": lambda: link(server, file_id, bearer("mallory")),
        "nobody": lambda: link(server, file_id),
        "query-jwt": lambda: link(server, file_id, token=token("alice")),
    }
    assert calls[who]().status_code == status


def tampered(url: str, file_id: str, other_id: str) -> dict:
    base, query = url.split("?")
    exp, sig = (part.split("=")[1] for part in query.split("&"))
    return {
        "bad-signature": f"{base}?exp={exp}&sig={'0' * 64}",
        "later-expiry": f"{base}?exp={int(exp) + 3600}&sig={sig}",
        "other-file": f"{base.replace(file_id, other_id)}?exp={exp}&sig={sig}",
        "no-expiry": f"{base}?sig={sig}",
        "short-signature": f"{base}?exp={exp}&sig={sig[:10]}",
    }


def test_a_tampered_link_is_a_404(server):
    file_id = upload(server, PNG).json()["file_id"]
    other_id = upload(server, PNG, "b.png").json()["file_id"]
    url = link(server, file_id, bearer()).json()["url"]
    for label, bad in tampered(url, file_id, other_id).items():
        assert requests.get(origin_of(server) + bad, timeout=10).status_code == 404, label


def test_a_link_dies_after_file_link_ttl_and_cannot_renew_itself(make_server, tmp_path):
    server = make_server(file_link_ttl=1.0, upload_dir=str(tmp_path))
    file_id = upload(server, PNG).json()["file_id"]
    url = link(server, file_id, bearer()).json()["url"]
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    assert link(server, file_id, **query).status_code == 404  # a link is no credential to mint another
    assert requests.get(origin_of(server) + url, timeout=10).status_code == 200
    gevent.sleep(2.1)
    assert requests.get(origin_of(server) + url, timeout=10).status_code == 404


def test_the_shared_view_carries_signed_links_for_granted_files_only(server, connect):
    client = connect("alice")
    client.send(type="user_message", content="hello")
    sid = client.reply()[0]["session_id"]
    mine = upload(server, PNG, session_id=sid).json()
    client.send(type="file_upload", file_id=mine["file_id"], file_url=mine["file_url"], metadata={"client_msg_id": "1"})
    client.recv_until(lambda f: f["type"] == "file_upload")
    # Someone else's file id in the session document (however it got there) is shown by name only.
    theirs = upload(server, PNG, user="bob").json()
    store = server.services.store
    store.append(sid, store.next_seq(sid), "user", "", file_id=theirs["file_id"], file_url=theirs["file_url"])
    share = requests.post(f"{server.url}/sessions/{sid}/share", headers=bearer(), timeout=10).json()["share_token"]
    messages = requests.get(f"{server.url}/shared/{share}", timeout=10).json()["messages"]
    shown, hidden = [m for m in messages if m.get("file_id")]
    assert "&sig=" in shown["file_url"]
    assert requests.get(origin_of(server) + shown["file_url"], timeout=10).content == PNG
    assert hidden["file_id"] == theirs["file_id"] and "file_url" not in hidden or hidden["file_url"] == ""
