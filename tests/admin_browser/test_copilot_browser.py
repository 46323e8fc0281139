"""The admin copilot in Chromium, with a fake OpenAI server behind the real SDK: the handoff summary atop the pane,
reply drafts beside the composer (shown, clicked, edited, sent; never sent on their own; never on the user's
socket), keyboard use, and axe-core at 1280 and 360 px, light and dark."""

import json

import pytest
from llm.fakes import FakeVendor

from chatbox.models import AuditEntry
from chatbox.settings import ProviderConfig

from .conftest import shot
from .test_accessibility import check
from .test_dashboard_browser import sign_in, wait_ready

SUMMARY = ["The user's order never arrived; ", "they want a refund before Friday."]
DRAFTS = ["Sorry about that, let me check.\n", "Could you share the order number?\n", "I can refund it today."]
SECRET_WORDS = ("let me check", "order number?", "refund it today", "Happy to help")


@pytest.fixture
def fake():
    server = FakeVendor("openai")
    yield server
    server.close()


@pytest.fixture
def app(make_server, fake):
    config = ProviderConfig(
        id="gpt", name="GPT (fake)", type="openai", endpoint=fake.endpoint, api_key=fake.api_key, model="gpt-4o-mini"
    )
    return make_server(providers=[config])


def leaked(frames) -> list:
    """Frames that carry a draft's words (the user must never see one unless the admin sent it)."""
    return [f for f in frames if any(word in json.dumps(f) for word in SECRET_WORDS)]


def open_conversation(page, app, connect, fake):
    user = connect("alice", target=app)
    user.send(type="user_message", content="My order never came.")
    sid = user.reply()[-1]["session_id"]
    fake.chunks = SUMMARY
    user.send(type="help_request", session_id=sid)
    user.recv_until(lambda f: f.get("metadata", {}).get("help_requested") == "true")
    sign_in(page, app)
    page.goto(f"{app.url}/dashboard/sessions/{sid}")
    wait_ready(page, ".pane-inner")
    return user, sid


def test_summary_and_drafts_shown_clicked_edited_and_sent_only_by_the_admin(page, app, connect, fake):
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/suggestions") else None)
    user, sid = open_conversation(page, app, connect, fake)
    page.wait_for_selector(".handoff >> text=they want a refund before Friday.")
    page.wait_for_timeout(600)
    # The AI holds it: the page asks for no drafts at all (the server would refuse them anyway).
    assert page.locator("#suggestions button.suggestion").count() == 0 and asked == []
    requests_before = len(fake.requests)

    fake.chunks = DRAFTS
    page.click("button.takeover")
    page.wait_for_selector("#suggestions button.suggestion >> text=Could you share the order number?")
    assert page.locator("#suggestions button.suggestion").count() == 3
    assert len(fake.requests) == requests_before + 1
    shot(page, "copilot-drafts")

    page.click("#suggestions button.suggestion >> nth=1")
    assert page.input_value("#composer-text") == "Could you share the order number?"
    assert page.evaluate("document.activeElement.id") == "composer-text"
    assert not leaked(user.quiet(1.0))  # a click sends nothing

    page.press("#composer-text", "End")
    page.type("#composer-text", " Happy to help.")
    page.click("#composer button[type=submit]")
    sent = user.recv_until(lambda f: f.get("sender") == "admin")[-1]
    assert sent["content"] == "Could you share the order number? Happy to help."
    page.wait_for_function("() => document.querySelector('#composer-text').value === ''")
    assert page.input_value("#composer-suggestion") == ""
    notes = [a.detail for a in AuditEntry.objects(session_id=sid, action="reply_from_suggestion")]
    assert notes == ["edited before sending"]

    # The user writes: the drafts follow, and the keyboard reaches them.
    fake.chunks = ["Thanks, order 42 it is; I am on it."]
    user.send(type="user_message", content="It is order 42.", session_id=sid)
    page.wait_for_selector("#suggestions button.suggestion >> text=Thanks, order 42 it is; I am on it.")
    page.focus("#suggestions button.suggestion")
    page.keyboard.press("Enter")
    assert page.input_value("#composer-text") == "Thanks, order 42 it is; I am on it."
    assert not leaked(user.quiet(1.0))  # drafts never reach the user's socket
    page.keyboard.press("Enter")  # Enter in the composer is the admin's Send
    assert user.recv_until(lambda f: f.get("sender") == "admin")[-1]["content"] == "Thanks, order 42 it is; I am on it."
    page.wait_for_function("() => document.querySelector('#composer-text').value === ''")
    notes = [a.detail for a in AuditEntry.objects(session_id=sid, action="reply_from_suggestion").order_by("ts")]
    assert notes == ["edited before sending", "sent as drafted"]

    page.click("button.release")
    page.wait_for_selector("button.takeover")
    page.wait_for_function("() => !document.querySelector('#suggestions button.suggestion')")
    requests_after = len(fake.requests)
    user.send(type="user_message", content="Back to the AI.", session_id=sid)
    user.reply()
    page.wait_for_selector(".msg-ai >> text=Thanks, order 42 it is")  # the AI answered (the fake's text)
    page.wait_for_timeout(800)  # past the drafts' refresh delay
    assert len(fake.requests) == requests_after + 1  # the reply only: no drafts asked for once handed back
    drafts_asked = len(asked)
    user.send(type="user_message", content="Still there?", session_id=sid)
    user.reply()
    page.wait_for_timeout(800)
    assert len(asked) == drafts_asked  # the page does not even ask while the AI holds the session
    assert page.locator("#suggestions button.suggestion").count() == 0
    assert page.errors == []


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (360, "dark")])
def test_copilot_parts_pass_axe_and_fit_the_screen(browser, app, connect, fake, width, scheme):
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        open_conversation(page, app, connect, fake)
        page.wait_for_selector(".handoff")
        fake.chunks = DRAFTS
        page.click("button.takeover")
        page.wait_for_selector("#suggestions button.suggestion")
        check(page, "copilot summary and drafts")
    finally:
        context.close()
