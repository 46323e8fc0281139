"""A help request nobody takes over within HELP_ESCALATE_AFTER is sent again by SMS, once; time is the test's."""

from chatbox.auth import Identity

from .conftest import (
    PHONES,
    ask_for_help,
    eventually,
    notifier_of,
    rows,
    settle,
    sms_server,
)


def escalating_server(make_server, twilio, clock):
    server = sms_server(make_server, twilio, help_escalate_after=300.0, admin_emails=[])
    notifier_of(server).clock = clock
    return server


def escalations(twilio):
    return [form for form in twilio.forms if "NOT ANSWERED" in form["Body"]]


def test_unanswered_help_is_escalated_by_sms_once(make_server, connect, twilio, clock):
    server = escalating_server(make_server, twilio, clock)
    _, sid, _ = ask_for_help(server, connect)
    eventually(lambda: len(twilio.requests) == len(PHONES))
    eventually(lambda: clock.sleepers == 1)

    clock.advance(299)
    settle(server)
    assert escalations(twilio) == [] and clock.sleepers == 1

    clock.advance(2)
    eventually(lambda: len(escalations(twilio)) == len(PHONES))
    body = escalations(twilio)[0]["Body"]
    assert body.startswith(f"Help Request NOT ANSWERED - User alice still needs assistance. Session: {sid}")
    assert f"/chat/dashboard/sessions/{sid}" in body

    clock.advance(3600)
    eventually(lambda: clock.sleepers == 0)
    settle(server)
    assert len(escalations(twilio)) == len(PHONES)
    assert [r.status for r in rows(event="help_escalation")] == ["sent"] * len(PHONES)
    assert {r.channel for r in rows(event="help_escalation")} == {"sms"}


def test_no_escalation_when_an_admin_took_over(make_server, connect, twilio, clock):
    server = escalating_server(make_server, twilio, clock)
    client, sid, _ = ask_for_help(server, connect)
    eventually(lambda: len(twilio.requests) == len(PHONES))
    eventually(lambda: clock.sleepers == 1)

    server.services.takeover.start(sid, Identity("root", ("admin",), "Ada Admin"))
    client.recv_until(lambda f: f["type"] == "admin_join")
    clock.advance(301)
    eventually(lambda: clock.sleepers == 0)
    notifier_of(server).timers.join(timeout=10)
    settle(server)
    assert escalations(twilio) == []
    assert rows(event="help_escalation") == []
