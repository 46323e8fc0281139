"""Files a Dify app produces (``message_file`` events) are fetched, checked like uploads, stored and sent after the
reply's text as an ``ai_response`` with ``file_url``; a file we will not keep becomes a notice saying why."""

import pytest
import requests
from conftest import text_of, token

from chatbox.models import Session

from .conftest import provider

# A real 1x1 PNG image header (the sniffer checks its CRC), then filler.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    + bytes(range(256)) * 4
)


def download(server, file_url, user="carol"):
    origin = server.url.removesuffix(server.services.settings.prefix)
    return requests.get(origin + file_url, headers={"Authorization": f"Bearer {token(user)}"}, timeout=30)


@pytest.fixture
def dify_server(fake, llm_server, tmp_path):
    def factory(**settings):
        upstream = fake("dify", chunks=["Here is ", "your chart."])
        return upstream, llm_server(provider(upstream), upload_dir=str(tmp_path / "uploads"), **settings)

    return factory


@pytest.mark.parametrize("relative", [False, True], ids=["absolute-url", "relative-url"])
def test_an_image_from_dify_follows_the_reply_and_downloads(dify_server, connect, relative):
    upstream, server = dify_server()
    url = upstream.serve("/files/tools/chart.png", PNG, "image/png")
    upstream.message_files = [{"url": "/files/tools/chart.png?timestamp=1&sign=abc" if relative else url}]
    client = connect("carol", target=server)
    client.send(type="user_message", content="Draw my sales chart")
    reply = client.reply()
    assert text_of(reply) == "Here is your chart."
    image = client.recv()
    assert image["type"] == "ai_response" and image["sender"] == "ai"
    assert image["metadata"] == {
        "done": "true",
        "filename": "chart.png",
        "mime_type": "image/png",
        "size": str(len(PNG)),
    }
    assert image["seq"] == reply[-1]["seq"] + 1 and image["model_id"] == "dify-main"
    assert image["file_url"] == f"{server.services.settings.prefix}/files/{image['file_id']}"
    assert upstream.downloads == ["/files/tools/chart.png"]
    fetched = download(server, image["file_url"])
    assert (fetched.status_code, fetched.content) == (200, PNG)
    assert download(server, image["file_url"], user="mallory").status_code == 404
    stored = Session.objects.get(id=image["session_id"]).messages[-1]
    assert (stored.sender, stored.file_id, stored.seq) == ("ai", image["file_id"], image["seq"])
    assert client.quiet() == []


@pytest.mark.parametrize(
    "served,url,settings,why",
    [
        (
            ("/files/big.png", PNG, "image/png"),
            None,
            {"upload_max_size": 100},
            "it is larger than the upload limit of 100 bytes",
        ),
        (
            ("/files/page.png", b"<html><script>alert(1)</script></html>", "image/png"),
            None,
            {},
            "HTML documents are not accepted (they can run scripts)",
        ),
        (
            ("/files/tool.png", b"MZ\x90\x00" + bytes(600), "image/png"),
            None,
            {},
            "windows programs (.exe, .dll) are not accepted",
        ),
        (None, "/files/gone.png", {}, "it could not be downloaded"),
        (None, "http://93.184.216.34/chart.png", {}, "it could not be downloaded"),  # plain http to a public host
    ],
    ids=["too-large", "html", "executable", "not-found", "public-http"],
)
def test_a_file_we_will_not_keep_becomes_a_notice(dify_server, connect, served, url, settings, why):
    upstream, server = dify_server(**settings)
    if served:
        url = upstream.serve(*served)
    upstream.message_files = [{"url": url}]
    client = connect("carol", target=server)
    client.send(type="user_message", content="Draw something")
    assert text_of(client.reply()) == "Here is your chart."
    notice = client.recv()
    assert (notice["type"], notice["content"]) == (
        "notification",
        f"The assistant sent a file that was not kept: {why}.",
    )
    assert client.quiet() == []
    assert [m.sender for m in Session.objects.get(id=notice["session_id"]).messages] == ["user", "ai"]
    if url.startswith("http://93."):
        assert upstream.downloads == []


def test_files_the_user_sent_are_not_sent_back(dify_server, connect):
    upstream, server = dify_server()
    url = upstream.serve("/files/upload.png", PNG, "image/png")
    upstream.message_files = [{"url": url, "belongs_to": "user"}]
    client = connect("carol", target=server)
    client.send(type="user_message", content="What is in my picture?")
    client.reply()
    assert client.quiet() == [] and upstream.downloads == []


def test_plain_http_to_a_name_that_is_not_internal_is_never_fetched(dify_server, connect):
    """The rule for provider file URLs (https, or http to an internal host) is applied before any request.

    ``127.1`` is no IP literal to ``ipaddress`` and has a dot, so the rule treats it as a public name and refuses
    plain http to it; the resolver still maps it to loopback, so without the rule the fake would serve the file."""
    upstream, server = dify_server()
    url = upstream.serve("/files/chart.png", PNG, "image/png").replace("127.0.0.1", "127.1")
    assert url.startswith("http://127.1:")
    upstream.message_files = [{"url": url}]
    client = connect("carol", target=server)
    client.send(type="user_message", content="Draw something")
    client.reply()
    notice = client.recv()
    assert (notice["type"], notice["content"]) == (
        "notification",
        "The assistant sent a file that was not kept: it could not be downloaded.",
    )
    assert upstream.downloads == []
