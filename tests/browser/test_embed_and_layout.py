"""The embed script on a host page of another origin, the shared read-only view, and the 360 px layout."""

from datetime import timedelta

import pytest
from gevent.pywsgi import WSGIServer

from .browser_helpers import (
    free_port,
    open_chat,
    screenshot,
    send,
    user_token,
    wait_reply_done,
)

HOST_PAGE = """<!doctype html><html><head><title>Shop</title></head><body>
<h1>Acme shop</h1><div id="support"></div>
<script>
  window.tokenCalls = 0;
  window.getChatToken = function () {{ window.tokenCalls += 1; return Promise.resolve({tokens}[Math.min(window.tokenCalls - 1, 1)]); }};
</script>
<script src="{chat}/embed.js" data-mode="{mode}" data-target="#support" data-token-callback="getChatToken"
        data-title="Chat with us"></script>
</body></html>"""


@pytest.fixture
def host_site():
    """``host_site(html_factory)`` serves one page from another origin (another port)."""
    servers = []

    def start(render):
        port = free_port()
        origin = f"http://127.0.0.1:{port}"

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [render().encode()]

        server = WSGIServer(("127.0.0.1", port), app, log=None, error_log=None)
        server.start()
        servers.append(server)
        return origin

    yield start
    for server in servers:
        server.stop(timeout=1)


def host_origin_for(make_server, host_site, mode, allowed=True):
    box = {}
    origin = host_site(lambda: box["html"])
    server = make_server(demo_chunk_delay=0.0, embed_allowed_origins=[origin] if allowed else [])
    first = user_token(server, expires=timedelta(seconds=62))  # refreshed about 5 s in
    second = user_token(server, expires=timedelta(hours=1))
    box["html"] = HOST_PAGE.format(chat=server.url, mode=mode, tokens=f'["{first}", "{second}"]')
    return server, origin


def test_the_embed_script_opens_the_chat_inline_on_another_origin_and_refreshes_the_token(
    make_server, host_site, open_page
):
    _, origin = host_origin_for(make_server, host_site, "inline")
    page = open_page()
    page.goto(origin + "/")
    chat = page.frame_locator("iframe.chatbox-embed-frame")
    chat.locator("body[data-connection=connected]").wait_for()
    chat.locator("#message-input").fill("Hello from the shop.")
    chat.locator("#message-input").press("Enter")
    chat.locator(".message.ai:not(.streaming)").wait_for()
    assert "Hello from the shop." in chat.locator(".message.ai").inner_text()
    page.wait_for_function("() => window.tokenCalls >= 2", timeout=30_000)  # asked again before expiry
    chat.locator("#back-btn").click()  # navigation inside the iframe keeps the token
    chat.locator(".session-item").wait_for()
    assert chat.locator(".session-name").inner_text() == "Hello from the shop."
    screenshot(page, "embed-inline")


def test_the_embed_button_opens_a_panel(make_server, host_site, open_page):
    _, origin = host_origin_for(make_server, host_site, "button")
    page = open_page()
    page.goto(origin + "/")
    page.click("button.chatbox-embed-button")
    chat = page.frame_locator("iframe.chatbox-embed-frame")
    chat.locator("body[data-connection=connected]").wait_for()
    screenshot(page, "embed-button")


def test_a_host_origin_not_allowed_cannot_frame_the_chat(make_server, host_site, open_page):
    server, origin = host_origin_for(make_server, host_site, "inline", allowed=False)
    page = open_page()
    page.goto(origin + "/")
    page.wait_for_function("() => window.tokenCalls === 0 && document.querySelector('iframe.chatbox-embed-frame')")
    page.wait_for_timeout(1500)
    frame = page.frames[1]
    assert frame.url.startswith("chrome-error://") or not frame.query_selector("#messages-container")
    assert page.evaluate("window.tokenCalls") == 0  # the token was never handed over
    assert not server.services.hub.connections
    blocked = []
    for _ in range(40):  # console messages arrive asynchronously
        blocked = [p for p in open_page.problems if "frame-ancestors 'self'" in p and f":{server.port}/" in p]
        if blocked:
            break
        page.wait_for_timeout(250)
    assert blocked  # Chromium refused the framing because of our CSP (expected here, so not a test failure)
    open_page.problems[:] = [p for p in open_page.problems if p not in blocked]


def test_a_shared_link_opens_a_read_only_view_without_sign_in(make_server, open_page):
    server = make_server()
    page = open_chat(open_page(), server)
    send(page, "Share **this**.")
    wait_reply_done(page)
    page.click("#share-btn")
    page.wait_for_selector("#share-dialog[open]")
    link = page.locator("#share-url").input_value()
    assert link.startswith(server.url + "/s/")
    page.click("#share-copy-btn")
    page.locator("#share-copied", has_text="Copied!").wait_for()
    viewer = open_page(width=360, height=740)
    viewer.goto(link)
    viewer.wait_for_selector(".message.ai")
    assert viewer.locator("#session-title").inner_text() == "Share **this**."
    assert viewer.locator(".message.user").inner_text().endswith("Share this.")
    assert viewer.locator(".message.user strong").inner_text() == "this"
    assert viewer.locator("#input-area").count() == 0
    screenshot(viewer, "shared-360")
    missing = open_page()
    missing.goto(server.url + "/s/no-such-token")
    missing.locator(".message.system.error", has_text="Shared session not found").wait_for()


@pytest.mark.parametrize("path", ["/", "/history"])
def test_the_pages_fit_a_360_px_phone(make_server, open_page, path):
    server = make_server()
    page = open_chat(open_page(width=360, height=740), server)
    send(page, "A question from a phone with a long word: supercalifragilisticexpialidocious-and-more-and-more.")
    wait_reply_done(page)
    if path == "/history":
        page.click("#back-btn")
        page.wait_for_selector(".session-item")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    for control in ["#send-btn", "#message-input", "#help-btn", "#voice-btn"] if path == "/" else [".session-link"]:
        box = page.locator(control).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, control
    screenshot(page, f"{path.strip('/') or 'chat'}-360")
