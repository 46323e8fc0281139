"""axe-core on every dashboard page (inbox empty and full, a conversation streaming and taken over, metrics, status,
outbox, sign-in), light and dark, at 1280 and 360 px: no serious or critical violation, no sideways scrolling."""

from datetime import timedelta

import pytest
from admin.conftest import make_session
from axe_playwright_python.sync_playwright import Axe
from conftest import admin_token

from chatbox.clock import utcnow

from .conftest import shot
from .test_dashboard_browser import sign_in, wait_ready

ADMIN = admin_token("root", "Ada Admin")
AXE = Axe()
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def serious(page) -> list:
    """The serious and critical violations on the page as it is now."""
    found = AXE.run(page).response["violations"]
    return [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def check(page, where: str) -> None:
    size = page.viewport_size["width"]
    scheme = page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'")
    shot(page, f"a11y-{where.replace(' ', '-').split('?')[0]}-{size}-{scheme}")
    assert serious(page) == [], where
    assert page.evaluate(NO_OVERFLOW), f"{where}: wider than the screen"


@pytest.fixture
def live(make_server):
    return make_server(demo_chunk_delay=0.05)


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (1280, "dark"), (360, "light"), (360, "dark")])
def test_every_dashboard_page(browser, live, connect, width, scheme):
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(f"{live.url}/dashboard/")
        check(page, "sign-in")
        sign_in(page, live)
        check(page, "empty inbox")
        make_session("old", user="olga", start=utcnow() - timedelta(days=1), end=utcnow(), messages=2, name="Done")
        make_session("h", user="hana", start=utcnow(), messages=1, help_requested=True, name="Help me")
        user = connect("alice", target=live)
        user.send(type="user_message", content="Please tell me a long story about boats.")
        sid = user.recv_until(lambda f: f["type"] == "ai_response")[-1]["session_id"]
        page.goto(f"{live.url}/dashboard/")
        check(page, "inbox with rows")
        page.click(f"#row-{sid} a.open")
        page.wait_for_selector(".msg-ai")
        check(page, "conversation streaming")
        wait_ready(page, ".pane-inner")
        page.click("button.takeover")
        page.wait_for_function("() => !document.querySelector('#composer textarea').disabled")
        page.click("#panel details.facts summary")
        check(page, "conversation taken over")
        for path in ("metrics?range=24h", "status", "outbox"):
            page.goto(f"{live.url}/dashboard/{path}")
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            check(page, path)
    finally:
        context.close()
