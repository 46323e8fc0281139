"""Who may download a file (GET {P}/files/<id>): the owner, any admin, a holder of the session's share link.

Everyone else gets the same 404 as for a file that does not exist. A request with no credentials at all is
treated the same way (404, not 401), so probing ids tells nothing; a token that is present but invalid is 401.
"""

import pytest
import requests
from conftest import admin_token, token

from chatbox.auth import DASHBOARD_COOKIE

from .helpers import PNG, upload

NOT_FOUND = {"error": "File not found", "code": "NOT_FOUND"}


@pytest.fixture
def shared(local_server):
    """Alice's session with a share link and a file uploaded into it, plus another shared session."""
    store = local_server.services.store
    session = store.create("alice", "demo")
    other = store.create("bob", "demo")
    answer = upload(local_server, PNG, session_id=session.id).json()
    return {"file_id": answer["file_id"], "share": store.share(session.id), "other_share": store.share(other.id)}


# (who, how the request is made) -> expected status. ``ctx`` holds the fixture's ids and tokens.
CASES = [
    ("owner-bearer", lambda c: {"headers": {"Authorization": f"Bearer {token('alice')}"}}, 200),
    # A JWT in the query string is no credential for files (it would land in history and copied links).
    ("owner-query-token", lambda c: {"params": {"token": token("alice")}}, 404),
    ("admin-bearer", lambda c: {"headers": {"Authorization": f"Bearer {admin_token()}"}}, 200),
    ("chat-admin-role", lambda c: {"headers": {"Authorization": f"Bearer {token('sam', roles=('chat_admin',))}"}}, 200),
    ("admin-dashboard-cookie", lambda c: {"cookies": {DASHBOARD_COOKIE: admin_token()}}, 200),
    ("share-link", lambda c: {"params": {"share": c["share"]}}, 200),
    ("other-user", lambda c: {"headers": {"Authorization": f"Bearer {token('mallory')}"}}, 404),
    ("other-user-query", lambda c: {"params": {"token": token("mallory")}}, 404),
    ("other-user-cookie", lambda c: {"cookies": {DASHBOARD_COOKIE: token("mallory")}}, 404),
    ("share-link-of-another-session", lambda c: {"params": {"share": c["other_share"]}}, 404),
    ("unknown-share-token", lambda c: {"params": {"share": "0" * 32}}, 404),
    ("no-credentials", lambda c: {}, 404),
]


@pytest.mark.parametrize("build,status", [row[1:] for row in CASES], ids=[row[0] for row in CASES])
def test_download_access(local_server, shared, build, status):
    response = requests.get(f"{local_server.url}/files/{shared['file_id']}", timeout=30, **build(shared))
    assert response.status_code == status
    if status == 200:
        assert response.content == PNG
    else:
        assert response.json() == NOT_FOUND


def test_invalid_token_is_401(local_server, shared):
    response = requests.get(
        f"{local_server.url}/files/{shared['file_id']}", headers={"Authorization": "Bearer bad.token.here"}, timeout=30
    )
    assert (response.status_code, response.json()["code"]) == (401, "INVALID_TOKEN")


@pytest.mark.parametrize("file_id", ["0" * 32, "../../etc/passwd", "abc"])
def test_unknown_ids_look_like_any_other_refusal(local_server, file_id):
    response = requests.get(
        f"{local_server.url}/files/{file_id}", headers={"Authorization": f"Bearer {token('alice')}"}, timeout=30
    )
    assert response.status_code == 404


def test_admin_may_upload_too(local_server):
    response = upload(local_server, PNG, auth=f"Bearer {admin_token()}")
    assert response.status_code == 200
