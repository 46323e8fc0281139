"""``python -m chatbox`` (what ``make run`` calls): the service with embedded defaults, for development.

Generates a development JWT secret when none is set, prints a user chat link and an admin dashboard link carrying
signed development tokens, then runs gunicorn with the gevent worker.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta

from chatbox.auth import sign_token
from chatbox.settings import Settings, SettingsError


def main() -> int:
    env = dict(os.environ)
    env.setdefault("CHATBOX_ENV", "development")
    env.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
    try:
        settings = Settings.load(env)
    except SettingsError as exc:
        print(f"chatbox: configuration error: {exc}", file=sys.stderr)
        return 3
    shared_state = settings.redis_url and settings.mongo_uri
    if not shared_state and env.get("WEB_CONCURRENCY", "1") != "1":
        print(
            "chatbox: several workers need REDIS_URL and MONGO_URI (they are separate processes); running one.",
            file=sys.stderr,
        )
    if not shared_state:
        env["WEB_CONCURRENCY"] = "1"
    print(banner(settings), flush=True)
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    os.execve(gunicorn, [gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"], env)
    return 0


def banner(settings: Settings) -> str:
    base = settings.base_url + settings.prefix
    ttl = timedelta(hours=12)
    user = sign_token(settings.jwt_secret, "dev-user", [], "Dev User", ttl)
    admin = sign_token(settings.jwt_secret, "dev-admin", ["admin"], "Dev Admin", ttl)
    embedded = [
        ("MongoDB", settings.mongo_uri and "MONGO_URI" or "in-memory (mongomock, lost on exit)"),
        ("uploads", settings.s3_bucket and f"S3 bucket {settings.s3_bucket}" or f"local disk {settings.upload_folder}"),
        ("mail", settings.smtp_host or "outbox (logged, shown in the dashboard)"),
        ("SMS", settings.sms_account_sid and "Twilio" or "outbox (logged, shown in the dashboard)"),
        ("AI", ", ".join(p.id for p in settings.providers) or "demo model (no API key needed)"),
        ("bus", settings.redis_url and "Redis" or "in-process (one pod)"),
    ]
    lines = [f"Chatbox {settings.env} server on {settings.base_url}", "Running with:"]
    lines += [f"  {name:8} {value}" for name, value in embedded]
    lines += [
        "",
        "User chat (12 h development token):",
        f"  {base}/?token={user}",
        "Admin dashboard (12 h development token):",
        f"  {base}/dashboard/?token={admin}",
        "WebSocket for any client:",
        f"  {base.replace('http', 'ws', 1)}/ws?token={user}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
