"""Hardening seen in Chromium: the status page's configuration banner, session names that stay text."""

from conftest import admin_token

ADMIN = admin_token("root", "Ada Admin")


def sign_in(page, server, path="/dashboard/"):
    page.goto(f"{server.url}/dashboard/?token={ADMIN}")
    page.wait_for_selector("text=Sign out")
    if path != "/dashboard/":
        page.goto(server.url + path)


def test_status_page_shows_a_banner_for_each_configuration_warning(page, make_server):
    server = make_server(env="production")  # no ENCRYPTION_KEY, no WS_ALLOWED_ORIGINS
    sign_in(page, server, "/dashboard/status")
    banners = page.locator("[data-warning]")
    assert banners.count() == 2
    texts = banners.all_inner_texts()
    assert texts[0].startswith("ENCRYPTION_KEY is not set") and texts[1].startswith("WS_ALLOWED_ORIGINS is empty")
    assert banners.first.is_visible()


def test_status_page_without_warnings_has_no_banner(page, make_server):
    server = make_server()
    sign_in(page, server, "/dashboard/status")
    page.wait_for_selector("#version")
    assert page.locator("[data-warning]").count() == 0
