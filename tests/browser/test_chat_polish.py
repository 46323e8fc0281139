"""The chat page, shared view and embed without rough edges: Markdown on both sides, photo thumbnails opening full
size, one help notice, no help button while a person assists, a bad token named and input disabled, the picker's
accept list, one GET of the session per load, the view at the bottom after a reload, the favicon, dark theme."""

import re
import struct
import zlib
from pathlib import Path

import pytest

from chatbox.integrations.llm import DemoProvider, Turn

from .browser_helpers import chat_url, open_chat, screenshot, send, wait_reply_done
from .test_chat_people import Admin, active_sid


def real_png(width=64, height=48) -> bytes:
    """A decodable PNG (a gradient), so the browser really draws the thumbnail."""
    pixels = (bytes((x * 4 % 256, y * 5 % 256, 160)) for y in range(height) for x in range(width))
    flat = b"".join(pixels)
    rows = b"".join(b"\x00" + flat[y * width * 3 : (y + 1) * width * 3] for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def png_file(tmp_path) -> Path:
    path = tmp_path / "harbour-at-dusk.png"
    path.write_bytes(real_png())
    return path


def test_markdown_lists_and_links_render_on_both_sides(make_server, open_page):
    server = make_server()
    page = open_chat(open_page(), server)
    text = "Options:\n- **first** one\n- see https://example.com/a?b=1&c=2.\n1. numbered"
    send(page, text)
    wait_reply_done(page)
    for side in (".message.user", ".message.ai"):  # the demo model repeats the question in its answer
        content = page.locator(f"{side} .message-content").first
        assert content.locator("ul li").count() == 2, side
        assert content.locator("ol li").count() == 1, side
        assert content.locator("li strong").inner_text() == "first"
        link = content.locator("a")
        assert link.get_attribute("href") == "https://example.com/a?b=1&c=2"  # the full stop is not part of it
        assert link.get_attribute("rel") == "noopener noreferrer"
    assert "**" not in page.locator(".message.user").inner_text()


def test_photos_are_named_thumbnails_that_open_full_size_also_when_shared(make_server, open_page, tmp_path):
    server = make_server()
    page = open_chat(open_page(), server)
    page.set_input_files("#file-input", str(png_file(tmp_path)))
    page.wait_for_selector(".message.user:not(.pending) figure.photo")
    photo = page.locator("figure.photo").first
    assert photo.locator("figcaption").inner_text() == "harbour-at-dusk.png"
    box = photo.locator("img").bounding_box()
    assert box["width"] <= 200 and box["height"] <= 150
    photo.locator("a").click()
    page.wait_for_selector("#photo-viewer[open]")
    assert page.inner_text("#photo-viewer-name") == "harbour-at-dusk.png"
    page.keyboard.press("Escape")
    page.wait_for_selector("#photo-viewer:not([open])", state="attached")
    share = page.evaluate(
        "async (sid) => (await CB.api('/sessions/' + sid + '/share', {method: 'POST'})).share_token",
        active_sid(server),
    )
    shared = open_page()
    shared.goto(f"{server.url}/s/{share}")
    shared.wait_for_selector("figure.photo img")
    src = shared.get_attribute("figure.photo img", "src")
    assert "sig=" in src and "token=" not in src  # a short-lived signed link the share grants (issue 12)
    shared.wait_for_function("() => document.querySelector('figure.photo img').naturalWidth === 64")  # it loaded
    assert shared.request.get(server.url.rsplit("/chat", 1)[0] + src).status == 200
    assert shared.locator("#status-text time").count() == 1  # the conversation's date
    screenshot(shared, "shared-with-photo")


def test_reload_lands_at_the_bottom_with_one_request_for_the_session(make_server, open_page, tmp_path):
    server = make_server()
    page = open_page(width=400, height=600)
    url = chat_url(server)
    page.goto(url)
    page.wait_for_selector("body[data-connection=connected]")
    for index in range(3):
        send(page, f"Question {index}: " + "words " * 30)
        wait_reply_done(page, count=index + 1)
    page.set_input_files("#file-input", str(png_file(tmp_path)))
    page.wait_for_selector(".message.user:not(.pending) figure.photo")
    sid = active_sid(server)
    gets = []
    page.on("request", lambda r: gets.append(r.url) if re.search(rf"/sessions/{sid}(\?|$)", r.url) else None)
    page.goto(url + f"&session_id={sid}")
    page.wait_for_selector("body[data-connection=connected]")
    page.wait_for_selector("figure.photo img")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    page.wait_for_timeout(300)
    gap = page.evaluate(
        "() => { const m = document.getElementById('messages-container'); "
        "return m.scrollHeight - m.scrollTop - m.clientHeight; }"
    )
    assert gap <= 2, f"the view stops {gap}px above the bottom"
    assert len(gets) == 1, gets


def test_one_help_notice_and_no_help_button_while_a_person_assists(make_server, open_page):
    server = make_server()
    page = open_chat(open_page(), server)
    send(page, "Hello.")
    wait_reply_done(page)
    page.click("#help-btn")
    page.click("#help-confirm-btn")
    page.wait_for_selector("#help-status:not([hidden])")
    page.wait_for_timeout(500)
    assert page.locator(".message.system", has_text="Help request sent").count() == 0  # the banner says it once
    admin = Admin(server, active_sid(server))
    admin.send(type="admin_join", sender="admin")
    page.wait_for_selector("#admin-name-display:not([hidden])")
    assert not page.is_visible("#help-btn")
    admin.send(type="admin_leave", sender="admin")
    page.wait_for_selector("#admin-name-display[hidden]", state="attached")
    assert page.is_visible("#help-btn") and page.inner_text("#help-btn") == "Need help?"


@pytest.mark.parametrize(
    "token,words",
    [
        ("not-a-token", "the sign-in link is damaged"),
        ("a.b.c", "the sign-in link is damaged"),
        ("forged", "this sign-in was not accepted by the server"),
    ],
)
def test_a_bad_token_is_named_and_input_is_disabled(make_server, open_page, token, words):
    from datetime import timedelta

    from chatbox.auth import sign_token

    server = make_server()
    if token == "forged":
        token = sign_token("x" * 48, "alice", (), "", timedelta(hours=1))
    page = open_page()
    page.goto(f"{server.url}/?token={token}")
    page.locator("#status-text", has_text=words).wait_for()
    assert page.is_disabled("#message-input") and page.is_disabled("#send-btn") and page.is_disabled("#file-upload-btn")
    assert words in page.get_attribute("#message-input", "placeholder")


def test_the_picker_offers_what_the_server_accepts(make_server, open_page):
    from chatbox.pages import PICKER_ACCEPT

    server = make_server()
    page = open_chat(open_page(), server)
    accept = page.get_attribute("#file-input", "accept").split(",")
    assert accept == PICKER_ACCEPT.split(",")
    assert not [kind for kind in accept if kind.endswith("/*")]  # no wildcard lets an SVG or a Matroska through
    sniff = (Path(__file__).resolve().parents[2] / "chatbox/files/sniff.py").read_text()
    named = set(re.findall(r'"((?:image|audio|video|text|application)/[a-z0-9.+-]+)"', sniff))
    assert {kind for kind in accept if "/" in kind} == named  # every type the server names, and nothing else


def test_favicon_and_dark_theme(make_server, browser):
    server = make_server()
    context = browser.new_context(viewport={"width": 360, "height": 700}, color_scheme="dark")
    page = context.new_page()
    try:
        missing = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        page.goto(chat_url(server))
        page.wait_for_selector("body[data-connection=connected]")
        assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(15, 19, 27)"
        icon = page.get_attribute("link[rel=icon]", "href")
        assert page.request.get(server.url.rsplit("/chat", 1)[0] + icon).status == 200
        assert page.request.get(server.url + "/favicon.ico").status == 200
        send(page, "Hi.")
        wait_reply_done(page)
        assert missing == []
        assert DemoProvider.reply_for([Turn("user", "Hi.")])[:10] in page.inner_text(".message.ai")
        screenshot(page, "chat-dark-360")
    finally:
        context.close()
