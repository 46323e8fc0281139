"""Reply drafts through the real SDKs against fake servers: only for the admin holding the session, cached per
user message, never sent or shown to the user, audited when a sent message started from one, off means no request."""

import pytest
import requests
from conftest import admin_token

from chatbox.copilot.suggestions import INSTRUCTIONS, split_drafts
from chatbox.models import AuditEntry

from .conftest import chat, copilot_requests

MARKER = INSTRUCTIONS[:40]
ADMIN = {"Authorization": f"Bearer {admin_token('root', 'Ada Admin')}"}
OTHER = {"Authorization": f"Bearer {admin_token('second', 'Bob Admin')}"}
DRAFTS = [
    "1. Sorry about that, ",
    "let me check your order.\n2. Could you share the order number?\n",
    "- I can refund it.",
]
TEXTS = ["Sorry about that, let me check your order.", "Could you share the order number?", "I can refund it."]


def call(server, method, path, headers=ADMIN, **kwargs):
    return requests.request(method, f"{server.url}/dashboard/sessions/{path}", headers=headers, timeout=10, **kwargs)


def taken_over(server, connect, fake, words=("My order never came.",)):
    client, sid = chat(server, connect, fake, list(words))
    assert call(server, "POST", f"{sid}/takeover").ok
    client.recv_until(lambda f: f["type"] == "admin_join")
    return client, sid


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_holder_gets_three_drafts_counted_under_their_own_label(vendor, vendors, copilot_server, connect):
    fake = vendors(vendor)
    server = copilot_server(fake)
    client, sid = taken_over(server, connect, fake)
    fake.chunks = DRAFTS
    page = call(server, "GET", f"{sid}/suggestions").text
    for index, text in enumerate(TEXTS):
        assert f'data-suggestion="1:{index}">{text}</button>' in page
    asked = copilot_requests(fake, MARKER)
    assert len(asked) == 1 and "User: My order never came." in str(asked[0].body)
    registry = server.services.metrics.registry
    labels = {"feature": "reply_suggestions", "provider": vendor}
    assert registry.get_sample_value("chatbox_copilot_tokens_used_total", labels) == 15
    # Suggestions are not replies: the user's token series did not move for them.
    assert registry.get_sample_value("chatbox_tokens_used_total", {"provider": vendor}) == 15
    assert not [f for f in client.quiet(0.5) if any(t in json_text(f) for t in TEXTS)]


def json_text(frame) -> str:
    import json

    return json.dumps(frame)


def test_drafts_are_cached_until_the_user_writes_again(vendors, copilot_server, connect):
    fake = vendors("openai")
    server = copilot_server(fake)
    client, sid = taken_over(server, connect, fake)
    fake.chunks = ["Draft one."]
    assert "Draft one." in call(server, "GET", f"{sid}/suggestions").text
    assert "Draft one." in call(server, "GET", f"{sid}/suggestions").text
    assert len(copilot_requests(fake, MARKER)) == 1  # a refresh costs no new request
    client.send(type="user_message", content="Hello? Anyone?", session_id=sid, metadata={"client_msg_id": "c1"})
    client.recv_until(lambda f: f.get("metadata", {}).get("client_msg_id") == "c1")
    fake.chunks = ["Draft two."]
    page = call(server, "GET", f"{sid}/suggestions").text
    assert "Draft two." in page and 'data-suggestion="3:0"' in page
    assert len(copilot_requests(fake, MARKER)) == 2
    assert "Hello? Anyone?" in str(copilot_requests(fake, MARKER)[-1].body)


def test_nobody_but_the_holder_gets_drafts_and_no_request_is_made(vendors, copilot_server, connect):
    fake = vendors("openai")
    server = copilot_server(fake)
    _, sid = chat(server, connect, fake, ["Hi."])
    assert "suggestion" not in call(server, "GET", f"{sid}/suggestions").text  # the AI holds it
    assert call(server, "POST", f"{sid}/takeover").ok
    assert "suggestion" not in call(server, "GET", f"{sid}/suggestions", headers=OTHER).text  # another admin
    assert call(server, "GET", "nope/suggestions").status_code == 404
    assert not copilot_requests(fake, MARKER)


