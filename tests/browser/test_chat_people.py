"""Help requests, an admin taking over and handing back, the session list, and hostile content, in Chromium."""

import json

import websocket

from chatbox.settings import ProviderConfig

from .browser_helpers import (
    ai_texts,
    chat_url,
    open_chat,
    screenshot,
    send,
    user_token,
    wait_connected,
    wait_reply_done,
)

TWO_MODELS = [
    ProviderConfig(id="demo", name="Demo", type="demo"),
    ProviderConfig(id="demo-b", name="Demo B", type="demo"),
]


class Admin:
    """A second WebSocket client acting as the admin, joined to the user's session."""

    def __init__(self, server, sid):
        url = f"{server.ws_url}?token={user_token(server, 'root', 'Ada Admin', roles=('admin',))}&session_id={sid}"
        self.ws = websocket.create_connection(url, timeout=10)
        self.recv()  # greeting

    def send(self, **frame):
        self.ws.send(json.dumps(frame))

    def recv(self):
        return json.loads(self.ws.recv())

    def recv_until(self, predicate):
        while True:
            frame = self.recv()
            if predicate(frame):
                return frame


def active_sid(server, user="alice"):
    return server.services.store.active_id(user)


def test_help_request_asks_for_confirmation_and_shows_it_is_pending(make_server, open_page):
    server = make_server()
    page = open_chat(open_page(), server)
    send(page, "My order is late.")
    wait_reply_done(page)
    page.click("#help-btn")
    page.wait_for_selector("#help-dialog[open]")
    screenshot(page, "chat-help-confirm")
    page.click("#help-confirm-btn")
    page.wait_for_selector("#help-status:not([hidden])")  # the banner says it (once: no line repeats it)
    assert page.locator("#help-btn").is_disabled() and page.locator("#help-btn").inner_text() == "Help requested"
    assert server.services.store.get(active_sid(server)).help_requested is True
    page.goto(chat_url(server))  # the pending state survives a reload (the server says so in its greeting)
    wait_connected(page)
    page.wait_for_selector("#help-status:not([hidden])")
    screenshot(page, "chat-help-pending")


def test_cancelling_the_help_dialog_sends_nothing(make_server, open_page):
    server = make_server()
    page = open_chat(open_page(), server)
    send(page, "Hi.")
    wait_reply_done(page)
    page.click("#help-btn")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('help-dialog').open")
    assert page.locator("#help-status").is_hidden() and not page.locator("#help-btn").is_disabled()
    assert server.services.store.get(active_sid(server)).help_requested is not True


def test_an_admin_takes_over_talks_and_hands_back(make_server, open_page):
    server = make_server(providers=TWO_MODELS)
    page = open_chat(open_page(), server)
    assert page.locator("#model-selector-container").is_visible()
    send(page, "I need a person.")
    wait_reply_done(page)
    admin = Admin(server, active_sid(server))
    admin.send(type="admin_join", sender="admin")
    page.wait_for_selector("#admin-name-display:not([hidden])")
    assert page.locator("#admin-name-display").inner_text() == "Assisted by Ada Admin"
    assert page.locator("#model-selector-container").is_hidden()
    admin.send(type="user_message", sender="admin", content="Hi, I'm here.")
    bubble = page.locator(".message.admin")
    bubble.wait_for()
    assert bubble.locator(".message-content").inner_text() == "Hi, I'm here."
    assert bubble.locator(".who").inner_text() == "Ada Admin (support)"  # as the dashboard labels it
    send(page, "Thanks, where is my parcel?")
    seen = admin.recv_until(lambda f: f["type"] == "user_message")
    assert seen["content"] == "Thanks, where is my parcel?"
    screenshot(page, "chat-assisted")
    admin.send(type="admin_leave", sender="admin")
    page.locator(".message.system", has_text="Administrator Ada Admin has left the session").wait_for()
    assert page.locator("#admin-name-display").is_hidden()
    assert page.locator("#model-selector-container").is_visible()
    assert len(ai_texts(page)) == 1  # the AI stayed silent during the takeover
    send(page, "Back to the bot.")
    wait_reply_done(page, count=2)
    page.click("#back-btn")
    page.wait_for_selector(".session-item")
    assert page.locator(".session-item .admin-badge").inner_text() == "Admin assisted"
    screenshot(page, "history-assisted")


