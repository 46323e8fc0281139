"""The end-user chat: the WebSocket protocol and the user's REST routes."""

from flask import Blueprint

bp = Blueprint("chat", __name__)

from chatbox.chat import routes, socket  # noqa: E402,F401  (routes register on bp)
