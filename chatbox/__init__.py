"""Chatbox: real-time chat between people and AI models, with human staff who can step in.

Only ``create_app`` builds an application; importing this package connects to nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from chatbox.settings import Settings

__version__ = "0.1.0"
log = logging.getLogger("chatbox")


def asset_folder(name: str) -> str:
    """``templates`` or ``static``: inside the package when installed (pip install .), else beside it (the tree)."""
    package = Path(__file__).resolve().parent
    inside = package / name
    return str(inside if inside.is_dir() else package.parent / name)


def create_app(settings: Settings | None = None, bus=None) -> Flask:
    """Build the app: settings → storage → services → blueprints → error handlers.

    Raises SettingsError when the configuration is unusable.
    """
    from chatbox import admin, auth, cli, copilot, files, models, notify, pages, storage
    from chatbox.chat import bp as chat_bp
    from chatbox.chat.socket import sock
    from chatbox.ops import bp as ops_bp
    from chatbox.ops import http, metrics
    from chatbox.services import build

    settings = settings or Settings.load()
    app = Flask(
        __name__,
        template_folder=asset_folder("templates"),
        static_folder=asset_folder("static"),
        static_url_path=f"{settings.prefix}/static",
    )
    app.config["CHATBOX_SETTINGS"] = settings
    app.config["SOCK_SERVER_OPTIONS"] = {"ping_interval": None, "max_message_size": settings.max_message_size}
    app.config["MAX_CONTENT_LENGTH"] = None

    storage.connect(settings)
    services = build(settings, bus=bus)
    app.extensions["chatbox"] = services

    auth.init_app(app)
    cli.init_app(app)
    http.init_app(app)
    metrics.init_app(app)
    sock.init_app(app)
    app.register_blueprint(chat_bp, url_prefix=settings.prefix)
    app.register_blueprint(ops_bp, url_prefix=settings.prefix)
    for feature in (pages, admin, files, copilot, notify):  # copilot before notify: alerts use its summary
        feature.init_app(app, settings)

    if settings.cors_allowed_origins:
        from flask_cors import CORS

        CORS(
            app,
            origins=settings.cors_allowed_origins,
            supports_credentials=True,
            max_age=43200,
            allow_headers=["Origin", "Content-Type", "Accept", "Authorization", "X-CSRF-TOKEN"],
            expose_headers=["Content-Length"],
        )

    import gevent

    gevent.spawn(models.ensure_indexes)
    services.lifecycle.start()
    for warning in settings.warnings:
        log.warning("configuration: %s", warning)
    return app
