"""Operational events become alerts: AI provider failures and rate-limit refusals only as bursts, the rest each
time (within the rate limit); every value escaped."""

from .conftest import eventually, notifier_of, rows, settle

ADMIN = ["ops@example.com"]


def alert_server(make_server, smtp_server, **extra):
    return make_server(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_tls=False, admin_emails=ADMIN, **extra)


def failing_replies(client, count):
    """Send ``count`` messages; return the error codes of their replies and the session id."""
    codes, sid = [], ""
    for _ in range(count):
        client.send(type="user_message", content="Hello?")
        frames = client.reply()
        codes += [f["error"]["code"] for f in frames if f["type"] == "error"]
        sid = frames[-1]["session_id"]
    return codes, sid


def test_llm_failure_burst_produces_one_alert(make_server, connect, smtp_server):
    # The demo model is too slow for this deadline, so every reply fails with LLM_TIMEOUT.
    server = alert_server(
        make_server, smtp_server, llm_stream_timeout=0.05, demo_chunk_delay=2.0, notify_llm_failures=3
    )
    alice, bob = connect("alice", target=server), connect("bob", target=server)
    assert failing_replies(alice, 2)[0] == ["LLM_TIMEOUT"] * 2
    settle(server)
    assert smtp_server.envelopes == []

    _, bob_sid = failing_replies(bob, 1)
    eventually(lambda: smtp_server.envelopes)
    failing_replies(alice, 3)
    settle(server)
    (mail,) = smtp_server.mails
    assert mail.subject == "CRITICAL: AI provider failures"
    assert "3 failures within 5m: LLM_TIMEOUT x3" in mail.text
    assert "Affected users: 2" in mail.text
    assert "Provider: demo" in mail.text
    assert f"Session ID: {bob_sid}" in mail.text and "User ID: alice, bob" in mail.text
    assert f"/chat/dashboard/sessions/{bob_sid}" in mail.text
    assert [r.key for r in rows(event="llm_failure")] == ["llm_failure:demo"]


def test_rate_limit_refusal_burst_produces_one_alert(make_server, connect, smtp_server):
    server = alert_server(make_server, smtp_server, rate_limit=1, notify_refusal_burst=3)
    client = connect("spammer", target=server)
    client.send(type="user_message", content="one")
    client.reply()
    refusals = 0
    for _ in range(5):
        client.send(type="user_message", content="again")
        frame = client.recv_until(lambda f: f["type"] == "error")[-1]
        refusals += frame["error"]["code"] == "TOO_MANY_REQUESTS"
    assert refusals == 5
    eventually(lambda: smtp_server.envelopes)
    settle(server)
    (mail,) = smtp_server.mails
    assert mail.subject == "CRITICAL: Burst of rate-limit refusals"
    assert "3 rate-limit refusals within 1m" in mail.text
    assert "User ID: spammer" in mail.text and "Affected users: 1" in mail.text


def test_crash_alert_escapes_the_error(make_server, connect, smtp_server):
    server = alert_server(make_server, smtp_server, notify_rules="crash=email")
    connect("alice", target=server)
    server.services.alert("crash", error="ValueError('<img src=x onerror=alert(1)>')")
    eventually(lambda: smtp_server.envelopes)
    mail = smtp_server.mails[0]
    assert mail.subject == "CRITICAL: Unhandled exception"
    assert "<img" not in mail.html
    assert "ValueError(&#x27;&lt;img src=x onerror=alert(1)&gt;&#x27;)" in mail.html
    assert "Affected users: 1" in mail.text  # alice is connected
    assert '<a href="http://localhost:8080/chat/dashboard">Open Dashboard</a>' in mail.html
    settle(server)
    assert [(r.key, r.channel) for r in rows(event="crash")] == [("crash:ValueError", "email")]


def test_database_unavailable_goes_to_email_and_sms(make_server, smtp_server):
    server = alert_server(make_server, smtp_server, admin_phones=["+15551230001"])
    server.services.alert("database_unavailable", reason="readiness ping failed")
    eventually(lambda: smtp_server.envelopes)
    settle(server)
    assert "Error: readiness ping failed" in smtp_server.mails[0].text
    sms = rows(event="database_unavailable", channel="sms")
    assert [(r.transport, r.status, r.recipient) for r in sms] == [("outbox", "outbox", "+15551230001")]
    assert sms[0].body.startswith("CRITICAL: Database unavailable - 0 users affected. readiness ping failed.")


def test_a_new_burst_after_the_window_alerts_again(make_server, clock):
    server = make_server(admin_emails=ADMIN, notify_llm_failures=2, notify_llm_failure_window=60.0)
    notifier_of(server).clock = clock

    def fail(user):
        server.services.alert(
            "llm_failure", provider="openai-main", code="LLM_UNAVAILABLE", session_id="s-" + user, user_id=user
        )

    fail("a")
    settle(server)
    assert rows(event="llm_failure") == []
    for user in ("b", "c", "d"):  # one burst: reported once
        fail(user)
    settle(server)
    assert len(rows(event="llm_failure")) == 1
    clock.advance(61)
    fail("e")
    settle(server)
    assert len(rows(event="llm_failure")) == 1  # one failure after the window is not a burst
    fail("f")
    settle(server)
    second = rows(event="llm_failure")
    assert len(second) == 2 and "2 failures within 1m: LLM_UNAVAILABLE x2" in second[-1].body
    assert second[-1].key == "llm_failure:openai-main" and second[-1].user_id == "e, f"
