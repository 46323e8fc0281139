"""Shutdown waits briefly for notification sends in progress; what it cannot wait for stays ``queued`` in the log,
with a note the dashboard's Outbox shows."""

import gevent
from aiosmtpd.controller import Controller
from conftest import free_port

from .conftest import SmtpSink, ask_for_help, eventually, notifier_of, outbox_page, rows


def retrying_server(make_server, clock, port):
    server = make_server(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls=False,
        admin_emails=["ops@example.com"],
        notify_rules="help_request=email",
    )
    notifier_of(server).clock = clock  # the retry backoff waits on the test's clock
    return server


def first_attempt_failed(server):
    return (
        rows(event="help_request", channel="email")
        and notifier_of(server).sending
        and all(row.attempts == 1 for row in notifier_of(server).sending.values())
    )


def test_shutdown_waits_for_a_send_in_progress(make_server, connect, clock):
    port = free_port()
    server = retrying_server(make_server, clock, port)
    ask_for_help(server, connect)
    eventually(lambda: first_attempt_failed(server))  # SMTP down: the send waits to try again

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        stopping = gevent.spawn(server.services.lifecycle.shutdown, grace=10.0)
        eventually(lambda: server.services.lifecycle.draining and not server.services.hub.connections)
        assert not stopping.ready()  # sockets are closed, the notifier's send is still being waited for
        clock.advance(60)  # the backoff ends: the second attempt reaches the SMTP server that is up now
        stopping.join(timeout=15)
        assert stopping.successful()
    finally:
        controller.stop()
    (row,) = rows(event="help_request", channel="email")
    assert (row.status, row.attempts) == ("sent", 2)
    assert [m.subject for m in sink.mails] == ["Help Request - User alice"]


def test_a_send_still_retrying_at_shutdown_is_left_queued_with_a_note(make_server, connect, clock):
    server = retrying_server(make_server, clock, free_port())
    ask_for_help(server, connect)
    eventually(lambda: first_attempt_failed(server))
    server.services.lifecycle.shutdown(grace=0.0)  # the notifier still waits its minimum (2 s), then gives up

    (row,) = rows(event="help_request", channel="email")
    assert (row.status, row.attempts) == ("queued", 1)
    note = "not sent: the service stopped while this was being sent (after 1 failed attempt(s)); it is not retried"
    assert row.error == note
    assert not notifier_of(server).background  # nothing keeps running after the wait
    page = outbox_page(server)
    assert "queued" in page and "it is not retried" in page
