"""The inbox in Chromium: two panes (one under 768 px with a back control), keyboard moves, live rows by id,
times in the viewer's zone, light and dark, no sideways scrolling at 360 px."""

from datetime import timedelta

import pytest
from admin.conftest import make_session
from conftest import admin_token

from chatbox.clock import utcnow

from .conftest import shot
from .test_dashboard_browser import sign_in, wait_ready

ADMIN = admin_token("root", "Ada Admin")
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def seeded(server):
    now = utcnow()
    make_session(
        "help1",
        user="hana",
        start=now - timedelta(minutes=9),
        messages=3,
        help_requested=True,
        name="Refund for order 1042",
    )
    make_session("s-active", user="bob", start=now - timedelta(minutes=30), messages=6, name="Shipping times")
    make_session(
        "s-assisted",
        user="carol",
        start=now - timedelta(hours=3),
        messages=4,
        admin_assisted=True,
        assisting_admin_name="Ada Admin",
        name="Password reset",
    )
    make_session(
        "s-ended",
        user="dave-with-a-rather-long-user-id@example.com",
        start=now - timedelta(days=2),
        end=now - timedelta(days=2) + timedelta(minutes=12),
        messages=2,
        name="An ended chat with a long name",
    )
    return server


def open_inbox(browser, server, width, scheme="light"):
    context = browser.new_context(
        viewport={"width": width, "height": 800}, color_scheme=scheme, timezone_id="Asia/Tokyo"
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    sign_in(page, server)
    return context, page


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (1280, "dark"), (360, "light"), (360, "dark")])
def test_inbox_layout_light_and_dark(browser, seeded, width, scheme):
    context, page = open_inbox(browser, seeded, width, scheme)
    try:
        rows = page.locator("#sessions tr.session-row")
        assert rows.first.get_attribute("id") == "row-help1"  # help first
        assert page.evaluate(NO_OVERFLOW)
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(15, 19, 27)") == (scheme == "dark")
        time = page.locator("#row-s-active .col-last time")
        assert time.inner_text() == "25 minutes ago"  # its last message
        assert "GMT" not in time.get_attribute("title") and time.get_attribute("datetime").endswith("Z")
        shot(page, f"inbox-{width}-{scheme}")
        page.click("#row-s-active a.open")
        page.wait_for_selector("#pane .pane-inner[data-sid='s-active']")
        assert page.evaluate(NO_OVERFLOW)
        if width < 768:
            assert not page.is_visible("#sessions")  # one pane at a time
            page.click(".pane-bar .back")
            page.wait_for_selector("#sessions", state="visible")
            assert page.url.endswith("/dashboard/")
        else:
            assert page.is_visible("#sessions") and not page.is_visible(".pane-bar .back")
        shot(page, f"inbox-open-{width}-{scheme}")
    finally:
        context.close()


def test_chips_search_and_sorting_follow_the_url(page, seeded):
    sign_in(page, seeded)
    page.click(".chips a:has-text('Ended')")
    page.wait_for_function("() => location.search === '?view=ended'")
    assert page.locator("#sessions tr.session-row").all() and [
        r.get_attribute("id") for r in page.locator("#sessions tr.session-row").all()
    ] == ["row-s-ended"]
    page.click(".chips a:has-text('All')")
    page.fill("#list-search", "password")
    page.wait_for_function("() => location.search === '?q=password'")
    assert [r.get_attribute("id") for r in page.locator("#sessions tr.session-row").all()] == ["row-s-assisted"]
    page.fill("#list-search", "")
    page.wait_for_function("() => document.querySelectorAll('#sessions tr.session-row').length === 4")
    header = page.locator("th.col-num")
    assert header.get_attribute("aria-sort") == "none"
    header.locator("a").click()
    page.wait_for_function("() => document.querySelector('th.col-num').getAttribute('aria-sort') === 'descending'")
    ids = [r.get_attribute("id") for r in page.locator("#rows tr.session-row").all()]
    assert ids == ["row-s-active", "row-s-assisted", "row-s-ended"]  # 6, 4, 2 messages (help stays on top)


def test_keyboard_moves_opens_and_focuses_the_composer(page, seeded):
    sign_in(page, seeded)
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.closest('tr').id") == "row-help1"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.closest('tr').id") == "row-s-active"
    page.keyboard.press("Enter")
    page.wait_for_selector("#pane .pane-inner[data-sid='s-active']")
    assert page.url.endswith("/dashboard/sessions/s-active")
    wait_ready(page, ".pane-inner")
    page.focus("#controls .takeover")
    page.keyboard.press("Enter")  # take over from the keyboard
    page.wait_for_function("() => document.activeElement.id === 'composer-text'")
    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Enter")
    page.wait_for_selector(".msg-admin >> text=Hello from the keyboard")
    page.keyboard.press("Tab")  # out of the box, then back with the shortcut
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "composer-text"
    page.keyboard.press("Shift+Tab")
    page.focus("#controls .release")
    page.keyboard.press("Enter")  # hand back from the keyboard
    page.wait_for_function("() => document.activeElement.classList.contains('takeover')")
    assert page.is_disabled("#composer-text")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "list-search"


def test_live_rows_arrive_by_id_without_reloading_the_list(page, seeded, connect):
    sign_in(page, seeded)
    wait_ready(page)
    page.evaluate("() => { window.__listNode = document.getElementById('rows'); }")
    user = connect("erin", target=seeded)
    user.send(type="user_message", content="Is anybody there?")
    sid = user.reply(timeout=30)[-1]["session_id"]
    page.wait_for_selector(f"#rows #row-{sid}")
    assert page.evaluate("() => document.getElementById('rows') === window.__listNode")  # rows placed, list kept
    assert page.locator("#rows tr.session-row").first.get_attribute("id") == f"row-{sid}"
    user.send(type="help_request", sender="user")
    page.wait_for_selector(f"#help-rows #row-{sid}")  # moved into the help group
    assert page.locator(f"#row-{sid}").count() == 1


def test_back_and_forward_restore_the_whole_page(page, seeded):
    sign_in(page, seeded)
    page.click("#row-s-active a.open")
    page.wait_for_selector("#pane .pane-inner[data-sid='s-active']")
    page.go_back()
    page.wait_for_function("() => location.pathname.endsWith('/dashboard/')")
    page.wait_for_selector(".pane-empty")
    assert page.locator("header.top").count() == 1  # a whole page, not a partial swapped into the body
    page.go_forward()
    page.wait_for_selector("#pane .pane-inner[data-sid='s-active']")
    assert page.locator("header.top").count() == 1 and page.is_visible("#sessions")
    assert (
        page.evaluate("Object.keys(localStorage).length") == 0
    )  # htmx keeps no page copies (they hold the CSRF token)
