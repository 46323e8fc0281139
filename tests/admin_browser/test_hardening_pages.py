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


def test_admin_revokes_a_share_link_with_the_button(page, make_server, connect):
    import requests
    from conftest import token

    server = make_server()
    client = connect("alice", target=server)
    client.send(type="user_message", content="hello")
    sid = client.reply()[0]["session_id"]
    share = requests.post(
        f"{server.url}/sessions/{sid}/share", headers={"Authorization": f"Bearer {token('alice')}"}, timeout=10
    ).json()["share_token"]
    sign_in(page, server, f"/dashboard/sessions/{sid}")
    page.on("dialog", lambda dialog: dialog.accept())
    assert page.locator(".controls .badge.shared").inner_text() == "shared by link"
    page.click("button.revoke-share")
    page.wait_for_selector("button.revoke-share", state="detached")
    assert requests.get(f"{server.url}/shared/{share}", timeout=10).status_code == 404
    assert page.errors == []


# A session's name is its first sentence (up to 50 bytes, cut at . ? !): this payload has none of those.
NAME_PAYLOAD = "<img src=x onerror=__pwned=1>"  # sets window.__pwned if it ever runs


def test_a_session_name_with_markup_stays_text_in_the_list_and_the_pane(page, make_server, connect):
    server = make_server()
    user = connect("mallory", target=server)
    user.send(type="user_message", content=NAME_PAYLOAD)
    sid = user.reply(timeout=30)[-1]["session_id"]
    user.send(type="help_request", session_id=sid)
    user.recv_until(lambda f: f.get("metadata", {}).get("help_requested") == "true")
    assert server.services.store.get(sid).name == NAME_PAYLOAD
    sign_in(page, server)
    row = page.locator(f"#row-{sid} a.open")
    assert row.inner_text() == NAME_PAYLOAD
    assert page.locator(f"#row-{sid}.help").count() == 1  # listed among the help requests, first
    assert page.locator("table.sessions img").count() == 0
    page.goto(f"{server.url}/dashboard/sessions/{sid}")
    assert page.locator(".pane-title").inner_text() == NAME_PAYLOAD
    assert page.locator("#pane img, #panel img").count() == 0
    assert page.evaluate("window.__pwned") is None
