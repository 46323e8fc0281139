"""The handoff summary through the real OpenAI and Anthropic SDKs against fake servers: stored encrypted, in the
help e-mail and SMS, shown in the dashboard, never delaying or breaking the alert, never requested when off."""

import time

import pytest
from conftest import admin_token

from chatbox.copilot.summary import INSTRUCTIONS
from chatbox.models import Session

from .conftest import chat, copilot_requests, eventually, help_request, settle

MARKER = INSTRUCTIONS[:40]
SUMMARY = [
    "The user wants a refund ",
    "for order 42.\n",
    "Already tried: the AI's return steps. Urgent: travels Friday.",
]
ADMIN_BEARER = {"Authorization": f"Bearer {admin_token()}"}


def panel(server, sid):
    import requests

    return requests.get(f"{server.url}/dashboard/sessions/{sid}/panel", headers=ADMIN_BEARER, timeout=10).text


def metric(server, name, **labels):
    value = server.services.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_summary_is_stored_encrypted_mailed_and_shown(vendor, vendors, copilot_server, connect, smtp_server):
    fake = vendors(vendor)
    server = copilot_server(fake, encryption_key="0123456789abcdef0123456789abcdef")
    client, sid = chat(server, connect, fake, ["I want my money back for order 42."])
    fake.chunks = SUMMARY
    help_request(client, sid)
    eventually(lambda: smtp_server.envelopes)
    settle(server)

    asked = copilot_requests(fake, MARKER)
    assert len(asked) == 1
    assert "User: I want my money back for order 42." in str(asked[0].body)  # the conversation went to the model
    text = "".join(SUMMARY)
    mail = smtp_server.mails[0]
    body = mail.text.replace("\r\n", "\n")
    assert "Summary of the conversation so far:" in body and text in body
    assert "The user wants a refund for order 42.<br>Already tried" in mail.html

    raw = Session._get_collection().find_one({"_id": sid})
    assert raw["hoSum"] and "refund" not in raw["hoSum"]  # encrypted at rest, like message content
    assert raw["hoTs"] is not None
    assert server.services.store.handoff_summary(Session.objects(id=sid).get()) == text
    page = panel(server, sid)
    assert 'class="handoff"' in page and "The user wants a refund for order 42." in page

    assert metric(server, "chatbox_copilot_tokens_used_total", feature="handoff_summary", provider=fake.vendor) == 15
    assert metric(server, "chatbox_copilot_requests_total", feature="handoff_summary", provider=fake.vendor) == 1


def test_sms_carries_a_one_line_summary(vendors, make_server, connect):
    from notify.conftest import FakeTwilio, sms_server

    fake, twilio = vendors("openai"), FakeTwilio()
    try:
        server = sms_server(make_server, twilio, providers=[_provider(fake)])
        client, sid = chat(server, connect, fake, ["Help me please."])
        fake.chunks = SUMMARY
        help_request(client, sid)
        eventually(lambda: twilio.forms)
        body = twilio.forms[0]["Body"]
        assert "Summary: The user wants a refund for order 42. Already tried" in body
        assert "\n" not in body
    finally:
        server.services.notifier.stop()
        twilio.stop()


def _provider(fake):
    from .conftest import provider

    return provider(fake)


def test_slow_model_does_not_hold_the_alert_and_the_dashboard_fills_in(vendors, copilot_server, connect, smtp_server):
    fake = vendors("anthropic")
    server = copilot_server(fake, admin_handoff_summary_wait=0.5)
    client, sid = chat(server, connect, fake, ["Where is my parcel?"])
    fake.chunks, fake.delay = ["Parcel lost; ", "user is upset."], 1.5
    started = time.monotonic()
    help_request(client, sid)
    eventually(lambda: smtp_server.envelopes, timeout=10)
    took = time.monotonic() - started
    assert took < 2.5, f"the alert waited {took:.1f}s for a slow model"
    assert "Summary of the conversation" not in smtp_server.mails[0].text
    assert "Parcel lost" not in panel(server, sid)
    eventually(lambda: "Parcel lost; user is upset." in panel(server, sid), timeout=15)


def test_failing_model_leaves_the_alert_intact_and_is_logged_and_counted(
    vendors, copilot_server, connect, smtp_server, caplog
):
    fake = vendors("openai")
    server = copilot_server(fake)
    client, sid = chat(server, connect, fake, ["My account is locked."])
    fake.fail(500, times=None)
    caplog.set_level("WARNING", logger="chatbox.copilot")
    help_request(client, sid)
    eventually(lambda: smtp_server.envelopes)
    settle(server)
    mail = smtp_server.mails[0]
    assert mail.subject == "Help Request - User alice" and "Summary" not in mail.text
    assert any("handoff summary failed" in r.getMessage() for r in caplog.records)
    assert metric(server, "chatbox_copilot_failures_total", feature="handoff_summary", provider="openai") == 1
    assert Session._get_collection().find_one({"_id": sid}).get("hoSum") is None
    # The user heard nothing of it: the chat carries on and no error frame came.
    assert not [f for f in client.quiet(0.3) if f["type"] == "error"]


