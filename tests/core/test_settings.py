"""Settings: environment and TOML, environment winning; every bad or weak secret refused with a clear message."""

import subprocess
import sys
from pathlib import Path

import pytest

from chatbox.settings import Settings, SettingsError, parse_duration, parse_size

STRONG = "Q7vN2xLp9RzT4mWc8YhB3kDf6GsJ1aEu5PoXiVnC0bMqHr7Wt2Ky9Zs4Lf6Gd8Jx"
ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = {"MONGO_URI": "mongodb://mongo-service:27017/chat", "S3_BUCKET": "chat-files"}  # production needs both

BAD = [
    ({}, "JWT_SECRET is required in production; generate one with: openssl rand -base64 48"),
    ({"JWT_SECRET": "short-but-random-Zq8"}, "JWT_SECRET must be at least 32 bytes (got 20)"),
    (
        {"JWT_SECRET": "local-development-secret-change-in-production"},
        "JWT_SECRET appears to be weak (contains 'secret')",
    ),
    ({"JWT_SECRET": "your-jwt-" + "x" * 40}, "JWT_SECRET contains a placeholder value"),
    ({"JWT_SECRET": "PLACEHOLDER_JWT_SECRET_" + "x" * 20}, "JWT_SECRET contains a placeholder value"),
    ({"JWT_SECRET": "a" * 40}, "JWT_SECRET appears to be weak (too few distinct characters)"),
    ({"JWT_SECRET": "Zq8" * 5 + "12345" + "Wv7" * 5}, "JWT_SECRET appears to be weak (contains '12345')"),
    (
        {"JWT_SECRET": STRONG, "ENCRYPTION_KEY": "too-short"},
        "ENCRYPTION_KEY must be exactly 32 bytes for AES-256 (got 9); generate one with: openssl rand -hex 16",
    ),
    ({"JWT_SECRET": STRONG, "ENCRYPTION_KEY": "A" * 44}, "ENCRYPTION_KEY must be exactly 32 bytes"),
    (
        {"JWT_SECRET": STRONG, "ENCRYPTION_KEY": "PLACEHOLDER_ENCRYPTION_KEY_32_BY"},
        "ENCRYPTION_KEY contains a placeholder value",
    ),
    (
        {"JWT_SECRET": STRONG, "ENCRYPTION_KEYS_PREVIOUS": "0123456789abcdef0123456789abcdef"},
        "ENCRYPTION_KEYS_PREVIOUS is set but ENCRYPTION_KEY is empty",
    ),
    ({"JWT_SECRET": STRONG, "CHATBOX_ENV": "staging"}, "CHATBOX_ENV must be one of production, development, test"),
    ({"JWT_SECRET": STRONG, "CHATBOX_PATH_PREFIX": "chat"}, "CHATBOX_PATH_PREFIX must start with '/'"),
    ({"JWT_SECRET": STRONG, "RECONNECT_TIMEOUT": "soon"}, "RECONNECT_TIMEOUT = 'soon' is not valid: not a duration"),
    ({"JWT_SECRET": STRONG, "MAX_CONNECTIONS": "lots"}, "MAX_CONNECTIONS = 'lots' is not valid"),
    ({"JWT_SECRET": STRONG, "MAX_MESSAGE_SIZE": "1 parsec"}, "MAX_MESSAGE_SIZE = '1 parsec' is not valid"),
    (
        {"JWT_SECRET": STRONG, "WS_ALLOWED_ORIGINS": "REPLACE_WITH_PRODUCTION_ORIGINS"},
        "WS_ALLOWED_ORIGINS contains a placeholder value",
    ),
    ({"JWT_SECRET": STRONG, "TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES = '10.0.0.0/33' is not valid"),
    ({"JWT_SECRET": STRONG, "SMTP_TLS": "maybe"}, "SMTP_TLS = 'maybe' is not valid: not a boolean"),
    ({"JWT_SECRET": STRONG, "LLM_DEFAULT_MODEL": "gpt-4"}, "LLM_DEFAULT_MODEL 'gpt-4' is not a configured provider"),
]


@pytest.mark.parametrize("environ,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_settings_are_refused_naming_the_variable(environ, message):
    with pytest.raises(SettingsError) as refused:
        Settings.load(environ)
    assert message in str(refused.value)


def test_secrets_are_never_echoed_in_errors_or_repr():
    with pytest.raises(SettingsError) as refused:
        Settings.load(
            {
                "JWT_SECRET": STRONG,
                "ENCRYPTION_KEY": "0123456789abcdef0123456789abcdef",
                "ENCRYPTION_KEYS_PREVIOUS": "hunter2",
            }
        )
    assert "hunter2" not in str(refused.value)
    settings = Settings.load({"JWT_SECRET": STRONG, "SMTP_PASSWORD": "mail-pw-9", **DEPLOYED})
    assert STRONG not in repr(settings) and "mail-pw-9" not in repr(settings)
    assert settings.masked()["JWT_SECRET"] == "(set)" and settings.masked()["SMTP_PASSWORD"] == "(set)"


def test_defaults_match_the_deployment_guide():
    settings = Settings.load({"JWT_SECRET": STRONG, **DEPLOYED})
    assert (
        settings.port,
        settings.prefix,
        settings.reconnect_timeout,
        settings.max_connections,
        settings.rate_limit,
        settings.max_message_size,
        settings.llm_stream_timeout,
    ) == (8080, "/chat", 900.0, 10000, 100, 1048576, 120.0)


def test_toml_file_is_read_and_the_environment_wins(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'''
[server]
port = 9090
[chatbox]
jwt_secret = "{STRONG}"
path_prefix = "/chatbox"
reconnect_timeout = "15m"
max_message_size = "1048576"
allowed_origins = "https://a.example.com, https://b.example.com"
[notification]
adminEmails = ["ops@example.com", "boss@example.com"]
''')
    settings = Settings.load({"CHATBOX_CONFIG": str(config), "SERVER_PORT": "7070", **DEPLOYED})
    assert settings.port == 7070  # environment wins
    assert settings.prefix == "/chatbox" and settings.reconnect_timeout == 900.0
    assert settings.ws_allowed_origins == ["https://a.example.com", "https://b.example.com"]
    assert settings.admin_emails == ["ops@example.com", "boss@example.com"]  # arrays and comma strings both work


def test_placeholder_secret_in_the_file_is_refused(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[chatbox]\njwt_secret = "PLACEHOLDER_JWT_SECRET"\n')
    with pytest.raises(SettingsError, match="JWT_SECRET \\(config key chatbox.jwt_secret\\) contains a placeholder"):
        Settings.load({"CHATBOX_CONFIG": str(config)})


def test_missing_or_broken_config_file_is_named(tmp_path):
    with pytest.raises(SettingsError, match="CHATBOX_CONFIG: file not found"):
        Settings.load({"CHATBOX_CONFIG": str(tmp_path / "nope.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\nport = ")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        Settings.load({"CHATBOX_CONFIG": str(broken)})


@pytest.mark.parametrize(
    "text,seconds", [("15m", 900), ("120s", 120), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), ("45", 45), ("1m0s", 60)]
)
def test_go_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text,size", [("1048576", 1048576), ("100MB", 100_000_000), ("1MiB", 1048576)])
def test_sizes(text, size):
    assert parse_size(text) == size


def test_the_server_refuses_to_start_with_a_weak_secret_and_says_why():
    environ = {"PATH": "/usr/bin:/bin", "JWT_SECRET": "changeme", "CHATBOX_ENV": "production"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert "configuration error: JWT_SECRET must be at least 32 bytes (got 8)" in result.stderr
    assert "changeme" not in result.stderr


def test_passwords_in_connection_urls_are_masked():
    settings = Settings.load(
        {
            "JWT_SECRET": STRONG,
            "MONGO_URI": "mongodb://admin:hunter2@db:27017/chat",
            "REDIS_URL": "redis://:s3cret@redis:6379/0",
            "S3_BUCKET": "chat-files",
        }
    )
    masked = settings.masked()
    assert masked["MONGO_URI"] == "mongodb://admin:***@db:27017/chat"
    assert "hunter2" not in repr(settings) and "s3cret" not in str(masked)
