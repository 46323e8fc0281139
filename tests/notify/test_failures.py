"""When the SMTP server is down: each message is retried, logged as failed, counted, and the chat is unaffected."""

import urllib.request

from conftest import free_port, text_of

from .conftest import ask_for_help, eventually, notifier_of, rows, settle


def test_smtp_down_is_retried_logged_and_does_not_touch_the_chat(make_server, connect, caplog):
    server = make_server(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_tls=False, admin_emails=["ops@example.com"])
    notifier = notifier_of(server)
    notifier.backoff = 0.05
    client, sid, ack = ask_for_help(server, connect)

    # The user has the acknowledgement at once, and the AI still answers while the alert is being retried.
    assert ack["metadata"]["help_requested"] == "true"
    client.send(type="user_message", content="Are you there?")
    assert "Are you there?" in text_of(client.reply())

    eventually(lambda: rows(event="help_request", channel="email", status="failed"))
    settle(server)
    (row,) = rows(event="help_request", channel="email")
    assert (row.status, row.attempts, row.transport, row.session_id) == ("failed", 3, "smtp", sid)
    assert "Connection refused" in row.error or "ConnectionRefusedError" in row.error
    assert caplog.text.count("attempt 1 of 3") == 1 and caplog.text.count("attempt 3 of 3") == 1
    assert "failed after 3 attempts" in caplog.text

    scrape = urllib.request.urlopen(f"{server.url}/metrics/prometheus", timeout=10).read().decode()
    assert 'chatbox_notification_retries_total{channel="email"} 2.0' in scrape
    assert 'chatbox_notifications_total{channel="email",event="help_request",status="failed"} 1.0' in scrape
    assert 'chatbox_notifications_total{channel="sms",event="help_request",status="outbox"} 1.0' in scrape


def test_a_broken_notification_log_does_not_stop_the_alert(make_server, connect, smtp_server, monkeypatch):
    from pymongo.errors import ServerSelectionTimeoutError

    from chatbox.models import Notification

    def unavailable(self, *args, **kwargs):
        raise ServerSelectionTimeoutError("no servers")

    server = make_server(
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_tls=False, admin_emails=["ops@example.com"]
    )
    ask_for_help(server, connect)
    monkeypatch.setattr(Notification, "save", unavailable)
    server.services.alert("database_unavailable", reason="readiness ping failed")
    eventually(lambda: any(m.subject == "CRITICAL: Database unavailable" for m in smtp_server.mails))
