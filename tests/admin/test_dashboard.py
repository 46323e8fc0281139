"""Dashboard pages over HTTP: sign-in cookie, filters in the URL, CSV, metrics page, status page, outbox."""

import csv
import io
import re
from datetime import timedelta

import pytest
from conftest import token

from chatbox.clock import utcnow
from chatbox.models import SESSION_INDEXES, AuditEntry, Message, Notification, Session

from .conftest import ADMIN, T0, make_session


def test_sign_in_by_link_sets_a_strict_cookie_and_drops_the_token(http):
    response = http.get("/dashboard/?token=" + ADMIN)
    assert response.status_code == 303 and response.headers["Location"] == "/chat/dashboard/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"chatbox_admin={ADMIN};")
    for attribute in ("Secure", "HttpOnly", "Path=/chat/", "SameSite=Strict"):
        assert attribute in cookie
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "offered,status,text",
    [
        (token("alice"), 403, "Insufficient permissions"),
        ("garbage", 401, "That token is invalid or expired"),
        (token("root", roles=("admin",), secret="z" * 40), 401, "That token is invalid or expired"),
    ],
)
def test_sign_in_refusals(http, offered, status, text):
    for response in (http.get("/dashboard/?token=" + offered), http.post("/dashboard/signin", data={"token": offered})):
        assert response.status_code == status and text in response.text
        assert "Set-Cookie" not in response.headers


def test_sign_in_form_and_sign_out(http):
    response = http.post("/dashboard/signin", data={"token": ADMIN})
    assert response.status_code == 303 and "HttpOnly" in response.headers["Set-Cookie"]
    out = http.post("/dashboard/signout", cookie=ADMIN, csrf=http.csrf(ADMIN))
    assert out.status_code == 303 and out.headers["Set-Cookie"].startswith("chatbox_admin=; Expires=Thu, 01 Jan 1970")


def test_pages_carry_csp_and_no_token_in_the_page(http):
    page = http.get("/dashboard/", cookie=ADMIN)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert ADMIN not in page.text and "localStorage" not in page.text


@pytest.fixture
def table():
    make_session(
        "help1",
        user="hana",
        start=utcnow() - timedelta(minutes=5),
        messages=2,
        help_requested=True,
        total_tokens=42,
        name="I need a human",
    )
    make_session(
        "old1", user="=cmd|' /C calc'!A0", start=T0, end=T0 + timedelta(minutes=1), messages=1, name="+SUM(A1)"
    )


def test_csv_export_defuses_formulas(http, table):
    response = http.get("/dashboard/sessions.csv?sort_by=start_time&sort_order=asc", cookie=ADMIN)
    assert response.headers["Content-Disposition"] == 'attachment; filename="sessions.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["session_id"] for row in rows] == ["old1", "help1"]
    assert rows[0]["user_id"] == "'=cmd|' /C calc'!A0" and rows[0]["name"] == "'+SUM(A1)"
    assert rows[1]["total_tokens"] == "42" and rows[1]["help_requested"] == "True"


def test_session_page_audits_the_read_and_escapes_content(http):
    make_session("x1", messages=0)
    Session.objects(id="x1").update_one(
        push__messages=Message(content="<img src=x onerror=alert(1)>", ts=utcnow(), sender="user", seq=1)
    )
    page = http.get("/dashboard/sessions/x1", cookie=ADMIN).text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    assert [(a.action, a.detail) for a in AuditEntry.objects(session_id="x1")] == [("read", "dashboard")]
    panel = http.get("/dashboard/sessions/x1/panel", cookie=ADMIN, headers={"HX-Request": "true"})  # live refresh
    assert panel.status_code == 200 and "<html" not in panel.text
    assert AuditEntry.objects(session_id="x1").count() == 1
    pane = http.get("/dashboard/sessions/x1", cookie=ADMIN, headers={"HX-Request": "true"}).text  # opened in the inbox
    assert "<html" not in pane and 'data-sid="x1"' in pane and AuditEntry.objects(session_id="x1").count() == 2
    assert http.get("/dashboard/sessions/nope", cookie=ADMIN).status_code == 404


