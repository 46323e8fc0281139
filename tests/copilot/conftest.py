"""Fixtures for the admin copilot: fake OpenAI/Anthropic servers (the real SDKs talk to them), a real SMTP server,
and an app configured with both."""

import json

import pytest
from llm.conftest import MODELS
from llm.fakes import FakeVendor
from notify.conftest import SmtpSink, eventually, settle  # noqa: F401 (re-exported for the tests)

from chatbox.models import Notification
from chatbox.settings import ProviderConfig

ADMINS = ["ops@example.com"]


@pytest.fixture
def vendors():
    """Factory: ``vendors("openai")`` starts a fake vendor; all are closed after the test."""
    made = []

    def factory(vendor: str) -> FakeVendor:
        made.append(FakeVendor(vendor))
        return made[-1]

    yield factory
    for fake in made:
        fake.close()


def provider(fake: FakeVendor, id: str = "") -> ProviderConfig:
    vendor = fake.vendor
    return ProviderConfig(
        id=id or f"{vendor}-main",
        name=f"{vendor.title()} (fake)",
        type=vendor,
        endpoint=fake.endpoint,
        api_key=fake.api_key,
        model=MODELS[vendor],
    )


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from conftest import free_port

    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def copilot_server(make_server, smtp_server):
    """Factory: an app whose providers are the given fakes, mailing help alerts to ``smtp_server``."""
    servers = []

    def factory(*fakes: FakeVendor, **overrides):
        overrides.setdefault("smtp_host", "127.0.0.1")
        overrides.setdefault("smtp_port", smtp_server.port)
        overrides.setdefault("smtp_tls", False)
        overrides.setdefault("admin_emails", ADMINS)
        overrides.setdefault("email_from", "alerts@chatbox.test")
        server = make_server(providers=[provider(fake) for fake in fakes], **overrides)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.services.notifier.stop()


@pytest.fixture(autouse=True)
def clean_notifications():
    yield
    Notification.objects.delete()


def chat(server, connect, fake: FakeVendor, words, user_id="alice"):
    """Open a session and exchange one message per item of ``words`` with the fake; return (client, sid)."""
    client, sid = connect(user_id, target=server), ""
    for text in words:
        client.send(type="user_message", content=text, **({"session_id": sid} if sid else {}))
        sid = client.reply()[-1]["session_id"]
    return client, sid


def help_request(client, sid):
    client.send(type="help_request", session_id=sid)
    return client.recv_until(lambda f: f["type"] == "connection_status" and "Help request" in f.get("content", ""))


def copilot_requests(fake: FakeVendor, marker: str):
    """The fake's recorded requests whose instructions contain ``marker`` (the copilot's, not the user's replies)."""
    return [r for r in fake.requests if marker in json.dumps(r.body)]
