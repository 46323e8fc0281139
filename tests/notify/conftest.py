"""Fixtures for notifications: a real SMTP server (aiosmtpd), a fake Twilio REST endpoint, a clock tests move."""

import json
import time
import urllib.request
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs

import gevent
import gevent.event
import pytest
from aiosmtpd.controller import Controller
from conftest import admin_token, free_port
from gevent.pywsgi import WSGIServer

from chatbox.clock import utcnow
from chatbox.integrations.twilio_sms import TwilioSms
from chatbox.models import Notification

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "f" * 16 + "0" * 16


@pytest.fixture(autouse=True)
def clean_notifications():
    yield
    Notification.objects.delete()


def eventually(probe, timeout=15.0, interval=0.02):
    """Poll ``probe`` until it returns something truthy; fail with what it last returned."""
    deadline, value = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        gevent.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


def ask_for_help(server, connect, user_id="alice"):
    """Open a session with one message, press help; return (client, session id, acknowledgement frame)."""
    client = connect(user_id, target=server)
    client.send(type="user_message", content="Hello.")
    frames = client.reply()
    sid = frames[-1]["session_id"]
    client.send(type="help_request", session_id=sid)
    ack = client.recv_until(lambda f: f["type"] == "connection_status" and "Help request" in f.get("content", ""))
    return client, sid, ack[-1]


def outbox_page(server):
    """The dashboard's Outbox page as an admin sees it."""
    request = urllib.request.Request(
        f"{server.url}/dashboard/outbox", headers={"Authorization": f"Bearer {admin_token()}"}
    )
    return urllib.request.urlopen(request, timeout=10).read().decode()


def notifier_of(server):
    return server.services.notifier


def settle(server, timeout=15.0):
    """Wait until every notification the server has started sending is finished."""
    assert notifier_of(server).join(timeout), "notifications still sending"


def rows(**filters):
    return list(Notification.objects(**filters).order_by("ts"))


class Mail:
    """One message the SMTP server received, parsed."""

    def __init__(self, envelope):
        self.mail_from, self.rcpt_tos = envelope.mail_from, list(envelope.rcpt_tos)
        self.message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.subject = str(self.message["Subject"])
        self.html = self.message.get_body(("html",)).get_content()
        self.text = self.message.get_body(("plain",)).get_content()


class SmtpSink:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def mails(self):
        return [Mail(envelope) for envelope in self.envelopes]


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free port; ``.port``, ``.mails``."""
    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


class FakeTwilio:
    """Twilio's Messages endpoint: records the form of each POST and answers 201 like Twilio (or ``fail_with``)."""

    def __init__(self):
        self.requests, self.fail_with = [], None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = WSGIServer(("127.0.0.1", self.port), self.app, log=None, error_log=None)
        self._server.start()

    def app(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        form = {key: values[0] for key, values in parse_qs(body).items()}
        self.requests.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": environ["PATH_INFO"],
                "form": form,
                "auth": environ.get("HTTP_AUTHORIZATION", ""),
            }
        )
        if self.fail_with:
            status, payload = self.fail_with, {"code": 20003, "message": "Authenticate", "status": 401}
        else:
            sid = TWILIO_SID
            status = "201 Created"
            payload = {
                "sid": f"SM{len(self.requests):032x}",
                "account_sid": sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/SM{len(self.requests):032x}.json",
            }
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]

    @property
    def forms(self):
        return [r["form"] for r in self.requests]

    def stop(self):
        self._server.stop(timeout=1)


@pytest.fixture
def twilio():
    fake = FakeTwilio()
    yield fake
    fake.stop()


PHONES = ["+15551230001", "+15551230002"]


def sms_server(make_server, twilio, **extra):
    """An app built with Twilio credentials (so it picks the real Twilio adapter) whose client talks to ``twilio``
    (ENVIRONMENT.md row 8: the api domain's base_url)."""
    extra.setdefault("admin_phones", PHONES)
    server = make_server(
        sms_account_sid=TWILIO_SID, sms_auth_token=TWILIO_TOKEN, sms_from_number="+15550001111", **extra
    )
    sms = notifier_of(server).sms
    assert isinstance(sms, TwilioSms)
    sms.client.api.base_url = twilio.url
    return server


class ManualClock:
    """A clock that moves only when the test says so; ``sleep`` waits for ``advance``."""

    def __init__(self):
        self.offset, self.sleepers = 0.0, 0
        self._start = utcnow()
        self._moved = gevent.event.Event()

    def monotonic(self):
        return self.offset

    def now(self):
        return self._start + timedelta(seconds=self.offset)

    def sleep(self, seconds):
        deadline = self.offset + seconds
        self.sleepers += 1
        try:
            while self.offset < deadline:
                moved = self._moved
                moved.wait()
        finally:
            self.sleepers -= 1

    def advance(self, seconds):
        self.offset += seconds
        moved, self._moved = self._moved, gevent.event.Event()
        moved.set()
        gevent.sleep(0)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def make_server(make_server):
    """The root factory, plus: stop each server's notifier afterwards (retrying sends may sleep on a test clock)."""
    servers = []

    def factory(**overrides):
        server = make_server(**overrides)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        notifier_of(server).stop()
