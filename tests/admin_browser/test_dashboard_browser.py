"""The dashboard in Chromium: live rows, takeover typed in the browser, hand-back, charts, inert payloads, CSRF."""

import pytest
from conftest import admin_token

from .conftest import shot

ADMIN = admin_token("root", "Ada Admin")


@pytest.fixture
def live(make_server):
    return make_server(demo_chunk_delay=0.05)


def sign_in(page, server):
    page.goto(f"{server.url}/dashboard/?token={ADMIN}")
    page.wait_for_selector("text=Sign out")
    assert "token=" not in page.url
    assert page.evaluate("Object.keys(localStorage).length") == 0
    assert page.evaluate("document.cookie") == ""  # HttpOnly: invisible to scripts


def wait_ready(page, selector="[sse-connect]"):
    # The SSE extension opens its stream after load; give it the moment to connect before the event happens.
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].length > 0 && [...document.querySelectorAll(s)].every("
        "e => e['htmx-internal-data'] && e['htmx-internal-data'].sseEventSource "
        "&& e['htmx-internal-data'].sseEventSource.readyState === 1)",
        arg=selector,
    )


def test_row_appears_live_and_takeover_from_the_browser(page, live, connect):
    sign_in(page, live)
    wait_ready(page)
    user = connect("alice", target=live)
    user.send(type="user_message", content="Please tell me a long story about boats.")
    first = user.recv_until(lambda f: f["type"] == "ai_response")
    sid = first[-1]["session_id"]
    page.wait_for_selector(f"#row-{sid}")  # no reload: the row arrived by itself
    shot(page, "sessions-live-row")

    page.click(f"#row-{sid} a.open")
    page.wait_for_selector("#conversation .msg-user")
    assert page.url.endswith(f"/dashboard/sessions/{sid}")  # the URL follows the open conversation
    assert page.locator(f"#row-{sid}.selected").count() == 1
    assert page.is_disabled("#composer textarea")
    assert "Take over" in page.inner_text("#composer-reason")
    wait_ready(page)
    page.wait_for_selector(".msg-ai.streaming, .msg-ai")
    page.click("button.takeover")
    frames = user.recv_until(lambda f: f["type"] == "admin_join")
    assert any(f.get("metadata", {}).get("interrupted") == "true" for f in frames)
    page.wait_for_selector("text=You are assisting this user")
    page.wait_for_selector("#conversation >> text=has joined the session")
    page.wait_for_function("() => !document.querySelector('#composer textarea').disabled")
    assert "You are assisting" in page.inner_text("#composer-reason")
    assert page.evaluate("document.activeElement.id") == "composer-text"  # ready to write

    page.fill("#composer textarea", "Hi, I'm here.")
    page.click("#composer button[type=submit]")
    to_user = user.recv_until(lambda f: f.get("sender") == "admin")[-1]
    assert to_user["content"] == "Hi, I'm here."
    page.wait_for_selector(".msg-admin >> text=Hi, I'm here.")
    assert page.inner_text(".msg-admin .who") == "Ada Admin (support)"  # as the user's page labels it
    assert page.input_value("#composer textarea") == ""

    user.send(type="user_message", content="Thank you, human!")
    page.wait_for_selector(".msg-user >> text=Thank you, human!")
    page.wait_for_selector("#panel dd.msgs >> text=4", state="attached")  # the facts panel refreshed itself too
    assert not [f for f in user.quiet(1.0) if f["type"] == "loading"]  # the AI stays silent
    shot(page, "session-taken-over")

    page.click("button.release")
    user.recv_until(lambda f: f["type"] == "admin_leave")
    page.wait_for_selector("button.takeover")
    page.wait_for_function("() => document.querySelector('#composer textarea').disabled")  # after the settle
    assert page.locator("#panel details.facts").count() == 1
    page.click("#panel details.facts summary")
    assert page.locator("#panel table.audit >> text=took over").count() == 1
    assert page.locator("#panel table.audit >> text=handed back").count() == 1
    user.send(type="user_message", content="And now the AI again?")
    user.reply(timeout=30)
    page.wait_for_selector(".msg-ai >> text=And now the AI again?")
    page.wait_for_selector(".badge.assisted")
    assert page.errors == []


def test_script_payloads_in_user_content_are_inert(page, live, connect):
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    user = connect("mallory", target=live)
    user.send(type="user_message", content=payload)
    sid = user.reply(timeout=30)[-1]["session_id"]
    sign_in(page, live)
    page.goto(f"{live.url}/dashboard/sessions/{sid}")
    wait_ready(page)
    user.send(type="user_message", content=payload + " again")  # the live path too
    page.wait_for_selector(".msg-user >> text=again")
    texts = page.locator(".msg-user .msg-text").all_inner_texts()
    assert texts[0] == payload and texts[-1] == payload + " again"
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#conversation img, #conversation script").count() == 0


def test_charts_are_drawn_with_data(page, live, connect):
    user = connect("carol", target=live)
    for text in ("One.", "Two."):
        user.send(type="user_message", content=text)
        user.reply(timeout=30)
    sign_in(page, live)
    page.goto(f"{live.url}/dashboard/metrics?range=24h")
    assert page.locator("svg.chart").count() == 3
    assert page.inner_text("#card-total_sessions .value") == "1"
    assert int(page.inner_text("#card-total_tokens .value")) > 0
    assert page.locator("#chart-concurrency rect.bar:not([data-value='0'])").count() >= 1
    assert page.locator("#chart-tokens rect.bar[data-value]:not([data-value='0'])").count() >= 1
    assert page.locator("#chart-latency rect.bar:not([data-value='0'])").count() >= 1
    shot(page, "metrics-charts")


def test_posts_without_the_csrf_token_are_refused(page, live, connect):
    user = connect("dave", target=live)
    user.send(type="user_message", content="Hello.")
    sid = user.reply(timeout=30)[-1]["session_id"]
    sign_in(page, live)
    page.goto(f"{live.url}/dashboard/sessions/{sid}")
    status = page.evaluate(
        """async (url) => (await fetch(url, {method: 'POST', credentials: 'same-origin'})).status""",
        f"{live.url}/dashboard/sessions/{sid}/takeover",
    )
    assert status == 403
    # A plain form whose hidden token was stripped (as a forged form would be) is refused too.
    page.goto(f"{live.url}/dashboard/status")
    page.evaluate("document.querySelector('form.signout input[name=csrf_token]').remove()")
    page.click("form.signout button")
    page.wait_for_selector("text=Missing or invalid CSRF token")
    page.goto(f"{live.url}/dashboard/")
    page.wait_for_selector("text=Sign out")  # still signed in: the forged sign-out did nothing
    from chatbox.models import Session

    assert Session.objects(id=sid).get().takeover_by is None
