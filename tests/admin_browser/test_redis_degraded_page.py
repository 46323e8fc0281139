"""Issue 12, item 4 seen in Chromium: while Redis is away the status page says this pod is degraded."""

import pytest

from tests.admin_browser.test_hardening_pages import sign_in
from tests.chat.test_redis_outage import OwnRedis, wait_for


@pytest.fixture
def own_redis():
    server = OwnRedis()
    yield server
    server.stop()


def test_status_page_shows_redis_degraded_while_it_is_away(page, make_server, own_redis):
    server = make_server(redis_url=own_redis.url)
    sign_in(page, server, "/dashboard/status")
    summary = 'li[data-summary="Redis"]'
    assert page.locator(f"{summary} .badge").inner_text() == "ok"
    own_redis.kill()
    wait_for(lambda: server.services.bus.degraded, 5, "degraded mode")
    page.reload()
    assert page.locator(f"{summary} .badge").inner_text() == "degraded"  # the one-glance line, not folded away
    assert "local limits and local fan-out" in page.locator(f"{summary} .detail").inner_text()
    row = page.locator('[data-dependency="Redis"]')
    assert "state-degraded" in row.get_attribute("class")
