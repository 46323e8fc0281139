"""Tokens as flask-jwt-extended reads them, with the Go service's claims and refusal bodies on every surface.

The socket's refusals are tested in tests/chat/test_connect.py and the dashboard's in tests/admin/test_access.py;
here: the REST routes (the library's own error path, answered by our loaders), Authorization header shapes, and
Go-issued tokens carrying claims the library gives a meaning to.
"""

import json
import time

import jwt
import pytest
import requests
import websocket
from conftest import SECRET, Client, token

from chatbox.auth import DASHBOARD_COOKIE

MISSING = (401, {"error": "Invalid authorization header", "code": "UNAUTHORIZED"})
INVALID = (401, {"error": "Invalid or expired authentication token", "code": "INVALID_TOKEN"})
LATER = 4102444800  # 2100-01-01


def signed(claims: dict, algorithm="HS256") -> str:
    return jwt.encode(claims, SECRET, algorithm=algorithm)


def rest(server, authorization=None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = requests.get(server.url + "/sessions", headers=headers, timeout=10)
    try:
        return response.status_code, response.json()
    except json.JSONDecodeError:
        return response.status_code, response.text


BAD_CLAIMS = [
    ("expired", {"user_id": "a", "roles": [], "exp": int(time.time()) - 5}),
    ("no user_id", {"roles": [], "exp": LATER}),
    ("empty user_id", {"user_id": " ", "roles": [], "exp": LATER}),
    ("user_id not a string", {"user_id": 7, "roles": [], "exp": LATER}),
    ("no roles", {"user_id": "a", "exp": LATER}),
    ("roles not a list", {"user_id": "a", "roles": "admin", "exp": LATER}),
    ("a role not a string", {"user_id": "a", "roles": [1], "exp": LATER}),
    ("name not a string", {"user_id": "a", "roles": [], "name": 5, "exp": LATER}),
    ("no exp in production", {"user_id": "a", "roles": []}),
]


@pytest.mark.parametrize("label,claims", BAD_CLAIMS, ids=[row[0] for row in BAD_CLAIMS])
def test_rest_refuses_tokens_without_the_go_claims(make_server, label, claims):
    server = make_server(env="production")
    assert rest(server, f"Bearer {signed(claims)}") == INVALID


HEADERS = [
    ("no header", None, MISSING),
    ("bearer and nothing", "Bearer", MISSING),
    ("another scheme", "Basic YWxhZGRpbjpvcGVu", MISSING),
    ("lower-case scheme", f"bearer {token()}", MISSING),
    ("two words", "Bearer abc def", INVALID),
    ("garbage", "Bearer not-a-jwt", INVALID),
    ("HS512", "Bearer " + signed({"user_id": "alice", "roles": [], "exp": LATER}, "HS512"), 200),
]


@pytest.mark.parametrize("label,header,expected", HEADERS, ids=[row[0] for row in HEADERS])
def test_rest_reads_the_authorization_header_as_go_did(server, label, header, expected):
    status, body = rest(server, header)
    if expected == 200:
        assert status == 200, body
    else:
        assert (status, body) == expected


def test_socket_looks_past_an_empty_bearer_to_the_query_token(server):
    client = Client(f"{server.ws_url}?token={token('alice')}", Authorization="Bearer")
    assert client.recv()["user_id"] == "alice"
    client.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Client(server.ws_url, Authorization="Bearer")
    assert (refused.value.status_code, refused.value.resp_body) == (401, b"Missing authentication token")


def test_go_tokens_with_claims_the_library_reads_are_accepted_everywhere(server):
    """A parent app may put ``type``, ``fresh``, ``jti``, ``sub``, ``iat`` in its tokens: the library gives them a
    meaning (a ``type`` of ``refresh`` is not an access token to it); Go ignored them, and so do we."""
    claims = {"user_id": "ops", "roles": ["admin"], "exp": LATER, "type": "refresh", "fresh": False}
    go = signed({**claims, "jti": "j-1", "sub": "ops@example.com", "iat": int(time.time()) - 60})
    assert rest(server, f"Bearer {go}")[0] == 200
    client = Client(f"{server.ws_url}?token={go}")
    assert client.recv()["user_id"] == "ops"
    client.close()
    page = requests.get(server.url + "/dashboard/", headers={"Cookie": f"{DASHBOARD_COOKIE}={go}"}, timeout=10)
    assert page.status_code == 200 and 'name="csrf-token"' in page.text


def test_dashboard_cookie_without_exp_is_refused_in_production(make_server):
    server = make_server(env="production")
    cookie = signed({"user_id": "ops", "roles": ["admin"]})
    page = requests.get(server.url + "/dashboard/", headers={"Cookie": f"{DASHBOARD_COOKIE}={cookie}"}, timeout=10)
    assert page.status_code == 401 and "Sign in" in page.text


def test_the_librarys_cookie_csrf_cannot_work_with_parent_issued_tokens(server):
    """Why admin/guard.py checks CSRF itself: with the library's check on, a parent-issued admin token in the cookie
    is refused even with the right CSRF token (the library wants a ``csrf`` claim inside the JWT)."""
    from tests.admin.conftest import ADMIN, Http

    http = Http(server)
    csrf = http.csrf(ADMIN)
    assert http.post("/dashboard/signout", cookie=ADMIN, csrf=csrf).status_code == 303
    server.app.config["JWT_COOKIE_CSRF_PROTECT"] = True
    assert http.post("/dashboard/signout", cookie=ADMIN, csrf=csrf).status_code == 401