def test_switched_off_requests_nothing(vendors, copilot_server, connect, smtp_server):
    fake = vendors("openai")
    server = copilot_server(fake, admin_handoff_summary=False)
    client, sid = chat(server, connect, fake, ["Hello there."])
    help_request(client, sid)
    eventually(lambda: smtp_server.envelopes)
    settle(server)
    time.sleep(0.3)
    assert len(fake.requests) == 1  # the user's reply only
    assert not copilot_requests(fake, MARKER)
    assert "Summary" not in smtp_server.mails[0].text
    assert server.services.copilot.summaries is None


def test_new_help_request_after_more_conversation_refreshes_the_summary(vendors, copilot_server, connect):
    import requests

    fake = vendors("openai")
    server = copilot_server(fake)
    client, sid = chat(server, connect, fake, ["First question."])
    fake.chunks = ["First summary."]
    help_request(client, sid)
    eventually(lambda: "First summary." in panel(server, sid))
    # An admin takes over and hands back (the help flag clears), the user writes more and asks again.
    for step in ("takeover", "release"):
        assert requests.post(f"{server.url}/dashboard/sessions/{sid}/{step}", headers=ADMIN_BEARER, timeout=10).ok
    fake.chunks = ["An answer."]
    client.send(type="user_message", content="Second question.", session_id=sid)
    client.reply()
    fake.chunks = ["Second summary."]
    help_request(client, sid)
    eventually(lambda: "Second summary." in panel(server, sid))
    assert len(copilot_requests(fake, MARKER)) == 2
    assert "Second question." in str(copilot_requests(fake, MARKER)[-1].body)


def test_hostile_summary_is_escaped_in_the_mail_and_the_dashboard_and_clipped(
    vendors, copilot_server, connect, smtp_server
):
    fake = vendors("openai")
    server = copilot_server(fake)
    client, sid = chat(server, connect, fake, ["Hi."])
    fake.chunks = ['<script>alert("x")</script><img src=x onerror=alert(1)> ', "y" * 2000]
    help_request(client, sid)
    eventually(lambda: smtp_server.envelopes)
    html = smtp_server.mails[0].html
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html
    page = panel(server, sid)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    stored = server.services.store.handoff_summary(Session.objects(id=sid).get())
    assert len(stored) == 1200 and stored.endswith("...")


def test_asking_again_with_nothing_new_said_reuses_the_summary(vendors, copilot_server, connect, smtp_server):
    import requests

    fake = vendors("openai")
    server = copilot_server(fake)
    client, sid = chat(server, connect, fake, ["Question."])
    fake.chunks = ["Only summary."]
    help_request(client, sid)
    eventually(lambda: smtp_server.envelopes)
    for step in ("takeover", "release"):
        assert requests.post(f"{server.url}/dashboard/sessions/{sid}/{step}", headers=ADMIN_BEARER, timeout=10).ok
    # Takeover and hand-back leave system lines only in the live stream, not new stored messages.
    help_request(client, sid)
    eventually(lambda: len(smtp_server.envelopes) == 2)
    settle(server)
    assert len(copilot_requests(fake, MARKER)) == 1
    assert "Only summary." in smtp_server.mails[1].text


def test_demo_model_shows_both_features_as_make_run_does(make_server, connect):
    """No provider configured (``make run``): the demo model writes the summary (into the outbox e-mail within the
    default wait, at its default pace) and the drafts."""
    import requests

    from chatbox.models import Notification

    server = make_server(demo_chunk_delay=0.05)
    client = connect("alice", target=server)
    client.send(type="user_message", content="Hello.")
    sid = client.reply(timeout=20)[-1]["session_id"]
    help_request(client, sid)
    mail = eventually(lambda: Notification.objects(event="help_request", channel="email").first(), timeout=10)
    assert "Summary of the conversation so far:" in mail.body and "[demo model]" in mail.body
    assert requests.post(f"{server.url}/dashboard/sessions/{sid}/takeover", headers=ADMIN_BEARER, timeout=10).ok
    page = requests.get(f"{server.url}/dashboard/sessions/{sid}/suggestions", headers=ADMIN_BEARER, timeout=20).text
    assert page.count('class="suggestion"') >= 1 and "[demo model]" in page
    server.services.notifier.stop()
