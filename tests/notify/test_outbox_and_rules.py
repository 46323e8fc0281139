"""Without SMTP or Twilio, messages go to the outbox (one JSON log line each, and the notification log); the rules
choose channels per event, and a bad setting stops startup with a message naming it."""

import json
import logging

import pytest

from chatbox import create_app
from chatbox.notify.notifier import Notifier
from chatbox.ops.logging import JsonFormatter
from chatbox.settings import Settings, SettingsError

from .conftest import ask_for_help, notifier_of, rows, settle


def test_outbox_holds_email_and_sms_with_the_session_link(make_server, connect, caplog):
    caplog.set_level(logging.INFO, logger="chatbox.outbox")
    server = make_server(
        admin_emails=["ops@example.com"],
        admin_phones=["+15551230001"],
        smtp_password="hunter2-smtp-password",
        sms_auth_token="twilio-token-without-sid",
    )
    _, sid, _ = ask_for_help(server, connect)
    settle(server)

    logged = rows(event="help_request")
    assert [(r.channel, r.transport, r.status, r.recipient) for r in logged] == [
        ("email", "outbox", "outbox", "ops@example.com"),
        ("sms", "outbox", "outbox", "+15551230001"),
    ]
    assert logged[0].subject == "Help Request - User alice"
    assert f"http://localhost:8080/chat/dashboard/sessions/{sid}" in logged[0].body
    assert logged[1].body.startswith(f"Help Request - User alice needs assistance. Session: {sid}")

    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "chatbox.outbox"]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    entries = [json.loads(line) for line in lines]
    assert entries[0]["message"].startswith("outbox email {")
    assert json.loads(entries[0]["message"].split(" ", 2)[2])["subject"] == "Help Request - User alice"
    assert json.loads(entries[1]["message"].split(" ", 2)[2])["to"] == "+15551230001"
    assert "hunter2" not in caplog.text and "twilio-token" not in caplog.text


def test_outbox_without_recipients_still_shows_what_would_go_out(make_server, connect):
    server = make_server()
    ask_for_help(server, connect)
    settle(server)
    assert [(r.channel, r.recipient, r.status) for r in rows(event="help_request")] == [
        ("email", "(no ADMIN_EMAILS set)", "outbox"),
        ("sms", "(no ADMIN_PHONES set)", "outbox"),
    ]


def test_real_transport_without_recipients_is_skipped_with_a_reason(make_server, connect, smtp_server):
    server = make_server(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_tls=False, admin_emails=[])
    ask_for_help(server, connect)
    settle(server)
    (email,) = rows(event="help_request", channel="email")
    assert (email.status, email.error) == ("skipped", "no recipients: set ADMIN_EMAILS")
    assert smtp_server.envelopes == []


@pytest.mark.parametrize(
    "rules, channels",
    [
        ("help_request=sms", ["sms"]),
        ("help_request=email", ["email"]),
        ("help_request = email + sms , crash=none", ["email", "sms"]),
        ("help_request=none", []),
    ],
)
def test_rules_choose_the_channels(make_server, connect, rules, channels):
    server = make_server(notify_rules=rules)
    ask_for_help(server, connect)
    settle(server)
    assert [r.channel for r in rows(event="help_request")] == channels


def test_rules_and_limits_from_the_environment():
    settings = Settings.load(
        {
            "CHATBOX_ENV": "test",
            "JWT_SECRET": "k" * 48,
            "NOTIFY_RULES": "crash=sms",
            "NOTIFY_RATE_LIMIT": "7",
            "NOTIFY_RATE_WINDOW": "10m",
            "NOTIFY_LLM_FAILURES": "4",
            "NOTIFY_LLM_FAILURE_WINDOW": "2m",
        }
    )
    app = create_app(settings)
    try:
        notifier = app.extensions["chatbox"].notifier
        assert isinstance(notifier, Notifier)
        assert notifier.rules["crash"] == ("sms",) and notifier.rules["help_request"] == ("email", "sms")
        assert (notifier.limiter.limit, notifier.limiter.window) == (7, 600.0)
        router = app.extensions["chatbox"].alert_router
        assert (router.llm.threshold, router.llm.window) == (4, 120.0)
    finally:
        notifier.stop()
        app.extensions["chatbox"].close()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"notify_rules": "help_request"},
            "NOTIFY_RULES: 'help_request' is not event=channels (e.g. help_request=email+sms, crash=none)",
        ),
        ({"notify_rules": "crash="}, "NOTIFY_RULES: 'crash=' is not event=channels"),
        (
            {"notify_rules": "pager=email"},
            (
                "NOTIFY_RULES: unknown event 'pager' (known: help_request, help_escalation, "
                "llm_failure, database_unavailable, connection_cap, rate_limited, crash)"
            ),
        ),
        (
            {"notify_rules": "crash=fax"},
            "NOTIFY_RULES: crash: unknown channel 'fax' (use email, sms, email+sms or none)",
        ),
        ({"notify_rules": "crash=email+"}, "NOTIFY_RULES: crash: unknown channel ''"),
        ({"notify_rate_limit": 0}, "NOTIFY_RATE_LIMIT must be at least 1 (got 0)"),
        ({"notify_llm_failures": -1}, "NOTIFY_LLM_FAILURES must be at least 1 (got -1)"),
        ({"notify_refusal_window": 0.0}, "NOTIFY_REFUSAL_WINDOW must be a positive duration such as 5m (got 0s)"),
        (
            {"sms_account_sid": "AC" + "1" * 32, "sms_auth_token": "t" * 32},
            "SMS_FROM_NUMBER is required when SMS_ACCOUNT_SID and SMS_AUTH_TOKEN are set",
        ),
    ],
)
def test_bad_settings_stop_startup_with_a_clear_error(overrides, message):
    with pytest.raises(SettingsError) as refused:
        create_app(Settings.for_tests(**overrides))
    assert message in str(refused.value)


def test_a_malformed_window_names_the_variable():
    with pytest.raises(SettingsError) as refused:
        Settings.load({"CHATBOX_ENV": "test", "JWT_SECRET": "k" * 48, "NOTIFY_RATE_WINDOW": "5 minutes"})
    assert "NOTIFY_RATE_WINDOW = '5 minutes' is not valid" in str(refused.value)


def test_notifier_is_the_chat_services_help_hook(server):
    assert server.services.chat.notifier is notifier_of(server)
