"""What the chat page says when it cannot connect: no token, an expired one, a forged one."""

from datetime import timedelta

import pytest

from chatbox.auth import sign_token

from .browser_helpers import user_token


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("none", "No authentication token"),
        ("expired", "Offline — your sign-in has expired"),
        ("forged", "Offline — this sign-in was not accepted by the server"),
    ],
)
def test_the_page_says_why_it_is_offline(make_server, open_page, case, status):
    server = make_server()
    tokens = {
        "none": "",
        "expired": user_token(server, expires=timedelta(seconds=-30)),
        "forged": sign_token("x" * 48, "alice", (), "", timedelta(hours=1)),
    }
    page = open_page()
    page.goto(server.url + "/" + (f"?token={tokens[case]}" if tokens[case] else ""))
    page.locator("#status-text", has_text=status).wait_for()
    assert page.locator("body").get_attribute("data-connection") == "offline"
    assert not server.services.hub.connections


def test_the_page_says_when_too_many_chat_windows_are_open_and_connects_once_one_closes(
    make_server, open_page, connect
):
    server = make_server(max_connections_per_user=2)
    others = [connect("alice", target=server) for _ in range(2)]
    page = open_page()
    page.goto(server.url + f"/?token={user_token(server)}")
    page.locator("#status-text", has_text="You have 2 chat windows open; close one to connect here").wait_for()
    assert page.locator("body").get_attribute("data-connection") == "reconnecting"
    others[0].close()
    page.wait_for_selector("body[data-connection=connected]", timeout=40_000)
