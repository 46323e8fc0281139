"""SMS through the real twilio client against a local endpoint speaking Twilio's Messages API."""

import base64

from .conftest import (
    PHONES,
    TWILIO_SID,
    TWILIO_TOKEN,
    ask_for_help,
    eventually,
    notifier_of,
    rows,
    settle,
    sms_server,
)


def test_help_sms_reaches_twilio_with_to_from_body(make_server, connect, twilio):
    server = sms_server(make_server, twilio)
    _, sid, _ = ask_for_help(server, connect)

    eventually(lambda: len(twilio.requests) == len(PHONES))
    request = twilio.requests[0]
    assert request["method"] == "POST"
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request["auth"] == "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert sorted(form["To"] for form in twilio.forms) == PHONES
    assert {form["From"] for form in twilio.forms} == {"+15550001111"}
    body = twilio.forms[0]["Body"]
    assert body.startswith(f"Help Request - User alice needs assistance. Session: {sid}")
    assert f"/chat/dashboard/sessions/{sid}" in body
    settle(server)
    assert [(r.recipient, r.status, r.transport) for r in rows(event="help_request", channel="sms")] == [
        (PHONES[0], "sent", "twilio"),
        (PHONES[1], "sent", "twilio"),
    ]


def test_twilio_refusal_is_retried_logged_and_keeps_secrets_out(make_server, connect, twilio, caplog):
    server = sms_server(make_server, twilio, admin_emails=[])
    notifier_of(server).backoff = 0.01
    twilio.fail_with = "401 Unauthorized"
    ask_for_help(server, connect)

    settle(server)
    failed = rows(event="help_request", channel="sms")
    assert [(r.status, r.attempts) for r in failed] == [("failed", 3), ("failed", 3)]
    assert "401" in failed[0].error
    assert len(twilio.requests) == 3 * len(PHONES)
    everything = caplog.text + "".join(r.error for r in failed)
    assert "failed after 3 attempts" in caplog.text
    assert TWILIO_SID not in everything and TWILIO_TOKEN not in everything
