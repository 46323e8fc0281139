"""A help request nobody takes over within HELP_ESCALATE_AFTER is re-sent by SMS once, by one pod, from the database
(not a timer): two pods sweeping send it once, a restarted app still does it, a takeover prevents it."""

import gevent
import pytest

from chatbox.auth import Identity
from chatbox.models import Session
from chatbox.notify.escalation import sweep_interval
from chatbox.settings import Settings

from .conftest import PHONES, ask_for_help, eventually, notifier_of, rows, settle, sms_server

ADMIN = Identity("root", ("admin",), "Ada Admin")


def escalating_server(make_server, twilio, clock, **extra):
    server = sms_server(make_server, twilio, help_escalate_after=300.0, admin_emails=[], **extra)
    notifier_of(server).clock = clock
    return server


def escalations(twilio):
    return [form for form in twilio.forms if "NOT ANSWERED" in form["Body"]]


def sweep(*servers):
    """One sweep on each server at the same time (as pods do); how many each escalated."""
    jobs = [gevent.spawn(server.services.escalator.sweep) for server in servers]
    gevent.joinall(jobs, timeout=15, raise_error=True)
    for server in servers:
        settle(server)
    return [job.value for job in jobs]


def test_unanswered_help_is_escalated_once_even_with_two_pods_sweeping(make_server, connect, twilio, clock):
    pod_a, pod_b = (escalating_server(make_server, twilio, clock) for _ in range(2))
    _, sid, _ = ask_for_help(pod_a, connect)
    eventually(lambda: len(twilio.requests) == len(PHONES))

    clock.advance(299)
    assert sweep(pod_a, pod_b) == [0, 0] and escalations(twilio) == []

    clock.advance(60)
    assert sorted(sweep(pod_a, pod_b)) == [0, 1]
    assert sweep(pod_b, pod_a) == [0, 0]
    assert len(escalations(twilio)) == len(PHONES)
    body = escalations(twilio)[0]["Body"]
    assert body.startswith(f"Help Request NOT ANSWERED - User alice still needs assistance. Session: {sid}")
    assert f"/chat/dashboard/sessions/{sid}" in body
    assert [r.status for r in rows(event="help_escalation")] == ["sent"] * len(PHONES)
    session = Session.objects.get(id=sid)
    assert session.escalated_help_ts == session.help_time


def test_no_escalation_when_an_admin_took_over(make_server, connect, twilio, clock):
    server = escalating_server(make_server, twilio, clock)
    client, sid, _ = ask_for_help(server, connect)
    server.services.takeover.start(sid, ADMIN)
    client.recv_until(lambda f: f["type"] == "admin_join")
    clock.advance(3600)
    assert sweep(server) == [0]
    assert escalations(twilio) == [] and rows(event="help_escalation") == []


def test_a_restarted_app_escalates_what_the_stopped_one_left(make_server, connect, twilio, clock):
    before = escalating_server(make_server, twilio, clock)
    _, sid, _ = ask_for_help(before, connect)
    eventually(lambda: len(twilio.requests) == len(PHONES))
    before.stop()  # as a pod stopping with SIGTERM: nothing about the pending escalation lives in it

    clock.advance(301)
    after = escalating_server(make_server, twilio, clock)
    assert sweep(after) == [1]
    assert len(escalations(twilio)) == len(PHONES) and sid in escalations(twilio)[0]["Body"]


def test_asking_again_after_a_hand_back_escalates_the_new_request(make_server, connect, twilio, clock):
    server = escalating_server(make_server, twilio, clock)
    client, sid, _ = ask_for_help(server, connect)
    clock.advance(301)
    assert sweep(server) == [1]
    server.services.takeover.start(sid, ADMIN)
    server.services.takeover.end(sid, ADMIN)
    client.send(type="help_request", session_id=sid)
    client.recv_until(lambda f: f["type"] == "connection_status" and "Help request" in f.get("content", ""))
    # (the store stamps helpTs with real time, which this test's clock is already 301 s past: the new request is due)
    clock.advance(600)
    assert sweep(server) == [1]
    assert sweep(server) == [0]
    assert len(escalations(twilio)) == 2 * len(PHONES)


def test_the_sweep_runs_in_the_background(make_server, connect, twilio):
    server = sms_server(make_server, twilio, help_escalate_after=0.5, admin_emails=[])
    ask_for_help(server, connect)
    eventually(lambda: len(escalations(twilio)) == len(PHONES))
    escalator = server.services.escalator
    swept = escalator.swept
    eventually(lambda: escalator.swept > swept + 2)  # it keeps sweeping, and sends nothing more
    settle(server)
    assert len(escalations(twilio)) == len(PHONES)


@pytest.mark.parametrize("after, interval", [(300.0, 30.0), (60.0, 6.0), (5.0, 0.5), (0.1, 0.05), (86400.0, 30.0)])
def test_sweep_interval_is_a_tenth_of_the_wait_bounded(after, interval):
    assert sweep_interval(Settings.for_tests(help_escalate_after=after)) == interval


def test_no_sweep_when_escalation_is_off(make_server):
    server = make_server(help_escalate_after=0.0)
    assert server.services.escalator is None


def test_escalation_repeats_the_handoff_summary(make_server, connect, twilio, clock):
    server = escalating_server(make_server, twilio, clock)
    _, sid, _ = ask_for_help(server, connect)
    eventually(lambda: len(twilio.requests) == len(PHONES))
    eventually(lambda: Session.objects.get(id=sid).handoff_summary)  # the demo model's summary, stored
    clock.advance(360)
    assert sweep(server) == [1]
    body = escalations(twilio)[0]["Body"]
    assert 'Summary: [demo model] You said: "User: Hello.' in body
