"""Every admin endpoint, JSON API and dashboard: no token 401, a user token 403, an admin token allowed."""

import pytest
from conftest import token

from .conftest import ADMIN, USER, make_session

GO_401 = {"error": "Invalid authorization header", "code": "UNAUTHORIZED"}
GO_403 = {"error": "Insufficient permissions", "code": "FORBIDDEN"}

# (method, path, status for an admin)
API = [
    ("GET", "/admin/sessions", 200),
    ("GET", "/admin/users/alice/sessions", 200),
    ("GET", "/admin/sessions/s1", 200),
    ("GET", "/admin/metrics", 200),
    ("POST", "/admin/takeover/s1", 200),
    ("POST", "/admin/sessions/s1/release", 409),  # an admin who does not hold it: refused, not forbidden
]
DASHBOARD = [
    ("GET", "/dashboard/", 200),
    ("GET", "/dashboard/users/alice", 200),
    ("GET", "/dashboard/sessions.csv", 200),
    ("GET", "/dashboard/sessions/s1", 200),
    ("GET", "/dashboard/events", 200),
    ("GET", "/dashboard/sessions/s1/stream", 200),
    ("POST", "/dashboard/sessions/s1/takeover", 200),
    ("POST", "/dashboard/sessions/s1/release", 409),
    ("POST", "/dashboard/sessions/s1/messages", 409),
    ("GET", "/dashboard/metrics", 200),
    ("GET", "/dashboard/status", 200),
    ("POST", "/dashboard/status/indexes", 303),
    ("GET", "/dashboard/outbox", 200),
    ("POST", "/dashboard/signout", 303),
]


@pytest.fixture(autouse=True)
def session_s1():
    make_session("s1", messages=2)


@pytest.mark.parametrize("method,path,_", API)
def test_api_refuses_without_token_and_for_users(http, method, path, _):
    response = http.call(method, path)
    assert (response.status_code, response.json()) == (401, GO_401)
    response = http.call(method, path, bearer="not-a-jwt")
    assert (response.status_code, response.json()) == (
        401,
        {"error": "Invalid or expired authentication token", "code": "INVALID_TOKEN"},
    )
    response = http.call(method, path, bearer=USER)
    assert (response.status_code, response.json()) == (403, GO_403)


@pytest.mark.parametrize("method,path,status", API)
def test_api_answers_admins(http, method, path, status):
    response = http.call(method, path, bearer=ADMIN)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("method,path,_", DASHBOARD)
def test_dashboard_refuses_without_token_and_for_users(http, method, path, _):
    response = http.call(method, path)
    assert response.status_code == 401 and "Sign in" in response.text
    response = http.call(method, path, cookie=USER)
    assert response.status_code == 403 and "Insufficient permissions" in response.text
    response = http.call(method, path, bearer=USER)
    assert response.status_code == 403
    response = http.call(method, path, cookie=token("x", roles=("admin",), secret="z" * 40))
    assert response.status_code == 401


@pytest.mark.parametrize("method,path,status", DASHBOARD)
def test_dashboard_answers_admins_by_cookie_with_csrf(http, method, path, status):
    csrf = http.csrf(ADMIN) if method == "POST" else None
    response = http.call(method, path, cookie=ADMIN, csrf=csrf, stream=path.endswith(("events", "stream")))
    try:
        assert response.status_code == status, response.text
        if path.endswith(("events", "stream")):
            assert response.headers["Content-Type"].startswith("text/event-stream")
    finally:
        response.close()


@pytest.mark.parametrize("method,path,status", [row for row in DASHBOARD if row[0] == "POST"])
def test_cookie_posts_without_a_valid_csrf_token_are_refused(http, method, path, status):
    for csrf in (None, "0" * 64):
        response = http.call(method, path, cookie=ADMIN, csrf=csrf)
        assert response.status_code == 403
        assert "Missing or invalid CSRF token" in response.text
    # A form field works like the header; a Bearer caller carries no ambient credential and needs none.
    form = http.call(method, path, cookie=ADMIN, data={"csrf_token": http.csrf(ADMIN)})
    assert form.status_code == status
    assert http.call(method, path, bearer=ADMIN).status_code != 403
