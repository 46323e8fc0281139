"""CORS answers depend on the request's Origin, so every response says ``Vary: Origin`` (issue 12, item 13):
for an allowed origin, another origin and none, on plain requests and preflights alike."""

import pytest
import requests

ALLOWED = ["https://a.example", "https://b.example"]


@pytest.fixture
def cors_server(make_server):
    return make_server(cors_allowed_origins=ALLOWED)


@pytest.mark.parametrize("origin", ["https://a.example", "https://b.example", "https://evil.example", None])
@pytest.mark.parametrize("method,path", [("GET", "/healthz"), ("OPTIONS", "/sessions"), ("GET", "/sessions")])
def test_every_response_varies_by_origin(cors_server, origin, method, path):
    headers = {"Origin": origin} if origin else {}
    if method == "OPTIONS":
        headers["Access-Control-Request-Method"] = "GET"
    response = requests.request(method, cors_server.url + path, headers=headers, timeout=10)
    vary = [part.strip().lower() for part in response.headers.get("Vary", "").split(",")]
    assert vary.count("origin") == 1, response.headers.get("Vary")
    allowed = response.headers.get("Access-Control-Allow-Origin")
    assert allowed == (origin if origin in ALLOWED else allowed if origin is None else None)


def test_without_cors_nothing_is_added(make_server):
    response = requests.get(make_server().url + "/healthz", headers={"Origin": "https://a.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "origin" not in response.headers.get("Vary", "").lower()
