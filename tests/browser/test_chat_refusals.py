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
        ("forged", "Offline — your sign-in has expired"),
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
