"""Files on the pages load from short-lived signed links, never with the user's JWT in the URL (issue 12, item 8):
the chat page after a reload, and the read-only shared view, which now shows the owner's photo too. And the owner
withdraws a share link from the share dialog (item 15)."""

import requests

from .browser_helpers import chat_url, open_chat, send, user_token, wait_reply_done
from .test_chat_media import noisy_png

LOADED = (
    "() => { const i = document.querySelectorAll('.message img'); "
    "return i.length === 1 && i[0].complete && i[0].naturalWidth === 40; }"
)


def watch_file_requests(page) -> list[str]:
    seen = []
    page.on("request", lambda request: seen.append(request.url) if "/files/" in request.url else None)
    return seen


def test_the_chat_page_loads_its_photo_from_a_signed_link(make_server, open_page, tmp_path):
    server = make_server(upload_dir=str(tmp_path / "uploads"))
    page = open_chat(open_page(), server)
    page.set_input_files("#file-input", str(noisy_png(tmp_path / "cat.png", 40, 40)))
    page.wait_for_selector(".message.user[data-seq]")
    seen = watch_file_requests(page)
    page.goto(chat_url(server))
    page.wait_for_function(LOADED)
    src = page.locator(".message.user img").get_attribute("src")
    assert "sig=" in src and "token=" not in src
    assert seen and all("token=" not in url and "eyJ" not in url for url in seen), seen
    assert page.locator(".message.user a.photo-link").get_attribute("href") == src


def test_the_shared_view_shows_the_owners_photo(make_server, open_page, tmp_path):
    server = make_server(upload_dir=str(tmp_path / "uploads"))
    page = open_chat(open_page(), server)
    page.set_input_files("#file-input", str(noisy_png(tmp_path / "cat.png", 40, 40)))
    sid = page.wait_for_selector(".message.user[data-seq]") and server.services.store.list_for_user("alice")[0].id
    share = requests.post(
        f"{server.url}/sessions/{sid}/share", headers={"Authorization": f"Bearer {user_token(server)}"}, timeout=10
    ).json()["share_token"]
    visitor = open_page()
    seen = watch_file_requests(visitor)
    visitor.goto(f"{server.url}/s/{share}")
    visitor.wait_for_function(LOADED)
    assert all("sig=" in url for url in seen) and seen


def test_the_owner_stops_sharing_from_the_share_dialog(make_server, open_page):
    server = make_server()
    page = open_chat(open_page(), server)
    send(page, "Share this.")
    wait_reply_done(page)
    page.click("#share-btn")
    page.wait_for_selector("#share-dialog[open]")
    link = page.locator("#share-url").input_value()
    assert "until" in page.locator("#share-expiry").inner_text()
    viewer = open_page()
    viewer.goto(link)
    viewer.wait_for_selector(".message.ai")
    page.click("#share-revoke-btn")
    page.locator("#share-copied", has_text="Link withdrawn").wait_for()
    gone = open_page()
    gone.goto(link)
    gone.locator(".message.system.error", has_text="Shared session not found").wait_for()
