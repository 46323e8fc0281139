"""Production refuses the development stand-ins (issue 12, item 6): no MONGO_URI, or neither S3_BUCKET nor an
explicit UPLOAD_DIR, stops the start with a message naming the variable; a missing ENCRYPTION_KEY or an empty
WS_ALLOWED_ORIGINS start (the deployment guide allows them) but are said in the log and ``readyz``'s body."""

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from chatbox import create_app
from chatbox.settings import Settings, SettingsError

STRONG = "Q7vN2xLp9RzT4mWc8YhB3kDf6GsJ1aEu5PoXiVnC0bMqHr7Wt2Ky9Zs4Lf6Gd8Jx"
KEY = "0123456789abcdef0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]
MONGO = {"MONGO_URI": "mongodb://mongo-service:27017/chat"}

REFUSED = [
    ({}, "MONGO_URI is required in production"),
    ({"S3_BUCKET": "chat-files"}, "MONGO_URI is required in production"),
    (MONGO, "S3_BUCKET is required in production, unless UPLOAD_DIR names a persistent local folder"),
]
STARTS = [
    {**MONGO, "S3_BUCKET": "chat-files"},
    {**MONGO, "UPLOAD_DIR": "/var/lib/chatbox/uploads"},
    {"CHATBOX_ENV": "development"},  # embedded defaults are what development is for
]


@pytest.mark.parametrize("extra,message", REFUSED)
def test_production_refuses_development_storage(extra, message):
    with pytest.raises(SettingsError, match=message):
        Settings.load({"JWT_SECRET": STRONG, **extra})


@pytest.mark.parametrize("extra", STARTS)
def test_real_storage_or_development_starts(extra):
    settings = Settings.load({"JWT_SECRET": STRONG, **extra})
    assert settings.upload_folder == extra.get("UPLOAD_DIR", "./data/uploads")


def test_the_server_process_refuses_to_start_without_mongo_uri():
    environ = {"PATH": "/usr/bin:/bin", "JWT_SECRET": STRONG, "CHATBOX_ENV": "production", "S3_BUCKET": "b"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert "configuration error: MONGO_URI is required in production" in result.stderr


WARNED = [
    ({}, ["ENCRYPTION_KEY is not set", "WS_ALLOWED_ORIGINS is empty"]),
    ({"encryption_key": KEY}, ["WS_ALLOWED_ORIGINS is empty"]),
    ({"ws_allowed_origins": ["https://chat.example.com"]}, ["ENCRYPTION_KEY is not set"]),
    ({"encryption_key": KEY, "ws_allowed_origins": ["https://chat.example.com"]}, []),
]


@pytest.mark.parametrize("overrides,expected", WARNED)
def test_allowed_but_unwise_settings_are_said_in_the_log_and_readyz(make_server, caplog, overrides, expected):
    with caplog.at_level(logging.WARNING, logger="chatbox"):
        server = make_server(env="production", **overrides)
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("configuration: ")]
    assert [line.split(": ", 1)[1].split(":")[0] for line in logged] == expected
    response = requests.get(server.url + "/readyz", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert [w.split(":")[0] for w in body.get("warnings", [])] == expected


def test_development_has_no_such_warnings():
    app = create_app(Settings.for_tests(jwt_secret=STRONG))
    assert app.extensions["chatbox"].settings.warnings == []
    app.extensions["chatbox"].close()