def test_metrics_page_numbers_agree(http):
    now = utcnow().replace(second=0, microsecond=0)
    replies = [
        Message(content="a", ts=now - timedelta(minutes=9), sender="ai", seq=2, response_ms=800, usage={"total": 50}),
        Message(content="b", ts=now - timedelta(minutes=8), sender="ai", seq=4, response_ms=2500, usage={"total": 70}),
        Message(content="c", ts=now - timedelta(minutes=7), sender="ai", seq=6, response_ms=300, interrupted=True),
    ]
    make_session("m1", start=now - timedelta(minutes=10), total_tokens=120)
    Session.objects(id="m1").update_one(push_all__messages=replies)
    make_session("m2", start=now - timedelta(minutes=6), admin_assisted=True)
    page = http.get("/dashboard/metrics?range=24h", cookie=ADMIN).text
    card = lambda key: re.search(rf'id="card-{key}"><div class="label">[^<]*</div><div class="value">([^<]*)<', page)[1]  # noqa: E731
    assert (card("active_sessions"), card("total_sessions"), card("max_concurrent")) == ("2", "2", "2")
    assert card("avg_concurrent") in ("0.011", "0.012", "0.013")  # 16-18 session-minutes over 1,440, not "0.00"
    assert page.count('class="card"') == 8  # two full rows of four
    concurrency = page[page.index('id="chart-concurrency"') : page.index('id="chart-tokens"')]
    bars = re.findall(r'data-value="([0-9.]+)"', concurrency)
    # Hourly bars; both sessions are still open now, so the last hour peaks at 2. In the first minutes of an hour
    # they started in the previous one, whose bar then holds the ones already open.
    hour_start = now.replace(minute=0)
    earlier = str(sum(start < hour_start for start in (now - timedelta(minutes=10), now - timedelta(minutes=6))))
    assert len(bars) == 25 and bars[-1] == "2" and bars[-2] == earlier and set(bars[:-2]) == {"0"}
    last_label = re.findall(r'<text class="xlabel" x="([0-9.]+)"[^>]*>([^<]+)<', concurrency)[-1]
    assert float(last_label[0]) + len(last_label[1]) * 6.5 / 2 <= 640 - 12  # the last axis label fits the frame
    tokens = page[page.index('id="chart-tokens"') : page.index('id="chart-latency"')]
    token_bars = re.findall(r'data-value="([0-9.]+)"', tokens)
    this_hour = sum((m.usage or {}).get("total", 0) for m in replies if m.ts >= hour_start)  # each reply's own hour
    assert [float(v) for v in token_bars[-2:]] == [120 - this_hour, this_hour]
    latency = page[page.index('id="chart-latency"') :]
    assert sum(int(v) for v in re.findall(r'data-value="([0-9]+)"', latency)) == 2
    assert "2 finished replies in the window (1 interrupted not counted)" in latency
    hour = http.get("/dashboard/metrics?range=1h", cookie=ADMIN).text
    hour_bars = hour[hour.index('id="chart-concurrency"') : hour.index('id="chart-tokens"')].count('class="bar"')
    assert hour_bars == 13  # 5-minute buckets from the one the hour starts in
    bad = http.get("/dashboard/metrics?start_time=2026-11-22&end_time=2026-11-21", cookie=ADMIN)
    assert bad.status_code == 400 and "end_time must be after start_time" in bad.text


def test_status_page_and_creating_missing_indexes(http):
    Session._get_collection().drop_indexes()
    page = http.get("/dashboard/status", cookie=ADMIN).text
    assert page.count("MISSING") == len(SESSION_INDEXES) and 'id="create-indexes"' in page
    lines = dict(re.findall(r'<li data-summary="([^"]+)">.*?<span class="badge [a-z]+">([a-z]+)</span>', page))
    assert lines == {
        "MongoDB": "ok",
        "Indexes": "degraded",
        "Redis": "ok",
        "S3": "ok",
        "SMTP": "ok",
        "SMS": "ok",
        "AI providers": "ok",
    }
    total = len(SESSION_INDEXES)
    assert f"0 of {total} present: missing idx_user_id" in page and '<span class="badge degraded" id="overall">' in page
    assert page.index('class="summary"') < page.index("<details")  # details folded below the summary
    assert 'data-dependency="MongoDB"' in page and 'data-provider="demo"' in page
    assert "JWT_SECRET</th><td><code>(set)</code>" in page and "k" * 48 not in page
    created = http.post("/dashboard/status/indexes", cookie=ADMIN, csrf=http.csrf(ADMIN))
    assert created.status_code == 303
    page = http.get("/dashboard/status", cookie=ADMIN).text
    assert "MISSING" not in page and page.count(">present<") >= 5
    assert '<span class="badge ok" id="overall">' in page and f"{total} of {total} present" in page


def test_outbox_lists_notifications_newest_first(http):
    Notification(
        ts=utcnow() - timedelta(minutes=1),
        event="help_request",
        channel="email",
        transport="outbox",
        recipient="ops@example.com",
        subject="Help <needed>",
        body="open it",
        status="queued",
        session_id="s9",
    ).save()
    Notification(
        ts=utcnow(),
        event="help_request",
        channel="sms",
        transport="outbox",
        recipient="+15550100",
        body="second",
        status="queued",
    ).save()
    page = http.get("/dashboard/outbox", cookie=ADMIN).text
    assert page.index("+15550100") < page.index("ops@example.com") and "Help &lt;needed&gt;" in page
