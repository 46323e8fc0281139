"""The pages over real HTTP: routes, CSP and framing headers, no inline script, escaping, embed origins."""

import json
import re

import pytest
import requests

from chatbox import create_app
from chatbox.chat.protocol import ERROR_MESSAGES
from chatbox.settings import Settings, SettingsError

HOST = "https://shop.example.com"
PAGES = ["/", "/history", "/s/abc123"]


@pytest.fixture
def site(make_server):
    return make_server(embed_allowed_origins=[HOST, "http://127.0.0.1:9999"])


def config_of(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="chatbox-config">(.*?)</script>', html, re.DOTALL)
    assert match, "the page has no config block"
    return json.loads(match.group(1))


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_html_with_a_strict_policy_that_allows_the_embed_origins(site, path):
    response = requests.get(site.url + path, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == f"'self' {HOST} http://127.0.0.1:9999"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers  # framing is governed by frame-ancestors
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_without_embed_origins_only_the_same_origin_may_frame(server):
    policy = requests.get(server.url + "/", timeout=10).headers["Content-Security-Policy"]
    assert "frame-ancestors 'self';" in policy + ";"


@pytest.mark.parametrize("path", ["/sessions", "/healthz"])
def test_other_routes_keep_x_frame_options_deny(server, path):
    response = requests.get(server.url + path, timeout=10)
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", PAGES)
def test_every_script_is_an_external_file_that_exists_or_inert_json(site, path):
    html = requests.get(site.url + path, timeout=10).text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts
    for attrs, body in scripts:
        if 'type="application/json"' in attrs:
            continue
        assert body.strip() == "", f"inline script in {path}: {body[:80]}"
        src = re.search(r'src="([^"]+)"', attrs).group(1)
        assert src.startswith(site.prefix + "/static/chat/")
        asset = requests.get(f"http://127.0.0.1:{site.port}{src}", timeout=10)
        assert asset.status_code == 200 and "javascript" in asset.headers["Content-Type"]
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    assert requests.get(f"http://127.0.0.1:{site.port}{css}", timeout=10).status_code == 200


def test_the_pages_get_the_error_table_and_embed_origins_from_the_server(site):
    config = config_of(requests.get(site.url + "/", timeout=10).text)
    assert config["errors"] == ERROR_MESSAGES
    assert config["prefix"] == "/chat"
    assert config["embedOrigins"] == [HOST, "http://127.0.0.1:9999"]


def test_a_hostile_share_token_stays_data(server):
    payload = '"><img src=x onerror=alert(1)><script>alert(1)'
    response = requests.get(server.url + "/s/" + requests.utils.quote(payload, safe=""), timeout=10)
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text and "<img src=x" not in response.text
    assert config_of(response.text)["shareToken"] == payload


def test_embed_script_is_javascript_loadable_from_other_origins(server):
    response = requests.get(server.url + "/embed.js", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "postMessage" in response.text and "event.origin !== chatOrigin" in response.text


def test_pages_follow_the_route_prefix(make_server):
    server = make_server(path_prefix="/support")
    html = requests.get(server.url + "/", timeout=10).text
    assert '"/support/static/chat/chat.js"' in html
    assert config_of(html)["prefix"] == "/support"
    assert requests.get(f"http://127.0.0.1:{server.port}/chat/", timeout=10).status_code == 404


@pytest.mark.parametrize(
    "origin",
    [
        "shop.example.com",
        "https://shop.example.com/",
        "https://a.com/path",
        "https://a.com; script-src *",
        "javascript:alert(1)",
    ],
)
def test_malformed_embed_origins_are_refused_at_startup(origin):
    with pytest.raises(SettingsError, match="EMBED_ALLOWED_ORIGINS: .* is not an origin"):
        create_app(Settings.for_tests(embed_allowed_origins=[origin]))


def test_embed_origins_are_read_from_the_environment():
    settings = Settings.load(
        {
            "CHATBOX_ENV": "test",
            "JWT_SECRET": "k" * 48,
            "EMBED_ALLOWED_ORIGINS": "https://a.example, https://b.example:8443",
        }
    )
    assert settings.embed_allowed_origins == ["https://a.example", "https://b.example:8443"]
