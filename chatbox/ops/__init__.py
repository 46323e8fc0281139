"""Operations: health, limits, metrics, logging, HTTP hygiene, lifecycle (heartbeat, reaper, shutdown)."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from chatbox.ops import health, metrics  # noqa: E402,F401  (routes register on bp)
