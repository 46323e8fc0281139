"""axe-core on the chat pages (empty, streaming, taken over, the session list, a shared view), light and dark, at
1000 and 360 px: no serious or critical violation and nothing wider than the screen."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from .browser_helpers import chat_url, screenshot, send, user_token, wait_reply_done
from .test_chat_people import Admin, active_sid

AXE = Axe()
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def check(page, where: str) -> None:
    found = AXE.run(page).response["violations"]
    bad = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
    screenshot(page, f"a11y-chat-{where}-{page.viewport_size['width']}")
    assert bad == [], where
    assert page.evaluate(NO_OVERFLOW), f"{where}: wider than the screen"


@pytest.mark.parametrize("width,scheme", [(1000, "light"), (1000, "dark"), (360, "light"), (360, "dark")])
def test_every_chat_page(make_server, browser, width, scheme):
    server = make_server(demo_chunk_delay=0.08)
    context = browser.new_context(viewport={"width": width, "height": 760}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(chat_url(server))
        page.wait_for_selector("body[data-connection=connected]")
        check(page, f"empty-{scheme}")
        send(page, "Tell me a long story with **bold**, a list:\n- one\n- two")
        page.wait_for_selector(".message.ai.streaming")
        check(page, f"streaming-{scheme}")
        wait_reply_done(page)
        admin = Admin(server, active_sid(server))
        admin.send(type="admin_join", sender="admin")
        admin.send(type="user_message", sender="admin", content="Hello, I am here to help.")
        page.wait_for_selector(".message.admin")
        check(page, f"taken-over-{scheme}")
        page.goto(f"{server.url}/history?token={user_token(server)}")
        page.wait_for_selector(".session-link")
        check(page, f"history-{scheme}")
        share = page.evaluate(
            "async (sid) => (await CB.api('/sessions/' + sid + '/share', {method: 'POST'})).share_token",
            active_sid(server),
        )
        page.goto(f"{server.url}/s/{share}")
        page.wait_for_selector(".message.admin")
        check(page, f"shared-{scheme}")
        page.goto(f"{server.url}/?token=broken")
        page.locator("#status-text", has_text="damaged").wait_for()
        check(page, f"bad-token-{scheme}")
    finally:
        context.close()
