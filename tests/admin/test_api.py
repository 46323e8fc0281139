"""The JSON admin API: Go shapes, filters, sorts, paging, validation texts, metrics, takeover, rate limit."""

from datetime import timedelta

import pytest

from chatbox.models import AuditEntry, Session

from .conftest import ADMIN, OTHER_ADMIN, T0, make_session

SUMMARY_KEYS = {
    "id",
    "session_id",
    "user_id",
    "name",
    "last_activity",
    "message_count",
    "admin_assisted",
    "start_time",
    "is_active",
    "duration",
    "total_tokens",
    "max_response_time",
    "avg_response_time",
    "help_requested",
}


@pytest.fixture
def sessions():
    """Four sessions with distinct starts, ends, sizes and flags."""
    make_session("a", user="alice", start=T0, end=T0 + timedelta(minutes=30), messages=3, total_tokens=50)
    make_session(
        "b",
        user="bob",
        start=T0 + timedelta(hours=1),
        messages=1,
        total_tokens=500,
        admin_assisted=True,
        assisting_admin_name="Ada Admin",
    )
    make_session("c", user="carol", start=T0 + timedelta(days=1), messages=5, total_tokens=5, help_requested=True)
    make_session(
        "d",
        user="alice",
        start=T0 + timedelta(days=2),
        end=T0 + timedelta(days=2, minutes=5),
        messages=0,
        total_tokens=0,
    )


def ids(http, query="", **kwargs):
    response = http.get("/admin/sessions" + query, bearer=ADMIN, **kwargs)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["sessions"]]


def test_list_shape_carries_id_and_session_id(http, sessions):
    body = http.get("/admin/sessions", bearer=ADMIN).json()
    assert set(body) == {"sessions", "count", "total", "limit", "offset"}
    assert (body["count"], body["total"], body["limit"], body["offset"]) == (4, 4, 100, 0)
    by_id = {item["id"]: item for item in body["sessions"]}
    assert set(by_id["b"]) >= SUMMARY_KEYS and by_id["b"]["session_id"] == "b"
    assert by_id["a"]["end_time"] == "2026-11-20T12:30:00Z" and by_id["a"]["duration"] == 1800
    assert by_id["a"]["message_count"] == 3 and by_id["a"]["is_active"] is False
    assert by_id["b"]["admin_assisted"] is True and by_id["b"]["assisting_admin_name"] == "Ada Admin"
    assert "end_time" not in by_id["b"] and by_id["c"]["help_requested"] is True


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", ["d", "c", "b", "a"]),
        ("?sort_by=start_time&sort_order=asc", ["a", "b", "c", "d"]),
        ("?sort_by=message_count&sort_order=desc", ["c", "a", "b", "d"]),
        ("?sort_by=total_tokens&sort_order=desc", ["b", "a", "c", "d"]),
        ("?sort_by=user_id&sort_order=asc", ["a", "d", "b", "c"]),
        ("?sort_by=duration&sort_order=asc", ["d", "a", "c", "b"]),  # open sessions last until now
        ("?sort_by=last_activity&sort_order=desc", ["d", "c", "b", "a"]),
        ("?sort_by=end_time&sort_order=desc", ["d", "a", "c", "b"]),
        ("?user_id=alice", ["d", "a"]),
        ("?status=active", ["c", "b"]),
        ("?status=ended", ["d", "a"]),
        ("?admin_assisted=true", ["b"]),
        ("?admin_assisted=false", ["d", "c", "a"]),
        ("?help_requested=true", ["c"]),
        ("?start_time_from=2026-11-20T12:30:00Z&start_time_to=2026-11-21T12:00:00Z", ["c", "b"]),
        ("?start_time=2026-11-21&end_time=2026-11-22", ["d", "c"]),  # the Go page's names, dates, whole days
        ("?start_time_to=2026-11-20", ["b", "a"]),
        ("?limit=2", ["d", "c"]),
        ("?limit=2&offset=2", ["b", "a"]),
        ("?offset=10", []),
    ],
)
def test_filters_sorts_and_paging(http, sessions, query, expected):
    assert ids(http, query) == expected


@pytest.mark.parametrize(
    "query,limit,offset",
    [
        ("?limit=5000", 1000, 0),
        ("?limit=0", 100, 0),
        ("?limit=abc", 100, 0),
        ("?limit=10abc", 10, 0),
        ("?offset=-3", 100, 0),
        ("?offset=2x", 100, 2),
    ],
)
def test_limit_is_capped_not_reset(http, query, limit, offset):
    body = http.get("/admin/sessions" + query, bearer=ADMIN).json()
    assert (body["limit"], body["offset"]) == (limit, offset)


@pytest.mark.parametrize(
    "query,message",
    [
        (
            "?sort_by=name",
            (
                'invalid sort_by field "name"; allowed: start_time, end_time, duration, last_activity, '
                "message_count, total_tokens, user_id"
            ),
        ),
        ("?sort_order=up", 'invalid sort_order "up"; allowed: asc, desc'),
        ("?user_id=" + "u" * 256, "user_id exceeds maximum length of 255 characters"),
        ("?status=paused", 'invalid status "paused"; allowed: active, ended'),
        ("?admin_assisted=yes", 'invalid admin_assisted "yes"; allowed: true, false'),
        ("?help_requested=1", 'invalid help_requested "1"; allowed: true, false'),
        ("?start_time_from=yesterday", "Invalid time format, expected RFC3339 or YYYY-MM-DD"),
        ("?end_time=2026-13-01", "Invalid time format, expected RFC3339 or YYYY-MM-DD"),
    ],
)
def test_bad_parameters_are_400_with_a_clear_text(http, query, message):
    response = http.get("/admin/sessions" + query, bearer=ADMIN)
    assert (response.status_code, response.json()) == (400, {"error": message, "code": "BAD_REQUEST"})