def test_the_model_choice_is_remembered_for_the_session(make_server, open_page):
    server = make_server(providers=TWO_MODELS)
    page = open_chat(open_page(), server)
    send(page, "Hello.")
    wait_reply_done(page)
    page.select_option("#model-selector", "demo-b")
    page.locator(".message.system", has_text="Model changed to demo-b").wait_for()
    assert server.services.store.get(active_sid(server)).model_id == "demo-b"
    page.goto(page.url.split("#")[0] + "#token=" + user_token(server))
    wait_connected(page)
    assert page.locator("#model-selector").input_value() == "demo-b"


def test_the_session_list_opens_old_conversations_read_only_and_the_active_one_live(make_server, open_page):
    server = make_server()
    page = open_chat(open_page(), server)
    send(page, "First question.")
    wait_reply_done(page)
    page.click("#new-chat-btn")
    page.wait_for_function("() => !document.querySelector('.message')")
    wait_connected(page)
    send(page, "Second question.")
    wait_reply_done(page)
    page.click("#back-btn")
    page.wait_for_selector(".session-item")
    assert "token=" not in page.url
    names = page.locator(".session-item .session-name").all_inner_texts()
    assert names == ["Second question.", "First question."]
    assert page.locator(".session-item").first.locator(".active-badge").count() == 1
    assert page.locator(".session-messages").all_inner_texts() == ["2 messages", "2 messages"]
    screenshot(page, "history")
    page.locator(".session-item").nth(1).locator("a").press("Enter")  # keyboard works too
    page.wait_for_selector("#readonly-bar:not([hidden])")
    page.get_by_text("First question.").first.wait_for()
    assert page.locator("#input-area").is_hidden()
    assert page.locator("#session-title").inner_text() == "First question."
    page.click("#back-btn")
    page.locator(".session-item").first.locator("a").click()
    wait_connected(page)
    page.wait_for_selector(".message.ai")
    assert page.locator(".message.user").all_inner_texts()[0].endswith("Second question.")
    assert server.services.store.get(server.services.store.active_id("alice")).name == "Second question."


def test_html_in_user_text_ai_markdown_and_admin_text_is_inert(make_server, open_page):
    server = make_server()
    page = open_chat(open_page(), server)
    payload = (
        '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> **bold** '
        "[bad](javascript:window.__pwned=3) [good](https://example.com/a_b)"
    )
    send(page, payload)
    wait_reply_done(page)
    admin = Admin(server, active_sid(server))
    admin.send(type="user_message", sender="admin", content='<b onmouseover="window.__pwned=4">admin</b>')
    page.locator(".message.admin").wait_for()
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".messages img, .messages script, .messages b").count() == 0
    mine = page.locator(".message.user .message-content")
    assert mine.locator("strong").inner_text() == "bold"  # the user's own bubble renders the same subset
    assert '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>' in mine.inner_text()
    assert mine.locator("a").count() == 1 and mine.locator("a").get_attribute("href") == "https://example.com/a_b"
    ai = page.locator(".message.ai .message-content")
    assert ai.locator("strong").inner_text() == "bold"
    links = ai.locator("a")
    assert links.count() == 1
    assert links.get_attribute("href") == "https://example.com/a_b"
    assert links.get_attribute("rel") == "noopener noreferrer"
    assert "[bad](javascript:" in ai.inner_text()
    assert '<b onmouseover="window.__pwned=4">admin</b>' in page.locator(".message.admin").inner_text()


def test_error_codes_are_shown_in_plain_words(make_server, open_page):
    server = make_server(rate_limit=1)
    page = open_chat(open_page(), server)
    send(page, "One.")
    wait_reply_done(page)
    send(page, "Two.")
    line = page.locator(".message.system.error")
    line.wait_for()
    assert line.inner_text().startswith("Too many requests, please slow down (try again in ")
