"""The user's REST routes: Go shapes, ownership as 404, share links, ending once, headers and JSON errors."""

import json
import urllib.error
import urllib.request

import pytest
from conftest import token

from chatbox.models import Session


def call(url, method="GET", bearer=None, headers=None):
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


@pytest.fixture
def alice_session(connect):
    client = connect("alice")
    client.send(type="user_message", content="Hello. Is anyone there?")
    return client.reply()[-1]["session_id"]


ROUTES = [
    ("GET", "/sessions"),
    ("GET", "/sessions/{sid}"),
    ("POST", "/sessions/{sid}/end"),
    ("POST", "/sessions/{sid}/share"),
]


@pytest.mark.parametrize("method,path", ROUTES)
def test_user_routes_need_a_bearer_token(server, alice_session, method, path):
    url = server.url + path.format(sid=alice_session)
    assert call(url, method)[:2] == (401, {"error": "Invalid authorization header", "code": "UNAUTHORIZED"})
    assert call(url, method, headers={"Authorization": "Token abc"})[0] == 401
    assert call(url, method, bearer="garbage")[:2] == (
        401,
        {"error": "Invalid or expired authentication token", "code": "INVALID_TOKEN"},
    )


@pytest.mark.parametrize("method,path", ROUTES[1:])
def test_someone_elses_session_is_not_found(server, alice_session, method, path):
    status, body, _ = call(server.url + path.format(sid=alice_session), method, bearer=token("mallory"))
    assert (status, body) == (404, {"error": "Session not found", "code": "NOT_FOUND"})


def test_list_and_read_in_the_go_shapes(server, alice_session):
    status, body, _ = call(server.url + "/sessions", bearer=token("alice"))
    assert status == 200 and body["user_id"] == "alice" and body["count"] == 1 and body["limit"] == 100
    assert body["truncated"] is False
    summary = body["sessions"][0]
    assert summary["id"] == alice_session and summary["name"] == "Hello." and summary["message_count"] == 2
    assert summary["is_active"] is True and summary["total_tokens"] > 0 and "end_time" not in summary
    status, body, _ = call(server.url + f"/sessions/{alice_session}", bearer=token("alice"))
    assert [m["sender"] for m in body["messages"]] == ["user", "ai"]
    assert body["messages"][0]["content"] == "Hello. Is anyone there?" and body["model_id"] == "demo"


def test_end_is_recorded_once(server, alice_session):
    assert call(server.url + f"/sessions/{alice_session}/end", "POST", bearer=token("alice"))[:2] == (
        200,
        {"status": "ended"},
    )
    first = Session.objects.get(id=alice_session).end
    assert call(server.url + f"/sessions/{alice_session}/end", "POST", bearer=token("alice"))[0] == 200
    assert Session.objects.get(id=alice_session).end == first  # Go overwrote endTs and double-counted


def test_share_link_is_stable_and_public(server, alice_session):
    first = call(server.url + f"/sessions/{alice_session}/share", "POST", bearer=token("alice"))[1]["share_token"]
    again = call(server.url + f"/sessions/{alice_session}/share", "POST", bearer=token("alice"))[1]["share_token"]
    assert first == again and len(first) == 32
    status, body, _ = call(server.url + f"/shared/{first}")
    assert status == 200 and body["session_id"] == alice_session and len(body["messages"]) == 2
    assert "user_id" not in body and "model_id" not in body
    assert call(server.url + "/shared/nope")[:2] == (404, {"error": "Shared session not found", "code": "NOT_FOUND"})


def test_security_headers_and_json_404(server):
    status, body, headers = call(server.url + "/no/such/route")
    assert (status, body) == (404, {"error": "Resource not found", "code": "NOT_FOUND"})
    for name, value in {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-XSS-Protection": "1; mode=block",
    }.items():
        assert headers[name] == value
    assert headers["X-Request-ID"]


def test_health_and_readiness(server):
    status, body, _ = call(server.url + "/healthz")
    assert status == 200 and body["status"] == "healthy" and body["timestamp"].endswith("Z")
    status, body, _ = call(server.url + "/readyz")
    assert status == 200 and body["status"] == "ready"
    assert body["checks"]["mongodb"] == {"status": "ready"}
    assert body["checks"]["llm"] == {"status": "ready", "providers_count": 1}


def test_readiness_is_503_while_draining(server):
    server.services.lifecycle.draining = True
    status, body, _ = call(server.url + "/readyz")
    assert status == 503 and body["status"] == "not ready"
    assert body["checks"]["shutdown"] == {"status": "not ready", "reason": "Shutting down"}


def test_public_routes_share_one_rate_limit_per_ip(make_server):
    server = make_server(public_rate_limit=3)
    for _ in range(3):
        assert call(server.url + "/shared/x")[0] == 404
    status, body, headers = call(server.url + "/shared/x")
    assert status == 429 and body == {
        "error": "rate_limit_exceeded",
        "message": "Too many requests. Please try again later.",
    }
    assert int(headers["Retry-After"]) >= 1


def test_admission_probe_says_why_a_socket_would_be_refused(make_server, connect):
    server = make_server(max_connections_per_user=2)
    url = server.url + "/ws/admission"
    assert call(url)[0] == 401
    assert call(url, bearer=token("alice"))[:2] == (200, {"admitted": True})
    connect("alice", target=server)
    connect("alice", target=server)
    assert call(url, bearer=token("alice"))[:2] == (
        429,
        {"error": "You have 2 chat windows open; close one to connect here", "code": "CONNECTION_LIMIT"},
    )
    assert call(url, bearer=token("bob"))[0] == 200
    server.services.lifecycle.draining = True
    status, body, headers = call(url, bearer=token("bob"))
    assert (status, body["code"], headers["Retry-After"]) == (503, "SHUTTING_DOWN", "1")