def test_user_drill_down(http, sessions):
    body = http.get("/admin/users/alice/sessions", bearer=ADMIN).json()
    assert body["user_id"] == "alice" and [s["id"] for s in body["sessions"]] == ["d", "a"]
    assert body["count"] == 2 and {"session_id", "name", "is_active", "start_time", "message_count"} <= set(
        body["sessions"][0]
    )
    assert http.get("/admin/users/nobody/sessions", bearer=ADMIN).json()["sessions"] == []


def test_reading_one_session_is_audited(http, sessions):
    body = http.get("/admin/sessions/a", bearer=ADMIN).json()
    assert body["session"]["id"] == "a" and [m["content"] for m in body["messages"]] == ["m0", "m1", "m2"]
    entry = AuditEntry.objects(session_id="a").get()
    assert (entry.action, entry.admin_id, entry.admin_name, entry.detail) == ("read", "root", "Ada Admin", "api")
    missing = http.get("/admin/sessions/zz", bearer=ADMIN)
    assert (missing.status_code, missing.json()) == (404, {"error": "Session not found", "code": "NOT_FOUND"})


def test_takeover_and_release_in_go_shapes(http, sessions):
    response = http.post("/admin/takeover/b", bearer=ADMIN)
    assert (response.status_code, response.json()) == (
        200,
        {"message": "Takeover initiated successfully", "session_id": "b", "admin_id": "root"},
    )
    assert http.post("/admin/takeover/b", bearer=ADMIN).status_code == 200  # idempotent for its holder
    second = http.post("/admin/takeover/b", bearer=OTHER_ADMIN)
    assert (second.status_code, second.json()) == (
        400,
        {"error": "session already assisted by another admin: Ada Admin (root)", "code": "BAD_REQUEST"},
    )
    refused = http.post("/admin/sessions/b/release", bearer=OTHER_ADMIN)
    assert (refused.status_code, refused.json()) == (
        409,
        {"error": "You are not assisting this session", "code": "NOT_ASSISTING"},
    )
    released = http.post("/admin/sessions/b/release", bearer=ADMIN)
    assert (released.status_code, released.json()) == (200, {"message": "Session released", "session_id": "b"})
    session = Session.objects(id="b").get()
    assert session.takeover_by is None and session.admin_assisted is True
    assert [e.action for e in AuditEntry.objects(session_id="b").order_by("ts")] == [
        "takeover_start",
        "takeover_start",
        "takeover_end",
    ]


@pytest.mark.parametrize("path", ["/admin/takeover/zz", "/admin/takeover/a"])  # unknown, ended
def test_takeover_of_a_missing_or_ended_session_is_404(http, sessions, path):
    response = http.post(path, bearer=ADMIN)
    assert (response.status_code, response.json()) == (404, {"error": "Session not found", "code": "NOT_FOUND"})


def test_metrics_shape_and_window(http, sessions):
    query = "?start_time=2026-11-20T12:00:00Z&end_time=2026-11-20T13:00:00Z"
    body = http.get("/admin/metrics" + query, bearer=ADMIN).json()
    assert body["time_range"] == {"start": "2026-11-20T12:00:00Z", "end": "2026-11-20T13:00:00Z"}
    # a: 12:00-12:30; b: open from 13:00 (touches the window's end). Peak 1, area 30 min of 60.
    assert {
        k: body[k]
        for k in (
            "total_sessions",
            "active_sessions",
            "max_concurrent",
            "avg_concurrent",
            "total_tokens",
            "admin_assisted_count",
        )
    } == {
        "total_sessions": 2,
        "active_sessions": 1,
        "max_concurrent": 1,
        "avg_concurrent": 0.5,
        "total_tokens": 550,
        "admin_assisted_count": 1,
    }
    dates = http.get("/admin/metrics?start_time=2026-11-20&end_time=2026-11-20", bearer=ADMIN).json()
    assert dates["time_range"] == {"start": "2026-11-20T00:00:00Z", "end": "2026-11-20T23:59:59Z"}


@pytest.mark.parametrize(
    "query,message",
    [
        ("?start_time=now", "Invalid time format, expected RFC3339 or YYYY-MM-DD"),
        ("?start_time=2026-11-21T00:00:00Z&end_time=2026-11-20T00:00:00Z", "end_time must be after start_time"),
    ],
)
def test_metrics_refuses_bad_windows(http, query, message):
    response = http.get("/admin/metrics" + query, bearer=ADMIN)
    assert (response.status_code, response.json()) == (400, {"error": message, "code": "BAD_REQUEST"})


def test_admin_rate_limit_with_retry_after(make_server):
    from .conftest import Http

    http = Http(make_server(admin_rate_limit=3, admin_rate_window=60.0))
    for _ in range(5):
        assert http.get("/admin/sessions").status_code == 401  # anonymous calls are never counted
    assert [http.get("/admin/sessions", bearer=ADMIN).status_code for _ in range(3)] == [200, 200, 200]
    limited = http.get("/admin/metrics", bearer=ADMIN)
    body = limited.json()
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert body["error"] == "rate_limit_exceeded" and 0 < body["retry_after_ms"] <= 60000
    assert body["message"] == "Too many requests. Please try again later."
    assert http.get("/admin/sessions", bearer=OTHER_ADMIN).status_code == 200  # per admin
