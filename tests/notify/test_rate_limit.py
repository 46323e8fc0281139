"""Per-key rate limit (default 5 per 5 minutes): more are suppressed, counted, and summed up in the next message."""

import pytest
import websocket
from conftest import Client, token

from .conftest import eventually, notifier_of, outbox_page, rows, settle


def refuse_connections(server, times):
    for _ in range(times):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            Client(f"{server.ws_url}?token={token('mallory')}")
        assert refused.value.status_code == 503


def test_connection_cap_alerts_are_limited_and_summed_up(make_server, connect, smtp_server, clock):
    server = make_server(
        max_connections=1,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_tls=False,
        admin_emails=["ops@example.com"],
    )
    notifier_of(server).clock = clock
    connect("alice", target=server)

    refuse_connections(server, 7)
    eventually(lambda: len(smtp_server.envelopes) == 5)
    settle(server)
    (collapsed,) = rows(event="connection_cap", status="suppressed")  # one row counting, not one per alert
    assert (collapsed.count, collapsed.summarized, collapsed.key) == (2, None, "connection_cap")
    assert len(smtp_server.envelopes) == 5
    first = smtp_server.mails[0]
    assert first.subject == "CRITICAL: Connection cap reached"
    assert "1 connections open (MAX_CONNECTIONS)" in first.text
    assert "Affected users: 1" in first.text
    assert "suppressed" not in first.text

    clock.advance(301)
    refuse_connections(server, 1)
    eventually(lambda: len(smtp_server.envelopes) == 6)
    summary = smtp_server.mails[5]
    assert "+2 similar alerts suppressed" in summary.text
    assert "+2 similar alerts suppressed" in summary.html
    settle(server)
    assert [r.status for r in rows(event="connection_cap")].count("sent") == 6
    collapsed.reload()
    assert (collapsed.count, collapsed.summarized) == (2, True)

    refuse_connections(server, 5)  # over the limit again: a new row counts the new suppressions
    settle(server)
    assert [(r.count, r.summarized) for r in rows(event="connection_cap", status="suppressed")] == [
        (2, True),
        (1, None),
    ]
    page = outbox_page(server)
    assert page.index("×1") < page.index("×2")  # newest first
    assert "still counting" in page and "summed up in the next message" in page


def test_rate_limit_settings_apply(make_server, connect, clock):
    server = make_server(
        max_connections=1, notify_rate_limit=2, notify_rate_window=60.0, admin_emails=["ops@example.com"]
    )
    notifier_of(server).clock = clock
    connect("alice", target=server)
    refuse_connections(server, 3)
    settle(server)
    assert [r.status for r in rows(event="connection_cap")].count("outbox") == 2
    clock.advance(61)
    refuse_connections(server, 1)
    settle(server)
    latest = rows(event="connection_cap", status="outbox")[-1]
    assert "+1 similar alert suppressed" in latest.body
