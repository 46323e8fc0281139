"""Typed settings: the only reader of environment variables and the TOML file.

Every setting is declared once in ``SPECS`` with its environment variable, its TOML keys, its type, its default and
what it means; docs/CONFIGURATION.md is checked against this table by a test. The environment wins over the file.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chatbox.config_checks import is_placeholder
from chatbox.errors import SettingsError
from chatbox.llm_settings import ProviderConfig, read_providers

__all__ = ["ProviderConfig", "Settings", "SettingsError"]  # the names callers import from here

WEAK_SECRET_PATTERNS = (
    "secret",
    "test",
    "password",
    "admin",
    "changeme",
    "default",
    "example",
    "demo",
    "12345",
    "placeholder",
)
ENVIRONMENTS = ("production", "development", "test")
DEFAULT_UPLOAD_DIR = "./data/uploads"


# --- value parsers -------------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Return seconds for a Go duration ("15m", "1m30s", "120s", "500ms") or a plain number of seconds."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (use e.g. 15m, 120s, 1m30s)")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


_SIZE = re.compile(r"(\d+)\s*(B|KB|MB|GB|KIB|MIB|GIB)?", re.IGNORECASE)
_SIZE_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}


def parse_size(text: str) -> int:
    """Return bytes for "1048576", "100MB" or "100MiB"."""
    match = _SIZE.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 1048576, 100MB)")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "B").upper()]


def parse_bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r} (use true or false)")


def parse_auto_bool(text: Any) -> bool | str:
    """Return "auto" for "auto" or empty, else the boolean (for settings whose default is decided at run time)."""
    if isinstance(text, bool):
        return text
    return "auto" if str(text).strip().lower() in ("", "auto") else parse_bool(text)


def parse_list(text: Any) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(item).strip() for item in text if str(item).strip()]
    return [item.strip() for item in str(text).split(",") if item.strip()]


def parse_networks(text: Any) -> list[str]:
    networks = parse_list(text)
    for net in networks:
        ipaddress.ip_network(net, strict=False)
    return networks


PARSERS: dict[str, Callable[[Any], Any]] = {
    "str": lambda v: str(v).strip(),
    "int": lambda v: int(str(v).strip()),
    "float": lambda v: float(str(v).strip()),
    "bool": parse_bool,
    "auto_bool": parse_auto_bool,
    "duration": parse_duration,
    "size": parse_size,
    "list": parse_list,
    "networks": parse_networks,
}


@dataclass(frozen=True)
class Spec:
    name: str  # attribute on Settings
    env: str  # environment variable
    kind: str  # key of PARSERS
    default: Any
    doc: str
    toml: tuple[str, ...] = ()
    secret: bool = False


MONGO_DOCUMENT_LIMIT = 16 * 1024 * 1024
PRIVATE_NETS = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"

SPECS: tuple[Spec, ...] = (
    Spec(
        "env",
        "CHATBOX_ENV",
        "str",
        "production",
        "production (default), development (embedded defaults, dev links) or test",
        ("chatbox.env",),
    ),
    Spec("port", "SERVER_PORT", "int", 8080, "HTTP port", ("server.port",)),
    Spec("path_prefix", "CHATBOX_PATH_PREFIX", "str", "/chat", "prefix of every route", ("chatbox.path_prefix",)),
    Spec(
        "public_url",
        "CHATBOX_PUBLIC_URL",
        "str",
        "",
        "external base URL used in printed links and e-mails (default http://localhost:SERVER_PORT)",
        ("chatbox.public_url",),
    ),
    Spec(
        "jwt_secret",
        "JWT_SECRET",
        "str",
        "",
        "HMAC key for JWTs; at least 32 bytes in production",
        ("chatbox.jwt_secret",),
        secret=True,
    ),
    Spec(
        "encryption_key",
        "ENCRYPTION_KEY",
        "str",
        "",
        "32-byte AES-256-GCM key for message content (raw bytes, e.g. `openssl rand -hex 16`); empty disables",
        ("chatbox.encryption_key",),
        secret=True,
    ),
    Spec(
        "encryption_keys_previous",
        "ENCRYPTION_KEYS_PREVIOUS",
        "list",
        [],
        "comma list of older 32-byte keys that still decrypt (key rotation)",
        ("chatbox.encryption_keys_previous",),
        secret=True,
    ),
    Spec(
        "mongo_uri",
        "MONGO_URI",
        "str",
        "",
        "MongoDB URI; empty = in-process mongomock (data lost on exit; development only)",
        ("database.uri", "chatbox.mongo_uri"),
    ),
    Spec("mongo_database", "MONGO_DATABASE", "str", "chat", "database name", ("database.name",)),
    Spec(
        "mongo_connect_timeout",
        "MONGO_CONNECT_TIMEOUT",
        "duration",
        10.0,
        "MongoDB connect timeout",
        ("database.connect_timeout",),
    ),
    Spec(
        "redis_url",
        "REDIS_URL",
        "str",
        "",
        "Redis URL for the cross-pod bus; empty = in-process bus (one pod)",
        ("chatbox.redis_url",),
    ),
    Spec(
        "reconnect_timeout",
        "RECONNECT_TIMEOUT",
        "duration",
        900.0,
        "a session with no socket for this long ends; reconnecting within it resumes",
        ("chatbox.reconnect_timeout",),
    ),
    Spec(
        "max_connections",
        "MAX_CONNECTIONS",
        "int",
        10000,
        "WebSocket connections per process (also gunicorn --worker-connections)",
        ("chatbox.max_connections",),
    ),
    Spec(
        "max_connections_per_user",
        "MAX_CONNECTIONS_PER_USER",
        "int",
        10,
        "open sockets per user",
        ("chatbox.max_connections_per_user",),
    ),
    Spec(
        "rate_limit",
        "RATE_LIMIT",
        "int",
        100,
        "frames that store, notify or change state (messages, files, voice notes, help requests, model changes) "
        "per minute per user",
        ("chatbox.rate_limit",),
    ),
    Spec(
        "ws_frame_rate",
        "WS_FRAME_RATE",
        "int",
        20,
        "inbound frames per second per socket, of any kind (typing included); beyond it each second's first extra "
        "frame gets an error frame, the rest are dropped, and a socket that sends twice as many in a second or "
        "stays over for three seconds running is closed with 1008",
        ("chatbox.ws_frame_rate",),
    ),
    Spec(
        "session_max_bytes",
        "SESSION_MAX_BYTES",
        "size",
        8388608,
        "approximate stored size of one session's document beyond which new messages are refused (SESSION_FULL); "
        "MongoDB refuses documents over 16 MB",
        ("chatbox.session_max_bytes",),
    ),
    Spec(
        "max_message_size",
        "MAX_MESSAGE_SIZE",
        "size",
        1048576,
        "largest inbound WebSocket frame in bytes (bigger closes with 1009)",
        ("chatbox.max_message_size",),
    ),
    Spec(
        "ping_interval",
        "WS_PING_PERIOD",
        "duration",
        54.0,
        "WebSocket ping interval",
        ("chatbox.websocket.ping_period",),
    ),
    Spec(
        "pong_wait",
        "WS_PONG_WAIT",
        "duration",
        60.0,
        "close a socket whose pong is this late",
        ("chatbox.websocket.pong_wait",),
    ),
    Spec(
        "llm_stream_timeout",
        "LLM_STREAM_TIMEOUT",
        "duration",
        120.0,
        "deadline for one whole AI reply",
        ("chatbox.llm_stream_timeout",),
    ),
    Spec(
        "reply_orphan_grace",
        "REPLY_ORPHAN_GRACE",
        "duration",
        10.0,
        "an AI reply whose session has had no socket on any pod for this long is cancelled",
        ("chatbox.reply_orphan_grace",),
    ),
    Spec(
        "llm_default_model",
        "LLM_DEFAULT_MODEL",
        "str",
        "",
        "model id used before the user picks one (default: the first configured)",
        ("llm.default_model",),
    ),
    Spec(
        "llm_context_tokens",
        "LLM_CONTEXT_TOKENS",
        "int",
        6000,
        "token budget of the history sent to the model",
        ("llm.context_tokens",),
    ),
    Spec(
        "llm_system_prompt",
        "LLM_SYSTEM_PROMPT",
        "str",
        "You are a helpful assistant.",
        "system prompt for providers that set none",
        ("llm.system_prompt",),
    ),
    Spec(
        "demo_chunk_delay",
        "DEMO_CHUNK_DELAY",
        "duration",
        0.05,
        "pause between the demo model's words",
        ("llm.demo_chunk_delay",),
    ),
    Spec(
        "admin_rate_limit",
        "ADMIN_RATE_LIMIT",
        "int",
        20,
        "admin API requests per window per admin",
        ("chatbox.admin_rate_limit",),
    ),
    Spec(
        "admin_rate_window",
        "ADMIN_RATE_WINDOW",
        "duration",
        60.0,
        "admin rate-limit window",
        ("chatbox.admin_rate_window",),
    ),
    Spec(
        "public_rate_limit",
        "PUBLIC_RATE_LIMIT",
        "int",
        60,
        "requests per minute per IP on public routes (the shared view; never probes or the metrics scrape)",
        ("chatbox.public_rate_limit",),
    ),
    Spec(
        "cors_allowed_origins",
        "CORS_ALLOWED_ORIGINS",
        "list",
        [],
        "origins allowed by CORS on HTTP routes; empty = same-origin only",
        ("chatbox.cors_allowed_origins",),
    ),
    Spec(
        "ws_allowed_origins",
        "WS_ALLOWED_ORIGINS",
        "list",
        [],
        "origins allowed to open the WebSocket; empty = any (development only)",
        ("chatbox.allowed_origins",),
    ),
    Spec(
        "embed_allowed_origins",
        "EMBED_ALLOWED_ORIGINS",
        "list",
        [],
        "host page origins (https://host[:port]) "
        "allowed to frame the chat pages and pass tokens to them; empty = same origin only",
        ("chatbox.embed_allowed_origins",),
    ),
    Spec(
        "trusted_proxies",
        "TRUSTED_PROXIES",
        "networks",
        parse_list(PRIVATE_NETS),
        "proxies whose X-Forwarded-For is believed",
        ("chatbox.trusted_proxies",),
    ),
    Spec(
        "metrics_allowed_networks",
        "METRICS_ALLOWED_NETWORKS",
        "networks",
        parse_list(PRIVATE_NETS + ",127.0.0.0/8"),
        "networks allowed to scrape /metrics/prometheus",
        ("chatbox.metrics_allowed_networks",),
    ),
    Spec(
        "shutdown_timeout",
        "SHUTDOWN_TIMEOUT",
        "duration",
        30.0,
        "grace period for in-flight replies on SIGTERM",
        ("chatbox.shutdown_timeout",),
    ),
    Spec("log_level", "LOG_LEVEL", "str", "info", "debug, info, warning or error", ("log.level",)),
    # files
    Spec("s3_bucket", "S3_BUCKET", "str", "", "S3 bucket for uploads; empty = local disk", ("s3.bucket",)),
    Spec("s3_region", "S3_REGION", "str", "us-east-1", "S3 region", ("s3.region",)),
    Spec(
        "s3_endpoint", "S3_ENDPOINT", "str", "", "S3 endpoint for MinIO or other S3-compatible stores", ("s3.endpoint",)
    ),
    Spec("s3_access_key_id", "S3_ACCESS_KEY_ID", "str", "", "S3 access key", ("s3.access_key_id",), secret=True),
    Spec(
        "s3_secret_access_key",
        "S3_SECRET_ACCESS_KEY",
        "str",
        "",
        "S3 secret key",
        ("s3.secret_access_key",),
        secret=True,
    ),
    Spec("s3_sse", "S3_SSE", "str", "", "server-side encryption (AES256 or aws:kms); empty = none", ("s3.sse",)),
    Spec(
        "file_link_ttl",
        "FILE_LINK_TTL",
        "duration",
        900.0,
        "lifetime of a signed file link the pages use for images, audio and downloads",
        ("upload.link_ttl",),
    ),
    Spec(
        "share_ttl",
        "SHARE_TTL",
        "duration",
        30 * 24 * 3600.0,
        "lifetime of a share link (a Go-made link gets it from its first read)",
        ("chatbox.share_ttl",),
    ),
    Spec(
        "upload_dir",
        "UPLOAD_DIR",
        "str",
        "",
        "local upload folder when S3 is not configured; empty = ./data/uploads (production needs it set, or S3_BUCKET)",
        ("upload.dir",),
    ),
    Spec("upload_max_size", "UPLOAD_MAX_SIZE", "size", 100 * 1000**2, "largest upload", ("upload.max_size",)),
    Spec(
        "upload_spool_dir",
        "UPLOAD_SPOOL_DIR",
        "str",
        "",
        "folder where uploads wait while received and checked; empty = UPLOAD_DIR/.incoming on local disk, the "
        "system temp folder with S3. In Kubernetes a volume sized for concurrent uploads x UPLOAD_MAX_SIZE",
        ("upload.spool_dir",),
    ),
    Spec(
        "upload_spool_size",
        "UPLOAD_SPOOL_SIZE",
        "size",
        0,
        "bytes the spool may hold at once (set it a little under the volume's sizeLimit); an upload that would not "
        "fit is refused with 507; 0 = only the free disk space counts",
        ("upload.spool_size",),
    ),
    Spec(
        "transcription_provider",
        "TRANSCRIPTION_PROVIDER",
        "str",
        "",
        "id of an openai-type provider used for voice transcription; empty = none",
        ("llm.transcription_provider",),
    ),
    Spec(
        "transcription_model",
        "TRANSCRIPTION_MODEL",
        "str",
        "whisper-1",
        "transcription model",
        ("llm.transcription_model",),
    ),
    Spec(
        "tts_provider",
        "TTS_PROVIDER",
        "str",
        "",
        "id of an openai-type provider that speaks complete AI replies (sent as audio files); empty = off",
        ("llm.tts_provider",),
    ),
    Spec("tts_model", "TTS_MODEL", "str", "tts-1", "text-to-speech model", ("llm.tts_model",)),
    Spec("tts_voice", "TTS_VOICE", "str", "alloy", "text-to-speech voice", ("llm.tts_voice",)),
    # notifications
    Spec(
        "admin_emails",
        "ADMIN_EMAILS",
        "list",
        [],
        "e-mail addresses paged on help requests and alerts",
        ("notification.adminEmails",),
    ),
    Spec("admin_phones", "ADMIN_PHONES", "list", [], "phone numbers paged by SMS", ("notification.adminPhones",)),
    Spec(
        "admin_panel_url",
        "ADMIN_PANEL_URL",
        "str",
        "",
        "dashboard URL used in alert links",
        ("notification.adminPanelURL",),
    ),
    Spec("email_from", "EMAIL_FROM", "str", "chatbox@localhost", "sender address of alerts", ("mail.from",)),
    Spec("smtp_host", "SMTP_HOST", "str", "", "SMTP server; empty = outbox (logged)", ("mail.smtp_host",)),
    Spec("smtp_port", "SMTP_PORT", "int", 587, "SMTP port", ("mail.smtp_port",)),
    Spec("smtp_user", "SMTP_USER", "str", "", "SMTP user", ("mail.smtp_user",)),
    Spec(
        "smtp_password",
        "SMTP_PASSWORD",
        "str",
        "",
        "SMTP password (SMTP_PASS also read)",
        ("mail.smtp_password",),
        secret=True,
    ),
    Spec(
        "smtp_tls",
        "SMTP_TLS",
        "auto_bool",
        "auto",
        "STARTTLS: auto uses it when the server offers it and requires it when SMTP_USER is set; true requires it; "
        "false never uses it (refused with SMTP_USER unless SMTP_HOST is this host)",
        ("mail.smtp_tls",),
    ),
    Spec("smtp_ssl", "SMTP_SSL", "bool", False, "implicit TLS", ("mail.smtp_ssl",)),
    Spec(
        "sms_account_sid",
        "SMS_ACCOUNT_SID",
        "str",
        "",
        "Twilio account SID; empty = outbox",
        ("sms.accountSID",),
        secret=True,
    ),
    Spec("sms_auth_token", "SMS_AUTH_TOKEN", "str", "", "Twilio auth token", ("sms.authToken",), secret=True),
    Spec("sms_from_number", "SMS_FROM_NUMBER", "str", "", "Twilio sender number", ("sms.fromNumber",)),
    Spec(
        "help_escalate_after",
        "HELP_ESCALATE_AFTER",
        "duration",
        300.0,
        "re-send a help request by SMS if nobody takes over within this",
        ("notification.help_escalate_after",),
    ),
    Spec(
        "notify_rules",
        "NOTIFY_RULES",
        "str",
        "",
        "channels per alert event as event=email+sms|email|sms|none, comma-separated; unnamed events keep their "
        "default (help_request=email+sms, help_escalation=sms, llm_failure=email, database_unavailable=email+sms, "
        "connection_cap=email, rate_limited=email, crash=email+sms)",
        ("notification.rules",),
    ),
    Spec(
        "notify_rate_limit",
        "NOTIFY_RATE_LIMIT",
        "int",
        5,
        "alerts per event key per window; more are suppressed and counted in the next one",
        ("notification.rate_limit",),
    ),
    Spec(
        "notify_rate_window",
        "NOTIFY_RATE_WINDOW",
        "duration",
        300.0,
        "window of NOTIFY_RATE_LIMIT",
        ("notification.rate_window",),
    ),
    Spec(
        "notify_llm_failures",
        "NOTIFY_LLM_FAILURES",
        "int",
        3,
        "AI provider failures within NOTIFY_LLM_FAILURE_WINDOW that raise one alert",
        ("notification.llm_failures",),
    ),
    Spec(
        "notify_llm_failure_window",
        "NOTIFY_LLM_FAILURE_WINDOW",
        "duration",
        300.0,
        "window of NOTIFY_LLM_FAILURES",
        ("notification.llm_failure_window",),
    ),
    Spec(
        "notify_refusal_burst",
        "NOTIFY_REFUSAL_BURST",
        "int",
        20,
        "rate-limit refusals within NOTIFY_REFUSAL_WINDOW that count as abnormal traffic (one alert)",
        ("notification.refusal_burst",),
    ),
    Spec(
        "notify_refusal_window",
        "NOTIFY_REFUSAL_WINDOW",
        "duration",
        60.0,
        "window of NOTIFY_REFUSAL_BURST",
        ("notification.refusal_window",),
    ),
    Spec(
        "admin_handoff_summary",
        "ADMIN_HANDOFF_SUMMARY",
        "bool",
        True,
        "when a user asks for help, ask the model for a short summary of the conversation for the admins "
        "(dashboard, help e-mail and SMS); false requests nothing",
        ("copilot.handoff_summary",),
    ),
    Spec(
        "admin_handoff_summary_model",
        "ADMIN_HANDOFF_SUMMARY_MODEL",
        "str",
        "",
        "provider id that writes the handoff summary; empty = the session's own model",
        ("copilot.handoff_summary_model",),
    ),
    Spec(
        "admin_handoff_summary_wait",
        "ADMIN_HANDOFF_SUMMARY_WAIT",
        "duration",
        4.0,
        "longest the help alert waits for the summary; after it the alert goes out without one (the dashboard "
        "still shows the summary when it arrives)",
        ("copilot.handoff_summary_wait",),
    ),
    Spec(
        "admin_reply_suggestions",
        "ADMIN_REPLY_SUGGESTIONS",
        "bool",
        True,
        "while an admin holds a session, offer up to three reply drafts from the model beside the composer (never "
        "sent without the admin pressing Send); false requests nothing",
        ("copilot.reply_suggestions",),
    ),
    Spec(
        "admin_reply_suggestions_model",
        "ADMIN_REPLY_SUGGESTIONS_MODEL",
        "str",
        "",
        "provider id that drafts reply suggestions; empty = the session's own model",
        ("copilot.reply_suggestions_model",),
    ),
)

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")

SECRET_ENV_ALIASES = {"SMTP_PASS": "SMTP_PASSWORD"}


@dataclass(frozen=True)
class Settings:
    """All configuration, typed. Build with ``Settings.load()`` or ``Settings.for_tests(**overrides)``."""

    values: Mapping[str, Any]
    providers: tuple[ProviderConfig, ...] = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Settings({self.masked()!r})"

    @property
    def development(self) -> bool:
        return self.env in ("development", "test")

    @property
    def prefix(self) -> str:
        return "" if self.path_prefix == "/" else self.path_prefix.rstrip("/")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def upload_folder(self) -> str:
        """Where local uploads go: UPLOAD_DIR, or ./data/uploads when it is not set."""
        return self.upload_dir or DEFAULT_UPLOAD_DIR

    @property
    def warnings(self) -> list[str]:
        """Settings production runs with but should not (the deployment guide allows them): said at start, in
        ``readyz``'s body and on the dashboard's status page."""
        if self.development:
            return []
        found = []
        if not self.encryption_key:
            found.append("ENCRYPTION_KEY is not set: messages are stored in plain text")
        if not self.ws_allowed_origins:
            found.append("WS_ALLOWED_ORIGINS is empty: WebSocket connections are accepted from any origin")
        return found

    def replace(self, **changes: Any) -> Settings:
        providers = changes.pop("providers", self.providers)
        return Settings({**self.values, **changes}, tuple(providers))

    def masked(self) -> dict[str, Any]:
        """Return every setting by env name, secrets shown as set/unset only, passwords in URLs hidden."""
        out = {}
        for spec in SPECS:
            value = self.values[spec.name]
            if spec.secret:
                value = "(set)" if value else "(unset)"
            elif isinstance(value, str):
                value = _URL_PASSWORD.sub(r"\1***@", value)
            out[spec.env] = value
        return out

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, toml_path: str | None = None) -> Settings:
        """Read the TOML file (``toml_path`` or CHATBOX_CONFIG) then the environment; validate.

        Raises SettingsError naming the first bad variable.
        """
        environ = os.environ if environ is None else environ
        toml_path = toml_path or environ.get("CHATBOX_CONFIG") or None
        document = _read_toml(toml_path) if toml_path else {}
        values = {}
        for spec in SPECS:
            values[spec.name] = _resolve(spec, environ, document)
        tables = _toml_get(document, "llm.providers") or _toml_get(document, "chatbox.llm.providers") or []
        settings = cls(values, read_providers(environ, tables))
        settings.validate()
        settings.require_deployment()
        return settings

    @classmethod
    def for_tests(cls, **overrides: Any) -> Settings:
        """Defaults suited to tests: test mode, a strong secret, no external services."""
        values = {spec.name: spec.default for spec in SPECS}
        values.update(
            env="test",
            jwt_secret="k" * 48,
            demo_chunk_delay=0.0,
            ws_allowed_origins=[],
            metrics_allowed_networks=["127.0.0.0/8"],
        )
        providers = overrides.pop("providers", ())
        values.update(overrides)
        settings = cls(values, tuple(providers))
        settings.validate()
        return settings

    def require_deployment(self) -> None:
        """In production, refuse the embedded stand-ins for storage: mongomock loses every message on a restart,
        and an implicit ./data/uploads is usually a container's throwaway disk. Raises SettingsError.

        Called by ``load`` (the service's own start); ``for_tests`` builds production-mode settings without it,
        since tests run on mongomock."""
        if self.development:
            return
        if not self.mongo_uri:
            raise SettingsError(
                "MONGO_URI is required in production (without it data would live only in this process's memory); "
                "e.g. MONGO_URI=mongodb://mongo-service:27017/chat"
            )
        if not self.s3_bucket and not self.upload_dir:
            raise SettingsError(
                "S3_BUCKET is required in production, unless UPLOAD_DIR names a persistent local folder for uploads"
            )

    def validate(self) -> None:
        """Refuse unsafe or inconsistent settings; in production also weak secrets."""
        if self.env not in ENVIRONMENTS:
            raise SettingsError(f"CHATBOX_ENV must be one of {', '.join(ENVIRONMENTS)} (got {self.env!r})")
        if not self.path_prefix.startswith("/"):
            raise SettingsError(f"CHATBOX_PATH_PREFIX must start with '/' (got {self.path_prefix!r})")
        for name in ("ws_allowed_origins", "cors_allowed_origins"):
            for origin in self.values[name]:
                if is_placeholder(origin):
                    raise SettingsError(
                        f"{_env_of(name)} contains a placeholder value ({origin!r}): list the real "
                        "origins, e.g. https://chat.example.com"
                    )
        _check_encryption_keys(self.encryption_key, self.encryption_keys_previous)
        if self.ws_frame_rate < 1:
            raise SettingsError(f"WS_FRAME_RATE must be at least 1 frame per second (got {self.ws_frame_rate})")
        if not 65536 <= self.session_max_bytes <= MONGO_DOCUMENT_LIMIT - 1048576:
            raise SettingsError(
                f"SESSION_MAX_BYTES must be between 64 KiB and 15 MiB (got {self.session_max_bytes}): MongoDB "
                "refuses documents over 16 MiB, and the reply that follows a message needs room too"
            )
        if not self.development:
            _check_jwt_secret(self.jwt_secret)
        elif not self.jwt_secret:
            raise SettingsError("JWT_SECRET is required (development mode generates one: use `make run`)")
        _check_smtp(self)
        ids = [p.id for p in self.providers]
        for provider in self.providers:
            if provider.fallback == provider.id:
                raise SettingsError(f"LLM provider {provider.id!r}: fallback cannot be the provider itself")
            if provider.fallback and provider.fallback not in ids:
                raise SettingsError(
                    f"LLM provider {provider.id!r}: fallback {provider.fallback!r} is not a configured provider id"
                )
        # "demo" exists only when no provider is configured.
        if self.llm_default_model and self.llm_default_model not in (ids or ["demo"]):
            raise SettingsError(
                f"LLM_DEFAULT_MODEL {self.llm_default_model!r} is not a configured provider id "
                f"(configured: {', '.join(ids) or 'none'})"
            )


def _check_smtp(settings: Settings) -> None:
    clear = settings.smtp_tls is False and not settings.smtp_ssl
    if clear and settings.smtp_user and settings.smtp_host not in ("localhost", "127.0.0.1", "::1"):
        raise SettingsError(
            "SMTP_TLS=false with SMTP_USER would send SMTP_PASSWORD in clear to "
            f"{settings.smtp_host}: leave SMTP_TLS unset (STARTTLS) or use SMTP_SSL=true"
        )


def _env_of(name: str) -> str:
    return next(spec.env for spec in SPECS if spec.name == name)


_GENERATE_JWT = "generate one with: openssl rand -base64 48"
_GENERATE_KEY = "generate one with: openssl rand -hex 16"


def _check_jwt_secret(secret: str) -> None:
    if not secret:
        raise SettingsError(f"JWT_SECRET is required in production; {_GENERATE_JWT}")
    if is_placeholder(secret):
        raise SettingsError(f"JWT_SECRET contains a placeholder value; {_GENERATE_JWT}")
    if len(secret.encode()) < 32:
        raise SettingsError(f"JWT_SECRET must be at least 32 bytes (got {len(secret.encode())}); {_GENERATE_JWT}")
    lowered = secret.lower()
    for pattern in WEAK_SECRET_PATTERNS:
        if pattern in lowered:
            raise SettingsError(f"JWT_SECRET appears to be weak (contains {pattern!r}); {_GENERATE_JWT}")
    if len(set(secret)) < 8:
        raise SettingsError(f"JWT_SECRET appears to be weak (too few distinct characters); {_GENERATE_JWT}")


def _check_encryption_keys(primary: str, previous: list[str]) -> None:
    for label, key in [("ENCRYPTION_KEY", primary)] + [("ENCRYPTION_KEYS_PREVIOUS", k) for k in previous]:
        if not key:
            continue
        if is_placeholder(key):
            raise SettingsError(f"{label} contains a placeholder value; {_GENERATE_KEY}")
        if len(key.encode()) != 32:
            raise SettingsError(
                f"{label} must be exactly 32 bytes for AES-256 (got {len(key.encode())}); {_GENERATE_KEY}"
            )
    if previous and not primary:
        raise SettingsError(
            "ENCRYPTION_KEYS_PREVIOUS is set but ENCRYPTION_KEY is empty: set the new key as ENCRYPTION_KEY"
        )


def _read_toml(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"CHATBOX_CONFIG: file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"CHATBOX_CONFIG: {path} is not valid TOML: {exc}") from None


def _toml_get(document: dict, dotted: str) -> Any:
    node: Any = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _resolve(spec: Spec, environ: Mapping[str, str], document: dict) -> Any:
    raw, source = None, None
    for alias, target in SECRET_ENV_ALIASES.items():
        if target == spec.env and environ.get(alias) and not environ.get(spec.env):
            raw, source = environ[alias], alias
    if environ.get(spec.env) is not None and environ.get(spec.env) != "":
        raw, source = environ[spec.env], spec.env
    if raw is None:
        for key in spec.toml:
            value = _toml_get(document, key)
            if value is not None:
                if spec.secret and isinstance(value, str) and is_placeholder(value):
                    raise SettingsError(
                        f"{spec.env} (config key {key}) contains a placeholder value; set the real "
                        "value in the environment or the file"
                    )
                raw, source = value, f"config key {key}"
                break
    if raw is None:
        return spec.default
    try:
        return PARSERS[spec.kind](raw)
    except ValueError as exc:
        shown = "(hidden)" if spec.secret else repr(raw)
        raise SettingsError(f"{source} = {shown} is not valid: {exc}") from None