def test_switched_off_requests_nothing_and_the_pane_has_no_drafts(vendors, copilot_server, connect):
    fake = vendors("openai")
    server = copilot_server(fake, admin_reply_suggestions=False)
    _, sid = taken_over(server, connect, fake)
    assert 'id="suggestions"' not in call(server, "GET", sid).text
    assert "suggestion" not in call(server, "GET", f"{sid}/suggestions").text
    assert not copilot_requests(fake, MARKER) and len(fake.requests) == 1


def test_failing_model_gives_no_drafts_and_is_counted(vendors, copilot_server, connect):
    fake = vendors("anthropic")
    server = copilot_server(fake)
    _, sid = taken_over(server, connect, fake)
    fake.fail(529, times=None)
    response = call(server, "GET", f"{sid}/suggestions")
    assert response.status_code == 200 and "suggestion" not in response.text
    labels = {"feature": "reply_suggestions", "provider": "anthropic"}
    assert server.services.metrics.registry.get_sample_value("chatbox_copilot_failures_total", labels) == 1


@pytest.mark.parametrize(
    ("sent", "token", "detail"),
    [
        ("Could you share the order number?", "1:1", "sent as drafted"),
        ("Could you share the order number, please?", "1:1", "edited before sending"),
        ("Anything", "7:0", "draft no longer known here"),
        ("My own words.", "", None),
    ],
)
def test_audit_notes_a_message_that_started_from_a_draft(vendors, copilot_server, connect, sent, token, detail):
    fake = vendors("openai")
    server = copilot_server(fake)
    client, sid = taken_over(server, connect, fake)
    fake.chunks = DRAFTS
    call(server, "GET", f"{sid}/suggestions")
    assert call(server, "POST", f"{sid}/messages", data={"content": sent, "suggestion": token}).ok
    assert client.recv_until(lambda f: f.get("sender") == "admin")[-1]["content"] == sent
    notes = [a.detail for a in AuditEntry.objects(session_id=sid, action="reply_from_suggestion")]
    assert notes == ([detail] if detail else [])


@pytest.mark.parametrize("token", ["x", "1:3", "1:0:0", "-1:0", "1:", ":1", "9999999999999:0"])
def test_a_forged_suggestion_token_is_refused_and_nothing_is_sent(vendors, copilot_server, connect, token):
    fake = vendors("openai")
    server = copilot_server(fake)
    client, sid = taken_over(server, connect, fake)
    response = call(server, "POST", f"{sid}/messages", data={"content": "Hello.", "suggestion": token})
    assert response.status_code == 400 and "suggestion is not valid" in response.text
    assert not [f for f in client.quiet(0.4) if f.get("sender") == "admin"]
    assert not AuditEntry.objects(session_id=sid, action="reply_from_suggestion").count()


@pytest.mark.parametrize(
    ("answer", "drafts"),
    [
        ("One.\nTwo.\nThree.\nFour.", ("One.", "Two.", "Three.")),
        ('- "Quoted."\n* Starred\n\n3) Numbered', ("Quoted.", "Starred", "Numbered")),
        ("First sentence. Second one? Third! Fourth.", ("First sentence.", "Second one?", "Third!")),
        ("", ()),
        ("x" * 600, ("x" * 497 + "...",)),
    ],
)
def test_split_drafts(answer, drafts):
    assert split_drafts(answer) == drafts


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("admin_handoff_summary_model", "nope", "ADMIN_HANDOFF_SUMMARY_MODEL 'nope' is not a configured provider id"),
        ("admin_reply_suggestions_model", "gpt9", "ADMIN_REPLY_SUGGESTIONS_MODEL 'gpt9' is not a configured provider"),
        ("admin_handoff_summary_wait", -1.0, "ADMIN_HANDOFF_SUMMARY_WAIT must not be negative"),
    ],
)
def test_bad_copilot_settings_stop_the_start(make_server, setting, value, message):
    from chatbox.settings import SettingsError

    with pytest.raises(SettingsError, match=message):
        make_server(**{setting: value})


def test_a_separate_model_drafts_when_one_is_named(vendors, make_server, connect):
    from .conftest import provider

    main, helper = vendors("openai"), vendors("anthropic")
    server = make_server(
        providers=[provider(main, "main"), provider(helper, "helper")], admin_reply_suggestions_model="helper"
    )
    _, sid = taken_over(server, connect, main)
    helper.chunks = ["From the helper model."]
    assert "From the helper model." in call(server, "GET", f"{sid}/suggestions").text
    assert not copilot_requests(main, MARKER) and len(copilot_requests(helper, MARKER)) == 1
