"""Helpers for the browser tests: open the chat as a user, send, wait for replies, save screenshots."""

import re
import socket
from datetime import timedelta
from pathlib import Path

from chatbox.auth import sign_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def user_token(server, user="alice", name="", roles=(), expires=timedelta(hours=1)) -> str:
    return sign_token(server.services.settings.jwt_secret, user, roles, name, expires)


def chat_url(server, user="alice", name="", **query) -> str:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{server.url}/?{params + '&' if params else ''}token={user_token(server, user, name)}"


def open_chat(page, server, user="alice", **query):
    page.goto(chat_url(server, user, **query))
    wait_connected(page)
    return page


def wait_connected(page):
    page.wait_for_selector("body[data-connection=connected]")
    assert page.locator("#status-text").inner_text() == "Connected"


def send(page, text):
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def wait_reply_done(page, count=1):
    """Wait until ``count`` AI bubbles exist and none is still streaming."""
    page.wait_for_function(
        "n => document.querySelectorAll('.message.ai').length >= n && !document.querySelector('.message.streaming')",
        arg=count,
    )


def ai_texts(page) -> list[str]:
    return page.locator(".message.ai .message-content").all_inner_texts()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"), full_page=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
